//! `grpcx describe`: symbols as proto source, as descriptor JSON, or as a
//! JSON request template.

use anyhow::Result;

use crate::cli::{DescribeArgs, DescribeFormat, OutputArgs};
use crate::describe::{self, Renderer};
use crate::error::UsageError;
use crate::metadata::RequestMetadata;
use crate::output::Printer;
use crate::schema::{Schema, Symbol, Unresolved};
use crate::template;
use crate::transport::{self, Target};

/// Runs under `--max-time`.
pub async fn run(args: DescribeArgs) -> Result<()> {
    transport::within(args.conn.max_time(), describe(args)).await
}

async fn describe(args: DescribeArgs) -> Result<()> {
    // A single positional that is not a target is the symbol.
    let (target, symbol) = match (args.target, args.symbol) {
        (Some(first), None) if !Target::looks_like_target(&first) => (None, Some(first)),
        pair => pair,
    };
    if args.template && symbol.is_none() {
        return Err(UsageError("--template needs a message or method to describe".into()).into());
    }
    let metadata = RequestMetadata::from_args(&args.conn)?.reflection;
    let channel = match target {
        Some(target) if !args.schema.is_offline() => {
            let verbose = crate::verbose::Verbose::new(args.conn.verbose);
            Some(crate::protocol::connect(&Target::parse(&target)?, &args.conn, &verbose).await?)
        }
        _ => None,
    };
    // Only text output prints comments, so only it pays for source info.
    let comments = args.format == DescribeFormat::Text && !args.template;
    let mut schema = Schema::load(&args.schema, channel.as_ref(), &metadata, comments)?
        .with_max_message_size(args.conn.max_msg_size);
    let mut unresolved = Vec::new();
    let symbols = match &symbol {
        Some(name) => vec![schema.symbol(name).await?],
        None => {
            let (services, missing) = schema.services_resolving().await?;
            unresolved = missing;
            services.into_iter().map(Symbol::Service).collect()
        }
    };
    // Services whose schema does not build are named, and the rest shown.
    Unresolved::warn(&unresolved);
    if let Some(path) = &args.protoset_out {
        schema.write_protoset(path)?;
    }

    // JSON descriptors print as messages do (pretty on a terminal).
    let mut printer = match args.format {
        DescribeFormat::Json => Printer::new(&OutputArgs::default()),
        DescribeFormat::Text => Printer::lines(),
    };
    if args.template {
        let message = match &symbols[0] {
            Symbol::Message(m) => m.clone(),
            Symbol::Method(m) => m.input(),
            other => {
                return Err(anyhow::anyhow!(
                    "{} is a {}; a template needs a message or a method",
                    other.full_name(),
                    other.kind()
                ));
            }
        };
        let template = template::for_message(&message);
        printer.line(&serde_json::to_string_pretty(&template)?)?;
        return printer.flush();
    }
    match args.format {
        DescribeFormat::Text => {
            let mut renderer = Renderer::default();
            for (i, symbol) in symbols.iter().enumerate() {
                if i > 0 {
                    printer.line("")?;
                }
                printer.line(renderer.render(symbol).trim_end())?;
            }
        }
        DescribeFormat::Json => {
            for symbol in &symbols {
                printer.message(&describe::descriptor_message(symbol))?;
            }
        }
    }
    printer.flush()?;
    Unresolved::outcome(&unresolved, symbols.len())
}
