//! The syntax of `#[model(...)]`: comma-separated entries, each a name
//! alone (`primary_key`), with a value (`table = "notes"`), or with a
//! parenthesized list (`validate(...)`, `length(...)`), nested as deep as
//! the rules go. Every malformed entry is reported and skipped; repeated
//! names are reported by [`Entries::dedup`], not here, so that the entries
//! of several `#[model]` attributes on one item are checked together.
//!
//! What the names mean is `ast.rs`'s job; how they combine, `valid.rs`'s.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use syn::{Attribute, Expr, Lit, LitInt, LitStr, Meta, Path, UnOp};

use crate::attr::one_of;
use crate::ctxt::Errors;

/// One entry of an option list.
pub(crate) struct Entry {
    pub(crate) key: Ident,
    pub(crate) value: Value,
}

/// What follows an entry's name.
pub(crate) enum Value {
    /// `key`
    None,
    /// `key = tokens`, with the span of `=`.
    Eq(Span, TokenStream),
    /// `key(...)`
    Paren(Group),
}

/// The entries of one list, in order.
#[derive(Default)]
pub(crate) struct Entries(pub(crate) Vec<Entry>);

/// The entries of every `#[model(...)]` among `attrs`, in order. Other
/// attributes are left alone.
pub(crate) fn model_attrs(attrs: &[Attribute], errors: &mut Errors) -> Entries {
    let mut entries = Entries::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("model")) {
        match &attr.meta {
            Meta::List(list) => entries
                .0
                .extend(Entries::parse(list.tokens.clone(), errors).0),
            _ => errors.spanned(attr, "expected `#[model(...)]`"),
        }
    }
    entries
}

impl Entries {
    /// Splits `tokens` at their top-level commas.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Entries {
        let mut entries = Vec::new();
        for (entry, comma) in crate::attr::split_at_commas(tokens) {
            let mut entry = entry.into_iter();
            let key = match entry.next() {
                Some(TokenTree::Ident(key)) => key,
                Some(other) => {
                    errors.at(other.span(), "expected an option name");
                    continue;
                }
                None => {
                    errors.at(
                        comma.unwrap_or_else(Span::call_site),
                        "expected an option before `,`",
                    );
                    continue;
                }
            };
            let value = match entry.next() {
                None => Value::None,
                Some(TokenTree::Punct(eq)) if eq.as_char() == '=' => {
                    Value::Eq(eq.span(), entry.by_ref().collect())
                }
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
                    Value::Paren(group)
                }
                Some(other) => {
                    errors.at(
                        other.span(),
                        format!("expected `,`, `=` or `(...)` after `{key}`"),
                    );
                    continue;
                }
            };
            if let Some(extra) = entry.next() {
                // `key(...) junk`: what comes after `key = ...` was taken as the value.
                errors.at(extra.span(), "expected `,`");
                continue;
            }
            entries.push(Entry { key, value });
        }
        Entries(entries)
    }

    /// Drops every entry whose name came before, reporting it (`what`:
    /// "model option", "validation rule"...). Names in `repeatable` may
    /// come more than once.
    pub(crate) fn dedup(self, what: &str, repeatable: &[&str], errors: &mut Errors) -> Entries {
        let mut kept: Vec<Entry> = Vec::new();
        for entry in self.0 {
            let first = kept.iter().find(|e| e.key == entry.key);
            match first {
                Some(first) if !repeatable.iter().any(|r| entry.key == r) => {
                    let key = &entry.key;
                    let mut error =
                        syn::Error::new(key.span(), format!("duplicate {what} `{key}`"));
                    error.combine(syn::Error::new(first.key.span(), "first given here"));
                    errors.push(error);
                }
                _ => kept.push(entry),
            }
        }
        Entries(kept)
    }
}

impl Entry {
    /// `key` alone.
    pub(crate) fn flag(&self) -> syn::Result<()> {
        match &self.value {
            Value::None => Ok(()),
            Value::Eq(eq, _) => Err(syn::Error::new(
                *eq,
                format!("`{}` takes no value", self.key),
            )),
            Value::Paren(group) => Err(syn::Error::new(
                group.span(),
                format!("`{}` takes no arguments", self.key),
            )),
        }
    }

    /// The tokens after `=`, with an error naming what was expected there.
    fn eq_value(&self, expected: &str) -> syn::Result<&TokenStream> {
        let key = &self.key;
        match &self.value {
            Value::Eq(eq, tokens) if tokens.is_empty() => Err(syn::Error::new(
                *eq,
                format!("expected a value after `=`: `{key} = {expected}`"),
            )),
            Value::Eq(_, tokens) => Ok(tokens),
            Value::None => Err(syn::Error::new(
                key.span(),
                format!("expected `{key} = {expected}`"),
            )),
            Value::Paren(group) => Err(syn::Error::new(
                group.span(),
                format!("expected `{key} = {expected}`"),
            )),
        }
    }

    /// `key = "..."`.
    pub(crate) fn lit_str(&self) -> syn::Result<LitStr> {
        let tokens = self.eq_value("\"...\"")?;
        syn::parse2(tokens.clone()).map_err(|_| {
            syn::Error::new_spanned(
                tokens,
                format!("expected a string literal: `{} = \"...\"`", self.key),
            )
        })
    }

    /// `crate = "::rest_channels"`.
    pub(crate) fn krate(&self) -> syn::Result<Path> {
        let lit = self.lit_str()?;
        lit.parse_with(Path::parse_mod_style).map_err(|_| {
            syn::Error::new(
                lit.span(),
                "expected the path of the runtime crate: `crate = \"::rest_channels\"`",
            )
        })
    }

    /// `key = 12`: a non-negative integer that fits a `usize`.
    pub(crate) fn count(&self) -> syn::Result<LitInt> {
        let tokens = self.eq_value("1")?;
        let error = || {
            syn::Error::new_spanned(
                tokens,
                format!("expected a number of characters: `{} = 1`", self.key),
            )
        };
        let lit: LitInt = syn::parse2(tokens.clone()).map_err(|_| error())?;
        lit.base10_parse::<usize>().map_err(|_| error())?;
        Ok(lit)
    }

    /// `key = <number>`: an integer or a float literal, maybe negative.
    pub(crate) fn number(&self) -> syn::Result<Expr> {
        let tokens = self.eq_value("0")?;
        syn::parse2::<Expr>(tokens.clone())
            .ok()
            .filter(|e| is_literal(e, |lit| matches!(lit, Lit::Int(_) | Lit::Float(_))))
            .ok_or_else(|| {
                syn::Error::new_spanned(
                    tokens,
                    format!("expected a number literal: `{} = 0`", self.key),
                )
            })
    }

    /// `default = <literal>`: a string, integer, float or boolean literal.
    pub(crate) fn default_literal(&self) -> syn::Result<Expr> {
        let tokens = self.eq_value("...")?;
        syn::parse2::<Expr>(tokens.clone())
            .ok()
            .filter(|e| {
                is_literal(e, |lit| {
                    matches!(lit, Lit::Str(_) | Lit::Int(_) | Lit::Float(_) | Lit::Bool(_))
                })
            })
            .ok_or_else(|| {
                syn::Error::new_spanned(
                    tokens,
                    "expected a literal (`default = \"\"`, `default = 0`, `default = false`), or `default` alone for `Default::default()`",
                )
            })
    }

    /// `key(a, b = 1, ...)`: the entries inside the parentheses.
    pub(crate) fn list(&self, usage: &str, errors: &mut Errors) -> syn::Result<(Span, Entries)> {
        match &self.value {
            Value::Paren(group) => Ok((group.span(), Entries::parse(group.stream(), errors))),
            _ => Err(syn::Error::new(
                self.key.span(),
                format!("expected `{usage}`"),
            )),
        }
    }

    /// `key(path::to::item)`.
    pub(crate) fn path_arg(&self, usage: &str) -> syn::Result<Path> {
        let error = |span| syn::Error::new(span, format!("expected `{usage}`"));
        match &self.value {
            Value::Paren(group) => {
                syn::parse2::<Path>(group.stream()).map_err(|_| error(group.span()))
            }
            _ => Err(error(self.key.span())),
        }
    }
}

/// `1`, `-1.5`, `"x"`, `true`: a literal that `accept`s, maybe negated
/// when it is a number.
fn is_literal(expr: &Expr, accept: impl Fn(&Lit) -> bool) -> bool {
    match expr {
        Expr::Lit(lit) => accept(&lit.lit),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match &*unary.expr {
            Expr::Lit(lit) => matches!(lit.lit, Lit::Int(_) | Lit::Float(_)) && accept(&lit.lit),
            _ => false,
        },
        _ => false,
    }
}

/// "unknown model option `x`, expected one of: `a`, `b`".
pub(crate) fn unknown(what: &str, key: &Ident, expected: &[&str]) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!(
            "unknown {what} `{key}`, expected one of: {}",
            one_of(expected)
        ),
    )
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::derive_model::tests::messages;

    #[test]
    fn entries_and_their_shapes() {
        let mut errors = Errors::default();
        let entries = Entries::parse(
            quote!(a, b = 1, c(x, y = 2), , 3, d e, f(x) g, h = ),
            &mut errors,
        );
        let keys: Vec<String> = entries.0.iter().map(|e| e.key.to_string()).collect();
        assert_eq!(keys, ["a", "b", "c", "h"]);
        assert_eq!(
            messages(errors),
            [
                "expected an option before `,`",
                "expected an option name",
                "expected `,`, `=` or `(...)` after `d`",
                "expected `,`",
            ]
        );
    }

    #[test]
    fn duplicates_are_reported_and_dropped() {
        let mut errors = Errors::default();
        let entries = Entries::parse(quote!(a, b, a = 1, c(x), c(y), b), &mut errors).dedup(
            "model option",
            &["c"],
            &mut errors,
        );
        let keys: Vec<String> = entries.0.iter().map(|e| e.key.to_string()).collect();
        assert_eq!(keys, ["a", "b", "c", "c"]);
        assert_eq!(
            messages(errors),
            [
                "duplicate model option `a`",
                "first given here",
                "duplicate model option `b`",
                "first given here",
            ]
        );
    }

    #[test]
    fn value_shapes() {
        let mut errors = Errors::default();
        let entries = Entries::parse(
            quote!(
                flag = 1,
                s,
                s2 = x,
                n = -1,
                n2 = 1.5,
                d = -"x",
                d2 = 'c',
                l = 1,
                p(1 + 2)
            ),
            &mut errors,
        );
        let e = &entries.0;
        fn err<T>(r: syn::Result<T>) -> String {
            r.err().unwrap().to_string()
        }
        assert!(e[3].number().is_ok() && e[4].number().is_ok());
        assert!(e[3].default_literal().is_ok());
        let out = [
            err(e[0].flag()),
            err(e[1].lit_str()),
            err(e[2].lit_str()),
            err(e[3].count()),
            err(e[4].count()),
            err(e[5].default_literal()),
            err(e[6].default_literal()),
            err(e[7].list("l(...)", &mut errors)),
            err(e[8].path_arg("p(path::to::fn)")),
        ];
        assert!(errors.is_empty());
        assert_eq!(
            out,
            [
                "`flag` takes no value",
                "expected `s = \"...\"`",
                "expected a string literal: `s2 = \"...\"`",
                "expected a number of characters: `n = 1`",
                "expected a number of characters: `n2 = 1`",
                "expected a literal (`default = \"\"`, `default = 0`, `default = false`), or `default` alone for `Default::default()`",
                "expected a literal (`default = \"\"`, `default = 0`, `default = false`), or `default` alone for `Default::default()`",
                "expected `l(...)`",
                "expected `p(path::to::fn)`",
            ]
        );
    }
}
