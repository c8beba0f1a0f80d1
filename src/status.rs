//! gRPC statuses for people and for machines: canonical code names, and the
//! rich details of `grpc-status-details-bin` decoded.
//!
//! The details are a `google.rpc.Status` whose `details` are Anys. The
//! standard `google.rpc` error types are built in (an embedded descriptor
//! set), so they decode without any schema from the server; a type the
//! call's schema knows decodes from that schema; any other type is shown as
//! its type URL and base64 bytes. Decoding never fails the report of an error.

use std::sync::OnceLock;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use percent_encoding::percent_decode;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};

/// gRPC's own header names, looked up without parsing a name each time
/// (a lookup by `&str` parses and hashes it first).
pub mod names {
    use http::{HeaderMap, HeaderName, HeaderValue};

    /// The first value of `name` in a response's headers or trailers. They
    /// hold a handful of names, and comparing each is a tenth of the cost of
    /// a hashed lookup of a custom name (FNV over its bytes, then a probe).
    pub fn find<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
        if headers.len() > 8 {
            return headers.get(name);
        }
        headers
            .iter()
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// The first values of several names, in one pass over the headers.
    pub fn find_each<'a, const N: usize>(
        headers: &'a HeaderMap,
        names: [&HeaderName; N],
    ) -> [Option<&'a HeaderValue>; N] {
        if headers.len() > 8 {
            return names.map(|name| headers.get(name));
        }
        let mut found = [None; N];
        for (key, value) in headers {
            for (slot, name) in found.iter_mut().zip(names) {
                if *name == key {
                    slot.get_or_insert(value);
                }
            }
        }
        found
    }

    pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
    pub const GRPC_STATUS_DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");
    pub const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
    pub const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
    pub const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");
    pub const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
}

/// google.rpc.Status, as `grpc-status-details-bin` carries it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// The `google.rpc` status and error-detail types (and the well-known types
/// they import).
pub fn builtin_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let bytes = include_bytes!(concat!(env!("OUT_DIR"), "/google_rpc_descriptor.bin"));
        DescriptorPool::decode(bytes.as_slice()).expect("the embedded google.rpc descriptors")
    })
}

/// The OK status a call ended with, its message as the server sent it in
/// `grpc-message` (grpc-js sends `OK`; most servers send none).
pub fn success(trailers: &tonic::metadata::MetadataMap) -> tonic::Status {
    let message = trailers
        .get("grpc-message")
        .map(|value| percent_decode(value.as_encoded_bytes()).decode_utf8_lossy())
        .unwrap_or_default();
    tonic::Status::ok(message)
}

/// `NOT_FOUND`, `DEADLINE_EXCEEDED`: the name the gRPC spec and JSON use.
pub fn code_constant(code: tonic::Code) -> String {
    let camel = format!("{code:?}");
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A status code from its number (0-16) or its name, in any case, with or
/// without underscores: `5`, `NOT_FOUND`, `NotFound`.
pub fn parse_code(text: &str) -> Option<tonic::Code> {
    let text = text.trim();
    // Any other number matches no name below either.
    if let Ok(number @ 0..=16) = text.parse::<i32>() {
        return Some(tonic::Code::from_i32(number));
    }
    let wanted = text.replace('_', "").to_ascii_lowercase();
    (0..=16)
        .map(tonic::Code::from_i32)
        .find(|code| format!("{code:?}").to_ascii_lowercase() == wanted)
}

/// One entry of a status's details.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub type_url: String,
    /// The message as compact JSON (canonical mapping), when its type is known.
    pub json: Option<String>,
    /// The raw bytes, shown (as base64) when the type is unknown.
    pub value: Vec<u8>,
}

impl Detail {
    /// The Any in its JSON form: `{"@type": URL, ...fields}` for a known
    /// type, `{"@type": URL, "value": BASE64}` for an unknown one.
    pub fn to_json(&self) -> String {
        let url = json_string(&self.type_url);
        match self.json.as_deref() {
            Some("{}") => format!("{{\"@type\":{url}}}"),
            // An ordinary message: splice its fields in after @type.
            Some(json) if json.starts_with('{') => format!("{{\"@type\":{url},{}", &json[1..]),
            // A well-known type with a special JSON form (e.g. Duration).
            Some(json) => format!("{{\"@type\":{url},\"value\":{json}}}"),
            None => {
                let value = json_string(&STANDARD.encode(&self.value));
                format!("{{\"@type\":{url},\"value\":{value}}}")
            }
        }
    }

    /// One line for people: `google.rpc.ErrorInfo {"reason":…}`, or
    /// `example.Unknown (unknown type) AQI=`.
    pub fn to_text(&self) -> String {
        let name = type_name(&self.type_url);
        match &self.json {
            Some(json) => format!("{name} {json}"),
            None => format!(
                "{name} (unknown type, {} bytes) {}",
                self.value.len(),
                STANDARD.encode(&self.value)
            ),
        }
    }
}

/// The type an Any's URL names: what follows its last `/`.
pub fn type_name(url: &str) -> &str {
    url.rsplit_once('/').map_or(url, |(_, name)| name)
}

/// The type names in a status's details, to fetch before decoding them.
pub fn detail_types(status: &tonic::Status) -> Vec<String> {
    anys(status)
        .into_iter()
        .map(|any| type_name(&any.type_url).to_string())
        .collect()
}

/// Decodes a status's details. `schema` is the call's descriptor pool, if
/// any; its types win over the built-in ones.
pub fn details(status: &tonic::Status, schema: Option<&DescriptorPool>) -> Vec<Detail> {
    anys(status)
        .into_iter()
        .map(|prost_types::Any { type_url, value }| {
            let name = type_name(&type_url);
            let json = schema
                .and_then(|pool| pool.get_message_by_name(name))
                .or_else(|| builtin_pool().get_message_by_name(name))
                .and_then(|desc| DynamicMessage::decode(desc, value.as_slice()).ok())
                .and_then(|message| serde_json::to_string(&message).ok());
            Detail {
                type_url,
                json,
                value,
            }
        })
        .collect()
}

/// The Anys in `grpc-status-details-bin`; empty when there is none or it
/// does not parse.
pub(crate) fn anys(status: &tonic::Status) -> Vec<prost_types::Any> {
    RpcStatus::decode(status.details())
        .map(|status| status.details)
        .unwrap_or_default()
}

/// A status as one compact JSON object:
/// `{"code":"NOT_FOUND","codeNumber":5,"message":"…","details":[…]}`.
pub fn to_json(status: &tonic::Status, details: &[Detail]) -> String {
    let details: Vec<String> = details.iter().map(Detail::to_json).collect();
    format!(
        "{{\"code\":{},\"codeNumber\":{},\"message\":{},\"details\":[{}]}}",
        json_string(&code_constant(status.code())),
        status.code() as i32,
        json_string(status.message()),
        details.join(","),
    )
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// Base64 as gRPC's binary values are read: the standard alphabet, padded
/// or not (as tonic reads `grpc-status-details-bin`).
pub const BASE64_ANY_PADDING: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Mends a response's status fields, where responses enter (`transport::h2`
/// for h2, `protocol` for gRPC-Web and Connect), before tonic's
/// `Status::from_header_map` reads them; nothing a server sends may make
/// grpcx panic or lose the server's code:
/// - a `grpc-status-details-bin` that is not base64 is removed (tonic
///   panics on one); the code and message still stand;
/// - a `grpc-message` whose escapes do not decode to UTF-8 is kept as it
///   came, its `%` escaped, as gRPC's HTTP/2 spec asks (tonic would make the
///   status UNKNOWN, with a message about the header instead).
pub fn mend_status_fields(headers: &mut http::HeaderMap) {
    let [details, message] =
        names::find_each(headers, [&names::GRPC_STATUS_DETAILS, &names::GRPC_MESSAGE]);
    let bad_details = details.is_some_and(|v| BASE64_ANY_PADDING.decode(v.as_bytes()).is_err());
    let escaped = message.filter(|v| percent_decode(v.as_bytes()).decode_utf8().is_err());
    let escaped = escaped.map(|value| {
        let pieces: Vec<&[u8]> = value.as_bytes().split(|&byte| byte == b'%').collect();
        http::HeaderValue::from_bytes(&pieces.join(&b"%25"[..]))
    });
    if bad_details {
        headers.remove(names::GRPC_STATUS_DETAILS);
    }
    if let Some(Ok(raw)) = escaped {
        headers.insert(names::GRPC_MESSAGE, raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderName, HeaderValue};
    use prost_reflect::Value;
    use tonic::metadata::MetadataMap;
    use tonic::{Code, Status};

    #[test]
    fn a_message_that_is_not_utf8_keeps_the_servers_code() {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static("5"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("gone %FF%e2%98%83"),
        );
        headers.insert("grpc-status-details-bin", HeaderValue::from_static("!!!"));
        mend_status_fields(&mut headers);
        let status = Status::from_header_map(&headers).unwrap();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "gone %FF%e2%98%83");
        assert!(status.details().is_empty());
        // A message that decodes is left for tonic to decode.
        headers.insert("grpc-message", HeaderValue::from_static("a %e2%98%83"));
        mend_status_fields(&mut headers);
        assert_eq!(
            Status::from_header_map(&headers).unwrap().message(),
            "a \u{2603}"
        );
    }

    #[test]
    fn find_answers_as_a_hashed_lookup_does_in_small_and_large_maps() {
        for extra in [0, 20] {
            let mut headers = HeaderMap::new();
            for i in 0..extra {
                headers.insert(
                    HeaderName::try_from(format!("x-filler-{i}")).unwrap(),
                    HeaderValue::from_static("f"),
                );
            }
            headers.append(names::GRPC_STATUS, HeaderValue::from_static("5"));
            headers.append(names::GRPC_STATUS, HeaderValue::from_static("7"));
            headers.insert("grpc-message", HeaderValue::from_static("m"));
            for name in [
                names::GRPC_STATUS,
                names::GRPC_STATUS_DETAILS,
                HeaderName::from_static("grpc-message"),
                http::header::CONTENT_TYPE,
            ] {
                assert_eq!(names::find(&headers, &name), headers.get(&name), "{name}");
                let [each, status] = names::find_each(&headers, [&name, &names::GRPC_STATUS]);
                assert_eq!(each, headers.get(&name), "{name}");
                assert_eq!(status.unwrap(), "5");
            }
            assert_eq!(names::find(&headers, &names::GRPC_STATUS).unwrap(), "5");
        }
    }

    #[test]
    fn a_success_keeps_the_message_the_server_sent() {
        let mut trailers = MetadataMap::new();
        assert_eq!(success(&trailers).message(), "");
        trailers.insert("grpc-message", "OK".parse().unwrap());
        assert_eq!(success(&trailers).message(), "OK");
        trailers.insert("grpc-message", "caf%C3%A9 100%25 %zz".parse().unwrap());
        assert_eq!(success(&trailers).message(), "café 100% %zz");
        // Two hex digits make an escape; a sign is not one (`%+f` is text).
        trailers.insert("grpc-message", "%+f %-1 %4".parse().unwrap());
        assert_eq!(success(&trailers).message(), "%+f %-1 %4");
    }

    #[test]
    fn code_constants() {
        assert_eq!(code_constant(Code::Ok), "OK");
        assert_eq!(code_constant(Code::NotFound), "NOT_FOUND");
        assert_eq!(code_constant(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
    }

    /// An empty message of a type of the built-in pool.
    fn builtin(name: &str) -> DynamicMessage {
        DynamicMessage::new(builtin_pool().get_message_by_name(name).unwrap())
    }

    /// Builds a google.rpc.Status with the given Anys, through the built-in
    /// pool itself.
    fn status_with(anys: &[(&str, Vec<u8>)]) -> Status {
        let mut status = builtin("google.rpc.Status");
        status.set_field_by_name("code", Value::I32(9));
        let items = anys
            .iter()
            .map(|(url, value)| {
                let mut any = builtin("google.protobuf.Any");
                any.set_field_by_number(1, Value::String(url.to_string()));
                any.set_field_by_number(2, Value::Bytes(value.clone().into()));
                Value::Message(any)
            })
            .collect();
        status.set_field_by_name("details", Value::List(items));
        Status::with_details(
            Code::FailedPrecondition,
            "no",
            status.encode_to_vec().into(),
        )
    }

    #[test]
    fn builtin_types_decode_and_unknown_ones_stay_raw() {
        let mut retry = builtin("google.rpc.RetryInfo");
        let mut delay = builtin("google.protobuf.Duration");
        delay.set_field_by_name("seconds", Value::I64(2));
        retry.set_field_by_name("retry_delay", Value::Message(delay));
        let status = status_with(&[
            (
                "type.googleapis.com/google.rpc.RetryInfo",
                retry.encode_to_vec(),
            ),
            ("type.googleapis.com/x.Nope", vec![1, 2]),
        ]);
        let details = details(&status, None);
        assert_eq!(
            to_json(&status, &details),
            r#"{"code":"FAILED_PRECONDITION","codeNumber":9,"message":"no","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"},{"@type":"type.googleapis.com/x.Nope","value":"AQI="}]}"#
        );
        assert_eq!(details[1].to_text(), "x.Nope (unknown type, 2 bytes) AQI=");
    }

    #[test]
    fn no_details_and_garbage_details_are_empty() {
        assert!(details(&Status::not_found("x"), None).is_empty());
        let garbage = Status::with_details(Code::Internal, "x", vec![0xff, 0xff].into());
        assert!(details(&garbage, None).is_empty());
    }
}
