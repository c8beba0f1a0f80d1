//! The offline backends: .proto files compiled at run time by protox, and
//! binary FileDescriptorSets (protosets).
//!
//! The fast path (`fastload`) builds the pool; only when it fails does
//! protox's compiler run again, with source info, for a diagnostic that
//! quotes the offending line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use prost_reflect::DescriptorPool;
use protox::file::{ChainFileResolver, GoogleFileResolver, IncludeFileResolver};

use super::diagnostic;
use super::third_party::ThirdPartyResolver;
use crate::cli::SchemaArgs;

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
        super::editions::decode_set(&mut pool, &bytes)
            .with_context(|| format!("{} is not a valid FileDescriptorSet", path.display()))?;
    }
    Ok(pool)
}

/// Compiles .proto files. A file outside every import root gets its own
/// directory as a root; `google/protobuf/*.proto` and the bundled
/// third-party files come built in, after the roots.
fn compile(
    files: &[PathBuf],
    import_paths: &[PathBuf],
    source_info: bool,
) -> Result<DescriptorPool> {
    let mut roots: Vec<PathBuf> = import_paths.to_vec();
    let mut names = Vec::with_capacity(files.len());
    for file in files {
        if !file.is_file() {
            return Err(anyhow!("cannot read {}: no such file", file.display()));
        }
        let name = match roots.iter().find_map(|root| name_under(file, root)) {
            Some(name) => name,
            None => {
                let dir = match file.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                roots.push(dir);
                PathBuf::from(
                    file.file_name()
                        .context("a --proto path has no file name")?,
                )
            }
        };
        names.push(name);
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
    resolver.add(GoogleFileResolver::new());
    resolver.add(ThirdPartyResolver);
    resolver
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
