//! `grpcx shell`: connects once, loads the schema once (every service, so
//! that Tab completion knows them all), then hands over to the session in
//! `crate::shell`: the line editor on a terminal, stdin line by line from a
//! pipe.

use std::io::IsTerminal as _;
use std::sync::{Arc, RwLock};

use anyhow::Result;

use crate::cli::{ColorChoice, ShellArgs};
use crate::metadata::RequestMetadata;
use crate::protocol;
use crate::schema::{Schema, Unresolved};
use crate::shell::complete::Names;
use crate::shell::history::HistoryFile;
use crate::shell::input::Input;
use crate::shell::{self, Headers, Session, Settings};
use crate::transport::Target;
use crate::verbose::Verbose;

pub async fn run(args: ShellArgs) -> Result<()> {
    let terminal = std::io::stdin().is_terminal();
    let verbose = Verbose::new(args.conn.verbose);
    let metadata = RequestMetadata::from_args(&args.conn)?;
    let channel = match &args.target {
        Some(target) => {
            let target = Target::parse(target)?;
            Some(protocol::connect(&target, &args.conn, &verbose).await?)
        }
        None => None,
    };
    // Comments too: `describe` shows them.
    let mut schema = Schema::load(&args.schema, channel.as_ref(), &metadata.reflection, true)?
        .with_max_message_size(args.conn.max_msg_size);
    let (services, missing) = schema.services_resolving().await?;
    Unresolved::warn(&missing);

    let mut output = args.output.clone();
    // Piped, only results print: no colours unless asked for.
    if !terminal && output.color == ColorChoice::Auto {
        output.color = ColorChoice::Never;
    }
    let settings = Settings {
        output,
        deadline: args.conn.max_time(),
        allow_unknown_fields: args.allow_unknown_fields,
        verbose: args.conn.verbose,
    };
    let names = Arc::new(RwLock::new(Names::default()));
    let input = match terminal {
        true => {
            let history = if args.no_history {
                None
            } else {
                HistoryFile::open()
            };
            let input = Input::editor(names.clone(), history)?;
            let target = args.target.as_deref().unwrap_or("no server");
            eprintln!(
                "grpcx shell: {target}, {} service{}. `help` lists the commands, Tab completes, Ctrl-D exits.",
                services.len(),
                if services.len() == 1 { "" } else { "s" }
            );
            input
        }
        false => Input::pipe(),
    };
    let session = Session {
        channel,
        schema: tokio::sync::Mutex::new(schema),
        settings,
        headers: Headers::from_map(&metadata.call),
        conn: args.conn,
        service: None,
        names,
    };
    shell::run(session, input).await
}
