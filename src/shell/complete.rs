//! Tab completion for the line editor: commands, services, methods,
//! symbols, settings and header names on the command line; JSON keys and
//! enum values inside a request (`json_keys.rs`); enum values and oneof
//! members at the field prompts.
//!
//! It reads the same schema as `call`: the session copies the descriptor
//! pool into [`Names`] after each command (a cheap clone), and the editor's
//! thread reads it from there without waiting for the network.

use std::sync::{Arc, Mutex, RwLock};

use prost_reflect::{DescriptorPool, MessageDescriptor};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;

use super::{help, json_keys, settings};

/// What is being read, for Tab completion.
#[derive(Debug, Clone, Default)]
pub enum Context {
    /// A shell command.
    #[default]
    Command,
    /// A request message as JSON.
    Message(MessageDescriptor),
    /// One of these words (enum values, oneof members, yes and no).
    Words(Vec<String>),
    /// Free text.
    Plain,
}

/// What completion knows of the session.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub pool: DescriptorPool,
    /// Every service's full name.
    pub services: Vec<String>,
    /// The service of `use`.
    pub service: Option<String>,
    /// The session's header names.
    pub headers: Vec<String>,
}

impl Names {
    /// Every method as `pkg.Service/Method`, then those of the service in
    /// use by their names alone.
    fn methods(&self) -> Vec<String> {
        let mut methods = Vec::new();
        if let Some(service) = self.service() {
            methods.extend(service.methods().map(|m| m.name().to_string()));
        }
        for name in &self.services {
            if let Some(service) = self.pool.get_service_by_name(name) {
                methods.extend(
                    service
                        .methods()
                        .map(|m| format!("{}/{}", service.full_name(), m.name())),
                );
            }
        }
        methods
    }

    fn service(&self) -> Option<prost_reflect::ServiceDescriptor> {
        self.pool.get_service_by_name(self.service.as_deref()?)
    }

    /// Services, methods (`pkg.Service.Method`), messages and enums; and
    /// the fields of a message (the values of an enum) once its name and a
    /// dot are typed.
    fn symbols(&self, current: &str) -> Vec<String> {
        let mut symbols = Vec::new();
        if let Some(service) = self.service() {
            symbols.extend(service.methods().map(|m| m.name().to_string()));
        }
        for service in self.pool.services() {
            symbols.push(service.full_name().to_string());
            symbols.extend(service.methods().map(|m| m.full_name().to_string()));
        }
        for message in self.pool.all_messages() {
            symbols.push(message.full_name().to_string());
            if current.starts_with(&format!("{}.", message.full_name())) {
                symbols.extend(message.fields().map(|f| f.full_name().to_string()));
            }
        }
        for enumeration in self.pool.all_enums() {
            symbols.push(enumeration.full_name().to_string());
            if current.starts_with(&format!("{}.", enumeration.full_name())) {
                // `pkg.Color.RED`, which `describe` takes too.
                let name = enumeration.full_name();
                symbols.extend(enumeration.values().map(|v| format!("{name}.{}", v.name())));
            }
        }
        symbols.sort();
        symbols.dedup();
        symbols
    }

    /// The input type of a method as typed after `call`.
    fn input_of(&self, typed: &str) -> Option<MessageDescriptor> {
        let method = match typed.split_once('/') {
            Some((service, method)) => self
                .pool
                .get_service_by_name(service)?
                .methods()
                .find(|m| m.name() == method)?,
            None => match self
                .service()
                .and_then(|s| s.methods().find(|m| m.name() == typed))
            {
                Some(method) => method,
                None => {
                    let (service, method) = typed.rsplit_once('.')?;
                    self.pool
                        .get_service_by_name(service)?
                        .methods()
                        .find(|m| m.name() == method)?
                }
            },
        };
        Some(method.input())
    }
}

/// The line editor's helper: completion only (no hints, colours or
/// multi-line input).
pub struct Helper {
    names: Arc<RwLock<Names>>,
    context: Arc<Mutex<Context>>,
}

impl Helper {
    pub fn new(names: Arc<RwLock<Names>>, context: Arc<Mutex<Context>>) -> Helper {
        Helper { names, context }
    }
}

impl rustyline::Helper for Helper {}
impl Hinter for Helper {
    type Hint = String;
}
impl Highlighter for Helper {}
impl Validator for Helper {}

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let context = self.context.lock().map(|c| c.clone()).unwrap_or_default();
        let names = match self.names.read() {
            Ok(names) => names,
            Err(_) => return Ok((pos, Vec::new())),
        };
        Ok(match context {
            Context::Command => command_line(&names, before),
            Context::Message(message) => json(&message, before, 0),
            Context::Words(words) => words_from(&words, before, 0, ""),
            Context::Plain => (pos, Vec::new()),
        })
    }
}

/// Candidates for a command line up to the cursor.
pub fn command_line(names: &Names, before: &str) -> (usize, Vec<Pair>) {
    let words = split(before);
    let (index, start) = match words.last() {
        // The cursor ends a word, or follows a space (a new, empty word).
        Some((start, word)) if start + word.len() == before.len() => (words.len() - 1, *start),
        _ => (words.len(), before.len()),
    };
    let current = &before[start..];
    if index == 0 {
        let commands: Vec<String> = help::names().map(str::to_string).collect();
        return words_from(&commands, current, start, " ");
    }
    let command = words[0].1;
    let arg = |i: usize| words.get(i).map(|(_, w)| *w).unwrap_or("");
    match (command, index) {
        ("list" | "use", 1) => words_from(&names.services, current, start, ""),
        ("describe", 1) => words_from(&names.symbols(current), current, start, ""),
        ("template", 1) => words_from(&names.methods(), current, start, ""),
        ("call", 1) => words_from(&names.methods(), current, start, " "),
        // The request: from the first character after the method.
        ("call", _) => {
            let (method_start, method) = words[1];
            let json_start = method_start + method.len();
            let text = &before[json_start..];
            let skipped = text.len() - text.trim_start().len();
            match names.input_of(method) {
                Some(input) => json(&input, text.trim_start(), json_start + skipped),
                None => (before.len(), Vec::new()),
            }
        }
        ("header", 1) => words_from(&["-d".to_string()], current, start, " "),
        ("header", 2) if arg(1) == "-d" => words_from(&names.headers, current, start, ""),
        ("set", 1) => {
            let settings: Vec<String> = settings::SETTINGS
                .iter()
                .map(|(name, _, _)| name.to_string())
                .collect();
            words_from(&settings, current, start, " ")
        }
        ("set", 2) => {
            let values: Vec<String> = settings::SETTINGS
                .iter()
                .find(|(name, _, _)| *name == arg(1))
                .map(|(_, values, _)| values.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            words_from(&values, current, start, "")
        }
        ("help", 1) => {
            let commands: Vec<String> = help::names().map(str::to_string).collect();
            words_from(&commands, current, start, "")
        }
        _ => (before.len(), Vec::new()),
    }
}

/// The words of a line with their byte offsets.
fn split(line: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, &line[s..]));
    }
    words
}

/// The candidates that start with `current`, replacing from `start`, each
/// followed by `suffix`.
fn words_from(
    candidates: &[String],
    current: &str,
    start: usize,
    suffix: &str,
) -> (usize, Vec<Pair>) {
    let pairs = candidates
        .iter()
        .filter(|c| c.starts_with(current))
        .map(|c| Pair {
            display: c.clone(),
            replacement: format!("{c}{suffix}"),
        })
        .collect();
    (start, pairs)
}

/// JSON keys and enum values in a request typed from `offset` on.
fn json(message: &MessageDescriptor, text: &str, offset: usize) -> (usize, Vec<Pair>) {
    match json_keys::complete(message, text) {
        Some((start, candidates)) => (
            offset + start,
            candidates
                .into_iter()
                .map(|c| Pair {
                    display: c.display,
                    replacement: c.replacement,
                })
                .collect(),
        ),
        None => (offset + text.len(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let pool = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
        let mut services: Vec<String> =
            pool.services().map(|s| s.full_name().to_string()).collect();
        services.sort();
        Names {
            pool,
            services,
            service: None,
            headers: vec!["x-trace".into()],
        }
    }

    fn replacements(names: &Names, line: &str) -> (usize, Vec<String>) {
        let (start, pairs) = command_line(names, line);
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn commands_services_and_methods() {
        let mut names = names();
        assert_eq!(
            replacements(&names, "de"),
            (0, vec!["describe ".to_string()])
        );
        assert_eq!(
            replacements(&names, "use hello"),
            (4, vec!["helloworld.Greeter".to_string()])
        );
        let (start, methods) = replacements(&names, "call helloworld.Greeter/SayHelloB");
        assert_eq!(start, 5);
        assert_eq!(methods, ["helloworld.Greeter/SayHelloBidiStream "]);
        // With a service in use, its methods go by their names alone.
        names.service = Some("helloworld.Greeter".into());
        let (_, methods) = replacements(&names, "call SayHelloC");
        assert_eq!(methods, ["SayHelloClientStream "]);
        assert_eq!(
            replacements(&names, "header -d x-"),
            (10, vec!["x-trace".to_string()])
        );
        // Messages, then their fields.
        let (_, symbols) = replacements(&names, "describe grpcx.test.v1.Everything.I");
        assert_eq!(symbols, ["grpcx.test.v1.Everything.Inner"]);
        let (_, symbols) = replacements(&names, "describe grpcx.test.v1.Everything.f_en");
        assert_eq!(symbols, ["grpcx.test.v1.Everything.f_enum"]);
        assert_eq!(
            replacements(&names, "set format n"),
            (11, vec!["ndjson".to_string()])
        );
    }

    #[test]
    fn keys_of_the_request_on_the_command_line() {
        let mut names = names();
        let (start, keys) = replacements(&names, r#"call helloworld.Greeter/SayHello {"na"#);
        assert_eq!(start, 34);
        assert_eq!(keys, [r#""name": "#]);
        names.service = Some("grpcx.test.v1.Echo".into());
        let (_, values) = replacements(&names, r#"call Echo   {"fEnum": "COLOR_B"#);
        assert_eq!(values, [r#""COLOR_BLUE""#]);
        // No such method: nothing.
        assert_eq!(
            replacements(&names, r#"call Nope {""#).1,
            Vec::<String>::new()
        );
    }
}
