//! The bandwidth-delay product estimator that sizes grpcx's HTTP/2 receive
//! windows, after grpc-go's `internal/transport/bdp_estimator.go`.
//!
//! When data starts to arrive and no probe is out, a PING goes out; the
//! bytes that arrive before its ACK are what the link delivered in one round
//! trip. When that sample fills most of the current window (the window, not
//! the link, was the limit) and the bandwidth is the best seen, the window
//! becomes twice the sample, up to [`MAX_WINDOW`]. So a window grows only on
//! a link that needs it: on loopback a round trip carries little and the
//! window stays at [`INITIAL_WINDOW`].

use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The stream window a connection starts with.
pub const INITIAL_WINDOW: u32 = 128 * 1024;
/// The largest stream window the estimator sets (as grpc-go and hyper).
pub const MAX_WINDOW: u32 = 16 * 1024 * 1024;

/// Bytes that arrive with no probe out before one is asked for. A probe
/// costs the server a PING to answer: traffic that small (a stream of
/// tiny calls) could never fill a window, and sends none; a window-sized
/// flow passes it at its first frame.
const PROBE_AFTER: usize = 16 * 1024;

/// A sample must fill this share of the window to grow it.
const BETA: f64 = 0.66;
/// The new window is this many times the sample.
const GAMMA: f64 = 2.0;
/// The weight of a new round-trip sample in the moving average.
const ALPHA: f64 = 0.9;

/// The estimator, shared by the streams (which count bytes) and the task
/// that drives the connection (which sends the PINGs and applies windows).
#[derive(Debug)]
pub struct Estimator(Mutex<State>);

#[derive(Debug)]
struct State {
    window: u32,
    /// Bytes received since the probe went out.
    sample: usize,
    /// Bytes received with no probe out, towards [`PROBE_AFTER`].
    quiet: usize,
    /// A probe is wanted (data arrived with none out).
    wanted: bool,
    /// When the probe out was sent.
    sent_at: Option<Instant>,
    /// Smoothed round trip, seconds.
    rtt: f64,
    /// The shortest round trip seen, seconds: the link's own delay.
    min_rtt: f64,
    /// Best bandwidth seen, bytes a second.
    best: f64,
    /// The driver, to wake when a probe is wanted.
    driver: Option<Waker>,
}

impl Default for Estimator {
    fn default() -> Self {
        Estimator(Mutex::new(State {
            window: INITIAL_WINDOW,
            sample: 0,
            quiet: 0,
            wanted: false,
            sent_at: None,
            rtt: 0.0,
            min_rtt: f64::MAX,
            best: 0.0,
            driver: None,
        }))
    }
}

impl Estimator {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `len` bytes of DATA received; [`PROBE_AFTER`] of them with
    /// no probe out ask the driver for one.
    pub fn received(&self, len: usize) {
        let mut state = self.state();
        if state.window >= MAX_WINDOW {
            return;
        }
        if state.sent_at.is_none() && !state.wanted {
            state.quiet += len;
            if state.quiet < PROBE_AFTER {
                return;
            }
            state.quiet = 0;
            state.wanted = true;
            state.sample = 0;
            if let Some(waker) = state.driver.take() {
                waker.wake();
            }
        }
        state.sample += len;
    }

    /// An estimator whose first probe goes out at once, before any data:
    /// nothing is queued yet, so it measures the link's own round trip.
    pub fn probing_now() -> Estimator {
        let estimator = Estimator::default();
        estimator.state().wanted = true;
        estimator
    }

    /// For the driver: whether to send a probe now (and records it sent).
    pub fn probe(&self, cx: &Context<'_>) -> bool {
        let mut state = self.state();
        if state.wanted {
            state.wanted = false;
            state.sent_at = Some(Instant::now());
            return true;
        }
        state.driver = Some(cx.waker().clone());
        false
    }

    /// Whether a probe is out (so the driver should poll for its ACK).
    pub fn probing(&self) -> bool {
        self.state().sent_at.is_some()
    }

    /// For the driver: the probe's ACK arrived. Returns the new window when
    /// it should grow.
    pub fn acked(&self) -> Option<u32> {
        let mut state = self.state();
        let sent_at = state.sent_at.take()?;
        grow(&mut state, sent_at.elapsed())
    }
}

/// grpc-go's rule, as a pure function of the state and one round trip.
fn grow(state: &mut State, rtt: Duration) -> Option<u32> {
    let rtt = rtt.as_secs_f64().max(1e-6);
    state.rtt = if state.rtt == 0.0 {
        rtt
    } else {
        state.rtt + (rtt - state.rtt) * ALPHA
    };
    state.min_rtt = state.min_rtt.min(rtt);
    // What the link delivers in its own round trip, at this bandwidth.
    let sample = state.sample as f64 * (state.min_rtt / rtt);
    let bandwidth = sample / (state.rtt * 1.5);
    state.best = state.best.max(bandwidth);
    if sample >= BETA * f64::from(state.window) && bandwidth >= state.best {
        let window = (GAMMA * sample).min(f64::from(MAX_WINDOW)) as u32;
        if window > state.window {
            state.window = window;
            return Some(window);
        }
    }
    None
}

/// Polls a connection's PING/PONG for the estimator: sends a probe when one
/// is wanted and returns a new window when its ACK says to grow.
pub fn poll(
    estimator: &Estimator,
    ping_pong: &mut h2::PingPong,
    cx: &mut Context<'_>,
) -> Result<Option<u32>, h2::Error> {
    if !estimator.probing() && estimator.probe(cx) {
        ping_pong.send_ping(h2::Ping::opaque())?;
    }
    if estimator.probing()
        && let Poll::Ready(pong) = ping_pong.poll_pong(cx)
    {
        pong?;
        return Ok(estimator.acked());
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(window: u32) -> State {
        let estimator = Estimator::default();
        let mut state = estimator.0.into_inner().unwrap();
        state.window = window;
        state
    }

    /// A long link's round trip.
    const RTT: Duration = Duration::from_millis(20);

    #[test]
    fn a_full_window_on_a_long_link_doubles_it() {
        let mut state = state(INITIAL_WINDOW);
        state.sample = INITIAL_WINDOW as usize;
        assert_eq!(grow(&mut state, RTT), Some(2 * INITIAL_WINDOW));
    }

    #[test]
    fn a_window_the_link_does_not_fill_stays() {
        let mut state = state(INITIAL_WINDOW);
        state.sample = 10_000;
        assert_eq!(grow(&mut state, RTT), None);
        assert_eq!(state.window, INITIAL_WINDOW);
    }

    #[test]
    fn it_never_passes_the_limit() {
        let mut state = state(MAX_WINDOW / 2 + 1);
        state.sample = MAX_WINDOW as usize;
        assert_eq!(grow(&mut state, RTT), Some(MAX_WINDOW));
        state.sample = 2 * MAX_WINDOW as usize;
        assert_eq!(grow(&mut state, RTT), None);
    }

    #[test]
    fn a_round_trip_long_only_from_queueing_does_not_grow_it() {
        let mut state = state(INITIAL_WINDOW);
        state.sample = 1000;
        assert_eq!(grow(&mut state, Duration::from_micros(100)), None);
        // A full queue: 10 ms round trips on a 100 µs link carry a lot.
        state.sample = 4 * INITIAL_WINDOW as usize;
        assert_eq!(grow(&mut state, Duration::from_millis(10)), None);
        assert_eq!(state.window, INITIAL_WINDOW);
    }

    #[test]
    fn a_probe_is_asked_for_once_enough_bytes_arrive_with_none_out() {
        let estimator = Estimator::default();
        let waker = futures_util::task::noop_waker();
        let cx = Context::from_waker(&waker);
        assert!(!estimator.probe(&cx));
        // A trickle of tiny answers asks for none.
        for _ in 0..PROBE_AFTER / 100 {
            estimator.received(100);
        }
        assert!(!estimator.probe(&cx));
        estimator.received(100);
        estimator.received(100);
        assert!(estimator.probe(&cx));
        assert!(estimator.probing());
        assert!(!estimator.probe(&cx));
        assert_eq!(estimator.acked(), None);
        assert!(!estimator.probing());
    }
}
