//! Futures polled only when they woke the task.
//!
//! A connection's loop waits on several sources at once (its socket, its
//! inbox, the shutdown signal, timers, detached actions) and wakes for any
//! of them; `select!` then polls every source again. For some, a poll is
//! not free: a socket read attempt is a system call, and the shutdown
//! signal takes a lock shared by every connection. A [`Gate`] gives such a
//! source a waker of its own, which notes that it fired before it wakes
//! the task; the source is polled again only then.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A source's own waker, and whether it fired since the source last said
/// `Pending`.
#[derive(Debug)]
pub(crate) struct Gate {
    shared: Arc<Shared>,
    waker: Waker,
}

#[derive(Debug)]
struct Shared {
    woke: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woke.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Gate {
    /// A gate that lets the first poll through.
    pub(crate) fn new() -> Self {
        let shared = Arc::new(Shared {
            woke: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Gate {
            waker: Waker::from(shared.clone()),
            shared,
        }
    }

    /// Polls the source with `poll` if it woke since it last said
    /// `Pending`; the task's waker (`cx`) is woken when it does.
    pub(crate) fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if !self.open(cx) {
            return Poll::Pending;
        }
        match poll(&mut Context::from_waker(&self.waker)) {
            Poll::Ready(out) => {
                // It may have more.
                self.fired();
                Poll::Ready(out)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Registers the task's waker; whether the source woke (and may be
    /// polled, with [`waker`](Self::waker)). Closes the gate until it wakes
    /// again.
    pub(crate) fn open(&self, cx: &mut Context<'_>) -> bool {
        self.shared.task.register(cx.waker());
        self.shared.woke.swap(false, Ordering::AcqRel)
    }

    /// Lets the next poll through (the source may have more).
    pub(crate) fn fired(&self) {
        self.shared.woke.store(true, Ordering::Release);
    }

    /// The waker to poll the source with.
    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_source_is_polled_again_only_once_it_woke() {
        let gate = Gate::new();
        let polls = AtomicUsize::new(0);
        let notify = Arc::new(tokio::sync::Notify::new());
        let mut notified = Box::pin(notify.notified());
        let mut poll_once = |cx: &mut Context<'_>| {
            gate.poll(cx, |own| {
                polls.fetch_add(1, Ordering::Relaxed);
                notified.as_mut().poll(own)
            })
        };
        let mut cx = Context::from_waker(Waker::noop());
        assert!(poll_once(&mut cx).is_pending());
        assert!(poll_once(&mut cx).is_pending());
        assert!(poll_once(&mut cx).is_pending());
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "not polled while it did not wake"
        );
        notify.notify_waiters();
        assert!(poll_once(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }
}
