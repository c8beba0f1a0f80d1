#![recursion_limit = "256"]

//! Integration tests: the real grpcx binary against real servers.
//! One test binary; one module per topic.

mod util;

mod bench_servers;
mod cache;
mod completion;
mod conformance;
mod convert;
mod core;
mod discovery;
mod editions;
mod grpc_js;
mod health;
mod hostile;
mod load;
mod longlink;
mod memory;
mod mock;
mod protocols;
mod proxy;
mod reliability;
mod rotation;
mod schemas;
mod scripting;
mod shell;
mod stack;
mod tls;
mod ui;
mod wire;
