//! The fast path for loading .proto files: parse every file in parallel,
//! then build the descriptor pool once.
//!
//! protox compiles a file at a time and adds each to its pool as it goes,
//! and every addition copies the pool built so far: on a tree of hundreds of
//! files most of the time goes to copying. Here the import closure is found
//! first (a cheap scan of `import` lines, checked against the parsed files
//! afterwards), the files are parsed on every core with protox-parse, and
//! prost-reflect resolves and checks them all in one batch — the same
//! resolution protox itself delegates to prost-reflect.
//!
//! Anything unusual (a parse error, a missing import, a resolution error)
//! returns `None`: the caller then runs protox's compiler, which gives the
//! detailed diagnostic. Errors are rare; paying twice for them is fine.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;

use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorProto;
use protox::file::FileResolver;

/// A file found on disk, waiting to be parsed.
struct Source {
    name: String,
    text: String,
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
    let mut sources: Vec<Source> = Vec::new();
    let mut parsed: Vec<FileDescriptorProto> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = names.iter().cloned().collect();
    loop {
        // Find the closure by scanning imports, reading each file once.
        while let Some(name) = queue.pop_front() {
            if !seen.insert(name.clone()) {
                continue;
            }
            match read(&name, roots) {
                Some(text) => {
                    queue.extend(scan_imports(&text));
                    sources.push(Source { name, text });
                }
                None => {
                    let file = fallback.open_file(&name).ok()?;
                    let proto: FileDescriptorProto = file.into();
                    queue.extend(proto.dependency.iter().cloned());
                    parsed.push(proto);
                }
            }
        }
        parsed.extend(parse_all(std::mem::take(&mut sources), source_info)?);
        // The scan is a shortcut; the parsed files say what they import.
        let missing: Vec<String> = parsed
            .iter()
            .flat_map(|f| f.dependency.iter())
            .filter(|dep| !seen.contains(*dep))
            .cloned()
            .collect();
        if missing.is_empty() {
            break;
        }
        queue.extend(missing);
    }
    let mut pool = DescriptorPool::new();
    pool.add_file_descriptor_protos(parsed).ok()?;
    Some(pool)
}

/// The text of `name` under the first root that has it.
fn read(name: &str, roots: &[PathBuf]) -> Option<String> {
    roots
        .iter()
        .find_map(|root| std::fs::read_to_string(root.join(name)).ok())
}

/// Parses the sources on every core.
fn parse_all(sources: Vec<Source>, source_info: bool) -> Option<Vec<FileDescriptorProto>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sources.len().max(1));
    let parse = |source: &Source| -> Option<FileDescriptorProto> {
        let mut file = protox_parse::parse(&source.name, &source.text).ok()?;
        if !source_info {
            file.source_code_info = None;
        }
        Some(file)
    };
    if threads <= 1 {
        return sources.iter().map(parse).collect();
    }
    // Interleave the files across threads so that large and small files
    // spread evenly.
    let results: Vec<Option<Vec<FileDescriptorProto>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let sources = &sources;
                scope.spawn(move || sources.iter().skip(t).step_by(threads).map(parse).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut files = Vec::with_capacity(sources.len());
    for part in results {
        files.extend(part?);
    }
    Some(files)
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

/// Files by name with their message counts, for tests.
#[cfg(test)]
fn names(pool: &DescriptorPool) -> std::collections::HashMap<String, usize> {
    pool.files()
        .map(|f| {
            (
                f.name().to_string(),
                f.file_descriptor_proto().message_type.len(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        std::fs::write(root.join("bad.proto"), "syntax = \"proto3\"; message {").unwrap();
        std::fs::write(
            root.join("missing.proto"),
            "syntax = \"proto3\"; import \"nope.proto\";",
        )
        .unwrap();
        std::fs::write(
            root.join("unresolved.proto"),
            "syntax = \"proto3\"; message A { B b = 1; }",
        )
        .unwrap();
        let google = protox::file::GoogleFileResolver::new();
        for name in ["bad.proto", "missing.proto", "unresolved.proto"] {
            assert!(
                load(
                    &[name.to_string()],
                    std::slice::from_ref(&root),
                    &google,
                    false
                )
                .is_none(),
                "{name}"
            );
        }
    }
}
