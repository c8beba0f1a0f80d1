//! Checks every descriptor set before prost-reflect sees it, whatever its
//! source (.proto files go through protox, which checks them itself;
//! protosets and reflection answers come from outside). prost-reflect
//! reports most mistakes as errors, but a few shapes of input panic inside
//! it (an unknown `syntax` string panics while the error is labelled), and
//! release builds abort on a panic. So the shapes that matter are refused
//! here, each with one line naming the file:
//! - an unknown `syntax` (`editions` is known: it is lowered elsewhere);
//! - two files of one name in one set;
//! - an import that is neither in the set nor already in the pool, a file
//!   importing itself, an import cycle, a public or weak import index out of
//!   range;
//! - a fully-qualified type name (`.pkg.Type`) that nothing defines;
//! - a name with a control character (`describe` would print it to the
//!   terminal).
//!
//! Anything else wrong is left to prost-reflect's own errors. The property
//! tests below throw truncated, bit-flipped and mutated sets at the whole
//! load and assert it never panics.

use std::collections::{HashMap, HashSet};

use anyhow::{Result, anyhow};
use prost_reflect::DescriptorPool;
use prost_types::{DescriptorProto, FileDescriptorProto};

/// The syntaxes a file may declare.
const SYNTAXES: [&str; 3] = ["proto2", "proto3", "editions"];

/// Refuses a set of files that prost-reflect might not survive. `base` is
/// the pool the files will be added to (its files satisfy imports).
pub fn files(files: &[FileDescriptorProto], base: Option<&DescriptorPool>) -> Result<()> {
    let in_base = |name: &str| base.is_some_and(|pool| pool.get_file_by_name(name).is_some());
    let mut by_name: HashMap<&str, &FileDescriptorProto> = HashMap::new();
    for file in files {
        let name = file.name();
        if by_name.insert(name, file).is_some() {
            return Err(anyhow!("the schema holds two files named '{name}'"));
        }
        // prost-reflect reads a missing syntax as proto2 but panics on an
        // empty one.
        if file.syntax.is_some() && !SYNTAXES.contains(&file.syntax()) {
            return Err(anyhow!(
                "{name} declares an unknown syntax '{}'",
                file.syntax().escape_debug()
            ));
        }
        let imports = file.dependency.len() as i32;
        for index in file.public_dependency.iter().chain(&file.weak_dependency) {
            if !(0..imports).contains(index) {
                return Err(anyhow!(
                    "{name} marks import #{index} public or weak, but has {imports} imports"
                ));
            }
        }
        check_names(file)?;
        check_map_entries(file)?;
        let mut seen = HashSet::new();
        for dep in &file.dependency {
            if dep == name {
                return Err(anyhow!("{name} imports itself"));
            }
            if !seen.insert(dep.as_str()) {
                return Err(anyhow!("{name} imports '{dep}' twice"));
            }
        }
    }
    for file in files {
        for dep in &file.dependency {
            if !by_name.contains_key(dep.as_str()) && !in_base(dep) {
                return Err(anyhow!(
                    "{} imports '{dep}', which the schema does not include",
                    file.name()
                ));
            }
        }
    }
    let imports = |n: &str| by_name.get(n).map_or(&[][..], |f| &f.dependency[..]);
    super::graph::dependency_order(files.iter().map(|f| f.name()), imports)
        .map_err(|cycle| anyhow!("import cycle: {}", cycle.join(" → ")))?;
    check_type_names(files, base)
}

/// The last check before prost-reflect builds a pool from `files`:
/// prost-reflect 0.16 reads only proto2 and proto3, and panics on any other
/// syntax. Editions files must have been lowered to proto2/proto3 first;
/// one that was not is refused here rather than crash.
pub fn ready_for_pool(files: &[FileDescriptorProto]) -> Result<()> {
    match files
        .iter()
        .find(|f| !matches!(f.syntax.as_deref(), None | Some("proto2" | "proto3")))
    {
        Some(file) => Err(anyhow!(
            "{} uses syntax '{}', which grpcx cannot read here",
            file.name(),
            file.syntax().escape_debug()
        )),
        None => Ok(()),
    }
}

/// Every fully-qualified type name used (field types, extendees, method
/// inputs and outputs) names a message or enum of the set or the pool.
fn check_type_names(files: &[FileDescriptorProto], base: Option<&DescriptorPool>) -> Result<()> {
    let mut defined: HashSet<String> = HashSet::new();
    for file in files {
        let prefix = match file.package() {
            "" => String::new(),
            package => format!(".{package}"),
        };
        for message in &file.message_type {
            define_message(message, &prefix, &mut defined);
        }
        for enumeration in &file.enum_type {
            defined.insert(format!("{prefix}.{}", enumeration.name()));
        }
    }
    let known = |name: &str| {
        defined.contains(name)
            || base.is_some_and(|pool| {
                let bare = &name[1..];
                pool.get_message_by_name(bare).is_some() || pool.get_enum_by_name(bare).is_some()
            })
    };
    for file in files {
        for used in super::imports::references(file) {
            if used.name.starts_with('.') && !known(&used.name) {
                return Err(anyhow!(
                    "{}: '{}' uses the type '{}', which nothing defines",
                    file.name(),
                    used.user,
                    &used.name[1..]
                ));
            }
        }
    }
    Ok(())
}

/// No name the file declares (nor its own name, package or JSON names)
/// holds a control character: `describe` and `list` print them, and a name
/// from outside that could move the cursor or clear the screen is refused,
/// not printed. (Real servers send names protoc would refuse, such as
/// `.Hello` for a service without a package, so only this is checked.)
fn check_names(file: &FileDescriptorProto) -> Result<()> {
    let mut names: Vec<&str> = vec![file.name(), file.package()];
    let mut enums: Vec<&prost_types::EnumDescriptorProto> = file.enum_type.iter().collect();
    let mut fields: Vec<&prost_types::FieldDescriptorProto> = file.extension.iter().collect();
    let mut stack: Vec<&DescriptorProto> = file.message_type.iter().collect();
    while let Some(message) = stack.pop() {
        names.push(message.name());
        names.extend(message.oneof_decl.iter().map(|o| o.name()));
        fields.extend(message.field.iter().chain(&message.extension));
        enums.extend(&message.enum_type);
        stack.extend(&message.nested_type);
    }
    for enumeration in enums {
        names.push(enumeration.name());
        names.extend(enumeration.value.iter().map(|v| v.name()));
    }
    for service in &file.service {
        names.push(service.name());
        names.extend(service.method.iter().map(|m| m.name()));
    }
    for field in fields {
        names.extend([field.name(), field.json_name()]);
    }
    match names.into_iter().find(|name| !is_printable(name)) {
        Some(name) => Err(anyhow!(
            "{}: the name '{}' holds a control character",
            file.name().escape_debug(),
            name.escape_debug()
        )),
        None => Ok(()),
    }
}

/// Whether `name` can be printed as it is (see
/// [`crate::error::is_unprintable`]).
pub fn is_printable(name: &str) -> bool {
    !name.contains(crate::error::is_unprintable)
}

/// A map entry message (`map_entry = true`) has its key field 1 and its
/// value field 2: prost-reflect assumes so and panics otherwise.
fn check_map_entries(file: &FileDescriptorProto) -> Result<()> {
    let mut stack: Vec<&DescriptorProto> = file.message_type.iter().collect();
    while let Some(message) = stack.pop() {
        stack.extend(&message.nested_type);
        let is_entry = message.options.as_ref().is_some_and(|o| o.map_entry());
        let has = |number: i32| message.field.iter().any(|f| f.number() == number);
        // A key is an integer, a bool or a string (prost-reflect panics on
        // any other key type when it reads JSON). `r#type()` reads a
        // missing or unknown type as Double, which is refused too.
        let key_ok = message.field.iter().filter(|f| f.number() == 1).all(|f| {
            use prost_types::field_descriptor_proto::Type;
            !matches!(
                f.r#type(),
                Type::Double | Type::Float | Type::Bytes | Type::Message | Type::Group | Type::Enum
            )
        });
        if is_entry && !(message.field.len() == 2 && has(1) && has(2) && key_ok) {
            return Err(anyhow!(
                "{}: the map entry '{}' is not a key field 1 of a key type and a value field 2",
                file.name(),
                message.name()
            ));
        }
    }
    Ok(())
}

fn define_message(message: &DescriptorProto, scope: &str, defined: &mut HashSet<String>) {
    let name = format!("{scope}.{}", message.name());
    for nested in &message.nested_type {
        define_message(nested, &name, defined);
    }
    for enumeration in &message.enum_type {
        defined.insert(format!("{name}.{}", enumeration.name()));
    }
    defined.insert(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message as _;
    use prost_reflect::DescriptorPool;
    use prost_types::FileDescriptorSet;

    use crate::schema::Symbol;

    fn base() -> FileDescriptorSet {
        FileDescriptorSet::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap()
    }

    /// The proto2 test schema (defaults, groups, extensions), compiled.
    fn proto2() -> FileDescriptorSet {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/protos/proto2");
        protox::compile(
            [
                "grpcx/proto2/v1/kitchen.proto",
                "grpcx/proto2/v1/extras.proto",
            ],
            [root],
        )
        .unwrap()
    }

    /// Loads a protoset as `--protoset` does and, when it loads, uses every
    /// descriptor as `describe` and templates do. Panics are the failure.
    fn load_and_use(bytes: &[u8]) -> bool {
        load_into(DescriptorPool::new(), bytes)
    }

    /// The same, adding to a pool that already holds files (a second
    /// `--protoset`, or a later reflection answer).
    fn load_into(mut pool: DescriptorPool, bytes: &[u8]) -> bool {
        if crate::schema::files::add_protoset(&mut pool, bytes).is_err() {
            return false;
        }
        let mut renderer = crate::describe::Renderer::default();
        let mut plans = crate::transcode::Plans::new(&Default::default());
        for service in pool.services() {
            renderer.render(&Symbol::Service(service));
        }
        for message in pool.all_messages() {
            renderer.render(&Symbol::Message(message.clone()));
            let template = serde_json::to_string(&crate::template::for_message(&message)).unwrap();
            // The template read back as input, as `call` reads it.
            let mut de = serde_json::Deserializer::from_str(&template);
            if let Ok(parsed) = prost_reflect::DynamicMessage::deserialize(message.clone(), &mut de)
            {
                crate::required::first_missing(&parsed);
                let _ = serde_json::to_string(&parsed);
            }
            for field in message.fields() {
                field.default_value();
            }
            // Some wire (the set's own bytes) read as this type, by both
            // JSON paths.
            let wire = &bytes[..bytes.len().min(256)];
            if let Ok(decoded) = prost_reflect::DynamicMessage::decode(message.clone(), wire) {
                let _ = serde_json::to_string(&decoded);
            }
            let mut out = Vec::new();
            crate::transcode::write_json(
                &mut plans,
                &message,
                wire,
                &mut out,
                serde_json::ser::CompactFormatter,
            );
        }
        for extension in pool.all_extensions() {
            renderer.render(&Symbol::Extension(extension));
        }
        for enumeration in pool.all_enums() {
            renderer.render(&Symbol::Enum(enumeration));
        }
        true
    }

    #[test]
    fn the_test_schema_passes() {
        let set = base();
        files(&set.file, None).unwrap();
        assert!(load_and_use(&set.encode_to_vec()));
    }

    fn refused(set: &FileDescriptorSet) -> String {
        let err = files(&set.file, None).expect_err("refused");
        assert!(!load_and_use(&set.encode_to_vec()));
        err.to_string()
    }

    #[test]
    fn bad_sets_are_refused_with_the_file_named() {
        let mut set = base();
        set.file[0].syntax = Some("proto4".into());
        assert!(refused(&set).contains("unknown syntax 'proto4'"));

        let mut set = base();
        let name = set.file[0].name().to_string();
        set.file[0].dependency.push(name.clone());
        assert_eq!(refused(&set), format!("{name} imports itself"));

        let mut set = base();
        set.file.push(set.file[0].clone());
        assert!(refused(&set).contains("two files named"));

        let mut set = base();
        let last = set.file.len() - 1;
        let last_name = set.file[last].name().to_string();
        set.file[0].dependency.push(last_name);
        let first_name = set.file[0].name().to_string();
        set.file[last].dependency.push(first_name);
        assert!(refused(&set).starts_with("import cycle: "));

        let mut set = base();
        set.file[0].dependency.push("nowhere.proto".into());
        assert!(refused(&set).contains("'nowhere.proto', which the schema does not include"));

        let mut set = base();
        let field = set
            .file
            .iter_mut()
            .flat_map(|f| f.message_type.iter_mut())
            .flat_map(|m| m.field.iter_mut())
            .find(|f| f.type_name().starts_with('.'))
            .unwrap();
        field.type_name = Some(".nowhere.Type".into());
        assert!(refused(&set).contains("'nowhere.Type', which nothing defines"));

        // Names that describe would print: an escape sequence in a field's
        // name, a line break in a service's, a package's or a JSON name.
        let mut set = base();
        let message = set
            .file
            .iter_mut()
            .flat_map(|f| f.message_type.iter_mut())
            .find(|m| !m.field.is_empty())
            .unwrap();
        message.field[0].name = Some("na\u{1b}[2Jme".into());
        assert!(refused(&set).ends_with("the name 'na\\u{1b}[2Jme' holds a control character"));
        let mut set = base();
        set.file[0]
            .service
            .push(prost_types::ServiceDescriptorProto {
                name: Some("a\nb".into()),
                ..Default::default()
            });
        assert!(refused(&set).ends_with("the name 'a\\nb' holds a control character"));
        let mut set = base();
        set.file[0].package = Some("grpcx.\u{85}".into());
        assert!(refused(&set).ends_with("the name 'grpcx.\\u{85}' holds a control character"));

        let mut set = base();
        set.file[0].public_dependency.push(99);
        assert!(refused(&set).contains("import #99"));
    }

    /// One random change to one descriptor of the set.
    fn mutate(set: &mut FileDescriptorSet, choice: u8, a: usize, b: usize, text: &str, n: i32) {
        let files = set.file.len();
        if files == 0 {
            return;
        }
        let other = set.file[b % files].name().to_string();
        let file = &mut set.file[a % files];
        match choice % 20 {
            0 => file.syntax = Some(text.to_string()),
            1 => file.dependency.push(other),
            2 => file.dependency.push(text.to_string()),
            3 => file.public_dependency.push(n),
            4 => file.weak_dependency.push(n),
            5 => file.package = Some(text.to_string()),
            6 => file.name = Some(other),
            7 => {
                let copy = set.file[a % files].clone();
                set.file.push(copy);
            }
            8 => {
                set.file.remove(a % files);
            }
            _ => {
                let messages = file.message_type.len().max(1);
                let Some(message) = file.message_type.get_mut(b % messages) else {
                    return;
                };
                let count = message.field.len().max(1);
                match (choice % 20, message.field.get_mut(b % count)) {
                    (9, Some(field)) => field.type_name = Some(text.to_string()),
                    (10, Some(field)) => field.r#type = Some(n),
                    (11, Some(field)) => field.label = Some(n),
                    (12, Some(field)) => field.number = Some(n),
                    (13, Some(field)) => field.oneof_index = Some(n),
                    (14, Some(field)) => field.default_value = Some(text.to_string()),
                    (15, Some(field)) => field.json_name = Some(text.to_string()),
                    (16, Some(_)) => {
                        message.field.remove(b % count);
                    }
                    (17, _) => {
                        message
                            .options
                            .get_or_insert_with(Default::default)
                            .map_entry = Some(true)
                    }
                    (18, _) => message.extension_range.push(
                        prost_types::descriptor_proto::ExtensionRange {
                            start: Some(n),
                            end: Some(n.wrapping_add(b as i32 % 5)),
                            options: None,
                        },
                    ),
                    (19, _) => message.oneof_decl.clear(),
                    _ => message.name = Some(text.to_string()),
                }
            }
        }
    }

    proptest! {
        // About 5 s in a debug build: bounded, so every `cargo test` runs it.
        #![proptest_config(ProptestConfig {
            cases: 200,
            max_shrink_time: 10_000,
            ..ProptestConfig::default()
        })]

        /// A protoset cut short anywhere loads or fails, never panics.
        #[test]
        fn truncated_protosets_never_panic(cut in 0usize..100_000) {
            let bytes = crate::server::FILE_DESCRIPTOR_SET;
            load_and_use(&bytes[..cut % bytes.len()]);
        }

        /// Bits flipped anywhere: loads or fails, never panics.
        #[test]
        fn bit_flipped_protosets_never_panic(flips in proptest::collection::vec((0usize..1_000_000, 0u8..8), 1..6)) {
            let mut bytes = crate::server::FILE_DESCRIPTOR_SET.to_vec();
            let len = bytes.len();
            for (at, bit) in flips {
                bytes[at % len] ^= 1 << bit;
            }
            load_and_use(&bytes);
        }

        /// Descriptors changed in ways a decoder cannot see: names, types,
        /// labels, numbers, imports, syntax. Loads or fails, never panics.
        #[test]
        fn mutated_descriptors_never_panic(
            changes in proptest::collection::vec(
                (any::<u8>(), any::<usize>(), any::<usize>(),
                 prop_oneof!["[a-z.]{0,12}", Just(".grpcx.test.v1.Everything".to_string()),
                             Just("editions".to_string()), Just("proto2".to_string())],
                 prop_oneof![any::<i32>(), -2i32..20]),
                1..4),
            proto2_schema: bool,
        ) {
            let mut set = if proto2_schema { proto2() } else { base() };
            for (choice, a, b, text, n) in changes {
                mutate(&mut set, choice, a, b, &text, n);
            }
            let bytes = set.encode_to_vec();
            load_and_use(&bytes);
            // Over the unchanged schema: same names, different files.
            let mut loaded = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
            loaded.add_file_descriptor_set(proto2()).unwrap();
            load_into(loaded, &bytes);
        }
    }
}
