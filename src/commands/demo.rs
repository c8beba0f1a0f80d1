//! `grpcx demo`: a tour for newcomers. Starts the bundled server in-process
//! on a free port, then runs real grpcx commands against it, printing each
//! command line before its output.

use anyhow::{Context, Result};
use clap::Parser as _;
use tokio::sync::oneshot;

use crate::cli::Cli;
use crate::server;

/// The tour: a title, then the command line after `grpcx`, split as a shell
/// splits it (`ADDR` is replaced by the server's address).
const STEPS: &[(&str, &str)] = &[
    (
        "What does the server offer? grpcx asks its reflection service.",
        "list ADDR",
    ),
    (
        "The methods of one service:",
        "list ADDR helloworld.Greeter",
    ),
    (
        "A unary call. JSON in, JSON out:",
        r#"call ADDR helloworld.Greeter/SayHello '{"name":"you"}'"#,
    ),
    (
        "A server stream: each reply prints the moment it arrives.",
        r#"call ADDR helloworld.Greeter/SayHelloStreamReply -d '{"name":"you"}'"#,
    ),
    (
        "Bidi streaming: every request is answered at once (try -d @- and type).",
        r#"call ADDR helloworld.Greeter/SayHelloBidiStream -d '{"name":"Ada"} {"name":"Grace"}'"#,
    ),
    (
        "The same call over Connect (HTTP/1.1), as a connect-es or curl client makes it:",
        r#"call ADDR helloworld.Greeter/SayHello '{"name":"Connect"}' --protocol connect"#,
    ),
    (
        "A failing call: the exit code carries the gRPC status (64 + 5 = 69).",
        "call ADDR helloworld.Greeter/SayHello -H 'x-grpcx-fail: NOT_FOUND'",
    ),
];

pub async fn run() -> Result<()> {
    let (listener, addr) = server::bind("127.0.0.1:0").await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let options = server::Options::bundled();
    let server = tokio::spawn(server::serve(listener, options, async {
        let _ = stopped.await;
    }));
    println!("grpcx demo: the bundled greeter is listening on {addr}.");
    println!("Run it yourself with `grpcx serve`; every command below works against it.");
    let addr = addr.to_string();
    for (title, step) in STEPS {
        let args = super::completions::split_words(&step.replace("ADDR", &addr));
        println!("\n# {title}");
        println!("$ grpcx {}", crate::cli::shell_words(&args));
        let cli =
            Cli::try_parse_from(std::iter::once("grpcx").chain(args.iter().map(String::as_str)))
                .context("a demo step does not parse")?;
        if let Err(err) = Box::pin(crate::dispatch(cli.command)).await {
            crate::error::report(&err);
            println!("(exit code {})", crate::error::exit_code(&err));
        }
    }
    println!("\nThat's the tour. `grpcx --help` and `grpcx call --help` have the rest.");
    let _ = stop.send(());
    server.await.context("the demo server panicked")??;
    Ok(())
}
