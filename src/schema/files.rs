//! The offline backends: .proto files compiled at run time by protox, and
//! binary FileDescriptorSets (protosets).
//!
//! The fast path (`fastload`) builds the pool; only when it fails does
//! protox's compiler run again, with source info, for a diagnostic that
//! quotes the offending line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use prost::Message as _;
use prost_reflect::DescriptorPool;
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

use super::diagnostic;
use super::third_party::ThirdPartyResolver;
use crate::cli::SchemaArgs;
use crate::error::hinted;

/// Builds one pool from every `--protoset` and `--proto` given.
pub fn load(args: &SchemaArgs, source_info: bool) -> Result<DescriptorPool> {
    let mut pool = if args.protos.is_empty() {
        DescriptorPool::new()
    } else {
        compile(&args.protos, &args.import_paths, source_info)?
    };
    for path in &args.protosets {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read protoset {}", path.display()))?;
        add_protoset(&mut pool, &bytes)
            .with_context(|| format!("{} is not a valid FileDescriptorSet", path.display()))?;
    }
    Ok(pool)
}

/// Decodes a protoset and adds its files to `pool`, checked first (see
/// `validate`): no bytes make this panic.
pub(super) fn add_protoset(pool: &mut DescriptorPool, bytes: &[u8]) -> Result<()> {
    let set = prost_types::FileDescriptorSet::decode(bytes)?;
    super::validate::files(&set.file, Some(pool))?;
    // Added from the bytes, not from `set` (prost-reflect's own decoding
    // keeps custom options, which prost_types drops), with editions files
    // lowered to proto2/proto3 on the way in.
    super::editions::decode_set(pool, bytes)
}

/// Compiles .proto files. Each `--proto` is resolved as protoc does (see
/// [`resolve`]); a directory brings every .proto under it. A file outside
/// every import root gets its own directory as a root; `google/protobuf/*.proto`
/// and the bundled third-party files come built in, after the roots.
fn compile(
    files: &[PathBuf],
    import_paths: &[PathBuf],
    source_info: bool,
) -> Result<DescriptorPool> {
    let mut roots: Vec<PathBuf> = import_paths.to_vec();
    let mut names: Vec<PathBuf> = Vec::with_capacity(files.len());
    for file in files {
        for name in resolve(file, import_paths, &mut roots)? {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let wanted: Vec<String> = names
        .iter()
        .map(|n| n.to_string_lossy().replace('\\', "/"))
        .collect();
    if let Some(pool) = super::fastload::load(&wanted, &roots, &built_in(), source_info) {
        return Ok(pool);
    }
    // Something is wrong with the files: protox's compiler says what.
    let mut resolver = ChainFileResolver::new();
    for root in &roots {
        resolver.add(IncludeFileResolver::new(root.clone()));
    }
    resolver.add(built_in());
    let mut compiler = protox::Compiler::with_file_resolver(super::editions::Resolver(resolver));
    compiler.include_imports(true).include_source_info(true);
    for name in &names {
        compiler
            .open_file(name)
            .map_err(|err| diagnostic::compile_error(&err, &roots))?;
    }
    Ok(compiler.descriptor_pool())
}

/// The files every schema can import: google/protobuf, then the bundled
/// google/api, google/rpc and google/type.
fn built_in() -> ChainFileResolver {
    let mut resolver = ChainFileResolver::new();
    resolver.add(WellKnown);
    resolver.add(ThirdPartyResolver);
    resolver
}

/// protox's resolver of google/protobuf, built only when a schema imports
/// one of those files: it copies prost-reflect's costly global pool of the
/// well-known types (README.md, Performance).
struct WellKnown;

impl FileResolver for WellKnown {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if !name.starts_with("google/protobuf/") {
            return Err(protox::Error::file_not_found(name));
        }
        GoogleFileResolver::new().open_file(name)
    }
}

/// The names (relative to a root of `roots`) that one `--proto` argument
/// stands for, as protoc resolves them:
/// - a directory: every .proto under it, recursively, sorted, with the
///   directory itself as an import root (after the `-I` roots);
/// - a path that exists: its name under the first root that holds it, or,
///   outside every root, its file name with its directory as a new root;
/// - otherwise a name looked up in each `-I` root, in order.
fn resolve(arg: &Path, import_paths: &[PathBuf], roots: &mut Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    if arg.is_dir() {
        if !roots.iter().any(|r| r == arg) {
            roots.push(arg.to_path_buf());
        }
        let found = protos_under(arg)?;
        if found.is_empty() {
            return Err(anyhow!("{} holds no .proto files", arg.display()));
        }
        return found
            .iter()
            .map(|file| {
                roots
                    .iter()
                    .find_map(|root| name_under(file, root))
                    .with_context(|| format!("{} is not under {}", file.display(), arg.display()))
            })
            .collect();
    }
    if arg.is_file() {
        if let Some(name) = roots.iter().find_map(|root| name_under(arg, root)) {
            return Ok(vec![name]);
        }
        let dir = match arg.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        roots.push(dir);
        let name = arg.file_name().context("a --proto path has no file name")?;
        return Ok(vec![PathBuf::from(name)]);
    }
    if arg.is_relative() && import_paths.iter().any(|root| root.join(arg).is_file()) {
        return Ok(vec![arg.to_path_buf()]);
    }
    if import_paths.is_empty() {
        return Err(hinted(
            format!("cannot read {}: no such file", arg.display()),
            "to name a file relative to an import root, pass the root with -I",
        ));
    }
    let searched: Vec<String> = import_paths
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    Err(anyhow!(
        "cannot find {}: no such file, nor under any import root (searched {})",
        arg.display(),
        searched.join(", ")
    ))
}

/// The file's name relative to `root`, when it lies under it.
fn name_under(file: &Path, root: &Path) -> Option<PathBuf> {
    if let Ok(rest) = file.strip_prefix(root) {
        return Some(rest.to_path_buf());
    }
    let file = file.canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    file.strip_prefix(root).ok().map(Path::to_path_buf)
}

/// Every .proto file under `dir`, recursively, sorted by path. Symbolic
/// links to directories are not followed (a link cycle must not loop).
fn protos_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    let cannot_read = |path: &Path| format!("cannot read {}", path.display());
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| cannot_read(&dir))? {
            let entry = entry.with_context(|| cannot_read(&dir))?;
            let path = entry.path();
            let kind = entry.file_type().with_context(|| cannot_read(&path))?;
            if kind.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") && path.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
