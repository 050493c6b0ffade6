//! `SharedCache::get_token_async`: one task refreshes and the others wake when its answer
//! arrives, on tokio (both runtimes), on futures' local executor with non-`Send` futures, and
//! polled by hand to cancel it at every await point. Timing goals are figures in the
//! benchmark; these tests check properties with margins no loaded machine reaches.

mod common;

use std::cell::Cell;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll as TaskPoll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime};

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::emulator::Emulator;
use line_channel_token::Operation;
use line_channel_token::{AccessToken, UnixTime};

type Answer = Result<http::Response<Vec<u8>>, std::io::Error>;

/// Many tasks on a tokio runtime, LINE answering after `delay`: every task gets the one
/// token, and the last one gets it soon after LINE's answer.
async fn many_tasks(tasks: usize, delay: Duration) -> (usize, Duration) {
    let shared = Arc::new(SharedCache::new(secret_cache()));
    let line = Arc::new(Mutex::new(line()));
    let answered: Arc<Mutex<Option<Instant>>> = Arc::default();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (shared, line, answered) = (shared.clone(), line.clone(), answered.clone());
            tokio::spawn(async move {
                let now = || UnixTime::from(SystemTime::now());
                let token = shared
                    .get_token_async(now, tokio::time::sleep, |req| {
                        let (line, answered) = (line.clone(), answered.clone());
                        async move {
                            tokio::time::sleep(delay).await;
                            let response = line.lock().unwrap().handle(now(), &req);
                            *answered.lock().unwrap() = Some(Instant::now());
                            Ok::<_, std::io::Error>(response)
                        }
                    })
                    .await
                    .unwrap();
                (token, Instant::now())
            })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let answered = answered.lock().unwrap().expect("LINE answered");
    assert!(results.iter().all(|(t, _)| *t == results[0].0), "one token");
    let worst = results
        .iter()
        .map(|(_, at)| at.saturating_duration_since(answered))
        .max()
        .unwrap();
    let issued = line.lock().unwrap().calls(Operation::IssueStateless) as usize;
    assert_eq!(shared.waiting_tasks(), 0);
    (issued, worst)
}

#[test]
fn tokio_multi_thread_one_issuance_and_every_task_woken_by_the_answer() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (issued, worst) = rt.block_on(many_tasks(1000, Duration::from_millis(200)));
    assert_eq!(issued, 1, "one issuance for 1000 tasks");
    // A task left to the in-flight timeout would wait 30 s.
    assert!(worst < Duration::from_secs(5), "worst {worst:?}");
}

#[test]
fn tokio_current_thread_one_issuance_and_every_task_woken_by_the_answer() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (issued, worst) = rt.block_on(many_tasks(200, Duration::from_millis(50)));
    assert_eq!(issued, 1);
    assert!(worst < Duration::from_secs(5), "worst {worst:?}");
}

/// A LINE whose answers wait until the test opens the gate: a future that is pending until
/// then, built on `Rc` (the futures below are not `Send`).
#[derive(Clone, Default)]
struct Gate(Rc<GateState>);

#[derive(Default)]
struct GateState {
    open: Cell<bool>,
    waker: Cell<Option<Waker>>,
    sends: Cell<usize>,
}

impl Gate {
    fn open(&self) {
        self.0.open.set(true);
        if let Some(w) = self.0.waker.take() {
            w.wake();
        }
    }
    fn sends(&self) -> usize {
        self.0.sends.get()
    }
    /// A `send` that answers through `line` once the gate is open.
    fn send(
        &self,
        line: &Rc<std::cell::RefCell<Emulator>>,
        now: UnixTime,
    ) -> impl FnMut(http::Request<Vec<u8>>) -> Pin<Box<dyn Future<Output = Answer>>> {
        let (gate, line) = (self.clone(), line.clone());
        move |req| {
            gate.0.sends.set(gate.0.sends.get() + 1);
            let (gate, line) = (gate.clone(), line.clone());
            Box::pin(std::future::poll_fn(move |cx| {
                if gate.0.open.get() {
                    TaskPoll::Ready(Ok(line.borrow_mut().handle(now, &req)))
                } else {
                    gate.0.waker.set(Some(cx.waker().clone()));
                    TaskPoll::Pending
                }
            }))
        }
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

type Task<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, DriveError<std::io::Error>>> + 'a>>;

/// A task polled by hand: `sleep` never fires, so only a change can wake it.
fn task<'a>(
    shared: &'a SharedCache,
    gate: &Gate,
    line: &Rc<std::cell::RefCell<Emulator>>,
    now: UnixTime,
) -> Task<'a> {
    Box::pin(shared.get_token_async(move || now, |_| pending::<()>(), gate.send(line, now)))
}

fn poll_once<T>(f: &mut Pin<Box<dyn Future<Output = T> + '_>>, waker: &Waker) -> TaskPoll<T> {
    f.as_mut().poll(&mut Context::from_waker(waker))
}

fn rc_line() -> Rc<std::cell::RefCell<Emulator>> {
    Rc::new(std::cell::RefCell::new(line()))
}

#[test]
fn a_second_executor_with_futures_that_are_not_send() {
    use futures_executor::{LocalPool, LocalSpawner};
    use futures_util::task::LocalSpawnExt;
    let shared = Rc::new(SharedCache::new(secret_cache()));
    let (gate, line) = (Gate::default(), rc_line());
    let got: Rc<std::cell::RefCell<Vec<AccessToken>>> = Rc::default();
    let mut pool = LocalPool::new();
    let spawner: LocalSpawner = pool.spawner();
    for _ in 0..20 {
        let (shared, gate, line, got) = (shared.clone(), gate.clone(), line.clone(), got.clone());
        spawner
            .spawn_local(async move {
                let send = gate.send(&line, T0);
                let token = shared
                    .get_token_async(|| T0, |_| pending::<()>(), send)
                    .await
                    .unwrap();
                got.borrow_mut().push(token);
            })
            .unwrap();
    }
    pool.run_until_stalled();
    assert_eq!(gate.sends(), 1, "one task refreshes");
    assert_eq!(shared.waiting_tasks(), 19, "the others wait for its answer");
    gate.open();
    pool.run_until_stalled();
    let got = got.borrow();
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|t| *t == got[0]));
    assert_eq!(shared.waiting_tasks(), 0);
}

#[test]
fn inside_the_advisory_window_the_others_keep_the_current_token_without_waiting() {
    let shared = SharedCache::new(secret_cache());
    let line = rc_line();
    let open = Gate::default();
    open.open();
    let first = futures_executor::block_on(task(&shared, &open, &line, T0)).unwrap();
    let due = shared.lock().refresh_due_at().unwrap();
    let gate = Gate::default();
    let waker = Waker::from(Arc::new(Counter::default()));
    let mut refresher = task(&shared, &gate, &line, due);
    assert!(poll_once(&mut refresher, &waker).is_pending(), "sending");
    for _ in 0..100 {
        let mut other = task(&shared, &gate, &line, due);
        match poll_once(&mut other, &waker) {
            TaskPoll::Ready(Ok(t)) => assert_eq!(t, first),
            _ => panic!("a task waited during an advisory-window refresh"),
        }
    }
    assert_eq!(gate.sends(), 1);
    gate.open();
    let TaskPoll::Ready(Ok(second)) = poll_once(&mut refresher, &waker) else {
        panic!("the refresh did not finish");
    };
    assert_ne!(second, first);
}

#[test]
fn a_task_dropped_while_sending_hands_the_refresh_to_one_waiter_and_the_others_wait_for_it() {
    let shared = SharedCache::new(secret_cache());
    let (gate, line) = (Gate::default(), rc_line());
    let counter = Arc::new(Counter::default());
    let waker = Waker::from(counter.clone());
    let mut refresher = task(&shared, &gate, &line, T0);
    assert!(poll_once(&mut refresher, &waker).is_pending());
    let mut waiters: Vec<Task> = (0..10).map(|_| task(&shared, &gate, &line, T0)).collect();
    for w in &mut waiters {
        assert!(poll_once(w, &waker).is_pending());
    }
    assert_eq!(shared.waiting_tasks(), 10);
    drop(refresher); // a timeout around it, an aborted task, a client that disconnected
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        10,
        "every waiter woken at once"
    );
    // The first woken takes the refresh over (no backoff, no throttle); the others wait
    // for its answer instead of failing.
    for w in &mut waiters {
        assert!(
            poll_once(w, &waker).is_pending(),
            "a waiter failed for a cancelled one"
        );
    }
    assert_eq!(gate.sends(), 2, "one takes over");
    assert_eq!(shared.waiting_tasks(), 9);
    gate.open();
    let tokens: Vec<_> = waiters
        .iter_mut()
        .map(|w| match poll_once(w, &waker) {
            TaskPoll::Ready(Ok(t)) => t,
            _ => panic!("a waiter did not get the token taken over"),
        })
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(gate.sends(), 2);
    assert_eq!(shared.waiting_tasks(), 0);
}

#[test]
fn a_hundred_thousand_cancelled_waiters_leave_nothing_registered() {
    let shared = SharedCache::new(secret_cache());
    let (gate, line) = (Gate::default(), rc_line());
    let waker = Waker::from(Arc::new(Counter::default()));
    let mut refresher = task(&shared, &gate, &line, T0);
    assert!(poll_once(&mut refresher, &waker).is_pending());
    for i in 0..100_000 {
        let mut waiter = task(&shared, &gate, &line, T0);
        assert!(poll_once(&mut waiter, &waker).is_pending());
        // Polled again with another waker: still one registration.
        let other = Waker::from(Arc::new(Counter::default()));
        assert!(poll_once(&mut waiter, &other).is_pending());
        assert_eq!(shared.waiting_tasks(), 1, "waiter {i}");
        drop(waiter);
        assert_eq!(shared.waiting_tasks(), 0, "waiter {i}");
    }
    // Many at once, dropped together.
    let mut many: Vec<Task> = (0..10_000)
        .map(|_| task(&shared, &gate, &line, T0))
        .collect();
    for w in &mut many {
        assert!(poll_once(w, &waker).is_pending());
    }
    assert_eq!(shared.waiting_tasks(), 10_000);
    drop(many);
    assert_eq!(shared.waiting_tasks(), 0);
    gate.open();
    assert!(matches!(
        poll_once(&mut refresher, &waker),
        TaskPoll::Ready(Ok(_))
    ));
    assert_eq!(gate.sends(), 1);
}

/// Two tasks, A (which refreshes) and B (which waits), polled alternately; one of them is
/// dropped after `k` polls, at whatever await point it is. The survivor must finish without
/// a timer (its `sleep` never fires), nothing stays registered and nothing stays in flight.
#[test]
fn cancellation_at_every_await_point_leaves_a_consistent_cache() {
    for k in 0..8 {
        for victim in 0..2 {
            let shared = SharedCache::new(secret_cache());
            let (gate, line) = (Gate::default(), rc_line());
            let waker = Waker::from(Arc::new(Counter::default()));
            let mut tasks = [
                Some(task(&shared, &gate, &line, T0)),
                Some(task(&shared, &gate, &line, T0)),
            ];
            for step in 0..k {
                if step == 3 {
                    gate.open();
                }
                let i = step % 2;
                if let Some(t) = &mut tasks[i] {
                    if poll_once(t, &waker).is_ready() {
                        tasks[i] = None;
                    }
                }
            }
            tasks[victim] = None;
            let survivor = 1 - victim;
            gate.open();
            if let Some(t) = &mut tasks[survivor] {
                // The survivor may have been woken or not: poll until done, a bounded number
                // of times (a wait on the dropped task would never end).
                let mut finished = false;
                for _ in 0..4 {
                    if poll_once(t, &waker).is_ready() {
                        finished = true;
                        break;
                    }
                }
                assert!(finished, "k {k}, victim {victim}: the survivor is stuck");
            }
            assert_eq!(shared.waiting_tasks(), 0, "k {k}, victim {victim}");
            assert!(
                !matches!(shared.lock().poll(T0), Poll::InFlight(_)),
                "k {k}, victim {victim}: a refresh left in flight"
            );
        }
    }
}

#[test]
fn after_invalidate_the_next_async_get_refreshes_without_the_throttle() {
    let shared = SharedCache::new(secret_cache());
    let (open, line) = (Gate::default(), rc_line());
    open.open();
    let first = futures_executor::block_on(task(&shared, &open, &line, T0)).unwrap();
    let later = T0 + Duration::from_secs(1);
    assert!(shared.invalidate(&first));
    let second = futures_executor::block_on(task(&shared, &open, &line, later)).unwrap();
    assert_ne!(first, second);
    assert_eq!(line.borrow().calls(Operation::IssueStateless), 2);
}

#[test]
fn the_readme_shows_the_async_examples_own_lines() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/async_service.rs");
    let block = readme
        .split("<!-- async-shared: begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- async-shared: end -->").next())
        .expect("the README marks its async snippet");
    // Every line, in order, is the example's (which `cargo test` compiles).
    let mut rest = example;
    let mut lines = 0;
    for line in block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```"))
    {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("a README line is not the example's: {line}"));
        rest = &rest[at + line.len()..];
        lines += 1;
    }
    assert!(lines >= 10, "{lines} lines");
}
