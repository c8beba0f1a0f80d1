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
    Cardinality, DynamicMessage, EnumDescriptor, EnumValueDescriptor, FieldDescriptor,
    FileDescriptor, Kind, MessageDescriptor, MethodDescriptor, ReflectMessage as _,
    ServiceDescriptor, Syntax,
};

use crate::schema::editions::describe as editions;
use crate::schema::{self, Symbol};

const INDENT: &str = "  ";

/// Renders symbols, remembering each file's comments once looked up.
#[derive(Default)]
pub struct Renderer {
    comments: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Renderer {
    pub fn new() -> Renderer {
        Renderer::default()
    }

    /// A symbol as proto source, after a header line naming it and its file.
    pub fn render(&mut self, symbol: &Symbol) -> String {
        let kind = symbol.kind();
        let article = if kind.starts_with('e') { "an" } else { "a" };
        let mut out = format!(
            "// {} is {article} {kind} in {}\n",
            symbol.full_name(),
            symbol.file().name()
        );
        editions::file_header(&mut out, symbol.file().name());
        match symbol {
            Symbol::Service(s) => self.service(&mut out, s),
            Symbol::Method(m) => self.method(&mut out, m, 0),
            Symbol::Message(m) => self.message(&mut out, m, 0),
            Symbol::Enum(e) => self.enumeration(&mut out, e, 0),
            Symbol::EnumValue(v) => self.enum_value(&mut out, v, 0),
            Symbol::Field(f) => {
                let scope = f.parent_message().full_name().to_string();
                self.field(&mut out, f, &scope, 0)
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
        let file = message.parent_file();
        self.comment(out, &file, message.path(), depth);
        let pad = INDENT.repeat(depth);
        let _ = writeln!(out, "{pad}message {} {{", message.name());
        editions::options(out, &file, message.path(), depth + 1);
        for nested in message.child_messages().filter(|m| !m.is_map_entry()) {
            self.message(out, &nested, depth + 1);
        }
        for nested in message.child_enums() {
            self.enumeration(out, &nested, depth + 1);
        }
        let scope = message.full_name().to_string();
        let mut oneofs_done = Vec::new();
        for field in message.fields() {
            match field.containing_oneof().filter(|o| !o.is_synthetic()) {
                None => self.field(out, &field, &scope, depth + 1),
                Some(oneof) if !oneofs_done.contains(&oneof.name().to_string()) => {
                    oneofs_done.push(oneof.name().to_string());
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
        let _ = writeln!(out, "{pad}}}");
    }

    fn field(&mut self, out: &mut String, field: &FieldDescriptor, scope: &str, depth: usize) {
        let message = field.parent_message();
        self.comment(out, &message.parent_file(), field.path(), depth);
        let package = message.package_name();
        let type_name = |kind: &Kind| match kind {
            Kind::Message(m) => relative(m.full_name(), scope, package),
            Kind::Enum(e) => relative(e.full_name(), scope, package),
            scalar => scalar_name(scalar).to_string(),
        };
        let in_oneof = field.containing_oneof().is_some_and(|o| !o.is_synthetic());
        let file = message.parent_file();
        let editions = schema::editions::edition_of(file.name()).is_some();
        let (label, ty) = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            let key = type_name(&entry.map_entry_key_field().kind());
            let value = type_name(&entry.map_entry_value_field().kind());
            ("", format!("map<{key}, {value}>"))
        } else if field.is_list() {
            ("repeated ", type_name(&field.kind()))
        } else if in_oneof || editions {
            // Editions files have no `optional`/`required`: presence is a feature.
            ("", type_name(&field.kind()))
        } else if field.field_descriptor_proto().proto3_optional() {
            ("optional ", type_name(&field.kind()))
        } else if message.parent_file().syntax() == Syntax::Proto2 {
            let label = match field.cardinality() {
                Cardinality::Required => "required ",
                _ => "optional ",
            };
            (label, type_name(&field.kind()))
        } else {
            ("", type_name(&field.kind()))
        };
        let deprecated = field
            .field_descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.deprecated());
        let mut options = editions::field_options(&file, field.path());
        if deprecated {
            options.insert(0, "deprecated = true".to_string());
        }
        let options = if options.is_empty() {
            String::new()
        } else {
            format!(" [{}]", options.join(", "))
        };
        let _ = writeln!(
            out,
            "{}{label}{ty} {} = {}{options};",
            INDENT.repeat(depth),
            field.name(),
            field.number(),
        );
    }

    fn enumeration(&mut self, out: &mut String, enumeration: &EnumDescriptor, depth: usize) {
        self.comment(out, &enumeration.parent_file(), enumeration.path(), depth);
        let pad = INDENT.repeat(depth);
        let _ = writeln!(out, "{pad}enum {} {{", enumeration.name());
        editions::options(
            out,
            &enumeration.parent_file(),
            enumeration.path(),
            depth + 1,
        );
        for value in enumeration.values() {
            self.enum_value(out, &value, depth + 1);
        }
        let _ = writeln!(out, "{pad}}}");
    }

    fn enum_value(&mut self, out: &mut String, value: &EnumValueDescriptor, depth: usize) {
        self.comment(out, &value.parent_enum().parent_file(), value.path(), depth);
        let _ = writeln!(
            out,
            "{}{} = {};",
            INDENT.repeat(depth),
            value.name(),
            value.number()
        );
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
            let _ = writeln!(out, "{pad}//{}", line.trim_end());
        }
    }
}

/// Every leading comment in the file, by element path.
fn leading_comments(file: &FileDescriptor) -> HashMap<Vec<i32>, String> {
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return HashMap::new();
    };
    info.location
        .iter()
        .filter(|l| {
            l.leading_comments
                .as_deref()
                .is_some_and(|c| !c.trim().is_empty())
        })
        .map(|l| (l.path.clone(), l.leading_comments().to_string()))
        .collect()
}

/// `full` as written from inside `scope` (a message or package name) in
/// `package`: nested types lose their parent's prefix, same-package types
/// their package, others stay fully qualified.
fn relative<'a>(full: &'a str, scope: &str, package: &str) -> String {
    let strip = |prefix: &str| -> Option<&'a str> {
        if prefix.is_empty() {
            return Some(full);
        }
        full.strip_prefix(prefix)?.strip_prefix('.')
    };
    strip(scope)
        .filter(|_| !scope.is_empty())
        .or_else(|| strip(package))
        .unwrap_or(full)
        .to_string()
}

fn scalar_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(_) | Kind::Enum(_) => unreachable!("not a scalar"),
    }
}

/// The symbol's own descriptor (DescriptorProto, ServiceDescriptorProto, ...)
/// as a message, for `--format json`.
pub fn descriptor_message(symbol: &Symbol) -> DynamicMessage {
    let path = match symbol {
        Symbol::Service(s) => s.path(),
        Symbol::Method(m) => m.path(),
        Symbol::Message(m) => m.path(),
        Symbol::Enum(e) => e.path(),
        Symbol::EnumValue(v) => v.path(),
        Symbol::Field(f) => f.path(),
    };
    if let Some(original) = schema::editions::original_element(&symbol.file(), path) {
        return original;
    }
    match symbol {
        Symbol::Service(s) => s.service_descriptor_proto().transcode_to_dynamic(),
        Symbol::Method(m) => m.method_descriptor_proto().transcode_to_dynamic(),
        Symbol::Message(m) => m.descriptor_proto().transcode_to_dynamic(),
        Symbol::Enum(e) => e.enum_descriptor_proto().transcode_to_dynamic(),
        Symbol::EnumValue(v) => v.enum_value_descriptor_proto().transcode_to_dynamic(),
        Symbol::Field(f) => f.field_descriptor_proto().transcode_to_dynamic(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
