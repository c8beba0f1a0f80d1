//! A call's method from the descriptor cache, re-validated by reflection
//! while the call runs.
//!
//! With a cache hit the call starts at once with the cached descriptors,
//! and reflection asks the server again on the same connection, in the same
//! round trip as the call. Before the first response is printed the call
//! waits for that answer ([`Revalidation::settle`]): responses are always
//! decoded and printed with the server's current schema, and the cache is
//! updated. Only the request can have been encoded with an older schema;
//! then a warning on stderr says so. On a miss (or with the cache off) the
//! method is resolved by reflection first, and the files it needed stored.

use anyhow::{Result, anyhow};
use prost_reflect::{DescriptorPool, Kind, MessageDescriptor, MethodDescriptor, ServiceDescriptor};
use prost_types::FileDescriptorProto;
use tonic::metadata::MetadataMap;

use super::cache::{Cache, Key};
use super::{MethodName, Schema};
use crate::cli::{ConnArgs, SchemaArgs};
use crate::error::hinted;
use crate::protocol::Channel;
use crate::transport::Target;

/// Where a command's descriptors may be cached: the cache and the target's key.
#[derive(Clone)]
pub struct CacheSlot {
    pub cache: Cache,
    pub key: Key,
}

impl CacheSlot {
    /// The cache slot of a call's target; None when the cache is off.
    pub fn for_call(target: &Target, conn: &ConnArgs, off: bool) -> Option<CacheSlot> {
        if off {
            return None;
        }
        let tls = crate::transport::uses_tls(target, conn).ok()?;
        Some(CacheSlot {
            cache: Cache::open()?,
            key: Key::new(target, tls, conn.authority.as_deref()),
        })
    }
}

/// A method found, and the re-validation still running when it came from
/// the cache.
pub struct Resolved {
    pub schema: Schema,
    pub method: MethodDescriptor,
    pub pending: Option<Revalidation>,
}

/// Resolves `name`: from the cache when `slot` holds it, otherwise from the
/// schema arguments (reflection or files), storing what reflection gave. An
/// offline schema needs no `channel`.
pub async fn resolve(
    args: &SchemaArgs,
    slot: Option<CacheSlot>,
    channel: Option<&Channel>,
    metadata: &MetadataMap,
    max_message_size: usize,
    name: &MethodName,
) -> Result<Resolved> {
    let load = || {
        Schema::load(args, channel, metadata, false)
            .map(|schema| schema.with_max_message_size(max_message_size))
    };
    let slot = slot.filter(|_| !args.is_offline());
    if let Some(slot) = &slot
        && let Some(cached) = from_cache(slot, name)
    {
        let mut fresh = load()?;
        let wanted = name.clone();
        let task = tokio::spawn(async move {
            let method = fresh.method(&wanted).await;
            (fresh, method)
        });
        let mut schema = load()?;
        schema.pool = cached.parent_pool().clone();
        return Ok(Resolved {
            schema,
            method: cached.clone(),
            pending: Some(Revalidation {
                task,
                slot: slot.clone(),
                cached,
            }),
        });
    }
    let mut schema = load()?;
    let method = schema.method(name).await?;
    if let Some(slot) = &slot {
        store(slot, method.parent_service());
    }
    Ok(Resolved {
        schema,
        method,
        pending: None,
    })
}

/// Resolves `name` as `call` does (see [`resolve`]), for the commands that
/// make many calls (`--each`, `bench`): a cached method's re-validation is
/// settled before they start, so every call uses the server's current schema.
pub async fn resolve_settled(
    args: &SchemaArgs,
    slot: Option<CacheSlot>,
    channel: &Channel,
    metadata: &MetadataMap,
    max_message_size: usize,
    name: &MethodName,
) -> Result<(Schema, MethodDescriptor)> {
    let resolved = resolve(args, slot, Some(channel), metadata, max_message_size, name).await?;
    match resolved.pending {
        Some(revalidation) => revalidation.settle(false).await,
        None => Ok((resolved.schema, resolved.method)),
    }
}

/// The method from a cached entry; None for a miss, or an entry that no
/// longer makes a pool holding the method.
fn from_cache(slot: &CacheSlot, name: &MethodName) -> Option<MethodDescriptor> {
    let files = slot.cache.load(&slot.key, &name.service)?;
    // An entry is a file anyone could have written: checked like a server's
    // answer before prost-reflect sees it.
    super::validate::files(&files, None).ok()?;
    super::validate::ready_for_pool(&files).ok()?;
    let mut pool = DescriptorPool::new();
    pool.add_file_descriptor_protos(files).ok()?;
    pool.get_service_by_name(&name.service)?
        .methods()
        .find(|m| m.name() == name.method)
}

/// Stores the files `service` needs; a cache that cannot be written is no
/// reason to fail a call, so errors are dropped.
fn store(slot: &CacheSlot, service: &ServiceDescriptor) {
    let _ = slot
        .cache
        .store(&slot.key, service.full_name(), &files_of(service));
}

/// The file of `service` and every file it imports, imports first.
fn files_of(service: &ServiceDescriptor) -> Vec<FileDescriptorProto> {
    let file = service.parent_file();
    super::export::with_imports(service.parent_pool(), [file.name()])
        .iter()
        .map(|file| file.file_descriptor_proto().clone())
        .collect()
}

/// Reflection asking again for a method that came from the cache.
pub struct Revalidation {
    task: tokio::task::JoinHandle<(Schema, Result<MethodDescriptor>)>,
    slot: CacheSlot,
    cached: MethodDescriptor,
}

impl Revalidation {
    /// Waits for the server's current schema and updates the cache with it.
    /// When a request was already `encoded` with the cached type, warns if
    /// the server's request type differs.
    pub async fn settle(self, encoded: bool) -> Result<(Schema, MethodDescriptor)> {
        let (schema, method) = self
            .task
            .await
            .map_err(|err| anyhow!("reflection stopped: {err}"))?;
        let method = method.inspect_err(|_| {
            let service = self.cached.parent_service();
            self.slot.cache.remove(&self.slot.key, service.full_name());
        })?;
        if files_of(method.parent_service()) != files_of(self.cached.parent_service()) {
            store(&self.slot, method.parent_service());
            if encoded && !same_type(&self.cached.input(), &method.input()) {
                eprintln!(
                    "grpcx: warning: the request was encoded with the cached schema of {}, which \
                     the server has changed since; the response is shown with the new schema",
                    self.cached.input().full_name()
                );
            }
        }
        Ok((schema, method))
    }

    /// Settles a stream of requests that began with the cached request
    /// type: fails if the server's request type is no longer that one.
    pub async fn confirm(self) -> Result<(Schema, MethodDescriptor)> {
        let cached = self.cached.input();
        let (schema, method) = self.settle(false).await?;
        if !same_type(&cached, &method.input()) {
            return Err(hinted(
                format!(
                    "the server has changed {} since grpcx cached its schema; the stream \
                     of requests began with the old type, so it was cancelled before its end",
                    cached.full_name()
                ),
                "run the call again: the cache now holds the new schema",
            ));
        }
        Ok((schema, method))
    }
}

/// Whether a message type, and every type it reaches, is defined the same
/// in both pools.
fn same_type(old: &MessageDescriptor, new: &MessageDescriptor) -> bool {
    if old.full_name() != new.full_name() {
        return false;
    }
    let pool = new.parent_pool();
    super::graph::reachable(std::slice::from_ref(old)).all(|message| {
        let now = pool.get_message_by_name(message.full_name());
        now.is_some_and(|now| now.descriptor_proto() == message.descriptor_proto())
            && message.fields().all(|field| match field.kind() {
                Kind::Enum(e) => pool
                    .get_enum_by_name(e.full_name())
                    .is_some_and(|now| now.enum_descriptor_proto() == e.enum_descriptor_proto()),
                _ => true,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "syntax = \"proto3\"; package t;
        message Req { Inner inner = 1; E e = 2; }
        message Inner { string a = 1; }
        enum E { E0 = 0; }
        message Reply { string r = 1; }
        service S { rpc M(Req) returns (Reply); }";

    fn req(source: &str) -> MessageDescriptor {
        let pool = crate::testing::compile(&[("t.proto", source)]);
        pool.get_message_by_name("t.Req").unwrap()
    }

    #[test]
    fn a_request_type_is_the_same_only_when_all_it_reaches_is() {
        assert!(same_type(&req(BASE), &req(BASE)));
        let reply_changed = BASE.replace("string r = 1;", "string r = 1; int32 n = 2;");
        assert!(same_type(&req(BASE), &req(&reply_changed)));
        let inner_changed = BASE.replace("string a = 1;", "string a = 1; int32 b = 2;");
        assert!(!same_type(&req(BASE), &req(&inner_changed)));
        let enum_changed = BASE.replace("E0 = 0;", "E0 = 0; E1 = 1;");
        assert!(!same_type(&req(BASE), &req(&enum_changed)));
    }

    #[test]
    fn files_of_a_service_come_imports_first() {
        let pool = crate::testing::compile(&[
            ("a.proto", "syntax = \"proto3\"; package t; message A {}"),
            (
                "b.proto",
                "syntax = \"proto3\"; package t; import \"a.proto\"; service S { rpc M(A) returns (A); }",
            ),
        ]);
        let names: Vec<String> = files_of(&pool.get_service_by_name("t.S").unwrap())
            .into_iter()
            .map(|f| f.name().to_string())
            .collect();
        assert_eq!(names, ["a.proto", "b.proto"]);
    }
}
