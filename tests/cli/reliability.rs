//! Reliability: every bad input gets one clear error line and sends nothing;
//! every fault ends promptly with a non-zero exit and loses nothing that was
//! received (memory on long streams: `memory.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{Server, grpcx, grpcx_std, protoset, run, run_with_stdin};

fn protoset_arg() -> String {
    protoset().display().to_string()
}

/// Runs `grpcx call ADDR METHOD -d @- --protoset …` with raw bytes on stdin.
fn call_bytes(addr: &str, method: &str, stdin: Vec<u8>, extra: &[&str]) -> crate::util::Run {
    let start = Instant::now();
    let output = grpcx()
        .args([
            "call",
            addr,
            method,
            "-d",
            "@-",
            "--protoset",
            &protoset_arg(),
        ])
        .args(extra)
        .write_stdin(stdin)
        .output()
        .expect("grpcx runs");
    crate::util::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Bad input over a message that uses every proto3 type: exit 1, one line
/// naming the message, the field path and the position, and no request sent.
#[test]
fn bad_input_gets_one_clear_line_and_sends_nothing() {
    let deep_lists = format!(
        "{{\"wList\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_objects = format!("{}{{}}{}", "{\"child\":".repeat(50_000), "}".repeat(50_000));
    let deep_struct = format!(
        "{{\"wStruct\":{}1{}}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    // (what, input, texts the error must hold; a path is checked as `field 'PATH'`)
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "truncated JSON",
            br#"{"fInt32": 1,"#.to_vec(),
            vec!["truncated", "line 1 column 1"],
        ),
        (
            "truncated string",
            br#"{"fString": "ab"#.to_vec(),
            vec!["truncated"],
        ),
        (
            "string for int",
            br#"{"fInt32": "abc"}"#.to_vec(),
            vec!["field 'fInt32'"],
        ),
        (
            "object for repeated",
            br#"{"rInt32": {}}"#.to_vec(),
            vec!["field 'rInt32'", "expected a list"],
        ),
        (
            "number for string",
            br#"{"fString": 5}"#.to_vec(),
            vec!["field 'fString'", "expected a string"],
        ),
        (
            "string for bool",
            br#"{"fBool": "yes"}"#.to_vec(),
            vec!["field 'fBool'"],
        ),
        (
            "list for message",
            br#"{"fMessage": []}"#.to_vec(),
            vec!["field 'fMessage'"],
        ),
        (
            "int32 out of range",
            br#"{"fInt32": 2147483648}"#.to_vec(),
            vec!["field 'fInt32'", "out of range"],
        ),
        (
            "negative uint32",
            br#"{"fUint32": -1}"#.to_vec(),
            vec!["field 'fUint32'", "out of range"],
        ),
        (
            "uint64 overflow",
            br#"{"fUint64": "18446744073709551616"}"#.to_vec(),
            vec!["field 'fUint64'", "too large"],
        ),
        (
            "fractional int64",
            br#"{"fInt64": 1.5}"#.to_vec(),
            vec!["field 'fInt64'", "integer"],
        ),
        (
            "fractional int64 string",
            br#"{"fInt64": "1.5"}"#.to_vec(),
            vec!["field 'fInt64'", "invalid digit"],
        ),
        (
            "non-numeric int64 string",
            br#"{"fInt64": "12abc"}"#.to_vec(),
            vec!["field 'fInt64'", "invalid digit"],
        ),
        (
            "float out of range",
            br#"{"fFloat": 1e40}"#.to_vec(),
            vec!["field 'fFloat'", "out of range"],
        ),
        (
            "invalid base64",
            br#"{"fBytes": "!!!"}"#.to_vec(),
            vec!["field 'fBytes'", "base64"],
        ),
        (
            "unknown enum name",
            br#"{"fEnum": "COLOR_PURPLE"}"#.to_vec(),
            vec!["field 'fEnum'", "COLOR_PURPLE"],
        ),
        (
            "unknown enum in a list",
            br#"{"rEnum": ["COLOR_RED", "NOPE"]}"#.to_vec(),
            vec!["field 'rEnum[1]'", "NOPE"],
        ),
        (
            "malformed Timestamp",
            br#"{"wTimestamp": "2024-13-01T00:00:00Z"}"#.to_vec(),
            vec!["field 'wTimestamp'", "timestamp"],
        ),
        (
            "number for Timestamp",
            br#"{"wTimestamp": 5}"#.to_vec(),
            vec!["field 'wTimestamp'"],
        ),
        (
            "malformed Duration",
            br#"{"wDuration": "5 minutes"}"#.to_vec(),
            vec!["field 'wDuration'", "duration"],
        ),
        (
            "map value of the wrong type",
            br#"{"mStringInt32": {"a": "x"}}"#.to_vec(),
            vec!["field 'mStringInt32.a'"],
        ),
        (
            "map key of the wrong type",
            br#"{"mInt64Inner": {"abc": {}}}"#.to_vec(),
            vec!["field 'mInt64Inner'"],
        ),
        (
            "map bool key",
            br#"{"mBoolString": {"yes": "x"}}"#.to_vec(),
            vec!["field 'mBoolString'"],
        ),
        (
            "nested path",
            br#"{"rMessage": [{"value": "x"}]}"#.to_vec(),
            vec!["field 'rMessage[0].value'"],
        ),
        (
            "two members of one oneof",
            br#"{"oString": "a", "oInt32": 1}"#.to_vec(),
            vec!["oneof 'choice'"],
        ),
        (
            "Any with no @type",
            br#"{"wAny": {"x": 1}}"#.to_vec(),
            vec!["field 'wAny'", "@type"],
        ),
        (
            "FieldMask of the wrong type",
            br#"{"wFieldMask": 5}"#.to_vec(),
            vec!["field 'wFieldMask'", "field mask"],
        ),
        (
            "unknown field",
            br#"{"noSuchField": 1}"#.to_vec(),
            vec!["noSuchField"],
        ),
        (
            "top-level array",
            b"[1]".to_vec(),
            vec!["expected a JSON object, found an array", "line 1 column 1"],
        ),
        (
            "top-level string",
            br#""str""#.to_vec(),
            vec!["expected a JSON object, found a string"],
        ),
        (
            "junk after a message",
            b"{}\n x".to_vec(),
            vec!["message 2", "found 'x' at line 2 column 2"],
        ),
        (
            "NUL byte in a string",
            b"{\"fString\": \"a\0b\"}".to_vec(),
            vec!["field 'fString'", "control character"],
        ),
        (
            "NUL byte before the object",
            b"\0{}".to_vec(),
            vec!["byte 0x00", "line 1 column 1"],
        ),
        (
            "unpaired UTF-16 surrogate",
            br#"{"fString": "\ud800"}"#.to_vec(),
            vec!["field 'fString'"],
        ),
        (
            "invalid UTF-8",
            b"{\"fString\": \"\xff\"}".to_vec(),
            vec!["field 'fString'"],
        ),
        (
            "100,000 nested [",
            deep_lists.into_bytes(),
            vec!["field 'wList[0][0]", "recursion limit"],
        ),
        (
            "50,000 nested objects",
            deep_objects.into_bytes(),
            vec!["field 'child.child", "recursion limit"],
        ),
        (
            "50,000 nested Struct objects",
            deep_struct.into_bytes(),
            vec!["field 'wStruct.a", "recursion limit"],
        ),
    ];
    assert!(cases.len() >= 25);
    let server = Server::bundled();
    for (what, input, texts) in cases {
        let out = call_bytes(&server.addr, "grpcx.test.v1.Echo/Echo", input, &[]);
        assert_eq!(out.code, 1, "{what}: exit code\n{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert!(
            lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
            "{what}: not one line:\n{}",
            out.stderr
        );
        assert!(
            lines[0].starts_with("grpcx: error: message "),
            "{what}: {}",
            lines[0]
        );
        assert!(
            lines[0].len() < 400,
            "{what}: a line too long to read: {}",
            lines[0]
        );
        assert!(
            lines[0].contains("line ") && lines[0].contains(" column "),
            "{what}: no position: {}",
            lines[0]
        );
        for text in texts {
            assert!(
                lines[0].contains(text),
                "{what}: lacks {text:?}: {}",
                lines[0]
            );
        }
        assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
    }
    assert!(
        !server.log().contains("Echo/Echo"),
        "a request was sent:\n{}",
        server.log()
    );
}

/// An Any whose type nobody knows fails before sending, over reflection too.
#[test]
fn an_unresolvable_any_names_the_type() {
    let server = Server::bundled();
    let input = r#"{"wAny": {"@type": "type.googleapis.com/no.such.Type", "x": 1}}"#;
    let out = call_bytes(&server.addr, "grpcx.test.v1.Echo/Echo", input.into(), &[]);
    out.code(1)
        .stderr_has("message 1")
        .stderr_has("no.such.Type");
    let out = run_with_stdin(
        &["call", &server.addr, "grpcx.test.v1.Echo/Echo", "-d", "@-"],
        input,
    );
    out.code(1)
        .stderr_has("message 1")
        .stderr_has("no.such.Type");
    assert!(
        !server.log().contains("Echo/Echo"),
        "a request was sent:\n{}",
        server.log()
    );
}

/// Empty stdin for a unary call is the empty message, by design.
#[test]
fn empty_stdin_is_the_empty_message() {
    let server = Server::bundled();
    for stdin in ["", "  \n\t"] {
        let out = run_with_stdin(
            &["call", &server.addr, "grpcx.test.v1.Echo/Echo", "-d", "@-"],
            stdin,
        );
        assert_eq!(out.ok().json_lines(), [json!({})]);
    }
}

/// A 50 MB string is read; the server's size limit answers with a status.
#[test]
fn a_50_mb_string_works_or_gets_a_clear_size_error() {
    let input = format!("{{\"fString\":\"{}\"}}", "x".repeat(50_000_000));
    for server in [Server::bundled(), Server::go(), Server::node()] {
        let out = call_bytes(
            &server.addr,
            "grpcx.test.v1.Echo/Echo",
            input.clone().into_bytes(),
            &[],
        );
        if out.code == 0 {
            assert_eq!(out.stdout.len(), input.len() + 1);
        } else {
            // ResourceExhausted or OutOfRange, naming the limit.
            assert!([72, 75].contains(&out.code), "{}: {}", out.code, out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            assert!(
                out.stderr.contains("ERROR: ") && out.stderr.contains("4194304"),
                "{}",
                out.stderr
            );
        }
    }
}

/// A bad message in the middle of a client stream names its index, says the
/// messages before it were sent, and cancels the call: the server never
/// mistakes the cut-off input for a whole one.
#[test]
fn a_bad_message_mid_client_stream_is_named_and_cancels() {
    for server in [Server::bundled(), Server::go(), Server::node()] {
        let input = "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n{\"seq\":\"four\"}\n{\"seq\":5}\n";
        let out = call_bytes(
            &server.addr,
            "grpcx.test.v1.Echo/Collect",
            input.into(),
            &[],
        );
        out.code(1)
            .stderr_has("message 4")
            .stderr_has("field 'seq'")
            .stderr_has("line 4 column")
            .stderr_has("the 3 messages before it were sent, then the call was cancelled");
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

/// Reads grpcx's stdout line by line on a thread.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    rx
}

/// Every line is a whole JSON chunk, and their seqs run 0, 1, 2, … without a gap.
#[track_caller]
fn assert_whole_run(lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {i} is torn: {line:?}: {e}"));
        assert_eq!(
            value["seq"].as_u64().unwrap_or(0),
            i as u64,
            "line {i}: {line}"
        );
    }
}

/// The server process dies mid-stream: every message that arrived is
/// printed whole, then the error, exit 78 (Unavailable), promptly.
#[test]
fn a_server_that_dies_mid_stream() {
    for mut server in [Server::bundled(), Server::go(), Server::node()] {
        let mut child = grpcx_std()
            .args(["call", &server.addr, "grpcx.test.v1.Echo/Stream"])
            .args([
                "-d",
                r#"{"count": 100000, "payloadSize": 100, "intervalMs": 2}"#,
                "--protoset",
                &protoset_arg(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let rx = lines_of(&mut child);
        let mut lines = Vec::new();
        while lines.len() < 20 {
            lines.push(
                rx.recv_timeout(Duration::from_secs(20))
                    .expect("a streamed line"),
            );
        }
        server.kill();
        let killed = Instant::now();
        lines.extend(rx.iter());
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "took {:?}",
            killed.elapsed()
        );
        assert_eq!(status.code(), Some(78), "{stderr}");
        assert!(
            stderr.starts_with("ERROR: Unavailable: the connection broke mid-call: "),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_whole_run(&lines);
        assert!(lines.len() >= 20);
    }
}

/// How the fake HTTP/2 server ends the stream after its messages.
#[derive(Clone, Copy)]
enum End {
    Reset,
    GoAway,
}

/// An HTTP/2 server that answers the first call on a connection with
/// `count` Chunk messages (`seq` 0..count-1), then ends the stream the given
/// rude way. Returns its address.
fn rude_server(count: u32, end: End) -> String {
    h2_server(move |socket| async move {
        let _ = serve_rudely(socket, count, end).await;
    })
}

/// A listener on 127.0.0.1 whose every connection is served by `serve`,
/// on a runtime of its own. Returns its address.
fn h2_server<F, Fut>(serve: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(socket));
            }
        });
    });
    addr
}

async fn serve_rudely(
    socket: tokio::net::TcpStream,
    count: u32,
    end: End,
) -> Result<(), h2::Error> {
    let mut conn = h2::server::handshake(socket).await?;
    let Some(request) = conn.accept().await else {
        return Ok(());
    };
    let (_request, mut respond) = request?;
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .body(())
        .unwrap();
    let mut send = respond.send_response(response, false)?;
    for seq in 0..count {
        // Chunk { seq } in one gRPC frame: field 1, varint.
        let mut message = Vec::new();
        if seq > 0 {
            message.push(0x08);
            let mut n = seq;
            while n >= 0x80 {
                message.push((n as u8) | 0x80);
                n >>= 7;
            }
            message.push(n as u8);
        }
        let mut frame = vec![0u8];
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend_from_slice(&message);
        send.send_data(frame.into(), false)?;
    }
    // Let the messages reach the wire before the stream is cut.
    let closed = std::future::poll_fn(|cx| conn.poll_closed(cx));
    let _ = tokio::time::timeout(Duration::from_millis(300), closed).await;
    match end {
        End::Reset => send.send_reset(h2::Reason::INTERNAL_ERROR),
        End::GoAway => conn.abrupt_shutdown(h2::Reason::INTERNAL_ERROR),
    }
    let closed = std::future::poll_fn(|cx| conn.poll_closed(cx));
    let _ = tokio::time::timeout(Duration::from_secs(10), closed).await;
    Ok(())
}

/// RST_STREAM or GOAWAY after some messages: they are all printed, then
/// the error, and the exit code names the status the reset maps to.
#[test]
fn a_reset_stream_or_goaway_mid_stream() {
    for (end, name, code, text) in [
        // gRPC maps a reset's reason to a code: INTERNAL_ERROR is Internal.
        (
            End::Reset,
            "RST_STREAM",
            77,
            "ERROR: Internal: the server reset the stream (RST_STREAM INTERNAL_ERROR)",
        ),
        // GOAWAY names our stream as processed, then the connection closes
        // under it (or, were it not processed, the GOAWAY itself is named).
        (End::GoAway, "GOAWAY", 78, "ERROR: Unavailable: "),
    ] {
        let addr = rude_server(1000, end);
        let out = run(&[
            "call",
            &addr,
            "grpcx.test.v1.Echo/Stream",
            "--protoset",
            &protoset_arg(),
        ]);
        out.code(code).stderr_has(text);
        assert_eq!(out.stderr.lines().count(), 1, "{name}: {}", out.stderr);
        let lines: Vec<String> = out.stdout.lines().map(String::from).collect();
        assert_eq!(lines.len(), 1000, "{name}: messages were lost");
        assert_whole_run(&lines);
        assert!(
            out.elapsed < Duration::from_secs(5),
            "{name}: took {:?}",
            out.elapsed
        );
    }
}

/// A listener on 127.0.0.1 whose every connection is handled by `speak`.
fn fake_server(speak: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            std::thread::spawn(move || speak(socket));
        }
    });
    addr
}

/// Servers that do not speak HTTP/2 get a clear error, fast, over both a
/// protoset and reflection (which is the first thing grpcx asks a server).
#[test]
fn servers_that_do_not_speak_http2_fail_clearly_within_2s() {
    let garbage = fake_server(|mut socket| {
        // Not random, so a failure can be reproduced; not HTTP/2 either.
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let _ = socket.write_all(&bytes);
        std::thread::sleep(Duration::from_secs(10));
    });
    let http1 = fake_server(|mut socket| {
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf);
        let _ = socket.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        // Close as web servers do (nginx's lingering close): stop writing,
        // then drain what the client still sends, so that the close is a FIN
        // and not a reset that would discard the answer unread.
        let _ = socket.shutdown(std::net::Shutdown::Write);
        let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
        while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
    });
    let silent = fake_server(|_socket| std::thread::sleep(Duration::from_secs(30)));
    let closer = fake_server(drop);
    for (addr, what, text) in [
        (
            &garbage,
            "garbage",
            "the server does not speak HTTP/2 (its first bytes were ",
        ),
        (
            &http1,
            "HTTP/1.1",
            "the server answered HTTP/1.x, not HTTP/2",
        ),
        (
            &silent,
            "silent",
            "the server sent nothing for 1 s after the connection opened",
        ),
        (
            &closer,
            "closer",
            "the server closed the connection without speaking HTTP/2",
        ),
    ] {
        for source in [&["--protoset", &protoset_arg()][..], &[]] {
            let mut args = vec![
                "call",
                addr,
                "helloworld.Greeter/SayHello",
                "--connect-timeout",
                "1",
            ];
            args.extend(source);
            let out = run(&args);
            out.code(78).stderr_has(&format!(
                "ERROR: Unavailable: cannot connect to {addr}: {text}"
            ));
            assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.stderr);
            assert!(
                out.elapsed < Duration::from_secs(2),
                "{what}: took {:?}",
                out.elapsed
            );
        }
    }
}

/// A slow reader of a fast stream loses nothing. grpc-go sends one small
/// DATA frame per message; h2's small-frame budget used to close the
/// connection (GOAWAY ENHANCE_YOUR_CALM) while grpcx waited on stdout.
#[test]
fn a_slow_reader_of_a_fast_stream_loses_nothing() {
    let server = Server::go();
    let mut child = grpcx_std()
        .args([
            "call",
            &server.addr,
            "grpcx.test.v1.Echo/Stream",
            "-d",
            r#"{"count": 200000}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Stall, then read in bursts with pauses: each pause lets the server fill
    // every window while grpcx is blocked on a full pipe.
    let mut text = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut since_pause = 0;
    std::thread::sleep(Duration::from_secs(2));
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        since_pause += n;
        if since_pause > 512 * 1024 {
            since_pause = 0;
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(lines.len(), 200_000);
    assert_whole_run(&lines);
}

/// A server whose answer is only a status, `grpc-status-details-bin` that
/// is not base64 included: in the trailers after a message, or in the
/// headers of a trailers-only answer. (tonic's own reading of such a status
/// panics.)
fn bad_details_server(trailers_only: bool) -> String {
    h2_server(move |socket| async move {
        let _ = answer_with_bad_details(socket, trailers_only).await;
    })
}

async fn answer_with_bad_details(
    socket: tokio::net::TcpStream,
    trailers_only: bool,
) -> Result<(), h2::Error> {
    let mut conn = h2::server::handshake(socket).await?;
    while let Some(request) = conn.accept().await {
        let (_request, mut respond) = request?;
        let mut status = http::HeaderMap::new();
        status.insert("grpc-status", "3".parse().unwrap());
        status.insert("grpc-message", "bad%20name".parse().unwrap());
        status.insert("grpc-status-details-bin", "!!not*base64".parse().unwrap());
        let head = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc");
        if trailers_only {
            let mut response = head.body(()).unwrap();
            response.headers_mut().extend(status);
            respond.send_response(response, true)?;
        } else {
            let mut send = respond.send_response(head.body(()).unwrap(), false)?;
            // HelloReply { message: "hi" }
            send.send_data(vec![0, 0, 0, 0, 4, 0x0a, 2, b'h', b'i'].into(), false)?;
            send.send_trailers(status)?;
        }
    }
    let closed = std::future::poll_fn(|cx| conn.poll_closed(cx));
    let _ = tokio::time::timeout(Duration::from_secs(10), closed).await;
    Ok(())
}

/// Details a server sends that are not base64 are dropped; the status it
/// sent still reaches the user, as one line and its exit code.
#[test]
fn a_status_whose_details_are_not_base64_is_still_its_status() {
    let cases = [
        (false, "grpc", "{\"message\":\"hi\"}\n"),
        (true, "grpc", ""),
        // gRPC-Web over HTTP/1.1: its answer is read by `protocol`, not h2.
        (true, "grpcweb", ""),
    ];
    for (trailers_only, protocol, stdout) in cases {
        let addr = match protocol {
            "grpc" => bad_details_server(trailers_only),
            _ => fake_server(|mut socket| {
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
                    request.push(byte[0]);
                }
                let _ = socket.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web+proto\r\n\
                      grpc-status: 3\r\ngrpc-message: bad%20name\r\n\
                      grpc-status-details-bin: !!not*base64\r\ncontent-length: 0\r\n\r\n",
                );
                std::thread::sleep(Duration::from_millis(500));
            }),
        };
        let proto = crate::util::proto("helloworld.proto");
        let mut args = vec!["call", &addr, "helloworld.Greeter/SayHello", "{}"];
        args.extend(["--protocol", protocol, "--proto", &proto]);
        let out = run(&args);
        out.code(67);
        assert_eq!(out.stdout, stdout, "trailers only: {trailers_only}");
        assert_eq!(
            out.stderr, "ERROR: InvalidArgument: bad name\n",
            "trailers only: {trailers_only}"
        );
    }
}

/// Clients that cancel reflection streams at once (grpcx itself cancels the
/// loser of its v1/v1alpha race) leave `grpcx serve` serving. tonic-reflection
/// before 0.14.9 panicked when its answer found the stream gone, and a panic
/// aborts a release build: the server died.
#[test]
fn cancelled_reflection_streams_leave_the_server_serving() {
    let server = Server::bundled();
    let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
for version in ["v1alpha", "v1"]:
    info = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda b: b, response_deserializer=lambda b: b)
    for _ in range(300):
        # list_services, four times over, then cancelled at once
        info(iter([b"\x3a\x00"] * 4)).cancel()
print("cancelled 600")
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, &server.addr])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "cancelled 600",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["list", &server.addr]);
    assert!(
        out.ok().stdout.lines().any(|l| l == "helloworld.Greeter"),
        "{}",
        out.stdout
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
