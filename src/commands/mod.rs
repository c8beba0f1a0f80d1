//! One module per subcommand; each turns its plain args into live objects
//! and runs.

pub mod bench;
pub mod cache;
pub mod call;
pub mod completions;
pub mod conformance;
pub mod convert;
pub mod demo;
pub mod describe;
pub mod each;
pub mod generate;
pub mod health;
pub mod list;
pub mod shell;
pub mod ui;
