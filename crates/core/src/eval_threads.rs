//! The threads expressions are evaluated on: each has
//! [`EVAL_STACK_BYTES`](crate::expect::EVAL_STACK_BYTES) of stack (deep expressions
//! recurse), and they are kept between jobs. Starting a thread with a 64 MiB stack
//! for every item costs more than judging it (a 100,000-item sweep spent most of
//! its system time mapping stacks), so a job goes to an idle thread when there is
//! one, and a new thread starts only while fewer than one per core are alive: a
//! wave of 1,024 items finishing at once is judged by a thread per core (each job
//! takes microseconds, and every thread costs its own allocator heap).
//!
//! A slow evaluation (a regular expression over a large body) must not hold up the
//! others, so a watcher looks at the queue every [`SLOW`] while jobs wait, and
//! starts one more thread for each job that has run longer than that, up to
//! [`MAX_THREADS`]. Every job is stopped at its item's deadline anyway. Threads
//! left idle for [`KEEP_IDLE`] end.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long a thread with nothing to do waits for a job before it ends.
const KEEP_IDLE: Duration = Duration::from_secs(10);

/// A job running longer than this no longer counts against the threads' limit.
const SLOW: Duration = Duration::from_millis(20);

/// Evaluation threads alive at most, however many jobs are slow.
const MAX_THREADS: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads alive (waiting or working).
    alive: usize,
    /// When each running job started, by job number.
    running: Vec<(u64, Instant)>,
    /// The next job's number.
    next: u64,
    /// Whether the watcher thread has been started.
    watched: bool,
}

impl Queue {
    /// How many threads may be alive now: one per core (at least two), plus one
    /// per slow job.
    fn limit(&self) -> usize {
        static CORES: OnceLock<usize> = OnceLock::new();
        let cores = *CORES.get_or_init(|| {
            std::thread::available_parallelism()
                .map_or(2, usize::from)
                .max(2)
        });
        let slow = self
            .running
            .iter()
            .filter(|(_, at)| at.elapsed() > SLOW)
            .count();
        (cores + slow).min(MAX_THREADS)
    }

    /// Whether a job waits that no idle thread will take, and one more thread may
    /// start.
    fn wants_thread(&self) -> bool {
        self.jobs.len() > self.idle && self.alive < self.limit()
    }
}

#[derive(Default)]
struct Threads {
    queue: Mutex<Queue>,
    /// Wakes a waiting evaluation thread.
    wake: Condvar,
    /// Wakes the watcher.
    waiting: Condvar,
}

fn threads() -> &'static Threads {
    static THREADS: OnceLock<Threads> = OnceLock::new();
    THREADS.get_or_init(Threads::default)
}

impl Threads {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One evaluation thread's life: take jobs until none comes for [`KEEP_IDLE`].
    fn serve(&self) {
        loop {
            let (job, number) = {
                let mut q = self.lock();
                loop {
                    if let Some(job) = q.jobs.pop_front() {
                        let number = q.next;
                        q.next += 1;
                        q.running.push((number, Instant::now()));
                        break (job, number);
                    }
                    q.idle += 1;
                    let (guard, waited) = self
                        .wake
                        .wait_timeout(q, KEEP_IDLE)
                        .unwrap_or_else(|p| p.into_inner());
                    q = guard;
                    q.idle -= 1;
                    if waited.timed_out() && q.jobs.is_empty() {
                        q.alive -= 1;
                        return;
                    }
                }
            };
            // A job catches its own panics; this keeps the thread if one does not.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            self.lock().running.retain(|(n, _)| *n != number);
        }
    }

    /// The watcher: while jobs wait, every [`SLOW`], one more thread for each job
    /// that has become slow.
    fn watch(&self) {
        let mut q = self.lock();
        loop {
            let pause = if q.jobs.is_empty() { KEEP_IDLE } else { SLOW };
            q = self
                .waiting
                .wait_timeout(q, pause)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            while q.wants_thread() {
                q.alive += 1;
                drop(q);
                let started = start_thread();
                q = self.lock();
                if started.is_err() {
                    q.alive -= 1;
                    break;
                }
            }
        }
    }
}

fn start_thread() -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("preflight-judge".into())
        .stack_size(crate::expect::EVAL_STACK_BYTES)
        .spawn(|| threads().serve())
        .map(drop)
}

/// Runs `job` on an evaluation thread without waiting for it. Fails only when no
/// thread is alive and a new one cannot be started.
pub(crate) fn spawn(job: impl FnOnce() + Send + 'static) -> Result<(), String> {
    let t = threads();
    let mut q = t.lock();
    q.jobs.push_back(Box::new(job));
    if !q.watched {
        q.watched = true;
        // Without the watcher a slow job could hold up the queue behind it; the
        // evaluation threads still serve.
        let _ = std::thread::Builder::new()
            .name("preflight-judge-watch".into())
            .stack_size(64 * 1024)
            .spawn(|| threads().watch());
    }
    if !q.wants_thread() {
        // An idle thread takes it; if it must wait, the watcher keeps an eye on
        // the jobs ahead of it.
        t.wake.notify_one();
        if q.jobs.len() > q.idle {
            t.waiting.notify_one();
        }
        return Ok(());
    }
    q.alive += 1;
    drop(q);
    match start_thread() {
        Ok(()) => Ok(()),
        Err(e) => {
            let mut q = t.lock();
            q.alive -= 1;
            if q.alive > 0 {
                // A thread that is alive will take the job when it is free.
                return Ok(());
            }
            // Nobody would take it: take it back (the newest is ours, or another
            // caller's that fails the same way).
            q.jobs.pop_back();
            Err(format!(
                "could not start a thread to judge the expectations: {e}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn jobs_run_on_deep_stacks_and_threads_are_reused() {
        let (tx, rx) = mpsc::channel();
        for i in 0..200 {
            let tx = tx.clone();
            spawn(move || {
                // Deeper than a default 2 MiB thread stack allows.
                fn depth(n: u32) -> u32 {
                    let pad = [n as u8; 512];
                    if n == 0 {
                        u32::from(pad[0])
                    } else {
                        depth(n - 1) + u32::from(std::hint::black_box(pad)[1] & 1)
                    }
                }
                let _ = depth(8_000);
                let _ = tx.send((i, std::thread::current().id()));
            })
            .expect("spawn");
        }
        drop(tx);
        let done: Vec<_> = rx.iter().collect();
        assert_eq!(done.len(), 200);
        let threads: std::collections::HashSet<_> = done.iter().map(|(_, t)| *t).collect();
        assert!(
            threads.len() < 200,
            "every job started a thread of its own ({})",
            threads.len()
        );
    }

    #[test]
    fn slow_jobs_do_not_hold_up_the_others() {
        // More slow jobs than cores: every thread the core count allows is busy.
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = std::sync::Arc::new(Mutex::new(gate_rx));
        for _ in 0..cores + 2 {
            let gate = gate.clone();
            spawn(move || {
                let _ = gate.lock().map(|g| g.recv_timeout(Duration::from_secs(30)));
            })
            .expect("spawn");
        }
        let (tx, rx) = mpsc::channel();
        spawn(move || {
            let _ = tx.send(());
        })
        .expect("spawn");
        assert!(
            rx.recv_timeout(Duration::from_secs(5)).is_ok(),
            "a job waited behind slow ones"
        );
        drop(gate_tx);
    }
}
