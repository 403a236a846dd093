//! What is emitted next to the errors: the impl block (inner attributes
//! stripped) and stub impls of `Handler` (and `Consumer`), so that the type
//! still is a handler wherever it is used (a route target, `websocket::<T>()`)
//! and one mistake is reported once, not once per use.

use proc_macro2::TokenStream;
use quote::quote;

use crate::attr::Outer;
use crate::model::HandlerImpl;

pub(crate) fn expand(handler: &HandlerImpl) -> TokenStream {
    let item = &handler.item;
    // A stub for a generic or trait impl would be wrong in ways of its own.
    if !handler.is_inherent_and_concrete() {
        return quote!(#item);
    }
    let krate = &handler.krate;
    let self_ty = &item.self_ty;
    let consumer =
        (handler.outer == Outer::Consumer).then(|| quote!(impl #krate::Consumer for #self_ty {}));
    quote! {
        #item

        impl #krate::Handler for #self_ty {
            fn permission() -> impl #krate::Permission {
                #krate::AllowAny
            }

            fn handle<'a>(
                &'a self,
                _: &'a mut #krate::Context<'_>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#krate::__private::Reply, #krate::Error>,
            > + ::core::marker::Send {
                async move { ::core::unreachable!() }
            }
        }

        #consumer
    }
}
