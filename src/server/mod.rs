//! The bundled server behind `grpcx serve` and `grpcx demo`: the greeter,
//! the test services, reflection (v1 and v1alpha) and health.
//!
//! Request metadata can make any call fail, wait, or echo headers (see
//! [`behaviour`]), so one server covers the status, deadline and header tests.
//! The same contract is followed by the other-implementation servers under
//! `tests/servers/`.

mod behaviour;
mod services;

use std::net::SocketAddr;

use anyhow::{Context, Result};
use futures_util::{Stream, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::cli::ServeArgs;

/// Generated types and servers for the files under `proto/`.
pub mod pb {
    pub mod helloworld {
        tonic::include_proto!("helloworld");
    }
    pub mod test {
        tonic::include_proto!("grpcx.test.v1");
    }
    pub mod nopkg {
        tonic::include_proto!("_");
    }
}

/// Every file under `proto/`, encoded, for the reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/grpcx_descriptor.bin"));

/// HTTP/2 flow-control windows of the server (see `serve`).
const STREAM_WINDOW: u32 = 64 * 1024;
const CONNECTION_WINDOW: u32 = 32 * 1024 * 1024;

/// What the server offers besides the services themselves.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub reflection: bool,
    /// Log one line per call to stderr.
    pub log: bool,
}

/// Binds the listening socket; port 0 picks a free port.
pub async fn bind(addr: &str) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves on the listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::helloworld::greeter_server::GreeterServer<services::Greeter>>()
        .await;
    health
        .set_serving::<pb::test::echo_server::EchoServer<services::Echo>>()
        .await;
    let (v1, v1alpha) = if options.reflection {
        let builder = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        (
            Some(builder().build_v1()?),
            Some(builder().build_v1alpha()?),
        )
    } else {
        (None, None)
    };
    Server::builder()
        // h2 (0.4.16+) sends GOAWAY `too_many_data_frames` when small DATA
        // frames wait unread past a budget of half the connection window,
        // counting each frame under 256 bytes as 256 minus its size. Clients
        // such as Go's send one small frame per message, so a client stream
        // that outruns the service trips it. Unread data per stream is capped
        // by the stream window: with 64 KiB per stream and a 32 MiB connection
        // window (a 16 MiB budget), even frames of 1 byte cannot exhaust the
        // budget, and memory per stream stays bounded by the stream window.
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .layer(behaviour::Layer { log: options.log })
        .add_service(pb::helloworld::greeter_server::GreeterServer::new(
            services::Greeter,
        ))
        .add_service(pb::test::echo_server::EchoServer::new(services::Echo))
        .add_service(pb::nopkg::hello_server::HelloServer::new(services::Hello))
        .add_service(pb::nopkg::greet_server::GreetServer::new(services::Hello))
        .add_service(health_service)
        .add_optional_service(v1)
        .add_optional_service(v1alpha)
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await
        .context("the server failed")
}

/// Accepted connections with Nagle's algorithm off. With it on, a small
/// response waits for the client's delayed ACK: 40 ms stalls on loopback.
fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

/// `grpcx serve`: serve until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<()> {
    let (listener, local) = bind(&args.addr).await?;
    println!("LISTENING {local}");
    eprintln!(
        "grpcx serve: helloworld.Greeter on {local} (reflection {}, health on); Ctrl-C stops",
        if args.no_reflection { "off" } else { "on" }
    );
    let options = Options {
        reflection: !args.no_reflection,
        log: true,
    };
    serve(listener, options, shutdown_signal()).await?;
    eprintln!("grpcx serve: stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
