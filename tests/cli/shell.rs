//! `grpcx shell`: a real terminal (tmux: `send-keys` types, `capture-pane`
//! reads) against the bundled server — completion, a field-by-field request,
//! a bidi exchange, Ctrl-C during a stream, headers kept between calls,
//! history after a restart — and the piped mode replaying session files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Server, bin, run_with_stdin};

/// How long any one thing may take to show.
const WAIT: Duration = Duration::from_secs(10);

/// `grpcx shell` running in a tmux pane of its own; killed on drop.
struct Pane {
    socket: String,
}

impl Pane {
    /// Starts `grpcx shell ARGS` with its history under `state`, and waits
    /// for its first prompt.
    fn start(name: &str, args: &[&str], state: &Path) -> Pane {
        let socket = format!("grpcx-shell-{}-{name}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "200", "-y", "50"])
            .args(["env", "-i", "TERM=xterm", "HOME=/nonexistent"])
            .arg(format!("XDG_STATE_HOME={}", state.display()))
            .arg("XDG_CACHE_HOME=/dev/null/grpcx-cache")
            .arg(bin())
            .arg("shell")
            .args(args)
            .status()
            .expect("tmux runs (.ci/run installs it)");
        assert!(status.success());
        let pane = Pane { socket };
        pane.wait_prompt("grpcx> ");
        pane
    }

    /// Sends keys by name (`Enter`, `Tab`, `C-c`, `Up`).
    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Types text as it is.
    fn type_text(&self, text: &str) {
        self.keys(&["-l", "--", text]);
    }

    /// Types a line and presses Enter.
    fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// The whole pane, scrollback included.
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-S",
                "-",
                "-t",
                "0",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last line that is not blank (the one being edited, at a prompt).
    fn last_line(&self) -> String {
        self.screen()
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("")
            .trim_end()
            .to_string()
    }

    #[track_caller]
    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the pane never showed {what:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Waits until the pane shows `text` `times` times in all.
    #[track_caller]
    fn wait_count(&self, text: &str, times: usize) -> String {
        self.wait_until(text, |screen| screen.matches(text).count() >= times)
    }

    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        self.wait_count(text, 1)
    }

    /// Waits until the line being edited is exactly `line` (a prompt, and
    /// what is typed after it).
    #[track_caller]
    fn wait_line(&self, line: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let last = self.last_line();
            if last == line.trim_end() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the line never read {line:?}; it reads {last:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    #[track_caller]
    fn wait_prompt(&self, prompt: &str) {
        self.wait_line(prompt);
    }

    /// True while the pane (the shell) is still running.
    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn tab_completes_methods_and_fields_and_bidi_replies_while_typing() {
    let server = Server::bundled();
    let state = tempfile::tempdir().unwrap();
    let pane = Pane::start("bidi", &[&server.addr], state.path());

    // A service, then a method of the service in use.
    pane.type_text("use hel");
    pane.keys(&["Tab"]);
    pane.wait_line("grpcx> use helloworld.Greeter");
    pane.keys(&["Enter"]);
    pane.wait_prompt("helloworld.Greeter> ");
    pane.type_text("call SayHelloB");
    pane.keys(&["Tab"]);
    pane.wait_line("helloworld.Greeter> call SayHelloBidiStream");
    // A field of the request, inside the JSON being typed.
    pane.type_text("{\"na");
    pane.keys(&["Tab"]);
    pane.wait_line("helloworld.Greeter> call SayHelloBidiStream {\"name\":");

    // Bidi: each reply prints while the next message waits to be typed.
    pane.line("\"a\"}");
    pane.wait_for("\"message\": \"Hello, a!\"");
    pane.wait_prompt("HelloRequest #2> ");
    pane.line("{\"name\":\"b\"}");
    pane.wait_for("\"message\": \"Hello, b!\"");
    pane.wait_prompt("HelloRequest #3> ");
    // Bad JSON in the stream is reported and asked again; the stream goes on.
    pane.line("{\"nom\":\"c\"}");
    pane.wait_for("message 3: invalid helloworld.HelloRequest");
    pane.wait_prompt("HelloRequest #3> ");
    pane.line("{\"name\":\"c\"}");
    pane.wait_for("\"message\": \"Hello, c!\"");
    // An empty line ends the request stream, and the call.
    pane.keys(&["Enter"]);
    pane.wait_prompt("helloworld.Greeter> ");
    let screen = pane.screen();
    assert_eq!(screen.matches("Hello, ").count(), 3, "{screen}");

    // Completion knows the commands and the settings too.
    pane.type_text("set for");
    pane.keys(&["Tab"]);
    pane.wait_line("helloworld.Greeter> set format");
    pane.type_text("nd");
    pane.keys(&["Tab"]);
    pane.wait_line("helloworld.Greeter> set format ndjson");
}

#[test]
fn a_request_field_by_field_with_a_nested_message_and_an_enum() {
    let server = Server::bundled();
    let state = tempfile::tempdir().unwrap();
    let pane = Pane::start("fields", &[&server.addr], state.path());
    pane.line("use grpcx.test.v1.Echo");
    pane.wait_prompt("grpcx.test.v1.Echo> ");
    pane.line("call Echo");
    // The scalars come first, each with its type and default; Enter skips.
    for prompt in [
        "f_double (double) [0]:",
        "f_float (float) [0]:",
        "f_int32 (int32) [0]:",
    ] {
        pane.wait_prompt(prompt);
        pane.keys(&["Enter"]);
    }
    pane.wait_prompt("f_int64 (int64) [0]:");
    pane.line("not a number");
    pane.wait_for("invalid f_int64");
    pane.wait_prompt("f_int64 (int64) [0]:");
    pane.line("-9007199254740993");
    for prompt in [
        "f_uint32 (uint32) [0]:",
        "f_uint64 (uint64) [0]:",
        "f_sint32 (sint32) [0]:",
        "f_sint64 (sint64) [0]:",
        "f_fixed32 (fixed32) [0]:",
        "f_fixed64 (fixed64) [0]:",
        "f_sfixed32 (sfixed32) [0]:",
        "f_sfixed64 (sfixed64) [0]:",
        "f_bool (bool) [false]:",
    ] {
        pane.wait_prompt(prompt);
        pane.keys(&["Enter"]);
    }
    pane.wait_prompt("f_string (string) [\"\"]:");
    pane.line("hello there");
    pane.wait_prompt("f_bytes (bytes, base64) [\"\"]:");
    pane.keys(&["Enter"]);
    // The enum offers its names: Tab completes one.
    pane.wait_prompt(
        "f_enum (Color: COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN, COLOR_BLUE) [COLOR_UNSPECIFIED]:",
    );
    pane.type_text("COLOR_G");
    pane.keys(&["Tab"]);
    pane.wait_line("f_enum (Color: COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN, COLOR_BLUE) [COLOR_UNSPECIFIED]: COLOR_GREEN");
    pane.keys(&["Enter"]);
    // The nested message, field by field.
    pane.wait_prompt("f_message.name (string) [\"\"]:");
    pane.line("inner");
    pane.wait_prompt("f_message.value (int32) [0]:");
    pane.line("7");
    // A repeated field until an empty line.
    pane.wait_prompt("r_int32[0] (int32; Enter ends):");
    pane.line("1");
    pane.wait_prompt("r_int32[1] (int32; Enter ends):");
    pane.line("2");
    pane.wait_prompt("r_int32[2] (int32; Enter ends):");
    pane.keys(&["Enter"]);
    // Ctrl-D skips the rest, and the request goes.
    pane.wait_prompt("r_string[0] (string; Enter ends):");
    pane.keys(&["C-d"]);
    pane.wait_prompt("grpcx.test.v1.Echo> ");
    let screen = pane.screen();
    let reply = screen
        .split("r_string[0] (string; Enter ends):")
        .nth(1)
        .unwrap();
    let json: String = reply
        .lines()
        .take_while(|line| !line.starts_with("grpcx.test.v1.Echo>"))
        .collect();
    let json: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json:?}\n{screen}"));
    assert_eq!(
        json,
        serde_json::json!({
            "fInt64": "-9007199254740993",
            "fString": "hello there",
            "fEnum": "COLOR_GREEN",
            "fMessage": {"name": "inner", "value": 7},
            "rInt32": [1, 2],
        })
    );
}

#[test]
fn ctrl_c_cancels_a_stream_and_headers_stay_for_the_session() {
    let server = Server::bundled();
    let state = tempfile::tempdir().unwrap();
    let pane = Pane::start("ctrlc", &[&server.addr], state.path());
    pane.line("set format ndjson");
    pane.wait_prompt("grpcx> ");
    pane.line("call grpcx.test.v1.Echo/Stream {\"count\": 1000, \"intervalMs\": 50}");
    pane.wait_for("{\"seq\":3}");
    pane.keys(&["C-c"]);
    pane.wait_for("cancelled");
    pane.wait_prompt("grpcx> ");
    let seqs = pane.screen().matches("{\"seq\":").count();
    assert!(pane.alive());

    // A header set once goes with every call until it is removed.
    pane.line("header x-grpcx-fail: NOT_FOUND");
    pane.line("headers");
    pane.wait_for("x-grpcx-fail: NOT_FOUND\n");
    pane.line("call helloworld.Greeter/SayHello {\"name\":\"a\"}");
    pane.wait_count("ERROR: NotFound: failed on request", 1);
    pane.line("call helloworld.Greeter/SayHello {\"name\":\"b\"}");
    pane.wait_count("ERROR: NotFound: failed on request", 2);
    // A bidi call the server fails while the next message is open: what is
    // typed there is the next command.
    pane.line("call helloworld.Greeter/SayHelloBidiStream {\"name\":\"z\"}");
    pane.wait_count("ERROR: NotFound: failed on request", 3);
    pane.wait_for("(the call is over: type a command, or Enter)");
    pane.line("header -d x-grpcx-fail");
    pane.wait_prompt("grpcx> ");
    pane.line("call helloworld.Greeter/SayHello {\"name\":\"c\"}");
    pane.wait_for("{\"message\":\"Hello, c!\"}");
    pane.wait_prompt("grpcx> ");
    let screen = pane.screen();
    assert!(
        !screen.contains("Hello, a!") && !screen.contains("Hello, b!"),
        "{screen}"
    );
    // Nothing more of the cancelled stream came meanwhile.
    assert_eq!(screen.matches("{\"seq\":").count(), seqs, "{screen}");
}

#[test]
fn history_is_kept_across_sessions_in_a_private_file() {
    let server = Server::bundled();
    let state = tempfile::tempdir().unwrap();
    let call = "call helloworld.Greeter/SayHello {\"name\":\"again\"}";
    {
        let pane = Pane::start("history1", &[&server.addr], state.path());
        pane.line(call);
        pane.wait_for("\"message\": \"Hello, again!\"");
        pane.wait_prompt("grpcx> ");
        pane.line("exit");
        let deadline = Instant::now() + WAIT;
        while pane.alive() {
            assert!(Instant::now() < deadline, "exit did not end the shell");
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    let file = state.path().join("grpcx").join("history");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().any(|line| line == call), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }

    // A new session: up-arrow brings the call back with its JSON.
    let pane = Pane::start("history2", &[&server.addr], state.path());
    pane.keys(&["Up"]);
    pane.wait_line(&format!("grpcx> {call}"));
    pane.keys(&["Enter"]);
    pane.wait_count("\"message\": \"Hello, again!\"", 1);
    pane.wait_prompt("grpcx> ");
}

#[test]
fn a_piped_session_file_replays_with_results_only() {
    let server = Server::bundled();
    let session = r#"# a session file: comments and blank lines are skipped

use helloworld.Greeter
call SayHello {"name":"one"}
call SayHelloBidiStream {"name":"a"}
{"name":"b"}

call SayHello
field by field
call SayHelloBidiStream
c
d

header echo-trace: abc
set envelope on
call SayHello {"name":"two"}
set envelope off
set format text
call SayHelloStreamReply {"name":"s"}
template SayHello
list helloworld.Greeter
exit
call SayHello {"name":"never"}
"#;
    let out = run_with_stdin(&["shell", &server.addr], session);
    out.ok();
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..6],
        [
            r#"{"message":"Hello, one!"}"#,
            r#"{"message":"Hello, a!"}"#,
            r#"{"message":"Hello, b!"}"#,
            r#"{"message":"Hello, field by field!"}"#,
            r#"{"message":"Hello, c!"}"#,
            r#"{"message":"Hello, d!"}"#,
        ],
        "{}",
        out.stdout
    );
    // The header set in the session went with the call, and came back.
    let headers: serde_json::Value = serde_json::from_str(lines[6]).unwrap();
    assert_eq!(headers["headers"]["echo-trace"], "abc", "{}", out.stdout);
    assert_eq!(
        lines[7..11],
        [
            r#"{"message":{"message":"Hello, two!"}}"#,
            r#"{"trailers":{"echo-trace":"abc"}}"#,
            r#"{"status":{"code":"OK","codeNumber":0,"message":"","details":[]}}"#,
            r#"message:"Hello, s! (1 of 3)""#,
        ],
        "{}",
        out.stdout
    );
    let rest = out.stdout.split_once("(3 of 3)\"\n").unwrap().1;
    assert!(
        rest == ("{\n  \"name\": \"\"\n}\n\
             helloworld.Greeter.SayHello\n\
             helloworld.Greeter.SayHelloStreamReply\n\
             helloworld.Greeter.SayHelloClientStream\n\
             helloworld.Greeter.SayHelloBidiStream\n"),
        "{rest}"
    );
    assert!(!out.stdout.contains("never"));
}

#[test]
fn a_piped_session_goes_on_after_errors_and_exits_with_the_last_ones_code() {
    let server = Server::bundled();
    let session = r#"call helloworld.Greeter/SayHello {"nom":"x"}
call helloworld.Greeter/SayHelo {}
launch
header x-grpcx-fail: NOT_FOUND
call helloworld.Greeter/SayHello {"name":"a"}
header -d x-grpcx-fail
call helloworld.Greeter/SayHello {"name":"b"}
"#;
    let out = run_with_stdin(&["shell", &server.addr], session);
    out.code(69);
    assert_eq!(out.stdout, "{\"message\":\"Hello, b!\"}\n");
    let stderr: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        stderr,
        [
            "grpcx: error: message 1: invalid helloworld.HelloRequest: unrecognized field name 'nom' (line 1 column 6)",
            "grpcx: error: method 'SayHelo' not found in service helloworld.Greeter",
            "hint: did you mean helloworld.Greeter/SayHello?",
            "grpcx: error: unknown command 'launch'",
            "hint: `help` lists the commands",
            "ERROR: NotFound: failed on request",
        ],
        "{}",
        out.stderr
    );

    // Bad input last: exit 1. No failure: exit 0.
    let out = run_with_stdin(
        &["shell", &server.addr],
        "call helloworld.Greeter/SayHello {\"name\":\"x\"}\nnope\n",
    );
    out.code(1);
    let out = run_with_stdin(&["shell", &server.addr], "help\nhelp call\n");
    out.ok();
    assert!(
        out.stdout.contains("  call METHOD [JSON]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_piped_field_by_field_request_covers_every_kind_of_field() {
    let server = Server::bundled();
    // One answer a line, in the order of the prompts; an empty line skips.
    #[rustfmt::skip]
    let answers = [
        "call grpcx.test.v1.Echo/Echo",
        "1.5",                      // f_double
        "",                         // f_float
        "-3",                       // f_int32
        "",                         // f_int64
        "",                         // f_uint32
        "18446744073709551615",     // f_uint64
        "", "", "", "", "", "",     // f_sint32 .. f_sfixed64
        "true",                     // f_bool
        r#""quoted \"string\"""#, // f_string: quotes are optional
        "aGk=",                     // f_bytes
        "2",                        // f_enum, by number
        "n", "",                    // f_message.name, .value
        "1", "x", "2", "",          // r_int32: a bad item is asked again
        "",                         // r_string
        "y", "m", "4", "",          // r_message[0]: add one, fill it; no second
        "COLOR_BLUE", "",           // r_enum
        "",                         // r_bytes
        "k", "5", "",               // m_string_int32
        "7", "i", "", "",           // m_int64_inner[7].name, .value
        "true", "yes", "",          // m_bool_string
        "o_int32", "9",             // the oneof: which member, then its value
        "0",                        // opt_int32: an explicit zero is kept
        "",                         // opt_string
        "2024-01-31T12:00:00Z",     // w_timestamp
        "1.5s",                     // w_duration
        "",                         // w_any
        r#"{"a": [1, "b"]}"#,       // w_struct
        "", "",                     // w_value, w_list
        "fMessage.name",            // w_field_mask
        "", "",                     // w_double, w_float
        "5",                        // w_int64
        "", "", "", "",             // w_uint64, w_int32, w_uint32, w_bool
        "s",                        // w_string
        "",                         // w_bytes
        "",                         // child: a recursive type, entered only on "y"
        r#"call helloworld.Greeter/SayHello {"name":"after"}"#,
    ];
    let out = run_with_stdin(&["shell", &server.addr], &(answers.join("\n") + "\n"));
    out.ok();
    let json = out.json_lines();
    assert_eq!(
        json,
        [
            serde_json::json!({
                "fDouble": 1.5, "fInt32": -3, "fUint64": "18446744073709551615",
                "fBool": true, "fString": "quoted \"string\"", "fBytes": "aGk=",
                "fEnum": "COLOR_GREEN", "fMessage": {"name": "n"},
                "rInt32": [1, 2], "rMessage": [{"name": "m", "value": 4}],
                "rEnum": ["COLOR_BLUE"], "mStringInt32": {"k": 5},
                "mInt64Inner": {"7": {"name": "i"}}, "mBoolString": {"true": "yes"},
                "oInt32": 9, "optInt32": 0, "wTimestamp": "2024-01-31T12:00:00Z",
                "wDuration": "1.500s", "wStruct": {"a": [1.0, "b"]},
                "wFieldMask": "fMessage.name", "wInt64": "5", "wString": "s",
            }),
            serde_json::json!({"message": "Hello, after!"}),
        ]
    );
    assert_eq!(
        out.stderr,
        "  invalid r_int32: invalid digit found in string\n"
    );
}
