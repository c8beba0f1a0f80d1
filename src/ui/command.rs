//! "Copy as command": the `grpcx call` line that makes the same call as the
//! page, with the flags `grpcx ui` was given, and for a unary call over
//! Connect the `curl` line too. Ready to paste into a POSIX shell.

use crate::cli::{ConnArgs, Protocol, SchemaArgs, shell_words};
use crate::transport::{self, Address, Target};

/// What a call is made to, and with which flags.
pub struct Flags<'a> {
    /// The target as typed (the bundled server's address when none was).
    pub target: &'a str,
    pub schema: &'a SchemaArgs,
    pub conn: &'a ConnArgs,
}

/// One call from the page.
pub struct Call<'a> {
    pub method: &'a str,
    /// The request messages, each as compact JSON.
    pub messages: &'a [String],
    /// Metadata added on the page.
    pub metadata: &'a [(String, String)],
    /// The page's deadline, in seconds.
    pub timeout: Option<f64>,
}

/// The `grpcx call …` line.
pub fn grpcx(flags: &Flags, call: &Call) -> String {
    let mut words: Vec<String> = vec!["grpcx".into(), "call".into(), flags.target.into()];
    words.push(call.method.into());
    match call.messages {
        [] => {}
        messages => {
            words.push("-d".into());
            words.push(messages.join(" "));
        }
    }
    for (name, value) in call.metadata {
        words.push("-H".into());
        words.push(format!("{name}: {value}"));
    }
    let timeout = call.timeout.or(flags.conn.max_time);
    if let Some(secs) = timeout {
        words.push("--max-time".into());
        words.push(secs.to_string());
    }
    schema_flags(flags.schema, &mut words);
    conn_flags(flags.conn, &mut words);
    shell_words(&words)
}

/// The `curl …` line of a unary call over Connect, or None (other
/// protocols, or a streaming method, need more than curl sends).
pub fn curl(flags: &Flags, call: &Call, unary: bool) -> Option<String> {
    if flags.conn.protocol != Protocol::Connect || !unary {
        return None;
    }
    let target = Target::parse(flags.target).ok()?;
    let tls = transport::uses_tls(&target, flags.conn).ok()?;
    let scheme = if tls { "https" } else { "http" };
    let mut words: Vec<String> = vec!["curl".into()];
    let authority = match &target.address {
        Address::Unix(path) => {
            words.push("--unix-socket".into());
            words.push(path.display().to_string());
            "localhost".to_string()
        }
        Address::Tcp { .. } => target.authority(),
    };
    if flags.conn.insecure {
        words.push("--insecure".into());
    }
    if let Some(ca) = &flags.conn.cacert {
        words.push("--cacert".into());
        words.push(ca.display().to_string());
    }
    words.push("-H".into());
    words.push("Content-Type: application/json".into());
    let headers = flags
        .conn
        .headers
        .iter()
        .chain(&flags.conn.rpc_headers)
        .cloned()
        .chain(call.metadata.iter().map(|(n, v)| format!("{n}: {v}")));
    for header in headers {
        words.push("-H".into());
        words.push(header);
    }
    if let Some(secs) = call.timeout.or(flags.conn.max_time) {
        words.push("-H".into());
        words.push(format!(
            "Connect-Timeout-Ms: {}",
            (secs * 1000.0).ceil() as u64
        ));
    }
    words.push("-d".into());
    words.push(
        call.messages
            .first()
            .cloned()
            .unwrap_or_else(|| "{}".into()),
    );
    words.push(format!("{scheme}://{authority}/{}", call.method));
    Some(shell_words(&words))
}

fn schema_flags(schema: &SchemaArgs, words: &mut Vec<String>) {
    for proto in &schema.protos {
        words.extend(["--proto".into(), proto.display().to_string()]);
    }
    for dir in &schema.import_paths {
        words.extend(["-I".into(), dir.display().to_string()]);
    }
    for set in &schema.protosets {
        words.extend(["--protoset".into(), set.display().to_string()]);
    }
}

fn conn_flags(conn: &ConnArgs, words: &mut Vec<String>) {
    let mut flag = |on: bool, name: &str| {
        if on {
            words.push(name.into());
        }
    };
    flag(conn.plaintext, "--plaintext");
    flag(conn.tls, "--tls");
    flag(conn.insecure, "--insecure");
    flag(conn.expand_headers, "--expand-headers");
    flag(conn.http2_prior_knowledge, "--http2-prior-knowledge");
    let mut pair = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            words.push(name.into());
            words.push(value);
        }
    };
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    pair("--cacert", path(&conn.cacert));
    pair("--cert", path(&conn.cert));
    pair("--key", path(&conn.key));
    pair("--authority", conn.authority.clone());
    pair("--proxy", conn.proxy.clone());
    pair(
        "--connect-timeout",
        (conn.connect_timeout != 10.0).then(|| conn.connect_timeout.to_string()),
    );
    pair("--keepalive", conn.keepalive.map(|k| k.to_string()));
    pair(
        "--max-msg-size",
        (conn.max_msg_size != crate::schema::DEFAULT_MAX_MESSAGE_SIZE)
            .then(|| conn.max_msg_size.to_string()),
    );
    pair("--compress", conn.compress.map(|c| c.name().to_string()));
    let protocol = match conn.protocol {
        Protocol::Grpc => None,
        Protocol::Grpcweb => Some("grpcweb".to_string()),
        Protocol::Connect => Some("connect".to_string()),
    };
    pair("--protocol", protocol);
    for (name, values) in [
        ("-H", &conn.headers),
        ("--rpc-header", &conn.rpc_headers),
        ("--reflect-header", &conn.reflect_headers),
    ] {
        for value in values {
            words.push(name.into());
            words.push(value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_grpcx_line_carries_the_request_and_the_flags() {
        let schema = SchemaArgs {
            protos: vec![PathBuf::from("api/shop.proto")],
            import_paths: vec![PathBuf::from("api")],
            ..SchemaArgs::default()
        };
        let conn = ConnArgs {
            headers: vec!["authorization: Bearer x".into()],
            connect_timeout: 10.0,
            max_msg_size: crate::schema::DEFAULT_MAX_MESSAGE_SIZE,
            ..ConnArgs::default()
        };
        let flags = Flags {
            target: "localhost:50051",
            schema: &schema,
            conn: &conn,
        };
        let messages = [r#"{"name":"it's"}"#.to_string()];
        let metadata = [("x-trace".to_string(), "1".to_string())];
        let call = Call {
            method: "helloworld.Greeter/SayHello",
            messages: &messages,
            metadata: &metadata,
            timeout: Some(2.5),
        };
        assert_eq!(
            grpcx(&flags, &call),
            r#"grpcx call localhost:50051 helloworld.Greeter/SayHello -d '{"name":"it'\''s"}' -H 'x-trace: 1' --max-time 2.5 --proto api/shop.proto -I api -H 'authorization: Bearer x'"#
        );
        assert_eq!(curl(&flags, &call, true), None);
    }

    #[test]
    fn connect_unary_calls_get_a_curl_line() {
        let schema = SchemaArgs::default();
        let conn = ConnArgs {
            protocol: Protocol::Connect,
            connect_timeout: 10.0,
            max_msg_size: crate::schema::DEFAULT_MAX_MESSAGE_SIZE,
            ..ConnArgs::default()
        };
        let flags = Flags {
            target: "127.0.0.1:8080",
            schema: &schema,
            conn: &conn,
        };
        let messages = [r#"{"name":"a"}"#.to_string()];
        let call = Call {
            method: "helloworld.Greeter/SayHello",
            messages: &messages,
            metadata: &[],
            timeout: None,
        };
        assert_eq!(
            curl(&flags, &call, true).unwrap(),
            r#"curl -H 'Content-Type: application/json' -d '{"name":"a"}' http://127.0.0.1:8080/helloworld.Greeter/SayHello"#
        );
        assert_eq!(curl(&flags, &call, false), None);
        assert!(grpcx(&flags, &call).ends_with(" --protocol connect"));
    }
}
