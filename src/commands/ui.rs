//! `grpcx ui`: connects as `call` does (or starts the bundled server when
//! no target is given), listens on loopback, prints the page's URL with its
//! token, opens a browser, and serves `crate::ui` until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

use crate::cli::UiArgs;
use crate::error::UsageError;
use crate::metadata::RequestMetadata;
use crate::protocol;
use crate::schema::Schema;
use crate::server;
use crate::transport::Target;
use crate::ui::{self, Ui, guard::Guard, history::History};
use crate::verbose::Verbose;

pub async fn run(args: UiArgs) -> Result<()> {
    let addr = listen_addr(args.listen.as_deref(), args.port)?;
    let metadata = RequestMetadata::from_args(&args.conn)?;
    let verbose = Verbose::new(args.conn.verbose);
    // No target and no schema files: the bundled server, in-process.
    let mut bundled = None;
    let target = match &args.target {
        Some(target) => Some(target.clone()),
        None if args.schema.is_offline() => None,
        None => {
            let (listener, addr) = server::bind("127.0.0.1:0").await?;
            let (stop, stopped) = oneshot::channel::<()>();
            let options = server::Options::bundled();
            tokio::spawn(server::serve(listener, options, async {
                let _ = stopped.await;
            }));
            bundled = Some(stop);
            Some(addr.to_string())
        }
    };
    let channel = match &target {
        Some(text) => Some(protocol::connect(&Target::parse(text)?, &args.conn, &verbose).await?),
        None => None,
    };
    let schema = Schema::load(&args.schema, channel.as_ref(), &metadata.reflection, true)?
        .with_max_message_size(args.conn.max_msg_size);

    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let guard = Guard::new(local)?;
    let shown_ip = match local.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let url = format!(
        "http://{}/?token={}",
        SocketAddr::new(shown_ip, local.port()),
        guard.token()
    );
    let state = Arc::new(Ui {
        guard,
        target: target.clone().unwrap_or_default(),
        bundled: bundled.is_some(),
        channel,
        schema: Mutex::new(schema),
        schema_args: args.schema.clone(),
        conn: args.conn.clone(),
        call_metadata: metadata.call,
        history: History::open(),
        calls: Default::default(),
        next_call: AtomicU64::new(1),
    });

    // Ctrl-C is caught from before the URL is printed, so that nobody who
    // has seen the URL can interrupt the page before it listens for it.
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot catch Ctrl-C")?;
    let stop = async move {
        #[cfg(unix)]
        interrupt.recv().await;
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    if !local.ip().is_loopback() {
        eprintln!(
            "grpcx: warning: the page listens on {local}, beyond this machine: anyone who \
             reaches it with the URL's token can make calls as you"
        );
    }
    println!("{url}");
    let what = match (&target, bundled.is_some()) {
        (Some(target), true) => format!("the bundled server on {target}"),
        (Some(target), false) => target.clone(),
        (None, _) => "no server (schema only)".to_string(),
    };
    eprintln!("grpcx ui: calling {what}; open the URL above. Ctrl-C stops it.");
    if !args.no_open {
        open_browser(&url);
    }
    ui::serve(listener, state, stop).await?;
    if let Some(stop) = bundled {
        let _ = stop.send(());
    }
    Ok(())
}

/// Where the page listens: 127.0.0.1 unless `--listen` says (`IP` or
/// `IP:PORT`); the port of `--port` unless `--listen` has one.
fn listen_addr(listen: Option<&str>, port: u16) -> Result<SocketAddr> {
    let Some(text) = listen else {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    };
    if let Ok(addr) = text.parse::<SocketAddr>() {
        if port != 0 && addr.port() != port {
            return Err(UsageError(format!(
                "--listen {text} and --port {port} name two ports; give one"
            ))
            .into());
        }
        return Ok(addr);
    }
    let ip = text.trim_matches(['[', ']']);
    match ip.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, port)),
        Err(_) => Err(UsageError(format!(
            "invalid --listen '{text}': expected an IP address or IP:PORT, as in 0.0.0.0:8080"
        ))
        .into()),
    }
}

/// Opens the URL in the user's browser, when there is a display to show it.
fn open_browser(url: &str) {
    let command: Option<(&str, Vec<&str>)> = if cfg!(target_os = "macos") {
        Some(("open", vec![url]))
    } else if cfg!(windows) {
        Some(("cmd", vec!["/C", "start", "", url]))
    } else if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
    {
        Some(("xdg-open", vec![url]))
    } else {
        None
    };
    let Some((program, args)) = command else {
        return;
    };
    let spawned = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("grpcx ui: cannot start {program}; open the URL yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::listen_addr;

    #[test]
    fn the_listen_address() {
        assert_eq!(
            listen_addr(None, 0).unwrap().to_string(),
            "127.0.0.1:0".to_string()
        );
        assert_eq!(
            listen_addr(Some("0.0.0.0"), 8080).unwrap().to_string(),
            "0.0.0.0:8080"
        );
        assert_eq!(
            listen_addr(Some("[::1]:9000"), 0).unwrap().to_string(),
            "[::1]:9000"
        );
        assert!(listen_addr(Some("0.0.0.0:1"), 2).is_err());
        assert!(listen_addr(Some("example.com"), 0).is_err());
    }
}
