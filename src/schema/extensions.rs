//! proto2 extensions by reflection: a file that extends a message need not
//! be imported by the file that defines it, so fetching a service's files
//! does not bring its extensions. For every message type a call or a
//! `describe` reaches that declares extension ranges, the server is asked
//! for the extension numbers it knows (`all_extension_numbers_of_type`)
//! and for the file of each one the pool lacks (`file_containing_extension`).
//! Then `"[pkg.ext]"` keys parse on input and print on output. An extension
//! named in the input that this did not bring (a server that does not
//! answer `all_extension_numbers_of_type`) is asked for by name.

use std::collections::HashSet;

use anyhow::{Result, anyhow};
use prost_reflect::MessageDescriptor;
use prost_types::FileDescriptorProto;

use super::Schema;
use super::symbol::{self, Symbol};

impl Schema {
    /// Fetches the extensions the server knows of every extendable message
    /// type reachable from `roots`. True when the pool grew, so descriptors
    /// taken from it before are stale.
    pub(super) async fn fetch_extensions(&mut self, roots: &[MessageDescriptor]) -> Result<bool> {
        let Some(reflection) = self.reflection.as_mut() else {
            return Ok(false);
        };
        let extendable: Vec<String> = super::graph::reachable(roots)
            .filter(|m| !m.descriptor_proto().extension_range.is_empty())
            .map(|m| m.full_name().to_string())
            .collect();
        if extendable.is_empty() {
            return Ok(false);
        }
        let numbers = reflection.extension_numbers(&extendable).await?;
        let mut missing: Vec<(String, i32)> = Vec::new();
        for (name, numbers) in extendable.iter().zip(numbers) {
            let Some(message) = self.pool.get_message_by_name(name) else {
                continue;
            };
            let have: HashSet<u32> = message.extensions().map(|e| e.number()).collect();
            missing.extend(
                numbers
                    .into_iter()
                    .filter(|&n| n > 0 && !have.contains(&(n as u32)))
                    .map(|n| (name.clone(), n)),
            );
        }
        if missing.is_empty() {
            return Ok(false);
        }
        let pool = &self.pool;
        let known = |file: &str| pool.get_file_by_name(file).is_some();
        let files = reflection
            .files_containing_extensions(&missing, &known)
            .await?;
        if files.is_empty() {
            return Ok(false);
        }
        self.add_used_files(files, &missing[0].0).await?;
        Ok(true)
    }

    /// Adds files reflection sent for `what` to the pool, and notes them as
    /// used.
    async fn add_used_files(&mut self, files: Vec<FileDescriptorProto>, what: &str) -> Result<()> {
        let names: Vec<String> = files.iter().map(|f| f.name().to_string()).collect();
        self.add_files(files)
            .await
            .map_err(|err| anyhow!("reflection sent an invalid schema for {what}: {err}"))?;
        for file in names {
            self.record(&file);
        }
        Ok(())
    }

    /// A message symbol with the extensions the server knows of it, so that
    /// `describe` can show them; any other symbol as it is.
    pub(super) async fn with_extensions(&mut self, found: Symbol) -> Result<Symbol> {
        let Symbol::Message(message) = &found else {
            return Ok(found);
        };
        if !self.fetch_extensions(std::slice::from_ref(message)).await? {
            return Ok(found);
        }
        let name = message.full_name().to_string();
        Ok(symbol::find(&self.pool, &name).unwrap_or(found))
    }

    /// Fetches, by name, the extensions an input names (`"[pkg.ext]"` keys
    /// in JSON, `[pkg.ext]` field names in text) that the pool lacks. True
    /// when the pool grew.
    pub async fn fetch_named_extensions(&mut self, chunk: &crate::input::Chunk) -> Result<bool> {
        if self.reflection.is_none() {
            return Ok(false);
        }
        let names = match chunk.format {
            crate::cli::InputFormat::Json => names_in_json(&chunk.bytes),
            crate::cli::InputFormat::Text => names_in_text(&chunk.bytes),
        };
        let mut grew = false;
        for name in names {
            if self.pool.get_extension_by_name(&name).is_some() {
                continue;
            }
            let reflection = self.reflection.as_mut().expect("checked above");
            let pool = &self.pool;
            let known = |file: &str| pool.get_file_by_name(file).is_some();
            let Some(files) = reflection.file_containing_symbol(&name, &known).await? else {
                continue;
            };
            self.add_used_files(files, &name).await?;
            grew = true;
        }
        Ok(grew)
    }
}

/// The extension names in every `"[pkg.ext]"` key of a JSON input. Cheap
/// when there is none: the bytes are only parsed when they contain `"[`.
fn names_in_json(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if !crate::scan::contains(bytes, b"\"[") {
        return out;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return out;
    };
    let mut stack = vec![&value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    if let Some(name) = key.strip_prefix('[').and_then(|k| k.strip_suffix(']'))
                        && !out.iter().any(|n| n == name)
                    {
                        out.push(name.to_string());
                    }
                    stack.push(inner);
                }
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// The extension names in every `[pkg.ext]` field name of a text format
/// input (a bracketed name without `/`; with one it is an Any's type).
fn names_in_text(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in crate::scan::bracketed(bytes) {
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
        let starts_a_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if starts_a_name && name.chars().all(ident) && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn extension_names_are_found_in_json_keys() {
        let json = br#"{"a": 1, "[p.x]": {"[p.y]": [{"[p.x]": 2}]}, "s": "[p.z]"}"#;
        let mut names = super::names_in_json(json);
        names.sort();
        assert_eq!(names, ["p.x", "p.y"]);
        assert!(super::names_in_json(br#"{"a": "b"}"#).is_empty());
    }

    #[test]
    fn extension_names_are_found_in_text_field_names() {
        let text = b"a: [1, 2] b: [3] [p.x] { [type.googleapis.com/q.Y] { [p.y]: 1 } } [p.x] {}";
        assert_eq!(super::names_in_text(text), ["p.x", "p.y"]);
    }
}
