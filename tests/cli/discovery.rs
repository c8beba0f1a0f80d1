//! Discovery: list, describe, templates and --protoset-out over every schema
//! source and both server implementations, and the schema errors a user can
//! act on.

use serde_json::{Value, json};

use crate::util::{Run, Server, proto, protoset, run};

/// The three schema sources, as extra arguments.
fn sources() -> Vec<(&'static str, Vec<String>)> {
    let root = crate::util::root().join("proto").display().to_string();
    let mut files = Vec::new();
    for file in [
        "helloworld.proto",
        "grpcx/test/v1/everything.proto",
        "nopkg.proto",
    ] {
        files.push("--proto".to_string());
        files.push(proto(file));
    }
    files.extend(["-I".to_string(), root]);
    vec![
        ("reflection", vec![]),
        ("proto", files),
        (
            "protoset",
            vec!["--protoset".into(), protoset().display().to_string()],
        ),
    ]
}

fn grpcx(server: &Server, args: &[&str], extra: &[String]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.insert(1, &server.addr);
    all.extend(extra.iter().map(String::as_str));
    run(&all)
}

fn lines(out: &Run) -> Vec<&str> {
    out.stdout.lines().collect()
}

fn list_and_describe(server: &Server) {
    for (source, extra) in sources() {
        let ctx = format!("{source} via {}", server.addr);
        let out = grpcx(server, &["list"], &extra);
        let services = lines(out.ok());
        for name in ["Hello", "greet", "grpcx.test.v1.Echo", "helloworld.Greeter"] {
            assert!(services.contains(&name), "{ctx}: {services:?}");
        }
        let mut sorted = services.clone();
        sorted.sort();
        assert_eq!(services, sorted, "{ctx}: sorted");

        let out = grpcx(server, &["list", "helloworld.Greeter"], &extra);
        assert_eq!(
            lines(out.ok()),
            [
                "helloworld.Greeter.SayHello",
                "helloworld.Greeter.SayHelloStreamReply",
                "helloworld.Greeter.SayHelloClientStream",
                "helloworld.Greeter.SayHelloBidiStream",
            ],
            "{ctx}"
        );
        let out = grpcx(server, &["list", "grpcx.test.v1.Echo", "--long"], &extra);
        assert_eq!(
            lines(out.ok())[1],
            "grpcx.test.v1.Echo.Stream\tserver-streaming\tgrpcx.test.v1.StreamRequest\tgrpcx.test.v1.Chunk",
            "{ctx}"
        );

        let describe = |symbol: &str| {
            let out = grpcx(server, &["describe", symbol], &extra);
            out.ok();
            out.stdout
        };
        let text = describe("helloworld.Greeter");
        assert!(text.contains("service Greeter {"), "{ctx}: {text}");
        assert!(
            text.contains(
                "  rpc SayHelloBidiStream(stream HelloRequest) returns (stream HelloReply);"
            ),
            "{ctx}: {text}"
        );
        for method in [
            "helloworld.Greeter.SayHelloStreamReply",
            "helloworld.Greeter/SayHelloStreamReply",
        ] {
            let text = describe(method);
            assert!(text.contains("is a method"), "{ctx}: {text}");
            assert!(
                text.contains("rpc SayHelloStreamReply(HelloRequest) returns (stream HelloReply);"),
                "{ctx}: {text}"
            );
        }
        let text = describe("grpcx.test.v1.Everything");
        for line in [
            "message Everything {",
            "  message Inner {",
            "    int32 value = 2;",
            "  int64 f_int64 = 4;",
            "  Inner f_message = 17;",
            "  repeated Inner r_message = 22;",
            "  map<int64, Inner> m_int64_inner = 31;",
            "  oneof choice {",
            "    string o_string = 40;",
            "  optional string opt_string = 46;",
            "  google.protobuf.Timestamp w_timestamp = 50;",
            "  Everything child = 70;",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{ctx}: no {line:?} in\n{text}"
            );
        }
        assert!(
            describe("grpcx.test.v1.Everything.Inner").contains("message Inner {"),
            "{ctx}"
        );
        assert!(
            describe("grpcx.test.v1.Color").contains("  COLOR_GREEN = 2;"),
            "{ctx}"
        );
        assert!(
            describe("grpcx.test.v1.COLOR_BLUE").contains("\nCOLOR_BLUE = 3;"),
            "{ctx}"
        );
        assert!(
            describe("grpcx.test.v1.Everything.m_string_int32")
                .contains("\nmap<string, int32> m_string_int32 = 30;"),
            "{ctx}"
        );
        assert!(
            describe("Hello.Hello").contains("\nrpc Hello(Ping) returns (Ping);"),
            "{ctx}"
        );

        // With no symbol: every service.
        let out = grpcx(server, &["describe"], &extra);
        for text in [
            "service Greeter {",
            "service Echo {",
            "service Hello {",
            "service greet {",
        ] {
            assert!(out.ok().stdout.contains(text), "{ctx}: {}", out.stdout);
        }

        let out = grpcx(
            server,
            &["describe", "--format", "json", "helloworld.HelloRequest"],
            &extra,
        );
        let json: Value = serde_json::from_str(&out.ok().stdout).unwrap();
        assert_eq!(json["name"], "HelloRequest", "{ctx}");
        assert_eq!(json["field"][0]["name"], "name", "{ctx}");
        assert_eq!(json["field"][0]["type"], "TYPE_STRING", "{ctx}");
    }
}

#[test]
fn list_and_describe_against_the_bundled_server() {
    list_and_describe(&Server::bundled());
}

#[test]
fn list_and_describe_against_grpcio() {
    list_and_describe(&Server::python());
}

/// grpc-js sends files without their imports, one per package: grpcx adds
/// the imports (src/schema/imports.rs).
#[test]
fn list_and_describe_against_grpc_js() {
    list_and_describe(&Server::node());
}

/// Comments appear when the source has them.
#[test]
fn describe_shows_leading_comments_from_proto_files() {
    let out = run(&[
        "describe",
        "--proto",
        &proto("helloworld.proto"),
        "helloworld.Greeter",
    ]);
    out.ok();
    assert!(
        out.stdout
            .contains("// The greeting service definition.\nservice Greeter {"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  // Sends a greeting: \"Hello, NAME!\".\n  rpc SayHello("),
        "{}",
        out.stdout
    );
}

/// A template, fed back as is, is accepted by call over every source.
#[test]
fn a_template_is_a_valid_request() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        for (source, extra) in sources() {
            let out = grpcx(
                &server,
                &["describe", "--template", "grpcx.test.v1.Echo.Echo"],
                &extra,
            );
            let template: Value = serde_json::from_str(&out.ok().stdout).unwrap();
            assert_eq!(template["wTimestamp"], "1970-01-01T00:00:00Z", "{source}");
            assert_eq!(template["wDuration"], "0s", "{source}");
            assert_eq!(
                template["rMessage"],
                json!([{"name": "", "value": 0}]),
                "{source}"
            );
            assert_eq!(template["child"], json!({}), "{source}");
            let out = grpcx(
                &server,
                &["call", "grpcx.test.v1.Echo/Echo", "-d", &out.stdout],
                &extra,
            );
            let echoed = out.ok().json_lines();
            assert_eq!(echoed[0]["wDuration"], "0s", "{source}: {}", out.stdout);
            assert_eq!(echoed[0]["rInt32"], json!([0]), "{source}");
        }
    }
}

/// A schema frozen by --protoset-out works against a server without
/// reflection, from each command that writes one.
#[test]
fn a_written_protoset_serves_a_server_without_reflection() {
    let dir = tempfile::tempdir().unwrap();
    for server in [Server::bundled(), Server::python(), Server::node()] {
        let bare = Server::bundled_with(&["--no-reflection"]);
        let set = |name: &str| {
            dir.path()
                .join(format!("{name}.protoset"))
                .display()
                .to_string()
        };
        grpcx(&server, &["list", "--protoset-out", &set("list")], &[]).ok();
        grpcx(
            &server,
            &[
                "describe",
                "helloworld.Greeter",
                "--protoset-out",
                &set("describe"),
            ],
            &[],
        )
        .ok();
        // A failing call still writes it.
        grpcx(
            &server,
            &[
                "call",
                "helloworld.Greeter/SayHello",
                "-H",
                "x-grpcx-fail: NOT_FOUND",
                "--protoset-out",
                &set("call"),
            ],
            &[],
        )
        .code(69);
        for name in ["list", "describe", "call"] {
            let out = run(&[
                "call",
                &bare.addr,
                "helloworld.Greeter/SayHello",
                r#"{"name":"frozen"}"#,
                "--protoset",
                &set(name),
            ]);
            assert_eq!(
                out.ok().json_lines(),
                [json!({"message": "Hello, frozen!"})],
                "{name}"
            );
        }
        // The list protoset holds every service, with its imports.
        let out = run(&[
            "call",
            &bare.addr,
            "grpcx.test.v1.Echo/Echo",
            r#"{"wDuration":"1s"}"#,
            "--protoset",
            &set("list"),
        ]);
        assert_eq!(out.ok().json_lines(), [json!({"wDuration": "1s"})]);
        // The describe protoset holds only what was described.
        let out = run(&["list", "--protoset", &set("describe")]);
        assert_eq!(lines(out.ok()), ["helloworld.Greeter"]);
    }
}

#[test]
fn list_and_describe_without_reflection_get_a_hint() {
    for server in [
        Server::bundled_with(&["--no-reflection"]),
        Server::python_with(&["--no-reflection"]),
        Server::node_with(&["--no-reflection"]),
    ] {
        for args in [
            &["list"][..],
            &["list", "helloworld.Greeter"],
            &["describe", "helloworld.Greeter"],
            &["describe"],
        ] {
            grpcx(&server, args, &[])
                .code(1)
                .stderr_has("the server does not offer reflection")
                .stderr_has("hint: pass --proto or --protoset");
        }
    }
}

#[test]
fn unknown_symbols_suggest_the_nearest_names() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        for (source, extra) in sources() {
            let out = grpcx(&server, &["describe", "grpcx.test.v1.Everythin"], &extra);
            out.code(1)
                .stderr_has("symbol 'grpcx.test.v1.Everythin' not found")
                .stderr_has("did you mean grpcx.test.v1.Everything?");
            let out = grpcx(&server, &["describe", "HelloRequest"], &extra);
            out.code(1)
                .stderr_has("did you mean helloworld.HelloRequest?");
            let out = grpcx(&server, &["list", "helloworld.Greter"], &extra);
            out.code(1).stderr_has("did you mean helloworld.Greeter?");
            assert!(!out.stderr.contains("panicked"), "{source}");
        }
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_syntax_error_shows_file_line_column_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.proto",
        "syntax = \"proto3\";\nmessage A {\n  string a = 1\n  int32 b = 2;\n}\n",
    );
    let out = run(&["list", "--proto", &file]);
    out.code(1)
        .stderr_has("bad.proto:4:3: expected ';' or '[', but found 'int32'")
        .stderr_has("[bad.proto:4:3]")
        .stderr_has(" 4 │   int32 b = 2;")
        .stderr_has("╰── found here");
    assert!(
        !out.stderr.contains("\x1b["),
        "no colour when not a terminal"
    );
}

#[test]
fn a_semantic_error_quotes_the_line_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "sem.proto",
        "syntax = \"proto3\";\npackage x;\nmessage A {\n  Missing m = 1;\n}\n",
    );
    run(&["describe", "--proto", &file, "x.A"])
        .code(1)
        .stderr_has("sem.proto:4:3: name 'Missing' is not defined")
        .stderr_has(" 4 │   Missing m = 1;");
}

#[test]
fn a_missing_import_names_it_and_the_directories_searched() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "api/a.proto",
        "syntax = \"proto3\";\nimport \"vendor/b.proto\";\nmessage A {}\n",
    );
    let inc = dir.path().join("inc").display().to_string();
    std::fs::create_dir_all(&inc).unwrap();
    let out = run(&["list", "--proto", &file, "-I", &inc]);
    out.code(1)
        .stderr_has("import 'vendor/b.proto' not found")
        .stderr_has(&format!(
            "searched {inc}, {}",
            dir.path().join("api").display()
        ))
        .stderr_has(" 2 │ import \"vendor/b.proto\";");
}

/// google/api, google/rpc and google/type imports resolve with no -I.
#[test]
fn common_third_party_imports_are_bundled() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "shop.proto",
        r#"syntax = "proto3";
package shop;
import "google/api/annotations.proto";
import "google/rpc/status.proto";
import "google/rpc/error_details.proto";
import "google/type/money.proto";
import "google/type/date.proto";
message Order { google.type.Money total = 1; google.type.Date day = 2; google.rpc.Status status = 3; }
service Orders {
  rpc Get(Order) returns (Order) { option (google.api.http) = { get: "/v1/orders" }; }
}
"#,
    );
    let out = run(&["list", "--proto", &file, "shop.Orders", "--long"]);
    assert_eq!(
        lines(out.ok()),
        ["shop.Orders.Get\tunary\tshop.Order\tshop.Order"]
    );
    let out = run(&["describe", "--proto", &file, "--template", "shop.Order"]);
    let template: Value = serde_json::from_str(&out.ok().stdout).unwrap();
    assert_eq!(
        template["total"],
        json!({"currencyCode": "", "units": "0", "nanos": 0})
    );
}

#[test]
fn describe_usage_errors() {
    run(&[
        "describe",
        "--proto",
        &proto("helloworld.proto"),
        "--template",
    ])
    .code(2)
    .stderr_has("--template needs");
    run(&[
        "describe",
        "--proto",
        &proto("helloworld.proto"),
        "--template",
        "helloworld.Greeter",
    ])
    .code(1)
    .stderr_has("a template needs a message or a method");
    run(&["describe", "helloworld.Greeter"])
        .code(1)
        .stderr_has("no schema");
}
