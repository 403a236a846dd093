//! The JSON envelope: one object per text frame in, one per text frame out.
//!
//! A request is decoded once, borrowing from the frame: `action`, `route` and
//! `request_id` are kept as raw JSON (they are echoed verbatim in the reply),
//! and every other key is kept as a raw value that the action's typed
//! parameters deserialize directly, without an intermediate `serde_json::Value`.
//!
//! ```
//! use rest_channels::envelope::Message;
//!
//! let msg = Message::decode(r#"{"action": "echo", "route": "notes/?page=2", "request_id": 7, "data": [1]}"#).unwrap();
//! assert_eq!(msg.action(), Some("echo"));
//! assert_eq!(msg.route(), "notes/?page=2");
//! assert_eq!(msg.arg_raw("data").map(|v| v.get()), Some("[1]"));
//!
//! let reply = rest_channels::envelope::reply(&msg, &serde_json::json!({"ok": true}), 200);
//! assert_eq!(reply, r#"{"errors":[],"data":{"ok":true},"action":"echo","route":"notes/?page=2","status":200,"request_id":7}"#);
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::Error;

/// A decoded request envelope, borrowing from the frame's text.
#[derive(Debug, Default)]
pub struct Message<'m> {
    action_raw: Option<&'m RawValue>,
    action: Option<Cow<'m, str>>,
    route_raw: Option<&'m RawValue>,
    route: Cow<'m, str>,
    route_is_string: bool,
    request_id: Option<&'m RawValue>,
    // A Vec (not a SmallVec) keeps `Message` covariant in `'m`.
    args: Vec<(Cow<'m, str>, &'m RawValue)>,
}

/// Why a frame is not a request (a 400 with `[{"detail": ...}]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub(crate) String);

impl<'m> Message<'m> {
    /// Decodes one text frame.
    pub fn decode(text: &'m str) -> Result<Self, DecodeError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let msg = de
            .deserialize_map(MessageVisitor)
            .and_then(|m| de.end().map(|()| m))
            .map_err(|e| DecodeError(format!("Invalid message: {}", message_of(&e))))?;
        Ok(msg)
    }

    /// The action's name; `None` when the key is missing or not a string.
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The route, query string included, as sent (`""` when missing).
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Whether `route`, when present, was a string.
    pub(crate) fn route_is_valid(&self) -> bool {
        self.route_is_string
    }

    /// The request id, as raw JSON.
    pub fn request_id(&self) -> Option<&'m RawValue> {
        self.request_id
    }

    /// The raw JSON of an argument (a key other than `action`, `route` and `request_id`).
    pub fn arg_raw(&self, key: &str) -> Option<&'m RawValue> {
        self.args.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The argument keys and their raw values, in message order.
    pub fn args(&self) -> impl Iterator<Item = (&str, &'m RawValue)> {
        self.args.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    pub(crate) fn head(&self) -> Head<'_> {
        Head {
            action: self.action_raw,
            route: self.route_raw,
            request_id: self.request_id,
        }
    }
}

/// Strips serde_json's " at line L column C" suffix: frames are one line.
pub(crate) fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// A string that borrows from the frame unless it had escapes.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

fn cow_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<CowStr<'_>>(raw.get())
        .ok()
        .map(|c| c.0)
}

struct MessageVisitor;

/// Up to this many argument keys, duplicates are found by a linear scan.
const FEW_KEYS: usize = 16;

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate key \"{key}\""))
}

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut msg = Message::default();
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            let slot = match key.as_ref() {
                "action" => &mut msg.action_raw,
                "route" => &mut msg.route_raw,
                "request_id" => &mut msg.request_id,
                _ => {
                    // A linear check while there are few keys; many are sorted below.
                    if msg.args.len() < FEW_KEYS && msg.args.iter().any(|(k, _)| *k == key) {
                        return Err(duplicate(&key));
                    }
                    msg.args.push((key, value));
                    continue;
                }
            };
            if slot.replace(value).is_some() {
                return Err(duplicate(&key));
            }
        }
        if msg.args.len() > FEW_KEYS {
            let mut keys: Vec<&str> = msg.args.iter().map(|(k, _)| k.as_ref()).collect();
            keys.sort_unstable();
            if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
                return Err(duplicate(w[0]));
            }
        }
        if let Some(raw) = msg.action_raw {
            msg.action = cow_str(raw);
        }
        msg.route_is_string = true;
        if let Some(raw) = msg.route_raw {
            match cow_str(raw) {
                Some(route) => msg.route = route,
                None => msg.route_is_string = false,
            }
        }
        Ok(msg)
    }
}

/// The echoed part of a reply: `action`, `route`, `request_id` as sent.
#[derive(Clone, Copy, Default)]
pub(crate) struct Head<'a> {
    action: Option<&'a RawValue>,
    route: Option<&'a RawValue>,
    request_id: Option<&'a RawValue>,
}

struct RouteEcho<'a>(Option<&'a RawValue>);

impl Serialize for RouteEcho<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(raw) => raw.serialize(s),
            None => s.serialize_str(""),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, E, D> {
    errors: E,
    data: D,
    action: Option<&'a RawValue>,
    route: RouteEcho<'a>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct PushEcho<'a> {
    action: Option<&'a RawValue>,
    route: RouteEcho<'a>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a RawValue>,
}

/// The end of a push's envelope that echoes a request (an observer's
/// `subscribe`): `,"action":...,"route":...,"status":200,"request_id":...}`.
pub(crate) fn push_suffix(head: Head<'_>) -> String {
    let mut text = to_string(&PushEcho {
        action: head.action,
        route: RouteEcho(head.route),
        status: 200,
        request_id: head.request_id,
    })
    .expect("raw JSON and numbers serialize");
    text.replace_range(..1, ",");
    text
}

struct NoErrors;
impl Serialize for NoErrors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_seq(Some(0))
            .and_then(serde::ser::SerializeSeq::end)
    }
}

fn to_string<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    serde_json::to_writer(&mut out, value)?;
    // SAFETY-free: serde_json writes UTF-8 only.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

pub(crate) fn write_reply<T: Serialize + ?Sized>(
    head: Head<'_>,
    data: &T,
    status: u16,
) -> Result<String, Error> {
    to_string(&Envelope {
        errors: NoErrors,
        data,
        action: head.action,
        route: RouteEcho(head.route),
        status,
        request_id: head.request_id,
    })
    .map_err(|e| Error::internal(format!("the action's reply cannot be serialized: {e}")))
}

pub(crate) fn write_error(head: Head<'_>, error: &Error, debug: bool) -> String {
    to_string(&Envelope {
        errors: error.errors(debug),
        data: (),
        action: head.action,
        route: RouteEcho(head.route),
        status: error.status(),
        request_id: head.request_id,
    })
    .expect("error envelopes always serialize")
}

/// The reply envelope of a success: `{"errors": [], "data": data, "action": ..., "route": ..., "status": status}`.
///
/// When `data` cannot be serialized (a map with non-string keys, say), the
/// envelope of a 500 (`[{"detail": "A server error occurred."}]`), as the
/// dispatch path answers that case; never a panic.
pub fn reply<T: Serialize + ?Sized>(msg: &Message<'_>, data: &T, status: u16) -> String {
    write_reply(msg.head(), data, status).unwrap_or_else(|e| {
        tracing::error!(error = ?e, "a reply's data cannot be serialized");
        write_error(msg.head(), &e, false)
    })
}

/// The reply to a frame that is not a request at all (`action` null, 400).
pub(crate) fn write_undecodable(detail: &str) -> String {
    write_error(
        Head::default(),
        &Error::bad_request(detail.to_owned()),
        false,
    )
}

#[derive(Serialize)]
struct EventBody<'a, D> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    data: D,
    status: u16,
}

/// The JSON of a broadcast event: `{"type": kind, "data": ..., "status": ...}`,
/// without `type` when `kind` is `None` (the general broadcast).
pub(crate) fn write_event<T: Serialize + ?Sized>(
    kind: Option<&str>,
    data: &T,
    status: u16,
) -> Result<String, Error> {
    to_string(&EventBody { kind, data, status })
        .map_err(|e| Error::internal(format!("the broadcast event cannot be serialized: {e}")))
}

/// Deserializes a missing key: `None` for an `Option`, an error for the rest.
pub(crate) struct Missing;

impl<'de> Deserializer<'de> for Missing {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("This field is required."))
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_reserved_keys_and_keeps_the_rest_raw() {
        let m = Message::decode(
            r#"{"action":"a","route":"r/?x=1","request_id":"q","data":{"k":[1,2]},"pk":5}"#,
        )
        .unwrap();
        assert_eq!(m.action(), Some("a"));
        assert_eq!(m.route(), "r/?x=1");
        assert_eq!(m.request_id().unwrap().get(), r#""q""#);
        assert_eq!(m.arg_raw("data").unwrap().get(), r#"{"k":[1,2]}"#);
        assert_eq!(m.arg_raw("pk").unwrap().get(), "5");
        assert!(m.arg_raw("nope").is_none());
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let m = Message::decode(r#"{"action":"\u0065cho","route":"a\/b"}"#).unwrap();
        assert_eq!(m.action(), Some("echo"));
        assert_eq!(m.route(), "a/b");
    }

    #[test]
    fn non_string_action_is_missing_and_bad_route_is_flagged() {
        let m = Message::decode(r#"{"action":123,"route":[1]}"#).unwrap();
        assert_eq!(m.action(), None);
        assert!(!m.route_is_valid());
        let reply = write_error(m.head(), &Error::bad_request("x"), false);
        assert!(reply.contains(r#""action":123,"route":[1]"#), "{reply}");
    }

    #[test]
    fn bad_frames_are_decode_errors() {
        for text in [
            "{not json",
            "[1,2]",
            "42",
            "null",
            r#"{"a":1,"a":2}"#,
            r#"{"action":"x"} trailing"#,
            "",
        ] {
            let e = Message::decode(text).unwrap_err();
            assert!(e.0.starts_with("Invalid message: "), "{text}: {e}");
            assert!(!e.0.contains("line 1"), "{e}");
        }
    }

    #[test]
    fn duplicates_are_found_among_many_keys_too() {
        let many: Vec<String> = (0..40).map(|i| format!(r#""k{i}": {i}"#)).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert_eq!(Message::decode(&ok).unwrap().args().count(), 40);
        let dup = format!(r#"{{{}, "k7": 0}}"#, many.join(","));
        assert_eq!(
            Message::decode(&dup).unwrap_err().0,
            r#"Invalid message: duplicate key "k7""#
        );
    }

    #[test]
    fn unserializable_data_is_a_500_not_a_panic() {
        let m = Message::decode(r#"{"action":"echo","request_id":1}"#).unwrap();
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), 3);
        assert_eq!(
            reply(&m, &map, 200),
            r#"{"errors":[{"detail":"A server error occurred."}],"data":null,"action":"echo","route":"","status":500,"request_id":1}"#
        );
    }

    #[test]
    fn replies_echo_raw_values_and_omit_absent_request_id() {
        let m = Message::decode(r#"{"action":"echo","request_id":7}"#).unwrap();
        assert_eq!(
            reply(&m, &1, 200),
            r#"{"errors":[],"data":1,"action":"echo","route":"","status":200,"request_id":7}"#
        );
        let m = Message::decode(r#"{"action":"echo"}"#).unwrap();
        assert_eq!(
            reply(&m, &(), 204),
            r#"{"errors":[],"data":null,"action":"echo","route":"","status":204}"#
        );
        assert_eq!(
            write_undecodable("bad"),
            r#"{"errors":[{"detail":"bad"}],"data":null,"action":null,"route":"","status":400}"#
        );
    }

    #[test]
    fn events_with_and_without_type() {
        assert_eq!(
            write_event(Some("chat.message"), &1, 200).unwrap(),
            r#"{"type":"chat.message","data":1,"status":200}"#
        );
        assert_eq!(
            write_event(None, &1, 200).unwrap(),
            r#"{"data":1,"status":200}"#
        );
    }

    #[test]
    fn missing_keys_are_none_for_options_only() {
        use serde::Deserialize;
        assert_eq!(Option::<i64>::deserialize(Missing).unwrap(), None);
        assert_eq!(
            i64::deserialize(Missing).unwrap_err().to_string(),
            "This field is required."
        );
    }
}
