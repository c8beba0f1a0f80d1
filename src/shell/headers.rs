//! `header NAME: VALUE`, `header -d NAME` and `headers`: request metadata
//! kept for the calls of the session. It starts with the `-H` and
//! `--rpc-header` values of the command line; `-H` also went with the
//! reflection requests, which the session made when it started.

use anyhow::{Result, anyhow};
use tonic::metadata::MetadataMap;

use super::{Session, say};
use crate::metadata::{self, Header};

/// The session's headers, in the order they were set.
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// The headers of a metadata map (`-bin` values as base64).
    pub fn from_map(map: &MetadataMap) -> Headers {
        Headers(
            metadata::entries(map)
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        )
    }

    /// Sets a header from `name: value`, replacing any of that name.
    pub fn set(&mut self, text: &str) -> Result<()> {
        let name = Header::parse(text)?.name().to_string();
        let value = text
            .split_once(':')
            .map_or("", |(_, v)| v)
            .trim()
            .to_string();
        // Checked as a call will send it (an ASCII value, valid base64).
        metadata::parse_headers(&[format!("{name}: {value}")])?;
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value));
        Ok(())
    }

    /// Removes a header; an error when there is none of that name.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let name = name.trim().to_ascii_lowercase();
        let before = self.0.len();
        self.0.retain(|(n, _)| *n != name);
        match self.0.len() < before {
            true => Ok(()),
            false => Err(anyhow!("no header '{name}' is set")),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The metadata a call sends.
    pub fn to_map(&self) -> Result<MetadataMap> {
        let lines: Vec<String> = self
            .0
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        metadata::parse_headers(&lines)
    }

    /// `name: value`, one a line.
    pub fn show(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `header NAME: VALUE` or `header -d NAME`.
pub fn header(session: &mut Session, rest: &str) -> Result<()> {
    let rest = rest.trim();
    match rest.strip_prefix("-d") {
        Some(name) if name.is_empty() || name.starts_with(char::is_whitespace) => {
            if name.trim().is_empty() {
                return Err(anyhow!("header -d needs a name: header -d NAME"));
            }
            session.headers.remove(name)
        }
        _ if rest.is_empty() => Err(anyhow!(
            "header needs a name and a value: header NAME: VALUE (`headers` lists them)"
        )),
        _ => session.headers.set(rest),
    }
}

/// `headers`: the session's headers.
pub fn show(session: &Session) -> Result<()> {
    let text = session.headers.show();
    if text.is_empty() {
        return Ok(());
    }
    say(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_set_replaced_and_removed() {
        let mut headers = Headers::default();
        headers.set("X-Trace: abc").unwrap();
        headers.set("token-bin: AAEC").unwrap();
        headers.set("x-trace:  def ").unwrap();
        assert_eq!(headers.show(), "token-bin: AAEC\nx-trace: def");
        let map = headers.to_map().unwrap();
        assert_eq!(map.get("x-trace").unwrap(), "def");
        headers.remove("X-TRACE").unwrap();
        assert_eq!(headers.names(), ["token-bin"]);
        assert!(headers.remove("x-trace").is_err());
        assert!(headers.set("no colon").is_err());
        assert!(headers.set("bad-bin: !!!").is_err());
        assert_eq!(
            Headers::from_map(&map).show(),
            "token-bin: AAEC\nx-trace: def"
        );
    }
}
