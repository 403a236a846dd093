//! The AsyncAPI document of the reference app against the contract's
//! tables (REFERENCE_APP.md, written here as data): every endpoint is a
//! channel, every action of every route is an operation with its
//! arguments, reply and error envelopes, and every pushed event is a
//! `send` operation. (`.ci/run` also validates the served document with
//! the AsyncAPI project's parser: tools/asyncapi/validate.mjs.)

#[path = "../examples/reference.rs"]
#[allow(dead_code)]
mod reference;

use serde_json::Value;

/// (endpoint, route, action, [(argument, required)]).
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, bool)],
);

const CONTRACT: &[Row] = &[
    ("/ws/", "", "echo", &[("data", false)]),
    ("/ws/", "", "whoami", &[]),
    ("/ws/", "", "sync_echo", &[("pk", true)]),
    ("/ws/", "", "fail", &[]),
    ("/ws/", "", "wait", &[("ms", true)]),
    ("/ws/", "", "throttled", &[]),
    ("/ws/", "notes/<int:pk>/", "retrieve", &[]),
    ("/ws/", "notes/<int:pk>/", "update", &[("data", true)]),
    (
        "/ws/",
        "notes/<int:pk>/",
        "partial_update",
        &[("data", true)],
    ),
    ("/ws/", "notes/<int:pk>/", "destroy", &[]),
    ("/ws/", "notes/<int:pk>/", "subscribe", &[]),
    ("/ws/", "notes/<int:pk>/", "unsubscribe", &[]),
    ("/ws/", "notes/", "list", &[]),
    ("/ws/", "notes/", "create", &[("data", true)]),
    ("/ws/", "notes/", "subscribe", &[]),
    ("/ws/", "notes/", "unsubscribe", &[]),
    ("/ws/", r"items/(?P<pk>[-\w]+)/$", "touch", &[]),
    ("/ws/", "private/", "secret", &[]),
    ("/ws/", "composed/", "check", &[]),
    ("/ws/", "either/", "check", &[]),
    ("/ws/strict/", "", "whoami", &[]),
    ("/ws/rooms/{group_id}/", "chat/", "say", &[("text", true)]),
    (
        "/ws/rooms/{group_id}/",
        "chat/",
        "announce",
        &[("text", true)],
    ),
    ("/ws/rooms/{group_id}/", "chat/", "quiet", &[]),
];

fn doc() -> Value {
    reference::asyncapi()
}

/// `#/a/b` in `doc`.
fn resolve<'a>(doc: &'a Value, r: &Value) -> &'a Value {
    let r = r["$ref"].as_str().expect("a $ref");
    let pointer = r.strip_prefix('#').expect("a local $ref");
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{r} does not resolve"))
}

/// The channel id of the endpoint at `address`.
fn channel(doc: &Value, address: &str) -> String {
    let channels = doc["channels"].as_object().unwrap();
    let found: Vec<&String> = channels
        .iter()
        .filter(|(_, c)| c["address"] == address)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found.len(), 1, "one channel at {address}: {found:?}");
    found[0].clone()
}

/// The `receive` operations of a channel: (route, action) → operation.
fn actions(doc: &Value, channel: &str) -> Vec<(String, String, Value)> {
    let target = format!("#/channels/{channel}");
    doc["operations"]
        .as_object()
        .unwrap()
        .values()
        .filter(|op| op["channel"]["$ref"] == target.as_str() && op["action"] == "receive")
        .map(|op| {
            let x = &op["x-rest-channels"];
            (
                x["route"].as_str().unwrap().to_owned(),
                x["action"].as_str().unwrap().to_owned(),
                op.clone(),
            )
        })
        .collect()
}

#[test]
fn it_is_an_asyncapi_3_document() {
    let doc = doc();
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "rest-channels reference app");
    assert!(doc["info"]["version"].is_string());
    assert_eq!(doc, self::doc(), "the same app gives the same document");
}

#[test]
fn every_endpoint_action_and_argument_of_the_contract_is_described() {
    let doc = doc();
    for endpoint in ["/ws/", "/ws/strict/", "/ws/rooms/{group_id}/"] {
        let ch = channel(&doc, endpoint);
        let ops = actions(&doc, &ch);
        let expected: Vec<&Row> = CONTRACT.iter().filter(|r| r.0 == endpoint).collect();
        assert_eq!(
            ops.len(),
            expected.len(),
            "{endpoint}: {:?}",
            ops.iter()
                .map(|(r, a, _)| format!("{r} {a}"))
                .collect::<Vec<_>>()
        );
        for (_, route, action, args) in expected {
            let (_, _, op) = ops
                .iter()
                .find(|(r, a, _)| r == route && a == action)
                .unwrap_or_else(|| panic!("{endpoint} {route:?} {action}: no operation"));
            let request = resolve(&doc, &op["messages"][0]);
            let request = resolve(&doc, request);
            let payload = &request["payload"];
            assert_eq!(payload["properties"]["action"]["const"], *action);
            let required: Vec<&str> = payload["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(
                required.contains(&"route"),
                !route.is_empty(),
                "{route} {action}"
            );
            let mut keys: Vec<&str> = payload["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| !["action", "route", "request_id"].contains(k))
                .collect();
            keys.sort_unstable();
            let mut want: Vec<&str> = args.iter().map(|(name, _)| *name).collect();
            want.sort_unstable();
            assert_eq!(keys, want, "{endpoint} {route:?} {action}: the arguments");
            for (name, req) in *args {
                assert_eq!(required.contains(name), *req, "{action}: {name} required");
            }
            // Every action can fail with the error envelope.
            let replies = op["reply"]["messages"].as_array().unwrap();
            let error = resolve(&doc, resolve(&doc, replies.last().unwrap()));
            assert_eq!(error["name"], "error");
            assert_eq!(error["payload"]["properties"]["data"]["type"], "null");
        }
    }
}

#[test]
fn argument_types_modes_and_replies_follow_the_code() {
    let doc = doc();
    let ops = actions(&doc, &channel(&doc, "/ws/"));
    let op = |route: &str, action: &str| {
        ops.iter()
            .find(|(r, a, _)| r == route && a == action)
            .map(|(_, _, op)| op.clone())
            .unwrap()
    };
    let payload = |op: &Value| resolve(&doc, resolve(&doc, &op["messages"][0]))["payload"].clone();
    assert_eq!(
        payload(&op("", "sync_echo"))["properties"]["pk"]["type"],
        "integer"
    );
    assert_eq!(
        payload(&op("", "wait"))["properties"]["ms"]["type"],
        "integer"
    );
    assert_eq!(
        payload(&op("", "echo"))["properties"]["data"],
        true,
        "Value is any"
    );
    assert_eq!(op("", "wait")["x-rest-channels"]["detached"], true);
    assert_eq!(op("", "echo")["x-rest-channels"]["detached"], false);
    assert_eq!(op("", "throttled")["x-rest-channels"]["throttle"], "5/10s");
    assert_eq!(op("", "sync_echo")["x-rest-channels"]["blocking"], true);
    assert_eq!(
        op("", "wait")["summary"],
        "Sleeps `ms` milliseconds (0 to 5000), beside the connection's other\nmessages: detached."
    );

    // The detail route: pk comes from the route, an int kwarg.
    let retrieve = op("notes/<int:pk>/", "retrieve");
    let x = &retrieve["x-rest-channels"];
    assert_eq!(x["kwargs"][0]["name"], "pk");
    assert_eq!(x["kwargs"][0]["type"], "integer");
    assert_eq!(x["params"][0]["from_route"], true);
    assert_eq!(
        x["permissions"][1],
        "IsAuthenticatedOrReadOnly & IsOwnerOrReadOnly"
    );
    assert_eq!(
        payload(&retrieve)["properties"]["route"]["pattern"],
        "^notes/(?<pk>[0-9]+)/"
    );

    // Replies: the model's schema, the generic statuses.
    let reply =
        |op: &Value| resolve(&doc, resolve(&doc, &op["reply"]["messages"][0]))["payload"].clone();
    let note = &doc["components"]["schemas"]["Note"];
    let mut fields: Vec<&String> = note["properties"].as_object().unwrap().keys().collect();
    fields.sort_unstable();
    assert_eq!(fields, ["author", "content", "id", "title"]);
    assert_eq!(
        reply(&retrieve)["properties"]["data"]["$ref"],
        "#/components/schemas/Note"
    );
    // `data` of the writes: the writable fields; `title` has no default.
    let data = payload(&op("notes/", "create"))["properties"]["data"].clone();
    let mut writable: Vec<&String> = data["properties"].as_object().unwrap().keys().collect();
    writable.sort_unstable();
    assert_eq!(
        writable,
        ["content", "title"],
        "id and author are read-only"
    );
    assert_eq!(data["properties"]["title"]["type"], "string");
    assert_eq!(data["required"], serde_json::json!(["title"]));
    // Their validation: length(chars, min = 1, max = 255), max = 1024.
    assert_eq!(data["properties"]["title"]["minLength"], 1);
    assert_eq!(data["properties"]["title"]["maxLength"], 255);
    assert_eq!(data["properties"]["content"]["maxLength"], 1024);
    let partial = payload(&op("notes/<int:pk>/", "partial_update"))["properties"]["data"].clone();
    assert!(partial.get("required").is_none(), "{partial}");
    assert_eq!(
        reply(&op("notes/", "create"))["properties"]["status"]["const"],
        201
    );
    assert_eq!(
        reply(&op("notes/<int:pk>/", "destroy"))["properties"]["status"]["const"],
        204
    );
    let list = reply(&op("notes/", "list"));
    assert_eq!(
        list["properties"]["data"]["properties"]["results"]["items"]["$ref"],
        "#/components/schemas/Note"
    );
    let query = &op("notes/", "list")["x-rest-channels"]["query"];
    assert_eq!(
        *query,
        serde_json::json!(["page", "page_size", "author", "search", "ordering"])
    );
    assert_eq!(
        op("items/(?P<pk>[-\\w]+)/$", "touch")["x-rest-channels"]["kwargs"][0]["type"],
        "string"
    );
}

#[test]
fn pushed_events_are_described() {
    let doc = doc();
    let sends: Vec<&Value> = doc["operations"]
        .as_object()
        .unwrap()
        .values()
        .filter(|op| op["action"] == "send")
        .collect();
    let events: Vec<&str> = sends
        .iter()
        .map(|op| {
            resolve(&doc, resolve(&doc, &op["messages"][0]))["name"]
                .as_str()
                .unwrap()
        })
        .collect();
    // say's broadcast, announce's general broadcast, the consumer's
    // #[event("chat.message")], and the live-note pushes of both routes.
    for name in ["chat.message", "broadcast", "subscribe.push"] {
        assert!(events.contains(&name), "{name}: {events:?}");
    }
    assert_eq!(events.iter().filter(|e| **e == "subscribe.push").count(), 2);
    assert_eq!(events.iter().filter(|e| **e == "chat.message").count(), 2);
    let rooms = &doc["channels"][channel(&doc, "/ws/rooms/{group_id}/")];
    assert!(rooms["parameters"]["group_id"]["description"].is_string());
    // announce and quiet reply only on errors.
    let ops = actions(&doc, &channel(&doc, "/ws/rooms/{group_id}/"));
    for (_, action, op) in &ops {
        let replies = op["reply"]["messages"].as_array().unwrap().len();
        assert_eq!(replies, if action == "say" { 2 } else { 1 }, "{action}");
    }
}
