//! The scheduler: which call runs when.
//!
//! - [`ordered`], for `call --each`: jobs start in input order with at most
//!   N in flight, and their event streams are handed to the consumer in
//!   that same order, so output keeps input order whatever N is.
//! - [`Pacer`] and [`drive`], for `bench`: N workers take tickets from one
//!   pacer. In the closed model a ticket is due the moment it is taken; in
//!   the open model (`--rate`) ticket k is due at `start + k / rate`, fixed
//!   in advance, and latency is measured from that moment (as wrk2 does),
//!   so a stalled server or a full set of workers shows up in the figures
//!   instead of quietly slowing the schedule (coordinated omission).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::{Engine, Event};

/// One call of `--each`, handed to the consumer in input order: its events,
/// or the local error that kept it from being made.
pub enum Slot<E> {
    Call(usize, mpsc::Receiver<Event>),
    Failed(usize, E),
}

/// Runs each job `next` yields (index, requests, or an error) on `engine`,
/// at most `limit` at once, and sends their slots to `order` in job order.
/// Returns when the jobs end or the consumer goes away.
pub async fn ordered<E, N>(
    engine: Arc<Engine>,
    limit: usize,
    mut next: N,
    order: mpsc::Sender<Slot<E>>,
) where
    N: AsyncFnMut() -> Option<(usize, Result<Vec<prost_reflect::DynamicMessage>, E>)>,
{
    let slots = Arc::new(Semaphore::new(limit));
    while let Some((index, job)) = next().await {
        let slot = match job {
            Err(err) => Slot::Failed(index, err),
            Ok(requests) => {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                // A call that is not at the head of the output waits here
                // once its buffer is full, still holding its slot.
                let (tx, rx) = mpsc::channel(64);
                let engine = engine.clone();
                tokio::spawn(async move {
                    let ended = match engine.requests(requests) {
                        Ok(requests) => engine.call(0, requests, Some(&tx)).await.ended,
                        Err(status) => Err(status),
                    };
                    let status = ended.err().unwrap_or_else(|| tonic::Status::ok(""));
                    let _ = tx.send(Event::End(status)).await;
                    drop(permit);
                });
                Slot::Call(index, rx)
            }
        };
        if order.send(slot).await.is_err() {
            return;
        }
    }
}

/// The shape of a bench run.
pub struct Load {
    /// Calls per second (open model), or none (closed model).
    pub rate: Option<f64>,
    /// Counted calls to make, or none.
    pub requests: Option<u64>,
    /// How long to issue counted calls, or none.
    pub duration: Option<Duration>,
    /// How long to run, uncounted, first.
    pub warmup: Duration,
}

/// One call to make.
pub struct Ticket {
    /// The call's number, from 0, warmup included.
    pub seq: u64,
    /// When the call was due: latency counts from here.
    pub due: Instant,
    /// Whether the call is past the warmup and so counted.
    pub counted: bool,
    /// Open model: the call started late because no worker was free.
    pub waited: bool,
}

/// A late start counted as a wait: timer granularity is about 1 ms.
const LATE: Duration = Duration::from_millis(1);

/// Hands out tickets to the workers of one task (hence `Cell`).
pub struct Pacer {
    load: Load,
    start: Instant,
    /// When counted calls begin (after the warmup).
    measure: Instant,
    issued: Cell<u64>,
    counted: Cell<u64>,
    stopped: Cell<bool>,
}

impl Pacer {
    pub fn new(load: Load, start: Instant) -> Pacer {
        Pacer {
            measure: start + load.warmup,
            load,
            start,
            issued: Cell::new(0),
            counted: Cell::new(0),
            stopped: Cell::new(false),
        }
    }

    /// When counted calls begin.
    pub fn measure_start(&self) -> Instant {
        self.measure
    }

    /// Hands out no more tickets.
    pub fn stop(&self) {
        self.stopped.set(true);
    }

    /// The next call to make, waiting until it is due (open model); `None`
    /// when the run has issued all it should.
    pub async fn next(&self) -> Option<Ticket> {
        if self.stopped.get() {
            return None;
        }
        let seq = self.issued.get();
        let now = Instant::now();
        let due = match self.load.rate {
            Some(rate) => self.start + Duration::from_secs_f64(seq as f64 / rate),
            None => now,
        };
        let counted = due >= self.measure;
        if counted {
            let load = &self.load;
            let over_time = load.duration.is_some_and(|d| due >= self.measure + d);
            let over_count = load.requests.is_some_and(|n| self.counted.get() >= n);
            if over_time || over_count {
                self.stop();
                return None;
            }
            self.counted.set(self.counted.get() + 1);
        }
        self.issued.set(seq + 1);
        let waited = now > due + LATE;
        if due > now {
            tokio::time::sleep_until(due.into()).await;
        }
        Some(Ticket {
            seq,
            due,
            counted,
            waited,
        })
    }
}

/// Runs `workers` loops on the current task, each taking the pacer's next
/// ticket and running `work(worker, ticket)` until the pacer is done.
pub async fn drive<F, Fut>(pacer: &Pacer, workers: usize, work: F)
where
    F: Fn(usize, Ticket) -> Fut,
    Fut: Future<Output = ()>,
{
    let work = &work;
    let loops = (0..workers).map(|worker| async move {
        while let Some(ticket) = pacer.next().await {
            work(worker, ticket).await;
        }
    });
    futures_util::future::join_all(loops).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_model_issues_rate_times_duration() {
        let load = Load {
            rate: Some(1000.0),
            requests: None,
            duration: Some(Duration::from_millis(200)),
            warmup: Duration::from_millis(50),
        };
        let pacer = Pacer::new(load, Instant::now());
        let mut counted = 0;
        let mut all = 0;
        while let Some(ticket) = pacer.next().await {
            all += 1;
            counted += ticket.counted as u64;
        }
        assert_eq!((counted, all), (200, 250));
    }

    #[tokio::test]
    async fn closed_model_stops_at_the_count() {
        let load = Load {
            rate: None,
            requests: Some(7),
            duration: None,
            warmup: Duration::ZERO,
        };
        let pacer = Pacer::new(load, Instant::now());
        let done = Cell::new(0);
        drive(&pacer, 3, |_, _| async { done.set(done.get() + 1) }).await;
        assert_eq!(done.get(), 7);
    }
}
