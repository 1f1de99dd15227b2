//! The threads expressions are evaluated on: each has
//! [`EVAL_STACK_BYTES`](crate::expect::EVAL_STACK_BYTES) of stack (deep expressions
//! recurse), and they are kept between jobs. Starting a thread with a 64 MiB stack
//! for every item costs more than judging it (a 100,000-item sweep spent most of
//! its system time mapping stacks), so a job goes to an idle thread when there is
//! one and starts a new thread only when every thread is busy, up to
//! [`max_threads`]; past that it waits its turn. A wave of 1,024 items finishing at
//! once would otherwise start hundreds of threads, each with its own allocator
//! heap. Waiting is bounded: every job is stopped at its item's deadline. Threads
//! left idle for [`KEEP_IDLE`] end.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long a thread with nothing to do waits for a job before it ends.
const KEEP_IDLE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads alive (waiting or working).
    alive: usize,
}

/// At most this many evaluation threads: four per core, and never fewer than 16,
/// so a few slow evaluations leave room for the rest.
fn max_threads() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        (4 * cores).max(16)
    })
}

#[derive(Default)]
struct Threads {
    queue: Mutex<Queue>,
    wake: Condvar,
}

fn threads() -> &'static Threads {
    static THREADS: OnceLock<Threads> = OnceLock::new();
    THREADS.get_or_init(Threads::default)
}

impl Threads {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One thread's life: take jobs until none comes for [`KEEP_IDLE`].
    fn serve(&self) {
        loop {
            let job = {
                let mut q = self.lock();
                loop {
                    if let Some(job) = q.jobs.pop_front() {
                        break job;
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
        }
    }
}

/// Runs `job` on an evaluation thread without waiting for it. Fails only when no
/// thread is free and a new one cannot be started.
pub(crate) fn spawn(job: impl FnOnce() + Send + 'static) -> Result<(), String> {
    let t = threads();
    let mut q = t.lock();
    q.jobs.push_back(Box::new(job));
    // Every waiting thread that has not yet been given a job will take one.
    if q.idle >= q.jobs.len() || q.alive >= max_threads() {
        t.wake.notify_one();
        return Ok(());
    }
    q.alive += 1;
    drop(q);
    let started = std::thread::Builder::new()
        .name("preflight-judge".into())
        .stack_size(crate::expect::EVAL_STACK_BYTES)
        .spawn(|| threads().serve());
    match started {
        Ok(_) => Ok(()),
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
    fn a_long_job_does_not_hold_up_the_others() {
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        spawn(move || {
            let _ = gate_rx.recv_timeout(Duration::from_secs(30));
        })
        .expect("spawn");
        let (tx, rx) = mpsc::channel();
        spawn(move || {
            let _ = tx.send(());
        })
        .expect("spawn");
        assert!(
            rx.recv_timeout(Duration::from_secs(5)).is_ok(),
            "a job waited behind a busy thread"
        );
        let _ = gate_tx.send(());
    }
}
