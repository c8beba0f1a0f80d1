#![recursion_limit = "256"]

//! Integration tests: the real grpcx binary against real servers.
//! One test binary; one module per topic.

mod util;

mod core;
mod discovery;
mod longlink;
mod proxy;
mod reliability;
mod scripting;
mod tls;
mod wire;
