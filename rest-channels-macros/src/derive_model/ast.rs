//! The model of a `#[derive(Model)]` struct, built once from the input: the
//! struct's options, and each field with its options and validation rules.
//! Unknown and repeated options are reported here, at their name; what the
//! options mean together is checked in `valid.rs`, and `expand.rs` reads
//! only this model.

use proc_macro2::Ident;
use syn::ext::IdentExt;
use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Generics, LitInt, LitStr, Path,
    PathArguments, Type, Visibility, parse_quote,
};

use super::attr::{self, Entries};
use crate::ctxt::Errors;

const STRUCT_OPTIONS: &[&str] = &["table", "name", "crate"];
const FIELD_OPTIONS: &[&str] = &["primary_key", "read_only", "owner", "default", "validate"];
const RULES: &[&str] = &["length", "range", "email", "custom"];
const LENGTH_OPTIONS: &[&str] = &["chars", "bytes", "min", "max"];
const RANGE_OPTIONS: &[&str] = &["min", "max"];

/// A struct that derives `Model`.
pub(crate) struct Model {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) generics: Generics,
    /// The runtime crate's path (`::rest_channels` unless `crate = "..."`).
    pub(crate) krate: Path,
    /// `table = "..."`.
    pub(crate) table: Option<LitStr>,
    /// `name = "..."`: what a change pushed to observers calls an instance.
    pub(crate) name: Option<LitStr>,
    /// The fields, in declaration order.
    pub(crate) fields: Vec<Field>,
}

/// A field of the struct: a column.
pub(crate) struct Field {
    pub(crate) ident: Ident,
    /// The column's name: the field's, without `r#`.
    pub(crate) name: String,
    pub(crate) ty: Type,
    /// The options that are flags, by their name token.
    pub(crate) primary_key: Option<Ident>,
    pub(crate) read_only: Option<Ident>,
    pub(crate) owner: Option<Ident>,
    pub(crate) default: Option<FieldDefault>,
    /// `validate(...)`: its name token and its rules.
    pub(crate) validate: Option<(Ident, Vec<Rule>)>,
}

/// The value a `create` uses when the client leaves a field out.
pub(crate) enum FieldDefault {
    /// `default`: `Default::default()`.
    Trait(Ident),
    /// `default = <literal>`: the literal, converted with `Into::into`.
    Literal(Ident, Expr),
}

/// A validation rule of `validate(...)`.
pub(crate) enum Rule {
    /// `length(chars | bytes, min = N, max = N)`.
    Length {
        key: Ident,
        chars: Option<Ident>,
        bytes: Option<Ident>,
        min: Option<LitInt>,
        max: Option<LitInt>,
    },
    /// `range(min = X, max = X)`.
    Range {
        key: Ident,
        min: Option<Box<Expr>>,
        max: Option<Box<Expr>>,
    },
    /// `email`.
    Email { key: Ident },
    /// `custom(path::to::fn)`.
    Custom { key: Ident, f: Path },
}

impl Rule {
    pub(crate) fn key(&self) -> &Ident {
        match self {
            Rule::Length { key, .. }
            | Rule::Range { key, .. }
            | Rule::Email { key }
            | Rule::Custom { key, .. } => key,
        }
    }
}

impl FieldDefault {
    pub(crate) fn key(&self) -> &Ident {
        match self {
            FieldDefault::Trait(key) | FieldDefault::Literal(key, _) => key,
        }
    }
}

impl Model {
    /// The model of a named struct; `None` (and the error) for anything else.
    pub(crate) fn from_input(input: DeriveInput, errors: &mut Errors) -> Option<Model> {
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(fields) => {
                    errors.spanned(
                        fields,
                        "`#[derive(Model)]` needs named fields: each field is a column, named after the field",
                    );
                    None
                }
                Fields::Unit => {
                    errors.at(
                        input.ident.span(),
                        "`#[derive(Model)]` needs a struct with named fields, one per column",
                    );
                    None
                }
            },
            Data::Enum(data) => {
                errors.at(
                    data.enum_token.span,
                    "`#[derive(Model)]` goes on a struct with named fields, not an enum",
                );
                None
            }
            Data::Union(data) => {
                errors.at(
                    data.union_token.span,
                    "`#[derive(Model)]` goes on a struct with named fields, not a union",
                );
                None
            }
        };
        let mut krate = None;
        let mut table = None;
        let mut name = None;
        let entries = attr::model_attrs(&input.attrs, errors).dedup("model option", &[], errors);
        for entry in &entries.0 {
            match entry.key.to_string().as_str() {
                "table" => store(entry.lit_str(), &mut table, errors),
                "name" => store(entry.lit_str(), &mut name, errors),
                "crate" => store(entry.krate(), &mut krate, errors),
                _ => errors.push(attr::unknown("model option", &entry.key, STRUCT_OPTIONS)),
            }
        }
        let fields = named?
            .named
            .iter()
            .map(|field| Field::new(field, errors))
            .collect();
        Some(Model {
            ident: input.ident,
            vis: input.vis,
            generics: input.generics,
            krate: krate.unwrap_or_else(|| parse_quote!(::rest_channels)),
            table,
            name,
            fields,
        })
    }

    /// The `<Name>Fields` struct's name.
    pub(crate) fn fields_ident(&self) -> Ident {
        quote::format_ident!("{}Fields", self.ident)
    }

    pub(crate) fn primary_keys(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.primary_key.is_some())
    }

    pub(crate) fn owners(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.owner.is_some())
    }
}

impl Field {
    fn new(field: &syn::Field, errors: &mut Errors) -> Field {
        let ident = field.ident.clone().expect("a named field");
        let mut out = Field {
            name: ident.unraw().to_string(),
            ident,
            ty: field.ty.clone(),
            primary_key: None,
            read_only: None,
            owner: None,
            default: None,
            validate: None,
        };
        let entries = attr::model_attrs(&field.attrs, errors).dedup("model option", &[], errors);
        for entry in &entries.0 {
            let key = || entry.key.clone();
            match entry.key.to_string().as_str() {
                "primary_key" => store(entry.flag().map(|()| key()), &mut out.primary_key, errors),
                "read_only" => store(entry.flag().map(|()| key()), &mut out.read_only, errors),
                "owner" => store(entry.flag().map(|()| key()), &mut out.owner, errors),
                "default" => {
                    let default = match entry.value {
                        attr::Value::None => Ok(FieldDefault::Trait(key())),
                        _ => entry
                            .default_literal()
                            .map(|lit| FieldDefault::Literal(key(), lit)),
                    };
                    store(default, &mut out.default, errors);
                }
                "validate" => {
                    let rules = entry
                        .list("validate(rule, ...)", errors)
                        .map(|(_, rules)| (key(), rules_of(&entry.key, rules, errors)));
                    store(rules, &mut out.validate, errors);
                }
                _ => errors.push(attr::unknown("model option", &entry.key, FIELD_OPTIONS)),
            }
        }
        out
    }

    /// Whether the field is never read from a client.
    pub(crate) fn is_read_only(&self) -> bool {
        self.primary_key.is_some() || self.read_only.is_some()
    }

    /// `T` when the field's type is written `Option<T>` (validation rules
    /// apply to the value inside).
    pub(crate) fn option_inner(&self) -> Option<&Type> {
        option_inner(&self.ty)
    }

    /// The field's type, or the type in its `Option`, when it is one of the
    /// types a model field has, written as such: `String`, `i64`...
    pub(crate) fn known_type(&self) -> Option<String> {
        let ty = self.option_inner().unwrap_or(&self.ty);
        match ungroup(ty) {
            Type::Path(p) if p.qself.is_none() => {
                let last = p.path.segments.last()?;
                let name = last.ident.to_string();
                let known = ["String", "i64", "i32", "f64", "bool"].contains(&name.as_str());
                (known && last.arguments.is_none()).then_some(name)
            }
            _ => None,
        }
    }
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        ty => ty,
    }
}

fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ungroup(ty) else {
        return None;
    };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// The rules of `validate(...)`. `custom` may come more than once.
fn rules_of(validate: &Ident, entries: Entries, errors: &mut Errors) -> Vec<Rule> {
    if entries.0.is_empty() {
        errors.at(
            validate.span(),
            "`validate` needs at least one rule: `validate(length(chars, max = 255))`",
        );
    }
    let entries = entries.dedup("validation rule", &["custom"], errors);
    let mut rules = Vec::new();
    for entry in &entries.0 {
        let key = entry.key.clone();
        let rule = match key.to_string().as_str() {
            "length" => entry
                .list("length(chars, min = 1, max = 255)", errors)
                .map(|(_, args)| length(key, args, errors)),
            "range" => entry
                .list("range(min = 0, max = 10)", errors)
                .map(|(_, args)| range(key, args, errors)),
            "email" => entry.flag().map(|()| Rule::Email { key }),
            "custom" => entry
                .path_arg("custom(path::to::fn)")
                .map(|f| Rule::Custom { key, f }),
            _ => Err(attr::unknown("validation rule", &entry.key, RULES)),
        };
        match rule {
            Ok(rule) => rules.push(rule),
            Err(error) => errors.push(error),
        }
    }
    rules
}

fn length(key: Ident, args: Entries, errors: &mut Errors) -> Rule {
    let (mut chars, mut bytes, mut min, mut max) = (None, None, None, None);
    for arg in &args.dedup("`length` option", &[], errors).0 {
        let name = || arg.key.clone();
        match arg.key.to_string().as_str() {
            "chars" => store(arg.flag().map(|()| name()), &mut chars, errors),
            "bytes" => store(arg.flag().map(|()| name()), &mut bytes, errors),
            "min" => store(arg.count(), &mut min, errors),
            "max" => store(arg.count(), &mut max, errors),
            _ => errors.push(attr::unknown("`length` option", &arg.key, LENGTH_OPTIONS)),
        }
    }
    Rule::Length {
        key,
        chars,
        bytes,
        min,
        max,
    }
}

fn range(key: Ident, args: Entries, errors: &mut Errors) -> Rule {
    let (mut min, mut max) = (None, None);
    for arg in &args.dedup("`range` option", &[], errors).0 {
        match arg.key.to_string().as_str() {
            "min" => store(arg.number().map(Box::new), &mut min, errors),
            "max" => store(arg.number().map(Box::new), &mut max, errors),
            _ => errors.push(attr::unknown("`range` option", &arg.key, RANGE_OPTIONS)),
        }
    }
    Rule::Range { key, min, max }
}

/// Keeps a parsed value, or reports why it did not parse.
fn store<T>(value: syn::Result<T>, slot: &mut Option<T>, errors: &mut Errors) {
    match value {
        Ok(value) => *slot = Some(value),
        Err(error) => errors.push(error),
    }
}
