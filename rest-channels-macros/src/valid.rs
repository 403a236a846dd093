//! Every semantic check of a handler, in one place, reading the model.
//! Each problem is reported at the token that causes it; all are reported.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{FnArg, GenericParam, ReceiverKind, Signature, Type};

use crate::attr::{Inner, Mode};
use crate::ctxt::Errors;
use crate::model::{Action, EventHandler, Handler, Hook, Kind, Param};

/// Message keys that the envelope itself uses.
const RESERVED_KEYS: &[&str] = &["action", "route", "request_id"];

pub(crate) fn check(handler: &Handler, errors: &mut Errors) {
    check_impl(handler, errors);
    let mut names = Names::default();
    for action in &handler.actions {
        check_action(action, errors);
        names.insert(action.name(), action.name_span(), "action name", errors);
    }
    let mut kinds = Names::default();
    for event in &handler.events {
        consumer_only(handler, &event.attr, Inner::Event, errors);
        check_event(event, errors);
        kinds.insert(event.kind.value(), event.kind.span(), "event type", errors);
    }
    for hook in &handler.hooks {
        consumer_only(handler, &hook.attr, hook.which, errors);
        check_hook(hook, errors);
        if let Some(first) = handler
            .hook(hook.which)
            .filter(|first| !std::ptr::eq(*first, hook))
        {
            let mut error = syn::Error::new(
                hook.sig.ident.span(),
                format!("duplicate `#[{}]` method", hook.which.name()),
            );
            error.combine(syn::Error::new(
                first.sig.ident.span(),
                "first defined here",
            ));
            errors.push(error);
        }
    }
}

fn check_impl(handler: &Handler, errors: &mut Errors) {
    let attr = handler.kind.attr();
    let item = &handler.item;
    if let Some((path, _)) = &item.trait_ {
        errors.spanned(
            path,
            format!("`#[{attr}]` on a trait impl is not supported: put it on an inherent `impl Type {{ ... }}` block"),
        );
    }
    if !item.generics.params.is_empty() {
        errors.spanned(
            &item.generics,
            format!("`#[{attr}]` on a generic impl block is not supported"),
        );
    } else if let Some(where_clause) = &item.generics.where_clause {
        errors.spanned(
            where_clause,
            format!("`#[{attr}]` on an impl block with a `where` clause is not supported"),
        );
    }
    if let Some((key, group)) = &handler.group {
        if handler.kind != Kind::Consumer {
            errors.at(
                key.span(),
                "`group` is only allowed on `#[consumer]`: an action handler does not own a connection",
            );
        } else if !is_identifier(&group.value()) {
            errors.at(
                group.span(),
                "`group` names a URL keyword argument, such as `group = \"room_id\"`",
            );
        }
    }
}

fn consumer_only(handler: &Handler, attr: &syn::Attribute, inner: Inner, errors: &mut Errors) {
    if handler.kind != Kind::Consumer {
        errors.spanned(
            attr,
            format!(
                "`#[{}]` is only allowed in a `#[consumer]` impl, not in an `#[action_handler]`",
                inner.name()
            ),
        );
    }
}

fn check_action(action: &Action, errors: &mut Errors) {
    let sig = &action.sig;
    receiver(sig, "an action", errors);
    no_generics(sig, "an action", errors);
    if let syn::Safety::Unsafe(token) = &sig.safety {
        errors.spanned(token, "an action cannot be an `unsafe fn`");
    }
    let options = &action.options;
    if let Some(name) = &options.name
        && name.value().is_empty()
    {
        errors.at(name.span(), "an action name cannot be empty");
    }
    if action.mode() != Mode::Broadcast {
        if let Some((key, _)) = &options.broadcast_type {
            errors.at(
                key.span(),
                "`broadcast_type` requires `mode = \"broadcast\"`",
            );
        }
        if let Some((key, _)) = &options.send_response {
            errors.at(
                key.span(),
                "`send_response_in_broadcast` requires `mode = \"broadcast\"`",
            );
        }
    }
    if let Some((_, kind)) = &options.broadcast_type
        && kind.value().is_empty()
    {
        errors.at(kind.span(), "a broadcast type cannot be empty");
    }

    let mut context = false;
    let mut keys = Names::default();
    for param in &action.params {
        match param {
            Param::Context(ty) => one_context(ty, &mut context, "an action", errors),
            Param::Key(key) => {
                if RESERVED_KEYS.contains(&key.key.as_str()) {
                    errors.at(key.ident.span(), format!("`{}` is a reserved message key", key.key));
                }
                if let Type::ImplTrait(ty) = &*key.ty {
                    errors.spanned(
                        ty,
                        "`impl Trait` cannot be an action parameter: a message key is read into a concrete type",
                    );
                }
                keys.insert(key.key.clone(), key.ident.span(), "message key", errors);
            }
            Param::Other(pat_type) => errors.spanned(
                &pat_type.pat,
                "expected a parameter name: an action's parameters are named after message keys (`pk: i64`)",
            ),
            Param::Event(_) => unreachable!("events are only classified in event handlers"),
        }
    }
}

fn check_event(event: &EventHandler, errors: &mut Errors) {
    let sig = &event.sig;
    receiver(sig, "an event handler", errors);
    no_generics(sig, "an event handler", errors);
    if event.kind.value().is_empty() {
        errors.at(event.kind.span(), "an event type cannot be empty");
    }
    let (mut context, mut seen_event) = (false, false);
    for param in &event.params {
        match param {
            Param::Context(ty) => one_context(ty, &mut context, "an event handler", errors),
            Param::Event(ty) => {
                if std::mem::replace(&mut seen_event, true) {
                    errors.spanned(ty, "an event handler takes the event at most once");
                }
                mutable_reference(ty, "the event by shared reference: `&Event`", errors);
            }
            Param::Other(pat_type) if crate::model::names(&pat_type.ty, "Event") => {
                errors.spanned(&pat_type.ty, "take the event by reference: `&Event`");
            }
            Param::Other(pat_type) => errors.spanned(
                pat_type,
                "an event handler takes `&self`, and optionally `&Context<'_>` and `&Event`, nothing else",
            ),
            Param::Key(_) => unreachable!("keys are only classified in actions"),
        }
    }
}

fn check_hook(hook: &Hook, errors: &mut Errors) {
    let sig = &hook.sig;
    let what = format!("an `#[{}]` method", hook.which.name());
    receiver(sig, &what, errors);
    no_generics(sig, &what, errors);
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!("`#[{}]` must be on an `async fn`", hook.which.name()),
        );
    }
    let mut context = false;
    for param in &hook.params {
        match param {
            Param::Context(ty) => one_context(ty, &mut context, &what, errors),
            Param::Other(pat_type) => errors.spanned(
                pat_type,
                format!("{what} takes `&self` and optionally `&Context<'_>`, nothing else"),
            ),
            Param::Key(_) | Param::Event(_) => unreachable!("hooks only classify the context"),
        }
    }
}

/// Actions, event handlers and hooks all take `&self`: one value serves
/// concurrent messages.
fn receiver(sig: &Signature, what: &str, errors: &mut Errors) {
    let message = format!("{what} must take `&self`");
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => match &receiver.kind {
            ReceiverKind::Reference(_, _, None) => {}
            ReceiverKind::Reference(_, _, Some(_)) => errors.spanned(
                receiver,
                format!(
                    "{message}, not `&mut self`: keep mutable state behind a `Mutex` or an atomic"
                ),
            ),
            _ => errors.spanned(receiver, message),
        },
        _ => errors.at(sig.ident.span(), message),
    }
}

/// The generated code calls the method without naming types: type and
/// const parameters could not be inferred. Lifetimes are fine.
fn no_generics(sig: &Signature, what: &str, errors: &mut Errors) {
    for param in &sig.generics.params {
        if !matches!(param, GenericParam::Lifetime(_)) {
            errors.spanned(
                param,
                format!("{what} cannot have type or const parameters"),
            );
        }
    }
}

fn one_context(ty: &Type, seen: &mut bool, what: &str, errors: &mut Errors) {
    if std::mem::replace(seen, true) {
        errors.spanned(ty, format!("{what} takes the context at most once"));
    }
    mutable_reference(
        ty,
        "the context by shared reference: `&Context<'_>`",
        errors,
    );
}

fn mutable_reference(ty: &Type, take: &str, errors: &mut Errors) {
    let mut ty = ty;
    while let Type::Group(syn::TypeGroup { elem, .. }) | Type::Paren(syn::TypeParen { elem, .. }) =
        ty
    {
        ty = elem;
    }
    if let Type::Reference(r) = ty
        && let Some(mutability) = &r.mutability
    {
        errors.spanned(mutability, format!("take {take}"));
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Names that must be unique: the second one is an error, with a pointer to the first.
#[derive(Default)]
struct Names(HashMap<String, Span>);

impl Names {
    fn insert(&mut self, name: String, span: Span, what: &str, errors: &mut Errors) {
        if let Some(first) = self.0.get(&name) {
            let mut error = syn::Error::new(span, format!("duplicate {what} `{name}`"));
            error.combine(syn::Error::new(*first, "first defined here"));
            errors.push(error);
        } else {
            self.0.insert(name, span);
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::{ItemImpl, parse_quote};

    use super::*;
    use crate::attr::HandlerOptions;

    fn check_errors(kind: Kind, args: proc_macro2::TokenStream, item: ItemImpl) -> Vec<String> {
        let mut errors = Errors::default();
        let options = HandlerOptions::parse(kind, args, &mut errors);
        let handler = Handler::new(kind, options, item, &mut errors);
        check(&handler, &mut errors);
        match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_consumer() {
        let errors = check_errors(
            Kind::Consumer,
            quote::quote!(
                permissions = [IsAuthenticated],
                routes = [path("x/", X)],
                group = "room_id"
            ),
            parse_quote! {
                impl Room {
                    #[async_action]
                    async fn touch(&self, ctx: &Context<'_>) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(name = "sync")]
                    fn sync_echo(&self, pk: i64, note: Option<String>) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(mode = "broadcast", broadcast_type = "chat.message", send_response_in_broadcast = false)]
                    async fn say(&self, text: String, ctx: &Context<'_>) -> ActionResult { Ok(reply!(null, 200)) }
                    #[event("chat.message")]
                    fn chat(&self, ctx: &Context<'_>, event: &Event) {}
                    #[event("other")]
                    async fn other(&self) {}
                    #[on_connect]
                    async fn hello(&self, ctx: &Context<'_>) -> Result<(), Error> { Ok(()) }
                    #[on_disconnect]
                    async fn bye(&self) {}
                }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn receivers_and_generics() {
        let errors = check_errors(
            Kind::ActionHandler,
            quote::quote!(),
            parse_quote! {
                impl X {
                    #[async_action] async fn a(self) {}
                    #[async_action] async fn b(&mut self) {}
                    #[async_action] async fn c(self: Box<Self>) {}
                    #[async_action] async fn d() {}
                    #[async_action] async fn e<'a, T, const N: usize>(&'a self, ctx: &'a Context<'a>) {}
                    #[async_action] unsafe fn f(&self) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "an action must take `&self`",
                "an action must take `&self`, not `&mut self`: keep mutable state behind a `Mutex` or an atomic",
                "an action must take `&self`",
                "an action must take `&self`",
                "an action cannot have type or const parameters",
                "an action cannot have type or const parameters",
                "an action cannot be an `unsafe fn`",
            ]
        );
    }

    #[test]
    fn parameters() {
        let errors = check_errors(
            Kind::ActionHandler,
            quote::quote!(),
            parse_quote! {
                impl X {
                    #[async_action]
                    async fn a(&self, route: String, (x, y): (i32, i32), ctx: &Context<'_>, again: &Context<'_>, r: impl Into<String>) {}
                    #[async_action]
                    async fn b(&self, ctx: &mut Context<'_>, request_id: u8, action: u8) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "`route` is a reserved message key",
                "expected a parameter name: an action's parameters are named after message keys (`pk: i64`)",
                "an action takes the context at most once",
                "`impl Trait` cannot be an action parameter: a message key is read into a concrete type",
                "take the context by shared reference: `&Context<'_>`",
                "`request_id` is a reserved message key",
                "`action` is a reserved message key",
            ]
        );
    }

    #[test]
    fn duplicate_names() {
        let errors = check_errors(
            Kind::Consumer,
            quote::quote!(),
            parse_quote! {
                impl X {
                    #[async_action] async fn echo(&self) {}
                    #[async_action(name = "echo")] async fn echo2(&self) {}
                    #[async_action] async fn r#type(&self, a: u8, r#a: u8) {}
                    #[event("e")] async fn e1(&self) {}
                    #[event("e")] async fn e2(&self) {}
                    #[on_connect] async fn c1(&self) {}
                    #[on_connect] async fn c2(&self) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "duplicate action name `echo`",
                "first defined here",
                "duplicate message key `a`",
                "first defined here",
                "duplicate event type `e`",
                "first defined here",
                "duplicate `#[on_connect]` method",
                "first defined here",
            ]
        );
    }

    #[test]
    fn modes() {
        let errors = check_errors(
            Kind::ActionHandler,
            quote::quote!(),
            parse_quote! {
                impl X {
                    #[async_action(broadcast_type = "x", send_response_in_broadcast = true)]
                    async fn a(&self) {}
                    #[async_action(mode = "none", broadcast_type = "x")]
                    async fn b(&self) {}
                    #[async_action(mode = "broadcast", broadcast_type = "", name = "")]
                    async fn c(&self) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "`broadcast_type` requires `mode = \"broadcast\"`",
                "`send_response_in_broadcast` requires `mode = \"broadcast\"`",
                "`broadcast_type` requires `mode = \"broadcast\"`",
                "an action name cannot be empty",
                "a broadcast type cannot be empty",
            ]
        );
    }

    #[test]
    fn consumer_only_things() {
        let errors = check_errors(
            Kind::ActionHandler,
            quote::quote!(group = "room"),
            parse_quote! {
                impl X {
                    #[event("e")] async fn e(&self, event: &Event) {}
                    #[on_connect] async fn c(&self) {}
                    #[on_disconnect] async fn d(&self) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "`group` is only allowed on `#[consumer]`: an action handler does not own a connection",
                "`#[event]` is only allowed in a `#[consumer]` impl, not in an `#[action_handler]`",
                "`#[on_connect]` is only allowed in a `#[consumer]` impl, not in an `#[action_handler]`",
                "`#[on_disconnect]` is only allowed in a `#[consumer]` impl, not in an `#[action_handler]`",
            ]
        );
    }

    #[test]
    fn events_and_hooks() {
        let errors = check_errors(
            Kind::Consumer,
            quote::quote!(group = "not a kwarg"),
            parse_quote! {
                impl X {
                    #[event("e")] fn e(&self, event: Event) {}
                    #[event("f")] fn f(&self, event: &Event, again: &Event, n: u8) {}
                    #[event("")] fn g(&mut self) {}
                    #[on_connect] fn c(&self) {}
                    #[on_disconnect] async fn d(&self, ctx: &Context<'_>, n: u8) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "`group` names a URL keyword argument, such as `group = \"room_id\"`",
                "take the event by reference: `&Event`",
                "an event handler takes the event at most once",
                "an event handler takes `&self`, and optionally `&Context<'_>` and `&Event`, nothing else",
                "an event handler must take `&self`, not `&mut self`: keep mutable state behind a `Mutex` or an atomic",
                "an event type cannot be empty",
                "`#[on_connect]` must be on an `async fn`",
                "an `#[on_disconnect]` method takes `&self` and optionally `&Context<'_>`, nothing else",
            ]
        );
    }

    #[test]
    fn impl_shapes() {
        let errors = check_errors(
            Kind::ActionHandler,
            quote::quote!(),
            parse_quote!(
                impl<T> X<T> {}
            ),
        );
        assert_eq!(
            errors,
            ["`#[action_handler]` on a generic impl block is not supported"]
        );
        let errors = check_errors(
            Kind::Consumer,
            quote::quote!(),
            parse_quote!(impl Tr for X {}),
        );
        assert_eq!(
            errors,
            [
                "`#[consumer]` on a trait impl is not supported: put it on an inherent `impl Type { ... }` block"
            ]
        );
    }
}
