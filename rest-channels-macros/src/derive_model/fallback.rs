//! What is emitted next to the errors: the `<Name>Fields` struct and stub
//! `Model` and `Object` impls, so that the struct still is a model wherever
//! it is used (`Note::FIELDS.title`, a generic view over it) and one
//! mistake is reported once, not once per use. Nothing for an enum or a
//! generic struct: a stub for those would be wrong in ways of its own.

use proc_macro2::TokenStream;
use quote::quote;

use super::ast::Model;
use super::expand::{fields_struct, fields_value};

pub(crate) fn expand(model: Option<&Model>) -> TokenStream {
    let Some(model) =
        model.filter(|m| m.generics.params.is_empty() && m.generics.where_clause.is_none())
    else {
        return TokenStream::new();
    };
    let krate = &model.krate;
    let ident = &model.ident;
    let fields_ident = model.fields_ident();
    let fields_struct = fields_struct(model);
    // Not the field types' own column types: a type that is not a model
    // field type is reported by the real expansion, once the rest is fixed.
    let stub = quote!(#krate::model::Column::new("", #krate::model::ColumnType::Text));
    let columns = vec![stub.clone(); model.fields.len()];
    let fields = fields_value(model, &columns);
    let json = quote!(#krate::__private::serde_json);
    quote! {
        #fields_struct

        impl #krate::model::Model for #ident {
            const TABLE: &'static str = "";
            const NAME: &'static str = "";
            const COLUMNS: &'static [#krate::model::Column] = &[];
            const PRIMARY_KEY: #krate::model::Column = #stub;
            type Fields = #fields_ident;
            const FIELDS: #fields_ident = #fields;

            fn from_row(
                _: &#krate::db::Row<'_>,
            ) -> ::core::result::Result<Self, #krate::db::sqlx::Error> {
                ::core::unreachable!()
            }

            fn pk(&self) -> #krate::model::Value {
                ::core::unreachable!()
            }

            fn read_data(
                _: &#json::Map<::std::string::String, #json::Value>,
                _: #krate::model::WriteMode,
            ) -> ::core::result::Result<#krate::model::Values, #krate::FieldErrors> {
                ::core::unreachable!()
            }
        }

        impl #krate::permissions::Object for #ident {}
    }
}
