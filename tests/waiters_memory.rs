//! 100,000 tasks waiting at once, then all dropped (cancelled while waiting): the shared
//! cache's memory returns to what it was, measured by a counting allocator. Its own test
//! binary, so no other test allocates meanwhile.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::{Context, Waker};

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::AccessToken;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Answer = Result<http::Response<Vec<u8>>, std::io::Error>;
type Task<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, DriveError<std::io::Error>>> + 'a>>;

fn task(shared: &SharedCache) -> Task<'_> {
    Box::pin(shared.get_token_async(|| T0, |_| pending::<()>(), |_| pending::<Answer>()))
}

#[test]
fn a_hundred_thousand_waiters_dropped_together_leave_memory_as_it_was() {
    let shared = SharedCache::new(secret_cache());
    let mut cx = Context::from_waker(Waker::noop());
    let mut refresher = task(&shared);
    assert!(refresher.as_mut().poll(&mut cx).is_pending(), "sending");
    let before = LIVE.load(Ordering::SeqCst);
    let mut waiters: Vec<Task> = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let mut w = task(&shared);
        assert!(w.as_mut().poll(&mut cx).is_pending());
        waiters.push(w);
    }
    assert_eq!(shared.waiting_tasks(), 100_000);
    drop(waiters);
    assert_eq!(shared.waiting_tasks(), 0);
    let after = LIVE.load(Ordering::SeqCst);
    assert!(
        after - before < 64 * 1024,
        "{} bytes still held after every waiter was dropped",
        after - before
    );
    drop(refresher);
}
