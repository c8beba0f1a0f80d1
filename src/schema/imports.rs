//! Repairs reflection answers whose files use names they do not import.
//!
//! `@grpc/reflection` (grpc-js) sends one file per package, the well-known
//! types merged into one `google_protobuf.proto`, and every dependency list
//! empty, with type names often relative (`Inner`, `google.protobuf.Any`).
//! prost-reflect then rejects the files (`name 'google.protobuf.Timestamp'
//! is not defined`), as grpcurl and buf curl do. Before the files go into the
//! pool, each type reference that does not resolve through the file's own
//! imports is looked up, as protoc scopes it, among the files the pool holds
//! and the ones the server sent; a name nobody holds is asked for by symbol.
//! The file that defines it is then added to the file's dependencies.
//!
//! Files from a server that declares its imports resolve as they are and are
//! left untouched.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use prost_reflect::DescriptorPool;
use prost_types::{DescriptorProto, FileDescriptorProto};

use super::Reflection;

/// How many rounds of fetching by symbol before giving up on a name.
const MAX_ROUNDS: usize = 8;

/// Adds the dependencies the reflected `files` leave out, fetching the files
/// that define names nobody has sent yet. `files` must hold none the pool
/// already holds (the caller drops those; the pool's copy may itself be
/// repaired). Names that stay unresolved are left for the pool to report.
pub async fn repair(
    mut files: Vec<FileDescriptorProto>,
    pool: &DescriptorPool,
    reflection: &mut Reflection,
) -> Result<Vec<FileDescriptorProto>> {
    let mut tried: HashSet<String> = HashSet::new();
    for _ in 0..MAX_ROUNDS {
        let unknown = Universe::new(pool, &files).unresolved(&files);
        let mut grew = false;
        for candidates in unknown {
            for name in candidates {
                if !tried.insert(name.clone()) {
                    continue;
                }
                let batch: HashSet<String> = files.iter().map(|f| f.name().to_string()).collect();
                let known =
                    |file: &str| pool.get_file_by_name(file).is_some() || batch.contains(file);
                let Some(found) = fetch(reflection, &name, &known).await? else {
                    continue;
                };
                let before = files.len();
                for file in found {
                    if !known(file.name()) && !files.iter().any(|f| f.name() == file.name()) {
                        files.push(file);
                    }
                }
                grew |= files.len() > before;
                break;
            }
        }
        if !grew {
            break;
        }
    }
    Universe::new(pool, &files).add_dependencies(&mut files);
    for file in &mut files {
        mark_proto3_optional(file);
    }
    Ok(files)
}

/// grpc-js sends proto3 `optional` fields inside their synthetic oneofs
/// (`_name`) without `proto3_optional`, so they would show as oneofs. A
/// proto3 file that marks no field so gets the mark back on each field that
/// is alone in a oneof named `_` + its name, the last oneofs, as protoc
/// orders them.
fn mark_proto3_optional(file: &mut FileDescriptorProto) {
    fn visit(message: &mut DescriptorProto) {
        let oneofs = message.oneof_decl.len();
        let mut synthetic = vec![false; oneofs];
        for (index, oneof) in message.oneof_decl.iter().enumerate() {
            let mut members = message
                .field
                .iter()
                .filter(|f| f.oneof_index == Some(index as i32));
            synthetic[index] = matches!(
                (members.next(), members.next()),
                (Some(only), None) if oneof.name() == format!("_{}", only.name())
            );
        }
        // Synthetic oneofs come after every real one.
        let first = synthetic.iter().position(|&s| s).unwrap_or(oneofs);
        if synthetic[first..].iter().all(|&s| s) {
            for field in &mut message.field {
                if field
                    .oneof_index
                    .is_some_and(|i| (first..oneofs).contains(&(i as usize)))
                {
                    field.proto3_optional = Some(true);
                }
            }
        }
        message.nested_type.iter_mut().for_each(visit);
    }
    fn marked(m: &DescriptorProto) -> bool {
        m.field.iter().any(|f| f.proto3_optional.is_some()) || m.nested_type.iter().any(marked)
    }
    if file.syntax() != "proto3" || file.message_type.iter().any(marked) {
        return;
    }
    file.message_type.iter_mut().for_each(visit);
}

/// A service the server lists whose schema does not build, and why.
pub struct Unresolved {
    pub service: String,
    pub error: anyhow::Error,
}

impl Unresolved {
    /// One warning line on stderr for each, before the rest is shown.
    pub fn warn(unresolved: &[Unresolved]) {
        for missing in unresolved {
            eprintln!(
                "grpcx: warning: {} does not resolve: {:#}",
                missing.service, missing.error
            );
        }
    }

    /// After the services that resolve (`shown` of them) were shown: the
    /// error that names the rest (exit 1), or none.
    pub fn outcome(unresolved: &[Unresolved], shown: usize) -> anyhow::Result<()> {
        if unresolved.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = unresolved.iter().map(|u| u.service.as_str()).collect();
        Err(anyhow::anyhow!(
            "{} of {} services did not resolve: {}",
            names.len(),
            names.len() + shown,
            names.join(", ")
        ))
    }
}

impl super::Schema {
    /// Every service that resolves, sorted by name, and the ones that do not
    /// (so `describe` shows what it can). A failure of the connection, or of
    /// every service, fails as a whole.
    pub async fn services_resolving(
        &mut self,
    ) -> Result<(Vec<prost_reflect::ServiceDescriptor>, Vec<Unresolved>)> {
        let names = self.service_names().await?;
        let mut unresolved = self.fetch_services(&names).await?;
        if unresolved.len() == names.len()
            && let Some(last) = unresolved.pop()
        {
            return Err(last.error);
        }
        let services: Vec<_> = names
            .iter()
            .filter_map(|name| self.pool.get_service_by_name(name))
            .collect();
        for service in &services {
            self.record(service.parent_file().name());
        }
        Ok((services, unresolved))
    }

    /// Fetches every service in `names`, all in one round; only when one of
    /// them does not build are they taken one by one, to tell which. A
    /// failure of the connection fails as a whole.
    pub(super) async fn fetch_services(&mut self, names: &[String]) -> Result<Vec<Unresolved>> {
        let mut unresolved = Vec::new();
        if let Err(error) = self.fetch_symbols(names).await {
            if error.is::<crate::error::StatusError>() {
                return Err(error);
            }
            for name in names {
                match self.fetch_symbol(name).await {
                    Err(error) if error.is::<crate::error::StatusError>() => return Err(error),
                    Err(error) => unresolved.push(Unresolved {
                        service: name.clone(),
                        error,
                    }),
                    Ok(_) => {}
                }
            }
        }
        Ok(unresolved)
    }
}

/// The file that defines `symbol`, also under grpc-js's spelling for
/// package-less names (`.Ping`).
pub(super) async fn fetch(
    reflection: &mut Reflection,
    symbol: &str,
    known: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Option<Vec<FileDescriptorProto>>> {
    if let Some(files) = reflection.file_containing_symbol(symbol, known).await? {
        return Ok(Some(files));
    }
    match package_less_spelling(symbol) {
        Some(dotted) => reflection.file_containing_symbol(&dotted, known).await,
        None => Ok(None),
    }
}

/// grpc-js indexes the symbols of a file without a package with a leading
/// dot (`.Hello`), and lists such services that way: the spelling to try
/// when a name without a package is not found.
pub fn package_less_spelling(symbol: &str) -> Option<String> {
    (!symbol.is_empty() && !symbol.contains('.')).then(|| format!(".{symbol}"))
}

/// A type name used by a file, with the scope it is resolved in and the
/// field or method that uses it.
pub(super) struct Reference {
    scope: String,
    pub name: String,
    pub user: String,
}

/// Every name defined by the pool and the new files, and which file defines it.
struct Universe<'a> {
    pool: &'a DescriptorPool,
    /// Definitions in the new files: full name → file name.
    defined: HashMap<String, String>,
    /// Package names and their prefixes (`google`, `google.protobuf`).
    packages: HashSet<String>,
    /// The declared dependencies and public dependencies of the new files.
    deps: HashMap<String, (Vec<String>, Vec<String>)>,
}

/// The declared dependencies and public dependencies of `file`.
fn imports_of(file: &FileDescriptorProto) -> (Vec<String>, Vec<String>) {
    let public = file
        .public_dependency
        .iter()
        .filter_map(|&i| file.dependency.get(usize::try_from(i).ok()?).cloned())
        .collect();
    (file.dependency.clone(), public)
}

impl<'a> Universe<'a> {
    fn new(pool: &'a DescriptorPool, files: &[FileDescriptorProto]) -> Universe<'a> {
        let mut universe = Universe {
            pool,
            defined: HashMap::new(),
            packages: HashSet::new(),
            deps: HashMap::new(),
        };
        for file in pool.files() {
            universe.add_package(file.package_name());
        }
        for file in files {
            universe.add_package(file.package());
            let prefix = file.package().to_string();
            for message in &file.message_type {
                universe.add_message(&prefix, message, file.name());
            }
            let enums = file.enum_type.iter().map(|e| e.name());
            let services = file.service.iter().map(|s| s.name());
            let extensions = file.extension.iter().map(|x| x.name());
            for name in enums.chain(services).chain(extensions) {
                universe.define(&prefix, name, file.name());
            }
            universe
                .deps
                .insert(file.name().to_string(), imports_of(file));
        }
        universe
    }

    fn add_package(&mut self, package: &str) {
        let prefixes = scopes(package).filter(|prefix| !prefix.is_empty());
        self.packages.extend(prefixes.map(str::to_string));
    }

    fn define(&mut self, scope: &str, name: &str, file: &str) {
        self.defined
            .entry(join(scope, name))
            .or_insert_with(|| file.to_string());
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto, file: &str) {
        self.define(scope, message.name(), file);
        let full = join(scope, message.name());
        for nested in &message.nested_type {
            self.add_message(&full, nested, file);
        }
        let enums = message.enum_type.iter().map(|e| e.name());
        for name in enums.chain(message.extension.iter().map(|x| x.name())) {
            self.define(&full, name, file);
        }
    }

    /// The file that defines the full name, if any.
    fn file_of(&self, full: &str) -> Option<String> {
        if let Some(file) = self.defined.get(full) {
            return Some(file.clone());
        }
        let pool = self.pool;
        pool.get_message_by_name(full)
            .map(|m| m.parent_file())
            .or_else(|| pool.get_enum_by_name(full).map(|e| e.parent_file()))
            .or_else(|| pool.get_service_by_name(full).map(|s| s.parent_file()))
            .or_else(|| pool.get_extension_by_name(full).map(|x| x.parent_file()))
            .map(|f| f.name().to_string())
    }

    fn is_defined(&self, full: &str) -> bool {
        self.packages.contains(full) || self.file_of(full).is_some()
    }

    /// The full name a reference means, as protoc scopes it: the innermost
    /// scope that defines its first component. `None` when no scope does.
    fn resolve(&self, reference: &Reference) -> Option<String> {
        if let Some(full) = reference.name.strip_prefix('.') {
            return Some(full.to_string());
        }
        let first = reference.name.split('.').next().unwrap_or_default();
        scopes(&reference.scope)
            .find(|scope| self.is_defined(&join(scope, first)))
            .map(|scope| join(scope, &reference.name))
    }

    /// Per unresolved reference, the full names it may mean: as written
    /// first (the usual case), then from the innermost scope outwards.
    fn unresolved(&self, files: &[FileDescriptorProto]) -> Vec<Vec<String>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for file in files {
            for reference in references(file) {
                let found = self
                    .resolve(&reference)
                    .is_some_and(|full| self.file_of(&full).is_some());
                if found || !seen.insert((reference.scope.clone(), reference.name.clone())) {
                    continue;
                }
                let name = reference.name.trim_start_matches('.');
                let mut candidates = vec![name.to_string()];
                if !reference.name.starts_with('.') {
                    for scope in scopes(&reference.scope) {
                        let full = join(scope, name);
                        if !candidates.contains(&full) {
                            candidates.push(full);
                        }
                    }
                }
                out.push(candidates);
            }
        }
        out
    }

    /// Files reachable from `file` through its imports, as protoc sees them:
    /// the direct imports, and whatever those re-export publicly.
    fn visible(&self, file: &str) -> HashSet<String> {
        let public = |file: &String, queue: &mut Vec<String>| queue.extend(self.imports(file).1);
        super::graph::walk(self.imports(file).0, String::clone, public).collect()
    }

    /// The declared dependencies and public dependencies of `file`.
    fn imports(&self, file: &str) -> (Vec<String>, Vec<String>) {
        self.deps.get(file).cloned().unwrap_or_else(|| {
            let file = self.pool.get_file_by_name(file);
            file.map_or_else(Default::default, |f| imports_of(f.file_descriptor_proto()))
        })
    }

    /// True when `from` already reaches `to` through any imports (a new
    /// import `to → from` would then close a cycle).
    fn reaches(&self, from: &str, to: &str) -> bool {
        let all = |file: &String, queue: &mut Vec<String>| queue.extend(self.imports(file).0);
        super::graph::walk(vec![from.to_string()], String::clone, all).any(|file| file == to)
    }

    /// Adds, to each file, the files defining the names it uses but cannot
    /// see. An import that would close a cycle is left out (the pool then
    /// reports the name).
    fn add_dependencies(mut self, files: &mut [FileDescriptorProto]) {
        for file in files.iter_mut() {
            let name = file.name().to_string();
            let mut visible = self.visible(&name);
            let mut added = Vec::new();
            for reference in references(file) {
                let Some(owner) = self.resolve(&reference).and_then(|f| self.file_of(&f)) else {
                    continue;
                };
                if owner == name || visible.contains(&owner) || self.reaches(&owner, &name) {
                    continue;
                }
                visible.insert(owner.clone());
                added.push(owner);
            }
            if added.is_empty() {
                continue;
            }
            file.dependency.extend(added);
            if let Some(entry) = self.deps.get_mut(&name) {
                entry.0 = file.dependency.clone();
            }
        }
    }
}

/// `scope`, then each enclosing scope, then the root (`""`).
fn scopes(scope: &str) -> impl Iterator<Item = &str> {
    std::iter::once(scope)
        .chain(scope.rmatch_indices('.').map(move |(i, _)| &scope[..i]))
        .chain((!scope.is_empty()).then_some(""))
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

/// Every type name the file uses: field types, extendees and method types.
pub(super) fn references(file: &FileDescriptorProto) -> Vec<Reference> {
    let mut out = Vec::new();
    let package = file.package();
    for message in &file.message_type {
        message_references(package, message, &mut out);
    }
    for x in &file.extension {
        for name in [x.type_name(), x.extendee()] {
            push(&mut out, package, name, x.name());
        }
    }
    for service in &file.service {
        for method in &service.method {
            for name in [method.input_type(), method.output_type()] {
                push(&mut out, package, name, method.name());
            }
        }
    }
    out
}

fn message_references(scope: &str, message: &DescriptorProto, out: &mut Vec<Reference>) {
    let full = join(scope, message.name());
    for field in message.field.iter().chain(&message.extension) {
        for name in [field.type_name(), field.extendee()] {
            push(out, &full, name, field.name());
        }
    }
    for nested in &message.nested_type {
        message_references(&full, nested, out);
    }
}

fn push(out: &mut Vec<Reference>, scope: &str, name: &str, user: &str) {
    if !name.is_empty() {
        out.push(Reference {
            scope: scope.to_string(),
            name: name.to_string(),
            user: user.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{
        FieldDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto,
        field_descriptor_proto::{Label, Type},
    };

    fn message(name: &str, fields: &[(&str, &str)]) -> DescriptorProto {
        DescriptorProto {
            name: Some(name.into()),
            field: fields
                .iter()
                .enumerate()
                .map(|(i, (field, type_name))| FieldDescriptorProto {
                    name: Some((*field).into()),
                    number: Some(i as i32 + 1),
                    label: Some(Label::Optional as i32),
                    r#type: Some(Type::Message as i32),
                    type_name: Some((*type_name).into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn file(name: &str, package: &str, messages: Vec<DescriptorProto>) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.into()),
            package: Some(package.into()),
            syntax: Some("proto3".into()),
            message_type: messages,
            ..Default::default()
        }
    }

    /// What grpc-js sends: relative names, no imports, the well-known types
    /// merged into one file.
    fn grpc_js_files() -> Vec<FileDescriptorProto> {
        let mut app = file(
            "app.proto",
            "app.v1",
            vec![message(
                "Event",
                &[("at", "google.protobuf.Timestamp"), ("inner", "Inner")],
            )],
        );
        app.message_type.push(message("Inner", &[]));
        app.service.push(ServiceDescriptorProto {
            name: Some("Events".into()),
            method: vec![MethodDescriptorProto {
                name: Some("Get".into()),
                input_type: Some(".app.v1.Inner".into()),
                output_type: Some(".app.v1.Event".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        let wkt = file(
            "google_protobuf.proto",
            "google.protobuf",
            vec![message("Timestamp", &[])],
        );
        vec![app, wkt]
    }

    #[test]
    fn undeclared_imports_are_added_and_the_pool_builds() {
        let pool = DescriptorPool::new();
        let mut files = grpc_js_files();
        assert!(
            DescriptorPool::new()
                .add_file_descriptor_protos(files.clone())
                .is_err()
        );
        let universe = Universe::new(&pool, &files);
        assert!(universe.unresolved(&files).is_empty());
        universe.add_dependencies(&mut files);
        assert_eq!(files[0].dependency, ["google_protobuf.proto"]);
        assert!(files[1].dependency.is_empty());
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_protos(files).unwrap();
        let event = pool.get_message_by_name("app.v1.Event").unwrap();
        let at = event.get_field_by_name("at").unwrap();
        assert_eq!(
            at.kind().as_message().unwrap().full_name(),
            "google.protobuf.Timestamp"
        );
    }

    #[test]
    fn names_from_files_already_in_the_pool_resolve_too() {
        let files = grpc_js_files();
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_protos([files[1].clone()]).unwrap();
        let mut app = vec![files[0].clone()];
        Universe::new(&pool, &app).add_dependencies(&mut app);
        assert_eq!(app[0].dependency, ["google_protobuf.proto"]);
        pool.add_file_descriptor_protos(app).unwrap();
    }

    #[test]
    fn names_nobody_sent_are_candidates_to_fetch() {
        let files = vec![grpc_js_files().remove(0)];
        let pool = DescriptorPool::new();
        let unknown = Universe::new(&pool, &files).unresolved(&files);
        assert_eq!(
            unknown,
            [vec![
                "google.protobuf.Timestamp".to_string(),
                "app.v1.Event.google.protobuf.Timestamp".into(),
                "app.v1.google.protobuf.Timestamp".into(),
                "app.google.protobuf.Timestamp".into(),
            ]]
        );
    }

    #[test]
    fn declared_imports_are_left_alone() {
        let wkt = file(
            "google/protobuf/t.proto",
            "google.protobuf",
            vec![message("Timestamp", &[])],
        );
        let mut app = file(
            "app.proto",
            "app",
            vec![message("E", &[("at", ".google.protobuf.Timestamp")])],
        );
        app.dependency.push("google/protobuf/t.proto".into());
        let mut files = vec![app.clone(), wkt];
        Universe::new(&DescriptorPool::new(), &files).add_dependencies(&mut files);
        assert_eq!(files[0], app);
    }

    #[test]
    fn an_import_that_would_close_a_cycle_is_left_out() {
        let mut a = file("a.proto", "a", vec![message("A", &[("b", ".b.B")])]);
        a.dependency.push("b.proto".into());
        let b = file("b.proto", "b", vec![message("B", &[("a", ".a.A")])]);
        let mut files = vec![a, b];
        Universe::new(&DescriptorPool::new(), &files).add_dependencies(&mut files);
        assert!(files[1].dependency.is_empty());
    }

    #[test]
    fn synthetic_oneofs_get_proto3_optional_back() {
        let mut m = message("M", &[("a", ".M"), ("b", ".M"), ("c", ".M")]);
        for (name, field) in [("choice", 0), ("_b", 1), ("_c", 2)] {
            m.oneof_decl.push(prost_types::OneofDescriptorProto {
                name: Some(name.into()),
                ..Default::default()
            });
            m.field[field].oneof_index = Some(m.oneof_decl.len() as i32 - 1);
        }
        let mut f = file("m.proto", "", vec![m]);
        mark_proto3_optional(&mut f);
        let marks: Vec<_> = f.message_type[0]
            .field
            .iter()
            .map(|f| f.proto3_optional)
            .collect();
        assert_eq!(marks, [None, Some(true), Some(true)]);
        DescriptorPool::new()
            .add_file_descriptor_protos([f])
            .unwrap();
    }

    #[test]
    fn package_less_names_get_grpc_js_spelling() {
        assert_eq!(package_less_spelling("Ping").as_deref(), Some(".Ping"));
        assert_eq!(package_less_spelling("a.Ping"), None);
    }
}
