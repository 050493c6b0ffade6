//! The shared cache's async edges, polled by hand in any order: tasks started, polled, woken
//! and dropped at any await point (while sending or while waiting), LINE's answers (any
//! status) released in any order, invalidations and clock moves. Nothing may panic; every
//! token handed out is valid by the clock; a task waits only while a refresh is in flight;
//! nothing stays registered once every task is gone; and a dropped sender never leaves its
//! refresh in flight.
#![no_main]

use std::cell::{Cell, RefCell};
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll as TaskPoll, Waker};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use line_channel_token::cache::{Credentials, DriveError, Poll, SharedCache, TokenCache};
use line_channel_token::{AccessToken, ApiBase, ChannelSecret, UnixTime};

type Answer = Result<http::Response<Vec<u8>>, ()>;
type Task<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, DriveError<()>>> + 'a>>;

/// The answers the test releases: per send, the status to answer with once released.
#[derive(Default)]
struct Line {
    released: RefCell<Vec<Option<u16>>>,
    serial: Cell<u64>,
}

fn task<'a>(shared: &'a SharedCache, line: &Rc<Line>, now: &Rc<Cell<UnixTime>>) -> Task<'a> {
    let (line, clock) = (line.clone(), now.clone());
    let now = move || clock.get();
    Box::pin(shared.get_token_async(
        now,
        |_| pending::<()>(),
        move |_req| {
            let line = line.clone();
            let slot = {
                let mut released = line.released.borrow_mut();
                released.push(None);
                released.len() - 1
            };
            std::future::poll_fn(move |_cx| -> TaskPoll<Answer> {
                match line.released.borrow()[slot] {
                    None => TaskPoll::Pending,
                    Some(0) => TaskPoll::Ready(Err(())),
                    Some(status) => {
                        line.serial.set(line.serial.get() + 1);
                        let body = format!(
                            r#"{{"access_token":"t{}","expires_in":900,"token_type":"Bearer"}}"#,
                            line.serial.get()
                        );
                        let mut response = http::Response::new(body.into_bytes());
                        *response.status_mut() =
                            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
                        TaskPoll::Ready(Ok(response))
                    }
                }
            })
        },
    ))
}

fuzz_target!(|data: &[u8]| {
    let creds = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s"));
    let shared = SharedCache::new(
        TokenCache::builder(ApiBase::default(), creds)
            .seed(7)
            .build(),
    );
    let line = Rc::new(Line::default());
    let now = Rc::new(Cell::new(UnixTime::from_secs(1_700_000_000)));
    let mut tasks: Vec<Option<Task>> = Vec::new();
    let waker = Waker::noop();
    let mut bytes = data.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = usize::from(bytes.next().unwrap_or(0));
        match op % 7 {
            0 if tasks.len() < 64 => tasks.push(Some(task(&shared, &line, &now))),
            1 | 2 => {
                let i = arg % tasks.len().max(1);
                if let Some(Some(t)) = tasks.get_mut(i) {
                    match t.as_mut().poll(&mut Context::from_waker(waker)) {
                        TaskPoll::Ready(Ok(token)) => {
                            let held = shared.lock().token(now.get()).cloned();
                            assert_eq!(held.as_ref(), Some(&token), "a token not valid now");
                            tasks[i] = None;
                        }
                        TaskPoll::Ready(Err(_)) => tasks[i] = None,
                        TaskPoll::Pending => {}
                    }
                }
            }
            3 => {
                // Drop a task, wherever it is.
                let i = arg % tasks.len().max(1);
                if let Some(t) = tasks.get_mut(i) {
                    *t = None;
                }
            }
            4 => {
                // LINE answers one pending send: 0 is no response, else a status.
                let mut released = line.released.borrow_mut();
                let n = released.len();
                if n > 0 {
                    let status = [200u16, 200, 0, 401, 500, 429][usize::from(op >> 3) % 6];
                    released[arg % n].get_or_insert(status);
                }
            }
            5 => {
                // (The lock is released before `invalidate` takes it again.)
                let held = shared.lock().state().token;
                if let Some(t) = held {
                    let _ = shared.invalidate(&t.access_token);
                }
            }
            _ => now.set(now.get() + Duration::from_millis(arg as u64 * 997)),
        }
        let live = tasks.iter().filter(|t| t.is_some()).count();
        assert!(shared.waiting_tasks() <= live, "a waker outlived its task");
    }
    drop(tasks);
    assert_eq!(
        shared.waiting_tasks(),
        0,
        "a cancelled waiter left its waker"
    );
    // Every task is gone: any refresh they took was answered or reported abandoned.
    assert!(
        !matches!(shared.lock().poll(now.get()), Poll::InFlight(_)),
        "a dropped sender left its refresh in flight"
    );
});
