//! Request metadata from `-H 'name: value'` flags.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use tonic::metadata::{AsciiMetadataValue, BinaryMetadataValue, MetadataKey, MetadataMap};

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
        if name.ends_with("-bin") {
            let bytes = decode_base64(value).with_context(|| {
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

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode_base64(text: &str) -> Result<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = text.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|err| anyhow!("invalid base64: {err}"))
}

/// Parses every `-H` value into a metadata map.
pub fn parse_headers(texts: &[String]) -> Result<MetadataMap> {
    let mut map = MetadataMap::new();
    for text in texts {
        insert(&mut map, &Header::parse(text)?)?;
    }
    Ok(map)
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
