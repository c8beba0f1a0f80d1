//! `grpcx health`: the `grpc.health.v1.Health` Check of each named service
//! (or of the whole server, service `""`), as grpc_health_probe does, and
//! with `--watch` the server-streaming Watch of them all at once.
//!
//! One line per answer on stdout, `SERVICE: STATUS`, the whole server
//! spelled `(server)`. The exit code says the worst outcome: a gRPC status
//! (unknown service, connection failure) exits 64+code as every command
//! does; an answer other than SERVING exits [`NOT_SERVING`]. The health
//! messages are tonic-health's generated types: no schema is needed. The
//! calls take the path every call takes (`invoke`), and `-v` shows them.

use std::collections::HashMap;
use std::io::Write as _;

use anyhow::Result;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::uri::PathAndQuery;
use prost::Message as _;
use tonic::Status;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::cli::HealthArgs;
use crate::codec::Outgoing;
use crate::error::{self, Reported};
use crate::invoke::{self, CallOptions};
use crate::metadata::RequestMetadata;
use crate::protocol::{self, CallKind, Channel};
use crate::transport::{self, Target};
use crate::verbose::Verbose;

/// The exit code when every service answered but one is not SERVING
/// (grpc_health_probe's code for "unhealthy" too).
pub const NOT_SERVING: u8 = 4;

/// How the whole server (service `""`) is shown.
const SERVER: &str = "(server)";

const CHECK: &str = "/grpc.health.v1.Health/Check";
const WATCH: &str = "/grpc.health.v1.Health/Watch";

/// Runs the checks (or the watches) under `--max-time`.
pub async fn run(args: HealthArgs) -> Result<()> {
    transport::within(args.conn.max_time(), health(args)).await
}

async fn health(args: HealthArgs) -> Result<()> {
    let verbose = Verbose::new(args.conn.verbose);
    let target = Target::parse(&args.target)?;
    let metadata = RequestMetadata::from_args(&args.conn)?;
    let channel = protocol::connect(&target, &args.conn, &verbose).await?;
    let services = if args.services.is_empty() {
        vec![String::new()]
    } else {
        args.services.clone()
    };
    let client = Client {
        channel,
        metadata: metadata.call,
        options: CallOptions {
            max_message_size: args.conn.max_msg_size,
            verbose,
            ..CallOptions::default()
        },
    };
    if args.watch {
        watch(&client, &services).await
    } else {
        check(&client, &services).await
    }
}

/// The Check of every service, asked at once, printed in the order named.
async fn check(client: &Client, services: &[String]) -> Result<()> {
    let answers =
        futures_util::future::join_all(services.iter().map(|service| client.check(service))).await;
    let mut outcome = Outcome::default();
    for (service, answer) in services.iter().zip(answers) {
        match answer {
            Ok(status) => outcome.status(service, status)?,
            Err(status) => outcome.failure(service, status),
        }
    }
    outcome.end()
}

/// The Watch of every service, side by side: one line per change as it
/// comes. Ends when every stream has ended (a stream broken by the server
/// going away ends with its status).
async fn watch(client: &Client, services: &[String]) -> Result<()> {
    let streams = futures_util::future::join_all(
        services
            .iter()
            .map(|service| async move { (service.as_str(), client.watch(service).await) }),
    )
    .await;
    let mut outcome = Outcome::default();
    let mut open = Vec::new();
    for (service, stream) in streams {
        match stream {
            Ok(stream) => open.push(stream.map(move |item| (service, item)).boxed()),
            Err(status) => outcome.failure(service, status),
        }
    }
    let mut all = futures_util::stream::select_all(open);
    while let Some((service, item)) = all.next().await {
        match item {
            Ok(answer) => outcome.status(service, answer)?,
            Err(status) => outcome.failure(service, status),
        }
    }
    outcome.end()
}

/// The worst outcome so far, and the lines it printed.
#[derive(Default)]
struct Outcome {
    /// The exit code of the first failed call, if any.
    failed: Option<u8>,
    /// The last answer of each service.
    last: HashMap<String, ServingStatus>,
}

impl Outcome {
    /// Prints `SERVICE: STATUS` on stdout, at once (a watch is read live).
    fn status(&mut self, service: &str, status: ServingStatus) -> Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}: {}", label(service), status.as_str_name())
            .and_then(|()| stdout.flush())
            .map_err(error::stdout_error)?;
        self.note(service, status);
        Ok(())
    }

    /// The last answer of a service decides (a watch may see it recover).
    fn note(&mut self, service: &str, status: ServingStatus) {
        self.last.insert(service.to_owned(), status);
    }

    /// Prints a failed call on stderr, named by its service.
    fn failure(&mut self, service: &str, status: Status) {
        let message = match status.message() {
            "" => label(service).to_owned(),
            message => format!("{}: {message}", label(service)),
        };
        let status = Status::new(status.code(), message);
        if error::is_json() {
            eprintln!("{}", crate::status::to_json(&status, &[]));
        } else {
            eprintln!("ERROR: {}", error::status_text(&status, &[]));
        }
        if self.failed.is_none() {
            self.failed = Some(64 + status.code() as u8);
        }
    }

    /// Ok when all were SERVING; else the exit code, the errors having been
    /// printed already.
    fn end(self) -> Result<()> {
        match self.failed {
            // Printed already: `main` only exits with the code.
            Some(code) => Err(Reported(code).into()),
            None if self.last.values().any(|s| *s != ServingStatus::Serving) => {
                Err(Reported(NOT_SERVING).into())
            }
            None => Ok(()),
        }
    }
}

/// `(server)` for the whole server, else the service's name.
fn label(service: &str) -> &str {
    if service.is_empty() { SERVER } else { service }
}

fn serving_status(answer: &HealthCheckResponse) -> ServingStatus {
    ServingStatus::try_from(answer.status).unwrap_or(ServingStatus::Unknown)
}

/// A health answer's status, from its wire bytes.
fn decode(bytes: Bytes) -> Result<ServingStatus, Status> {
    HealthCheckResponse::decode(bytes)
        .map(|answer| serving_status(&answer))
        .map_err(|err| Status::internal(format!("a health answer that does not decode: {err}")))
}

/// The Health service over grpcx's channel.
struct Client {
    channel: Channel,
    metadata: tonic::metadata::MetadataMap,
    options: CallOptions,
}

impl Client {
    /// Starts a call of `path` for `service`, with its kind: gRPC-Web and
    /// Connect shape a unary call and a server stream differently (and carry
    /// both over HTTP/1.1).
    async fn start(
        &self,
        path: &'static str,
        service: &str,
        server_streaming: bool,
    ) -> Result<invoke::Response, Status> {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let kind = CallKind {
            client_streaming: false,
            server_streaming,
        };
        let requests =
            futures_util::stream::iter([Outgoing::Encoded(request.encode_to_vec().into())]);
        let path = PathAndQuery::from_static(path);
        let head = invoke::Head::new(self.metadata.clone(), &self.options);
        let channel = self.channel.clone();
        invoke::start_at(channel, &path, kind, requests, head, &self.options).await
    }

    async fn check(&self, service: &str) -> Result<ServingStatus, Status> {
        let mut response = self.start(CHECK, service, false).await?;
        let answer = response
            .message()
            .await?
            .ok_or_else(|| Status::internal("the server sent no health answer"))?;
        response.trailers().await?;
        decode(answer)
    }

    /// The answers to a Watch as they come; a broken stream ends at its
    /// first error.
    async fn watch(
        &self,
        service: &str,
    ) -> Result<impl Stream<Item = Result<ServingStatus, Status>> + use<>, Status> {
        let response = self.start(WATCH, service, true).await?;
        Ok(futures_util::stream::unfold(
            Some(response),
            |response| async move {
                let mut response = response?;
                let answer = match response.message().await {
                    Ok(Some(bytes)) => decode(bytes),
                    Ok(None) => return None,
                    Err(status) => Err(status),
                };
                let next = answer.is_ok().then_some(response);
                Some((answer, next))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_server_has_a_name() {
        assert_eq!(label(""), "(server)");
        assert_eq!(label("helloworld.Greeter"), "helloworld.Greeter");
    }

    fn exit_code(outcome: Outcome) -> u8 {
        outcome
            .end()
            .map_or_else(|err| error::exit_code(&err), |()| 0)
    }

    #[test]
    fn the_exit_code_is_the_worst_outcome() {
        let mut outcome = Outcome::default();
        outcome.note("a", ServingStatus::Serving);
        assert_eq!(exit_code(outcome), 0);
        for status in [ServingStatus::NotServing, ServingStatus::Unknown] {
            let mut outcome = Outcome::default();
            outcome.note("a", status);
            outcome.note("b", ServingStatus::Serving);
            assert_eq!(exit_code(outcome), NOT_SERVING, "{status:?}");
        }
        let mut outcome = Outcome::default();
        outcome.note("a", ServingStatus::NotServing);
        outcome.note("a", ServingStatus::Serving);
        assert_eq!(exit_code(outcome), 0, "the last answer decides");
        let mut outcome = Outcome::default();
        outcome.note("a", ServingStatus::NotServing);
        outcome.failed = Some(69);
        assert_eq!(exit_code(outcome), 69, "a failed call wins");
    }

    #[test]
    fn an_unknown_number_is_unknown() {
        let answer = HealthCheckResponse { status: 42 };
        assert_eq!(serving_status(&answer), ServingStatus::Unknown);
    }
}
