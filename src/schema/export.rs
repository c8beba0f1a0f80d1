//! `--protoset-out`: the files a command resolved, with every file they
//! import, written as a FileDescriptorSet in dependency order (each file
//! after its imports), as `protoc --include_imports` writes it.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};
use prost::encoding::{WireType, encode_key, encode_varint};
use prost_reflect::{DescriptorPool, FileDescriptor};

/// Writes the closure of `roots` (file names in `pool`) to `path`.
pub fn write(pool: &DescriptorPool, roots: &[String], path: &Path) -> Result<()> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    for root in roots {
        if let Some(file) = pool.get_file_by_name(root) {
            visit(file, &mut seen, &mut order);
        }
    }
    // Each file is copied as it was encoded, so custom options survive; the
    // set is `repeated FileDescriptorProto file = 1`, written by hand.
    let mut out = Vec::new();
    for file in &order {
        let bytes = super::editions::original(file).unwrap_or_else(|| file.encode_to_vec());
        encode_key(1, WireType::LengthDelimited, &mut out);
        encode_varint(bytes.len() as u64, &mut out);
        out.extend_from_slice(&bytes);
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// Post-order: imports first.
fn visit(file: FileDescriptor, seen: &mut HashSet<String>, order: &mut Vec<FileDescriptor>) {
    if !seen.insert(file.name().to_string()) {
        return;
    }
    for dep in file.dependencies() {
        visit(dep, seen, order);
    }
    order.push(file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_come_first_and_round_trip() {
        let pool = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.protoset");
        write(&pool, &["grpcx/test/v1/everything.proto".into()], &path).unwrap();
        let set: prost_types::FileDescriptorSet =
            prost::Message::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
        let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        assert_eq!(names.last(), Some(&"grpcx/test/v1/everything.proto"));
        assert!(names.contains(&"google/protobuf/timestamp.proto"));
        assert!(!names.contains(&"helloworld.proto"));
        let back = DescriptorPool::from_file_descriptor_set(set).unwrap();
        assert!(
            back.get_message_by_name("grpcx.test.v1.Everything")
                .is_some()
        );
    }
}
