//! Observers: committed model changes pushed to the connections that
//! subscribed to them, across processes through the channel layer.
//!
//! A handler with `generics = ...` and `observe` gets two actions:
//! `subscribe` and `unsubscribe`. On a list route (no lookup kwarg) they
//! follow every instance of the model; on a detail route (`notes/<int:pk>/`)
//! one instance. Every committed `create`, `update`, `partial_update` and
//! `destroy` of a generic handler publishes the change, and each
//! subscription gets one push:
//!
//! ```text
//! {"errors": [], "data": {"event": "created", "note": {...}}, "action": "subscribe", "route": "notes/", "status": 200, "request_id": 7}
//! ```
//!
//! carrying the `action`, `route` and `request_id` of its `subscribe`
//! (`note` is the model's [`NAME`](Model::NAME); a deleted instance is
//! `{"<primary key>": pk}`). Subscribing twice to the same thing changes
//! nothing; closing the connection ends its subscriptions. A change made
//! elsewhere (an HTTP endpoint, a job) is published with [`publish`].
//!
//! Pushes follow the order of the commits within a process: a write
//! commits and publishes under a lock of its table.
//!
//! A list subscription respects the handler's queryset: when the queryset
//! narrows the rows (per user, say), a change is pushed only if the instance
//! is among the subscriber's rows once committed (one query per push; a
//! deleted instance cannot be checked, and its primary key is pushed).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde::Serialize;

use crate::context::{Connection, Context};
use crate::db::{Database, Tx, to_sea};
use crate::envelope::push_suffix;
use crate::error::Error;
use crate::generics::Change;
use crate::layer::{ChannelLayer, Event};
use crate::model::{Model, Value};
use sea_query::{ExprTrait, SelectStatement};

/// The event type of a change, followed by the group it was sent to.
const KIND_PREFIX: &str = "rc.observe ";

/// The group of every change of `M`.
pub fn list_group<M: Model>() -> String {
    format!("rc.observe.{}", M::TABLE)
}

/// The group of the changes of one instance of `M`.
pub fn instance_group<M: Model>(pk: &Value) -> String {
    let pk = match pk {
        Value::Integer(i) => i.to_string(),
        Value::Text(s) => s.clone(),
        Value::Real(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Null => "null".to_owned(),
    };
    format!("rc.observe.{}.{pk}", M::TABLE)
}

#[derive(Serialize)]
struct Pushed<'a, M> {
    event: &'static str,
    #[serde(flatten)]
    instance: Instance<'a, M>,
}

struct Instance<'a, M>(&'a str, InstanceValue<'a, M>);

enum InstanceValue<'a, M> {
    Whole(&'a M),
    Key(&'static str, serde_json::Value),
}

impl<M: Serialize> Serialize for Instance<'_, M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match &self.1 {
            InstanceValue::Whole(m) => map.serialize_entry(self.0, m)?,
            InstanceValue::Key(k, v) => {
                let mut one = serde_json::Map::new();
                one.insert((*k).to_owned(), v.clone());
                map.serialize_entry(self.0, &one)?;
            }
        }
        map.end()
    }
}

fn json_of(v: Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => i.into(),
        Value::Real(f) => f.into(),
        Value::Text(s) => s.into(),
        Value::Boolean(b) => b.into(),
    }
}

/// Publishes a committed change of `M` to its observers (the list group and
/// the instance's group), through `layer`: subscribers on every process
/// sharing the layer get it. The `data` of the push is serialized once.
pub async fn publish<M: Model>(
    layer: &dyn ChannelLayer,
    change: Change<'_, M>,
) -> Result<(), Error> {
    let (event, obj) = match change {
        Change::Created(m) => ("created", m),
        Change::Updated(m) => ("updated", m),
        Change::Deleted(m) => ("deleted", m),
    };
    let pk = obj.pk();
    let instance = if event == "deleted" {
        InstanceValue::Key(M::PRIMARY_KEY.name(), json_of(pk.clone()))
    } else {
        InstanceValue::Whole(obj)
    };
    let body = serde_json::to_string(&Pushed {
        event,
        instance: Instance(M::NAME, instance),
    })
    .map_err(Error::internal)?;
    for group in [list_group::<M>(), instance_group::<M>(&pk)] {
        let kind = format!("{KIND_PREFIX}{group}");
        layer
            .group_send(&group, Event::from_json(&kind, body.clone()))
            .await
            .map_err(Error::internal)?;
    }
    Ok(())
}

/// One lock per table.
type TableLocks = Mutex<HashMap<&'static str, Arc<tokio::sync::Mutex<()>>>>;

/// The lock that orders the commits and publications of one table in this process.
fn table_lock(table: &'static str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<TableLocks> = LazyLock::new(Default::default);
    LOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(table)
        .or_default()
        .clone()
}

/// Commits `tx`, then publishes `change`, so that the pushes of one table
/// follow its commit order. A failed publication is logged: the write is
/// committed, and the reply says so.
pub(crate) async fn commit_and_publish<M: Model>(
    ctx: &Context<'_>,
    tx: Tx,
    change: Change<'_, M>,
) -> Result<(), Error> {
    let lock = table_lock(M::TABLE);
    let _ordered = lock.lock().await;
    tx.commit().await?;
    if let Err(e) = publish::<M>(ctx.layer(), change).await {
        tracing::warn!(table = M::TABLE, error = %e, "a committed change was not published to its observers");
    }
    Ok(())
}

/// One subscription of a connection: its group, and the end of the
/// envelope of its pushes (the subscribe's `action`, `route` and `request_id`).
pub(crate) struct Subscription {
    group: String,
    suffix: String,
    /// For a list whose queryset narrows the rows: whether a pushed
    /// instance is among the subscriber's rows.
    visible: Option<Visible>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("group", &self.group)
            .field("scoped", &self.visible.is_some())
            .finish()
    }
}

/// Checks an event's instance against a subscriber's rows.
pub(crate) type Visible = Arc<
    dyn Fn(&Event) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
        + Send
        + Sync,
>;

/// The check of a list subscription whose queryset narrows the rows:
/// `rows` (the subscriber's queryset) holds the pushed instance.
pub(crate) fn visible_in<M: Model>(db: Database, rows: SelectStatement) -> Visible {
    Arc::new(move |event: &Event| {
        let pushed: Option<(String, Value)> =
            serde_json::from_str::<serde_json::Value>(event.json())
                .ok()
                .and_then(|v| {
                    let event = v.get("event")?.as_str()?.to_owned();
                    let pk = v.get(M::NAME)?.get(M::PRIMARY_KEY.name())?.clone();
                    Some((event, json_value(pk)?))
                });
        let (db, mut rows) = (db.clone(), rows.clone());
        Box::pin(async move {
            let Some((event, pk)) = pushed else {
                return false;
            };
            if event == "deleted" {
                return true;
            }
            rows.and_where(
                sea_query::Expr::col(M::PRIMARY_KEY.name())
                    .eq(sea_query::Expr::val(to_sea(pk, M::PRIMARY_KEY.ty()))),
            )
            .limit(1);
            matches!(db.fetch_optional::<M>(&rows).await, Ok(Some(_)))
        })
    })
}

fn json_value(v: serde_json::Value) -> Option<Value> {
    Some(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Boolean(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64()?),
        },
        serde_json::Value::String(s) => Value::Text(s),
        _ => return None,
    })
}

/// Subscribes the connection to `group` (once); the pushes echo this message.
pub(crate) async fn subscribe(
    ctx: &Context<'_>,
    group: String,
    visible: Option<Visible>,
) -> Result<(), Error> {
    {
        let subs = ctx
            .conn
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if subs.iter().any(|s| s.group == group) {
            return Ok(());
        }
    }
    ctx.group_add(&group).await?;
    let suffix = push_suffix(ctx.message().head());
    let mut subs = ctx
        .conn
        .subscriptions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !subs.iter().any(|s| s.group == group) {
        subs.push(Subscription {
            group,
            suffix,
            visible,
        });
    }
    Ok(())
}

/// Ends the connection's subscription to `group`, if it has one.
pub(crate) async fn unsubscribe(ctx: &Context<'_>, group: &str) -> Result<(), Error> {
    let had = {
        let mut subs = ctx
            .conn
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let before = subs.len();
        subs.retain(|s| s.group != group);
        subs.len() != before
    };
    if had {
        ctx.group_discard(group).await?;
    }
    Ok(())
}

/// Delivers an observer event to the connection's subscription of its
/// group; `false` when `event` is not an observer event.
pub(crate) async fn deliver(conn: &Connection, event: &Event) -> bool {
    let Some(group) = event.kind().strip_prefix(KIND_PREFIX) else {
        return false;
    };
    // The check of a scoped list runs a query: not under the lock.
    let visible = {
        let subs = conn.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sub) = subs.iter().find(|s| s.group == group) else {
            return true;
        };
        sub.visible.clone()
    };
    if let Some(visible) = visible
        && !visible(event).await
    {
        return true;
    }
    let text = {
        let subs = conn.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        // Unsubscribed meanwhile: nothing to send.
        let Some(sub) = subs.iter().find(|s| s.group == group) else {
            return true;
        };
        let mut text = String::with_capacity(32 + event.json().len() + sub.suffix.len());
        text.push_str(r#"{"errors":[],"data":"#);
        text.push_str(event.json());
        text.push_str(&sub.suffix);
        text
    };
    conn.push(text.into());
    true
}
