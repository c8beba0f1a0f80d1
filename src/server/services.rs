//! The services themselves: the greeter, the echo/stream test service, and
//! the package-less `Hello` and `greet`.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _, TryStreamExt as _, stream};
use tonic::{Request, Response, Status, Streaming};

use super::behaviour::FailPlan;
use super::pb::helloworld::greeter_server;
use super::pb::helloworld::{HelloReply, HelloRequest};
use super::pb::nopkg::{self, Ping};
use super::pb::test::{Chunk, Everything, StreamRequest, Summary, echo_server};

type Replies<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// How many replies SayHelloStreamReply sends.
const STREAM_REPLIES: usize = 3;

fn hello(name: &str) -> HelloReply {
    HelloReply {
        message: format!("Hello, {name}!"),
    }
}

/// Turns a stream of items into replies that fail after `plan.after` items
/// when the request metadata asked for it.
fn with_failure<T: Send + 'static>(
    items: impl Stream<Item = Result<T, Status>> + Send + 'static,
    plan: Option<FailPlan>,
) -> Replies<T> {
    match plan {
        None => Box::pin(items),
        Some(plan) => {
            let after = plan.after;
            let failure = stream::once(async move { Err(plan.status()) });
            Box::pin(items.take(after).chain(failure))
        }
    }
}

pub struct Greeter;

#[tonic::async_trait]
impl greeter_server::Greeter for Greeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        Ok(Response::new(hello(&request.into_inner().name)))
    }

    type SayHelloStreamReplyStream = Replies<HelloReply>;

    async fn say_hello_stream_reply(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::SayHelloStreamReplyStream>, Status> {
        let plan = FailPlan::after(request.metadata());
        let name = request.into_inner().name;
        let replies = stream::iter(1..=STREAM_REPLIES).map(move |i| {
            Ok(HelloReply {
                message: format!("Hello, {name}! ({i} of {STREAM_REPLIES})"),
            })
        });
        Ok(Response::new(with_failure(replies, plan)))
    }

    async fn say_hello_client_stream(
        &self,
        request: Request<Streaming<HelloRequest>>,
    ) -> Result<Response<HelloReply>, Status> {
        let inbound = request.into_inner();
        let names: Vec<String> = inbound.map_ok(|request| request.name).try_collect().await?;
        let names = if names.is_empty() {
            "nobody".to_string()
        } else {
            names.join(", ")
        };
        Ok(Response::new(hello(&names)))
    }

    type SayHelloBidiStreamStream = Replies<HelloReply>;

    async fn say_hello_bidi_stream(
        &self,
        request: Request<Streaming<HelloRequest>>,
    ) -> Result<Response<Self::SayHelloBidiStreamStream>, Status> {
        let replies = request
            .into_inner()
            .map(|request| request.map(|r| hello(&r.name)));
        Ok(Response::new(Box::pin(replies)))
    }
}

pub struct Echo;

#[tonic::async_trait]
impl echo_server::Echo for Echo {
    async fn echo(&self, request: Request<Everything>) -> Result<Response<Everything>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    type StreamStream = Replies<Chunk>;

    async fn stream(
        &self,
        request: Request<StreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let plan = FailPlan::after(request.metadata());
        let StreamRequest {
            count,
            payload_size,
            interval_ms,
        } = request.into_inner();
        let pad = "x".repeat(payload_size as usize);
        let interval = Duration::from_millis(interval_ms.into());
        let chunks = stream::iter(0..count).then(move |seq| {
            let pad = pad.clone();
            async move {
                if seq > 0 && !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                Ok(Chunk { seq, pad })
            }
        });
        Ok(Response::new(with_failure(chunks, plan)))
    }

    async fn collect(
        &self,
        request: Request<Streaming<Chunk>>,
    ) -> Result<Response<Summary>, Status> {
        let mut summary = Summary::default();
        let mut inbound = request.into_inner();
        while let Some(chunk) = inbound.message().await? {
            summary.count += 1;
            summary.bytes += chunk.pad.len() as u64;
        }
        Ok(Response::new(summary))
    }

    type ChatStream = Replies<Everything>;

    async fn chat(
        &self,
        request: Request<Streaming<Everything>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        Ok(Response::new(Box::pin(request.into_inner())))
    }
}

/// Serves both package-less services, `Hello` and `greet`.
pub struct Hello;

fn pong(request: Request<Ping>) -> Result<Response<Ping>, Status> {
    Ok(Response::new(Ping {
        text: format!("pong: {}", request.into_inner().text),
    }))
}

#[tonic::async_trait]
impl nopkg::hello_server::Hello for Hello {
    async fn hello(&self, request: Request<Ping>) -> Result<Response<Ping>, Status> {
        pong(request)
    }
}

#[tonic::async_trait]
impl nopkg::greet_server::Greet for Hello {
    async fn hello(&self, request: Request<Ping>) -> Result<Response<Ping>, Status> {
        pong(request)
    }
}
