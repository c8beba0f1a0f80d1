//! `--format text`: the bench report for people: counts and rate, the
//! latency summary, a bar chart of latencies drawn with characters, counts
//! by status, and a few sample error messages.

use std::fmt::Write as _;

use super::Summary;

/// The widest bar, in characters.
const BAR: usize = 40;

/// The whole report as text, ending in a newline.
pub fn render(summary: &Summary, rate: Option<f64>, streams: bool) -> String {
    let mut out = String::new();
    let s = summary;
    let _ = writeln!(out, "Summary:");
    let _ = writeln!(
        out,
        "  Requests:   {} ({} ok, {} errors)",
        s.requests, s.ok, s.errors
    );
    let _ = writeln!(out, "  Duration:   {:.2} s", s.duration_s);
    let _ = writeln!(out, "  Rate:       {:.1} calls/s", s.rps);
    if streams {
        let _ = writeln!(
            out,
            "  Messages:   {} ({:.1} messages/s)",
            s.messages, s.messages_per_s
        );
    }
    if let Some(rate) = rate {
        let _ = writeln!(
            out,
            "  Target:     {rate} calls/s; {} calls started late (no free slot); latency counts from when each call was due",
            s.waited
        );
    }
    let l = &s.latency_ms;
    let [min, mean, max, p50, p90, p95, p99, p999] =
        [l.min, l.mean, l.max, l.p50, l.p90, l.p95, l.p99, l.p999].map(ms);
    let _ = writeln!(out, "\nLatency (ms):");
    let _ = writeln!(out, "  min {min}  mean {mean}  max {max}");
    let _ = writeln!(
        out,
        "  p50 {p50}  p90 {p90}  p95 {p95}  p99 {p99}  p99.9 {p999}"
    );
    let bands = &s.histogram;
    if !bands.is_empty() {
        let _ = writeln!(out, "\nHistogram (ms, upper bound):");
        let most = bands.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
        let width = bands.iter().map(|(to, _)| ms(*to).len()).max().unwrap_or(0);
        let count_width = most.to_string().len();
        for (to, count) in bands {
            let len = (*count as f64 / most as f64 * BAR as f64).ceil() as usize;
            let _ = writeln!(
                out,
                "  {:>width$} [{count:>count_width$}] {}",
                ms(*to),
                "■".repeat(len)
            );
        }
    }
    if !s.status.is_empty() {
        let _ = writeln!(out, "\nStatus:");
        for (name, count) in &s.status {
            let _ = writeln!(out, "  {name:<20} {count}");
        }
    }
    if !s.samples.is_empty() {
        let _ = writeln!(out, "\nErrors (samples):");
        for (text, count) in &s.samples {
            let _ = writeln!(out, "  [{count}] {text}");
        }
    }
    out
}

/// Milliseconds with three significant decimals at most.
fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::Stats;
    use super::*;

    #[test]
    fn the_report_has_every_part() {
        let mut stats = Stats::new();
        for i in 1..=100 {
            stats.record(Duration::from_millis(i), &Ok(()), 3, false);
        }
        let down = Err(tonic::Status::unavailable("down"));
        stats.record(Duration::from_millis(5), &down, 0, false);
        let text = render(&stats.summary(Duration::from_secs(1)), Some(100.0), true);
        for part in [
            "Requests:   101 (100 ok, 1 errors)",
            "Rate:       101.0 calls/s",
            "Messages:   300",
            "p99.9",
            "■",
            "UNAVAILABLE          1",
            "[1] UNAVAILABLE: down",
            "0 calls started late",
        ] {
            assert!(text.contains(part), "{part:?} missing from\n{text}");
        }
    }
}
