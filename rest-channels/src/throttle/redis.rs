//! A throttle store in Redis, shared by every process that uses the same
//! Redis (cargo feature `redis`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use rest_channels::App;
//! use rest_channels::layer::redis::RedisChannelLayer;
//! use rest_channels::throttle::redis::RedisThrottleStore;
//!
//! let layer = RedisChannelLayer::connect("redis://127.0.0.1:6379/").await?;
//! // The layer's connection, shared; or `RedisThrottleStore::connect(url)`.
//! let store = RedisThrottleStore::from_layer(&layer).await?;
//! let app = App::builder().channel_layer(layer).throttle_store(store).build();
//! # Ok(()) }
//! ```
//!
//! Each key is a Redis list of the millisecond times of the calls allowed
//! within its period, newest first (DRF's cache entry), under
//! `<prefix><key>`, expiring one period after its last call. One Lua script
//! drops the expired calls, counts, and records the call or computes the
//! wait, atomically: processes that share the Redis share every budget,
//! and two calls at once never both take the last place. The time is
//! Redis's (`TIME`), so the processes' clocks need not agree.
//!
//! The script is loaded once (`SCRIPT LOAD`) and run by its hash; after a
//! Redis restart (`NOSCRIPT`) it is sent again. A call that Redis does not
//! answer within [`RedisThrottleStoreOptions::timeout`] fails, and the
//! throttle lets the call through (see the [throttle module](super)).

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Decision, Rate, ThrottleError, ThrottleStore};
use crate::layer::redis::RedisChannelLayer;

/// The sliding log of one key: `KEYS[1]` the key, `ARGV[1]` the number of
/// requests, `ARGV[2]` the period in milliseconds. Returns 0 when the call
/// is allowed (and recorded), else the milliseconds until it would be.
const SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
while true do
  local oldest = redis.call('LINDEX', key, -1)
  if not oldest or now - tonumber(oldest) < period then break end
  redis.call('RPOP', key)
end
local n = redis.call('LLEN', key)
if n > limit then
  redis.call('LTRIM', key, 0, limit - 1)
  n = limit
end
if n < limit then
  redis.call('LPUSH', key, now)
  redis.call('PEXPIRE', key, period)
  return 0
end
local wait = tonumber(redis.call('LINDEX', key, -1)) + period - now
if wait < 1 then wait = 1 end
return wait
";

/// Settings of a [`RedisThrottleStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisThrottleStoreOptions {
    /// Prefix of every key; apps sharing one Redis use different prefixes.
    /// Default `"rest-channels:throttle:"`.
    pub prefix: String,
    /// How long a call waits for Redis at most. Default 500 ms.
    pub timeout: Duration,
}

impl Default for RedisThrottleStoreOptions {
    fn default() -> Self {
        RedisThrottleStoreOptions {
            prefix: "rest-channels:throttle:".into(),
            timeout: Duration::from_millis(500),
        }
    }
}

/// The throttle store in Redis. See the [module docs](self).
pub struct RedisThrottleStore {
    manager: ConnectionManager,
    options: RedisThrottleStoreOptions,
    /// The script's SHA-1, as `SCRIPT LOAD` gave it.
    sha: String,
}

impl std::fmt::Debug for RedisThrottleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn backend(e: redis::RedisError) -> ThrottleError {
    ThrottleError::Backend(Box::new(e))
}

impl RedisThrottleStore {
    /// Connects to the Redis at `url` (`redis://HOST:PORT/DB`) with the
    /// default options; fails when Redis cannot be reached now. Later
    /// losses are survived (the connection is re-made).
    pub async fn connect(url: &str) -> Result<Self, ThrottleError> {
        Self::connect_with(url, RedisThrottleStoreOptions::default()).await
    }

    /// [`connect`](Self::connect) with options.
    pub async fn connect_with(
        url: &str,
        options: RedisThrottleStoreOptions,
    ) -> Result<Self, ThrottleError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(1))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(options.timeout));
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(backend)?;
        Self::with_manager(manager, options).await
    }

    /// A store on the connection of a Redis channel layer (one connection
    /// to Redis for both), with the default options.
    pub async fn from_layer(layer: &RedisChannelLayer) -> Result<Self, ThrottleError> {
        Self::with_manager(layer.manager(), RedisThrottleStoreOptions::default()).await
    }

    async fn with_manager(
        mut manager: ConnectionManager,
        options: RedisThrottleStoreOptions,
    ) -> Result<Self, ThrottleError> {
        let sha = load(&mut manager, options.timeout).await?;
        Ok(RedisThrottleStore {
            manager,
            options,
            sha,
        })
    }

    async fn run(&self, key: &str, rate: Rate) -> Result<i64, ThrottleError> {
        let mut manager = self.manager.clone();
        let full_key = format!("{}{key}", self.options.prefix);
        let period_ms = rate.period().as_millis() as u64;
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha
            .arg(&self.sha)
            .arg(1)
            .arg(&full_key)
            .arg(rate.requests())
            .arg(period_ms);
        match evalsha.query_async::<i64>(&mut manager).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                // Redis restarted (or its scripts were flushed): send it again.
                tracing::debug!("throttle store: script not in Redis; loading it again");
                let mut eval = redis::cmd("EVAL");
                eval.arg(SCRIPT)
                    .arg(1)
                    .arg(&full_key)
                    .arg(rate.requests())
                    .arg(period_ms);
                let wait = eval
                    .query_async::<i64>(&mut manager)
                    .await
                    .map_err(backend)?;
                Ok(wait)
            }
            other => other.map_err(backend),
        }
    }
}

/// `SCRIPT LOAD`: the script's hash.
async fn load(manager: &mut ConnectionManager, within: Duration) -> Result<String, ThrottleError> {
    let mut cmd = redis::cmd("SCRIPT");
    cmd.arg("LOAD").arg(SCRIPT);
    tokio::time::timeout(within, cmd.query_async::<String>(manager))
        .await
        .map_err(|_| ThrottleError::Timeout(within))?
        .map_err(backend)
}

#[async_trait]
impl ThrottleStore for RedisThrottleStore {
    async fn hit(&self, key: &str, rate: Rate) -> Result<Decision, ThrottleError> {
        let within = self.options.timeout;
        let wait = tokio::time::timeout(within, self.run(key, rate))
            .await
            .map_err(|_| ThrottleError::Timeout(within))??;
        Ok(match wait {
            ..=0 => Decision::Allowed,
            ms => Decision::Throttled {
                wait: Duration::from_millis(ms as u64),
            },
        })
    }
}
