//! Code generation, reading only the (validated) model: the impl block with
//! the inner attributes stripped, `impl Handler`, and for a consumer
//! `impl Consumer`.
//!
//! Local variables of the generated code (`ctx`, `r`, `route`, ...) are
//! `Span::mixed_site()` identifiers: a parameter that happens to be named
//! `ctx` cannot capture or shadow them. Type checks that the runtime words
//! with `#[diagnostic::on_unimplemented]` are spanned at the user's tokens:
//! a return type at the signature's output, a parameter type at the type, a
//! permission at its leaf, a route target at its expression, the
//! `ModelHandler` impl that `generics = ...` needs at the generic's name.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Path, ReturnType, Signature};

use crate::attr::{Inner, Mode, Outer};
use crate::model::{
    Action, ActionParam, EventHandler, EventParam, HandlerImpl, Hook, HookParam, NamedParam,
    Permissions,
};
use crate::perm::Perm;
use crate::route::Pattern;
use crate::throttle::RateOpt;

pub(crate) fn expand(handler: &HandlerImpl) -> TokenStream {
    let item = &handler.item;
    let handler_impl = handler_impl(handler);
    let consumer_impl = (handler.outer == Outer::Consumer).then(|| consumer_impl(handler));
    quote! {
        #item
        #handler_impl
        #consumer_impl
    }
}

/// A local variable of the generated code, invisible to the user's tokens.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The runtime's path, respanned: the tokens of a type check are all at the
/// user's token, so that rustc reports an unmet bound there, once.
pub(crate) fn krate_at(krate: &Path, span: Span) -> TokenStream {
    krate
        .to_token_stream()
        .into_iter()
        .map(|mut tt| {
            tt.set_span(span);
            tt
        })
        .collect()
}

/// The local holding what a method returned, located at its return type so
/// that the runtime's "cannot be returned by ..." error points there.
fn result_local(sig: &Signature) -> (Ident, Span) {
    let span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    };
    (Ident::new("r", Span::mixed_site().located_at(span)), span)
}

fn handler_impl(handler: &HandlerImpl) -> TokenStream {
    let krate = &handler.krate;
    let self_ty = &handler.item.self_ty;
    let ctx = local("ctx");
    let (permission_type, permission) = permission(handler);
    // In the async block, ahead of the generic arms (see `generic_arms`).
    let model_handler = handler.generics.as_ref().map(|(_, name)| {
        let k = krate_at(krate, name.span());
        quote_spanned!(name.span()=> #k::__private::assert_model_handler::<Self>();)
    });
    let routes = routes(handler);
    let dispatch = dispatch(handler);
    let describe = crate::describe::describe_fn(handler);
    quote! {
        impl #krate::Handler for #self_ty {
            fn permission() -> #permission_type {
                #permission
            }

            #describe

            fn handle<'a>(
                &'a self,
                #ctx: &'a mut #krate::Context<'_>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#krate::__private::Reply, #krate::Error>,
            > + ::core::marker::Send {
                async move {
                    #model_handler
                    #krate::__private::check(<Self as #krate::Handler>::permission(), #ctx).await?;
                    #routes
                    #dispatch
                }
            }
        }
    }
}

/// The return type and the body of `Handler::permission`.
///
/// A leaf that is not a `Permission` is an error at the leaf; the
/// combination it is part of then is not a `Permission` either, which rustc
/// reports at the return type: it is placed at the list.
fn permission(handler: &HandlerImpl) -> (TokenStream, TokenStream) {
    let krate = &handler.krate;
    match &handler.permissions {
        Permissions::SettingsDefault => (
            quote!(impl #krate::Permission),
            quote!(#krate::__private::SettingsDefault),
        ),
        Permissions::AllowAny => (quote!(impl #krate::Permission), quote!(#krate::AllowAny)),
        Permissions::Expr(perm, list) => {
            let k = krate_at(krate, *list);
            (
                quote_spanned!(*list=> impl #k::Permission),
                perm_tokens(krate, perm),
            )
        }
    }
}

fn perm_tokens(krate: &Path, perm: &Perm) -> TokenStream {
    match perm {
        Perm::Leaf(leaf) => {
            let k = krate_at(krate, leaf.span());
            quote_spanned!(leaf.span()=> #k::__private::permission(#leaf))
        }
        Perm::Not(inner) => {
            let inner = perm_tokens(krate, inner);
            quote!(#krate::__private::Not(#inner))
        }
        Perm::And(a, b) => {
            let (a, b) = (perm_tokens(krate, a), perm_tokens(krate, b));
            quote!(#krate::__private::And(#a, #b))
        }
        Perm::Or(a, b) => {
            let (a, b) = (perm_tokens(krate, a), perm_tokens(krate, b));
            quote!(#krate::__private::Or(#a, #b))
        }
    }
}

/// The nested routes: a static table, and a match on the route that took
/// the rest of the path. A consumer without routes still refuses a route
/// path (404); a handler without routes takes any rest (prefix matching).
fn routes(handler: &HandlerImpl) -> Option<TokenStream> {
    let krate = &handler.krate;
    let (ctx, route) = (local("ctx"), local("route"));
    if handler.routes.is_empty() {
        return (handler.outer == Outer::Consumer)
            .then(|| quote!(#krate::__private::no_route_left(#ctx)?;));
    }
    let specs = handler.routes.iter().map(|r| match &r.pattern {
        Pattern::Prefix(prefix) => {
            let prefix = LitStr::new(prefix, r.lit.span());
            quote!(#krate::__private::RouteSpec::Prefix(#prefix))
        }
        Pattern::Regex(regex, kwargs) => {
            let regex = LitStr::new(regex, r.lit.span());
            let kwargs = kwargs.iter().map(|(name, kind)| {
                let kind = Ident::new(kind.variant(), Span::call_site());
                quote!((#name, #krate::__private::KwargKind::#kind))
            });
            quote!(#krate::__private::RouteSpec::Regex(#regex, &[#(#kwargs),*]))
        }
    });
    let arms = handler.routes.iter().enumerate().map(|(i, r)| {
        let i = Literal::usize_unsuffixed(i);
        let target = &r.target;
        // All at the target: a target that is not a handler is one error there.
        let k = krate_at(krate, target.span());
        let handle =
            quote_spanned!(target.span()=> #k::Handler::handle(&#k::__private::handler(#target), #ctx));
        quote!(#i => #handle.await,)
    });
    Some(quote! {
        static ROUTES: #krate::__private::RouteTable = #krate::__private::RouteTable::new(|| {
            #krate::__private::Routes::new(&[#(#specs),*])
        });
        if let ::core::option::Option::Some(#route) = #krate::__private::route(#ctx, &ROUTES) {
            return match #route? {
                #(#arms)*
                _ => ::core::unreachable!(),
            };
        }
    })
}

/// The `match` on the action's name: the user's actions, then those of
/// `generics = ...`. With a `throttle` on the block, its static, checked
/// first in each arm.
fn dispatch(handler: &HandlerImpl) -> TokenStream {
    let krate = &handler.krate;
    let ctx = local("ctx");
    let not_allowed =
        quote!(::core::result::Result::Err(#krate::__private::action_not_allowed(#ctx)));
    let block_throttle = handler.throttle.as_ref().map(|rate| {
        let self_ty = &handler.item.self_ty;
        let scope = match &handler.throttle_scope {
            Some((_, scope)) => scope.to_token_stream(),
            None => quote! {
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#self_ty))
            },
        };
        let name = Ident::new("BLOCK_THROTTLE", Span::call_site());
        (
            throttle_static(krate, &name, rate, scope),
            throttle_check(krate, &name),
        )
    });
    let (block_static, block_check) = block_throttle.unzip();
    let generic_arms = handler
        .generics
        .as_ref()
        .map(|(_, name)| generic_arms(krate, handler, name, block_check.as_ref()));
    if handler.actions.is_empty() && generic_arms.is_none() {
        return not_allowed;
    }
    let arms = handler
        .actions
        .iter()
        .map(|action| action_arm(krate, handler, action, block_check.as_ref()));
    quote! {
        #block_static
        match #ctx.action() {
            #(#arms)*
            #generic_arms
            _ => #not_allowed,
        }
    }
}

/// `static NAME: Throttle = ...;`, the rate's numbers parsed from its
/// literal when the crate compiled, at the literal.
fn throttle_static(krate: &Path, name: &Ident, rate: &RateOpt, scope: TokenStream) -> TokenStream {
    let span = rate.lit.span();
    let k = krate_at(krate, span);
    let requests = Literal::u32_suffixed(rate.rate.requests);
    let seconds = Literal::u64_suffixed(rate.rate.seconds);
    quote_spanned! {span=>
        static #name: #k::__private::Throttle = #k::__private::Throttle::new(
            #scope,
            #k::__private::Rate::per_seconds(#requests, #seconds),
        );
    }
}

/// Counts the call against the throttle `name`; over its rate, the 429.
fn throttle_check(krate: &Path, name: &Ident) -> TokenStream {
    let ctx = local("ctx");
    quote!(#krate::__private::throttle(#ctx, &#name).await?;)
}

/// One arm per action of the generic handler (and of `observe`). Each call
/// is placed, all of it, at the generic's name, as the
/// `assert_model_handler` check that precedes it in the same async block:
/// rustc reports an unmet bound once per place, so a type without
/// `impl ModelHandler` is one error there, not one more per arm (nor one
/// over the whole attribute, which is what a check outside the async block
/// gave).
fn generic_arms(
    krate: &Path,
    handler: &HandlerImpl,
    name: &Ident,
    block_check: Option<&TokenStream>,
) -> TokenStream {
    let span = name.span();
    let ctx = Ident::new("ctx", Span::mixed_site().located_at(span));
    let k = krate_at(krate, span);
    let arms = handler.generic_actions().into_iter().map(|(action, _)| {
        let wire_name = action.wire_name();
        let variant = Ident::new(action.variant(), span);
        let call = quote_spanned! {span=>
            #k::__private::generic(self, #ctx, #k::__private::GenericAction::#variant).await
        };
        match block_check {
            Some(check) => quote!(#wire_name => { #check #call }),
            None => quote!(#wire_name => #call,),
        }
    });
    quote!(#(#arms)*)
}

fn action_arm(
    krate: &Path,
    handler: &HandlerImpl,
    action: &Action,
    block_check: Option<&TokenStream>,
) -> TokenStream {
    let ctx = local("ctx");
    let name = LitStr::new(&action.name(), action.name_span());
    // The action's own throttle, after the block's (see `throttle.rs`).
    let throttle = action.options.throttle.as_ref().map(|rate| {
        let self_ty = &handler.item.self_ty;
        let scope = match &action.options.throttle_scope {
            Some((_, scope)) => scope.to_token_stream(),
            None => quote! {
                ::core::concat!(
                    ::core::module_path!(), "::", ::core::stringify!(#self_ty), ".", #name
                )
            },
        };
        let static_name = Ident::new("ACTION_THROTTLE", Span::call_site());
        let check = throttle_check(krate, &static_name);
        let decl = throttle_static(krate, &static_name, rate, scope);
        quote!(#decl #check)
    });
    let named: Vec<&NamedParam> = action
        .params
        .iter()
        .filter_map(|param| match param {
            ActionParam::Named(param) => Some(param),
            _ => None,
        })
        .collect();
    let checks = named.iter().map(|param| {
        let ty = &param.ty;
        let k = krate_at(krate, ty.span());
        quote_spanned!(ty.span()=> #k::__private::assert_arg::<#ty>();)
    });
    let read = read_args(krate, &named);

    let method = &action.sig.ident;
    let args: Vec<TokenStream> = action
        .params
        .iter()
        .filter_map(ActionParam::call_arg)
        .collect();
    let call = match action.sig.asyncness {
        Some(_) => quote!(self.#method(#(#args),*).await),
        None => quote!(#krate::__private::blocking(|| self.#method(#(#args),*))),
    };
    // A detached action leaves the connection's queue once its arguments
    // are read: their errors, and a refusal over the connection's limit,
    // are replied in order.
    let detach = action
        .is_detached()
        .then(|| quote!(#krate::__private::detach(#ctx).await?;));
    let (r, out) = result_local(&action.sig);
    let reply = match action.mode() {
        Mode::Response => quote_spanned!(out=> #krate::__private::respond(#ctx, #r)),
        Mode::None => quote_spanned!(out=> #krate::__private::silent(#r)),
        Mode::Broadcast => {
            let event_type = match &action.options.broadcast_type {
                Some((_, broadcast_type)) => quote!(::core::option::Option::Some(#broadcast_type)),
                None => quote!(::core::option::Option::None),
            };
            let send_response = action
                .options
                .send_response
                .as_ref()
                .is_none_or(|(_, send)| send.value);
            let broadcast = quote_spanned!(out=> #krate::__private::broadcast(#ctx, #r, #event_type, #send_response));
            quote!(#broadcast.await)
        }
    };
    quote! {
        #name => {
            #(#checks)*
            #block_check
            #throttle
            #read
            #detach
            let #r = #call;
            #reply
        }
    }
}

/// Reads the named parameters (route kwargs, else message keys); when any
/// is bad, the error for all of them (a 400 naming every bad key).
fn read_args(krate: &Path, named: &[&NamedParam]) -> TokenStream {
    let ctx = local("ctx");
    let reads = named.iter().map(|param| {
        let ty = &param.ty;
        let name = LitStr::new(&param.name, param.ident.span());
        let k = krate_at(krate, ty.span());
        quote_spanned!(ty.span()=> #k::__private::arg::<#ty>(#ctx, #name))
    });
    let idents: Vec<&Ident> = named.iter().map(|param| &param.ident).collect();
    match idents[..] {
        [] => TokenStream::new(),
        [ident] => {
            let (v, e) = (local("v"), local("e"));
            let read = reads.into_iter().next();
            quote! {
                let #ident = match #read {
                    ::core::result::Result::Ok(#v) => #v,
                    ::core::result::Result::Err(#e) => {
                        return ::core::result::Result::Err(#krate::__private::arg_errors([
                            ::core::option::Option::Some(#e),
                        ]));
                    }
                };
            }
        }
        _ => quote! {
            #(let #idents = #reads;)*
            let (#(#idents),*) = match (#(#idents),*) {
                (#(::core::result::Result::Ok(#idents)),*) => (#(#idents),*),
                (#(#idents),*) => {
                    return ::core::result::Result::Err(#krate::__private::arg_errors([#(#idents.err()),*]));
                }
            };
        },
    }
}

// The arguments of a call to a user's method, in the signature's order.
// (The model is validated: a refused parameter has no argument.)

impl ActionParam {
    fn call_arg(&self) -> Option<TokenStream> {
        match self {
            ActionParam::Context(_) => Some(local("ctx").into_token_stream()),
            ActionParam::Named(param) => Some(param.ident.to_token_stream()),
            ActionParam::Unnamed(_) => None,
        }
    }
}

impl EventParam {
    fn call_arg(&self) -> Option<TokenStream> {
        match self {
            EventParam::Context(_) => Some(local("ctx").into_token_stream()),
            EventParam::Event(_) => Some(local("event").into_token_stream()),
            EventParam::Other(_) => None,
        }
    }
}

impl HookParam {
    fn call_arg(&self) -> Option<TokenStream> {
        match self {
            HookParam::Context(_) => Some(local("ctx").into_token_stream()),
            HookParam::Other(_) => None,
        }
    }
}

fn consumer_impl(handler: &HandlerImpl) -> TokenStream {
    let krate = &handler.krate;
    let self_ty = &handler.item.self_ty;
    let group = handler.group.as_ref().map(|(_, group)| {
        quote! {
            const GROUP_KWARG: ::core::option::Option<&'static str> = ::core::option::Option::Some(#group);
        }
    });
    let on_event = (!handler.events.is_empty()).then(|| on_event(krate, &handler.events));
    let on_connect = handler
        .hook(Inner::OnConnect)
        .map(|hook| on_connect(krate, hook));
    let on_disconnect = handler
        .hook(Inner::OnDisconnect)
        .map(|hook| on_disconnect(krate, hook));
    quote! {
        impl #krate::Consumer for #self_ty {
            #group
            #on_event
            #on_connect
            #on_disconnect
        }
    }
}

/// A call to an event handler or a hook: `self.method(ctx, event)`, awaited when async.
fn method_call(sig: &Signature, args: impl Iterator<Item = TokenStream>) -> TokenStream {
    let method = &sig.ident;
    let args: Vec<TokenStream> = args.collect();
    match sig.asyncness {
        Some(_) => quote!(self.#method(#(#args),*).await),
        None => quote!(self.#method(#(#args),*)),
    }
}

fn on_event(krate: &Path, events: &[EventHandler]) -> TokenStream {
    let (ctx, event) = (local("ctx"), local("event"));
    let arms = events.iter().map(|e| {
        let event_type = &e.event_type;
        let call = method_call(&e.sig, e.params.iter().filter_map(EventParam::call_arg));
        let (r, out) = result_local(&e.sig);
        let result = quote_spanned!(out=> #krate::__private::event_result(#r));
        quote! {
            #event_type => {
                let #r = #call;
                #result
            }
        }
    });
    quote! {
        fn on_event(
            &self,
            #ctx: &#krate::Context<'_>,
            #event: &#krate::Event,
        ) -> impl ::core::future::Future<Output = ::core::result::Result<(), #krate::Error>> + ::core::marker::Send {
            async move {
                match #event.kind() {
                    #(#arms)*
                    _ => #krate::__private::default_event(#ctx, #event),
                }
            }
        }
    }
}

/// The context parameter of a hook: `_` when the user's method does not take it.
fn hook_ctx(hook: &Hook) -> TokenStream {
    let takes_ctx = hook
        .params
        .iter()
        .any(|param| matches!(param, HookParam::Context(_)));
    if takes_ctx {
        local("ctx").into_token_stream()
    } else {
        quote!(_)
    }
}

fn on_connect(krate: &Path, hook: &Hook) -> TokenStream {
    let ctx = hook_ctx(hook);
    let call = method_call(
        &hook.sig,
        hook.params.iter().filter_map(HookParam::call_arg),
    );
    let (r, out) = result_local(&hook.sig);
    let result = quote_spanned!(out=> #krate::__private::event_result(#r));
    quote! {
        fn on_connect(
            &self,
            #ctx: &#krate::Context<'_>,
        ) -> impl ::core::future::Future<Output = ::core::result::Result<(), #krate::Error>> + ::core::marker::Send {
            async move {
                let #r = #call;
                #result
            }
        }
    }
}

fn on_disconnect(krate: &Path, hook: &Hook) -> TokenStream {
    let ctx = hook_ctx(hook);
    let call = method_call(
        &hook.sig,
        hook.params.iter().filter_map(HookParam::call_arg),
    );
    // The result is located at the return type: anything but `()` is a type
    // error there.
    let (r, _) = result_local(&hook.sig);
    quote! {
        fn on_disconnect(&self, #ctx: &#krate::Context<'_>) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
            async move {
                let #r = #call;
                let _: () = #r;
            }
        }
    }
}
