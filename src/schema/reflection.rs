//! The reflection backend: asks the server's `grpc.reflection.v1` and
//! `v1alpha` services at once on the first request, and keeps v1 unless the
//! server lacks it (grpcio and older grpc-go serve only v1alpha), so finding
//! the version costs no round trip.
//!
//! One bidi stream carries every request of a command. Requests are
//! pipelined: all the files one round needs are asked for at once, and the
//! answers read in order. Servers that close the stream on an error get a new
//! stream for the requests still unanswered.

use std::collections::{HashMap, HashSet, VecDeque};

use anyhow::{Result, anyhow};
use http::uri::PathAndQuery;
use prost::Message as _;
use prost_types::FileDescriptorProto;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use crate::codec::Outgoing;
use crate::error::hinted;
use crate::invoke::{self, CallOptions};
use crate::protocol::{CallKind, Channel};
use crate::transport;

/// The two wire-identical versions of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V1Alpha,
}

impl Version {
    fn path(self) -> PathAndQuery {
        PathAndQuery::from_static(match self {
            Version::V1 => "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            Version::V1Alpha => "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        })
    }
}

/// The bidi stream: requests go in as encoded messages, answers come back
/// through the call path every call takes (`invoke`).
struct OpenStream {
    tx: mpsc::Sender<Outgoing>,
    rx: invoke::Response,
}

/// A reflection client with its open stream.
pub struct Reflection {
    channel: Channel,
    metadata: MetadataMap,
    /// The largest answer accepted (`--max-msg-size`).
    pub(super) max_message_size: usize,
    version: Option<Version>,
    stream: Option<OpenStream>,
}

/// What one request got back.
type Answer = Result<MessageResponse, Status>;

impl Reflection {
    pub fn new(channel: Channel, metadata: MetadataMap, max_message_size: usize) -> Self {
        Reflection {
            channel,
            metadata,
            max_message_size,
            version: None,
            stream: None,
        }
    }

    /// The full names of the services the server offers.
    pub async fn list_services(&mut self) -> Result<Vec<String>> {
        let answer = self
            .exchange(vec![MessageRequest::ListServices(String::new())])
            .await?
            .pop()
            .expect("one answer per request");
        match answer {
            Ok(MessageResponse::ListServicesResponse(list)) => {
                let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
                // A name that would steer the terminal is refused.
                match names.iter().find(|n| !super::validate::is_printable(n)) {
                    Some(name) => Err(anyhow!(
                        "reflection listed a service whose name holds a control character: '{}'",
                        name.escape_debug()
                    )),
                    None => Ok(names),
                }
            }
            Ok(other) => Err(unexpected(other, "list the services", "list_services")),
            Err(status) => Err(status_error("list the services", &status)),
        }
    }

    /// The file that defines `symbol`, with every file it imports that the
    /// pool does not already hold (`known`). `None` when the server does not
    /// know the symbol.
    pub async fn file_containing_symbol(
        &mut self,
        symbol: &str,
        known: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Option<Vec<FileDescriptorProto>>> {
        let (found, files) = self
            .files_containing_symbols(&[symbol.to_string()], known)
            .await?;
        Ok(found[0].then_some(files))
    }

    /// The files that define each of `symbols`, asked for at once, with
    /// every file they import that the pool lacks. Says which symbols the
    /// server knows.
    pub async fn files_containing_symbols(
        &mut self,
        symbols: &[String],
        known: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<(Vec<bool>, Vec<FileDescriptorProto>)> {
        let requests = symbols
            .iter()
            .map(|symbol| MessageRequest::FileContainingSymbol(symbol.clone()))
            .collect();
        let answers = self.exchange(requests).await?;
        let mut found = Vec::with_capacity(symbols.len());
        let mut files = Vec::new();
        for (symbol, answer) in symbols.iter().zip(answers) {
            match answer {
                Ok(MessageResponse::FileDescriptorResponse(answer)) => {
                    files.extend(decode_files(&answer.file_descriptor_proto)?);
                    found.push(true);
                }
                Ok(MessageResponse::ErrorResponse(err))
                    if err.error_code == Code::NotFound as i32 =>
                {
                    found.push(false);
                }
                Ok(other) => {
                    let failed = format!("find {symbol}");
                    return Err(unexpected(other, &failed, "a symbol request"));
                }
                // A server that closes the stream rather than answering NOT_FOUND.
                Err(status) if status.code() == Code::NotFound => found.push(false),
                Err(status) => return Err(status_error(&format!("find {symbol}"), &status)),
            }
        }
        let files = self.complete(files, known).await?;
        Ok((found, files))
    }

    /// The numbers of every extension of each of `messages` the server
    /// knows, asked all at once. Empty for a message when the server cannot
    /// say (not every reflection service answers this): its extensions are
    /// then simply not known.
    pub async fn extension_numbers(&mut self, messages: &[String]) -> Result<Vec<Vec<i32>>> {
        let requests = messages
            .iter()
            .map(|m| MessageRequest::AllExtensionNumbersOfType(m.clone()))
            .collect();
        Ok(self
            .exchange(requests)
            .await?
            .into_iter()
            .map(|answer| match answer {
                Ok(MessageResponse::AllExtensionNumbersResponse(numbers)) => {
                    numbers.extension_number
                }
                _ => Vec::new(),
            })
            .collect())
    }

    /// The files that define the extensions (message, number), asked all at
    /// once, with their imports the pool lacks (`known`). Extensions the
    /// server cannot place are left out.
    pub async fn files_containing_extensions(
        &mut self,
        extensions: &[(String, i32)],
        known: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<FileDescriptorProto>> {
        let requests = extensions
            .iter()
            .map(|(message, number)| {
                MessageRequest::FileContainingExtension(
                    tonic_reflection::pb::v1::ExtensionRequest {
                        containing_type: message.clone(),
                        extension_number: *number,
                    },
                )
            })
            .collect();
        let mut files = Vec::new();
        for answer in self.exchange(requests).await? {
            if let Ok(MessageResponse::FileDescriptorResponse(found)) = answer {
                files.extend(decode_files(&found.file_descriptor_proto)?);
            }
        }
        self.complete(files, known).await
    }

    /// Adds the missing imports of `files`, asking for all of one round's
    /// files at once. Some servers send the whole closure with the first
    /// answer, others only the defining file.
    async fn complete(
        &mut self,
        files: Vec<FileDescriptorProto>,
        known: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<FileDescriptorProto>> {
        let mut have: HashMap<String, FileDescriptorProto> = HashMap::new();
        let mut order = Vec::new();
        let mut pending: VecDeque<FileDescriptorProto> = files.into();
        loop {
            while let Some(file) = pending.pop_front() {
                let name = file.name().to_string();
                match have.entry(name) {
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        order.push(slot.key().clone());
                        slot.insert(file);
                    }
                    // The same file again is harmless; two different files
                    // of one name cannot both be right.
                    std::collections::hash_map::Entry::Occupied(slot) if *slot.get() != file => {
                        return Err(anyhow!(
                            "reflection sent two different files named '{}'",
                            slot.key()
                        ));
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                }
            }
            let mut missing: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for file in have.values() {
                for dep in &file.dependency {
                    if !have.contains_key(dep) && !known(dep) && seen.insert(dep.clone()) {
                        missing.push(dep.clone());
                    }
                }
            }
            if missing.is_empty() {
                break;
            }
            let requests = missing
                .iter()
                .map(|name| MessageRequest::FileByFilename(name.clone()))
                .collect();
            let answers = self.exchange(requests).await?;
            for (name, answer) in missing.iter().zip(answers) {
                match answer {
                    Ok(MessageResponse::FileDescriptorResponse(files)) => {
                        pending.extend(decode_files(&files.file_descriptor_proto)?);
                    }
                    Ok(other) => {
                        let failed = format!("give {name}, which the schema imports");
                        return Err(unexpected(other, &failed, "a file request"));
                    }
                    Err(status) => return Err(status_error(&format!("fetch {name}"), &status)),
                }
            }
            if pending.iter().all(|f| have.contains_key(f.name())) {
                let lost = missing
                    .iter()
                    .find(|m| !have.contains_key(*m))
                    .expect("missing");
                return Err(anyhow!(
                    "reflection did not return {lost}, which the schema imports"
                ));
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|name| have.remove(&name))
            .collect())
    }

    /// Sends every request at once and reads one answer per request, in
    /// order. Chooses the version on first use. When a stream breaks, the
    /// request it broke on gets the error and the rest go on a new stream.
    async fn exchange(&mut self, requests: Vec<MessageRequest>) -> Result<Vec<Answer>> {
        let mut answers = match self.version {
            None => self.pick_version(&requests).await?,
            Some(_) => Vec::new(),
        };
        while answers.len() < requests.len() {
            // Each round answers at least one request, so this ends.
            let got = self.send_and_read(&requests[answers.len()..]).await;
            answers.extend(got);
        }
        Ok(answers)
    }

    /// Asks v1 and v1alpha at once, each on its own stream, and keeps v1
    /// unless it is missing (then v1alpha): a v1alpha-only server (grpcio)
    /// costs no extra round trip. The stream not kept is dropped, which
    /// cancels it.
    async fn pick_version(&mut self, requests: &[MessageRequest]) -> Result<Vec<Answer>> {
        // Aborted on every way out, so that no stream outlives its use.
        let mut alpha = AbortOnDrop(tokio::spawn(self.ask(Version::V1Alpha, requests)));
        let mut v1 = Some(self.ask(Version::V1, requests));
        let mut first_failure = None;
        for version in [Version::V1, Version::V1Alpha] {
            let (answers, stream) = match version {
                Version::V1 => v1.take().expect("v1 is asked once").await,
                Version::V1Alpha => (&mut alpha.0)
                    .await
                    .unwrap_or_else(|err| (vec![Err(Status::internal(err.to_string()))], Err(()))),
            };
            let opened = stream.is_ok();
            let missing = match answers.first() {
                Some(Err(status)) if !opened || status.code() == Code::Unimplemented => {
                    Some(status.clone())
                }
                _ => None,
            };
            match missing {
                // A dead connection: asking again would only wait again.
                Some(status) if is_connection_failure(&status) => {
                    return Err(status_error("answer", &status));
                }
                Some(status) => {
                    first_failure.get_or_insert(status);
                }
                None => {
                    self.version = Some(version);
                    self.stream = stream.ok().flatten();
                    return Ok(answers);
                }
            }
        }
        let status = first_failure.expect("both versions failed");
        if status.code() == Code::Unimplemented {
            Err(hinted(
                "the server does not offer reflection",
                "pass --proto or --protoset",
            ))
        } else {
            Err(status_error("answer", &status))
        }
    }

    /// Opens a stream of `version` with `requests` queued, and reads an
    /// answer for each; the future owns what it needs.
    fn ask(
        &self,
        version: Version,
        requests: &[MessageRequest],
    ) -> impl Future<Output = (Vec<Answer>, Opened)> + Send + 'static {
        let (channel, metadata) = (self.channel.clone(), self.metadata.clone());
        let (max_message_size, requests) = (self.max_message_size, requests.to_vec());
        async move {
            let opened = open(channel, metadata, max_message_size, version, &requests).await;
            let mut stream = match opened {
                Ok(stream) => stream,
                Err(status) => return (vec![Err(status)], Err(())),
            };
            let answers = read_answers(&mut stream, requests.len()).await;
            let usable = answers.last().is_some_and(|a| a.is_ok());
            (answers, Ok(usable.then_some(stream)))
        }
    }

    /// Sends the requests on the open stream (opening one if needed) and reads
    /// an answer for each. A broken stream answers the first unanswered
    /// request with its status; the rest are left out.
    async fn send_and_read(&mut self, requests: &[MessageRequest]) -> Vec<Answer> {
        let Some(mut stream) = self.stream.take() else {
            let version = self.version.expect("version chosen");
            let (answers, stream) = self.ask(version, requests).await;
            self.stream = stream.ok().flatten();
            return answers;
        };
        let mut sent = true;
        for request in requests {
            if stream.tx.send(message(request)).await.is_err() {
                sent = false;
                break;
            }
        }
        let answers = read_answers(&mut stream, requests.len()).await;
        if sent && answers.last().is_some_and(|a| a.is_ok()) {
            self.stream = Some(stream);
        }
        answers
    }
}

/// A task that is cancelled when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What opening a stream left: `Err` when it did not open (the server sent
/// no headers), `Ok(None)` when it opened but broke, `Ok(Some)` when it is
/// still usable.
type Opened = Result<Option<OpenStream>, ()>;

fn message(request: &MessageRequest) -> Outgoing {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request.clone()),
    };
    Outgoing::Encoded(request.encode_to_vec().into())
}

/// Reads up to `count` answers; a broken stream ends the list with its status.
async fn read_answers(stream: &mut OpenStream, count: usize) -> Vec<Answer> {
    let mut answers = Vec::with_capacity(count);
    for _ in 0..count {
        let answer = match stream.rx.message().await {
            Ok(Some(bytes)) => ServerReflectionResponse::decode(bytes)
                .map_err(|err| {
                    Status::internal(format!("a reflection response that does not decode: {err}"))
                })
                .and_then(|response| {
                    response
                        .message_response
                        .ok_or_else(|| Status::internal("an empty reflection response"))
                }),
            Ok(None) => Err(Status::unavailable("the reflection stream ended")),
            Err(status) => Err(status),
        };
        let broken = answer.is_err();
        answers.push(answer);
        if broken {
            break;
        }
    }
    answers
}

/// Opens the bidi stream with the first requests already queued: the call
/// returns once the server sends its headers, and some servers send them
/// only after a first request.
async fn open(
    channel: Channel,
    metadata: MetadataMap,
    max_message_size: usize,
    version: Version,
    first: &[MessageRequest],
) -> Result<OpenStream, Status> {
    let (tx, rx) = mpsc::channel(first.len().max(16));
    for request in first {
        tx.try_send(message(request))
            .expect("the channel holds the first round");
    }
    let options = CallOptions {
        max_message_size,
        ..CallOptions::default()
    };
    let requests = ReceiverStream::new(rx);
    let rx = invoke::start_at(
        channel,
        &version.path(),
        CallKind::BIDI,
        requests,
        invoke::Head::new(metadata, &options),
        &options,
    )
    .await?;
    Ok(OpenStream { tx, rx })
}

/// Files from reflection, each lowered when it is an editions file.
fn decode_files(encoded: &[Vec<u8>]) -> Result<Vec<FileDescriptorProto>> {
    let decode = |bytes: &Vec<u8>| {
        let lowered = super::editions::lower_encoded(bytes)?;
        FileDescriptorProto::decode(lowered.as_deref().unwrap_or(bytes))
            .map_err(|err| anyhow!("reflection sent a file descriptor that does not decode: {err}"))
    };
    encoded.iter().map(decode).collect()
}

/// An answer that is not the one `request` asked for: the server's error
/// (it could not do what `failed` says), or an answer of another kind.
fn unexpected(answer: MessageResponse, failed: &str, request: &str) -> anyhow::Error {
    match answer {
        MessageResponse::ErrorResponse(err) => {
            anyhow!("reflection could not {failed}: {}", err.error_message)
        }
        _ => anyhow!("reflection answered {request} with something else"),
    }
}

/// A failed reflection request. A status grpcx made (the connection
/// failed, a message was over the size limit) is reported as the status it
/// is (so it exits 64+N); one the server sent is its reflection failing.
fn status_error(what: &str, status: &Status) -> anyhow::Error {
    if !transport::is_sent_by_server(status) {
        return crate::error::StatusError(status.clone()).into();
    }
    anyhow!(
        "reflection failed to {what}: {}: {}",
        crate::error::code_name(status.code()),
        status.message()
    )
}

/// A status that says the connection failed, not that this version of
/// reflection is missing.
fn is_connection_failure(status: &Status) -> bool {
    !transport::is_sent_by_server(status)
        || matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
        )
}
