//! Every semantic check of a `#[derive(Model)]` struct, in one place,
//! reading the model. Each problem is reported at the token that causes it;
//! all are reported.

use proc_macro2::Ident;
use syn::{Expr, Lit, LitInt, UnOp};

use super::ast::{Field, Model, Rule};
use crate::ctxt::Errors;

pub(crate) fn check(model: &Model, errors: &mut Errors) {
    check_struct(model, errors);
    for field in &model.fields {
        check_field(field, errors);
    }
}

fn check_struct(model: &Model, errors: &mut Errors) {
    let generics = &model.generics;
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "`#[derive(Model)]` on a generic struct is not supported: a model is one table",
        );
    } else if let Some(where_clause) = &generics.where_clause {
        errors.spanned(
            where_clause,
            "`#[derive(Model)]` on a struct with a `where` clause is not supported",
        );
    }
    match &model.table {
        None => errors.at(
            model.ident.span(),
            "a model needs its table's name: `#[model(table = \"...\")]`",
        ),
        Some(table) if table.value().trim().is_empty() => {
            errors.at(table.span(), "the table's name is empty")
        }
        Some(_) => {}
    }
    let mut keys = model.primary_keys();
    match keys.next() {
        None => errors.at(
            model.ident.span(),
            "a model needs a primary key: mark one field `#[model(primary_key)]`",
        ),
        Some(first) => {
            for again in keys {
                let message = "a second primary key: a model has exactly one";
                duplicate(
                    again.primary_key.as_ref(),
                    first.primary_key.as_ref(),
                    message,
                    errors,
                );
            }
        }
    }
    let mut owners = model.owners();
    if let Some(first) = owners.next() {
        for again in owners {
            let message = "a second `owner` field: a model has at most one";
            duplicate(again.owner.as_ref(), first.owner.as_ref(), message, errors);
        }
    }
}

fn duplicate(again: Option<&Ident>, first: Option<&Ident>, message: &str, errors: &mut Errors) {
    if let (Some(again), Some(first)) = (again, first) {
        let mut error = syn::Error::new(again.span(), message);
        error.combine(syn::Error::new(first.span(), "first given here"));
        errors.push(error);
    }
}

fn check_field(field: &Field, errors: &mut Errors) {
    let known = field.known_type();
    if field.is_read_only() {
        let no_effect = |key: &Ident, errors: &mut Errors| {
            errors.at(
                key.span(),
                format!("a read-only field is never read from a client: `{key}` has no effect"),
            );
        };
        if let Some(default) = &field.default {
            no_effect(default.key(), errors);
        }
        if let Some((key, _)) = &field.validate {
            no_effect(key, errors);
        }
    }
    if let (Some(owner), Some(ty)) = (&field.owner, &known)
        && ty != "i64"
        && ty != "String"
    {
        errors.at(
            owner.span(),
            format!("an `owner` field holds a user id: `i64` or `String` (or an `Option` of one), not `{ty}`"),
        );
    }
    let Some((_, rules)) = &field.validate else {
        return;
    };
    for rule in rules {
        check_rule(rule, known.as_deref(), errors);
    }
}

fn check_rule(rule: &Rule, known: Option<&str>, errors: &mut Errors) {
    let key = rule.key();
    match rule {
        Rule::Length {
            chars,
            bytes,
            min,
            max,
            ..
        } => {
            if let (Some(_), Some(bytes)) = (chars, bytes) {
                errors.at(bytes.span(), "`length` counts `chars` or `bytes`, not both");
            }
            match (min, max) {
                (None, None) => errors.at(
                    key.span(),
                    "`length` needs `min`, `max` or both: `length(chars, min = 1, max = 255)`",
                ),
                (Some(lo), Some(hi)) if count(lo) > count(hi) => {
                    errors.at(lo.span(), "`min` is greater than `max`")
                }
                _ => {}
            }
            text_only(key, known, errors);
        }
        Rule::Range { min, max, .. } => {
            match (min, max) {
                (None, None) => errors.at(
                    key.span(),
                    "`range` needs `min`, `max` or both: `range(min = 0, max = 10)`",
                ),
                (Some(lo), Some(hi)) if number(lo) > number(hi) => {
                    errors.spanned(lo, "`min` is greater than `max`")
                }
                _ => {}
            }
            if let Some(ty @ ("String" | "bool")) = known {
                errors.at(
                    key.span(),
                    format!("`range` applies to a number field, not `{ty}`"),
                );
            }
        }
        Rule::Email { .. } => text_only(key, known, errors),
        Rule::Custom { .. } => {}
    }
}

/// `length` and `email` check text.
fn text_only(key: &Ident, known: Option<&str>, errors: &mut Errors) {
    if let Some(ty) = known.filter(|ty| *ty != "String") {
        errors.at(
            key.span(),
            format!("`{key}` applies to a `String` field, not `{ty}`"),
        );
    }
}

fn count(lit: &LitInt) -> usize {
    lit.base10_parse().unwrap_or(0)
}

/// The value of a number literal (`attr.rs` accepted only those).
fn number(expr: &Expr) -> f64 {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(i) => i.base10_parse::<f64>().unwrap_or(f64::NAN),
            Lit::Float(f) => f.base10_parse::<f64>().unwrap_or(f64::NAN),
            _ => f64::NAN,
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => -number(&unary.expr),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use crate::derive_model::tests::check_errors;

    #[test]
    fn a_valid_model() {
        let errors = check_errors(parse_quote! {
            #[model(table = "notes", crate = "crate::rc")]
            pub struct Note {
                #[model(primary_key)]
                pub id: i64,
                #[model(validate(length(chars, min = 1, max = 255)))]
                pub title: String,
                #[model(default = "", validate(length(bytes, max = 1024), email, custom(check::it), custom(again)))]
                pub content: String,
                #[model(default, validate(range(min = -1.5, max = 10.0)))]
                pub score: Option<f64>,
                #[model(read_only)]
                #[model(owner)]
                pub author: Option<i64>,
                pub r#type: AnyTypeAtAll,
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn struct_shapes() {
        for (input, message) in [
            (
                parse_quote!(
                    enum E {
                        A,
                    }
                ),
                "`#[derive(Model)]` goes on a struct with named fields, not an enum",
            ),
            (
                parse_quote!(union U { a: u8 }),
                "`#[derive(Model)]` goes on a struct with named fields, not a union",
            ),
            (
                parse_quote!(
                    struct T(i64);
                ),
                "`#[derive(Model)]` needs named fields: each field is a column, named after the field",
            ),
            (
                parse_quote!(
                    struct U;
                ),
                "`#[derive(Model)]` needs a struct with named fields, one per column",
            ),
        ] {
            assert_eq!(check_errors(input), [message]);
        }
        let errors = check_errors(parse_quote! {
            #[model(table = "t")]
            struct G<T> { #[model(primary_key)] id: T }
        });
        assert_eq!(
            errors,
            ["`#[derive(Model)]` on a generic struct is not supported: a model is one table"]
        );
    }

    #[test]
    fn table_and_primary_keys() {
        let errors = check_errors(parse_quote! {
            #[model(tabel = "notes", crate = "not a path")]
            struct Note { id: i64 }
        });
        assert_eq!(
            errors,
            [
                "unknown model option `tabel`, expected one of: `table`, `name`, `crate`",
                "expected the path of the runtime crate: `crate = \"::rest_channels\"`",
                "a model needs its table's name: `#[model(table = \"...\")]`",
                "a model needs a primary key: mark one field `#[model(primary_key)]`",
            ]
        );
        let errors = check_errors(parse_quote! {
            #[model(table = " ")]
            #[model(table = "notes")]
            struct Note {
                #[model(primary_key)] id: i64,
                #[model(primary_key, owner)] id2: i64,
                #[model(owner)] author: String,
                #[model(primary_key)] id3: i64,
            }
        });
        assert_eq!(
            errors,
            [
                "duplicate model option `table`",
                "first given here",
                "the table's name is empty",
                "a second primary key: a model has exactly one",
                "first given here",
                "a second primary key: a model has exactly one",
                "first given here",
                "a second `owner` field: a model has at most one",
                "first given here",
            ]
        );
    }

    #[test]
    fn field_options() {
        let errors = check_errors(parse_quote! {
            #[model(table = "notes")]
            struct Note {
                #[model(primary_key, default = 1)]
                id: i64,
                #[model(read_only, validate(email), colour = "blue", owner = true)]
                a: String,
                #[model(read_only, read_only, default)]
                b: String,
                #[model(default = [1], validate = 1)]
                c: String,
                #[model]
                d: String,
                #[model(owner)]
                e: bool,
            }
        });
        assert_eq!(
            errors,
            [
                "unknown model option `colour`, expected one of: `primary_key`, `read_only`, `owner`, `default`, `validate`",
                "`owner` takes no value",
                "duplicate model option `read_only`",
                "first given here",
                "expected a literal (`default = \"\"`, `default = 0`, `default = false`), or `default` alone for `Default::default()`",
                "expected `validate(rule, ...)`",
                "expected `#[model(...)]`",
                "a read-only field is never read from a client: `default` has no effect",
                "a read-only field is never read from a client: `validate` has no effect",
                "a read-only field is never read from a client: `default` has no effect",
                "an `owner` field holds a user id: `i64` or `String` (or an `Option` of one), not `bool`",
            ]
        );
    }

    #[test]
    fn rules() {
        let errors = check_errors(parse_quote! {
            #[model(table = "notes")]
            struct Note {
                #[model(primary_key)]
                id: i64,
                #[model(validate(lenght(max = 1), email(x), custom, custom(1), length, range(min = 1), range(max = 2)))]
                a: String,
                #[model(validate(length(chars, bytes, min = 3, max = 2, size = 1)))]
                b: String,
                #[model(validate(length(min = -1, max = 1.5), range(min = "a", max = 0x10, step = 1)))]
                c: String,
                #[model(validate(range(min = 5, max = -5)))]
                d: Option<i32>,
                #[model(validate(length(), range(), email))]
                e: Option<i64>,
                #[model(validate())]
                f: String,
            }
        });
        assert_eq!(
            errors,
            [
                "duplicate validation rule `range`",
                "first given here",
                "unknown validation rule `lenght`, expected one of: `length`, `range`, `email`, `custom`",
                "`email` takes no arguments",
                "expected `custom(path::to::fn)`",
                "expected `custom(path::to::fn)`",
                "expected `length(chars, min = 1, max = 255)`",
                "unknown `length` option `size`, expected one of: `chars`, `bytes`, `min`, `max`",
                "expected a number of characters: `min = 1`",
                "expected a number of characters: `max = 1`",
                "expected a number literal: `min = 0`",
                "unknown `range` option `step`, expected one of: `min`, `max`",
                "`validate` needs at least one rule: `validate(length(chars, max = 255))`",
                "`range` applies to a number field, not `String`",
                "`length` counts `chars` or `bytes`, not both",
                "`min` is greater than `max`",
                "`length` needs `min`, `max` or both: `length(chars, min = 1, max = 255)`",
                "`range` applies to a number field, not `String`",
                "`min` is greater than `max`",
                "`length` needs `min`, `max` or both: `length(chars, min = 1, max = 255)`",
                "`length` applies to a `String` field, not `i64`",
                "`range` needs `min`, `max` or both: `range(min = 0, max = 10)`",
                "`email` applies to a `String` field, not `i64`",
            ]
        );
    }
}
