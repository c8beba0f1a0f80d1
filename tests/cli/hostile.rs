//! Whatever a server sends, grpcx ends with a documented exit code and at
//! most one error line a call: no panic, no hang, no torn output line.
//!
//! The server is tests/servers/py/hostile_h2.py: every stream gets an answer
//! drawn from a seed (resets, GOAWAYs, any grpc-status text, gRPC frames
//! with unknown flags or impossible lengths, cut short, compressed with
//! anything, and reflection answers that are noise or mutated descriptors).
//! Every command that calls a server takes its turn, in every protocol.

use std::process::Command;

use crate::util::{Run, Server, proto, root, run, run_with_stdin};

/// The draws: enough that every kind of answer meets every command several
/// times (a run takes about 12 ms).
const ROUNDS: usize = 20;

fn hostile(seed: u32, protoset: &str) -> Server {
    let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/servers/py/hostile_h2.py"))
        .arg(seed.to_string())
        .arg(protoset);
    Server::start(cmd, "hostile HTTP/2 server")
}

/// The exit codes grpcx documents: success, a local error, NOT_SERVING
/// (health), and 64 + a gRPC status.
fn documented(code: i32) -> bool {
    matches!(code, 0 | 1 | 4 | 64..=80)
}

/// Checks one run; `calls` is how many error lines it may print.
fn judge(args: &[&str], out: &Run, calls: usize, server: &Server) {
    let context = || {
        format!(
            "grpcx {}\nexit {}\nstdout:\n{}\nstderr:\n{}\nserver:\n{}",
            args.join(" "),
            out.code,
            out.stdout,
            out.stderr,
            server.log()
        )
    };
    assert!(
        documented(out.code),
        "undocumented exit code\n{}",
        context()
    );
    assert!(!out.stderr.contains("panicked"), "a panic\n{}", context());
    let errors = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("ERROR: ") || line.starts_with("grpcx: "))
        .count();
    assert!(
        errors <= calls,
        "more error lines than calls\n{}",
        context()
    );
    for line in out.stderr.lines() {
        let known = ["ERROR: ", "grpcx: ", "hint: ", "  details: "];
        assert!(
            known.iter().any(|start| line.starts_with(start)),
            "a stderr line that is not an error\n{}",
            context()
        );
    }
    // 4 is health's answer other than SERVING, printed on stdout.
    if !matches!(out.code, 0 | 4) {
        assert!(
            errors >= 1,
            "a failure without its error line\n{}",
            context()
        );
    }
    if args[0] == "call" {
        for line in out.stdout.lines() {
            assert!(
                serde_json::from_str::<serde_json::Value>(line).is_ok(),
                "a torn or broken output line: {line:?}\n{}",
                context()
            );
        }
    }
}

#[test]
fn no_answer_a_server_can_send_breaks_grpcx() {
    let dir = tempfile::tempdir().unwrap();
    let protoset = dir.path().join("hello.protoset");
    let protoset = protoset.to_str().unwrap();
    let helloworld = proto("helloworld.proto");
    run(&["list", "--proto", &helloworld, "--protoset-out", protoset]).ok();
    let server = hostile(1, protoset);
    let addr = server.addr.as_str();
    let name = r#"{"name":"x"}"#;
    let two = "{\"name\":\"a\"}\n{\"name\":\"b\"}\n";
    let hello = helloworld.as_str();
    // Each: the arguments, stdin, and how many calls (error lines) it makes.
    // The last three find the method by reflection.
    #[rustfmt::skip]
    let commands: Vec<(Vec<&str>, &str, usize)> = vec![
        (vec!["call", addr, "helloworld.Greeter/SayHello", name, "--proto", hello], "", 1),
        (vec!["call", addr, "helloworld.Greeter/SayHelloStreamReply", name, "--proto", hello], "", 1),
        (vec!["call", addr, "helloworld.Greeter/SayHelloBidiStream", "--proto", hello], two, 1),
        (vec!["call", addr, "helloworld.Greeter/SayHello", "@-", "--each", "--proto", hello], two, 2),
        (vec!["call", addr, "helloworld.Greeter/SayHello", name, "--protocol", "connect", "--http2-prior-knowledge", "--proto", hello], "", 1),
        (vec!["call", addr, "helloworld.Greeter/SayHello", name, "--protocol", "grpcweb", "--http2-prior-knowledge", "--proto", hello], "", 1),
        (vec!["bench", addr, "helloworld.Greeter/SayHello", name, "-n", "20", "-c", "4", "--proto", hello], "", 1),
        (vec!["health", addr], "", 1),
        (vec!["call", addr, "helloworld.Greeter/SayHello", name], "", 1),
        (vec!["list", addr], "", 1),
        (vec!["describe", addr, "helloworld.Greeter"], "", 1),
    ];
    for _ in 0..ROUNDS {
        for (args, stdin, calls) in &commands {
            let out = run_with_stdin(args, stdin);
            judge(args, &out, *calls, &server);
        }
    }
}
