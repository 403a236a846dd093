//! Route matching: Django's `path()` and `re_path()`, used as prefixes.
//! Private: what users write is documented on `#[action_handler]`'s
//! `routes` option; the macros reach these types through `__private`.
//!
//! Routes are written in `#[consumer(routes = [...])]` (or
//! `#[action_handler(routes = [...])]` for nested routing). The macro checks
//! each pattern when the crate compiles, so a bad regex or an unknown
//! converter is a compile error at the pattern, and translates `path()`
//! patterns into the plain form the runtime matches:
//!
//! | pattern | matched as |
//! |---|---|
//! | `path("notes/")` | the literal prefix `notes/` |
//! | `path("notes/<int:pk>/")` | the regex `^notes/(?P<pk>[0-9]+)/` |
//! | `re_path(r"items/(?P<pk>[-\w]+)/$")` | the regex `^(?:items/(?P<pk>[-\w]+)/$)` |
//!
//! Converters: `str` (`[^/]+`), `int` (`[0-9]+`), `slug` (`[-a-zA-Z0-9_]+`),
//! `uuid` (lower-case hex, 8-4-4-4-12), `path` (`.+`). An `int` kwarg is a
//! number, the others and `re_path` groups are strings: an action parameter
//! named like a kwarg takes its value ([`KwargKind`]). As with Django routes
//! that lead somewhere else, a route matches a *prefix* of the route's path:
//! `path("notes/")` also takes `notes/anything/more`, and what is left over
//! goes to the handler's own routes when it has some. `re_path` patterns are
//! always anchored at the start (Django would search the whole path). The
//! query string is never part of the match. The matchers are built once, on
//! first use, in a `static`.

use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, Deserializer, Visitor};
use smallvec::SmallVec;

/// One route as the macro emits it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum RouteSpec {
    /// A literal prefix (a `path()` without converters).
    Prefix(&'static str),
    /// An anchored regex with named groups, and each group's kwarg: its
    /// name and how its value is read.
    Regex(&'static str, &'static [(&'static str, KwargKind)]),
}

/// How a URL keyword argument's value is read, by its converter.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KwargKind {
    /// `str`, `slug`, `uuid`, `path`, and `re_path` groups: a string.
    Str,
    /// `int`: a number (digits only; leading zeros are fine).
    Int,
}

#[derive(Debug)]
enum Matcher {
    Prefix(&'static str),
    Regex {
        regex: Regex,
        /// What every match starts with (often empty): routes whose
        /// literal part the path lacks are passed over without running
        /// their regex (about 60-120 ns each, most of 100 routes' cost).
        prefix: Box<str>,
        /// Each kwarg's group index, name and kind.
        kwargs: Box<[(usize, &'static str, KwargKind)]>,
    },
}

/// The compiled routes of one handler, in order.
#[doc(hidden)]
#[derive(Debug)]
pub struct Routes {
    matchers: Box<[Matcher]>,
}

/// A URL keyword argument that a route matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kwarg {
    pub(crate) name: &'static str,
    pub(crate) kind: KwargKind,
    /// Where its value lies in the route's path: `start..end`.
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// The result of a match: which route, where the match ended, and the kwargs.
#[derive(Debug)]
pub(crate) struct RouteMatch {
    pub(crate) index: usize,
    pub(crate) end: usize,
    pub(crate) kwargs: SmallVec<[Kwarg; 2]>,
}

impl Routes {
    /// Compiles the routes; the patterns were validated by the macro.
    ///
    /// # Panics
    /// When a regex does not compile or lacks a kwarg's group, which the
    /// macro rules out.
    pub fn new(specs: &[RouteSpec]) -> Self {
        let matchers = specs
            .iter()
            .map(|spec| match *spec {
                RouteSpec::Prefix(p) => Matcher::Prefix(p),
                RouteSpec::Regex(r, kwargs) => {
                    let regex = Regex::new(r).unwrap_or_else(|e| panic!("route regex {r:?}: {e}"));
                    let kwargs = kwargs
                        .iter()
                        .map(|&(name, kind)| {
                            let index = regex
                                .capture_names()
                                .position(|n| n == Some(name))
                                .unwrap_or_else(|| panic!("route regex {r:?}: no group `{name}`"));
                            (index, name, kind)
                        })
                        .collect();
                    Matcher::Regex {
                        regex,
                        prefix: literal_prefix(r).into(),
                        kwargs,
                    }
                }
            })
            .collect();
        Routes { matchers }
    }

    /// The first route that matches a prefix of `path`, with offsets relative to `base`.
    pub(crate) fn resolve(&'static self, path: &str, base: usize) -> Option<RouteMatch> {
        for (index, m) in self.matchers.iter().enumerate() {
            match m {
                Matcher::Prefix(p) => {
                    if path.starts_with(p) {
                        return Some(RouteMatch {
                            index,
                            end: base + p.len(),
                            kwargs: SmallVec::new(),
                        });
                    }
                }
                Matcher::Regex {
                    regex,
                    prefix,
                    kwargs,
                } => {
                    if !path.starts_with(&**prefix) {
                        continue;
                    }
                    if kwargs.is_empty() {
                        if let Some(m) = regex.find(path) {
                            return Some(RouteMatch {
                                index,
                                end: base + m.end(),
                                kwargs: SmallVec::new(),
                            });
                        }
                    } else if let Some(c) = regex.captures(path) {
                        let kwargs = kwargs
                            .iter()
                            .filter_map(|&(i, name, kind)| {
                                c.get(i).map(|g| Kwarg {
                                    name,
                                    kind,
                                    start: (base + g.start()) as u32,
                                    end: (base + g.end()) as u32,
                                })
                            })
                            .collect();
                        let end = base + c.get(0).map_or(0, |m| m.end());
                        return Some(RouteMatch { index, end, kwargs });
                    }
                }
            }
        }
        None
    }
}

/// The longest literal that every match of `pattern` starts with (`""`
/// when there is none, or when the pattern does not parse here: then the
/// regex alone decides, as before).
fn literal_prefix(pattern: &str) -> String {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
        return String::new();
    };
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let Some(bytes) = seq.longest_common_prefix() else {
        return String::new();
    };
    // Cut at a character boundary.
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(e) => String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
    }
}

/// A lazily built route table, as the macros declare it in a `static`.
#[doc(hidden)]
pub type RouteTable = LazyLock<Routes>;

/// Reads a kwarg's raw value as an action parameter: a serde
/// `Deserializer` over the string, not a JSON document.
///
/// A number type parses the text (`"007"` is 7; out of the type's range,
/// or not a number, is an error); a string type takes it as it is;
/// `deserialize_any` (a `serde_json::Value`, an untagged enum) sees a
/// number for an `int` kwarg, a string otherwise; an enum takes a unit
/// variant by name. Every error means "no such object": the caller makes
/// it a 404, as [`Context::kwarg`](crate::Context::kwarg) does.
pub(crate) struct KwargDeserializer<'a> {
    kind: KwargKind,
    raw: &'a str,
}

impl<'a> KwargDeserializer<'a> {
    pub(crate) fn new(kind: KwargKind, raw: &'a str) -> Self {
        KwargDeserializer { kind, raw }
    }

    fn parse<T: std::str::FromStr>(&self) -> Result<T, de::value::Error> {
        self.raw.parse().map_err(|_| {
            de::Error::invalid_value(de::Unexpected::Str(self.raw), &"a number in range")
        })
    }
}

macro_rules! parse_and_visit {
    ($($deserialize:ident => $visit:ident,)*) => {$(
        fn $deserialize<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.$visit(self.parse()?)
        }
    )*};
}

impl<'de> Deserializer<'de> for KwargDeserializer<'de> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.kind {
            KwargKind::Int => match self.raw.parse::<u64>() {
                Ok(n) => visitor.visit_u64(n),
                Err(_) => visitor.visit_u128(self.parse()?),
            },
            KwargKind::Str => visitor.visit_borrowed_str(self.raw),
        }
    }

    parse_and_visit! {
        deserialize_bool => visit_bool,
        deserialize_i8 => visit_i8,
        deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64,
        deserialize_i128 => visit_i128,
        deserialize_u8 => visit_u8,
        deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64,
        deserialize_u128 => visit_u128,
        deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64,
        deserialize_char => visit_char,
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_borrowed_str(self.raw)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_borrowed_str(self.raw)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::value::BorrowedStrDeserializer::<Self::Error>::new(self.raw)
            .deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ROUTES: LazyLock<Routes> = LazyLock::new(|| {
        Routes::new(&[
            RouteSpec::Regex(r"^notes/(?P<pk>[0-9]+)/", &[("pk", KwargKind::Int)]),
            RouteSpec::Prefix("notes/"),
            RouteSpec::Regex(r"^(?:items/(?P<pk>[-\w]+)/$)", &[("pk", KwargKind::Str)]),
            RouteSpec::Regex(r"^(?:plain/$)", &[]),
        ])
    });

    #[test]
    fn literal_prefixes_are_what_every_match_starts_with() {
        for (pattern, prefix) in [
            (r"^notes/(?P<pk>[0-9]+)/", "notes/"),
            (r"^(?:items/(?P<pk>[-\w]+)/$)", "items/"),
            (r"^v1\.0/(?P<pk>[0-9]+)/", "v1.0/"),
            (r"^(?P<year>[0-9]+)/", ""),
            (r"^(?:a|ab)/", "a"),
            (r"^(?:items/|things/)", ""),
            (r"^(?i)notes/", ""),
            (r"^(?:opt/(?P<n>[0-9]+)?x)", "opt/"),
            (r"^(?:)", ""),
            (r"^é(?P<x>[0-9])", "é"),
            (r"^[éè]", ""),
        ] {
            assert_eq!(literal_prefix(pattern), prefix, "{pattern}");
        }
    }

    fn kw(path: &str, m: &RouteMatch) -> Vec<(String, String)> {
        m.kwargs
            .iter()
            .map(|k| {
                let value = &path[k.start as usize..k.end as usize];
                (k.name.to_string(), value.to_string())
            })
            .collect()
    }

    #[test]
    fn first_match_wins_and_kwargs_are_captured() {
        let m = ROUTES.resolve("notes/12/", 0).unwrap();
        assert_eq!((m.index, m.end), (0, 9));
        assert_eq!(kw("notes/12/", &m), [("pk".into(), "12".into())]);
        assert_eq!(m.kwargs[0].kind, KwargKind::Int);
        let m = ROUTES.resolve("notes/abc/", 0).unwrap();
        assert_eq!((m.index, m.end), (1, 6));
        let m = ROUTES.resolve("items/a-b_c/", 0).unwrap();
        assert_eq!(m.index, 2);
        assert_eq!(kw("items/a-b_c/", &m), [("pk".into(), "a-b_c".into())]);
        assert_eq!(m.kwargs[0].kind, KwargKind::Str);
        assert_eq!(ROUTES.resolve("plain/", 0).unwrap().index, 3);
    }

    #[test]
    fn anchored_and_prefix_only() {
        for p in [
            "xnotes/",
            "/notes/",
            "items/abc",
            "items/abc/def/",
            "items/a.b/",
            "items//",
            "notes",
            "",
        ] {
            assert!(ROUTES.resolve(p, 0).is_none(), "{p}");
        }
        assert_eq!(ROUTES.resolve("notes/12/more/stuff", 0).unwrap().end, 9);
    }

    #[test]
    fn offsets_are_relative_to_the_base() {
        let full = "api/notes/7/";
        let m = ROUTES.resolve(&full[4..], 4).unwrap();
        assert_eq!(kw(full, &m), [("pk".into(), "7".into())]);
        assert_eq!(m.end, full.len());
    }

    fn read<T: serde::de::DeserializeOwned>(kind: KwargKind, raw: &str) -> Option<T> {
        T::deserialize(KwargDeserializer::new(kind, raw)).ok()
    }

    #[test]
    fn kwargs_read_as_numbers_by_their_type() {
        use KwargKind::{Int, Str};
        assert_eq!(read::<i64>(Int, "007"), Some(7));
        assert_eq!(read::<u8>(Int, "255"), Some(255));
        assert_eq!(read::<u8>(Int, "300"), None);
        assert_eq!(read::<i64>(Int, "99999999999999999999"), None);
        assert_eq!(
            read::<u128>(Int, "99999999999999999999"),
            Some(99999999999999999999)
        );
        assert_eq!(read::<Option<i32>>(Int, "5"), Some(Some(5)));
        // A string kwarg that is a number reads as one; one that is not, does not.
        assert_eq!(read::<i64>(Str, "-12"), Some(-12));
        assert_eq!(read::<i64>(Str, "abc-1"), None);
        assert_eq!(read::<f64>(Str, "1.5"), Some(1.5));
    }

    #[test]
    fn kwargs_read_as_strings_and_self_describing_values() {
        use KwargKind::{Int, Str};
        assert_eq!(read::<String>(Str, "abc-1"), Some("abc-1".to_owned()));
        assert_eq!(read::<String>(Int, "007"), Some("007".to_owned()));
        assert_eq!(
            read::<serde_json::Value>(Int, "007"),
            Some(serde_json::json!(7))
        );
        assert_eq!(
            read::<serde_json::Value>(Str, "007"),
            Some(serde_json::json!("007"))
        );
        assert_eq!(read::<Vec<u8>>(Str, "abc"), None);

        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Colour {
            Red,
            Blue,
        }
        assert_eq!(read::<Colour>(Str, "blue"), Some(Colour::Blue));
        assert_eq!(read::<Colour>(Str, "green"), None);
        let _ = Colour::Red;

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Pk(u32);
        assert_eq!(read::<Pk>(Int, "42"), Some(Pk(42)));
    }
}
