//! Renders descriptors as proto source that a person reads easily: fields
//! with their numbers, labels, maps, oneofs, nested types, and the leading
//! comments of the source when the schema kept them (.proto files do;
//! reflection and most protosets do not).
//!
//! Type names are written relative to where they are used: a nested type
//! from inside its message, a type of the same package without the package,
//! anything else fully qualified.

use std::collections::HashMap;
use std::fmt::Write as _;

use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor,
    FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    ReflectMessage as _, ServiceDescriptor, Syntax,
};
use prost_types::FieldDescriptorProto;

use crate::schema::{self, Symbol};

const INDENT: &str = "  ";

/// Renders symbols, remembering each file's comments once looked up.
#[derive(Default)]
pub struct Renderer {
    comments: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Renderer {
    /// A symbol as proto source, after a header line naming it and its file.
    pub fn render(&mut self, symbol: &Symbol) -> String {
        let (name, kind, file) = (symbol.full_name(), symbol.kind(), symbol.file());
        let article = if kind.starts_with('e') { "an" } else { "a" };
        let mut out = format!("// {name} is {article} {kind} in {}\n", file.name());
        if let Some(edition) = schema::editions::edition_of(file.name()) {
            let _ = writeln!(out, "// edition = \"{edition}\";");
            features(&mut out, &file, &[], "// ");
        }
        match symbol {
            Symbol::Service(s) => self.service(&mut out, s),
            Symbol::Method(m) => self.method(&mut out, m, 0),
            Symbol::Message(m) => self.message(&mut out, m, 0),
            Symbol::Enum(e) => self.enumeration(&mut out, e, 0),
            Symbol::EnumValue(v) => self.enum_value(&mut out, v, 0),
            Symbol::Field(f) => self.field(&mut out, f, f.parent_message().full_name(), 0),
            Symbol::Extension(e) => {
                self.extend_blocks(&mut out, std::slice::from_ref(e), &extension_scope(e), 0)
            }
        }
        out
    }

    fn service(&mut self, out: &mut String, service: &ServiceDescriptor) {
        self.comment(out, &service.parent_file(), service.path(), 0);
        let _ = writeln!(out, "service {} {{", service.name());
        for method in service.methods() {
            self.method(out, &method, 1);
        }
        out.push_str("}\n");
    }

    fn method(&mut self, out: &mut String, method: &MethodDescriptor, depth: usize) {
        let service = method.parent_service();
        self.comment(out, &service.parent_file(), method.path(), depth);
        let scope = service.package_name();
        let stream = |yes: bool| if yes { "stream " } else { "" };
        let _ = writeln!(
            out,
            "{}rpc {}({}{}) returns ({}{});",
            INDENT.repeat(depth),
            method.name(),
            stream(method.is_client_streaming()),
            relative(method.input().full_name(), scope, scope),
            stream(method.is_server_streaming()),
            relative(method.output().full_name(), scope, scope),
        );
    }

    fn message(&mut self, out: &mut String, message: &MessageDescriptor, depth: usize) {
        self.comment(out, &message.parent_file(), message.path(), depth);
        let pad = INDENT.repeat(depth);
        let _ = writeln!(out, "{pad}message {} {{", message.name());
        self.message_body(out, message, depth);
        let _ = writeln!(out, "{pad}}}");
        if depth == 0 {
            self.extended_elsewhere(out, message);
        }
    }

    /// Everything between a message's braces (also a group's).
    fn message_body(&mut self, out: &mut String, message: &MessageDescriptor, depth: usize) {
        let file = message.parent_file();
        let pad = INDENT.repeat(depth);
        features(out, &file, message.path(), &format!("{pad}{INDENT}"));
        let groups: Vec<MessageDescriptor> = message
            .fields()
            .filter(|f| f.is_group() && schema::editions::edition_of(file.name()).is_none())
            .filter_map(|f| f.kind().as_message().cloned())
            .collect();
        for nested in message
            .child_messages()
            .filter(|m| !m.is_map_entry() && !groups.contains(m))
        {
            self.message(out, &nested, depth + 1);
        }
        for nested in message.child_enums() {
            self.enumeration(out, &nested, depth + 1);
        }
        let scope = message.full_name().to_string();
        for field in message.fields() {
            match field.containing_oneof().filter(|o| !o.is_synthetic()) {
                None => self.field(out, &field, &scope, depth + 1),
                // A oneof is written where its first member is declared.
                Some(oneof) if oneof.fields().next().as_ref() == Some(&field) => {
                    self.comment(out, &file, oneof.path(), depth + 1);
                    let _ = writeln!(out, "{pad}{INDENT}oneof {} {{", oneof.name());
                    for member in oneof.fields() {
                        self.field(out, &member, &scope, depth + 2);
                    }
                    let _ = writeln!(out, "{pad}{INDENT}}}");
                }
                Some(_) => {}
            }
        }
        for range in message.extension_ranges() {
            let _ = writeln!(out, "{pad}{INDENT}extensions {};", number_range(&range));
        }
        let nested: Vec<ExtensionDescriptor> = message.child_extensions().collect();
        self.extend_blocks(out, &nested, &scope, depth + 1);
    }

    /// `extend` blocks for `extensions` (declared in one scope), one block
    /// per extended message, in order of first appearance.
    fn extend_blocks(
        &mut self,
        out: &mut String,
        extensions: &[ExtensionDescriptor],
        scope: &str,
        depth: usize,
    ) {
        let pad = INDENT.repeat(depth);
        for (extendee, group) in groups(extensions, |e| e.containing_message()) {
            let name = relative(extendee.full_name(), scope, extensions[0].package_name());
            let _ = writeln!(out, "{pad}extend {name} {{");
            for extension in group {
                self.extension(out, extension, scope, depth + 1);
            }
            let _ = writeln!(out, "{pad}}}");
        }
    }

    /// The extensions of a message declared outside it, each file's as
    /// one `extend` block after a line naming the file.
    fn extended_elsewhere(&mut self, out: &mut String, message: &MessageDescriptor) {
        let outside = message
            .extensions()
            .filter(|e| e.parent_message().as_ref() != Some(message));
        let file_and_scope =
            |e: &ExtensionDescriptor| (e.parent_file().name().to_string(), extension_scope(e));
        for ((file, scope), group) in groups(outside, file_and_scope) {
            let in_message = group[0].parent_message().map_or(String::new(), |parent| {
                format!(", inside message {}", parent.full_name())
            });
            let _ = writeln!(out, "// extended in {file}{in_message}:");
            self.extend_blocks(out, &group, &scope, 0);
        }
    }

    fn extension(
        &mut self,
        out: &mut String,
        extension: &ExtensionDescriptor,
        scope: &str,
        depth: usize,
    ) {
        self.comment(out, &extension.parent_file(), extension.path(), depth);
        let kind = extension.kind();
        let ty = type_name(&kind, scope, extension.package_name());
        let options = field_options(extension.field_descriptor_proto(), &kind);
        let label = match extension.cardinality() {
            Cardinality::Repeated => "repeated ",
            Cardinality::Required => "required ",
            _ if extension.parent_file().syntax() == Syntax::Proto2 => "optional ",
            _ => "",
        };
        let _ = writeln!(
            out,
            "{}{label}{ty} {} = {}{options};",
            INDENT.repeat(depth),
            extension.name(),
            extension.number(),
        );
    }

    fn field(&mut self, out: &mut String, field: &FieldDescriptor, scope: &str, depth: usize) {
        let message = field.parent_message();
        let file = message.parent_file();
        self.comment(out, &file, field.path(), depth);
        let package = message.package_name();
        let type_name = |kind: &Kind| type_name(kind, scope, package);
        let in_oneof = field.containing_oneof().is_some_and(|o| !o.is_synthetic());
        let editions = schema::editions::edition_of(file.name()).is_some();
        let proto = field.field_descriptor_proto();
        let proto2 = file.syntax() == Syntax::Proto2;
        let label = match field.cardinality() {
            Cardinality::Repeated if field.is_map() => "",
            Cardinality::Repeated => "repeated ",
            // Editions files have no `optional`/`required`: presence is a feature.
            _ if in_oneof || editions => "",
            _ if proto.proto3_optional() => "optional ",
            Cardinality::Required if proto2 => "required ",
            _ if proto2 => "optional ",
            _ => "",
        };
        let ty = match field.kind() {
            Kind::Message(entry) if field.is_map() => {
                let key = type_name(&entry.map_entry_key_field().kind());
                let value = type_name(&entry.map_entry_value_field().kind());
                format!("map<{key}, {value}>")
            }
            kind => type_name(&kind),
        };
        // An editions file shows its features, not the proto2 options it
        // was lowered to (schema/editions/).
        let options = if editions {
            let mut options = schema::editions::shown(file.name(), field.path());
            if proto.options.as_ref().is_some_and(|o| o.deprecated()) {
                options.insert(0, "deprecated = true".to_string());
            }
            bracketed(&options)
        } else {
            field_options(proto, &field.kind())
        };
        let pad = INDENT.repeat(depth);
        // An editions DELIMITED field is lowered to a group, but reads as a
        // plain field with its feature shown.
        if field.is_group()
            && !editions
            && let Kind::Message(group) = field.kind()
        {
            let label = if in_oneof { "" } else { label };
            let _ = writeln!(
                out,
                "{pad}{label}group {} = {}{options} {{",
                group.name(),
                field.number()
            );
            self.message_body(out, &group, depth);
            let _ = writeln!(out, "{pad}}}");
            return;
        }
        let _ = writeln!(
            out,
            "{pad}{label}{ty} {} = {}{options};",
            field.name(),
            field.number(),
        );
    }

    fn enumeration(&mut self, out: &mut String, enumeration: &EnumDescriptor, depth: usize) {
        let file = enumeration.parent_file();
        self.comment(out, &file, enumeration.path(), depth);
        let pad = INDENT.repeat(depth);
        let _ = writeln!(out, "{pad}enum {} {{", enumeration.name());
        features(out, &file, enumeration.path(), &format!("{pad}{INDENT}"));
        for value in enumeration.values() {
            self.enum_value(out, &value, depth + 1);
        }
        let _ = writeln!(out, "{pad}}}");
    }

    fn enum_value(&mut self, out: &mut String, value: &EnumValueDescriptor, depth: usize) {
        self.comment(out, &value.parent_enum().parent_file(), value.path(), depth);
        let pad = INDENT.repeat(depth);
        let _ = writeln!(out, "{pad}{} = {};", value.name(), value.number());
    }

    /// Writes the leading comment of the element at `path`, if any.
    fn comment(&mut self, out: &mut String, file: &FileDescriptor, path: &[i32], depth: usize) {
        let comments = self
            .comments
            .entry(file.name().to_string())
            .or_insert_with(|| leading_comments(file));
        let Some(text) = comments.get(path) else {
            return;
        };
        let pad = INDENT.repeat(depth);
        for line in text.trim_end_matches('\n').lines() {
            let _ = writeln!(out, "{pad}//{}", escape_controls(line.trim_end()));
        }
    }
}

/// For a file lowered from Protobuf Editions, the features the element at
/// `path` sets where they differ from what it inherits, as the source sets
/// them (`option features.x = Y;`), each line after `prefix`.
fn features(out: &mut String, file: &FileDescriptor, path: &[i32], prefix: &str) {
    for feature in schema::editions::shown(file.name(), path) {
        let _ = writeln!(out, "{prefix}option {feature};");
    }
}

/// `items` grouped by `key`, the groups in order of first appearance.
fn groups<T, K: PartialEq>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<(K, Vec<T>)> {
    let mut groups: Vec<(K, Vec<T>)> = Vec::new();
    for item in items {
        let k = key(&item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, group)) => group.push(item),
            None => groups.push((k, vec![item])),
        }
    }
    groups
}

/// Every leading comment in the file, by element path.
fn leading_comments(file: &FileDescriptor) -> HashMap<Vec<i32>, String> {
    let info = &file.file_descriptor_proto().source_code_info;
    info.iter()
        .flat_map(|info| &info.location)
        .filter_map(|l| Some((l.path.clone(), l.leading_comments.clone()?)))
        .filter(|(_, text)| !text.trim().is_empty())
        .collect()
}

/// `full` as written from inside `scope` (a message or package name) in
/// `package`: nested types lose their parent's prefix, same-package types
/// their package, others stay fully qualified.
fn relative(full: &str, scope: &str, package: &str) -> String {
    let strip = |prefix: &str| full.strip_prefix(prefix)?.strip_prefix('.');
    [scope, package]
        .into_iter()
        .filter(|prefix| !prefix.is_empty())
        .find_map(strip)
        .unwrap_or(full)
        .to_string()
}

/// A field's options as written after its number: ` [default = 1,
/// packed = false, deprecated = true]`, or nothing.
fn field_options(proto: &FieldDescriptorProto, kind: &Kind) -> String {
    let mut options = Vec::new();
    if let Some(default) = &proto.default_value {
        let shown = match kind {
            // Bytes defaults are stored C-escaped already; strings raw.
            Kind::String => format!("\"{}\"", c_escape(default)),
            Kind::Bytes => format!("\"{}\"", escape_controls(default)),
            _ => escape_controls(default),
        };
        options.push(format!("default = {shown}"));
    }
    if let Some(field_options) = &proto.options {
        if let Some(packed) = field_options.packed {
            options.push(format!("packed = {packed}"));
        }
        if field_options.deprecated() {
            options.push("deprecated = true".to_string());
        }
    }
    bracketed(&options)
}

/// Options as written after a field's number: ` [a, b]`, or nothing.
fn bracketed(options: &[String]) -> String {
    match options {
        [] => String::new(),
        _ => format!(" [{}]", options.join(", ")),
    }
}

/// `text` with its control characters (tabs aside) escaped as proto writes
/// them (`\033`), for text that is not a string literal: comments, and
/// defaults stored escaped already. What a server or a protoset sends
/// cannot steer the terminal.
fn escape_controls(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            if c != '\t' && c.is_control() {
                let _ = write!(out, "\\{:03o}", c as u32);
            } else {
                out.push(c);
            }
            out
        })
}

/// A string as a proto string literal's contents.
fn c_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// An extension or reserved range (end exclusive) as proto writes it:
/// `100`, `100 to 199`, `1000 to max`.
fn number_range(range: &std::ops::Range<u32>) -> String {
    const MAX: u32 = 536_870_912;
    match range.end.saturating_sub(1) {
        _ if range.end >= MAX => format!("{} to max", range.start),
        last if last <= range.start => range.start.to_string(),
        last => format!("{} to {last}", range.start),
    }
}

/// Where an extension is declared: its message, or its package.
fn extension_scope(extension: &ExtensionDescriptor) -> String {
    match extension.parent_message() {
        Some(parent) => parent.full_name().to_string(),
        None => extension.package_name().to_string(),
    }
}

/// How a field's type is written in `.proto`: a scalar's keyword, or a
/// message's or enum's name relative to `scope` (prost-reflect's `Debug` for
/// `Kind` writes the keyword or the full name).
fn type_name(kind: &Kind, scope: &str, package: &str) -> String {
    relative(&format!("{kind:?}"), scope, package)
}

/// The symbol's own descriptor (DescriptorProto, ServiceDescriptorProto, ...)
/// as a message, for `--format json`.
pub fn descriptor_message(symbol: &Symbol) -> DynamicMessage {
    let (path, own) = match symbol {
        Symbol::Service(s) => (
            s.path(),
            s.service_descriptor_proto().transcode_to_dynamic(),
        ),
        Symbol::Method(m) => (m.path(), m.method_descriptor_proto().transcode_to_dynamic()),
        Symbol::Message(m) => (m.path(), m.descriptor_proto().transcode_to_dynamic()),
        Symbol::Enum(e) => (e.path(), e.enum_descriptor_proto().transcode_to_dynamic()),
        Symbol::EnumValue(v) => (
            v.path(),
            v.enum_value_descriptor_proto().transcode_to_dynamic(),
        ),
        Symbol::Field(f) => (f.path(), f.field_descriptor_proto().transcode_to_dynamic()),
        Symbol::Extension(e) => (e.path(), e.field_descriptor_proto().transcode_to_dynamic()),
    };
    schema::editions::original_element(&symbol.file(), path).unwrap_or(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_strings_are_written_as_proto_writes_them() {
        assert_eq!(number_range(&(100..200)), "100 to 199");
        assert_eq!(number_range(&(5..6)), "5");
        assert_eq!(number_range(&(1000..536_870_912)), "1000 to max");
        assert_eq!(c_escape("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\001");
        assert_eq!(escape_controls("a\tb\u{1b}[2J\r"), "a\tb\\033[2J\\015");
    }

    #[test]
    fn names_are_relative_to_their_scope() {
        assert_eq!(relative("a.b.M.Inner", "a.b.M", "a.b"), "Inner");
        assert_eq!(relative("a.b.Other", "a.b.M", "a.b"), "Other");
        assert_eq!(
            relative("google.protobuf.Timestamp", "a.b.M", "a.b"),
            "google.protobuf.Timestamp"
        );
        assert_eq!(relative("Ping", "", ""), "Ping");
        assert_eq!(relative("a.bc.X", "a.b.M", "a.b"), "a.bc.X");
    }
}
