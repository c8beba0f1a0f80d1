//! `grpcx list`: the services of a server or schema, or one service's methods.

use anyhow::Result;

use crate::cli::ListArgs;
use crate::metadata;
use crate::output::Printer;
use crate::schema::Schema;
use crate::transport::{self, Target};

pub async fn run(args: ListArgs) -> Result<()> {
    let mut printer = Printer::lines();
    // A single positional that is not a target is the service.
    let (target, service) = match (args.target, args.service) {
        (Some(first), None) if !Target::looks_like_target(&first) => (None, Some(first)),
        pair => pair,
    };
    let metadata = metadata::parse_headers(&args.conn.headers)?;
    // Offline schemas need no connection, even when a target is given.
    let channel = match target {
        Some(target) if !args.schema.is_offline() => {
            Some(transport::connect(&Target::parse(&target)?, &args.conn).await?)
        }
        _ => None,
    };
    let mut schema = Schema::load(&args.schema, channel.as_ref(), &metadata, false)?;
    match service {
        None => {
            for name in schema.service_names().await? {
                printer.line(&name)?;
            }
        }
        Some(name) => {
            let service = schema.service(&name).await?;
            for method in service.methods() {
                printer.line(method.full_name())?;
            }
        }
    }
    printer.flush()
}
