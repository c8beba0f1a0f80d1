//! Request metadata from `-H 'name: value'` flags: `-H` goes with the call
//! and with reflection, `--rpc-header` and `--reflect-header` with one side
//! only. `-H @FILE` reads `name: value` lines, and `--expand-headers` fills
//! in `${VAR}` from the environment, so secrets stay off the command line.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use tonic::metadata::{AsciiMetadataValue, BinaryMetadataValue, MetadataKey, MetadataMap};

use crate::cli::ConnArgs;
use crate::error::UsageError;

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Ascii(String, String),
    Binary(String, Vec<u8>),
}

impl Header {
    /// Parses `name: value`. The name is lowercased and the value trimmed;
    /// the value of a `-bin` key is base64 (standard or URL-safe, padded or not).
    pub fn parse(text: &str) -> Result<Header> {
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| anyhow!("invalid header '{text}': expected 'name: value'"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() {
            bail!("invalid header '{text}': the name is empty");
        }
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            bail!("invalid header name '{name}'");
        }
        connection_specific(&name, value)?;
        if name.ends_with("-bin") {
            use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
            let value = value.trim_end_matches('=');
            let bytes = STANDARD_NO_PAD
                .decode(value)
                .or_else(|_| URL_SAFE_NO_PAD.decode(value))
                .map_err(|err| anyhow!("invalid base64: {err}"))
                .with_context(|| {
                    format!("header '{name}' ends in -bin, so its value must be base64")
                })?;
            Ok(Header::Binary(name, bytes))
        } else {
            Ok(Header::Ascii(name, value.to_string()))
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Header::Ascii(name, _) | Header::Binary(name, _) => name,
        }
    }
}

/// HTTP/2 forbids connection-specific headers (RFC 9113 §8.2.2): a server
/// would reset the stream, or h2 refuse to send it. They are refused here,
/// naming the header, for every protocol and command alike.
fn connection_specific(name: &str, value: &str) -> Result<()> {
    let refused = match name {
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade" => true,
        "te" => !value.eq_ignore_ascii_case("trailers"),
        _ => false,
    };
    if refused {
        return Err(UsageError(format!(
            "header '{name}' is connection-specific, which HTTP/2 does not allow; \
             grpcx manages the connection itself, so drop this -H"
        ))
        .into());
    }
    Ok(())
}

/// Parses every `-H` value into a metadata map.
pub fn parse_headers(texts: &[String]) -> Result<MetadataMap> {
    let mut map = MetadataMap::new();
    for text in texts {
        insert(&mut map, &Header::parse(text)?)?;
    }
    Ok(map)
}

/// The metadata of each side of a command.
#[derive(Debug, Clone, Default)]
pub struct RequestMetadata {
    /// Sent with the call: `-H` and `--rpc-header`.
    pub call: MetadataMap,
    /// Sent with reflection requests: `-H` and `--reflect-header`.
    pub reflection: MetadataMap,
}

impl RequestMetadata {
    pub fn from_args(args: &ConnArgs) -> Result<RequestMetadata> {
        let expand = args.expand_headers;
        let both = header_lines(&args.headers, expand)?;
        let call = header_lines(&args.rpc_headers, expand)?;
        let reflection = header_lines(&args.reflect_headers, expand)?;
        Ok(RequestMetadata {
            call: parse_headers(&[both.as_slice(), &call].concat())?,
            reflection: parse_headers(&[both.as_slice(), &reflection].concat())?,
        })
    }
}

/// The header texts of some flags: `@FILE` becomes the file's lines (blank
/// lines and `#` comments skipped), and `${VAR}` is expanded when asked.
fn header_lines(args: &[String], expand: bool) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for arg in args {
        match arg.strip_prefix('@') {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read headers from {path}"))?;
                for (number, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let line = expand_env(line, expand)?;
                    Header::parse(&line).with_context(|| format!("{path} line {}", number + 1))?;
                    lines.push(line);
                }
            }
            None => lines.push(expand_env(arg, expand)?),
        }
    }
    Ok(lines)
}

/// When `expand`, replaces each `${VAR}` with the variable's value; an unset
/// variable is an error, so a typo never sends an empty credential.
fn expand_env(text: &str, expand: bool) -> Result<String> {
    if !expand {
        return Ok(text.to_string());
    }
    expand_with(text, |name| std::env::var(name).ok())
}

fn expand_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| anyhow!("header '{text}': '${{' without a closing '}}'"))?;
        let name = &after[..end];
        if name.is_empty() {
            bail!("header '{text}': '${{}}' names no variable");
        }
        let value = lookup(name).ok_or_else(|| {
            anyhow!("header '{text}': the environment variable {name} is not set")
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a header carries a credential, so that `-v` masks its value.
pub fn is_secret(name: &str) -> bool {
    const EXACT: [&str; 4] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ];
    const PARTS: [&str; 6] = ["token", "secret", "password", "api-key", "apikey", "auth"];
    let name = name.to_ascii_lowercase();
    EXACT.contains(&name.as_str()) || PARTS.iter().any(|part| name.contains(part))
}

fn insert(map: &mut MetadataMap, header: &Header) -> Result<()> {
    match header {
        Header::Ascii(name, value) => {
            let key = MetadataKey::from_bytes(name.as_bytes())?;
            let value = AsciiMetadataValue::try_from(value.as_str())
                .map_err(|_| anyhow!("header '{name}' has a value that is not visible ASCII"))?;
            map.append(key, value);
        }
        Header::Binary(name, bytes) => {
            let key = MetadataKey::from_bytes(name.as_bytes())?;
            map.append_bin(key, BinaryMetadataValue::from_bytes(bytes));
        }
    }
    Ok(())
}

/// Every entry of a metadata map as its key and its value as text: ASCII
/// values as they are, `-bin` values in standard base64. For printing.
pub fn entries(map: &MetadataMap) -> impl Iterator<Item = (&str, String)> {
    map.iter().map(|entry| match entry {
        tonic::metadata::KeyAndValueRef::Ascii(key, value) => (
            key.as_str(),
            String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
        ),
        tonic::metadata::KeyAndValueRef::Binary(key, value) => (
            key.as_str(),
            match value.to_bytes() {
                Ok(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
                Err(_) => String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
            },
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_and_values_trimmed() {
        assert_eq!(
            Header::parse("X-Trace:  abc ").unwrap(),
            Header::Ascii("x-trace".into(), "abc".into())
        );
    }

    #[test]
    fn bin_values_accept_every_base64_spelling() {
        for value in ["+/8=", "+/8", "-_8=", "-_8"] {
            assert_eq!(
                Header::parse(&format!("k-bin: {value}")).unwrap(),
                Header::Binary("k-bin".into(), vec![0xfb, 0xff]),
                "{value}"
            );
        }
        assert!(Header::parse("k-bin: !!").is_err());
    }

    #[test]
    fn env_expansion() {
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        assert_eq!(
            expand_with("authorization: Bearer ${TOKEN}", env).unwrap(),
            "authorization: Bearer s3cret"
        );
        assert_eq!(expand_with("a: $TOKEN", env).unwrap(), "a: $TOKEN");
        assert!(expand_with("a: ${MISSING}", env).is_err());
        assert!(expand_with("a: ${TOKEN", env).is_err());
    }

    #[test]
    fn credentials_are_recognised() {
        for name in [
            "authorization",
            "Cookie",
            "x-api-key",
            "x-auth-token",
            "db-password",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in ["echo-a", "content-type", "x-request-id"] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn malformed_headers_are_errors() {
        for bad in ["novalue", ": v", "bad name: v"] {
            assert!(Header::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Any header text is a header or an error; a parsed one has a
        /// lowercase name and goes into a metadata map or is refused cleanly.
        #[test]
        fn any_header_parses_or_is_an_error(text in "\\PC{0,40}") {
            if let Ok(header) = Header::parse(&text) {
                proptest::prop_assert_eq!(header.name(), header.name().to_ascii_lowercase());
                let _ = insert(&mut MetadataMap::new(), &header);
            }
        }

        /// Binary values survive base64 in any of its spellings.
        #[test]
        fn bin_values_round_trip(bytes: Vec<u8>) {
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let text = format!("k-bin: {}", URL_SAFE_NO_PAD.encode(&bytes));
            proptest::prop_assert_eq!(Header::parse(&text).unwrap(), Header::Binary("k-bin".into(), bytes));
        }
    }
}
