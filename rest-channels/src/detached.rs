//! Detached actions (`#[async_action(detached)]`): actions that run beside
//! the connection's other messages instead of holding up its queue.
//!
//! The connection's loop dispatches one message at a time, in arrival
//! order ([`InOrder`]). A detached action reaches [`detach`] once its
//! arguments are read; the in-order dispatch then yields its future to the
//! loop instead of finishing it, and the loop goes on with the next
//! message while [`Detached`] runs that future to its reply.
//!
//! The futures are not spawned: [`Detached`] is a set owned by the
//! connection's own task, polled by its loop, so they borrow the consumer
//! and the connection as in-order actions do, and when the connection
//! closes, dropping the set cancels whatever still runs: nothing outlives
//! the connection. They run concurrently with each other and with the
//! queue, not in parallel; which is why a detached action is an `async fn`.
//! At most [`Settings::max_detached_actions`](crate::Settings::max_detached_actions)
//! run at a time per connection; [`detach`] refuses more with a 429.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::context::Context;
use crate::error::Error;

/// What a connection shares with its detached actions (a field of the
/// connection): the request to detach the message being dispatched in
/// order, and how many run.
#[derive(Debug, Default)]
pub(crate) struct DetachState {
    /// Set by [`detach`], taken by [`InOrder`].
    requested: AtomicBool,
    /// Kept by [`Detached`], read by [`detach`].
    running: AtomicUsize,
}

/// The dispatch of one message: its reply (if any). Boxed, so that it can
/// move from the queue to the set of detached actions, and so that the
/// connection's own future stays small while idle.
pub(crate) type Dispatch<'a> = Pin<Box<dyn Future<Output = Option<String>> + Send + 'a>>;

/// The dispatch of a message in arrival order: ends with its reply, or
/// when the action detached itself, with what is left of it.
pub(crate) struct InOrder<'a> {
    dispatch: Option<Dispatch<'a>>,
    state: &'a DetachState,
}

/// How an in-order dispatch ended.
pub(crate) enum Step<'a> {
    /// The reply (if any).
    Replied(Option<String>),
    /// The action detached: the rest of its dispatch.
    Detached(Dispatch<'a>),
}

impl<'a> InOrder<'a> {
    pub(crate) fn new(dispatch: Dispatch<'a>, state: &'a DetachState) -> Self {
        InOrder {
            dispatch: Some(dispatch),
            state,
        }
    }
}

impl<'a> Future for InOrder<'a> {
    type Output = Step<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Step<'a>> {
        let this = &mut *self;
        let dispatch = this
            .dispatch
            .as_mut()
            .expect("InOrder polled after it ended");
        // Only this dispatch may request, and only while it is polled here.
        this.state.requested.store(false, Ordering::Relaxed);
        match dispatch.as_mut().poll(cx) {
            Poll::Ready(reply) => {
                this.dispatch = None;
                Poll::Ready(Step::Replied(reply))
            }
            Poll::Pending if this.state.requested.swap(false, Ordering::Relaxed) => {
                Poll::Ready(Step::Detached(this.dispatch.take().expect("taken once")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The detached actions of one connection, run by its loop; dropping the
/// set cancels them.
pub(crate) struct Detached<'a> {
    running: FuturesUnordered<Dispatch<'a>>,
    state: &'a DetachState,
}

impl<'a> Detached<'a> {
    pub(crate) fn new(state: &'a DetachState) -> Self {
        Detached {
            running: FuturesUnordered::new(),
            state,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Runs the rest of a dispatch beside the queue.
    pub(crate) fn push(&mut self, dispatch: Dispatch<'a>) {
        self.running.push(dispatch);
        self.count();
    }

    /// The reply of the next detached action to finish; pending while none
    /// runs. Cancel-safe: a reply is never lost to a `select!`.
    pub(crate) async fn next(&mut self) -> Option<String> {
        if self.running.is_empty() {
            return std::future::pending().await;
        }
        let reply = self.running.next().await.flatten();
        self.count();
        reply
    }

    fn count(&self) {
        self.state
            .running
            .store(self.running.len(), Ordering::Relaxed);
    }
}

/// Detaches the action being dispatched from the connection's queue: the
/// rest of it runs beside the connection's other messages. Over the
/// connection's limit ([`Settings::max_detached_actions`](crate::Settings::max_detached_actions)),
/// a 429 instead, and the action does not run.
///
/// Outside a connection's loop (nobody takes the request) the action simply
/// goes on in place.
pub async fn detach(ctx: &Context<'_>) -> Result<(), Error> {
    let state = &ctx.conn.detached;
    let limit = ctx.app().settings().max_detached_actions;
    if state.running.load(Ordering::Relaxed) >= limit {
        return Err(too_many(limit));
    }
    state.requested.store(true, Ordering::Relaxed);
    // Pending once, so that `InOrder` sees the request; awake at once, so
    // that the set it moves to polls it again.
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
    Ok(())
}

/// The refusal of a detached action over the connection's limit.
#[cold]
fn too_many(limit: usize) -> Error {
    Error::new(
        429,
        serde_json::json!([{
            "detail": format!(
                "Too many detached actions on this connection: at most {limit} run at a time."
            )
        }]),
    )
}
