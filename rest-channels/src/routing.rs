//! Route matching: Django's `path()` and `re_path()`, used as prefixes.
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
//! `uuid` (lower-case hex, 8-4-4-4-12), `path` (`.+`). As with Django routes
//! that lead somewhere else, a route matches a *prefix* of the route's path:
//! `path("notes/")` also takes `notes/anything/more`, and what is left over
//! goes to the handler's own routes when it has some. `re_path` patterns are
//! always anchored at the start (Django would search the whole path). The
//! query string is never part of the match. The matchers are built once, on
//! first use, in a `static`.

use std::sync::LazyLock;

use regex::Regex;
use smallvec::SmallVec;

/// One route as the macro emits it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum RouteSpec {
    /// A literal prefix (a `path()` without converters).
    Prefix(&'static str),
    /// An anchored regex with named groups.
    Regex(&'static str),
}

#[derive(Debug)]
enum Matcher {
    Prefix(&'static str),
    Regex {
        regex: Regex,
        names: Box<[(usize, Box<str>)]>,
    },
}

/// The compiled routes of one handler, in order.
#[doc(hidden)]
#[derive(Debug)]
pub struct Routes {
    matchers: Box<[Matcher]>,
}

/// A URL keyword argument: its name and where its value lies in the route's path.
pub(crate) type Kwarg = (&'static str, u32, u32);

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
    /// When a regex does not compile, which the macro rules out.
    pub fn new(specs: &[RouteSpec]) -> Self {
        let matchers = specs
            .iter()
            .map(|spec| match *spec {
                RouteSpec::Prefix(p) => Matcher::Prefix(p),
                RouteSpec::Regex(r) => {
                    let regex = Regex::new(r).unwrap_or_else(|e| panic!("route regex {r:?}: {e}"));
                    let names = regex
                        .capture_names()
                        .enumerate()
                        .filter_map(|(i, n)| n.map(|n| (i, n.into())))
                        .collect();
                    Matcher::Regex { regex, names }
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
                Matcher::Regex { regex, names } => {
                    if names.is_empty() {
                        if let Some(m) = regex.find(path) {
                            return Some(RouteMatch {
                                index,
                                end: base + m.end(),
                                kwargs: SmallVec::new(),
                            });
                        }
                    } else if let Some(c) = regex.captures(path) {
                        let kwargs = names
                            .iter()
                            .filter_map(|(i, name)| {
                                c.get(*i).map(|g| {
                                    (&**name, (base + g.start()) as u32, (base + g.end()) as u32)
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

/// A lazily built route table, as the macros declare it in a `static`.
#[doc(hidden)]
pub type RouteTable = LazyLock<Routes>;

#[cfg(test)]
mod tests {
    use super::*;

    static ROUTES: LazyLock<Routes> = LazyLock::new(|| {
        Routes::new(&[
            RouteSpec::Regex(r"^notes/(?P<pk>[0-9]+)/"),
            RouteSpec::Prefix("notes/"),
            RouteSpec::Regex(r"^(?:items/(?P<pk>[-\w]+)/$)"),
            RouteSpec::Regex(r"^(?:plain/$)"),
        ])
    });

    fn kw(path: &str, m: &RouteMatch) -> Vec<(String, String)> {
        m.kwargs
            .iter()
            .map(|(n, s, e)| (n.to_string(), path[*s as usize..*e as usize].to_string()))
            .collect()
    }

    #[test]
    fn first_match_wins_and_kwargs_are_captured() {
        let m = ROUTES.resolve("notes/12/", 0).unwrap();
        assert_eq!((m.index, m.end), (0, 9));
        assert_eq!(kw("notes/12/", &m), [("pk".into(), "12".into())]);
        let m = ROUTES.resolve("notes/abc/", 0).unwrap();
        assert_eq!((m.index, m.end), (1, 6));
        let m = ROUTES.resolve("items/a-b_c/", 0).unwrap();
        assert_eq!(m.index, 2);
        assert_eq!(kw("items/a-b_c/", &m), [("pk".into(), "a-b_c".into())]);
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
}
