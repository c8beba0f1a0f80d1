//! `--protoset-out`: the files a command resolved, with every file they
//! import, written as a FileDescriptorSet in dependency order (each file
//! after its imports), as `protoc --include_imports` writes it.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};
use prost_reflect::{DescriptorPool, FileDescriptor};

/// Writes the closure of `roots` (file names in `pool`) to `path`.
pub fn write(pool: &DescriptorPool, roots: &[String], path: &Path) -> Result<()> {
    let order = with_imports(roots.iter().filter_map(|root| pool.get_file_by_name(root)));
    // Each file is copied as it was encoded, so custom options survive; the
    // set is `repeated FileDescriptorProto file = 1`, written by hand.
    let mut out = Vec::new();
    for file in &order {
        let bytes = super::editions::original(file).unwrap_or_else(|| file.encode_to_vec());
        prost::encoding::bytes::encode(1, &bytes, &mut out);
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// The `roots` and every file they import, each once, imports first (a
/// depth-first post-order, imports in declaration order, as `protoc`
/// writes them). A loop, not recursion: deep import chains must not
/// overflow the stack.
pub(super) fn with_imports(roots: impl IntoIterator<Item = FileDescriptor>) -> Vec<FileDescriptor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Pushed in reverse, so that the first is popped first.
    let mut stack: Vec<(FileDescriptor, bool)> = roots.into_iter().map(|f| (f, false)).collect();
    stack.reverse();
    while let Some((file, expanded)) = stack.pop() {
        if expanded {
            order.push(file);
            continue;
        }
        if !seen.insert(file.name().to_string()) {
            continue;
        }
        stack.push((file.clone(), true));
        let first = stack.len();
        for dep in file.dependencies() {
            if !seen.contains(dep.name()) {
                stack.push((dep, false));
            }
        }
        stack[first..].reverse();
    }
    order
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
