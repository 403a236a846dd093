//! Checks over arbitrary input that turn logic bugs into panics: shared by
//! the fuzz targets (`fuzz/fuzz_targets/*.rs`, which include this file by
//! path) and the property tests (`tests/properties.rs`).
//!
//! Each `check_*` function takes any input and panics only on a bug:
//! - [`check_envelope`]: a frame that decodes re-encodes (as a reply) and
//!   decodes again to the same action, route, request id and arguments;
//!   what decodes is a JSON object, and a JSON object that does not decode
//!   has a duplicate key.
//! - [`check_route`]: route resolution with every converter agrees with a
//!   plain matcher written apart from the regexes (first match wins,
//!   kwargs are the right substrings, offsets shift with the base), also
//!   through nested routing in a real `Context`.
//! - [`check_query`]: query parameters, pagination windows and the filters'
//!   SQL (values always bound, never inlined).
//! - [`check_origin`]: the Origin check is total over any bytes, origins
//!   serialize canonically, and the server's own origin is the only one
//!   allowed without a list.
#![allow(dead_code)]

use std::sync::{Arc, LazyLock};

use rest_channels::__private::probe;
use rest_channels::__private::{KwargKind, RouteSpec, RouteTable, Routes};
use rest_channels::db::Backend;
use rest_channels::envelope::Message;
use rest_channels::model::{Column, ColumnType};
use rest_channels::pagination::{Pagination, QueryParams};
use rest_channels::{App, Scope, SimpleUser, User};
use serde_json::Value;

// ------------------------------------------------------------------ envelope

/// Decodes `text` as a request envelope and checks what comes out.
pub fn check_envelope(text: &str) {
    let as_value = serde_json::from_str::<Value>(text);
    let msg = match Message::decode(text) {
        Ok(msg) => msg,
        Err(e) => {
            let e = e.to_string();
            assert!(e.starts_with("Invalid message: "), "{e}");
            assert!(!e.contains(" at line "), "{e}");
            // A JSON object that serde_json reads (where a duplicate key
            // is the last one) fails to decode only for a duplicate key.
            if let Ok(Value::Object(_)) = as_value {
                assert!(e.contains("duplicate key"), "{text:?}: {e}");
            }
            return;
        }
    };
    let object = match as_value {
        Ok(Value::Object(object)) => object,
        // Raw values are not read, only skipped: a number beyond f64, a
        // lone UTF-16 surrogate in a string escape (`"\uDDdd"`) or a
        // nesting beyond serde_json's limit decodes, and is the action's
        // argument to refuse when it reads it.
        Err(e)
            if [
                "number out of range",
                "surrogate",
                "hex escape",
                "recursion limit",
            ]
            .iter()
            .any(|m| e.to_string().contains(m)) =>
        {
            return;
        }
        other => panic!("{text:?} decodes but is not a JSON object: {other:?}"),
    };
    let reserved = ["action", "route", "request_id"];
    let present = reserved.iter().filter(|k| object.contains_key(**k)).count();
    assert_eq!(present + msg.args().count(), object.len(), "{text:?}");
    assert_eq!(
        msg.action(),
        object.get("action").and_then(Value::as_str),
        "{text:?}"
    );
    match object.get("route") {
        Some(Value::String(route)) => assert_eq!(msg.route(), route),
        _ => assert_eq!(msg.route(), ""),
    }
    for (key, raw) in msg.args() {
        assert!(!reserved.contains(&key), "{key}");
        let value: Value = serde_json::from_str(raw.get()).expect("an argument is JSON");
        assert_eq!(Some(&value), object.get(key), "{text:?}: {key}");
        assert_eq!(msg.arg_raw(key).map(|r| r.get()), Some(raw.get()));
    }

    // A reply echoes the head verbatim and carries the data: it decodes
    // again (it is an envelope too) to the same head.
    let data = Value::Object(object.clone());
    let reply = rest_channels::envelope::reply(&msg, &data, 200);
    let back = Message::decode(&reply).unwrap_or_else(|e| panic!("{reply}: {e}"));
    assert_eq!(back.action(), msg.action(), "{reply}");
    assert_eq!(back.route(), msg.route(), "{reply}");
    assert_eq!(
        back.request_id().map(|r| r.get()),
        msg.request_id().map(|r| r.get()),
        "{reply}"
    );
    // (Compared as text: serde_json's float parsing is not always
    // correctly rounded, so a long number may read back one ulp apart.)
    assert_eq!(
        back.arg_raw("data").map(|r| r.get()),
        Some(serde_json::to_string(&data).unwrap().as_str())
    );
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["errors"], serde_json::json!([]));
    assert_eq!(
        reply["action"],
        object.get("action").cloned().unwrap_or(Value::Null)
    );
}

// -------------------------------------------------------------------- routes

/// A piece of a `path()` pattern.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    /// Literal text.
    Lit(&'static str),
    /// `<converter:name>`.
    Conv(Conv, &'static str),
}

/// Django's path converters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    Str,
    Int,
    Slug,
    Uuid,
    Path,
}

impl Conv {
    /// The regex the macro writes for it.
    pub fn regex(self) -> &'static str {
        match self {
            Conv::Str => "[^/]+",
            Conv::Int => "[0-9]+",
            Conv::Slug => "[-a-zA-Z0-9_]+",
            Conv::Uuid => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            Conv::Path => ".+",
        }
    }

    fn kind(self) -> KwargKind {
        if self == Conv::Int {
            KwargKind::Int
        } else {
            KwargKind::Str
        }
    }

    /// Whether `c` may be part of a value.
    fn takes(self, c: char) -> bool {
        match self {
            Conv::Str => c != '/',
            Conv::Int => c.is_ascii_digit(),
            Conv::Slug => c.is_ascii_alphanumeric() || c == '-' || c == '_',
            Conv::Uuid => c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-',
            Conv::Path => c != '\n',
        }
    }

    /// Whether a whole value is one this converter takes.
    pub fn accepts(self, v: &str) -> bool {
        if v.is_empty() || !v.chars().all(|c| self.takes(c)) {
            return false;
        }
        if self == Conv::Uuid {
            let groups: Vec<usize> = v.split('-').map(str::len).collect();
            return groups == [8, 4, 4, 4, 12];
        }
        true
    }
}

/// A `re_path` group: its name and a check of its values.
pub type Group = (&'static str, fn(&str) -> bool);

/// A plain match: where it ends, and each kwarg's name and `start..end`.
pub type PlainMatch = (usize, Vec<(&'static str, usize, usize)>);

/// A route of the test tables: a `path()` pattern, or a `re_path()` regex
/// with a check of each group's value.
#[derive(Clone, Copy)]
pub enum TestRoute {
    Path(&'static [Part]),
    Re(&'static str, &'static [Group]),
}

const fn lit(s: &'static str) -> Part {
    Part::Lit(s)
}
const fn conv(c: Conv, name: &'static str) -> Part {
    Part::Conv(c, name)
}

/// Every converter, in the places apps put them; `re_path` with `$`, an
/// optional group and several groups. Order matters: first match wins.
pub static TABLE: &[TestRoute] = &[
    TestRoute::Path(&[
        lit("users/"),
        conv(Conv::Int, "id"),
        lit("/posts/"),
        conv(Conv::Slug, "post"),
        lit("/"),
    ]),
    TestRoute::Path(&[lit("users/"), conv(Conv::Int, "id"), lit("/")]),
    TestRoute::Path(&[lit("tags/"), conv(Conv::Str, "name"), lit("/")]),
    TestRoute::Path(&[lit("objects/"), conv(Conv::Uuid, "key"), lit("/")]),
    TestRoute::Path(&[lit("edit/"), conv(Conv::Path, "rest"), lit("/edit/")]),
    TestRoute::Path(&[lit("files/"), conv(Conv::Path, "rest")]),
    TestRoute::Path(&[
        conv(Conv::Int, "year"),
        lit("/"),
        conv(Conv::Int, "month"),
        lit("/"),
    ]),
    TestRoute::Path(&[lit("v1.0/"), conv(Conv::Str, "name")]),
    TestRoute::Path(&[lit("static/")]),
    TestRoute::Re(
        r"items/(?P<pk>[-\w]+)/$",
        &[("pk", |v| !v.is_empty() && !v.contains('/'))],
    ),
    TestRoute::Re(r"opt/(?P<n>[0-9]+)?x", &[("n", |v| Conv::Int.accepts(v))]),
    TestRoute::Re(
        r"(?P<lang>[a-z]{2})/(?P<page>[^/]+)/",
        &[
            ("lang", |v| {
                v.len() == 2 && v.bytes().all(|b| b.is_ascii_lowercase())
            }),
            ("page", |v| Conv::Str.accepts(v)),
        ],
    ),
    TestRoute::Re(r"health$", &[]),
];

/// Escapes regex meta characters, as the macro does for literal parts.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The spec the `#[consumer(routes = [...])]` macro emits for a route.
pub fn spec(route: &TestRoute) -> RouteSpec {
    match *route {
        TestRoute::Path(parts) => {
            if parts.iter().all(|p| matches!(p, Part::Lit(_))) {
                let mut s = String::new();
                for p in parts {
                    if let Part::Lit(l) = p {
                        s.push_str(l);
                    }
                }
                return RouteSpec::Prefix(leak(s));
            }
            let mut regex = String::from("^");
            let mut kwargs = Vec::new();
            for p in parts {
                match *p {
                    Part::Lit(l) => regex.push_str(&escape(l)),
                    Part::Conv(c, name) => {
                        regex.push_str(&format!("(?P<{name}>{})", c.regex()));
                        kwargs.push((name, c.kind()));
                    }
                }
            }
            RouteSpec::Regex(leak(regex), Box::leak(kwargs.into_boxed_slice()))
        }
        TestRoute::Re(re, groups) => {
            let kwargs: Vec<_> = groups.iter().map(|(n, _)| (*n, KwargKind::Str)).collect();
            RouteSpec::Regex(
                leak(format!("^(?:{re})")),
                Box::leak(kwargs.into_boxed_slice()),
            )
        }
    }
}

/// The specs of the test table (kept: they own the leaked pattern text).
pub static SPECS: LazyLock<Vec<RouteSpec>> = LazyLock::new(|| TABLE.iter().map(spec).collect());

/// The compiled test table.
pub static ROUTES: LazyLock<Routes> = LazyLock::new(|| Routes::new(&SPECS));

/// Each route alone, to check that no earlier route matched.
pub static SINGLE: LazyLock<Vec<Routes>> = LazyLock::new(|| {
    SPECS
        .iter()
        .map(|s| Routes::new(std::slice::from_ref(s)))
        .collect()
});

/// Where a `path()` pattern's match ends in `path`, and its kwargs, by a
/// plain matcher: converters take the longest run they can, except a
/// `path` converter before a final literal, which takes up to that
/// literal's last occurrence on the line (the regex's backtracking).
pub fn plain_match(parts: &[Part], path: &str) -> Option<PlainMatch> {
    let mut at = 0;
    let mut kwargs = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        match *part {
            Part::Lit(l) => {
                if !path[at..].starts_with(l) {
                    return None;
                }
                at += l.len();
            }
            Part::Conv(Conv::Path, name) => {
                let line_end = path[at..].find('\n').map_or(path.len(), |n| at + n);
                let end = match parts.get(i + 1) {
                    None => line_end,
                    Some(Part::Lit(l)) => {
                        assert_eq!(
                            i + 2,
                            parts.len(),
                            "a path converter is last or before the last literal"
                        );
                        let line = &path[at..line_end];
                        // The last occurrence leaving at least one character.
                        let found = (1..=line.len())
                            .rev()
                            .filter(|&k| line.is_char_boundary(k))
                            .find(|&k| line[k..].starts_with(l))?;
                        at + found
                    }
                    Some(_) => unreachable!("a converter after a path converter"),
                };
                if end == at {
                    return None;
                }
                kwargs.push((name, at, end));
                at = end;
            }
            Part::Conv(c, name) => {
                let run = path[at..]
                    .char_indices()
                    .find(|&(_, ch)| !c.takes(ch))
                    .map_or(path.len() - at, |(k, _)| k);
                let end = if c == Conv::Uuid {
                    at + run.min(36)
                } else {
                    at + run
                };
                if !c.accepts(&path[at..end]) {
                    return None;
                }
                kwargs.push((name, at, end));
                at = end;
            }
        }
    }
    Some((at, kwargs))
}

/// Resolves `path` against the test table and checks the match.
pub fn check_route(path: &str) {
    let got = probe::resolve(&ROUTES, path, 0);
    let first = TABLE
        .iter()
        .zip(SINGLE.iter())
        .position(|(_, alone)| probe::resolve(alone, path, 0).is_some());
    assert_eq!(got.as_ref().map(|m| m.0), first, "{path:?}");
    let Some((index, end, kwargs)) = got else {
        return;
    };
    assert!(end <= path.len() && path.is_char_boundary(end), "{path:?}");
    for &(name, _, start, end) in &kwargs {
        assert!(start <= end && end <= path.len(), "{path:?}: {name}");
        assert!(path.is_char_boundary(start) && path.is_char_boundary(end));
    }
    match TABLE[index] {
        TestRoute::Path(parts) => {
            let (plain_end, plain_kwargs) = plain_match(parts, path).unwrap_or_else(|| {
                panic!("{path:?}: route {index} matched, the plain matcher did not")
            });
            assert_eq!(end, plain_end, "{path:?}: route {index}");
            let got: Vec<_> = kwargs.iter().map(|&(n, _, s, e)| (n, s, e)).collect();
            assert_eq!(got, plain_kwargs, "{path:?}: route {index}");
            for &(name, kind, s, e) in &kwargs {
                let conv = parts
                    .iter()
                    .find_map(|p| match *p {
                        Part::Conv(c, n) if n == name => Some(c),
                        _ => None,
                    })
                    .unwrap();
                assert_eq!(kind, conv.kind());
                assert!(conv.accepts(&path[s..e]), "{path:?}: {name}");
            }
        }
        TestRoute::Re(_, groups) => {
            for &(name, kind, s, e) in &kwargs {
                let (_, accepts) = groups.iter().find(|(n, _)| *n == name).unwrap();
                assert_eq!(kind, KwargKind::Str);
                assert!(accepts(&path[s..e]), "{path:?}: {name} = {:?}", &path[s..e]);
            }
        }
    }
    // Shifted by a base, offsets shift with it.
    if let Some(k) = (1..path.len()).find(|&k| path.is_char_boundary(k)) {
        let shifted = probe::resolve(&ROUTES, &path[k..], k);
        let direct = probe::resolve(&ROUTES, &path[k..], 0);
        assert_eq!(shifted.is_some(), direct.is_some());
        if let (Some(s), Some(d)) = (shifted, direct) {
            assert_eq!((s.0, s.1), (d.0, d.1 + k));
            let moved: Vec<_> =
                d.2.iter()
                    .map(|&(n, kd, a, b)| (n, kd, a + k, b + k))
                    .collect();
            assert_eq!(s.2, moved);
        }
    }
}

/// `api/v<int:version>/`, the outer table of the nested check.
static OUTER: RouteTable = LazyLock::new(|| {
    static PARTS: &[Part] = &[lit("api/v"), conv(Conv::Int, "version"), lit("/")];
    static SPEC: LazyLock<RouteSpec> = LazyLock::new(|| spec(&TestRoute::Path(PARTS)));
    Routes::new(std::slice::from_ref(&*SPEC))
});

/// The test table as the inner table of the nested check.
static INNER: RouteTable = LazyLock::new(|| Routes::new(&SPECS));

/// Routes `api/v{version}/{path}?{query}` through two tables in a real
/// `Context`, as nested handlers do, and reads the kwargs back.
pub fn check_nested(version: u64, path: &str, query: &str) {
    let route = format!("api/v{version}/{path}?{query}");
    let text = serde_json::json!({"action": "x", "route": route}).to_string();
    let msg = Message::decode(&text).unwrap();
    let user = Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>;
    let scope = Scope::new(App::default(), "/ws/", Some(user));
    probe::with_context(scope, &msg, |ctx| {
        assert_eq!(ctx.route(), route);
        let route_path = ctx.route_path();
        assert_eq!(ctx.query(), route.split_once('?').unwrap().1);
        assert_eq!(
            rest_channels::__private::route(ctx, &OUTER).map(|r| r.ok()),
            Some(Some(0))
        );
        assert_eq!(ctx.kwarg::<u64>("version").ok(), Some(version));
        let inner = rest_channels::__private::route(ctx, &INNER);
        let expected = probe::resolve(&ROUTES, path, 0);
        match (inner, expected) {
            (None, _) => assert!(path.is_empty(), "{route:?}"),
            (Some(Err(e)), None) => assert_eq!(e.status(), 404),
            (Some(Ok(i)), Some((index, _, kwargs))) => {
                assert_eq!(i, index);
                let base = route_path.len() - path.len();
                for (name, kind, s, e) in kwargs {
                    let value: &str = ctx.kwarg(name).unwrap();
                    assert_eq!(value, &path[s..e]);
                    assert_eq!(value, &route_path[base + s..base + e]);
                    if kind == KwargKind::Int {
                        assert_eq!(ctx.kwarg::<u64>(name).ok(), value.parse::<u64>().ok());
                    }
                }
                // The outer kwarg is still there.
                assert_eq!(ctx.kwarg::<u64>("version").ok(), Some(version));
            }
            (got, expected) => panic!("{route:?}: {got:?} but {expected:?}"),
        }
    });
}

// --------------------------------------------------------------------- query

const ID: Column = Column::new("id", ColumnType::Integer);
const TITLE: Column = Column::new("title", ColumnType::Text);
const AUTHOR: Column = Column::new("author", ColumnType::Integer);
const SCORE: Column = Column::new("score", ColumnType::Real);
const DONE: Column = Column::new("done", ColumnType::Boolean);

const PAGES: Pagination = Pagination::page_number(10)
    .page_size_param("page_size")
    .max_page_size(100);
const WINDOWS: Pagination = Pagination::limit_offset(20).max_limit(50);

fn query_of(route: &str) -> QueryParams {
    QueryParams::parse(route.split_once('?').map_or("", |(_, q)| q))
}

/// Parses `query` and checks every reader of it; `count` is the number of
/// rows a paginated list has.
pub fn check_query(query: &str, count: u64) {
    let params = QueryParams::parse(query);
    let scope = Scope::new(App::default(), "/ws/", None).with_query(query);
    let mut seen = Vec::new();
    for (name, value) in params.iter() {
        let first = params.get(name).unwrap();
        if !seen.contains(&name) {
            assert_eq!(first, value, "{query:?}: the first value of {name:?}");
            seen.push(name);
        }
        assert_eq!(probe::query_param(query, name).as_deref(), Some(first));
        assert_eq!(scope.query_param(name).as_deref(), Some(first));
    }
    // The route of a page round-trips.
    let route = params.to_route("notes/");
    assert_eq!(query_of(&route), params, "{query:?} -> {route:?}");
    if params.iter().next().is_none() {
        assert_eq!(route, "notes/");
    }
    // `with` replaces the first value, removes all on None, keeps the rest.
    let set = params.with("page", Some("7"));
    assert_eq!(set.get("page"), Some("7"));
    assert_eq!(set.iter().filter(|(k, _)| *k == "page").count(), 1);
    let removed = params.with("page", None::<u64>);
    assert_eq!(removed.get("page"), None);
    let others = |q: &QueryParams| {
        q.iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&set), others(&params));
    assert_eq!(others(&removed), others(&params));

    check_pages(&params, count);
    check_windows(&params, count);
    check_filters(&params);
}

fn check_pages(params: &QueryParams, count: u64) {
    match probe::page_window(PAGES, params, count, "notes/") {
        Err(status) => {
            assert_eq!(status, 404);
            assert!(params.get("page").is_some());
        }
        Ok((offset, limit, next, previous)) => {
            let size = limit.unwrap();
            assert!((1..=100).contains(&size));
            assert_eq!(offset % size, 0);
            assert!(offset == 0 || offset < count, "{offset} of {count}");
            if let Some(next) = next {
                let (o, l, _, p) =
                    probe::page_window(PAGES, &query_of(&next), count, "notes/").unwrap();
                assert_eq!((o, l), (offset + size, limit));
                assert!(p.is_some());
            } else {
                assert!(offset.saturating_add(size) >= count);
            }
            if let Some(previous) = previous {
                let (o, l, n, _) =
                    probe::page_window(PAGES, &query_of(&previous), count, "notes/").unwrap();
                assert_eq!((o, l), (offset - size, limit));
                assert!(n.is_some());
            } else {
                assert_eq!(offset, 0);
            }
        }
    }
}

fn check_windows(params: &QueryParams, count: u64) {
    let (offset, limit, next, previous) = probe::page_window(WINDOWS, params, count, "notes/")
        .expect("limit/offset has no invalid page");
    let limit = limit.unwrap();
    assert!((1..=50).contains(&limit));
    if let Some(next) = next {
        let (o, l, _, _) = probe::page_window(WINDOWS, &query_of(&next), count, "notes/").unwrap();
        assert_eq!((o, l), (offset + limit, Some(limit)));
        assert!(o < count);
    }
    match previous {
        Some(previous) => {
            let (o, l, _, _) =
                probe::page_window(WINDOWS, &query_of(&previous), count, "notes/").unwrap();
            assert_eq!((o, l), (offset.saturating_sub(limit), Some(limit)));
        }
        None => assert_eq!(offset, 0),
    }
}

fn check_filters(params: &QueryParams) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let result = probe::list_sql(
            params,
            &[AUTHOR, SCORE, DONE, TITLE],
            &[TITLE],
            &[ID, TITLE, SCORE],
            ID,
            backend,
        );
        let (sql, values) = match result {
            Ok(ok) => ok,
            Err(e) => {
                assert_eq!(e.status(), 400);
                let bad = ["author", "score", "done"]
                    .iter()
                    .any(|f| params.get(f).is_some_and(|v| !v.is_empty()));
                assert!(bad, "a 400 without a bad filter value: {params:?}");
                continue;
            }
        };
        // Every value is bound: the only literal is LIKE's escape character.
        let bare = sql.replace(r"ESCAPE '\'", "").replace(r"ESCAPE E'\\'", "");
        assert!(!bare.contains('\''), "{sql}");
        let placeholders = match backend {
            Backend::Sqlite => sql.matches('?').count(),
            Backend::Postgres => (1..=values.len())
                .filter(|i| sql.contains(&format!("${i}")))
                .count(),
        };
        assert_eq!(placeholders, values.len(), "{sql}");
        assert!(
            sql.ends_with(r#""id" ASC"#)
                || sql.contains(r#""id" ASC"#)
                || sql.contains(r#""id" DESC"#),
            "{sql}"
        );
    }
}

// -------------------------------------------------------------------- origin

/// Checks the Origin check over any `Origin` and `Host` header bytes.
pub fn check_origin(origin: &[u8], host: &[u8]) {
    use rest_channels::origin::{Origin, is_allowed};

    // No Origin header: a client that is not a browser.
    assert!(is_allowed(None, Some(host), &[]));
    assert!(is_allowed(None, None, &[]));

    let text = std::str::from_utf8(origin).ok();
    let parsed = text.and_then(|t| Origin::parse(t).ok());
    // Total over any bytes; a value that does not parse is refused, whatever is allowed.
    let anything = [
        Origin::parse("http://127.0.0.1:8000").unwrap(),
        Origin::parse("https://app.example").unwrap(),
    ];
    let Some(o) = parsed else {
        assert!(
            !is_allowed(Some(origin), Some(host), &anything),
            "{origin:?}"
        );
        assert!(!is_allowed(Some(origin), None, &[]), "{origin:?}");
        return;
    };
    let text = text.unwrap();
    assert!(text.is_ascii(), "{text:?}");
    assert!(["http", "https", "ws", "wss"].contains(&o.scheme()));
    assert_ne!(o.port(), 0);
    // Its serialization is canonical: lower case, the default port left out,
    // and it parses back to the same origin.
    let shown = o.to_string();
    assert_eq!(shown, shown.to_ascii_lowercase());
    assert_eq!(
        Origin::parse(&shown).as_ref(),
        Ok(&o),
        "{text:?} -> {shown:?}"
    );
    let default = if matches!(o.scheme(), "http" | "ws") {
        80
    } else {
        443
    };
    assert_eq!(
        o.port() == default,
        !shown.ends_with(&format!(":{}", o.port())),
        "{shown}"
    );
    // ASCII case does not matter.
    assert_eq!(
        Origin::parse(&text.to_ascii_uppercase()).ok().as_ref(),
        Some(&o),
        "{text:?}"
    );
    // Allowed when listed, whatever the Host.
    assert!(is_allowed(
        Some(origin),
        Some(host),
        std::slice::from_ref(&o)
    ));
    assert!(is_allowed(
        Some(origin),
        None,
        &[anything[1].clone(), o.clone()]
    ));
    // Without a list: allowed exactly when it is the server's own origin
    // (http, the Host's name and port).
    let own = std::str::from_utf8(host)
        .ok()
        .and_then(|h| Origin::parse(&format!("http://{h}")).ok());
    let expected = o.scheme() == "http" && own.as_ref() == Some(&o);
    assert_eq!(
        is_allowed(Some(origin), Some(host), &[]),
        expected,
        "{text:?} on {host:?}"
    );
    assert!(!is_allowed(Some(origin), None, &[]));
}
