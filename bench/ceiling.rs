//! The bench-only ceiling client: the same stack as grpcx (its HTTP/2
//! connection, the DynamicMessage codec, serde_json), minus everything
//! `grpcx call` adds on top (input splitting, printing). It decodes
//! each response and discards it, or parses each stdin line and sends it.
//! Its time marks what this machine can do; grpcx is measured against it.
//!
//!   ceiling stream  ADDR COUNT PAYLOAD   # grpcx.test.v1.Echo/Stream, discard
//!   ceiling collect ADDR < lines.ndjson  # grpcx.test.v1.Echo/Collect
//!   ceiling unary   ADDR CONNS STREAMS COUNT
//!
//! `unary` is h2 alone (grpcx's copy, `third_party/h2`) over plain TCP:
//! COUNT calls of helloworld.Greeter/SayHello, STREAMS in flight on each of
//! CONNS connections, the canned frame h2load sends, each answer's
//! `grpc-status` checked and nothing else. It prints calls/s: what `grpcx
//! bench` would reach with no call path of its own above h2 (`load.sh`).

use std::io::BufRead as _;

use futures_util::StreamExt as _;
use prost_reflect::{DescriptorPool, DynamicMessage};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let pool = DescriptorPool::decode(grpcx::server::FILE_DESCRIPTOR_SET)?;
    let service = pool
        .get_service_by_name("grpcx.test.v1.Echo")
        .expect("Echo");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if args[1] == "unary" {
            let [conns, streams, count] = [3, 4, 5].map(|i| args[i].parse::<u64>());
            return unary(&args[2], conns? as usize, streams? as usize, count?).await;
        }
        let target = grpcx::transport::Target::parse(&args[2])?;
        let conn = grpcx::cli::ConnArgs {
            connect_timeout: 10.0,
            ..Default::default()
        };
        let channel = grpcx::transport::connect(&target, &conn).await?;
        let options = grpcx::invoke::CallOptions {
            max_message_size: usize::MAX,
            ..Default::default()
        };
        match args[1].as_str() {
            "stream" => {
                let method = service
                    .methods()
                    .find(|m| m.name() == "Stream")
                    .expect("Stream");
                let mut request = DynamicMessage::new(method.input());
                request.set_field_by_name("count", prost_reflect::Value::U32(args[3].parse()?));
                request
                    .set_field_by_name("payload_size", prost_reflect::Value::U32(args[4].parse()?));
                let requests = tokio_stream::once(request);
                let mut response =
                    grpcx::invoke::start(channel, &method, requests, Default::default(), &options)
                        .await?;
                let mut n = 0u64;
                let output = method.output();
                while let Some(bytes) = response.message().await? {
                    let message = DynamicMessage::decode(output.clone(), bytes)?;
                    std::hint::black_box(message);
                    n += 1;
                }
                eprintln!("ceiling: {n} messages");
            }
            "collect" => {
                let method = service
                    .methods()
                    .find(|m| m.name() == "Collect")
                    .expect("Collect");
                let input = method.input();
                // The best shape for the stack: parse on a second thread,
                // hand messages over in batches, one wake-up per batch.
                let (tx, rx) = mpsc::channel::<Vec<DynamicMessage>>(4);
                std::thread::spawn(move || {
                    let mut batch = Vec::with_capacity(256);
                    for line in std::io::stdin().lock().lines() {
                        let line = line.expect("stdin");
                        let mut de = serde_json::Deserializer::from_str(&line);
                        batch.push(
                            DynamicMessage::deserialize(input.clone(), &mut de).expect("JSON"),
                        );
                        if batch.len() == 256
                            && tx.blocking_send(std::mem::take(&mut batch)).is_err()
                        {
                            return;
                        }
                    }
                    let _ = tx.blocking_send(batch);
                });
                let requests = ReceiverStream::new(rx).flat_map(futures_util::stream::iter);
                let mut response =
                    grpcx::invoke::start(channel, &method, requests, Default::default(), &options)
                        .await?;
                let summary = match response.message().await? {
                    Some(bytes) => Some(DynamicMessage::decode(method.output(), bytes)?),
                    None => None,
                };
                eprintln!("ceiling: {summary:?}");
            }
            other => anyhow::bail!("unknown mode {other}"),
        }
        Ok(())
    })
}

/// The `unary` mode: bare h2 calls, as many at once as `streams` on each
/// of `conns` connections, until `count` are made; prints calls/s.
async fn unary(addr: &str, conns: usize, streams: usize, count: u64) -> anyhow::Result<()> {
    let mut senders = Vec::new();
    for _ in 0..conns {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(grpcx::transport::h2::CONNECTION_WINDOW)
            .handshake::<_, bytes::Bytes>(tcp)
            .await?;
        tokio::spawn(connection);
        senders.push(send);
    }
    let uri: http::Uri = format!("http://{addr}/helloworld.Greeter/SayHello").parse()?;
    let frame = bytes::Bytes::from_static(b"\x00\x00\x00\x00\x03\x0a\x01\x78");
    let issued = std::cell::Cell::new(0);
    let start = std::time::Instant::now();
    let workers = (0..conns * streams).map(|worker| {
        let (mut send, uri, frame, issued) = (
            senders[worker % conns].clone(),
            uri.clone(),
            frame.clone(),
            &issued,
        );
        async move {
            while issued.get() < count {
                issued.set(issued.get() + 1);
                let request = http::Request::post(uri.clone())
                    .header("content-type", "application/grpc")
                    .header("te", "trailers")
                    .body(())?;
                send = send.ready().await?;
                let (response, mut body) = send.send_request(request, false)?;
                body.send_data(frame.clone(), true)?;
                let mut answer = response.await?.into_body();
                while let Some(data) = answer.data().await {
                    let _ = answer.flow_control().release_capacity(data?.len());
                }
                let trailers = answer.trailers().await?.unwrap_or_default();
                anyhow::ensure!(trailers.get("grpc-status").is_some_and(|s| s == "0"));
            }
            anyhow::Ok(())
        }
    });
    futures_util::future::try_join_all(workers).await?;
    println!("{:.0}", count as f64 / start.elapsed().as_secs_f64());
    Ok(())
}
