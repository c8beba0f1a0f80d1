//! Lowering: an editions FileDescriptorProto rewritten as the proto2 or
//! proto3 file that means the same on the wire and in JSON, because
//! prost-reflect 0.16 knows only those two.
//!
//! Features resolve file → message → oneof → field (and file → message →
//! enum), each level overriding its parent. Then, per field:
//! - explicit presence: proto2 `optional`, or proto3 `optional`;
//! - implicit presence: a proto3 singular field (so only a proto3 file);
//! - LEGACY_REQUIRED: `required`;
//! - DELIMITED: a group (prost-reflect reads a group's type from the
//!   field's type name, so any message type may be delimited);
//! - PACKED / EXPANDED: an explicit `[packed = …]`.
//!
//! Map entries are left alone: protobuf ignores these features there.
//!
//! A file is lowered to proto3 when some field has implicit presence, and
//! to proto2 otherwise, or when proto3 cannot hold it: prost-reflect wants
//! a proto3 enum to start at zero, and a closed enum need not. In that case
//! prost-reflect gives the implicit fields presence, so their names are
//! noted too, and `super` clears them when they hold zero, on the way in
//! and on the way out, as protobuf would.
//!
//! `features.json_format = LEGACY_BEST_EFFORT` allows JSON names that
//! clash; prost-reflect refuses those in any syntax (its JSON parser needs
//! one field per name), so such a file is an error, not a guess.
//!
//! Closed enums are not a thing prost-reflect has; their names are noted
//! for the JSON checks in `super`. Features leave the lowered file; they
//! are kept by element path, and `raise` puts them back into the pool's
//! resolved copy of a file parsed from source, to give the editions file
//! protoc would have written.

use std::collections::{HashMap, HashSet};

use prost_reflect::{DynamicMessage, ReflectMessage as _, Value};

use super::features::{self, Features};

/// Explicit features by element path (as in SourceCodeInfo).
pub type Explicit = HashMap<Vec<i32>, Features>;

/// One lowered file and what was learnt on the way.
pub struct Lowered {
    pub file: DynamicMessage,
    /// The features each element sets.
    pub explicit: Explicit,
    /// Features to show in `describe`, by element path: the ones set
    /// explicitly that differ from what the element inherits.
    pub shown: HashMap<Vec<i32>, Vec<(usize, i32)>>,
    /// Full names of the closed enums.
    pub closed: Vec<String>,
    /// Full names of the implicit-presence fields of a file lowered to
    /// proto2 (prost-reflect gives them presence).
    pub implicit: Vec<String>,
}

/// Lowers `file`, an editions file of `edition`.
pub fn lower(mut file: DynamicMessage, edition: i32) -> Lowered {
    let mut explicit = Explicit::new();
    each_element(&mut file, &mut Vec::new(), &mut |path, element| {
        // Checked first: `get_field_by_name_mut` creates a missing field.
        if !element.has_field_by_name("options") {
            return;
        }
        let Some(Value::Message(options)) = element.get_field_by_name_mut("options") else {
            return;
        };
        let found = features::take(options);
        if found.iter().any(|v| *v != 0) {
            explicit.insert(path.to_vec(), found);
        }
    });
    // A dry run decides the syntax; the second run lowers for it.
    let mut probe = Walk::new(&explicit, edition, false);
    probe.file(&mut file.clone());
    let proto3 = probe.implicit && !probe.proto3_blocked;
    let mut walk = Walk::new(&explicit, edition, proto3);
    walk.file(&mut file);
    file.set_field_by_name(
        "syntax",
        Value::String(if proto3 { "proto3" } else { "proto2" }.into()),
    );
    file.clear_field_by_name("edition");
    Lowered {
        file,
        shown: walk.shown,
        closed: walk.closed,
        implicit: walk.implicit_fields,
        explicit,
    }
}

// Field numbers in descriptor.proto.
const LABEL_OPTIONAL: i32 = 1;
const LABEL_REQUIRED: i32 = 2;
const LABEL_REPEATED: i32 = 3;
const TYPE_GROUP: i32 = 10;
const TYPE_MESSAGE: i32 = 11;
const TYPE_ENUM: i32 = 14;

struct Walk<'a> {
    explicit: &'a Explicit,
    edition: i32,
    proto3: bool,
    implicit: bool,
    proto3_blocked: bool,
    shown: HashMap<Vec<i32>, Vec<(usize, i32)>>,
    closed: Vec<String>,
    implicit_fields: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(explicit: &'a Explicit, edition: i32, proto3: bool) -> Self {
        Walk {
            explicit,
            edition,
            proto3,
            implicit: false,
            proto3_blocked: false,
            shown: HashMap::new(),
            closed: Vec::new(),
            implicit_fields: Vec::new(),
        }
    }

    /// The features of the element at `path` under `parent`, noting the
    /// ones to show.
    fn resolve(&mut self, path: &[i32], parent: &Features) -> Features {
        let Some(explicit) = self.explicit.get(path) else {
            return *parent;
        };
        let differ: Vec<(usize, i32)> = explicit
            .iter()
            .enumerate()
            .filter(|(i, v)| **v != 0 && **v != parent[*i])
            .map(|(i, v)| (i, *v))
            .collect();
        if !differ.is_empty() {
            self.shown.insert(path.to_vec(), differ);
        }
        features::merge(parent, explicit)
    }

    fn file(&mut self, file: &mut DynamicMessage) {
        let resolved = self.resolve(&[], &features::defaults(self.edition));
        let mut scope = str_field(file, "package");
        if !scope.is_empty() {
            scope.push('.');
        }
        for_each(file, "message_type", |i, m| {
            self.message(m, &[4, i], &resolved, &scope)
        });
        for_each(file, "enum_type", |i, e| {
            self.enumeration(e, &[5, i], &resolved, &scope)
        });
        for_each(file, "extension", |i, f| {
            self.field(f, &[7, i], &resolved, None)
        });
    }

    fn message(
        &mut self,
        message: &mut DynamicMessage,
        path: &[i32],
        parent: &Features,
        scope: &str,
    ) {
        let resolved = self.resolve(path, parent);
        let name = format!("{scope}{}", str_field(message, "name"));
        if is_map_entry(message) {
            // A map's key and value are always length-prefixed and always
            // written: protobuf ignores presence and encoding features there.
            return;
        }
        let mut oneofs = Vec::new();
        for_each(message, "oneof_decl", |k, _| {
            oneofs.push(self.resolve(&join(path, &[8, k]), &resolved))
        });
        let mut map_entries = HashSet::new();
        for_each(message, "nested_type", |_, entry| {
            if is_map_entry(entry) {
                map_entries.insert(str_field(entry, "name"));
            }
        });
        for_each(message, "field", |k, field| {
            let parent = field
                .get_field_by_name("oneof_index")
                .filter(|_| field.has_field_by_name("oneof_index"))
                .and_then(|v| v.as_i32())
                .and_then(|i| oneofs.get(i as usize).copied())
                .unwrap_or(resolved);
            let owner = Some((name.as_str(), &map_entries));
            self.field(field, &join(path, &[2, k]), &parent, owner)
        });
        let scope = format!("{name}.");
        for_each(message, "nested_type", |j, m| {
            self.message(m, &join(path, &[3, j]), &resolved, &scope)
        });
        for_each(message, "enum_type", |j, e| {
            self.enumeration(e, &join(path, &[4, j]), &resolved, &scope)
        });
        for_each(message, "extension", |k, f| {
            self.field(f, &join(path, &[6, k]), &resolved, None)
        });
    }

    fn enumeration(
        &mut self,
        enumeration: &mut DynamicMessage,
        path: &[i32],
        parent: &Features,
        scope: &str,
    ) {
        let resolved = self.resolve(path, parent);
        let name = format!("{scope}{}", str_field(enumeration, "name"));
        if resolved[features::ENUM_TYPE] == features::CLOSED {
            self.closed.push(name);
        }
        for_each(enumeration, "value", |i, value| {
            let number = value.get_field_by_name("number").and_then(|n| n.as_i32());
            self.proto3_blocked |= i == 0 && number != Some(0);
            self.resolve(&join(path, &[2, i]), &resolved);
        });
    }

    /// Lowers a field; `owner` is its message's full name and map entries,
    /// `None` for an extension.
    fn field(
        &mut self,
        field: &mut DynamicMessage,
        path: &[i32],
        parent: &Features,
        owner: Option<(&str, &HashSet<String>)>,
    ) {
        let resolved = self.resolve(path, parent);
        let label = enum_field(field, "label");
        let ty = field
            .has_field_by_name("type")
            .then(|| enum_field(field, "type"));
        let type_name = str_field(field, "type_name");
        let last = type_name.rsplit('.').next().unwrap_or_default();
        let is_map = label == LABEL_REPEATED && owner.is_some_and(|(_, maps)| maps.contains(last));
        let named = ty.is_none() && !type_name.is_empty();
        let is_message = ty == Some(TYPE_MESSAGE) || ty == Some(TYPE_GROUP);

        if resolved[features::MESSAGE_ENCODING] == features::DELIMITED
            && !is_map
            && (ty == Some(TYPE_MESSAGE) || named)
        {
            field.set_field_by_name("type", Value::EnumNumber(TYPE_GROUP));
        }
        if label == LABEL_REPEATED {
            if !is_map && !is_message {
                let expanded = resolved[features::REPEATED] == features::EXPANDED;
                // proto2 is expanded and proto3 packed unless told otherwise.
                if expanded == self.proto3 {
                    // A missing `options` is created, as an empty FieldOptions.
                    if let Some(Value::Message(options)) = field.get_field_by_name_mut("options") {
                        options.set_field_by_name("packed", Value::Bool(!expanded));
                    }
                }
            }
            return;
        }
        if field.has_field_by_name("oneof_index") {
            return;
        }
        match resolved[features::PRESENCE] {
            features::LEGACY_REQUIRED => {
                field.set_field_by_name("label", Value::EnumNumber(LABEL_REQUIRED));
            }
            features::IMPLICIT if !is_message => {
                self.implicit = true;
                if let (false, Some((message, _))) = (self.proto3, owner) {
                    let name = str_field(field, "name");
                    self.implicit_fields.push(format!("{message}.{name}"));
                }
            }
            _ if self.proto3 && !is_message => {
                field.set_field_by_name("proto3_optional", Value::Bool(true));
            }
            _ => {}
        }
    }
}

/// The editions file that a lowered file came from, given the lowered file
/// (resolved by prost-reflect) and the features each element set: every
/// change lowering makes is one that editions forbid (`required`,
/// `proto3_optional`, groups, `packed`), so each is simply undone.
///
/// A delimited field whose type the parser could not know (`Foo f = 1`
/// under a file-wide DELIMITED) may name an enum: `is_enum` tells.
pub fn raise(
    mut file: DynamicMessage,
    explicit: &Explicit,
    edition: i32,
    is_enum: &dyn Fn(&str) -> bool,
) -> DynamicMessage {
    each_element(&mut file, &mut Vec::new(), &mut |path, element| {
        let is_field = element.descriptor().name() == "FieldDescriptorProto";
        if is_field {
            if enum_field(element, "label") == LABEL_REQUIRED {
                element.set_field_by_name("label", Value::EnumNumber(LABEL_OPTIONAL));
            }
            element.clear_field_by_name("proto3_optional");
            if enum_field(element, "type") == TYPE_GROUP {
                let name = str_field(element, "type_name");
                let ty = if is_enum(name.trim_start_matches('.')) {
                    TYPE_ENUM
                } else {
                    TYPE_MESSAGE
                };
                element.set_field_by_name("type", Value::EnumNumber(ty));
            }
        }
        let found = explicit.get(path);
        if found.is_none() && !(is_field && element.has_field_by_name("options")) {
            return;
        }
        // An unset `options` reads as an empty message of its type.
        let options = element.get_field_by_name("options");
        let Some(mut options) = options.and_then(|v| v.as_message().cloned()) else {
            return;
        };
        if is_field {
            options.clear_field_by_name("packed");
        }
        if let Some(found) = found {
            features::put(&mut options, found);
        }
        if options.fields().next().is_none() && options.unknown_fields().next().is_none() {
            element.clear_field_by_name("options");
        } else {
            element.set_field_by_name("options", Value::Message(options));
        }
    });
    file.set_field_by_name("syntax", Value::String("editions".into()));
    file.set_field_by_name("edition", Value::EnumNumber(edition));
    file
}

/// True for a map's entry message.
fn is_map_entry(message: &DynamicMessage) -> bool {
    message
        .get_field_by_name("options")
        .and_then(|o| o.as_message()?.get_field_by_name("map_entry")?.as_bool())
        .unwrap_or(false)
}

/// Calls `visit` with the path of every element (the file's is empty).
fn each_element(
    message: &mut DynamicMessage,
    path: &mut Vec<i32>,
    visit: &mut dyn FnMut(&[i32], &mut DynamicMessage),
) {
    visit(path, message);
    let descriptor = message.descriptor();
    for field in descriptor.fields() {
        if !ELEMENTS.contains(&field.name()) || !message.has_field(&field) {
            continue;
        }
        for_each(message, field.name(), |i, child| {
            path.extend([field.number() as i32, i]);
            each_element(child, path, visit);
            path.truncate(path.len() - 2);
        });
    }
}

/// The repeated fields of descriptor.proto that hold elements with options.
const ELEMENTS: [&str; 9] = [
    "message_type",
    "enum_type",
    "service",
    "extension",
    "field",
    "nested_type",
    "oneof_decl",
    "value",
    "method",
];

/// Calls `f` on each message of a repeated message field, with its index.
fn for_each(message: &mut DynamicMessage, name: &str, mut f: impl FnMut(i32, &mut DynamicMessage)) {
    if let Some(Value::List(items)) = message.get_field_by_name_mut(name) {
        for (i, item) in items.iter_mut().enumerate() {
            if let Value::Message(child) = item {
                f(i as i32, child);
            }
        }
    }
}

pub(super) fn str_field(message: &DynamicMessage, name: &str) -> String {
    message
        .get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(super) fn enum_field(message: &DynamicMessage, name: &str) -> i32 {
    message
        .get_field_by_name(name)
        .and_then(|v| v.as_enum_number())
        .unwrap_or(0)
}

fn join(path: &[i32], more: &[i32]) -> Vec<i32> {
    [path, more].concat()
}
