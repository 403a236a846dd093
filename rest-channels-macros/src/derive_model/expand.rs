//! Code generation, reading only the (validated) model: the `<Name>Fields`
//! struct, `impl Model` and `impl Object`.
//!
//! Locals of the generated code (`data`, `row`, `v`, ...) are
//! `Span::mixed_site()` identifiers, invisible to the user's tokens (a
//! `custom(...)` function, a default). Type checks are placed at the user's
//! tokens: a field type that is not a `FieldType` at the type (the
//! runtime's `#[diagnostic::on_unimplemented]` words it), a default that
//! does not convert at the literal, a rule that does not fit the type at
//! the rule.

use crate::expand::{krate_at, local};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{LitStr, Path};

use super::ast::{Field, FieldDefault, Model, Rule};

pub(crate) fn expand(model: &Model) -> TokenStream {
    let fields_struct = fields_struct(model);
    let model_impl = model_impl(model);
    let object_impl = object_impl(model);
    quote! {
        #fields_struct
        #model_impl
        #object_impl
    }
}

/// The column's name, as a string literal at the field's name.
fn name_lit(field: &Field) -> LitStr {
    LitStr::new(&field.name, field.ident.span())
}

/// `Column::new("title", <String as FieldType>::TYPE)` for each field: the
/// check that the field's type is a model field type, at the type.
fn column_exprs(model: &Model) -> Vec<TokenStream> {
    let krate = &model.krate;
    model
        .fields
        .iter()
        .map(|field| {
            let (ty, name) = (&field.ty, name_lit(field));
            let k = krate_at(krate, ty.span());
            let ty_check = quote_spanned!(ty.span()=> <#ty as #k::model::FieldType>::TYPE);
            quote!(#krate::model::Column::new(#name, #ty_check))
        })
        .collect()
}

/// `pub struct NoteFields { pub title: Column, ... }`, the type of
/// `Note::FIELDS`: a misspelt column is a compile error.
pub(super) fn fields_struct(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let (ident, vis) = (&model.ident, &model.vis);
    let fields_ident = model.fields_ident();
    let doc = format!("The columns of [`{ident}`], for filter, search and ordering lists.");
    let fields = model.fields.iter().map(|field| {
        let ident = &field.ident;
        let doc = format!("The `{}` column.", field.name);
        quote! {
            #[doc = #doc]
            pub #ident: #krate::model::Column
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #fields_ident {
            #(#fields,)*
        }
    }
}

/// The value of `Model::FIELDS`, from one column expression per field.
pub(super) fn fields_value(model: &Model, columns: &[TokenStream]) -> TokenStream {
    let fields_ident = model.fields_ident();
    let idents = model.fields.iter().map(|field| &field.ident);
    quote!(#fields_ident { #(#idents: #columns,)* })
}

fn model_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let ident = &model.ident;
    let fields_ident = model.fields_ident();
    let table = model.table.as_ref().expect("validated: a table");
    let name = model
        .name
        .as_ref()
        .map_or_else(|| snake_case(&ident.unraw().to_string()), LitStr::value);
    let pk = model
        .primary_keys()
        .next()
        .expect("validated: a primary key");
    let pk_ident = &pk.ident;
    let idents: Vec<&Ident> = model.fields.iter().map(|field| &field.ident).collect();
    let row = local("row");
    // At the type too: rustc reports the same unmet bound at the same place
    // once (it dedups identical diagnostics).
    let decode = model.fields.iter().map(|field| {
        let (ty, name) = (&field.ty, name_lit(field));
        let k = krate_at(krate, ty.span());
        let decode = quote_spanned!(ty.span()=> <#ty as #k::model::FieldType>::decode);
        quote!(#decode(#row, #name)?)
    });
    let read_data = read_data(model);
    let data_schema = data_schema(model);
    let fields = fields_value(model, &column_exprs(model));
    quote! {
        #[automatically_derived]
        impl #krate::model::Model for #ident {
            const TABLE: &'static str = #table;
            const NAME: &'static str = #name;
            const COLUMNS: &'static [#krate::model::Column] = &[#(<Self as #krate::model::Model>::FIELDS.#idents),*];
            const PRIMARY_KEY: #krate::model::Column = <Self as #krate::model::Model>::FIELDS.#pk_ident;
            type Fields = #fields_ident;
            const FIELDS: #fields_ident = #fields;

            fn json_schema(
                generator: &mut #krate::__private::SchemaGenerator,
            ) -> #krate::schemars::Schema {
                #[allow(unused_imports)]
                use #krate::__private::{ModelViaAny as _, ModelViaSchema as _};
                (&&#krate::__private::ModelProbe::<Self>::new()).describe_model(generator)
            }

            #data_schema

            fn from_row(
                #row: &#krate::db::Row<'_>,
            ) -> ::core::result::Result<Self, #krate::db::sqlx::Error> {
                ::core::result::Result::Ok(Self {
                    #(#idents: #decode,)*
                })
            }

            fn pk(&self) -> #krate::model::Value {
                #krate::model::FieldType::to_value(&self.#pk_ident)
            }

            #read_data
        }
    }
}

/// `Model::read_data`: one `read_field` per writable field, all reported.
fn read_data(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let (data, mode, values, errors) = (
        local("data"),
        local("mode"),
        local("values"),
        local("errors"),
    );
    let json = quote!(#krate::__private::serde_json);
    let reads: Vec<TokenStream> = model
        .fields
        .iter()
        .filter(|field| !field.is_read_only())
        .map(|field| {
            let (ty, name) = (&field.ty, name_lit(field));
            let required = match &field.default {
                Some(_) => quote!(false),
                None => quote!(!<#ty as #krate::model::FieldType>::NULLABLE),
            };
            let default = default(field);
            let validate = validate(krate, field);
            // A method of `FieldType` (not a function bounded by it): an
            // unsupported type is the same diagnostic as at `FIELDS`, deduped.
            quote! {
                <#ty as #krate::model::FieldType>::read(
                    #data,
                    #name,
                    #mode,
                    #required,
                    #default,
                    #validate,
                    &mut #values,
                    &mut #errors,
                );
            }
        })
        .collect();
    let body = if reads.is_empty() {
        quote! {
            let _ = (#data, #mode);
            ::core::result::Result::Ok(#krate::model::Values::new())
        }
    } else {
        quote! {
            let mut #values = #krate::model::Values::new();
            let mut #errors = #krate::FieldErrors::new();
            #(#reads)*
            if #errors.is_empty() {
                ::core::result::Result::Ok(#values)
            } else {
                ::core::result::Result::Err(#errors)
            }
        }
    };
    quote! {
        // A default literal of the field's own type goes through `Into::into`
        // too; the call is at the user's literal, where clippy would see it.
        #[allow(clippy::useless_conversion)]
        fn read_data(
            #data: &#json::Map<::std::string::String, #json::Value>,
            #mode: #krate::model::WriteMode,
        ) -> ::core::result::Result<#krate::model::Values, #krate::FieldErrors> {
            #body
        }
    }
}

/// `Model::data_schema`: the writable fields, each by its type's schema
/// (a probe: a type without `JsonSchema` is "any", and adds no error).
fn data_schema(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let (generator, partial, properties, required) = (
        local("generator"),
        local("partial"),
        local("properties"),
        local("required"),
    );
    let json = quote!(#krate::__private::serde_json);
    let fields = model
        .fields
        .iter()
        .filter(|field| !field.is_read_only())
        .map(|field| {
            let (ty, name) = (&field.ty, name_lit(field));
            let has_default = field.default.is_some();
            let (schema, needed) = (local("schema"), local("needed"));
            let keywords = schema_keywords(field).into_iter().map(|(k, v)| {
                quote!(#schema.insert(::std::string::String::from(#k), #json::Value::from(#v));)
            });
            quote! {{
                #[allow(unused_mut)]
                let (mut #schema, #needed) =
                    (&&&#krate::__private::ParamProbe::<#ty>::new()).describe_param(#generator);
                #(#keywords)*
                #properties.insert(::std::string::String::from(#name), #schema.to_value());
                if #needed && !#has_default && !#partial {
                    #required.push(#json::Value::from(#name));
                }
            }}
        });
    quote! {
        fn data_schema(
            #generator: &mut #krate::__private::SchemaGenerator,
            #partial: bool,
        ) -> #krate::schemars::Schema {
            #[allow(unused_imports)]
            use #krate::__private::{ParamViaAny as _, ParamViaDeserialize as _, ParamViaSchema as _};
            let _ = (&#generator, #partial);
            #[allow(unused_mut)]
            let mut #properties = #json::Map::new();
            #[allow(unused_mut)]
            let mut #required = ::std::vec::Vec::<#json::Value>::new();
            #(#fields)*
            let mut schema = #json::Map::new();
            schema.insert("type".into(), "object".into());
            schema.insert("properties".into(), #properties.into());
            if !#required.is_empty() {
                schema.insert("required".into(), #required.into());
            }
            #krate::schemars::Schema::from(schema)
        }
    }
}

/// The JSON Schema keywords of a field's validation rules that JSON Schema
/// can say: `length(chars, ...)` (JSON Schema counts characters) and
/// `email`. Byte lengths, ranges (any expression) and custom rules are
/// checked by the server only.
fn schema_keywords(field: &Field) -> Vec<(&'static str, TokenStream)> {
    let mut keywords = Vec::new();
    for rule in field.validate.iter().flat_map(|(_, rules)| rules) {
        match rule {
            Rule::Length {
                chars: Some(_),
                min,
                max,
                ..
            } => {
                if let Some(min) = min {
                    keywords.push(("minLength", quote!(#min as u64)));
                }
                if let Some(max) = max {
                    keywords.push(("maxLength", quote!(#max as u64)));
                }
            }
            Rule::Email { .. } => keywords.push(("format", quote!("email"))),
            _ => {}
        }
    }
    keywords
}

/// The `default` argument of `read_field`: `None`, or a `fn() -> T`.
fn default(field: &Field) -> TokenStream {
    let ty = &field.ty;
    let some = |f: TokenStream| quote!(::core::option::Option::Some(#f as fn() -> #ty));
    match &field.default {
        None => quote!(::core::option::Option::None),
        // At `default`: a type without `Default` is an error there.
        Some(FieldDefault::Trait(key)) => {
            let f = quote_spanned!(key.span()=> <#ty as ::core::default::Default>::default);
            some(f)
        }
        Some(FieldDefault::Literal(_, lit)) => {
            // At the literal: one that does not convert is an error there. An
            // `Option` field's literal is the value inside.
            let span = lit.span();
            let value = match field.option_inner() {
                Some(inner) => quote_spanned!(span=>
                    ::core::option::Option::Some(::core::convert::Into::<#inner>::into(#lit))
                ),
                None => quote_spanned!(span=> ::core::convert::Into::into(#lit)),
            };
            some(quote!((|| -> #ty { #value })))
        }
    }
}

/// The `validate` argument of `read_field`: a closure running the rules
/// (on the value inside an `Option`, when there is one).
fn validate(krate: &Path, field: &Field) -> TokenStream {
    let rules = match &field.validate {
        Some((_, rules)) if !rules.is_empty() => rules,
        _ => return quote!(|_, _| {}),
    };
    let (v, problems) = (local("v"), local("problems"));
    let calls = rules.iter().map(|rule| {
        let span = rule.key().span();
        let k = krate_at(krate, span);
        let rules = quote_spanned!(span=> #k::model::validate);
        match rule {
            Rule::Length {
                bytes, min, max, ..
            } => {
                let f = match bytes {
                    Some(_) => quote_spanned!(span=> length_bytes),
                    None => quote_spanned!(span=> length_chars),
                };
                let (min, max) = (option(min.as_ref()), option(max.as_ref()));
                quote_spanned!(span=> #rules::#f(#v, #min, #max, #problems);)
            }
            Rule::Range { min, max, .. } => {
                let (min, max) = (option(min.as_ref()), option(max.as_ref()));
                quote_spanned!(span=> #rules::range(#v, #min, #max, #problems);)
            }
            Rule::Email { .. } => quote_spanned!(span=> #rules::email(#v, #problems);),
            Rule::Custom { f, .. } => {
                // Through a closure, so that the call `f(x)` deref-coerces:
                // a `String` field takes `fn(&str)` as well as `fn(&String)`
                // (which clippy's `ptr_arg` frowns upon). Located at the path,
                // for errors, with the macro's hygiene, so that clippy sees
                // no redundant closure in the user's code.
                let span = Span::mixed_site().located_at(f.span());
                let x = Ident::new("x", span);
                let k = krate_at(krate, span);
                quote_spanned!(span=> #k::model::validate::custom(#v, |#x| #f(#x), #problems);)
            }
        }
    });
    let calls = quote!(#(#calls)*);
    let body = match field.option_inner() {
        Some(_) => quote! {
            if let ::core::option::Option::Some(#v) = #v {
                #calls
            }
        },
        None => calls,
    };
    quote!(|#v, #problems| { #body })
}

/// `Some(x)` or `None`, at `x`.
fn option(value: Option<&impl ToTokens>) -> TokenStream {
    match value {
        Some(value) => quote_spanned!(value.span()=> ::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// `impl Object`: the owner's id, when a field is marked `owner`.
fn object_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let ident = &model.ident;
    let owner = model.owners().next().map(|field| {
        let f = &field.ident;
        let span = field.ty.span();
        let k = krate_at(krate, span);
        let value = quote!(::core::clone::Clone::clone(&self.#f));
        // At the type: one that is not a user id is an error there.
        let id = match field.option_inner() {
            Some(_) => quote_spanned!(span=>
                ::core::option::Option::map(#value, <#k::UserId as ::core::convert::From<_>>::from)
            ),
            None => quote_spanned!(span=>
                ::core::option::Option::Some(<#k::UserId as ::core::convert::From<_>>::from(#value))
            ),
        };
        quote! {
            fn owner(&self) -> ::core::option::Option<#krate::UserId> {
                #id
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #krate::permissions::Object for #ident {
            #owner
        }
    }
}

/// `NoteItem` -> `note_item`: the default name of an instance in a push.
fn snake_case(ident: &str) -> String {
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_in_snake_case() {
        assert_eq!(super::snake_case("Note"), "note");
        assert_eq!(super::snake_case("NoteItem"), "note_item");
        assert_eq!(super::snake_case("ÉtéNote"), "été_note");
    }
}
