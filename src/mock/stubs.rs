//! Stub files: reading them (JSON or YAML, one stub or a list, a file or a
//! folder), checking each stub against the schema, and the set the mock
//! answers from. Every error names the file and the line of the stub (or
//! of the key at fault), and no input makes it panic.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor};
use serde::Deserialize;
use serde_json::Value;
use tonic::Code;

use super::answer::{StatusAnswer, Template};
use super::matcher::When;
use super::shape::{Fault, method_name, method_path, parse_message};

/// Where a stub was written: its file and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One stub, checked against the schema.
#[derive(Debug)]
pub struct Stub {
    pub origin: Origin,
    pub id: Option<String>,
    pub method: MethodDescriptor,
    pub priority: i64,
    pub when: When,
    pub then: Then,
    /// Calls this stub answered, for `{{count}}`.
    pub calls: AtomicU64,
}

impl Stub {
    /// How the call log and errors name the stub: its id, else where it is.
    pub fn name(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => self.origin.to_string(),
        }
    }
}

/// What a stub answers.
#[derive(Debug)]
pub struct Then {
    /// The messages, each after its delay (one for unary and client
    /// streams).
    pub messages: Vec<(Template, Duration)>,
    /// The status that ends the call (OK when not given).
    pub status: Option<StatusAnswer>,
    pub headers: Vec<(String, Template)>,
    pub trailers: Vec<(String, Template)>,
    /// A wait before the answer begins.
    pub delay: Duration,
}

/// The stubs the mock answers from, by method path (`/pkg.Service/Method`),
/// in the order they apply.
#[derive(Debug, Default)]
pub struct StubSet {
    by_path: HashMap<String, Vec<Arc<Stub>>>,
    count: usize,
}

impl StubSet {
    /// The stubs of one method, highest priority first, then in file order.
    pub fn for_path(&self, path: &str) -> &[Arc<Stub>] {
        self.by_path.get(path).map(Vec::as_slice).unwrap_or(&[])
    }

    /// How many stubs there are in all.
    pub fn len(&self) -> usize {
        self.count
    }

    /// The methods that have stubs, as `pkg.Service/Method`, sorted.
    pub fn methods(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_path
            .keys()
            .map(|p| p.trim_start_matches('/').to_string())
            .collect();
        names.sort();
        names
    }

    fn from_stubs(stubs: Vec<Stub>) -> StubSet {
        let count = stubs.len();
        let mut by_path: HashMap<String, Vec<Arc<Stub>>> = HashMap::new();
        for stub in stubs {
            let path = method_path(&stub.method);
            by_path.entry(path).or_default().push(Arc::new(stub));
        }
        for stubs in by_path.values_mut() {
            // Stable: equal priorities keep file and list order.
            stubs.sort_by_key(|s| std::cmp::Reverse(s.priority));
        }
        StubSet { by_path, count }
    }
}

/// Reads every stub under `path` (a file, or a folder read recursively in
/// name order) and checks each against `pool`.
pub fn load(path: &Path, pool: &DescriptorPool) -> Result<StubSet> {
    let mut stubs = Vec::new();
    for file in files(path)? {
        stubs.extend(load_file(&file, pool)?);
    }
    Ok(StubSet::from_stubs(stubs))
}

/// The stub files under `path`, sorted; a file named directly is read
/// whatever its extension.
pub fn files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path)
        .map_err(|err| anyhow!("cannot read the stubs at {}: {err}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|err| anyhow!("cannot read the folder {}: {err}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if is_stub_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_stub_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "yaml" | "yml")
    )
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The stubs of one file.
pub fn load_file(path: &Path, pool: &DescriptorPool) -> Result<Vec<Stub>> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow!("{}: cannot read: {err}", path.display()))?;
    let yaml = is_yaml(path);
    let value: Value = if yaml {
        serde_norway::from_str(&text).map_err(|err| {
            let line = err.location().map(|l| l.line()).unwrap_or(1);
            anyhow!("{}:{line}: not YAML: {}", path.display(), first_line(&err))
        })?
    } else {
        serde_json::from_str(&text).map_err(|err| {
            anyhow!(
                "{}:{}: not JSON: {}",
                path.display(),
                err.line().max(1),
                first_line(&err)
            )
        })?
    };
    let (items, listed) = match value {
        Value::Array(items) => (items, true),
        Value::Object(_) => (vec![value], false),
        // An empty YAML file is no stubs.
        Value::Null if yaml => (Vec::new(), true),
        other => bail!(
            "{}:1: a stub file holds a stub (an object) or a list of stubs, not {}",
            path.display(),
            kind_of(&other)
        ),
    };
    let starts = if listed {
        element_lines(&text, yaml)
    } else {
        vec![first_content_line(&text)]
    };
    let mut stubs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let line = starts.get(index).copied().unwrap_or(1);
        let next = starts.get(index + 1).copied();
        let origin = Origin {
            file: path.to_path_buf(),
            line,
        };
        let at = |key: Option<&str>| {
            let line = key
                .and_then(|key| key_line(&text, line, next, key, yaml))
                .unwrap_or(line);
            format!("{}:{line}", path.display())
        };
        let stub = compile(item, origin, pool).map_err(|fault| {
            let which = if listed {
                format!(" (stub {})", index + 1)
            } else {
                String::new()
            };
            anyhow!("{}{which}: {}", at(fault.key.as_deref()), fault.message)
        })?;
        stubs.push(stub);
    }
    Ok(stubs)
}

fn first_line(err: &dyn fmt::Display) -> String {
    err.to_string().lines().next().unwrap_or("").to_string()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A stub as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    method: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    when: Option<Value>,
    then: WrittenThen,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenThen {
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    messages: Option<Vec<WrittenItem>>,
    #[serde(default)]
    status: Option<WrittenStatus>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    trailers: BTreeMap<String, String>,
    #[serde(default, rename = "delayMs")]
    delay_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenItem {
    message: Value,
    #[serde(default, rename = "delayMs")]
    delay_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenStatus {
    code: Value,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<Value>,
}

/// One stub checked against the schema.
fn compile(item: Value, origin: Origin, pool: &DescriptorPool) -> Result<Stub, Fault> {
    let written: Written = serde_path_to_error::deserialize(item).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde names the unknown key in backquotes: point at it.
        let key = inner
            .split('`')
            .nth(1)
            .map(str::to_string)
            .or_else(|| path.rsplit('.').next().map(str::to_string));
        let message = if path == "." || path.is_empty() {
            inner
        } else {
            format!("{path}: {inner}")
        };
        Fault { key, message }
    })?;
    let method = find_method(pool, &written.method)?;
    let when = match written.when {
        None => When::default(),
        Some(value) => When::compile(&value, &method)?,
    };
    let then = compile_then(written.then, &method)?;
    Ok(Stub {
        origin,
        id: written.id,
        method,
        priority: written.priority,
        when,
        then,
        calls: AtomicU64::new(0),
    })
}

/// `pkg.Service/Method` (or with a dot before the method, or a leading
/// slash) in the schema; a near miss is named.
fn find_method(pool: &DescriptorPool, name: &str) -> Result<MethodDescriptor, Fault> {
    let trimmed = name.trim_start_matches('/');
    let (service, method) = trimmed
        .rsplit_once('/')
        .or_else(|| trimmed.rsplit_once('.'))
        .ok_or_else(|| {
            Fault::at(
                "method",
                format!("method {name:?} is not of the form package.Service/Method"),
            )
        })?;
    let found = pool
        .get_service_by_name(service)
        .and_then(|s| s.methods().find(|m| m.name() == method));
    found.ok_or_else(|| {
        let known: Vec<String> = pool
            .services()
            .flat_map(|s| {
                s.methods()
                    .map(|m| format!("{}/{}", s.full_name(), m.name()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let hint = match crate::schema::closest(&format!("{service}/{method}"), &known) {
            Some(near) => format!("; did you mean {near}?"),
            None => String::new(),
        };
        Fault::at(
            "method",
            format!("the schema has no method {service}/{method}{hint}"),
        )
    })
}

fn compile_then(then: WrittenThen, method: &MethodDescriptor) -> Result<Then, Fault> {
    let output = method.output();
    let kind = crate::schema::method_kind(method);
    let given = then.message.is_some() || then.messages.is_some();
    let messages = match (then.message, then.messages) {
        (Some(_), Some(_)) => {
            return Err(Fault::at(
                "messages",
                "then has both message and messages; give one",
            ));
        }
        (Some(message), None) => vec![(check_message(message, &output, "message")?, 0)],
        (None, Some(items)) => {
            if !method.is_server_streaming() {
                return Err(Fault::at(
                    "messages",
                    format!(
                        "{} is {kind}: it answers one message (then.message), not a list",
                        method_name(method)
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push((
                    check_message(item.message, &output, "messages")?,
                    item.delay_ms,
                ));
            }
            out
        }
        (None, None) => Vec::new(),
    };
    let pool = method.parent_pool();
    let status = then.status.map(|s| compile_status(s, pool)).transpose()?;
    let ok = status.as_ref().is_none_or(|s| s.code == Code::Ok);
    if !given && status.is_none() {
        return Err(Fault::at("then", "then needs message, messages or status"));
    }
    if !method.is_server_streaming() && !messages.is_empty() && !ok {
        return Err(Fault::at(
            "status",
            format!(
                "{} is {kind}: it answers a message or a failed status, not both",
                method_name(method)
            ),
        ));
    }
    if !method.is_server_streaming() && messages.is_empty() && ok {
        return Err(Fault::at(
            "then",
            format!(
                "{} is {kind}: an OK answer needs then.message",
                method_name(method)
            ),
        ));
    }
    let templates = |map: BTreeMap<String, String>, what: &str| {
        map.into_iter()
            .map(|(name, value)| {
                let lower = name.to_ascii_lowercase();
                if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                    return Err(Fault::at(
                        &name,
                        format!("{what} {name:?} is not a header name"),
                    ));
                }
                if lower.starts_with("grpc-") || lower == "content-type" {
                    return Err(Fault::at(
                        &name,
                        format!("{what} {name:?} is gRPC's own; set the status instead"),
                    ));
                }
                let template =
                    Template::compile(Value::String(value)).map_err(|e| Fault::at(&name, e))?;
                Ok((lower, template))
            })
            .collect::<Result<Vec<_>, Fault>>()
    };
    Ok(Then {
        messages: messages
            .into_iter()
            .map(|(t, ms)| (t, Duration::from_millis(ms)))
            .collect(),
        status,
        headers: templates(then.headers, "header")?,
        trailers: templates(then.trailers, "trailer")?,
        delay: Duration::from_millis(then.delay_ms),
    })
}

/// A message of `then`, checked against its type: every field must exist
/// and every value not left to a template must fit.
fn check_message(value: Value, output: &MessageDescriptor, key: &str) -> Result<Template, Fault> {
    let template = Template::compile(value).map_err(|e| Fault::at(key, e))?;
    let probe = template.probe();
    parse_message(output, &probe)
        .map_err(|err| Fault::at(&err.key.unwrap_or_else(|| key.to_string()), err.message))?;
    Ok(template)
}

fn compile_status(status: WrittenStatus, pool: &DescriptorPool) -> Result<StatusAnswer, Fault> {
    let code = match &status.code {
        Value::Number(n) => n
            .as_i64()
            .filter(|n| (0..=16).contains(n))
            .map(|n| Code::from(n as i32)),
        Value::String(name) => crate::status::parse_code(name),
        _ => None,
    }
    .ok_or_else(|| {
        Fault::at(
            "code",
            format!(
                "status code {} is neither 0-16 nor a name such as NOT_FOUND",
                status.code
            ),
        )
    })?;
    for detail in &status.details {
        super::answer::check_detail(detail, pool).map_err(|e| Fault::at("details", e))?;
    }
    Ok(StatusAnswer {
        code,
        message: Template::compile(Value::String(status.message))
            .map_err(|e| Fault::at("message", e))?,
        details: status.details,
    })
}

/// The line each element of a top-level list starts on: for JSON, each
/// value at depth one; for YAML, each `-` in the first column.
fn element_lines(text: &str, yaml: bool) -> Vec<usize> {
    if yaml {
        return text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("- ") || *l == "-")
            .map(|(i, _)| i + 1)
            .collect();
    }
    let mut lines = Vec::new();
    let (mut depth, mut line, mut in_string, mut escaped) = (0usize, 1usize, false, false);
    let mut want = false;
    for byte in text.bytes() {
        if byte == b'\n' {
            line += 1;
        }
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if want && !byte.is_ascii_whitespace() && byte != b']' {
            lines.push(line);
            want = false;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 && byte == b'[' {
                    want = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => want = true,
            _ => {}
        }
    }
    lines
}

fn first_content_line(text: &str) -> usize {
    text.lines()
        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map_or(1, |i| i + 1)
}

/// The first line from `from` (before `until`) where `key` is written as a
/// key.
fn key_line(text: &str, from: usize, until: Option<usize>, key: &str, yaml: bool) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let bare = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .take_while(|(i, _)| until.is_none_or(|u| i + 1 < u))
        .find(|(_, l)| {
            l.contains(&quoted)
                || (yaml && l.trim_start().trim_start_matches("- ").starts_with(&bare))
        })
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap()
    }

    /// JSON of any shape, its keys often those of a stub, so that random
    /// input reaches past the first check.
    fn json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("method".to_string()),
            Just("when".to_string()),
            Just("then".to_string()),
            Just("message".to_string()),
            Just("messages".to_string()),
            Just("status".to_string()),
            Just("equals".to_string()),
            Just("contains".to_string()),
            Just("matches".to_string()),
            Just("headers".to_string()),
            Just("trailers".to_string()),
            Just("code".to_string()),
            Just("details".to_string()),
            Just("delayMs".to_string()),
            Just("priority".to_string()),
            Just("@type".to_string()),
            Just("name".to_string()),
            "[a-z{}.@]{0,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            prop_oneof![
                Just("helloworld.Greeter/SayHello".to_string()),
                Just("grpcx.test.v1.Echo/Chat".to_string()),
                Just("{{request.name}}".to_string()),
                Just("NOT_FOUND".to_string()),
                Just("type.googleapis.com/google.rpc.ErrorInfo".to_string()),
                ".{0,12}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any JSON or YAML, stub-shaped or not, loads or fails with one
        /// line naming the file and a line; it never panics.
        #[test]
        fn random_stub_files_never_panic(value in json(), yaml in any::<bool>()) {
            let dir = tempfile::tempdir().unwrap();
            let (name, text) = match yaml {
                true => ("s.yaml", serde_norway::to_string(&value).unwrap()),
                false => ("s.json", serde_json::to_string_pretty(&value).unwrap()),
            };
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            if let Err(err) = load_file(&path, &pool()) {
                let err = format!("{err:#}");
                let prefix = format!("{}:", path.display());
                prop_assert!(err.starts_with(&prefix), "{}", err);
                prop_assert!(!err.contains('\n'), "{}", err);
            }
        }
    }

    #[test]
    fn list_elements_are_found_on_their_lines() {
        let text = "[\n  {\"a\": \"[,]\"},\n  {\"b\": [1, 2]}\n  ,\n {}\n]";
        assert_eq!(element_lines(text, false), vec![2, 3, 5]);
        let yaml = "# stubs\n- method: a\n  then: {}\n- method: b\n";
        assert_eq!(element_lines(yaml, true), vec![2, 4]);
        assert_eq!(element_lines("[]", false), Vec::<usize>::new());
    }

    #[test]
    fn keys_are_found_within_their_stub() {
        let text = "[\n{\"when\": 1},\n{\"x\": 1,\n \"when\": 2}\n]";
        assert_eq!(key_line(text, 3, None, "when", false), Some(4));
        assert_eq!(key_line(text, 2, Some(3), "when", false), Some(2));
        assert_eq!(key_line(text, 2, Some(3), "nope", false), None);
    }
}
