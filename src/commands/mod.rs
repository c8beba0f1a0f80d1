//! One module per subcommand; each turns its plain args into live objects
//! and runs.

pub mod call;
pub mod completions;
pub mod demo;
pub mod describe;
pub mod generate;
pub mod list;
