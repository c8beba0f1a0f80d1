//! The fast path for loading .proto files: parse on one core while the
//! other builds the descriptor pool, in dependency order, a batch at a time.
//!
//! protox compiles a file at a time and adds each to its pool as it goes,
//! and every addition copies the pool built so far: on a tree of hundreds of
//! files most of the time goes to copying. Here the import graph is found
//! first (a cheap scan of `import` lines), the files are parsed by
//! protox-parse on a second thread in dependency order, and prost-reflect
//! resolves and checks them in batches — the same resolution protox itself
//! delegates to prost-reflect. Parsed files live only until their batch is
//! added, so peak memory is the pool plus a few batches, not the pool plus
//! every parsed file.
//!
//! Anything unusual (a parse error, a missing import, an import the scan
//! missed, a resolution error) returns `None`: the caller then runs protox's
//! compiler, which gives the detailed diagnostic. Errors are rare; paying
//! twice for them is fine.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc;

use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorProto;
use protox::file::FileResolver;

/// Files added to the pool per call: large enough that the per-call work
/// is noise, small enough that few parsed files wait in memory.
const BATCH: usize = 16;

/// Up to this many files are parsed on the calling thread.
const INLINE: usize = 8;

/// A file of the closure, before parsing.
enum Pending {
    /// Read from an import root: parsed on the parser thread.
    Source(String),
    /// A bundled file, already parsed by its resolver.
    Parsed(Box<FileDescriptorProto>),
}

/// Loads `names` (file names relative to `roots`) and everything they
/// import. Files not under any root come from `fallback` (google/protobuf
/// and other bundled files). `None` means "use protox for the diagnostic".
pub fn load(
    names: &[String],
    roots: &[PathBuf],
    fallback: &dyn FileResolver,
    source_info: bool,
) -> Option<DescriptorPool> {
    let (mut files, imports) = closure(names, roots, fallback)?;
    let imports_of = |f: &str| imports.get(f).map_or(&[][..], Vec::as_slice);
    let order =
        super::graph::dependency_order(names.iter().map(String::as_str), imports_of).ok()?;
    let mut queue: Vec<(String, Pending)> = order
        .into_iter()
        .map(|name| {
            let pending = files.remove(name).expect("every ordered file was read");
            (name.to_string(), pending)
        })
        .collect();
    // A few files parse in less time than a thread takes to start.
    if queue.len() <= INLINE {
        let parsed = queue
            .drain(..)
            .map(|(name, pending)| parse(&name, pending, source_info))
            .collect::<Option<Vec<_>>>()?;
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_protos(parsed).ok()?;
        return Some(pool);
    }
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Option<FileDescriptorProto>>(BATCH * 2);
        scope.spawn(move || {
            for (name, pending) in queue.drain(..) {
                let parsed = parse(&name, pending, source_info);
                let failed = parsed.is_none();
                if tx.send(parsed).is_err() || failed {
                    return;
                }
            }
        });
        let mut pool = DescriptorPool::new();
        let mut batch = Vec::with_capacity(BATCH);
        for parsed in rx {
            batch.push(parsed?);
            if batch.len() == BATCH {
                pool.add_file_descriptor_protos(batch.drain(..)).ok()?;
            }
        }
        pool.add_file_descriptor_protos(batch).ok()?;
        Some(pool)
    })
}

/// One file of the closure as a descriptor; `None` when it does not parse
/// (or its edition cannot be lowered).
fn parse(name: &str, pending: Pending, source_info: bool) -> Option<FileDescriptorProto> {
    match pending {
        Pending::Parsed(file) => Some(*file),
        Pending::Source(text) => {
            let (mut file, edition) = protox_parse::parse_with_edition(name, &text).ok()?;
            if !source_info {
                file.source_code_info = None;
            }
            match edition {
                Some(edition) => super::editions::lower_parsed(file, edition).ok(),
                None => Some(file),
            }
        }
    }
}

/// Reads every file the names import, transitively, by scanning their
/// `import` lines: the files, and each file's imports.
#[allow(clippy::type_complexity)]
fn closure(
    names: &[String],
    roots: &[PathBuf],
    fallback: &dyn FileResolver,
) -> Option<(HashMap<String, Pending>, HashMap<String, Vec<String>>)> {
    let mut files = HashMap::new();
    let mut imports = HashMap::new();
    let mut queue: VecDeque<String> = names.iter().cloned().collect();
    while let Some(name) = queue.pop_front() {
        if files.contains_key(&name) {
            continue;
        }
        let (deps, pending) = match read(&name, roots) {
            Some(text) => (scan_imports(&text), Pending::Source(text)),
            None => {
                let file: FileDescriptorProto = fallback.open_file(&name).ok()?.into();
                (file.dependency.clone(), Pending::Parsed(Box::new(file)))
            }
        };
        queue.extend(deps.iter().cloned());
        imports.insert(name.clone(), deps);
        files.insert(name, pending);
    }
    Some((files, imports))
}

/// The text of `name` under the first root that has it.
fn read(name: &str, roots: &[PathBuf]) -> Option<String> {
    roots
        .iter()
        .find_map(|root| std::fs::read_to_string(root.join(name)).ok())
}

/// The files a .proto source imports, found without parsing it: `import`
/// statements outside comments and strings. A miss only costs another round;
/// a false find fails the load and falls back to protox.
fn scan_imports(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    let mut at_statement_start = true;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                at_statement_start = false;
            }
            b';' | b'{' | b'}' => {
                at_statement_start = true;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ if at_statement_start
                && bytes[i..].starts_with(b"import")
                && bytes
                    .get(i + 6)
                    .is_some_and(|c| c.is_ascii_whitespace() || *c == b'"' || *c == b'\'') =>
            {
                i += "import".len();
                // `import [public|weak] "name";`
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\'' && bytes[i] != b';' {
                    i += 1;
                }
                if i < bytes.len() && bytes[i] != b';' {
                    let end = skip_string(bytes, i);
                    if let Some(name) = text.get(i + 1..end.saturating_sub(1)) {
                        found.push(name.to_string());
                    }
                    i = end;
                }
                at_statement_start = false;
            }
            _ => {
                at_statement_start = false;
                i += 1;
            }
        }
    }
    found
}

/// The index just past the string literal that starts at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote {
        if bytes[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files by name with their message counts.
    fn names(pool: &DescriptorPool) -> HashMap<String, usize> {
        pool.files()
            .map(|f| {
                (
                    f.name().to_string(),
                    f.file_descriptor_proto().message_type.len(),
                )
            })
            .collect()
    }

    #[test]
    fn imports_are_found_outside_comments_and_strings() {
        let text = r#"
            syntax = "proto3";
            message imported { string import = 1; }
            // import "commented.proto";
            /* import "block.proto"; */
            import "a/b.proto";
            import public "c.proto";
            option go_package = "import \"x.proto\";";
            import weak 'd.proto';
        "#;
        assert_eq!(scan_imports(text), ["a/b.proto", "c.proto", "d.proto"]);
    }

    #[test]
    fn loads_the_repo_schema_like_protox() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
        let names_in = [
            "grpcx/test/v1/everything.proto".to_string(),
            "helloworld.proto".to_string(),
        ];
        let google = protox::file::GoogleFileResolver::new();
        let fast = load(&names_in, std::slice::from_ref(&root), &google, false).expect("loads");
        let slow = protox::Compiler::new([&root])
            .unwrap()
            .open_files(&names_in)
            .unwrap()
            .descriptor_pool();
        assert_eq!(names(&fast), names(&slow));
        let message = fast
            .get_message_by_name("grpcx.test.v1.Everything")
            .unwrap();
        assert_eq!(
            message
                .get_field_by_name("w_any")
                .unwrap()
                .kind()
                .as_message()
                .unwrap()
                .full_name(),
            "google.protobuf.Any"
        );
    }

    #[test]
    fn problems_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let google = protox::file::GoogleFileResolver::new();
        for (name, text) in [
            ("bad.proto", "syntax = \"proto3\"; message {"),
            (
                "missing.proto",
                "syntax = \"proto3\"; import \"nope.proto\";",
            ),
            (
                "unresolved.proto",
                "syntax = \"proto3\"; message A { B b = 1; }",
            ),
        ] {
            std::fs::write(root.join(name), text).unwrap();
            let names = [name.to_string()];
            let loaded = load(&names, std::slice::from_ref(&root), &google, false);
            assert!(loaded.is_none(), "{name}");
        }
    }
}
