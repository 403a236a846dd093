//! Pagination of `list`: page numbers or limit/offset, with Django REST
//! framework's semantics. Links to the next and previous pages are *routes*
//! (`"notes/?page=3"`), with the other query parameters kept.
//!
//! ```
//! use rest_channels::pagination::Pagination;
//!
//! // 10 a page; `?page_size=N` up to 100; `?page=N` or `?page=last`.
//! const PAGES: Pagination = Pagination::page_number(10).page_size_param("page_size").max_page_size(100);
//! // 20 by default; `?limit=N` up to 50; `?offset=N`.
//! const WINDOWS: Pagination = Pagination::limit_offset(20).max_limit(50);
//! ```

use serde::Serialize;

use crate::error::Error;

/// How `list` cuts its results into pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pagination {
    /// No pages: `list` replies with a plain array.
    Off,
    /// `?page=N` (1-based, or `last`), and optionally `?page_size=N`.
    PageNumber {
        /// Items per page.
        page_size: u64,
        /// The query parameter that picks a page size, if clients may.
        page_size_param: Option<&'static str>,
        /// The largest page size a client may ask for.
        max_page_size: u64,
    },
    /// `?limit=N&offset=M`.
    LimitOffset {
        /// The limit when the client gives none.
        default_limit: u64,
        /// The largest limit a client may ask for.
        max_limit: u64,
    },
}

/// Django REST framework's error for a page that does not exist.
pub const INVALID_PAGE: &str = "Invalid page.";

impl Pagination {
    /// Pages of `page_size` items (`?page=N`).
    pub const fn page_number(page_size: u64) -> Self {
        Pagination::PageNumber {
            page_size,
            page_size_param: None,
            max_page_size: page_size,
        }
    }

    /// Windows of `default_limit` items by default (`?limit=N&offset=M`).
    pub const fn limit_offset(default_limit: u64) -> Self {
        Pagination::LimitOffset {
            default_limit,
            max_limit: default_limit,
        }
    }

    /// Lets clients pick the page size with this query parameter (page numbers).
    pub const fn page_size_param(self, name: &'static str) -> Self {
        match self {
            Pagination::PageNumber {
                page_size,
                max_page_size,
                ..
            } => Pagination::PageNumber {
                page_size,
                page_size_param: Some(name),
                max_page_size: if max_page_size > page_size {
                    max_page_size
                } else {
                    page_size
                },
            },
            other => other,
        }
    }

    /// Caps the page size a client may ask for (page numbers).
    pub const fn max_page_size(self, max: u64) -> Self {
        match self {
            Pagination::PageNumber {
                page_size,
                page_size_param,
                ..
            } => Pagination::PageNumber {
                page_size,
                page_size_param,
                max_page_size: max,
            },
            other => other,
        }
    }

    /// Caps the limit a client may ask for (limit/offset).
    pub const fn max_limit(self, max: u64) -> Self {
        match self {
            Pagination::LimitOffset { default_limit, .. } => Pagination::LimitOffset {
                default_limit,
                max_limit: max,
            },
            other => other,
        }
    }

    /// Where the page lies, once the count is known; `Err` is the 404 of a
    /// page that does not exist.
    pub(crate) fn window(&self, query: &QueryParams, count: u64) -> Result<Window, Error> {
        match *self {
            Pagination::Off => Ok(Window {
                offset: 0,
                limit: None,
                next: None,
                previous: None,
            }),
            Pagination::PageNumber {
                page_size,
                page_size_param,
                max_page_size,
            } => {
                let size = page_size_param
                    .and_then(|p| query.get(p))
                    .and_then(|v| positive_int(v, max_page_size))
                    .unwrap_or(page_size)
                    .max(1);
                let pages = count.div_ceil(size).max(1);
                let page = match query.get("page") {
                    None => 1,
                    Some("last") => pages,
                    Some(v) => match v.parse::<u64>() {
                        Ok(n) if (1..=pages).contains(&n) => n,
                        _ => {
                            return Err(Error::new(
                                404,
                                serde_json::json!({"detail": INVALID_PAGE}),
                            ));
                        }
                    },
                };
                Ok(Window {
                    offset: (page - 1) * size,
                    limit: Some(size),
                    next: (page < pages).then(|| query.with("page", Some(page + 1))),
                    previous: (page > 1)
                        .then(|| query.with("page", (page > 2).then_some(page - 1))),
                })
            }
            Pagination::LimitOffset {
                default_limit,
                max_limit,
            } => {
                let limit = query
                    .get("limit")
                    .and_then(|v| positive_int(v, max_limit))
                    .unwrap_or(default_limit)
                    .max(1);
                let offset = query
                    .get("offset")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                let with_limit = query.with("limit", Some(limit));
                let next = (offset.saturating_add(limit) < count)
                    .then(|| with_limit.with("offset", Some(offset + limit)));
                let previous = (offset > 0).then(|| {
                    if offset <= limit {
                        with_limit.with("offset", None::<u64>)
                    } else {
                        with_limit.with("offset", Some(offset - limit))
                    }
                });
                Ok(Window {
                    offset,
                    limit: Some(limit),
                    next,
                    previous,
                })
            }
        }
    }
}

/// Django REST framework's `_positive_int(strict=True, cutoff=max)`.
fn positive_int(v: &str, max: u64) -> Option<u64> {
    v.parse::<u64>().ok().filter(|n| *n > 0).map(|n| n.min(max))
}

/// The rows of one page and the query of its neighbours.
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) offset: u64,
    pub(crate) limit: Option<u64>,
    pub(crate) next: Option<QueryParams>,
    pub(crate) previous: Option<QueryParams>,
}

/// The reply of a paginated `list`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// How many items all the pages hold.
    pub count: u64,
    /// The route of the next page.
    pub next: Option<String>,
    /// The route of the previous page.
    pub previous: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

/// A route's query string, decoded (`%XX`, `+` as a space), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a query string.
    ///
    /// ```
    /// use rest_channels::pagination::QueryParams;
    /// let q = QueryParams::parse("search=a+b%2Cc&page=2");
    /// assert_eq!(q.get("search"), Some("a b,c"));
    /// assert_eq!(q.to_route("notes/"), "notes/?search=a+b%2Cc&page=2");
    /// ```
    pub fn parse(query: &str) -> Self {
        QueryParams {
            pairs: form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A copy with `name` set to `value` (in place of every earlier value,
    /// where the first was), or removed when `value` is `None`.
    pub fn with(&self, name: &str, value: Option<impl ToString>) -> Self {
        let mut pairs = Vec::with_capacity(self.pairs.len() + 1);
        let mut value = value.map(|v| v.to_string());
        for (k, v) in &self.pairs {
            if k == name {
                if let Some(v) = value.take() {
                    pairs.push((k.clone(), v));
                }
            } else {
                pairs.push((k.clone(), v.clone()));
            }
        }
        if let Some(v) = value {
            pairs.push((name.to_owned(), v));
        }
        QueryParams { pairs }
    }

    /// `path` with this query (`path` alone when it is empty).
    pub fn to_route(&self, path: &str) -> String {
        if self.pairs.is_empty() {
            return path.to_owned();
        }
        // The pairs start after the `?` (`new` would put a `&` before the first).
        let target = format!("{path}?");
        let start = target.len();
        let mut out = form_urlencoded::Serializer::for_suffix(target, start);
        for (k, v) in &self.pairs {
            out.append_pair(k, v);
        }
        out.finish()
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl From<&str> for QueryParams {
    fn from(query: &str) -> Self {
        QueryParams::parse(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Pagination = Pagination::page_number(10)
        .page_size_param("page_size")
        .max_page_size(100);

    /// Offset, limit, next, previous.
    type Links = (u64, Option<u64>, Option<String>, Option<String>);

    fn links(p: Pagination, query: &str, count: u64) -> Result<Links, u16> {
        let q = QueryParams::parse(query);
        p.window(&q, count)
            .map(|w| {
                (
                    w.offset,
                    w.limit,
                    w.next.map(|n| n.to_route("notes/")),
                    w.previous.map(|n| n.to_route("notes/")),
                )
            })
            .map_err(|e| e.status())
    }

    #[test]
    fn page_numbers() {
        assert_eq!(links(P, "", 0), Ok((0, Some(10), None, None)));
        assert_eq!(
            links(P, "", 25),
            Ok((0, Some(10), Some("notes/?page=2".into()), None))
        );
        assert_eq!(
            links(P, "page=2&foo=bar", 25),
            Ok((
                10,
                Some(10),
                Some("notes/?page=3&foo=bar".into()),
                Some("notes/?foo=bar".into())
            ))
        );
        assert_eq!(
            links(P, "page=last", 25),
            Ok((20, Some(10), None, Some("notes/?page=2".into())))
        );
        for bad in ["0", "-1", "abc", "1.5", "4", ""] {
            assert_eq!(links(P, &format!("page={bad}"), 25), Err(404), "{bad}");
        }
        assert_eq!(links(P, "page_size=500", 250).unwrap().1, Some(100));
        assert_eq!(links(P, "page_size=0", 250).unwrap().1, Some(10));
        assert_eq!(links(P, "page_size=x", 250).unwrap().1, Some(10));
        assert_eq!(
            links(P, "page_size=5&page=2", 12).unwrap().2.as_deref(),
            Some("notes/?page_size=5&page=3")
        );
    }

    #[test]
    fn limit_offset_as_drf() {
        let p = Pagination::limit_offset(10).max_limit(50);
        assert_eq!(
            links(p, "", 25),
            Ok((0, Some(10), Some("notes/?limit=10&offset=10".into()), None))
        );
        assert_eq!(
            links(p, "offset=10&limit=10", 25),
            Ok((
                10,
                Some(10),
                Some("notes/?offset=20&limit=10".into()),
                Some("notes/?limit=10".into())
            ))
        );
        assert_eq!(
            links(p, "offset=20&limit=10", 25).unwrap().3.as_deref(),
            Some("notes/?offset=10&limit=10")
        );
        assert_eq!(links(p, "limit=1000", 25).unwrap().1, Some(50));
        assert_eq!(links(p, "offset=x", 25).unwrap().0, 0);
    }

    #[test]
    fn queries_round_trip() {
        let q = QueryParams::parse("search=a%2Cb+c&x=%25");
        assert_eq!(q.get("search"), Some("a,b c"));
        assert_eq!(q.get("x"), Some("%"));
        assert_eq!(
            q.with("page", Some(2)).to_route("n/"),
            "n/?search=a%2Cb+c&x=%25&page=2"
        );
        assert_eq!(QueryParams::default().to_route("n/"), "n/");
    }
}
