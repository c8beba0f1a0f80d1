//! `--protoset-out`: the files a command resolved, with every file they
//! import, written as a FileDescriptorSet in dependency order (each file
//! after its imports), as `protoc --include_imports` writes it.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use prost_reflect::{DescriptorPool, FileDescriptor};

/// Writes the closure of `roots` (file names in `pool`) to `path`.
pub fn write(pool: &DescriptorPool, roots: &[String], path: &Path) -> Result<()> {
    let order = with_imports(pool, roots.iter().map(String::as_str));
    // Each file is copied as it was encoded, so custom options survive; the
    // set is `repeated FileDescriptorProto file = 1`, written by hand.
    let mut out = Vec::new();
    for file in &order {
        let bytes = super::editions::original(file).unwrap_or_else(|| file.encode_to_vec());
        prost::encoding::bytes::encode(1, &bytes, &mut out);
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// The files named `roots` and every file they import, each once, imports
/// first: a depth-first post-order, imports in declaration order, as
/// `protoc` writes them.
pub(super) fn with_imports<'a>(
    pool: &'a DescriptorPool,
    roots: impl IntoIterator<Item = &'a str>,
) -> Vec<FileDescriptor> {
    let imports: HashMap<&str, &[String]> = pool
        .file_descriptor_protos()
        .map(|file| (file.name(), &file.dependency[..]))
        .collect();
    let imports_of = |file: &str| imports.get(file).copied().unwrap_or_default();
    // A pool holds no import cycle.
    let order = super::graph::dependency_order(roots, imports_of).unwrap_or_default();
    order
        .into_iter()
        .filter_map(|name| pool.get_file_by_name(name))
        .collect()
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
