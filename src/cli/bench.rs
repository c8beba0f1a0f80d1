//! The arguments of `grpcx bench`: the load shape (closed or open model,
//! how long), the data, and the report's format. Plain data, as the rest
//! of the CLI (`cli.rs`).

use clap::{Args, ValueEnum};

use super::{ConnArgs, SchemaArgs};

pub(super) const BENCH_NOTES: &str = "\
In bench, --max-time is each call's deadline (a call past it counts as
DEADLINE_EXCEEDED), not the run's; -n or -z bound the run.

Exit codes: 0 when the run completed, whatever the server answered; 130 on
Ctrl-C (after the report of what finished); 1, 2 or 64+N as for `call` when
the run cannot start (bad input, usage, connection).

The --format json report:
  {\"requests\",\"ok\",\"errors\",\"duration_s\",\"rps\",
   \"latency_ms\":{\"min\",\"mean\",\"p50\",\"p90\",\"p95\",\"p99\",\"p999\",\"max\"},
   \"status\":{\"OK\":n,\"UNAVAILABLE\":m,...}}";

/// `grpcx bench`: the load shape, the data and the report.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The server, as for `call`.
    pub target: String,

    /// The method: `package.Service/Method` or `package.Service.Method`.
    pub method: String,

    /// The requests: inline JSON, `@file`, or `@-`. Unary and
    /// server-streaming calls cycle through the messages; client-streaming
    /// and bidi calls send them all on each stream. None means `{}`.
    #[arg(value_name = "DATA", conflicts_with = "data")]
    pub data_positional: Option<String>,

    /// The requests, as DATA above.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,

    /// Calls in flight at once (with --rate: at most this many).
    #[arg(short = 'c', long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// HTTP/2 connections the calls are spread over.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connections: u32,

    /// Stop after N calls (not counting --warmup).
    #[arg(short = 'n', long, value_name = "N", conflicts_with = "duration",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Stop after this long, as in 30s, 500ms, 2m (default 10s when -n is not given).
    #[arg(short = 'z', long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,

    /// Open model: start R calls per second, whatever the server's pace.
    /// Latency counts from when each call was due, so a stalled server
    /// shows in it; calls that had to wait for a free slot are counted.
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Run this long first without counting (as in 2s).
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub warmup: Option<std::time::Duration>,

    /// The report: `text` (summary, histogram, statuses), `json` (one
    /// object), or `csv` (one row per finished call: start_s, latency_ms,
    /// status).
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,

    /// Ignore request fields the schema does not know, instead of failing.
    #[arg(long)]
    pub allow_unknown_fields: bool,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,
}

impl BenchArgs {
    /// The DATA argument, from whichever place it was given.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref().or(self.data_positional.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    Text,
    Json,
    Csv,
}

/// A duration: a number with `ms`, `s`, `m` or `h` (plain numbers are seconds).
pub(super) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "unknown unit '{unit}': use ms, s, m or h, as in 30s"
            ));
        }
    };
    match number.parse::<f64>() {
        Ok(n) if n > 0.0 && n * scale < 1e9 => Ok(std::time::Duration::from_secs_f64(n * scale)),
        _ => Err("expected a positive duration, as in 30s, 500ms or 2m".into()),
    }
}

/// Calls per second: a positive, finite number.
pub(super) fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 10_000_000.0 => Ok(rate),
        _ => Err("expected a positive number of calls per second, as in 200".into()),
    }
}
