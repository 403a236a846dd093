//! Throttles, as in Django REST framework: how often a client may call an
//! action.
//!
//! A [`Throttle`] is a [`Rate`] (`"5/10s"`, `"100/min"`, `"1000/hour"`)
//! and a scope. Every call that it allows is recorded under a key made of
//! the scope and who is calling: the user's id ([`User::id`](crate::User::id)),
//! or, for an anonymous connection, the connection itself (each anonymous
//! connection has a budget of its own; DRF falls back to the client's IP
//! address, which several users behind one NAT share). A call beyond the
//! rate is refused with a 429 and does not run:
//!
//! ```json
//! {"errors": [{"detail": "Request was throttled. Expected available in 3 seconds."}], "status": 429, ...}
//! ```
//!
//! (`N` is the whole number of seconds, rounded up, until a call is allowed
//! again; always "seconds", also for 1.) The connection stays open.
//!
//! # With the macros
//!
//! - `#[async_action(throttle = "5/10s")]`: this action, per user (or per
//!   anonymous connection). DRF's `UserRateThrottle` on one view.
//! - `#[action_handler(throttle = "100/min")]` (or on a `#[consumer]`): one
//!   budget shared by all the block's own actions (the generic ones
//!   included); not by the actions of the handlers its routes lead to.
//! - `throttle_scope = "uploads"` beside `throttle = ...` (on an action or
//!   a block): the budget is the scope's, shared by every action and block
//!   that names it, in any handler. DRF's `ScopedRateThrottle`. Give the
//!   same rate wherever a scope is named: each check counts the scope's
//!   calls against its own rate.
//!
//! A rate that does not parse is a compile error at its literal. Without a
//! `throttle`, an action pays nothing.
//!
//! # Order of checks
//!
//! A throttle runs after everything that decides *whether* the action may
//! run, and before its arguments are read (as in DRF, where throttles run
//! after authentication and permissions, before the view's handler):
//! the consumer's permissions; route resolution (404); the handler's
//! permissions (403); the action's existence (405); **the throttles
//! (429)**: the block's, then the action's; the arguments (400); then the
//! action. So a refused, unknown or misrouted call uses no budget, and a
//! call with bad arguments does. A detached action is throttled before it
//! leaves the connection's queue.
//!
//! # Where the counts live
//!
//! In a [`ThrottleStore`]: the app's ([`AppBuilder::throttle_store`](crate::AppBuilder::throttle_store)),
//! [`MemoryThrottleStore`] by default (one process; entries expire), or
//! `redis::RedisThrottleStore` (cargo feature `redis`), which processes
//! sharing one Redis share budgets with. Every store keeps a sliding log of
//! the calls of the last period, as DRF's cache does: a call is allowed when
//! fewer than `requests` calls were allowed in the `period` before it.
//!
//! When a store fails (Redis unreachable), the call is allowed and a
//! warning is logged: a throttle protects the server, it should not take
//! every throttled action down with its store.
//!
//! # By hand
//!
//! ```
//! use std::time::Duration;
//! use rest_channels::prelude::*;
//! use rest_channels::throttle::{Rate, Throttle};
//!
//! static UPLOADS: Throttle = Throttle::new("uploads", Rate::per_seconds(10, 60));
//!
//! #[derive(Default)]
//! pub struct Files;
//!
//! #[action_handler]
//! impl Files {
//!     #[async_action]
//!     async fn upload(&self, ctx: &Context<'_>, name: String) -> ActionResult {
//!         if name.ends_with(".zip") {
//!             UPLOADS.check(ctx).await?; // only archives are throttled
//!         }
//!         Ok(reply!({"name": name}, 201))
//!     }
//! }
//!
//! assert_eq!("10/min".parse::<Rate>().unwrap(), Rate::per_seconds(10, 60));
//! assert_eq!(UPLOADS.rate().period(), Duration::from_secs(60));
//! ```

#[cfg(feature = "redis")]
pub mod redis;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::context::Context;
use crate::error::{BoxError, Error};
use crate::scope::UserId;

// ---------------------------------------------------------------- Rate

/// How many calls a throttle allows per period: `"5/10s"`, `"100/min"`.
///
/// The syntax is `<requests>/<period>`, the period a unit with an optional
/// count before it: `s` (`sec`, `second`, `seconds`), `m` (`min`, `minute`,
/// `minutes`), `h` (`hour`, `hours`), `d` (`day`, `days`). So `"3/s"`,
/// `"100/min"`, `"1000/hour"`, `"10/day"`, `"5/10s"`, `"20/15min"`.
/// `requests` is at least 1; nothing else (spaces, signs, fractions) is
/// allowed.
///
/// ```
/// use std::time::Duration;
/// use rest_channels::throttle::Rate;
///
/// let rate: Rate = "5/10s".parse().unwrap();
/// assert_eq!((rate.requests(), rate.period()), (5, Duration::from_secs(10)));
/// assert_eq!(rate.to_string(), "5/10s");
/// assert_eq!("1000/hour".parse::<Rate>().unwrap().period(), Duration::from_secs(3600));
///
/// let error = "5 per minute".parse::<Rate>().unwrap_err();
/// assert!(error.to_string().starts_with("invalid rate `5 per minute`"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    requests: u32,
    seconds: u64,
}

/// A rate string that does not parse (see [`Rate`] for the syntax).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rate `{rate}`: {reason} (expected `<requests>/<period>`, the period `s`, `min`, `hour` or `day` with an optional count before it, such as \"5/10s\", \"100/min\", \"1000/hour\", \"10/day\")"
)]
pub struct RateError {
    rate: String,
    reason: &'static str,
}

/// The longest period: a year (larger counts are certainly mistakes, and
/// every period fits a Redis expiry in milliseconds).
const MAX_SECONDS: u64 = 366 * 86_400;

impl Rate {
    /// `requests` calls per `seconds` seconds.
    ///
    /// # Panics
    ///
    /// When `requests` or `seconds` is 0, or `seconds` is over a year (in a
    /// `static`, that is a compile error).
    pub const fn per_seconds(requests: u32, seconds: u64) -> Rate {
        assert!(requests > 0, "a rate allows at least one request");
        assert!(
            seconds > 0 && seconds <= MAX_SECONDS,
            "a rate's period is 1 second to a year"
        );
        Rate { requests, seconds }
    }

    /// How many calls are allowed per period.
    pub const fn requests(&self) -> u32 {
        self.requests
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Rate, RateError> {
        let error = |reason| RateError {
            rate: s.to_owned(),
            reason,
        };
        let (requests, period) = s.split_once('/').ok_or_else(|| error("no `/`"))?;
        let requests: u32 = digits(requests)
            .ok_or_else(|| error("the number of requests is not a whole number"))?
            .try_into()
            .map_err(|_| error("too many requests"))?;
        if requests == 0 {
            return Err(error("a rate allows at least one request"));
        }
        let unit_at = period
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| error("the period has no unit"))?;
        let (count, unit) = period.split_at(unit_at);
        let count = match count {
            "" => 1,
            count => digits(count).ok_or_else(|| error("the period's count is too large"))?,
        };
        let unit = unit_seconds(unit).ok_or_else(|| error("unknown period unit"))?;
        let seconds = count
            .checked_mul(unit)
            .filter(|s| (1..=MAX_SECONDS).contains(s))
            .ok_or_else(|| error("the period must be 1 second to a year"))?;
        Ok(Rate { requests, seconds })
    }
}

/// A non-empty run of ASCII digits, as a number.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit {
        "s" | "sec" | "second" | "seconds" => 1,
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    })
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (count, unit) = match self.seconds {
            s if s % 86_400 == 0 => (s / 86_400, "day"),
            s if s % 3600 == 0 => (s / 3600, "hour"),
            s if s % 60 == 0 => (s / 60, "min"),
            s => (s, "s"),
        };
        match count {
            1 => write!(f, "{}/{unit}", self.requests),
            n => write!(f, "{}/{n}{unit}", self.requests),
        }
    }
}

// ---------------------------------------------------------------- Throttle

/// A throttle: a [`Rate`] within a scope, counted per user (or per
/// anonymous connection). See the [module docs](self).
///
/// The macros make one per `throttle = ...` option; by hand, a `static`
/// (or any value) and [`Throttle::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    scope: &'static str,
    rate: Rate,
}

impl Throttle {
    /// A throttle of `rate` calls in `scope`: every throttle with the same
    /// scope counts the same calls (per user, or per anonymous connection).
    pub const fn new(scope: &'static str, rate: Rate) -> Throttle {
        Throttle { scope, rate }
    }

    /// The scope.
    pub const fn scope(&self) -> &'static str {
        self.scope
    }

    /// The rate.
    pub const fn rate(&self) -> Rate {
        self.rate
    }

    /// The key this throttle counts the context's calls under:
    /// `<scope>|u:<user id>`, or `<scope>|c:<connection>` for an anonymous
    /// connection (unique across processes).
    pub fn key(&self, ctx: &Context<'_>) -> String {
        match ctx.user().map(|u| u.id()) {
            Some(UserId::Int(id)) => format!("{}|u:{id}", self.scope),
            Some(UserId::Str(id)) => format!("{}|us:{id}", self.scope),
            None => format!(
                "{}|c:{}/{}",
                self.scope,
                ctx.app().throttles().anonymous,
                ctx.channel_name()
            ),
        }
    }

    /// Records the call in the app's [`ThrottleStore`], or refuses it: a 429
    /// with `[{"detail": "Request was throttled. Expected available in N seconds."}]`.
    /// A store that fails allows the call (and a warning is logged).
    pub async fn check(&self, ctx: &Context<'_>) -> Result<(), Error> {
        let key = self.key(ctx);
        match ctx.app().throttles().store.hit(&key, self.rate).await {
            Ok(Decision::Allowed) => Ok(()),
            Ok(Decision::Throttled { wait }) => {
                tracing::debug!(
                    scope = self.scope,
                    action = ctx.action(),
                    ?wait,
                    "call throttled"
                );
                Err(throttled(wait))
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    scope = self.scope,
                    action = ctx.action(),
                    "throttle store failed; the call is allowed"
                );
                Ok(())
            }
        }
    }
}

/// The message of a throttled call, DRF's with the wait rounded up to whole
/// seconds (at least 1).
pub fn throttled_detail(wait: Duration) -> String {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    format!(
        "Request was throttled. Expected available in {} seconds.",
        seconds.max(1)
    )
}

#[cold]
fn throttled(wait: Duration) -> Error {
    Error::new(
        429,
        serde_json::json!([{ "detail": throttled_detail(wait) }]),
    )
}

/// What an app holds for its throttles: the store, and the id of the app
/// in the keys of anonymous connections.
pub(crate) struct AppThrottles {
    pub(crate) store: Arc<dyn ThrottleStore>,
    /// `<process>.<app>`: an anonymous connection is known by its channel
    /// name, which a channel layer makes unique only among its own
    /// channels (the in-memory layer numbers them from 0); with this before
    /// it, apps of one process and processes that share a store do not
    /// share the budgets of anonymous connections.
    pub(crate) anonymous: String,
}

impl AppThrottles {
    pub(crate) fn new(store: Arc<dyn ThrottleStore>) -> Self {
        static APPS: AtomicU64 = AtomicU64::new(0);
        let app = APPS.fetch_add(1, Ordering::Relaxed);
        AppThrottles {
            store,
            anonymous: format!("{}.{app:x}", process_nonce()),
        }
    }
}

/// An id of this process, unique across processes and hosts: the pid, the
/// time and the process's random hash seed.
fn process_nonce() -> &'static str {
    static NONCE: OnceLock<String> = OnceLock::new();
    NONCE.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        format!("{:x}.{:x}.{:x}", std::process::id(), nanos as u64, random)
    })
}

// ---------------------------------------------------------------- stores

/// What a store decided about one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, and recorded.
    Allowed,
    /// Refused (and not recorded): a call is allowed again after `wait`.
    Throttled {
        /// How long until a call is allowed.
        wait: Duration,
    },
}

/// A store that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// The store did not answer in time.
    #[error("the throttle store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store's backend failed.
    #[error("throttle store: {0}")]
    Backend(#[source] BoxError),
}

/// Where throttles count calls: a sliding log per key of the calls allowed
/// within the last period.
///
/// [`hit`](ThrottleStore::hit) must be atomic per key: two calls at once
/// never both take the last place (for a store shared by processes, atomic
/// on the shared side).
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Allows and records a call under `key` when fewer than
    /// `rate.requests()` calls were allowed in the `rate.period()` before
    /// now; else refuses it, with the time until the oldest of them leaves
    /// the window.
    async fn hit(&self, key: &str, rate: Rate) -> Result<Decision, ThrottleError>;
}

/// The in-process store (the default): a sliding log per key, in memory.
///
/// Memory stays bounded by the calls of the last period: a key whose
/// calls are all older than its period is dropped, in sweeps that run
/// whenever the number of keys has doubled since the last one (at least
/// 1,024 keys), so that many short-lived keys (anonymous connections)
/// do not accumulate. A key holds at most `requests` instants (16 bytes
/// each), as DRF's cache entry: a rate of a million a day is 16 MB per
/// busy key; large budgets over long periods want a coarser rate.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use rest_channels::throttle::{Decision, MemoryThrottleStore, Rate, ThrottleStore};
///
/// let store = MemoryThrottleStore::new();
/// let rate = Rate::per_seconds(2, 60);
/// assert_eq!(store.hit("k", rate).await.unwrap(), Decision::Allowed);
/// assert_eq!(store.hit("k", rate).await.unwrap(), Decision::Allowed);
/// assert!(matches!(store.hit("k", rate).await.unwrap(), Decision::Throttled { .. }));
/// assert_eq!(store.hit("other", rate).await.unwrap(), Decision::Allowed);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryThrottleStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    keys: HashMap<Box<str>, Log>,
    /// The number of keys at which the next sweep runs.
    sweep_at: usize,
}

/// The calls of one key, oldest first, and the period they were counted
/// against (the last call's).
#[derive(Debug)]
struct Log {
    calls: VecDeque<Instant>,
    period: Duration,
}

const MIN_SWEEP: usize = 1024;

impl MemoryThrottleStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys it holds (keys of expired logs included until the next sweep).
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`ThrottleStore::hit`] at the instant `now`.
    fn hit_at(&self, key: &str, rate: Rate, now: Instant) -> Decision {
        let period = rate.period();
        let limit = rate.requests() as usize;
        let mut state = self.lock();
        if state.keys.len() >= state.sweep_at.max(MIN_SWEEP) {
            state.sweep(now);
        }
        let log = match state.keys.get_mut(key) {
            Some(log) => log,
            None => state.keys.entry(key.into()).or_insert(Log {
                calls: VecDeque::new(),
                period,
            }),
        };
        log.period = period;
        while log
            .calls
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= period)
        {
            log.calls.pop_front();
        }
        // A rate lowered since: only the newest `limit` calls can matter.
        while log.calls.len() > limit {
            log.calls.pop_front();
        }
        if log.calls.len() < limit {
            log.calls.push_back(now);
            Decision::Allowed
        } else {
            let oldest = log.calls[0];
            Decision::Throttled {
                wait: (oldest + period).saturating_duration_since(now),
            }
        }
    }
}

impl MemoryState {
    /// Drops the keys whose calls are all older than their period.
    fn sweep(&mut self, now: Instant) {
        self.keys.retain(|_, log| {
            log.calls
                .back()
                .is_some_and(|&t| now.saturating_duration_since(t) < log.period)
        });
        self.sweep_at = (self.keys.len() * 2).max(MIN_SWEEP);
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn hit(&self, key: &str, rate: Rate) -> Result<Decision, ThrottleError> {
        Ok(self.hit_at(key, rate, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        for (text, requests, seconds) in [
            ("5/10s", 5, 10),
            ("100/min", 100, 60),
            ("1000/hour", 1000, 3600),
            ("10/day", 10, 86_400),
            ("3/s", 3, 1),
            ("3/second", 3, 1),
            ("1/m", 1, 60),
            ("20/15min", 20, 900),
            ("7/2hours", 7, 7200),
            ("1/366d", 1, 366 * 86_400),
        ] {
            let rate: Rate = text.parse().unwrap();
            assert_eq!(
                (rate.requests(), rate.seconds),
                (requests, seconds),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_rates_say_why() {
        for (text, reason) in [
            ("", "no `/`"),
            ("5", "no `/`"),
            ("/min", "the number of requests is not a whole number"),
            ("-1/min", "the number of requests is not a whole number"),
            (" 5/min", "the number of requests is not a whole number"),
            ("5.5/min", "the number of requests is not a whole number"),
            ("0/min", "a rate allows at least one request"),
            ("5000000000/min", "too many requests"),
            ("5/", "the period has no unit"),
            ("5/10", "the period has no unit"),
            ("5/mango", "unknown period unit"),
            ("5/10 s", "unknown period unit"),
            ("5/min/2", "unknown period unit"),
            ("5/0s", "the period must be 1 second to a year"),
            ("5/367d", "the period must be 1 second to a year"),
            ("5/99999999999999999999s", "the period's count is too large"),
        ] {
            let error = text.parse::<Rate>().unwrap_err();
            assert_eq!(error.reason, reason, "{text:?}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid rate `{text}`: {reason} (expected"))
            );
        }
    }

    #[test]
    fn rates_display_as_they_parse() {
        for text in [
            "5/10s",
            "100/min",
            "1000/hour",
            "10/day",
            "3/s",
            "2/90s",
            "4/3day",
        ] {
            let rate: Rate = text.parse().unwrap();
            assert_eq!(rate.to_string().parse::<Rate>().unwrap(), rate);
        }
        assert_eq!(Rate::per_seconds(5, 10).to_string(), "5/10s");
        assert_eq!(Rate::per_seconds(1, 3600).to_string(), "1/hour");
        assert_eq!(Rate::per_seconds(2, 120).to_string(), "2/2min");
    }

    #[test]
    #[should_panic(expected = "at least one request")]
    fn zero_requests_panics_in_the_const_constructor() {
        let _ = Rate::per_seconds(0, 1);
    }

    #[test]
    fn detail_rounds_up_to_whole_seconds() {
        let detail = |ms| throttled_detail(Duration::from_millis(ms));
        assert_eq!(
            detail(9_001),
            "Request was throttled. Expected available in 10 seconds."
        );
        assert_eq!(
            detail(9_000),
            "Request was throttled. Expected available in 9 seconds."
        );
        assert_eq!(
            detail(1),
            "Request was throttled. Expected available in 1 seconds."
        );
        assert_eq!(
            detail(0),
            "Request was throttled. Expected available in 1 seconds."
        );
        let error = throttled(Duration::from_millis(2500));
        assert_eq!(error.status(), 429);
    }

    #[test]
    fn sliding_window() {
        let store = MemoryThrottleStore::new();
        let rate = Rate::per_seconds(3, 10);
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        assert_eq!(store.hit_at("k", rate, at(0.0)), Decision::Allowed);
        assert_eq!(store.hit_at("k", rate, at(2.0)), Decision::Allowed);
        assert_eq!(store.hit_at("k", rate, at(4.0)), Decision::Allowed);
        // Full: the oldest (at 0) leaves the window at 10.
        assert_eq!(
            store.hit_at("k", rate, at(5.0)),
            Decision::Throttled {
                wait: Duration::from_secs(5)
            }
        );
        // A refusal is not recorded.
        assert_eq!(
            store.hit_at("k", rate, at(9.5)),
            Decision::Throttled {
                wait: Duration::from_millis(500)
            }
        );
        assert_eq!(store.hit_at("k", rate, at(10.0)), Decision::Allowed);
        // Now 2, 4 and 10 are in the window: the next place is at 12.
        assert_eq!(
            store.hit_at("k", rate, at(11.0)),
            Decision::Throttled {
                wait: Duration::from_secs(1)
            }
        );
        assert_eq!(store.hit_at("k", rate, at(12.0)), Decision::Allowed);
        // Keys are independent.
        assert_eq!(store.hit_at("other", rate, at(12.0)), Decision::Allowed);
    }

    #[test]
    fn a_lowered_rate_applies_at_once() {
        let store = MemoryThrottleStore::new();
        let t0 = Instant::now();
        for i in 0..5 {
            let now = t0 + Duration::from_millis(i);
            assert_eq!(
                store.hit_at("k", Rate::per_seconds(5, 10), now),
                Decision::Allowed
            );
        }
        let now = t0 + Duration::from_millis(10);
        assert!(matches!(
            store.hit_at("k", Rate::per_seconds(2, 10), now),
            Decision::Throttled { .. }
        ));
        assert_eq!(store.lock().keys["k"].calls.len(), 2);
    }

    #[test]
    fn expired_keys_are_swept() {
        let store = MemoryThrottleStore::new();
        let rate = Rate::per_seconds(1, 10);
        let t0 = Instant::now();
        for i in 0..MIN_SWEEP {
            store.hit_at(&format!("old{i}"), rate, t0);
        }
        assert_eq!(store.len(), MIN_SWEEP);
        // One more key, after every old log has expired: the sweep drops them.
        let later = t0 + Duration::from_secs(10);
        store.hit_at("new", rate, later);
        assert_eq!(store.len(), 1);

        // Live keys survive, and the next sweep waits for twice as many.
        for i in 0..3 * MIN_SWEEP {
            store.hit_at(&format!("live{i}"), rate, later);
        }
        assert_eq!(store.len(), 3 * MIN_SWEEP + 1);
        let much_later = later + Duration::from_secs(60);
        for i in 0..3 * MIN_SWEEP {
            store.hit_at(&format!("next{i}"), rate, much_later);
        }
        // The sweep at 4,096 keys dropped every expired one ("new" and the
        // "live" ones, older than their period by then); the later ones kept all.
        assert_eq!(store.len(), 3 * MIN_SWEEP);
        assert!(store.lock().keys.keys().all(|k| k.starts_with("next")));
    }
}
