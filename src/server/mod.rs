//! The bundled server behind `grpcx serve` and `grpcx demo`: the greeter,
//! the test services, reflection (v1 and v1alpha) and health.
//!
//! Request metadata can make any call fail, wait, or echo headers (see
//! `behaviour`), so one server covers the status, deadline and header tests.
//! The same contract is followed by the other-implementation servers under
//! `tests/servers/`.

mod behaviour;
mod drain;
mod listen;
mod relay;
mod services;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic_health::ServingStatus::{NotServing, Serving};
use tower_layer::layer_fn;

use crate::cli::ServeArgs;
use crate::mock::{Mock, MockService};
use crate::protocol::ConnectService;
use behaviour::Behaviour;

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
pub struct Options {
    pub reflection: bool,
    /// Log one line per call to stderr.
    pub log: bool,
    /// A mock of another schema, served in front of the bundled services.
    pub mock: Option<Arc<Mock>>,
    /// Serve the bundled greeter and test services.
    pub greeter: bool,
}

impl Options {
    /// The bundled services with reflection, quietly (`demo`, `ui`).
    pub fn bundled() -> Options {
        Options {
            reflection: true,
            log: false,
            mock: None,
            greeter: true,
        }
    }
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
async fn serve_incoming(
    incoming: impl tokio_stream::Stream<Item = std::io::Result<tokio::io::DuplexStream>>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    // Every service served is SERVING by its own name; going away, the
    // server first tells the watchers of its health (as grpc-go's health
    // server does on Shutdown): `grpcx health --watch` sees every service
    // turn NOT_SERVING before the connection closes.
    let mut names = Vec::new();
    if options.greeter {
        names.extend([
            pb::helloworld::greeter_server::SERVICE_NAME,
            pb::test::echo_server::SERVICE_NAME,
        ]);
    }
    if let Some(mock) = &options.mock {
        names.extend(mock.services());
    }
    for name in &names {
        health.set_service_status(name, Serving).await;
    }
    let shutdown = async move {
        shutdown.await;
        health.set_service_status("", NotServing).await;
        for name in &names {
            health.set_service_status(name, NotServing).await;
        }
    };
    let (v1, v1alpha) = if options.reflection {
        // The first file of a name wins: the mock's schema, then ours.
        let mock_set = options.mock.as_ref().map(|m| m.descriptor_set());
        let builder = || {
            let mut builder = tonic_reflection::server::Builder::configure();
            if let Some(set) = &mock_set {
                builder = builder.register_encoded_file_descriptor_set(set);
            }
            if options.greeter {
                builder = builder.register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET);
            }
            builder.register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        (
            Some(builder().build_v1()?),
            Some(builder().build_v1alpha()?),
        )
    } else {
        (None, None)
    };
    let (greeter, log, mock) = (options.greeter, options.log, options.mock.clone());
    let hello = greeter.then(|| {
        pb::nopkg::hello_server::HelloServer::new(services::Hello)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .send_compressed(CompressionEncoding::Gzip)
    });
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
        // this server. Connect goes first: it hands tonic-web gRPC. The
        // mock then takes the calls to its schema's services. Outermost, an
        // HTTP/1.1 body a service answers without is still read (`drain`).
        .accept_http1(true)
        .layer(layer_fn(drain::Drain))
        .layer(layer_fn(|inner| ConnectService { inner }))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(layer_fn(move |inner| MockService {
            inner,
            mock: mock.clone(),
        }))
        .layer(layer_fn(move |inner| Behaviour { inner, log }))
        .add_optional_service(
            greeter.then(|| pb::helloworld::greeter_server::GreeterServer::new(services::Greeter)),
        )
        .add_optional_service(
            greeter.then(|| pb::test::echo_server::EchoServer::new(services::Echo)),
        )
        // `Hello` answers in gzip when the client accepts it, and takes
        // compressed requests; the rest take none, so the tests have one of
        // each. (Not Echo: compressing every chunk would slow the streams
        // the benchmarks measure.)
        .add_optional_service(hello)
        .add_optional_service(
            greeter.then(|| pb::nopkg::greet_server::GreetServer::new(services::Hello)),
        )
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
    // The schema and stubs are checked before anything listens.
    let mock = match args.mock.is_mock() {
        true => Some(Arc::new(Mock::load(&args.mock, &args.upstream).await?)),
        false => None,
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
    let greeter = mock.is_none() || args.mock.greeter;
    let what = match &mock {
        None => "helloworld.Greeter".to_string(),
        Some(mock) => {
            let services: Vec<&str> = mock.services().collect();
            let answers = match (mock.is_recording(), &args.mock.upstream) {
                (true, Some(upstream)) => format!("recording {upstream}"),
                _ => format!("{} stubs", mock.stub_count()),
            };
            let and = if greeter {
                " and helloworld.Greeter"
            } else {
                ""
            };
            format!("{} ({answers}){and}", services.join(", "))
        }
    };
    println!("LISTENING {local}");
    eprintln!(
        "grpcx serve: {what} on {local} ({}, reflection {}, health on); Ctrl-C stops",
        match (&tls, &args.client_ca) {
            (None, _) => "plaintext",
            (Some(_), None) => "TLS",
            (Some(_), Some(_)) => "TLS, client certificates required",
        },
        if args.no_reflection { "off" } else { "on" }
    );
    if let Some(mock) = &mock {
        mock.watch();
    }
    let options = Options {
        reflection: !args.no_reflection,
        log: mock.is_none(),
        mock,
        greeter,
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
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
