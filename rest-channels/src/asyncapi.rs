//! The AsyncAPI 3.0 document of an app's endpoints, built from the
//! consumers' static descriptions ([`crate::describe`]).
//!
//! One channel per endpoint (its address with the path parameters, in
//! axum's `{name}` syntax), one `receive` operation per action (the
//! request envelope, and a reply of the reply envelope or the error
//! envelope), one `send` operation per thing the app pushes (broadcasts,
//! group events, live-model pushes). Schemas of named types go to
//! `components/schemas`. Extensions `x-rest-channels` carry what AsyncAPI
//! has no field for (mode, detached, throttle, permissions, route kwargs).
//!
//! ```
//! use rest_channels::prelude::*;
//! use rest_channels::asyncapi::Document;
//!
//! #[derive(Default)]
//! pub struct Api;
//!
//! #[consumer(permissions = [AllowAny])]
//! impl Api {
//!     /// Sends back its `data`.
//!     #[async_action]
//!     async fn echo(&self, data: Option<serde_json::Value>) -> ActionResult {
//!         Ok((data.unwrap_or_default(), 200))
//!     }
//! }
//!
//! let doc = Document::builder()
//!     .title("Echo")
//!     .version("1.0.0")
//!     .endpoint::<Api>("/ws/")
//!     .build();
//! assert_eq!(doc["asyncapi"], "3.0.0");
//! assert_eq!(doc["channels"]["ws"]["address"], "/ws/");
//! assert_eq!(doc["operations"]["ws.echo"]["action"], "receive");
//! ```
//!
//! Serve it with axum (the reference app does, at `GET /asyncapi.json`):
//! build it once and hand out the same bytes.

use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::describe::{self, ActionDescription, ActionMode, HandlerDescription};
use crate::handler::Consumer;

/// The AsyncAPI version the document follows.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// The statuses of the error envelope (see the wire contract).
const ERROR_STATUSES: [u16; 7] = [400, 403, 404, 405, 429, 500, 503];

/// The AsyncAPI document of an app: made with [`Document::builder`].
#[derive(Debug, Clone, Copy)]
pub struct Document;

impl Document {
    /// A builder with the title "rest-channels app" and version "0.0.0".
    pub fn builder() -> Builder {
        Builder {
            title: "rest-channels app".into(),
            version: "0.0.0".into(),
            description: None,
            endpoints: Vec::new(),
        }
    }
}

type Describe = fn(&mut SchemaGenerator) -> HandlerDescription;

/// Collects the endpoints; [`Builder::build`] writes the document.
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder {
    title: String,
    version: String,
    description: Option<String>,
    endpoints: Vec<(String, Describe)>,
}

impl Builder {
    /// `info.title`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// `info.version`: the version of the app's API.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// `info.description`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// An endpoint: the consumer `C` served at `path` (axum's syntax:
    /// `"/ws/rooms/{group_id}/"`; each `{name}` is a channel parameter).
    pub fn endpoint<C: Consumer>(mut self, path: impl Into<String>) -> Self {
        self.endpoints.push((path.into(), C::describe));
        self
    }

    /// The document, as JSON. The same endpoints give the same document.
    pub fn build(&self) -> Value {
        let mut generator = describe::generator();
        let mut w = Writer::default();
        for (path, describe) in &self.endpoints {
            let d = describe(&mut generator);
            w.endpoint(path, &d);
        }
        let mut schemas = generator.take_definitions(true);
        schemas.insert("RequestId".into(), request_id());
        let mut info = Map::new();
        info.insert("title".into(), self.title.clone().into());
        info.insert("version".into(), self.version.clone().into());
        if let Some(d) = &self.description {
            info.insert("description".into(), d.clone().into());
        }
        json!({
            "asyncapi": ASYNCAPI_VERSION,
            "info": info,
            "defaultContentType": "application/json",
            "channels": w.channels,
            "operations": w.operations,
            "components": {
                "schemas": schemas,
                "messages": w.messages,
            },
        })
    }
}

fn request_id() -> Value {
    json!({
        "description": "any JSON scalar; echoed in the reply when the request carried one",
        "type": ["string", "number", "boolean", "null"],
    })
}

/// Where an action is: the routes that lead to its handler.
#[derive(Clone, Default)]
struct At {
    /// The patterns as written, joined (`"notes/<int:pk>/"`); empty for the consumer's own.
    pattern: String,
    /// The anchored regex of the route's path (ECMAScript syntax).
    regex: String,
    /// A key for ids (`"notes_int_pk"`).
    key: String,
    /// The kwargs matched on the way.
    kwargs: Vec<(&'static str, bool)>,
    /// The permissions on the way, outermost first.
    permissions: Vec<&'static str>,
}

#[derive(Default)]
struct Writer {
    channels: Map<String, Value>,
    operations: Map<String, Value>,
    messages: Map<String, Value>,
}

/// `[A-Za-z0-9_]` runs of `s`, joined by `_`.
fn key(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn doc(s: &str) -> Option<Value> {
    (!s.is_empty()).then(|| Value::String(s.to_owned()))
}

fn schema(s: &Schema) -> Value {
    s.as_value().clone()
}

impl Writer {
    fn endpoint(&mut self, path: &str, d: &HandlerDescription) {
        let channel = match key(path) {
            k if k.is_empty() => "root".to_owned(),
            k => k,
        };
        let mut parameters = Map::new();
        for name in path_parameters(path) {
            let description = if d.group == Some(name) {
                "names the broadcast group every connection of this endpoint joins"
            } else {
                "a URL path parameter"
            };
            parameters.insert(name.into(), json!({ "description": description }));
        }
        let mut messages = Map::new();
        let error_id = format!("{channel}.error");
        self.message(&mut messages, &error_id, error_message());
        let mut at = At::default();
        at.permissions.extend(d.permissions);
        let mut ch = Ch {
            id: &channel,
            messages,
        };
        self.handler(&mut ch, &at, d);
        for e in &d.events {
            let id = format!("{channel}.event.{}", key(e.event_type));
            let message = json!({
                "name": e.event_type,
                "title": format!("event {}", e.event_type),
                "summary": doc(e.doc).unwrap_or_else(|| "a group event, forwarded to the client".into()),
                "payload": {
                    "type": "object",
                    "properties": {
                        "type": {"const": e.event_type},
                        "data": true,
                        "status": {"type": "integer"},
                    },
                    "required": ["type"],
                },
            });
            self.message(&mut ch.messages, &id, message);
            self.operation(
                &ch,
                &id,
                "send",
                &[&id],
                None,
                json!({"event": e.event_type}),
            );
        }
        let mut c = Map::new();
        c.insert("address".into(), path.into());
        if let Some(s) = doc(d.doc) {
            c.insert("description".into(), s);
        }
        if !parameters.is_empty() {
            c.insert("parameters".into(), parameters.into());
        }
        c.insert("messages".into(), ch.messages.into());
        c.insert(
            "x-rest-channels".into(),
            json!({"consumer": d.type_name, "permissions": d.permissions, "group": d.group}),
        );
        self.channels.insert(channel, c.into());
    }

    /// A message in `components/messages`, referenced from the channel.
    fn message(&mut self, channel: &mut Map<String, Value>, id: &str, mut message: Value) {
        message["contentType"] = "application/json".into();
        self.messages.insert(id.into(), message);
        channel.insert(
            id.into(),
            json!({ "$ref": format!("#/components/messages/{id}") }),
        );
    }

    fn operation(
        &mut self,
        ch: &Ch<'_>,
        id: &str,
        action: &str,
        messages: &[&str],
        reply: Option<&[&str]>,
        extension: Value,
    ) {
        let channel = format!("#/channels/{}", ch.id);
        let refs = |ids: &[&str]| -> Vec<Value> {
            ids.iter()
                .map(|m| json!({"$ref": format!("{channel}/messages/{m}")}))
                .collect()
        };
        let mut op = json!({
            "action": action,
            "channel": {"$ref": channel},
            "messages": refs(messages),
            "x-rest-channels": extension,
        });
        if let Some(reply) = reply {
            op["reply"] = json!({"channel": {"$ref": channel}, "messages": refs(reply)});
        }
        self.operations.insert(id.into(), op);
    }

    fn handler(&mut self, ch: &mut Ch<'_>, at: &At, d: &HandlerDescription) {
        for a in &d.actions {
            self.action(ch, at, d, a);
        }
        for r in &d.routes {
            let mut next = at.clone();
            next.pattern.push_str(r.pattern);
            let regex = match r.regex {
                Some(regex) => regex.trim_start_matches('^').replace("(?P<", "(?<"),
                None => escape(r.pattern),
            };
            next.regex.push_str(&regex);
            let k = key(r.pattern);
            if !next.key.is_empty() && !k.is_empty() {
                next.key.push('_');
            }
            next.key.push_str(&k);
            next.kwargs
                .extend(r.kwargs.iter().map(|k| (k.name, k.integer)));
            next.permissions.extend(r.handler.permissions);
            self.handler(ch, &next, &r.handler);
        }
    }

    fn action(&mut self, ch: &mut Ch<'_>, at: &At, d: &HandlerDescription, a: &ActionDescription) {
        let base = if at.key.is_empty() {
            format!("{}.{}", ch.id, a.name)
        } else {
            format!("{}.{}.{}", ch.id, at.key, a.name)
        };
        let mut base = base;
        if self.operations.contains_key(&base) {
            let mut n = 2;
            while self.operations.contains_key(&format!("{base}_{n}")) {
                n += 1;
            }
            base = format!("{base}_{n}");
        }
        let route = route_schema(at, a);
        let mut properties = Map::new();
        let mut required = vec![Value::from("action")];
        properties.insert(
            "action".into(),
            json!({"const": a.name, "description": "the action to run"}),
        );
        properties.insert("route".into(), route.clone());
        if !at.pattern.is_empty() {
            required.push("route".into());
        }
        properties.insert(
            "request_id".into(),
            json!({"$ref": "#/components/schemas/RequestId"}),
        );
        let mut params = Vec::new();
        for p in &a.params {
            let kwarg = at.kwargs.iter().any(|(k, _)| *k == p.name);
            params.push(json!({"name": p.name, "required": p.required, "from_route": kwarg}));
            if kwarg {
                continue;
            }
            properties.insert(p.name.into(), schema(&p.schema));
            if p.required {
                required.push(p.name.into());
            }
        }
        let request_id = format!("{base}.request");
        let summary = doc(a.doc);
        let mut request = json!({
            "name": a.name,
            "title": title(at, a.name),
            "payload": {"type": "object", "properties": properties, "required": required},
        });
        if let Some(s) = &summary {
            request["summary"] = s.clone();
        }
        self.message(&mut ch.messages, &request_id, request);

        let replies = match a.mode {
            ActionMode::Response => true,
            ActionMode::Broadcast { send_response, .. } => send_response,
            ActionMode::None => false,
        };
        let error_id = format!("{}.error", ch.id);
        let mut reply_ids = Vec::new();
        let reply_id = format!("{base}.reply");
        let status = match a.status {
            Some(s) => json!({"const": s}),
            None => json!({"type": "integer", "minimum": 100, "maximum": 399}),
        };
        if replies {
            let reply = json!({
                "name": format!("{}.reply", a.name),
                "title": format!("{} reply", title(at, a.name)),
                "payload": envelope(a, &route, schema(&a.reply), status.clone()),
            });
            self.message(&mut ch.messages, &reply_id, reply);
            reply_ids.push(reply_id.as_str());
        }
        reply_ids.push(&error_id);
        let mode = match a.mode {
            ActionMode::Response => json!("response"),
            ActionMode::None => json!("none"),
            ActionMode::Broadcast {
                event_type,
                send_response,
            } => json!({"broadcast": {"type": event_type, "send_response": send_response}}),
        };
        let extension = json!({
            "action": a.name,
            "route": at.pattern,
            "route_regex": format!("^{}", at.regex),
            "kwargs": at.kwargs.iter().map(|(n, int)| json!({"name": n, "type": if *int { "integer" } else { "string" }})).collect::<Vec<_>>(),
            "mode": mode,
            "detached": a.detached,
            "blocking": a.blocking,
            "throttle": a.throttle.or(d.throttle),
            "permissions": at.permissions,
            "handler": d.type_name,
            "generic": a.generic,
            "params": params,
            "query": a.query,
        });
        self.operation(
            ch,
            &base,
            "receive",
            &[&request_id],
            Some(&reply_ids),
            extension,
        );
        if let Some(s) = summary {
            self.operations[&base]["summary"] = s;
        }

        if let ActionMode::Broadcast { event_type, .. } = a.mode {
            let id = format!("{base}.broadcast");
            let mut properties = Map::new();
            let mut required = vec![Value::from("data"), "status".into()];
            if let Some(t) = event_type {
                properties.insert("type".into(), json!({"const": t}));
                required.push("type".into());
            }
            properties.insert("data".into(), schema(&a.reply));
            properties.insert("status".into(), status.clone());
            let message = json!({
                "name": event_type.unwrap_or("broadcast"),
                "title": format!("{} broadcast", title(at, a.name)),
                "summary": match event_type {
                    Some(_) => "to every member of the group, the sender included",
                    None => "the general broadcast (no `type`), to every member of the group",
                },
                "payload": {"type": "object", "properties": properties, "required": required},
            });
            self.message(&mut ch.messages, &id, message);
            self.operation(
                ch,
                &id,
                "send",
                &[&id],
                None,
                json!({"action": a.name, "route": at.pattern, "event": event_type}),
            );
        }
        if let Some(pushes) = &a.pushes {
            let id = format!("{base}.push");
            let message = json!({
                "name": format!("{}.push", a.name),
                "title": format!("{} push", title(at, a.name)),
                "summary": "one per committed change, until `unsubscribe` or the connection closes; `action`, `route` and `request_id` are those of the subscribe request",
                "payload": envelope(a, &route, schema(pushes), json!({"const": 200})),
            });
            self.message(&mut ch.messages, &id, message);
            self.operation(
                ch,
                &id,
                "send",
                &[&id],
                None,
                json!({"action": a.name, "route": at.pattern}),
            );
        }
    }
}

/// A channel being written.
struct Ch<'a> {
    id: &'a str,
    messages: Map<String, Value>,
}

fn title(at: &At, action: &str) -> String {
    if at.pattern.is_empty() {
        action.to_owned()
    } else {
        format!("{} {action}", at.pattern)
    }
}

/// The `route` of a request to an action at `at`.
fn route_schema(at: &At, a: &ActionDescription) -> Value {
    let mut query = String::new();
    if !a.query.is_empty() {
        query = format!("; query parameters: {}", a.query.join(", "));
    }
    if at.pattern.is_empty() {
        json!({
            "type": "string",
            "description": format!("empty (the consumer's own actions), or only a query string{query}"),
            "pattern": "^(\\?.*)?$",
            "default": "",
        })
    } else {
        json!({
            "type": "string",
            "description": format!("{} (a prefix match, then an optional query string{query})", at.pattern),
            "pattern": format!("^{}", at.regex),
        })
    }
}

/// The reply envelope with `data` and `status`.
fn envelope(a: &ActionDescription, route: &Value, data: Value, status: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "errors": {"type": "array", "maxItems": 0},
            "data": data,
            "action": {"const": a.name},
            "route": route,
            "status": status,
            "request_id": {"$ref": "#/components/schemas/RequestId"},
        },
        "required": ["errors", "data", "action", "route", "status"],
    })
}

/// The error envelope: any action may get it.
fn error_message() -> Value {
    json!({
        "name": "error",
        "title": "error",
        "summary": "the reply when a request fails: bad JSON (400), no action (404), no route (404), no such action (405), permission denied (403), bad arguments or data (400), not found (404), throttled (429), server error (500)",
        "payload": {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "anyOf": [
                            {"type": "string"},
                            {
                                "type": "object",
                                "description": "`detail`, or a field's (argument's) name, with its messages",
                                "additionalProperties": {
                                    "anyOf": [
                                        {"type": "string"},
                                        {"type": "array", "items": {"type": "string"}},
                                    ],
                                },
                            },
                        ],
                    },
                },
                "data": {"type": "null"},
                "action": {"type": ["string", "null"]},
                "route": {"type": "string"},
                "status": {"enum": ERROR_STATUSES},
                "request_id": {"$ref": "#/components/schemas/RequestId"},
            },
            "required": ["errors", "data", "action", "status"],
        },
    })
}

/// The `{name}` parameters of an axum path.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| {
            s.split_once('}')
                .map(|(name, _)| name.trim_start_matches('*'))
        })
        .collect()
}

/// `s` as a regex matching it literally.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_parameters() {
        assert_eq!(key("/ws/rooms/{group_id}/"), "ws_rooms_group_id");
        assert_eq!(key("notes/<int:pk>/"), "notes_int_pk");
        assert_eq!(path_parameters("/ws/{a}/x/{*rest}"), ["a", "rest"]);
        assert_eq!(path_parameters("/ws/"), Vec::<&str>::new());
        assert_eq!(escape("a.b/"), "a\\.b/");
    }
}
