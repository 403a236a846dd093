//! Routes: `path("notes/<int:pk>/", NoteDetail)` and
//! `re_path(r"items/(?P<pk>[-\w]+)/$", Items)`, checked and translated when
//! the crate compiles into what the runtime matches (`RouteSpec::Prefix` or
//! `RouteSpec::Regex`, with the kind of each keyword argument).
//!
//! - `path()` follows Django's path converters; literal parts are escaped.
//!   A pattern without converters is a plain prefix, anything else a regex
//!   anchored at the start, matching a prefix (no `$`). An `<int:...>`
//!   kwarg is read as a number, the others as strings.
//! - `re_path()` is validated with `regex_syntax` and anchored at the start:
//!   `^(?:pattern)`. Its named groups are string kwargs.

use regex_syntax::hir::{Hir, HirKind};
use syn::{Expr, Lit, LitStr};

use crate::ctxt::Errors;

/// One route of a handler.
pub(crate) struct Route {
    /// The pattern as written, for spans.
    pub(crate) lit: LitStr,
    pub(crate) pattern: Pattern,
    /// The handler the route leads to, evaluated per message.
    pub(crate) target: Expr,
}

/// What the runtime matches.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// A literal prefix.
    Prefix(String),
    /// A regex anchored at the start, with a named group per kwarg, and the
    /// kwargs in the order of the groups.
    Regex(String, Vec<(String, KwargKind)>),
}

/// How the runtime reads a kwarg's value (the runtime's `KwargKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KwargKind {
    /// `str`, `slug`, `uuid` and `path` converters, and `re_path` groups.
    Str,
    /// The `int` converter.
    Int,
}

impl KwargKind {
    /// The name of the runtime's `KwargKind` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            KwargKind::Str => "Str",
            KwargKind::Int => "Int",
        }
    }
}

/// Django's path converters: the regexes they stand for, and how their
/// values are read.
const CONVERTERS: &[(&str, &str, KwargKind)] = &[
    ("str", "[^/]+", KwargKind::Str),
    ("int", "[0-9]+", KwargKind::Int),
    ("slug", "[-a-zA-Z0-9_]+", KwargKind::Str),
    (
        "uuid",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        KwargKind::Str,
    ),
    ("path", ".+", KwargKind::Str),
];

const USAGE: &str = "expected `path(\"...\", Handler)` or `re_path(r\"...\", Handler)`";

/// Reads one item of `routes = [...]`; reports what is wrong with it.
pub(crate) fn from_expr(expr: Expr, errors: &mut Errors) -> Option<Route> {
    let Expr::Call(call) = &expr else {
        errors.spanned(&expr, USAGE);
        return None;
    };
    let func = match &*call.func {
        Expr::Path(func) if func.qself.is_none() => {
            func.path.segments.last().map(|s| s.ident.to_string())
        }
        _ => None,
    };
    let is_regex = match func.as_deref() {
        Some("path") => false,
        Some("re_path") => true,
        _ => {
            errors.spanned(&call.func, USAGE);
            return None;
        }
    };
    let mut args = call.args.iter();
    let (Some(pattern), Some(target), None) = (args.next(), args.next(), args.next()) else {
        errors.spanned(&expr, USAGE);
        return None;
    };
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(lit), ..
    }) = pattern
    else {
        errors.spanned(pattern, "expected the route pattern as a string literal");
        return None;
    };
    let pattern = if is_regex {
        translate_re_path(&lit.value()).map_err(|e| vec![e])
    } else {
        translate_path(&lit.value())
    };
    match pattern {
        Ok(pattern) => Some(Route {
            lit: lit.clone(),
            pattern,
            target: target.clone(),
        }),
        Err(messages) => {
            for message in messages {
                errors.at(lit.span(), message);
            }
            None
        }
    }
}

/// Translates a Django `path()` pattern; the errors are every problem found.
pub(crate) fn translate_path(route: &str) -> Result<Pattern, Vec<String>> {
    let mut errors = Vec::new();
    if route.starts_with('/') {
        errors.push(format!(
            "route `{route}` starts with `/`: routes are matched against the message's `route` without a leading slash, remove it"
        ));
    }
    let mut regex = String::from("^");
    let mut names: Vec<&str> = Vec::new();
    let mut kwargs: Vec<(String, KwargKind)> = Vec::new();
    let mut rest = route;
    while let Some(open) = rest.find('<') {
        let (literal, after) = (&rest[..open], &rest[open + 1..]);
        literal_part(literal, &mut regex, &mut errors);
        let Some(close) = after.find('>') else {
            errors.push(format!(
                "unbalanced `<` in route `{route}`: expected `<converter:name>` or `<name>`"
            ));
            rest = "";
            break;
        };
        let inner = &after[..close];
        rest = &after[close + 1..];
        if inner.contains('<') {
            errors.push(format!(
                "unbalanced `<` in route `{route}`: expected `<converter:name>` or `<name>`"
            ));
            continue;
        }
        let (converter, name) = inner.split_once(':').unwrap_or(("str", inner));
        let found = CONVERTERS
            .iter()
            .find(|(c, _, _)| *c == converter)
            .map(|(_, class, kind)| (*class, *kind));
        if found.is_none() {
            let expected = CONVERTERS.iter().map(|(c, _, _)| *c).collect::<Vec<_>>();
            errors.push(format!(
                "unknown path converter `{converter}`, expected one of: {}",
                crate::attr::one_of(&expected)
            ));
        }
        if !is_identifier(name) {
            errors.push(format!(
                "invalid keyword argument name `{name}` in `<{inner}>`: expected an identifier"
            ));
        } else if names.contains(&name) {
            errors.push(format!(
                "duplicate keyword argument `{name}` in route `{route}`"
            ));
        } else {
            names.push(name);
        }
        if let Some((class, kind)) = found {
            regex.push_str(&format!("(?P<{name}>{class})"));
            kwargs.push((name.to_owned(), kind));
        }
    }
    literal_part(rest, &mut regex, &mut errors);
    if !errors.is_empty() {
        Err(errors)
    } else if names.is_empty() {
        // No converter: a literal prefix.
        Ok(Pattern::Prefix(route.to_owned()))
    } else {
        Ok(Pattern::Regex(regex, kwargs))
    }
}

/// Appends a literal part of a `path()` pattern, escaped.
fn literal_part(literal: &str, regex: &mut String, errors: &mut Vec<String>) {
    if literal.contains('>') {
        errors.push(format!("unbalanced `>` in route part `{literal}`"));
    }
    regex_syntax::escape_into(literal, regex);
}

/// A keyword argument's name, wherever one is named (a `path()`
/// converter, a consumer's `group`): a letter or `_`, then letters, digits
/// and `_` (Unicode letters too, as Python's `str.isidentifier()`, which
/// Django checks). Regex group names, Rust parameter names and axum's path
/// parameters all accept it.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Validates a `re_path()` regex and anchors it at the start: `^(?:pattern)`
/// (a leading `^` is dropped first). Its named groups are string kwargs.
pub(crate) fn translate_re_path(pattern: &str) -> Result<Pattern, String> {
    check_regex(pattern)?;
    let regex = format!("^(?:{})", pattern.strip_prefix('^').unwrap_or(pattern));
    // The pattern alone was valid; wrapped, it can still break, e.g. when a
    // `(?x)` comment swallows the closing parenthesis.
    let hir = check_regex(&regex)?;
    let mut kwargs = Vec::new();
    group_names(&hir, &mut kwargs);
    Ok(Pattern::Regex(regex, kwargs))
}

fn check_regex(pattern: &str) -> Result<Hir, String> {
    regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| describe(&e))
}

/// The named groups of a regex, in order, as string kwargs.
fn group_names(hir: &Hir, kwargs: &mut Vec<(String, KwargKind)>) {
    match hir.kind() {
        HirKind::Capture(capture) => {
            if let Some(name) = &capture.name {
                kwargs.push((name.to_string(), KwargKind::Str));
            }
            group_names(&capture.sub, kwargs);
        }
        HirKind::Repetition(repetition) => group_names(&repetition.sub, kwargs),
        HirKind::Concat(hirs) | HirKind::Alternation(hirs) => {
            for hir in hirs {
                group_names(hir, kwargs);
            }
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

/// "invalid regex: <what regex_syntax says>", with the pattern and a marker
/// under the offending part (the literal's span covers the whole string).
fn describe(error: &regex_syntax::Error) -> String {
    let (kind, pattern, span) = match error {
        regex_syntax::Error::Parse(e) => (e.kind().to_string(), e.pattern(), *e.span()),
        regex_syntax::Error::Translate(e) => (e.kind().to_string(), e.pattern(), *e.span()),
        _ => return format!("invalid regex: {error}"),
    };
    if pattern.contains('\n') || span.start.line != span.end.line {
        return format!("invalid regex: {kind}");
    }
    let start = span.start.column.saturating_sub(1);
    let width = span.end.column.saturating_sub(span.start.column).max(1);
    format!(
        "invalid regex: {kind}\n    {pattern}\n    {}{}",
        " ".repeat(start),
        "^".repeat(width)
    )
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    use KwargKind::{Int, Str};

    fn regex(s: &str, kwargs: &[(&str, KwargKind)]) -> Pattern {
        let kwargs = kwargs.iter().map(|(n, k)| (n.to_string(), *k)).collect();
        Pattern::Regex(s.to_owned(), kwargs)
    }

    #[test]
    fn converters() {
        assert_eq!(
            translate_path("notes/<int:pk>/"),
            Ok(regex("^notes/(?P<pk>[0-9]+)/", &[("pk", Int)]))
        );
        assert_eq!(
            translate_path("<name>/"),
            Ok(regex("^(?P<name>[^/]+)/", &[("name", Str)]))
        );
        assert_eq!(
            translate_path("<str:name>"),
            Ok(regex("^(?P<name>[^/]+)", &[("name", Str)]))
        );
        assert_eq!(
            translate_path("a/<slug:s>/b/<path:rest>"),
            Ok(regex(
                "^a/(?P<s>[-a-zA-Z0-9_]+)/b/(?P<rest>.+)",
                &[("s", Str), ("rest", Str)]
            ))
        );
        assert_eq!(
            translate_path("obj/<uuid:id>/"),
            Ok(regex(
                "^obj/(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/",
                &[("id", Str)]
            ))
        );
        assert_eq!(
            translate_path("<int:a><int:_b2>"),
            Ok(regex(
                "^(?P<a>[0-9]+)(?P<_b2>[0-9]+)",
                &[("a", Int), ("_b2", Int)]
            ))
        );
        // Unicode names, as Django's `str.isidentifier()`.
        assert_eq!(
            translate_path("<int:clé>/"),
            Ok(regex("^(?P<clé>[0-9]+)/", &[("clé", Int)]))
        );
    }

    #[test]
    fn no_converter_is_a_prefix() {
        assert_eq!(
            translate_path("notes/"),
            Ok(Pattern::Prefix("notes/".into()))
        );
        assert_eq!(translate_path(""), Ok(Pattern::Prefix(String::new())));
        // Not escaped: a prefix is compared as it is.
        assert_eq!(
            translate_path("a.b+c/"),
            Ok(Pattern::Prefix("a.b+c/".into()))
        );
    }

    #[test]
    fn literal_parts_are_escaped() {
        assert_eq!(
            translate_path("v1.0/<int:pk>/(x)+?"),
            Ok(regex(r"^v1\.0/(?P<pk>[0-9]+)/\(x\)\+\?", &[("pk", Int)]))
        );
        let Ok(Pattern::Regex(r, _)) = translate_path("a.b$c^[d]{e}|f*/<slug:s>\\") else {
            panic!()
        };
        assert_eq!(r, r"^a\.b\$c\^\[d\]\{e\}\|f\*/(?P<s>[-a-zA-Z0-9_]+)\\");
        assert!(regex_syntax::Parser::new().parse(&r).is_ok());
    }

    #[test]
    fn translated_regexes_compile() {
        for route in [
            "<int:pk>/",
            "x/<uuid:u>/<path:p>",
            "ü/<slug:s>/.*",
            "<int:clé>",
        ] {
            let Ok(Pattern::Regex(r, _)) = translate_path(route) else {
                panic!("{route}")
            };
            regex_syntax::Parser::new().parse(&r).unwrap();
        }
    }

    #[test]
    fn path_errors() {
        assert_eq!(
            translate_path("notes/<foo:pk>/"),
            Err(vec!["unknown path converter `foo`, expected one of: `str`, `int`, `slug`, `uuid`, `path`".to_owned()])
        );
        assert_eq!(
            translate_path("<int:1pk>/<int:>/<a b>"),
            Err(vec![
                "invalid keyword argument name `1pk` in `<int:1pk>`: expected an identifier"
                    .to_owned(),
                "invalid keyword argument name `` in `<int:>`: expected an identifier".to_owned(),
                "invalid keyword argument name `a b` in `<a b>`: expected an identifier".to_owned(),
            ])
        );
        assert_eq!(
            translate_path("<int:pk>/<pk>/"),
            Err(vec![
                "duplicate keyword argument `pk` in route `<int:pk>/<pk>/`".to_owned()
            ])
        );
        assert_eq!(
            translate_path("notes/<int:pk"),
            Err(vec![
                "unbalanced `<` in route `notes/<int:pk`: expected `<converter:name>` or `<name>`"
                    .to_owned()
            ])
        );
        assert_eq!(
            translate_path("notes/pk>/"),
            Err(vec!["unbalanced `>` in route part `notes/pk>/`".to_owned()])
        );
        assert_eq!(translate_path("<a<int:b>").unwrap_err().len(), 1);
        let errors = translate_path("/notes/").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("route `/notes/` starts with `/`"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn re_path_is_anchored() {
        assert_eq!(
            translate_re_path(r"items/(?P<pk>[-\w]+)/$").unwrap(),
            regex(r"^(?:items/(?P<pk>[-\w]+)/$)", &[("pk", Str)])
        );
        assert_eq!(
            translate_re_path(r"^plain/$").unwrap(),
            regex(r"^(?:plain/$)", &[])
        );
        assert_eq!(translate_re_path("a|b").unwrap(), regex("^(?:a|b)", &[]));
        assert_eq!(translate_re_path("").unwrap(), regex("^(?:)", &[]));
    }

    #[test]
    fn re_path_groups_are_string_kwargs() {
        let Pattern::Regex(_, kwargs) =
            translate_re_path(r"(?P<a>x)|(y(?P<b>(?:z(?P<c>\d)+)*))(?<d>.)").unwrap()
        else {
            panic!()
        };
        let names: Vec<_> = kwargs.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        assert_eq!(names, [("a", Str), ("b", Str), ("c", Str), ("d", Str)]);
    }

    #[test]
    fn re_path_errors() {
        let e = translate_re_path(r"items/(?P<pk>[-\w]+/$").unwrap_err();
        assert_eq!(
            e,
            "invalid regex: unclosed group\n    items/(?P<pk>[-\\w]+/$\n          ^"
        );
        let e = translate_re_path(r"(?P<a>x)(?P<a>y)").unwrap_err();
        assert!(
            e.starts_with("invalid regex: duplicate capture group name"),
            "{e}"
        );
        let e = translate_re_path("a)|(b").unwrap_err();
        assert!(e.starts_with("invalid regex: unopened group"), "{e}");
        // Valid alone, broken once wrapped.
        let e = translate_re_path("(?x)a # comment").unwrap_err();
        assert!(e.starts_with("invalid regex: unclosed group"), "{e}");
    }

    fn route(expr: Expr) -> Result<Route, Vec<String>> {
        let mut errors = Errors::default();
        let route = from_expr(expr, &mut errors);
        if errors.is_empty() {
            Ok(route.unwrap())
        } else {
            Err(errors.into_messages())
        }
    }

    #[test]
    fn route_items() {
        let r = route(parse_quote!(path("sub/<int:pk>/", Sub)))
            .ok()
            .unwrap();
        assert_eq!(r.pattern, regex("^sub/(?P<pk>[0-9]+)/", &[("pk", Int)]));
        assert_eq!(r.lit.value(), "sub/<int:pk>/");
        let r = route(parse_quote!(re_path(r"^x/$", handlers::X { n: 1 })))
            .ok()
            .unwrap();
        assert_eq!(r.pattern, regex("^(?:x/$)", &[]));
        assert!(matches!(r.target, Expr::Struct(_)));

        let usage = "expected `path(\"...\", Handler)` or `re_path(r\"...\", Handler)`";
        for expr in [
            parse_quote!(include("x/", X)),
            parse_quote!(X),
            parse_quote!(path("x/")),
            parse_quote!(path("x/", X, Y)),
        ] {
            assert_eq!(route(expr).err().unwrap(), [usage]);
        }
        assert_eq!(
            route(parse_quote!(path(X, "x/"))).err().unwrap(),
            ["expected the route pattern as a string literal"]
        );
        assert_eq!(
            route(parse_quote!(path("<a>/<a>/<b:c>", X)))
                .err()
                .unwrap()
                .len(),
            2
        );
    }
}
