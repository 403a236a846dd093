//! Permission expressions: `permissions = [IsAuthenticated & !IsAdminUser, A | (B & C)]`.
//!
//! Each item of the list is parsed as a Rust expression and read as a tree:
//! `&`, `|`, `!` and parentheses combine, anything else (a path, a call, a
//! struct literal) is a leaf, a permission value. The expansion turns the
//! tree into the runtime's `And` / `Or` / `Not` combinators, so a leaf that is
//! not a `Permission` is a type error at the leaf.

use syn::{BinOp, Expr, UnOp};

use crate::ctxt::Errors;

/// A permission expression.
pub(crate) enum Perm {
    /// A permission value, as written.
    Leaf(Box<Expr>),
    Not(Box<Perm>),
    And(Box<Perm>, Box<Perm>),
    Or(Box<Perm>, Box<Perm>),
}

/// A list is the conjunction of its items, in order: `[A, B, C]` is
/// `And(A, And(B, C))`, checked A, then B, then C. `None` for `[]`.
pub(crate) fn from_list(items: Vec<Expr>, errors: &mut Errors) -> Option<Perm> {
    let perms: Vec<Perm> = items
        .into_iter()
        .map(|item| from_expr(item, errors))
        .collect();
    perms
        .into_iter()
        .rev()
        .reduce(|rest, first| Perm::And(Box::new(first), Box::new(rest)))
}

/// Reads one expression as a permission tree, reporting operators that do
/// not combine permissions (and going on as if they did).
pub(crate) fn from_expr(expr: Expr, errors: &mut Errors) -> Perm {
    match expr {
        Expr::Binary(bin) => {
            let (left, right) = (from_expr(*bin.left, errors), from_expr(*bin.right, errors));
            let (left, right) = (Box::new(left), Box::new(right));
            match bin.op {
                BinOp::BitAnd(_) => Perm::And(left, right),
                BinOp::BitOr(_) => Perm::Or(left, right),
                BinOp::And(op) => {
                    errors.spanned(op, "use `&` and `|` to combine permissions");
                    Perm::And(left, right)
                }
                BinOp::Or(op) => {
                    errors.spanned(op, "use `&` and `|` to combine permissions");
                    Perm::Or(left, right)
                }
                op => {
                    errors.spanned(
                        op,
                        "permissions combine with `&`, `|`, `!` and parentheses only",
                    );
                    Perm::And(left, right)
                }
            }
        }
        Expr::Unary(un) if matches!(un.op, UnOp::Not(_)) => {
            Perm::Not(Box::new(from_expr(*un.expr, errors)))
        }
        Expr::Paren(paren) => from_expr(*paren.expr, errors),
        Expr::Group(group) => from_expr(*group.expr, errors),
        leaf => Perm::Leaf(Box::new(leaf)),
    }
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;
    use syn::parse_quote;

    use super::*;

    fn show(perm: &Perm) -> String {
        match perm {
            Perm::Leaf(e) => e.to_token_stream().to_string(),
            Perm::Not(p) => format!("Not({})", show(p)),
            Perm::And(a, b) => format!("And({}, {})", show(a), show(b)),
            Perm::Or(a, b) => format!("Or({}, {})", show(a), show(b)),
        }
    }

    fn list(items: Vec<Expr>) -> (Option<String>, Vec<String>) {
        let mut errors = Errors::default();
        let perm = from_list(items, &mut errors);
        (perm.as_ref().map(show), errors.into_messages())
    }

    #[test]
    fn operators_and_precedence() {
        let (perm, errors) = list(vec![parse_quote!(IsAuthenticated & !IsAdminUser)]);
        assert_eq!(perm.unwrap(), "And(IsAuthenticated, Not(IsAdminUser))");
        assert!(errors.is_empty());
        // `&` binds tighter than `|`; parentheses group.
        let (perm, _) = list(vec![parse_quote!(A | B & !(C | D))]);
        assert_eq!(perm.unwrap(), "Or(A, And(B, Not(Or(C, D))))");
    }

    #[test]
    fn leaves_are_any_other_expression() {
        let (perm, errors) = list(vec![parse_quote!(
            HasScope("read") | Limits { n: 1 } | perms::Staff
        )]);
        assert_eq!(
            perm.unwrap(),
            "Or(Or(HasScope (\"read\"), Limits { n : 1 }), perms :: Staff)"
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn lists_are_conjunctions_in_order() {
        assert_eq!(list(vec![]).0, None);
        assert_eq!(list(vec![parse_quote!(A)]).0.unwrap(), "A");
        let (perm, _) = list(vec![parse_quote!(A), parse_quote!(B | C), parse_quote!(D)]);
        assert_eq!(perm.unwrap(), "And(A, And(Or(B, C), D))");
    }

    #[test]
    fn logical_operators_are_errors() {
        let (perm, errors) = list(vec![
            parse_quote!(A && B),
            parse_quote!(C || D),
            parse_quote!(E + F),
        ]);
        assert_eq!(perm.unwrap(), "And(And(A, B), And(Or(C, D), And(E, F)))");
        assert_eq!(
            errors,
            [
                "use `&` and `|` to combine permissions",
                "use `&` and `|` to combine permissions",
                "permissions combine with `&`, `|`, `!` and parentheses only",
            ]
        );
    }
}
