//! Symbols of every kind a user may name: services, methods, messages
//! (nested too), enums, enum values and fields, found by full name.

use prost_reflect::{
    DescriptorPool, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor, FieldDescriptor,
    FileDescriptor, MessageDescriptor, MethodDescriptor, ServiceDescriptor,
};

/// A named descriptor.
#[derive(Debug, Clone)]
pub enum Symbol {
    Service(ServiceDescriptor),
    Method(MethodDescriptor),
    Message(MessageDescriptor),
    Enum(EnumDescriptor),
    EnumValue(EnumValueDescriptor),
    Field(FieldDescriptor),
    Extension(ExtensionDescriptor),
}

impl Symbol {
    /// The file that defines the symbol.
    pub fn file(&self) -> FileDescriptor {
        match self {
            Symbol::Service(s) => s.parent_file(),
            Symbol::Method(m) => m.parent_service().parent_file(),
            Symbol::Message(m) => m.parent_file(),
            Symbol::Enum(e) => e.parent_file(),
            Symbol::EnumValue(v) => v.parent_enum().parent_file(),
            Symbol::Field(f) => f.parent_message().parent_file(),
            Symbol::Extension(e) => e.parent_file(),
        }
    }

    pub fn full_name(&self) -> &str {
        match self {
            Symbol::Service(s) => s.full_name(),
            Symbol::Method(m) => m.full_name(),
            Symbol::Message(m) => m.full_name(),
            Symbol::Enum(e) => e.full_name(),
            Symbol::EnumValue(v) => v.full_name(),
            Symbol::Field(f) => f.full_name(),
            Symbol::Extension(e) => e.full_name(),
        }
    }

    /// What kind of symbol this is, in words.
    pub fn kind(&self) -> &'static str {
        match self {
            Symbol::Service(_) => "service",
            Symbol::Method(_) => "method",
            Symbol::Message(_) => "message",
            Symbol::Enum(_) => "enum",
            Symbol::EnumValue(_) => "enum value",
            Symbol::Field(_) => "field",
            Symbol::Extension(_) => "extension",
        }
    }
}

/// The name as the pool spells it: no leading dot, and `Service/Method`
/// written `Service.Method`.
pub fn normalize(name: &str) -> String {
    name.trim().trim_start_matches('.').replace('/', ".")
}

/// The name's parent scope: `a.b.C` → `a.b`; a name without a dot has none.
pub fn parent_scope(name: &str) -> Option<&str> {
    name.rsplit_once('.').map(|(parent, _)| parent)
}

/// Finds a symbol of any kind in the pool. `name` is normalized.
pub fn find(pool: &DescriptorPool, name: &str) -> Option<Symbol> {
    let found = pool
        .get_service_by_name(name)
        .map(Symbol::Service)
        .or_else(|| pool.get_message_by_name(name).map(Symbol::Message))
        .or_else(|| pool.get_enum_by_name(name).map(Symbol::Enum))
        .or_else(|| pool.get_extension_by_name(name).map(Symbol::Extension));
    if found.is_some() {
        return found;
    }
    let (parent, leaf) = name.rsplit_once('.')?;
    if let Some(service) = pool.get_service_by_name(parent) {
        return service
            .methods()
            .find(|m| m.name() == leaf)
            .map(Symbol::Method);
    }
    if let Some(message) = pool.get_message_by_name(parent) {
        return message.get_field_by_name(leaf).map(Symbol::Field);
    }
    // `pkg.Color.RED`: not the proto spelling, but the one people guess.
    if let Some(value) = pool
        .get_enum_by_name(parent)
        .and_then(|e| e.get_value_by_name(leaf))
    {
        return Some(Symbol::EnumValue(value));
    }
    // `pkg.RED`: enum values live in their enum's parent scope.
    pool.all_enums()
        .filter(|e| parent_scope(e.full_name()) == Some(parent))
        .find_map(|e| e.get_value_by_name(leaf))
        .map(Symbol::EnumValue)
}

/// The full names a user is likely to mean, for "did you mean".
pub fn names(pool: &DescriptorPool) -> Vec<String> {
    let mut names = Vec::new();
    for service in pool.services() {
        names.push(service.full_name().to_string());
        names.extend(service.methods().map(|m| m.full_name().to_string()));
    }
    names.extend(
        pool.all_messages()
            .filter(|m| !m.is_map_entry())
            .map(|m| m.full_name().to_string()),
    );
    names.extend(pool.all_enums().map(|e| e.full_name().to_string()));
    names.extend(pool.all_extensions().map(|e| e.full_name().to_string()));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[test]
    fn finds_every_kind() {
        let pool = pool();
        let kind = |name: &str| find(&pool, &normalize(name)).map(|s| s.kind());
        assert_eq!(kind("helloworld.Greeter"), Some("service"));
        assert_eq!(kind("helloworld.Greeter/SayHello"), Some("method"));
        assert_eq!(kind(".helloworld.Greeter.SayHello"), Some("method"));
        assert_eq!(kind("grpcx.test.v1.Everything"), Some("message"));
        assert_eq!(kind("grpcx.test.v1.Everything.Inner"), Some("message"));
        assert_eq!(kind("grpcx.test.v1.Everything.f_int32"), Some("field"));
        assert_eq!(kind("grpcx.test.v1.Color"), Some("enum"));
        assert_eq!(kind("grpcx.test.v1.COLOR_RED"), Some("enum value"));
        assert_eq!(kind("grpcx.test.v1.Color.COLOR_RED"), Some("enum value"));
        assert_eq!(kind("Hello.Hello"), Some("method"));
        assert_eq!(kind("grpcx.test.v1.Nope"), None);
        assert_eq!(kind("nope"), None);
    }
}
