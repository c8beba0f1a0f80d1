//! `grpcx completions SHELL` and the hidden `grpcx __complete`.
//!
//! The scripts are clap_complete's, so flags and subcommands never drift
//! from `cli.rs`. For bash, zsh and fish, a small function is added that
//! asks `grpcx __complete` first: when the cursor is on the METHOD of `call` (or
//! the SERVICE of `list`), grpcx reads the rest of the line as the command
//! would — target, --proto, --protoset, -I, -H — and prints the services or
//! methods the schema knows. Anywhere else it exits non-zero and the script
//! falls back to clap's static completion. All three shells send the same
//! line (the words before the cursor), so they complete alike.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::{CommandFactory as _, Parser as _};
use clap_complete::Shell;

use crate::cli::{Cli, Command, CompleteArgs, CompletionsArgs};
use crate::error::stdout_error;
use crate::metadata;
use crate::schema::Schema;
use crate::transport::Target;

/// How long schema completion may take when the server does not answer. A
/// reachable server answers in milliseconds; a silent one must not hold the
/// prompt (the promise is 2 s), and the rest of those 2 s is bash's, and slack
/// for a loaded machine.
const BUDGET: Duration = Duration::from_millis(1000);

/// Bash: try schema completion first, then clap's. `compopt` keeps bash
/// from listing files when the schema has nothing (or the server is down).
const BASH_DYNAMIC: &str = r#"
# Services and methods from the server (reflection) or the --proto/--protoset
# files on the line, by `grpcx __complete`; everything else from _grpcx.
_grpcx_schema() {
    local out
    if out=$("${COMP_WORDS[0]}" __complete --line "${COMP_LINE:0:COMP_POINT}" 2>/dev/null); then
        compopt +o default +o bashdefault 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($out)
        if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == */ ]]; then
            compopt -o nospace 2>/dev/null
        fi
        return 0
    fi
    _grpcx "$@"
}

complete -F _grpcx_schema -o bashdefault -o default grpcx
"#;

/// Zsh: the same, as a function that wraps clap's `_grpcx`. It replaces the
/// tail of clap's script (which registers `_grpcx`) so that both ways of
/// loading it — `source`, or the file `_grpcx` on `$fpath` — register this
/// function instead, also for every Tab after the first.
const ZSH_DYNAMIC: &str = r#"# Services and methods from the server (reflection) or the --proto/--protoset
# files on the line, by `grpcx __complete`; everything else from _grpcx.
_grpcx_schema() {
    local out candidate
    local -a services methods
    if out=$("${words[1]}" __complete --line "${(j: :)words[1,CURRENT-1]} $PREFIX" 2>/dev/null); then
        for candidate in ${(f)out}; do
            if [[ $candidate == */ ]]; then
                services+=("$candidate")
            else
                methods+=("$candidate")
            fi
        done
        compadd -S '' -- $services
        compadd -- $methods
        return 0
    fi
    _grpcx "$@"
}

compdef _grpcx_schema grpcx
if [ "$funcstack[1]" = "_grpcx" ]; then
    _grpcx_schema "$@"
fi
"#;

/// The tail of clap's zsh script, which ZSH_DYNAMIC replaces.
const ZSH_CLAP_TAIL: &str = r#"if [ "$funcstack[1]" = "_grpcx" ]; then
    _grpcx "$@"
else
    compdef _grpcx grpcx
fi
"#;

/// Fish: a condition that asks `grpcx __complete` and keeps its answer for
/// the rule's arguments, so the server is asked once per Tab. Where it
/// answers, `-f` keeps file names out (even when it has no candidates).
const FISH_DYNAMIC: &str = r#"
# Services and methods from the server (reflection) or the --proto/--protoset
# files on the line, by `grpcx __complete`; everything else from the rules above.
function __fish_grpcx_schema
    set -l words (commandline -opc)
    set -g __fish_grpcx_schema_candidates ($words[1] __complete --line (commandline -cp) 2>/dev/null)
end

complete -c grpcx -n __fish_grpcx_schema -f -a '$__fish_grpcx_schema_candidates'
"#;

/// Prints the completion script for a shell.
pub fn print(args: CompletionsArgs) -> Result<()> {
    let script = script(args.shell);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(script.as_bytes()).map_err(stdout_error)?;
    stdout.flush().map_err(stdout_error)
}

/// The completion script for a shell, exactly as `grpcx completions` prints it.
pub fn script(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "grpcx", &mut out);
    let mut script = String::from_utf8(out).expect("completion scripts are UTF-8");
    match shell {
        Shell::Bash => script.push_str(BASH_DYNAMIC),
        Shell::Zsh => {
            let start = script
                .rfind(ZSH_CLAP_TAIL)
                .expect("clap's zsh script ends by registering _grpcx");
            script.replace_range(start.., ZSH_DYNAMIC);
        }
        Shell::Fish => script.push_str(FISH_DYNAMIC),
        _ => {}
    }
    script
}

/// Prints the services or methods that complete the last word of the line.
pub async fn complete(args: CompleteArgs) -> Result<()> {
    let spot = Spot::find(&args.line).ok_or_else(|| anyhow!("no schema completion here"))?;
    // Whatever goes wrong (a server that is down, a broken --proto), the
    // answer is: no candidates, quickly.
    let candidates = tokio::time::timeout(BUDGET, candidates(&spot))
        .await
        .unwrap_or(Ok(Vec::new()))
        .unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    for candidate in candidates {
        writeln!(stdout, "{candidate}").map_err(stdout_error)?;
    }
    Ok(())
}

/// Where the cursor is: the word being typed, and the command line before
/// it parsed as the command would see it.
#[derive(Debug)]
struct Spot {
    current: String,
    command: Command,
    /// True for `list`'s SERVICE: service names only, no methods.
    services_only: bool,
}

impl Spot {
    /// `None` unless the cursor is on `call`'s METHOD or `list`'s SERVICE.
    fn find(line: &str) -> Option<Spot> {
        let mut words = split_words(line);
        let current = words.pop().unwrap_or_default();
        if current.starts_with('-') || words.is_empty() {
            return None;
        }
        let root = Cli::command();
        // The subcommand: the first word after the program that is not a
        // (global) flag or its value.
        let sub_index = positionals(&root, &words[1..]).first()? + 1;
        let name = words[sub_index].as_str();
        let sub = root.find_subcommand(name)?;
        let before = positionals(sub, &words[sub_index + 1..]);
        let (placeholder, services_only) = match name {
            "call" | "bench" if before.len() == 1 => ("a.B/C", false),
            "list" if before.len() == 1 => ("a.B", true),
            _ => return None,
        };
        // Parse the line as it would run, with a stand-in for the word
        // being typed, to read the schema and connection flags.
        words.push(placeholder.to_string());
        let command = Cli::try_parse_from(words).ok()?.command;
        Some(Spot {
            current,
            command,
            services_only,
        })
    }
}

/// The indexes of the positional words among `words`, skipping flags and
/// the values of flags that take one.
fn positionals(cmd: &clap::Command, words: &[String]) -> Vec<usize> {
    let takes_value = |flag: &str| {
        cmd.get_arguments().any(|arg| {
            let named = match flag.strip_prefix("--") {
                Some(long) => arg.get_long() == Some(long),
                None => flag.len() == 2 && arg.get_short() == flag.chars().nth(1),
            };
            named && arg.get_action().takes_values()
        })
    };
    let mut out = Vec::new();
    let mut only_positionals = false;
    let mut words = words.iter().enumerate();
    while let Some((i, word)) = words.next() {
        if only_positionals || !word.starts_with('-') || word == "-" {
            out.push(i);
        } else if word == "--" {
            only_positionals = true;
        } else if !word.contains('=') && takes_value(word) {
            words.next(); // its value
        }
    }
    out
}

/// Splits a command line into words as a shell would, roughly: blanks
/// separate, quotes group, a backslash escapes. A trailing blank starts an
/// empty last word.
pub(super) fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, ' ' | '\t' | '\n') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (Some('\''), _) => word.push(c),
            (_, '\\') => word.extend(chars.next()),
            _ => word.push(c),
        }
        // Anything but a blank outside quotes is part of a word.
        in_word = true;
    }
    words.push(word);
    words
}

/// The candidates for the spot: `pkg.Service/` while the service is being
/// typed, `pkg.Service/Method` once the slash is there.
async fn candidates(spot: &Spot) -> Result<Vec<String>> {
    let (target, schema_args, conn) = match &spot.command {
        Command::Call(args) => (Some(args.target.clone()), &args.schema, &args.conn),
        Command::Bench(args) => (Some(args.target.clone()), &args.schema, &args.conn),
        Command::List(args) => (args.target.clone(), &args.schema, &args.conn),
        _ => return Ok(Vec::new()),
    };
    let metadata = metadata::parse_headers(&conn.headers)?;
    let channel = match target {
        Some(target) if !schema_args.is_offline() => {
            let mut conn = conn.clone();
            conn.connect_timeout = conn.connect_timeout.min(BUDGET.as_secs_f64());
            let verbose = crate::verbose::Verbose::default();
            Some(crate::protocol::connect(&Target::parse(&target)?, &conn, &verbose).await?)
        }
        _ => None,
    };
    let mut schema = Schema::load(schema_args, channel.as_ref(), &metadata, false)?;
    let current = spot.current.as_str();
    let candidates = match current.split_once('/') {
        Some((service, _)) if !spot.services_only => {
            let service = schema.service(service).await?;
            service
                .methods()
                .map(|method| format!("{}/{}", service.full_name(), method.name()))
                .collect()
        }
        Some(_) => Vec::new(),
        None if spot.services_only => schema.service_names().await?,
        None => schema
            .service_names()
            .await?
            .into_iter()
            .map(|service| format!("{service}/"))
            .collect(),
    };
    Ok(candidates
        .into_iter()
        .filter(|candidate| candidate.starts_with(current))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_a_shell() {
        assert_eq!(split_words("grpcx call h:1 "), ["grpcx", "call", "h:1", ""]);
        assert_eq!(
            split_words("a 'b c' \"d\"e f\\ g"),
            ["a", "b c", "de", "f g"]
        );
        assert_eq!(split_words("a hel"), ["a", "hel"]);
    }

    #[test]
    fn the_spot_is_the_method_of_call_or_the_service_of_list() {
        let spot = Spot::find("grpcx call -H 'a: b' localhost:1 hel").unwrap();
        assert_eq!(spot.current, "hel");
        assert!(!spot.services_only);
        let Command::Call(args) = &spot.command else {
            panic!("not a call")
        };
        assert_eq!(args.target, "localhost:1");
        assert_eq!(args.conn.headers, ["a: b"]);

        let spot = Spot::find("grpcx --error-format json call --proto=x.proto h:1 ").unwrap();
        assert_eq!(spot.current, "");
        let spot = Spot::find("grpcx list localhost:1 gr").unwrap();
        assert!(spot.services_only);

        for elsewhere in [
            "grpcx ca",
            "grpcx call loc",
            "grpcx call h:1 a.B/C ",
            "grpcx call h:1 --pro",
            "grpcx call --proto ",
            "grpcx serve ",
        ] {
            assert!(Spot::find(elsewhere).is_none(), "{elsewhere}");
        }
    }
}
