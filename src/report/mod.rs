//! The bench report: what `grpcx bench` measured, and how it is shown.
//!
//! [`Stats`] takes one record per finished call: its latency goes into an
//! HdrHistogram (fixed memory, ~3 significant digits, however long the
//! run), its status into a count per code, and a few error messages are
//! kept as samples. Nothing per call is stored. [`Summary`] is what the
//! formats print: `--format json` (one object, below), `--format text`
//! ([`text`]), and `--format csv`, which streams one row per finished call
//! as it finishes ([`CsvRows`]).

pub mod progress;
pub mod text;

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::Serialize;
use tonic::Code;

use crate::error::stdout_error;
use crate::status::code_constant;

/// Latencies are recorded in microseconds, up to an hour.
const HIGHEST_US: u64 = 3_600_000_000;
/// How many distinct error messages are kept as samples.
const SAMPLES: usize = 5;

/// The code a call ended with.
pub fn code(ended: &Result<(), tonic::Status>) -> Code {
    ended.as_ref().err().map_or(Code::Ok, tonic::Status::code)
}

/// The running figures of a bench run.
pub struct Stats {
    latency: Histogram<u64>,
    /// Calls per status code (0..=16): every call is counted here.
    by_code: [u64; 17],
    samples: Vec<(String, u64)>,
    /// Response messages (server streams report messages per second).
    messages: u64,
    /// Open model: calls that started late, waiting for a free slot.
    waited: u64,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            latency: Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds"),
            by_code: [0; 17],
            samples: Vec::new(),
            messages: 0,
            waited: 0,
        }
    }

    /// Records one finished call.
    pub fn record(
        &mut self,
        latency: Duration,
        ended: &Result<(), tonic::Status>,
        messages: u64,
        waited: bool,
    ) {
        let micros = (latency.as_micros() as u64).clamp(1, HIGHEST_US);
        self.latency.saturating_record(micros);
        self.messages += messages;
        self.waited += waited as u64;
        let code = code(ended);
        self.by_code[(code as usize).min(16)] += 1;
        let Some(status) = ended.as_ref().err().filter(|_| code != Code::Ok) else {
            return;
        };
        let text = format!("{}: {}", code_constant(code), status.message());
        if let Some((_, count)) = self.samples.iter_mut().find(|(sample, _)| *sample == text) {
            *count += 1;
        } else if self.samples.len() < SAMPLES {
            self.samples.push((text, 1));
        }
    }

    /// Finished calls.
    pub fn requests(&self) -> u64 {
        self.by_code.iter().sum()
    }

    pub fn errors(&self) -> u64 {
        self.requests() - self.by_code[0]
    }

    /// The figures of a run that took `elapsed` (its counted part).
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let requests = self.requests();
        let duration_s = elapsed.as_secs_f64();
        let per_second = |n: u64| {
            if duration_s > 0.0 {
                n as f64 / duration_s
            } else {
                0.0
            }
        };
        let ms = |us: u64| round(us as f64 / 1000.0, 3);
        let h = &self.latency;
        let latency_ms = if requests == 0 {
            Latency::default()
        } else {
            Latency {
                min: ms(h.min()),
                mean: round(h.mean() / 1000.0, 3),
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p95: ms(h.value_at_quantile(0.95)),
                p99: ms(h.value_at_quantile(0.99)),
                p999: ms(h.value_at_quantile(0.999)),
                max: ms(h.max()),
            }
        };
        let status = (0..)
            .zip(self.by_code)
            .filter(|&(_, count)| count > 0)
            .map(|(code, count)| (code_constant(Code::from_i32(code)), count))
            .collect();
        Summary {
            requests,
            ok: self.by_code[0],
            errors: self.errors(),
            duration_s: round(duration_s, 6),
            rps: round(per_second(requests), 3),
            latency_ms,
            status,
            messages: self.messages,
            messages_per_s: per_second(self.messages),
            waited: self.waited,
            samples: self.samples.clone(),
            histogram: self.bars(),
        }
    }

    /// Up to 10 latency bands from min to max, equal in width, with their
    /// counts: the text report's bar chart.
    fn bars(&self) -> Vec<(f64, u64)> {
        let h = &self.latency;
        if h.is_empty() {
            return Vec::new();
        }
        let (low, high) = (h.min(), h.max());
        // As many bands of this width as reach `high`, and no more: ten
        // bands of it could start past the largest latency.
        let width = (high - low + 1).div_ceil(10);
        let bands = (high - low + 1).div_ceil(width);
        (0..bands)
            .map(|band| {
                let from = low + band * width;
                // The last band ends at `high`, which it reaches.
                let to = (from + width - 1).min(high);
                let count = h.count_between(from, to);
                (to as f64 / 1000.0, count)
            })
            .collect()
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// The figures every format prints. The JSON object has the first seven
/// fields, exactly.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub duration_s: f64,
    pub rps: f64,
    pub latency_ms: Latency,
    /// Calls per canonical status name, in code order: a JSON object.
    #[serde(serialize_with = "as_object")]
    pub status: Vec<(String, u64)>,
    #[serde(skip)]
    pub messages: u64,
    #[serde(skip)]
    pub messages_per_s: f64,
    #[serde(skip)]
    pub waited: u64,
    #[serde(skip)]
    pub samples: Vec<(String, u64)>,
    /// (upper bound in ms, count) per band.
    #[serde(skip)]
    pub histogram: Vec<(f64, u64)>,
}

fn as_object<S: serde::Serializer>(pairs: &[(String, u64)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(name, count)| (name, count)))
}

impl Summary {
    /// The one-object JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the summary serializes")
    }
}

/// `--format csv`: one row per finished call, written as it finishes.
pub struct CsvRows {
    out: io::BufWriter<io::Stdout>,
}

impl CsvRows {
    /// Writes the header row.
    pub fn new() -> Result<CsvRows> {
        let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout());
        out.write_all(b"start_s,latency_ms,status\n")
            .map_err(stdout_error)?;
        Ok(CsvRows { out })
    }

    /// One call: when it was due (seconds from the start of the counted
    /// run), its latency, its status.
    pub fn row(&mut self, start: f64, latency: Duration, code: Code) -> Result<()> {
        writeln!(
            self.out,
            "{start:.6},{:.3},{}",
            latency.as_secs_f64() * 1000.0,
            code_constant(code)
        )
        .map_err(stdout_error)
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_count_by_canonical_name() {
        let mut stats = Stats::new();
        for _ in 0..3 {
            stats.record(Duration::from_millis(2), &Ok(()), 1, false);
        }
        let gone = Err(tonic::Status::not_found("gone"));
        stats.record(Duration::from_millis(9), &gone, 0, true);
        let summary = stats.summary(Duration::from_secs(2));
        assert_eq!((summary.requests, summary.ok, summary.errors), (4, 3, 1));
        assert_eq!(summary.rps, 2.0);
        assert_eq!(summary.waited, 1);
        assert_eq!(summary.samples, [("NOT_FOUND: gone".to_string(), 1)]);
        let text = summary.to_json();
        assert!(
            text.starts_with(
                r#"{"requests":4,"ok":3,"errors":1,"duration_s":2.0,"rps":2.0,"latency_ms":{"min":"#
            ),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["status"], serde_json::json!({"OK": 3, "NOT_FOUND": 1}));
        assert_eq!(json["latency_ms"]["p50"], 2.0);
        assert_eq!(json.as_object().unwrap().len(), 7);
        let bars: u64 = summary.histogram.iter().map(|(_, n)| n).sum();
        assert_eq!(bars, 4);
    }

    #[test]
    fn no_band_starts_past_the_largest_latency() {
        for (low, high) in [(1, 12), (1, 11), (1, 10), (5, 5), (100, 1_999)] {
            let mut stats = Stats::new();
            for micros in [low, high] {
                stats.record(Duration::from_micros(micros), &Ok(()), 0, false);
            }
            let bars = stats.bars();
            let max = stats.latency.max() as f64 / 1000.0;
            assert!(bars.len() <= 10, "{low}..{high}: {bars:?}");
            assert_eq!(bars.last().unwrap().0, max, "{low}..{high}: {bars:?}");
            assert!(bars.windows(2).all(|w| w[0].0 < w[1].0), "{bars:?}");
            assert_eq!(bars.iter().map(|(_, n)| n).sum::<u64>(), 2);
        }
    }

    #[test]
    fn memory_is_flat() {
        let mut stats = Stats::new();
        let cells = stats.latency.distinct_values();
        for i in 0..1_000_000u64 {
            let latency = Duration::from_micros(i * 7919 % 90_000_000);
            stats.record(latency, &Ok(()), 0, false);
        }
        assert_eq!(stats.latency.len(), 1_000_000);
        assert_eq!(stats.latency.distinct_values(), cells);
    }
}
