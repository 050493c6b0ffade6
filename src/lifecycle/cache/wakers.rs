//! Async waiting without a runtime: an event count of std [`Waker`]s. A task that must wait
//! for another's refresh reads the count while it holds the cache's lock, then waits until
//! the count moves or its timer fires. Nothing here holds a lock across an `.await`.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

/// The tasks waiting for a change, and how many changes there have been.
#[derive(Debug, Default)]
pub(crate) struct Wakers(Mutex<Registry>);

#[derive(Debug, Default)]
struct Registry {
    /// Bumped by every [`Wakers::wake_all`]: a waiter that saw another value has missed
    /// nothing, since it was woken (or will see the new value when it next polls).
    epoch: u64,
    next_id: u64,
    waiting: HashMap<u64, Waker>,
}

/// Below this many slots the registry keeps its table when it empties.
const KEPT: usize = 64;

impl Registry {
    /// Takes a waiter out. The table shrinks once it is three quarters empty, so a burst
    /// of waiters all cancelled leaves no memory behind (amortised O(1) per waiter).
    fn unregister(&mut self, id: u64) {
        self.waiting.remove(&id);
        let (len, capacity) = (self.waiting.len(), self.waiting.capacity());
        if capacity > KEPT && len < capacity / 4 {
            self.waiting.shrink_to(len * 2);
        }
    }
}

impl Wakers {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Every method completes its change before anything can panic.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The count of changes so far: read it under the owner's lock, before releasing it.
    pub(crate) fn epoch(&self) -> u64 {
        self.registry().epoch
    }

    /// How many tasks are registered to be woken now.
    pub(crate) fn len(&self) -> usize {
        self.registry().waiting.len()
    }

    /// Counts a change and wakes every registered task (outside the lock).
    pub(crate) fn wake_all(&self) {
        let woken: Vec<Waker> = {
            let mut registry = self.registry();
            registry.epoch = registry.epoch.wrapping_add(1);
            if registry.waiting.is_empty() {
                return;
            }
            let waiting = std::mem::take(&mut registry.waiting);
            waiting.into_values().collect()
        };
        for waker in woken {
            waker.wake();
        }
    }

    /// Waits until the count is no longer `seen` or `timer` completes, whichever comes first.
    /// Dropped while waiting, it unregisters its waker: a cancelled waiter leaves nothing.
    pub(crate) async fn changed_or<S: Future<Output = ()>>(&self, seen: u64, timer: S) {
        let mut timer = pin!(timer);
        let mut slot = Slot {
            wakers: self,
            id: None,
        };
        poll_fn(|cx| {
            if slot.changed_or_register(seen, cx.waker()) {
                return Poll::Ready(());
            }
            timer.as_mut().poll(cx)
        })
        .await;
    }
}

/// One waiting task's place in the registry; gone when the wait ends or is dropped.
struct Slot<'a> {
    wakers: &'a Wakers,
    id: Option<u64>,
}

impl Slot<'_> {
    /// Whether the count moved past `seen`; if not, (re)registers `waker` in the same lock,
    /// so a change between the check and the registration cannot be missed.
    fn changed_or_register(&mut self, seen: u64, waker: &Waker) -> bool {
        let mut registry = self.wakers.registry();
        if registry.epoch != seen {
            if let Some(id) = self.id.take() {
                registry.unregister(id);
            }
            return true;
        }
        let id = *self.id.get_or_insert_with(|| {
            registry.next_id = registry.next_id.wrapping_add(1);
            registry.next_id
        });
        match registry.waiting.get_mut(&id) {
            Some(held) if held.will_wake(waker) => {}
            Some(held) => held.clone_from(waker),
            None => {
                registry.waiting.insert(id, waker.clone());
            }
        }
        false
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.wakers.registry().unregister(id);
        }
    }
}
