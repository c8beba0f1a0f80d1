//! The descriptor source: one `Schema` over three backends — .proto files,
//! protosets, and the server's reflection service.
//!
//! The offline backends load everything up front. Reflection fetches lazily:
//! only the files a lookup needs, with their imports, added to one pool.

mod any;
pub mod cache;
mod diagnostic;
pub mod editions;
mod export;
mod extensions;
mod fastload;
mod files;
mod graph;
mod imports;
mod reflection;
#[cfg(test)]
mod roundtrip;
mod symbol;
mod third_party;
mod validate;
mod warm;

use std::path::Path;

use crate::protocol::Channel;
use anyhow::{Result, anyhow};
use prost_reflect::{DescriptorPool, MethodDescriptor, ServiceDescriptor};
use tonic::metadata::MetadataMap;

pub use any::{may_contain_any, types_in_input, types_in_message};
pub use imports::Unresolved;
pub use reflection::Reflection;
pub use symbol::Symbol;
pub use warm::{CacheSlot, Resolved, resolve, resolve_settled};

use crate::cli::SchemaArgs;
use crate::error::hinted;

/// The largest message grpcx accepts by default (responses and reflection).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// Descriptors, and where to get more of them.
pub struct Schema {
    pool: DescriptorPool,
    reflection: Option<Reflection>,
    /// The files of everything resolved so far, for `--protoset-out`.
    used: Vec<String>,
    /// How many of `used` the last protoset written held.
    written: usize,
}

impl Schema {
    /// Loads from `--proto`/`--protoset` when given; otherwise uses reflection
    /// over `channel`. `source_info` keeps comments (only `describe` prints them).
    pub fn load(
        args: &SchemaArgs,
        channel: Option<&Channel>,
        metadata: &MetadataMap,
        source_info: bool,
    ) -> Result<Schema> {
        let (pool, reflection) = if args.is_offline() {
            (files::load(args, source_info)?, None)
        } else {
            let channel = channel.ok_or_else(|| {
                hinted(
                    "no schema: give a server to ask by reflection",
                    "or pass --proto or --protoset to work offline",
                )
            })?;
            let reflection =
                Reflection::new(channel.clone(), metadata.clone(), DEFAULT_MAX_MESSAGE_SIZE);
            (DescriptorPool::new(), Some(reflection))
        };
        Ok(Schema {
            pool,
            reflection,
            used: Vec::new(),
            written: 0,
        })
    }

    /// Sets the largest reflection response accepted (`--max-msg-size`).
    pub fn with_max_message_size(mut self, size: usize) -> Schema {
        if let Some(reflection) = &mut self.reflection {
            reflection.max_message_size = size;
        }
        self
    }

    /// Every descriptor resolved so far.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The full names of every service, sorted.
    pub async fn service_names(&mut self) -> Result<Vec<String>> {
        let mut names: Vec<String> = match &mut self.reflection {
            Some(reflection) => reflection.list_services().await?,
            None => self
                .pool
                .services()
                .map(|s| s.full_name().to_string())
                .collect(),
        };
        // grpc-js lists package-less services as `.Hello`.
        for name in names.iter_mut().filter(|n| n.starts_with('.')) {
            name.remove(0);
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Makes sure the symbol (a service or message name) is in the pool,
    /// fetching it by reflection when needed. False when nobody knows it.
    pub async fn fetch_symbol(&mut self, symbol: &str) -> Result<bool> {
        if self.knows(symbol) {
            return Ok(true);
        }
        let Some(reflection) = &mut self.reflection else {
            return Ok(false);
        };
        let pool = &self.pool;
        let known = |name: &str| pool.get_file_by_name(name).is_some();
        let Some(files) = imports::fetch(reflection, symbol, &known).await? else {
            return Ok(false);
        };
        self.add_files(files)
            .await
            .map_err(|err| anyhow!("reflection sent an invalid schema for {symbol}: {err}"))?;
        Ok(self.knows(symbol))
    }

    /// Makes sure each symbol is in the pool, asking the server for all of
    /// them at once. Says which ones are known afterwards.
    pub async fn fetch_symbols(&mut self, symbols: &[String]) -> Result<Vec<bool>> {
        let mut wanted: Vec<String> = symbols
            .iter()
            .filter(|symbol| !self.knows(symbol))
            .cloned()
            .collect();
        // grpc-js knows package-less names only as `.Name`: both spellings
        // go in the same round.
        let dotted: Vec<String> = wanted
            .iter()
            .filter_map(|symbol| imports::package_less_spelling(symbol))
            .collect();
        wanted.extend(dotted);
        if let Some(reflection) = &mut self.reflection
            && !wanted.is_empty()
        {
            let pool = &self.pool;
            let known = |name: &str| pool.get_file_by_name(name).is_some();
            let (_, files) = reflection.files_containing_symbols(&wanted, &known).await?;
            self.add_files(files)
                .await
                .map_err(|err| anyhow!("reflection sent an invalid schema: {err}"))?;
        }
        Ok(symbols.iter().map(|symbol| self.knows(symbol)).collect())
    }

    /// Adds files fetched by reflection to the pool: the one place where
    /// what a server sent becomes descriptors (a repair or a lowering of
    /// what the server sent belongs here). Files the pool holds are skipped.
    async fn add_files(&mut self, files: Vec<prost_types::FileDescriptorProto>) -> Result<()> {
        let files: Vec<_> = files
            .into_iter()
            .filter(|file| self.pool.get_file_by_name(file.name()).is_none())
            .collect();
        if files.is_empty() {
            return Ok(());
        }
        // grpc-js sends files without their imports: add them (imports.rs).
        let files = match &mut self.reflection {
            Some(reflection) => imports::repair(files, &self.pool, reflection).await?,
            None => files,
        };
        validate::files(&files, Some(&self.pool))
            .and_then(|()| validate::ready_for_pool(&files))?;
        self.pool.add_file_descriptor_protos(files)?;
        Ok(())
    }

    /// Fetches every named message type the pool lacks (for Any). True when
    /// the pool grew, so descriptors taken from it before are stale.
    pub async fn fetch_types(&mut self, names: &[String]) -> Result<bool> {
        let mut grew = false;
        for name in names {
            if !self.knows(name) {
                if !self.fetch_symbol(name).await? {
                    return Err(anyhow!(
                        "type '{name}' (named by an Any's @type) is not in the schema"
                    ));
                }
                grew = true;
            }
            if let Some(message) = self.pool.get_message_by_name(name) {
                self.record(message.parent_file().name());
            }
        }
        Ok(grew)
    }

    /// Notes a file whose definitions the command used.
    fn record(&mut self, file: &str) {
        if !self.used.iter().any(|f| f == file) {
            self.used.push(file.to_string());
        }
    }

    /// Writes every file used so far, with its imports, as a protoset.
    pub fn write_protoset(&mut self, path: &Path) -> Result<()> {
        export::write(&self.pool, &self.used, path)?;
        self.written = self.used.len();
        Ok(())
    }

    /// True when files were used since the last protoset was written.
    pub fn used_grew(&self) -> bool {
        self.used.len() > self.written
    }

    /// Finds a symbol of any kind, or fails naming it with the closest
    /// names. By reflection, a member (method, field, enum value) is found
    /// by asking for the service, message or enum that holds it.
    pub async fn symbol(&mut self, name: &str) -> Result<Symbol> {
        let name = symbol::normalize(name);
        if symbol::find(&self.pool, &name).is_none() && self.reflection.is_some() {
            // The name and the scope that would hold it as a member, asked
            // for together: one round trip either way.
            let mut wanted = vec![name.clone()];
            wanted.extend(symbol::parent_scope(&name).map(str::to_string));
            self.fetch_symbols(&wanted).await?;
        }
        if let Some(found) = symbol::find(&self.pool, &name) {
            let found = self.with_extensions(found).await?;
            self.record(found.file().name());
            return Ok(found);
        }
        // Learn every service's file: an enum value in package scope has no
        // container to ask for, and the suggestions can then name messages
        // and methods the server has but we did not fetch.
        if self.reflection.is_some() {
            let services = self.service_names().await?;
            self.fetch_services(&services).await?;
            if let Some(found) = symbol::find(&self.pool, &name) {
                self.record(found.file().name());
                return Ok(found);
            }
        }
        let message = format!("symbol '{name}' not found");
        Err(not_found(message, &name, &symbol::names(&self.pool), ""))
    }

    fn knows(&self, symbol: &str) -> bool {
        self.pool.get_service_by_name(symbol).is_some()
            || self.pool.get_message_by_name(symbol).is_some()
            || self.pool.get_enum_by_name(symbol).is_some()
    }

    /// Finds a service, or fails naming it with the closest names.
    pub async fn service(&mut self, name: &str) -> Result<ServiceDescriptor> {
        self.find_service(name, None).await
    }

    /// Finds a service. When it is missing, the error suggests the closest
    /// name, or, for a name given without its package, the full name (with
    /// `method` when a method was asked for).
    async fn find_service(
        &mut self,
        name: &str,
        method: Option<&str>,
    ) -> Result<ServiceDescriptor> {
        if self.fetch_symbol(name).await?
            && let Some(service) = self.pool.get_service_by_name(name)
        {
            self.record(service.parent_file().name());
            return Ok(service);
        }
        let names = self.service_names().await?;
        let suffix = format!(".{name}");
        let message = format!("service '{name}' not found");
        if let Some(full) = names.iter().find(|n| n.ends_with(&suffix)) {
            let method = method.map_or(String::new(), |method| format!("/{method}"));
            return Err(hinted(message, format!("did you mean {full}{method}?")));
        }
        Err(not_found(message, name, &names, ""))
    }

    /// Finds a method, or fails naming what is missing with the closest names.
    pub async fn method(&mut self, name: &MethodName) -> Result<MethodDescriptor> {
        let service = self.find_service(&name.service, Some(&name.method)).await?;
        if let Some(method) = service.methods().find(|m| m.name() == name.method) {
            let types = [method.input(), method.output()];
            if self.fetch_extensions(&types).await? {
                // `method` as the grown pool has it.
                return self
                    .pool
                    .get_service_by_name(method.parent_service().full_name())
                    .and_then(|s| s.methods().find(|m| m.name() == method.name()))
                    .ok_or_else(|| anyhow!("{} vanished from the schema", method.full_name()));
            }
            return Ok(method);
        }
        let methods: Vec<String> = service.methods().map(|m| m.name().to_string()).collect();
        let service = service.full_name();
        Err(not_found(
            format!("method '{}' not found in service {service}", name.method),
            &name.method,
            &methods,
            &format!("{service}/"),
        ))
    }
}

/// The error `message` for a name that was not found, with a "did you
/// mean" hint when a close name exists (each name shown after `prefix`).
fn not_found(message: String, wanted: &str, candidates: &[String], prefix: &str) -> anyhow::Error {
    match closest(wanted, candidates) {
        Some(best) => hinted(message, format!("did you mean {prefix}{best}?")),
        None if !candidates.is_empty() && candidates.len() <= 8 => {
            let all: Vec<String> = candidates.iter().map(|c| format!("{prefix}{c}")).collect();
            hinted(message, format!("available: {}", all.join(", ")))
        }
        None => anyhow!(message),
    }
}

/// The kind of a method, as `list --long`, the web UI and the mock name it:
/// `unary`, `server-streaming`, `client-streaming` or `bidi-streaming`.
pub fn method_kind(method: &MethodDescriptor) -> &'static str {
    match (method.is_client_streaming(), method.is_server_streaming()) {
        (false, false) => "unary",
        (false, true) => "server-streaming",
        (true, false) => "client-streaming",
        (true, true) => "bidi-streaming",
    }
}

/// The candidate nearest to `wanted`, if it is near enough to be a typo.
pub fn closest<'a>(wanted: &str, candidates: &'a [String]) -> Option<&'a str> {
    let wanted_lower = wanted.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let lower = c.to_ascii_lowercase();
            let mut score = strsim::normalized_damerau_levenshtein(&wanted_lower, &lower);
            if lower.ends_with(&wanted_lower) || wanted_lower.ends_with(&lower) {
                score = score.max(0.8);
            }
            (score, c.as_str())
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A method as the user names it: `pkg.Service/Method`, `pkg.Service.Method`,
/// or `/pkg.Service/Method`. Services may have no package: `Hello/Hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodName {
    pub service: String,
    pub method: String,
}

impl MethodName {
    pub fn parse(text: &str) -> Result<MethodName> {
        let trimmed = text.trim().trim_start_matches('/');
        let split = trimmed
            .rsplit_once('/')
            .or_else(|| trimmed.rsplit_once('.'));
        let bad = || {
            anyhow!(
                "invalid method '{text}': expected package.Service/Method or package.Service.Method"
            )
        };
        let (service, method) = split.ok_or_else(bad)?;
        let ident = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|part| {
                    !part.is_empty()
                        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !part.starts_with(|c: char| c.is_ascii_digit())
                })
        };
        if !ident(service) || !ident(method) || method.contains('.') {
            return Err(bad());
        }
        Ok(MethodName {
            service: service.to_string(),
            method: method.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> (String, String) {
        let name = MethodName::parse(text).unwrap();
        (name.service, name.method)
    }

    #[test]
    fn method_names_in_every_spelling() {
        let want = ("helloworld.Greeter".to_string(), "SayHello".to_string());
        assert_eq!(m("helloworld.Greeter/SayHello"), want);
        assert_eq!(m("helloworld.Greeter.SayHello"), want);
        assert_eq!(m("/helloworld.Greeter/SayHello"), want);
        assert_eq!(m("Hello/Hello"), ("Hello".into(), "Hello".into()));
        assert_eq!(m("Hello.Hello"), ("Hello".into(), "Hello".into()));
        assert_eq!(m("greet/hello"), ("greet".into(), "hello".into()));
    }

    #[test]
    fn malformed_method_names_are_errors() {
        for bad in [
            "", "Greeter", "a/", "/b", "a..b/c", "a/b.c", "a b/c", "1a/b", "a/b/",
        ] {
            assert!(MethodName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn closest_finds_typos_and_suffixes() {
        let names = vec![
            "helloworld.Greeter".to_string(),
            "grpc.health.v1.Health".to_string(),
        ];
        assert_eq!(
            closest("helloworld.Greter", &names),
            Some("helloworld.Greeter")
        );
        assert_eq!(closest("Greeter", &names), Some("helloworld.Greeter"));
        assert_eq!(closest("zzz", &names), None);
    }

    proptest::proptest! {
        /// Any text is a method name or an error; a name read back from
        /// its HTTP/2 path (`/pkg.Service/Method`) is the same name.
        #[test]
        fn any_text_is_a_method_name_or_an_error(text in "\\PC{0,40}|[a-zA-Z0-9_./]{0,20}") {
            if let Ok(name) = MethodName::parse(&text) {
                let path = format!("/{}/{}", name.service, name.method);
                proptest::prop_assert_eq!(MethodName::parse(&path).unwrap(), name);
            }
        }

        /// Valid names in either spelling parse to their parts.
        #[test]
        fn valid_names_parse(service in "[A-Za-z_][A-Za-z0-9_]{0,6}(\\.[A-Za-z_][A-Za-z0-9_]{0,6}){0,3}", method in "[A-Za-z_][A-Za-z0-9_]{0,8}", slash: bool) {
            let text = if slash { format!("{service}/{method}") } else { format!("{service}.{method}") };
            let name = MethodName::parse(&text).unwrap();
            proptest::prop_assert_eq!((name.service, name.method), (service, method));
        }
    }
}
