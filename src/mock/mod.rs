//! `grpcx serve` for any schema: a mock server. It owns the schema being
//! served (from `--proto`/`--protoset`, or a server's reflection), the
//! stubs it answers from (`--stubs`, reloaded when the files change), the
//! call log (`--log`), and the recording proxy (`--record DIR --upstream`).
//!
//! The mock is a tower layer in front of the bundled server's routes
//! ([`MockService`]): a gRPC call to one of the schema's services is answered
//! here; anything else (reflection, health, the greeter) passes through.
//! Connect and gRPC-Web are turned into gRPC by the layers outside it, so
//! every protocol reaches the same stubs.
//!
//! - [`stubs`]: stub files, checked against the schema ([`shape`]: the
//!   methods, messages and faults the rest share);
//! - [`matcher`]: `when`; [`answer`]: `then` and its templates;
//! - [`call`]: one call answered from the stubs; [`record`]: one call
//!   forwarded and written down; [`wire`]: the gRPC framing both use;
//! - [`log`]: the call log.

mod answer;
mod call;
mod log;
mod matcher;
mod record;
mod shape;
pub mod stubs;
mod wire;

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use anyhow::{Result, anyhow};
use prost_reflect::{DescriptorPool, MethodDescriptor};
use tonic::body::Body;
use tower_service::Service;

use crate::cli::{ConnArgs, MockArgs, SchemaArgs};
use crate::protocol;
use crate::schema::Schema;
use crate::transport::Target;
use crate::verbose::Verbose;

use log::CallLog;
use stubs::StubSet;

/// Services every server here has of its own; a schema's copies of them
/// are not mocked.
const OWN_SERVICES: [&str; 3] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.health.v1.Health",
];

/// How often the stub files are checked for changes.
const RELOAD_EVERY: Duration = Duration::from_millis(250);

/// The schema, the stubs, and where calls are logged or forwarded.
pub struct Mock {
    pool: DescriptorPool,
    services: BTreeSet<String>,
    stubs: RwLock<Arc<StubSet>>,
    stubs_path: Option<PathBuf>,
    log: Option<CallLog>,
    recorder: Option<record::Recorder>,
}

impl Mock {
    /// Loads the schema and the stubs; any error here stops the server
    /// before it listens.
    pub async fn load(args: &MockArgs, conn: &ConnArgs) -> Result<Mock> {
        let verbose = Verbose::new(conn.verbose);
        let upstream = match &args.upstream {
            Some(target) => Some(protocol::connect(&Target::parse(target)?, conn, &verbose).await?),
            None => None,
        };
        let pool = match (&args.schema_from, &upstream) {
            _ if args.schema.is_offline() => {
                Schema::load(&args.schema, None, &Default::default(), false)?
                    .pool()
                    .clone()
            }
            (Some(target), _) => {
                let channel = protocol::connect(&Target::parse(target)?, conn, &verbose).await?;
                reflected(&channel).await?
            }
            (None, Some(channel)) => reflected(channel).await?,
            (None, None) => {
                return Err(anyhow!(
                    "a mock needs a schema: give --proto, --protoset or --schema-from TARGET"
                ));
            }
        };
        let services: BTreeSet<String> = pool
            .services()
            .map(|s| s.full_name().to_string())
            .filter(|name| !OWN_SERVICES.contains(&name.as_str()))
            .collect();
        if services.is_empty() {
            return Err(anyhow!("the schema has no services to serve"));
        }
        let stubs = match &args.stubs {
            Some(path) => stubs::load(path, &pool)?,
            None => StubSet::default(),
        };
        let log = match &args.log {
            Some(spec) => Some(CallLog::open(spec, conn.verbose >= 2)?),
            None => None,
        };
        let recorder = match (&args.record, upstream) {
            (Some(dir), Some(channel)) => Some(record::Recorder::new(dir, channel, conn, verbose)?),
            _ => None,
        };
        Ok(Mock {
            pool,
            services,
            stubs: RwLock::new(Arc::new(stubs)),
            stubs_path: args.stubs.clone(),
            log,
            recorder,
        })
    }

    /// The services mocked, by full name.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(String::as_str)
    }

    /// How many stubs are loaded.
    pub fn stub_count(&self) -> usize {
        self.stubs().len()
    }

    /// Whether calls are forwarded and recorded.
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// The schema as a FileDescriptorSet, for the reflection service.
    pub fn descriptor_set(&self) -> Vec<u8> {
        self.pool.encode_to_vec()
    }

    fn stubs(&self) -> Arc<StubSet> {
        self.stubs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The method a request path names, if it is one of the mock's.
    fn method(&self, path: &str) -> Option<MethodDescriptor> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        if !self.services.contains(service) {
            return None;
        }
        self.pool
            .get_service_by_name(service)?
            .methods()
            .find(|m| m.name() == method)
    }

    /// Reloads the stubs whenever their files change, for as long as the
    /// server runs. A broken set keeps the last good one and says why.
    pub fn watch(self: &Arc<Self>) {
        let Some(path) = self.stubs_path.clone() else {
            return;
        };
        let mock = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut seen = fingerprint(&path);
            loop {
                tokio::time::sleep(RELOAD_EVERY).await;
                let Some(mock) = mock.upgrade() else {
                    return;
                };
                let now = fingerprint(&path);
                if now == seen {
                    continue;
                }
                seen = now;
                match stubs::load(&path, &mock.pool) {
                    Ok(set) => {
                        let count = set.len();
                        *mock.stubs.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
                        eprintln!(
                            "grpcx serve: reloaded {count} stubs from {}",
                            path.display()
                        );
                    }
                    Err(err) => eprintln!("grpcx serve: {err:#}; keeping the last good stubs"),
                }
            }
        });
    }
}

/// Every service a server reflects, with what they need.
async fn reflected(channel: &protocol::Channel) -> Result<DescriptorPool> {
    let mut schema = Schema::load(
        &SchemaArgs::default(),
        Some(channel),
        &Default::default(),
        false,
    )?;
    let names: Vec<String> = schema
        .service_names()
        .await?
        .into_iter()
        .filter(|name| !OWN_SERVICES.contains(&name.as_str()))
        .collect();
    schema.fetch_symbols(&names).await?;
    Ok(schema.pool().clone())
}

/// What the stub files look like now: each file's name, size and time.
fn fingerprint(path: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    stubs::files(path)
        .unwrap_or_default()
        .into_iter()
        .map(|file| {
            let meta = std::fs::metadata(&file).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (file, len, modified)
        })
        .collect()
}

/// The mock in front of the bundled server's routes, as a tower layer.
#[derive(Clone)]
pub struct MockService<S> {
    pub inner: S,
    /// Without a mock, everything passes through.
    pub mock: Option<Arc<Mock>>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<http::Request<Body>> for MockService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let found = self
            .mock
            .as_ref()
            .and_then(|mock| Some((mock.clone(), mock.method(request.uri().path())?)));
        let Some((mock, method)) = found else {
            return Box::pin(self.inner.call(request));
        };
        Box::pin(async move {
            Ok(match &mock.recorder {
                Some(_) => record::forward(mock.clone(), method, request).await,
                None => call::serve(mock.clone(), method, request).await,
            })
        })
    }
}
