//! `grpcx list`: the services of a server or schema, or one service's methods.

use anyhow::Result;
use prost_reflect::MethodDescriptor;

use crate::cli::ListArgs;
use crate::metadata::RequestMetadata;
use crate::output::Printer;
use crate::protocol;
use crate::schema::{Schema, Unresolved};
use crate::transport::{self, Target};
use crate::verbose::Verbose;

/// Runs the listing under `--max-time`.
pub async fn run(args: ListArgs) -> Result<()> {
    transport::within(args.conn.max_time(), list(args)).await
}

async fn list(args: ListArgs) -> Result<()> {
    let mut printer = Printer::lines();
    // A single positional that is not a target is the service.
    let (target, service) = match (args.target, args.service) {
        (Some(first), None) if !Target::looks_like_target(&first) => (None, Some(first)),
        pair => pair,
    };
    let metadata = RequestMetadata::from_args(&args.conn)?.reflection;
    let verbose = Verbose::new(args.conn.verbose);
    // Offline schemas need no connection, even when a target is given.
    let channel = match target {
        Some(target) if !args.schema.is_offline() => {
            Some(protocol::connect(&Target::parse(&target)?, &args.conn, &verbose).await?)
        }
        _ => None,
    };
    let mut schema = Schema::load(&args.schema, channel.as_ref(), &metadata, false)?
        .with_max_message_size(args.conn.max_msg_size);
    let mut unresolved = Vec::new();
    let mut shown = 0;
    match service {
        // Plain names need no descriptors: by reflection, one request.
        None if !args.long && args.protoset_out.is_none() => {
            for name in schema.service_names().await? {
                printer.line(&name)?;
            }
        }
        // Services whose schema does not build are named, and the rest
        // listed (as `describe` does).
        None => {
            let (services, missing) = schema.services_resolving().await?;
            Unresolved::warn(&missing);
            unresolved = missing;
            shown = services.len();
            for service in services {
                match args.long {
                    true => service
                        .methods()
                        .try_for_each(|m| printer.line(&long(&m)))?,
                    false => printer.line(service.full_name())?,
                }
            }
        }
        Some(name) => {
            let service = schema.service(&name).await?;
            for method in service.methods() {
                match args.long {
                    true => printer.line(&long(&method))?,
                    false => printer.line(method.full_name())?,
                }
            }
        }
    }
    if let Some(path) = &args.protoset_out {
        schema.write_protoset(path)?;
    }
    verbose.phase("schema", "listed");
    printer.flush()?;
    Unresolved::outcome(&unresolved, shown)
}

/// `name<TAB>kind<TAB>request<TAB>response`, for `--long`.
fn long(method: &MethodDescriptor) -> String {
    let kind = crate::schema::method_kind(method);
    format!(
        "{}\t{kind}\t{}\t{}",
        method.full_name(),
        method.input().full_name(),
        method.output().full_name()
    )
}
