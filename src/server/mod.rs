//! The bundled server behind `grpcx serve` and `grpcx demo`: the greeter,
//! the test services, reflection (v1 and v1alpha) and health.
//!
//! Request metadata can make any call fail, wait, or echo headers (see
//! [`behaviour`]), so one server covers the status, deadline and header tests.
//! The same contract is followed by the other-implementation servers under
//! `tests/servers/`.

mod behaviour;
mod listen;
mod relay;
mod services;

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::Connected;

use tonic::codec::CompressionEncoding;

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

/// Serves plaintext on the listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = listen::incoming(listen::Listener::Tcp(listener), None);
    serve_incoming(incoming, options, shutdown).await
}

/// Serves every connection of `incoming` until `shutdown` resolves.
async fn serve_incoming<IO>(
    incoming: impl tokio_stream::Stream<Item = std::io::Result<IO>>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Connected + Unpin + Send + 'static,
    IO::ConnectInfo: Clone + Send + Sync + 'static,
{
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::helloworld::greeter_server::GreeterServer<services::Greeter>>()
        .await;
    health
        .set_serving::<pb::test::echo_server::EchoServer<services::Echo>>()
        .await;
    // Going away, the server first tells the watchers of its health (as
    // grpc-go's health server does on Shutdown): `grpcx health --watch`
    // sees every service turn NOT_SERVING before the connection closes.
    let reporter = health.clone();
    let shutdown = async move {
        shutdown.await;
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        reporter
            .set_not_serving::<pb::helloworld::greeter_server::GreeterServer<services::Greeter>>()
            .await;
        reporter
            .set_not_serving::<pb::test::echo_server::EchoServer<services::Echo>>()
            .await;
    };
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
        // gRPC-Web (tonic-web) and Connect too, over HTTP/1.1 as well as
        // h2, so that `--protocol grpcweb|connect` and buf curl can call
        // this server. Connect goes first: it hands tonic-web gRPC.
        .accept_http1(true)
        .layer(crate::protocol::ConnectLayer)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(behaviour::Layer { log: options.log })
        .add_service(pb::helloworld::greeter_server::GreeterServer::new(
            services::Greeter,
        ))
        .add_service(pb::test::echo_server::EchoServer::new(services::Echo))
        // `Hello` answers in gzip when the client accepts it, and takes
        // compressed requests; the rest take none, so the tests have one of
        // each. (Not Echo: compressing every chunk would slow the streams
        // the benchmarks measure.)
        .add_service(
            pb::nopkg::hello_server::HelloServer::new(services::Hello)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip),
        )
        .add_service(pb::nopkg::greet_server::GreetServer::new(services::Hello))
        .add_service(health_service)
        .add_optional_service(v1)
        .add_optional_service(v1alpha)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .context("the server failed")
}

/// `grpcx serve`: serve until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(
            cert,
            key,
            args.client_ca.as_deref(),
        )?),
        _ => None,
    };
    let (listener, local) = match &args.unix {
        Some(path) => (
            listen::Listener::unix(path)?,
            format!("unix:{}", path.display()),
        ),
        None => {
            let (listener, local) = bind(&args.addr).await?;
            (listen::Listener::Tcp(listener), local.to_string())
        }
    };
    println!("LISTENING {local}");
    eprintln!(
        "grpcx serve: helloworld.Greeter on {local} ({}, reflection {}, health on); Ctrl-C stops",
        match (&tls, &args.client_ca) {
            (None, _) => "plaintext",
            (Some(_), None) => "TLS",
            (Some(_), Some(_)) => "TLS, client certificates required",
        },
        if args.no_reflection { "off" } else { "on" }
    );
    let options = Options {
        reflection: !args.no_reflection,
        log: true,
    };
    let incoming = listen::incoming(listener, tls);
    serve_incoming(incoming, options, shutdown_signal()).await?;
    if let Some(path) = &args.unix {
        let _ = std::fs::remove_file(path);
    }
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
