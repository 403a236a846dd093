//! `Handler::describe`: the static description of a handler (see the
//! runtime's `describe` module), read from the model. Nothing here runs on
//! the message path: the generated function builds the description when
//! it is called.
//!
//! Parameter, reply and model types get their JSON Schema through probes
//! (autoref specialization): a type that implements `JsonSchema` is
//! described by it, any other is "any". The generated code therefore adds
//! no bound, and no error, to the user's types.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ImplItem, Lit, LitStr, Meta, ReturnType};

use crate::attr::{Mode, Outer};
use crate::expand::local;
use crate::model::{ActionParam, HandlerImpl, Permissions};
use crate::perm::Perm;
use crate::route::Pattern;

/// `fn describe(generator) -> HandlerDescription` of `impl Handler`.
pub(crate) fn describe_fn(handler: &HandlerImpl) -> TokenStream {
    let krate = &handler.krate;
    let p = quote!(#krate::__private);
    let (g, d) = (local("generator"), local("d"));
    let self_ty = &handler.item.self_ty;
    let doc = docs(&handler.item.attrs);
    let permissions = match &handler.permissions {
        Permissions::SettingsDefault => quote!(::core::option::Option::None),
        Permissions::AllowAny => quote!(::core::option::Option::Some("AllowAny")),
        Permissions::Expr(perm, _) => {
            let s = render(perm, false);
            quote!(::core::option::Option::Some(#s))
        }
    };
    let group = handler
        .group
        .as_ref()
        .map(|(_, group)| quote!(#d.group = ::core::option::Option::Some(#group);));
    let throttle = handler.throttle.as_ref().map(|rate| {
        let lit = &rate.lit;
        quote!(#d.throttle = ::core::option::Option::Some(#lit);)
    });
    let actions = handler.actions.iter().map(|action| {
        let a = local("a");
        let name = LitStr::new(&action.name(), action.name_span());
        let doc = method_docs(handler, &action.sig.ident);
        let mode = match action.mode() {
            Mode::Response => quote!(#p::ActionMode::Response),
            Mode::None => quote!(#p::ActionMode::None),
            Mode::Broadcast => {
                let event_type = match &action.options.broadcast_type {
                    Some((_, t)) => quote!(::core::option::Option::Some(#t)),
                    None => quote!(::core::option::Option::None),
                };
                let send = action
                    .options
                    .send_response
                    .as_ref()
                    .is_none_or(|(_, send)| send.value);
                quote!(#p::ActionMode::Broadcast { event_type: #event_type, send_response: #send })
            }
        };
        let detached = action.is_detached();
        let blocking = action.sig.asyncness.is_none();
        // Only when set: an unthrottled handler's expansion names no throttle.
        let throttle = action.options.throttle.as_ref().map(|rate| {
            let lit = &rate.lit;
            quote!(#a.throttle = ::core::option::Option::Some(#lit);)
        });
        let params = action.params.iter().filter_map(|param| match param {
            ActionParam::Named(param) => {
                let ty = &param.ty;
                let name = LitStr::new(&param.name, param.ident.span());
                let (schema, required) = (local("schema"), local("required"));
                Some(quote! {{
                    let (#schema, #required) = (&&&#p::ParamProbe::<#ty>::new()).describe_param(#g);
                    let mut param = #p::ParamDescription::new(#name, #schema);
                    param.required = #required;
                    #a.params.push(param);
                }})
            }
            _ => None,
        });
        let ret = match &action.sig.output {
            ReturnType::Type(_, ty) => ty.to_token_stream(),
            ReturnType::Default => quote!(()),
        };
        quote! {{
            let mut #a = #p::ActionDescription::new(#name);
            #a.doc = #doc;
            #a.mode = #mode;
            #a.detached = #detached;
            #a.blocking = #blocking;
            #throttle
            #(#params)*
            #a.reply = (&&#p::ReplyProbe::<#ret>::new()).describe_reply(#g);
            #d.actions.push(#a);
        }}
    });
    // The checks the dispatch also makes, at the same tokens: rustc reports
    // an unmet bound once per place, so a wrong target or a missing
    // `impl ModelHandler` stays one error.
    let generics = handler.generics.as_ref().map(|(_, generic_name)| {
        let span = generic_name.span();
        let k = crate::expand::krate_at(krate, span);
        let variants = handler.generic_actions().into_iter().map(|(action, _)| {
            let variant = syn::Ident::new(action.variant(), proc_macro2::Span::call_site());
            quote!(#p::GenericAction::#variant)
        });
        quote_spanned! {span=>
            (&&#k::__private::GenericsProbe::<Self>::new()).describe_generics(&mut #d, #g, &[#(#variants),*]);
        }
    });
    let routes = handler.routes.iter().map(|r| {
        let pattern = LitStr::new(&r.lit.value(), r.lit.span());
        let (regex, kwargs) = match &r.pattern {
            Pattern::Prefix(_) => (quote!(::core::option::Option::None), Vec::new()),
            Pattern::Regex(regex, kwargs) => {
                let regex = LitStr::new(regex, r.lit.span());
                let kwargs = kwargs
                    .iter()
                    .map(|(name, kind)| {
                        let integer = kind.variant() == "Int";
                        quote!(#p::KwargDescription { name: #name, integer: #integer })
                    })
                    .collect();
                (quote!(::core::option::Option::Some(#regex)), kwargs)
            }
        };
        let target = &r.target;
        let k = crate::expand::krate_at(krate, target.span());
        let describe_target =
            quote_spanned!(target.span()=> #k::__private::describe_target(&#k::__private::handler(#target), #g));
        quote! {
            #d.routes.push(#p::RouteDescription::new(
                #pattern,
                #regex,
                ::std::vec![#(#kwargs),*],
                #describe_target,
            ));
        }
    });
    let events = if handler.outer == Outer::Consumer {
        handler
            .events
            .iter()
            .map(|e| {
                let t = &e.event_type;
                let doc = method_docs(handler, &e.sig.ident);
                quote!(#d.events.push(#p::EventDescription { event_type: #t, doc: #doc });)
            })
            .collect()
    } else {
        Vec::new()
    };
    quote! {
        fn describe(#g: &mut #p::SchemaGenerator) -> #p::HandlerDescription {
            #[allow(unused_imports)]
            use #p::{
                GenericsViaModelHandler as _, GenericsViaNothing as _, ParamViaAny as _, ParamViaDeserialize as _,
                ParamViaSchema as _, ReplyViaAny as _, ReplyViaSchema as _,
            };
            let _ = &#g;
            let mut #d = #p::HandlerDescription::new(::core::stringify!(#self_ty));
            #d.doc = #doc;
            #d.permissions = #permissions;
            #group
            #throttle
            #(#actions)*
            #generics
            #(#routes)*
            #(#events)*
            #d
        }
    }
}

/// The doc comment of a method of the block.
fn method_docs(handler: &HandlerImpl, ident: &syn::Ident) -> LitStr {
    let attrs = handler.item.items.iter().find_map(|item| match item {
        ImplItem::Fn(f) if f.sig.ident == *ident => Some(&f.attrs),
        _ => None,
    });
    attrs.map_or_else(|| LitStr::new("", ident.span()), |attrs| docs(attrs))
}

/// `#[doc = "..."]` lines, joined; the one leading space of `///` dropped.
fn docs(attrs: &[Attribute]) -> LitStr {
    let lines: Vec<String> = attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                Expr::Lit(e) => match &e.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    LitStr::new(lines.join("\n").trim(), proc_macro2::Span::call_site())
}

/// A permission expression as text: `IsAuthenticated & !IsAdminUser`.
fn render(perm: &Perm, nested: bool) -> String {
    let s = match perm {
        Perm::Leaf(leaf) => {
            return leaf
                .to_token_stream()
                .to_string()
                .replace(" :: ", "::")
                .replace(":: ", "::");
        }
        Perm::Not(inner) => return format!("!{}", render(inner, true)),
        Perm::And(a, b) => format!("{} & {}", render(a, true), render(b, true)),
        Perm::Or(a, b) => format!("{} | {}", render(a, true), render(b, true)),
    };
    if nested { format!("({s})") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn permissions_render_as_written() {
        let leaf = |e: Expr| Box::new(Perm::Leaf(Box::new(e)));
        let p = Perm::And(
            leaf(parse_quote!(IsAuthenticated)),
            Box::new(Perm::Not(leaf(parse_quote!(perms::IsAdminUser)))),
        );
        assert_eq!(render(&p, false), "IsAuthenticated & !perms::IsAdminUser");
        let p = Perm::Or(
            leaf(parse_quote!(A)),
            Box::new(Perm::And(leaf(parse_quote!(B)), leaf(parse_quote!(C)))),
        );
        assert_eq!(render(&p, false), "A | (B & C)");
    }

    #[test]
    fn doc_comments_are_joined() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[doc = " Sleeps `ms`."]),
            parse_quote!(#[doc = " Detached."]),
        ];
        assert_eq!(docs(&attrs).value(), "Sleeps `ms`.\nDetached.");
    }
}
