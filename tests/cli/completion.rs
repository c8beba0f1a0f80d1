//! What grpcx says about itself: tab completion of services and methods in
//! real bash, zsh and fish shells (driven through tmux), `--help` grouped
//! under headings, and the generated files committed under `completions/`
//! (completion scripts, man pages), which must not drift from the binary.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Server, bin, proto, root, run, wait_for};

const STREAM: &str = "grpcx.test.v1.Echo/Stream";

/// A shell word, single-quoted (the same in bash, zsh and fish).
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[test]
fn committed_completion_scripts_are_up_to_date() {
    for (shell, file) in [
        ("bash", "grpcx.bash"),
        ("zsh", "_grpcx"),
        ("fish", "grpcx.fish"),
    ] {
        let out = run(&["completions", shell]);
        let committed = std::fs::read_to_string(root().join("completions").join(file)).unwrap();
        assert!(
            out.ok().stdout == committed,
            "completions/{file} is stale: run `cargo run -- __generate completions`"
        );
    }
    for shell in ["powershell", "elvish"] {
        assert!(run(&["completions", shell]).ok().stdout.contains("grpcx"));
    }
    let out = run(&["completions", "tcsh"]);
    out.code(2);
}

/// The files a file tree holds, relative to its root, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(next) = dirs.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                files.push(relative.display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// `grpcx __generate DIR` writes the scripts and man pages exactly as
/// committed, and nothing is committed that it no longer writes.
#[test]
fn committed_man_pages_and_scripts_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    run(&["__generate", &dir.path().display().to_string()]).ok();
    let generated = tree(dir.path());
    let committed = tree(&root().join("completions"));
    assert_eq!(
        committed, generated,
        "completions/ is stale: run `cargo run -- __generate completions`"
    );
    for file in &generated {
        let fresh = std::fs::read(dir.path().join(file)).unwrap();
        let old = std::fs::read(root().join("completions").join(file)).unwrap();
        assert!(
            fresh == old,
            "completions/{file} is stale: run `cargo run -- __generate completions`"
        );
    }
    for page in [
        "grpcx.1",
        "grpcx-call.1",
        "grpcx-list.1",
        "grpcx-describe.1",
    ] {
        assert!(generated.contains(&format!("man/{page}")), "{generated:?}");
    }
    // The page of `call` has the headings of --help and the exit codes; the
    // main page has the examples and names the others.
    let call = std::fs::read_to_string(dir.path().join("man/grpcx-call.1")).unwrap();
    for section in [
        ".SH SCHEMA",
        ".SH CONNECTION",
        ".SH TLS",
        ".SH HEADERS",
        ".SH OUTPUT",
        ".SH SCRIPTING",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(call.contains(section), "grpcx-call.1 lacks {section}");
    }
    let main = std::fs::read_to_string(dir.path().join("man/grpcx.1")).unwrap();
    assert!(main.contains(".SH EXAMPLES\n.nf\n"), "{main}");
    assert!(main.contains("grpcx\\-call(1)"), "{main}");
}

/// The flags of a `--help`, by heading: (heading, flags) in order.
fn headings(help: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if let Some(heading) = line.strip_suffix(':').filter(|h| !h.starts_with(' ')) {
            out.push((heading.to_string(), Vec::new()));
        } else if let Some(flag) = line
            .trim_start()
            .split([' ', ','])
            .next()
            .filter(|word| word.starts_with('-') && line.starts_with("  "))
            && let Some((_, flags)) = out.last_mut()
        {
            flags.push(flag.to_string());
        }
    }
    out
}

#[test]
fn help_groups_the_flags_under_headings() {
    let groups = [
        (
            "Schema",
            &["--proto", "-I", "--protoset", "--protoset-out"][..],
        ),
        (
            "Connection",
            &["--plaintext", "--max-time", "--keepalive"][..],
        ),
        (
            "TLS",
            &["--tls", "--cacert", "--insecure", "--authority"][..],
        ),
        ("Headers", &["-H", "--rpc-header", "--expand-headers"][..]),
        ("Output", &["-v", "--format", "--emit-defaults"][..]),
        ("Scripting", &["--error-format", "--envelope"][..]),
    ];
    for command in ["call", "list", "describe"] {
        let out = run(&[command, "--help"]);
        let found = headings(&out.ok().stdout);
        for (heading, flags) in groups {
            if command != "call" && heading == "Output" {
                // list and describe print schema, not responses: only -v.
                continue;
            }
            let (_, under) = found
                .iter()
                .find(|(name, _)| name == heading)
                .unwrap_or_else(|| panic!("{command} --help has no {heading}:\n{found:?}"));
            for flag in flags {
                if command != "call" && *flag == "--envelope" {
                    continue;
                }
                assert!(
                    under.iter().any(|f| f == flag),
                    "{command} --help: {flag} not under {heading}: {found:?}"
                );
            }
        }
        // Not one list of 30: the unheaded options are a handful.
        let (_, options) = found.iter().find(|(name, _)| name == "Options").unwrap();
        assert!(options.len() <= 6, "{command}: {options:?}");
    }
}

/// The shells the completion tests drive.
#[derive(Clone, Copy, Debug)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// A shell in tmux, with grpcx's completion loaded as the README says;
/// killed on drop.
struct Tmux {
    socket: String,
    shell: Shell,
}

impl Tmux {
    fn start(shell: Shell) -> Tmux {
        let socket = format!(
            "grpcx-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "");
        let dir = bin().parent().unwrap().display().to_string();
        let path = format!("{dir}:{}", std::env::var("PATH").unwrap_or_default());
        let completions = root().join("completions");
        let script = |name: &str| quote(&completions.join(name).display().to_string());
        let (program, setup): (&[&str], String) = match shell {
            Shell::Bash => (
                &["bash", "--norc", "--noprofile"],
                format!("source {}", script("grpcx.bash")),
            ),
            // As installed: the file `_grpcx` on $fpath, autoloaded.
            Shell::Zsh => (
                &["zsh", "-f"],
                format!(
                    "fpath=({} $fpath); autoload -U compinit && compinit -u -D",
                    quote(&completions.display().to_string())
                ),
            ),
            Shell::Fish => (
                &[
                    "fish",
                    "--no-config",
                    "-C",
                    "function fish_prompt; printf '$ '; end; set -g fish_greeting",
                ],
                format!("source {}", script("grpcx.fish")),
            ),
        };
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "250",
                "-y",
                "40",
                "env",
                "-i",
            ])
            .arg(format!("PATH={path}"))
            .args(["TERM=xterm", "HOME=/nonexistent", "PS1=$ "])
            .args(program)
            .status()
            .expect("tmux runs (.ci/run installs it)");
        assert!(status.success());
        let tmux = Tmux { socket, shell };
        tmux.wait_until("the prompt", Duration::from_secs(10), |pane| {
            pane.lines().any(|line| line.starts_with('$'))
        });
        // `RE""ADY` prints READY in all three shells; the echoed command
        // line does not show it.
        tmux.send(&[&format!("{setup}; echo RE\"\"ADY"), "Enter"]);
        tmux.wait_until("READY", Duration::from_secs(10), |pane| {
            pane.lines().any(|line| line.trim_end() == "READY")
        });
        tmux.clear();
        tmux
    }

    fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn pane(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the pane shows `text`, and returns the pane.
    #[track_caller]
    fn wait_for(&self, text: &str, timeout: Duration) -> String {
        self.wait_until(text, timeout, |pane| pane.contains(text))
    }

    #[track_caller]
    fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let pane = self.pane();
            if done(&pane) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "{:?}: the pane never showed {what:?}:\n{pane}",
                self.shell
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clears the prompt's line and the screen.
    fn clear(&self) {
        self.send(&["C-u", "C-l"]);
        std::thread::sleep(Duration::from_millis(200));
    }

    /// The keys that list the candidates: bash needs a second Tab; zsh and
    /// fish list on the first.
    fn list_keys(&self) -> &'static [&'static str] {
        match self.shell {
            Shell::Bash => &["Tab", "Tab"],
            Shell::Zsh | Shell::Fish => &["Tab"],
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// What every shell must do: services and methods by reflection, within the
/// budget; from --proto with no server; flags as before; and nothing (fast,
/// and no file names) from a server that never answers.
fn completes_services_and_methods(tmux: &Tmux, server: &Server) {
    let addr = &server.addr;

    // Services, by reflection: a unique prefix completes to `Service/`.
    // The line reaches grpcx as typed: the quoted header goes with the
    // reflection request.
    let start = Instant::now();
    tmux.send(&[&format!("grpcx call -H 'echo-tab: a b' {addr} hel"), "Tab"]);
    tmux.wait_for(
        &format!("grpcx call -H 'echo-tab: a b' {addr} helloworld.Greeter/"),
        Duration::from_secs(1),
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}: {:?}",
        tmux.shell,
        start.elapsed()
    );
    // The server logs a stream when it ends, which can trail the answer.
    wait_for(|| {
        let log = server.log();
        let seen = log
            .lines()
            .any(|line| line.contains("ServerReflectionInfo") && line.ends_with("[echo-tab]"));
        seen.then_some(())
    });
    // No space after the slash: the method follows at once.
    tmux.send(&["SayHello"]);
    tmux.wait_for("helloworld.Greeter/SayHello", Duration::from_secs(2));

    // Methods: the shell lists them.
    tmux.send(tmux.list_keys());
    let pane = tmux.wait_for("SayHelloBidiStream", Duration::from_secs(2));
    for method in ["SayHelloStreamReply", "SayHelloClientStream"] {
        assert!(pane.contains(method), "{:?}:\n{pane}", tmux.shell);
    }
    tmux.clear();

    // `list` completes service names only.
    tmux.send(&[&format!("grpcx list {addr} grpc.health"), "Tab"]);
    tmux.wait_for(
        &format!("grpcx list {addr} grpc.health.v1.Health"),
        Duration::from_secs(2),
    );
    tmux.clear();

    // From --proto, with no server at all; and the flags still complete.
    let file = quote(&proto("helloworld.proto"));
    tmux.send(&[
        &format!("grpcx call --proto {file} localhost:1 helloworld.Greeter/SayHelloS"),
        "Tab",
    ]);
    tmux.wait_for(
        "helloworld.Greeter/SayHelloStreamReply",
        Duration::from_secs(2),
    );
    tmux.clear();
    tmux.send(&["grpcx call --emit-d", "Tab"]);
    tmux.wait_for("grpcx call --emit-defaults", Duration::from_secs(2));
    tmux.clear();

    // A server that accepts connections but never answers: nothing,
    // within 2 s (not even file names).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = silent.local_addr().unwrap().to_string();
    let start = Instant::now();
    tmux.send(&[&format!("grpcx call {silent} "), "Tab", "X"]);
    let pane = tmux.wait_for(&format!("{silent} X"), Duration::from_secs(3));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}: {:?}",
        tmux.shell,
        start.elapsed()
    );
    assert_eq!(
        pane.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{:?}:\n{pane}",
        tmux.shell
    );
    tmux.clear();
}

#[test]
fn bash_completes_services_and_methods_from_the_server() {
    let server = Server::bundled();
    let tmux = Tmux::start(Shell::Bash);
    completes_services_and_methods(&tmux, &server);

    // And a real Ctrl-C from the terminal ends a long call with 130.
    tmux.send(&[
        &format!(
            "grpcx call {} {STREAM} '{{\"count\":100,\"intervalMs\":200}}'; echo rc=$?",
            server.addr
        ),
        "Enter",
    ]);
    tmux.wait_for("\"seq\": 1", Duration::from_secs(5));
    tmux.send(&["C-c"]);
    tmux.wait_for("rc=130", Duration::from_secs(2));
}

#[test]
fn zsh_completes_services_and_methods_from_the_server() {
    let server = Server::bundled();
    completes_services_and_methods(&Tmux::start(Shell::Zsh), &server);
}

#[test]
fn fish_completes_services_and_methods_from_the_server() {
    let server = Server::bundled();
    completes_services_and_methods(&Tmux::start(Shell::Fish), &server);
}
