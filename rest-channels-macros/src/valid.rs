//! Every semantic check of a handler, in one place, reading the model.
//! Each problem is reported at the token that causes it; all are reported.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{FnArg, GenericParam, ReceiverKind, Signature, Type};

use crate::attr::{Inner, Mode, Outer};
use crate::ctxt::Errors;
use crate::model::{Action, ActionParam, EventHandler, EventParam, HandlerImpl, Hook, HookParam};
use crate::route::is_identifier;

/// Message keys that the envelope itself uses.
const RESERVED_KEYS: &[&str] = &["action", "route", "request_id"];

pub(crate) fn check(handler: &HandlerImpl, errors: &mut Errors) {
    check_impl(handler, errors);
    observe_needs_generics(handler, errors);
    scope_needs_a_rate(
        handler.throttle.is_some(),
        handler.throttle_scope.as_ref(),
        errors,
    );
    let mut names = Names::default();
    for action in &handler.actions {
        check_action(action, errors);
        scope_needs_a_rate(
            action.options.throttle.is_some(),
            action.options.throttle_scope.as_ref(),
            errors,
        );
        broadcast_needs_a_group(handler, action, errors);
        not_generic(handler, action, errors);
        names.insert(action.name(), action.name_span(), "action name", errors);
    }
    let mut event_types = Names::default();
    for event in &handler.events {
        consumer_only(handler, &event.attr, Inner::Event, errors);
        check_event(event, errors);
        let event_type = &event.event_type;
        event_types.insert(event_type.value(), event_type.span(), "event type", errors);
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

fn check_impl(handler: &HandlerImpl, errors: &mut Errors) {
    let attr = handler.outer.name();
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
        if handler.outer != Outer::Consumer {
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

/// `throttle_scope` names the budget of a `throttle`: alone, it has no rate.
fn scope_needs_a_rate(
    has_rate: bool,
    scope: Option<&(proc_macro2::Ident, syn::LitStr)>,
    errors: &mut Errors,
) {
    let Some((key, scope)) = scope else {
        return;
    };
    if !has_rate {
        errors.at(
            key.span(),
            "`throttle_scope` needs a rate: add `throttle = \"100/min\"` beside it",
        );
    }
    if scope.value().is_empty() {
        errors.at(scope.span(), "a throttle scope cannot be empty");
    }
}

fn consumer_only(handler: &HandlerImpl, attr: &syn::Attribute, inner: Inner, errors: &mut Errors) {
    if handler.outer != Outer::Consumer {
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
    if let Some((_, broadcast_type)) = &options.broadcast_type
        && broadcast_type.value().is_empty()
    {
        errors.at(broadcast_type.span(), "a broadcast type cannot be empty");
    }
    if let Some(detached) = &options.detached
        && sig.asyncness.is_none()
    {
        errors.at(
            detached.span(),
            "a `detached` action must be an `async fn`: it runs beside the connection's other messages, which a blocking `fn` would hold up",
        );
    }

    let mut context = false;
    let mut keys = Names::default();
    for param in &action.params {
        match param {
            ActionParam::Context(ty) => one_context(ty, &mut context, "an action", errors),
            ActionParam::Named(param) => {
                if RESERVED_KEYS.contains(&param.name.as_str()) {
                    errors.at(
                        param.ident.span(),
                        format!("`{}` is a reserved message key", param.name),
                    );
                }
                if let Type::ImplTrait(ty) = unwrap_type(&param.ty) {
                    errors.spanned(
                        ty,
                        "`impl Trait` cannot be an action parameter: a message key is read into a concrete type",
                    );
                } else if let Some(reference) = borrowed(&param.ty) {
                    // The context is the only borrowed parameter; of any
                    // other, serde would only say that it does not live
                    // long enough.
                    errors.spanned(
                        reference,
                        "action parameters are read from the message with serde: use an owned type (`String`, not `&str`)",
                    );
                }
                keys.insert(param.name.clone(), param.ident.span(), "message key", errors);
            }
            ActionParam::Unnamed(pat_type) => errors.spanned(
                &pat_type.pat,
                "expected a parameter name: an action's parameters are named after message keys (`pk: i64`)",
            ),
        }
    }
}

/// A broadcast goes to the connection's group: a consumer without one
/// would fail every time, after the action ran. (An action handler may
/// broadcast: the consumer that routes to it has the group.)
fn broadcast_needs_a_group(handler: &HandlerImpl, action: &Action, errors: &mut Errors) {
    if handler.outer == Outer::Consumer
        && handler.group.is_none()
        && let Some((Mode::Broadcast, mode)) = &action.options.mode
    {
        errors.at(
            mode.span(),
            "`mode = \"broadcast\"` needs a group: set `group = \"<url kwarg>\"` on the #[consumer]",
        );
    }
}

/// An action of the user's may not take the name of one that `generics`
/// (or `observe`) provides: one of the two would never run.
fn not_generic(handler: &HandlerImpl, action: &Action, errors: &mut Errors) {
    let action_name = action.name();
    let Some((_, option)) = handler
        .generic_actions()
        .into_iter()
        .find(|(generic, _)| generic.wire_name() == action_name)
    else {
        return;
    };
    let provider = match &handler.generics {
        Some((generic, _)) if generic.provides(&action_name) => {
            format!("the generic handler `{}`", generic.name())
        }
        _ => "`observe`".to_owned(),
    };
    let mut error = syn::Error::new(
        action.name_span(),
        format!("action `{action_name}` is already provided by {provider}"),
    );
    error.combine(syn::Error::new(
        option.span(),
        format!("`{option}` provides `{action_name}`"),
    ));
    errors.push(error);
}

/// `observe` pushes the changes of the model of `generics = ...`.
fn observe_needs_generics(handler: &HandlerImpl, errors: &mut Errors) {
    if let Some(observe) = &handler.observe
        && handler.generics.is_none()
    {
        errors.at(
            observe.span(),
            "`observe` needs `generics = ...`: it pushes changes of the handler's model",
        );
    }
}

fn check_event(event: &EventHandler, errors: &mut Errors) {
    let sig = &event.sig;
    receiver(sig, "an event handler", errors);
    no_generics(sig, "an event handler", errors);
    if event.event_type.value().is_empty() {
        errors.at(event.event_type.span(), "an event type cannot be empty");
    }
    let (mut context, mut seen_event) = (false, false);
    for param in &event.params {
        match param {
            EventParam::Context(ty) => one_context(ty, &mut context, "an event handler", errors),
            EventParam::Event(ty) => {
                if std::mem::replace(&mut seen_event, true) {
                    errors.spanned(ty, "an event handler takes the event at most once");
                }
                mutable_reference(ty, "the event by shared reference: `&Event`", errors);
            }
            EventParam::Other(pat_type) if crate::model::names(&pat_type.ty, "Event") => {
                errors.spanned(&pat_type.ty, "take the event by reference: `&Event`");
            }
            EventParam::Other(pat_type) => errors.spanned(
                pat_type,
                "an event handler takes `&self`, and optionally `&Context<'_>` and `&Event`, nothing else",
            ),
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
            HookParam::Context(ty) => one_context(ty, &mut context, &what, errors),
            HookParam::Other(pat_type) => errors.spanned(
                pat_type,
                format!("{what} takes `&self` and optionally `&Context<'_>`, nothing else"),
            ),
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
    if let Type::Reference(r) = unwrap_type(ty)
        && let Some(mutability) = &r.mutability
    {
        errors.spanned(mutability, format!("take {take}"));
    }
}

/// The first reference in a type: the type itself, or one in its generic
/// arguments, tuple, array or slice (`Option<&str>`, `Vec<&[u8]>`).
fn borrowed(ty: &Type) -> Option<&syn::TypeReference> {
    match unwrap_type(ty) {
        Type::Reference(r) => Some(r),
        Type::Tuple(t) => t.elems.iter().find_map(borrowed),
        Type::Array(a) => borrowed(&a.elem),
        Type::Slice(s) => borrowed(&s.elem),
        Type::Path(p) => p.path.segments.iter().find_map(|segment| {
            let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::Type(ty) => borrowed(ty),
                _ => None,
            })
        }),
        _ => None,
    }
}

/// The type inside invisible groups and parentheses.
fn unwrap_type(mut ty: &Type) -> &Type {
    while let Type::Group(syn::TypeGroup { elem, .. }) | Type::Paren(syn::TypeParen { elem, .. }) =
        ty
    {
        ty = elem;
    }
    ty
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

    fn check_errors(outer: Outer, args: proc_macro2::TokenStream, item: ItemImpl) -> Vec<String> {
        let mut errors = Errors::default();
        let options = HandlerOptions::parse(outer, args, &mut errors);
        let handler = HandlerImpl::new(outer, options, item, &mut errors);
        check(&handler, &mut errors);
        errors.into_messages()
    }

    #[test]
    fn a_valid_consumer() {
        let errors = check_errors(
            Outer::Consumer,
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
            Outer::ActionHandler,
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
            Outer::ActionHandler,
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
            Outer::Consumer,
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
            Outer::ActionHandler,
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
    fn broadcast_needs_a_group_in_a_consumer() {
        let item: ItemImpl = parse_quote! {
            impl Chat {
                #[async_action(mode = "broadcast")]
                async fn say(&self, text: String) -> ActionResult { Ok(reply!(null, 200)) }
                #[async_action(mode = "response")]
                async fn ping(&self) -> ActionResult { Ok(reply!(null, 200)) }
            }
        };
        assert_eq!(
            check_errors(Outer::Consumer, quote::quote!(), item.clone()),
            [
                "`mode = \"broadcast\"` needs a group: set `group = \"<url kwarg>\"` on the #[consumer]"
            ]
        );
        // With a group; and in an action handler, where the consumer that
        // routes to it decides.
        assert!(
            check_errors(Outer::Consumer, quote::quote!(group = "room"), item.clone()).is_empty()
        );
        assert!(check_errors(Outer::ActionHandler, quote::quote!(), item).is_empty());
    }

    #[test]
    fn borrowed_parameters() {
        let errors = check_errors(
            Outer::ActionHandler,
            quote::quote!(),
            parse_quote! {
                impl X {
                    #[async_action]
                    async fn a(&self, ctx: &Context<'_>, name: &str, tags: Option<Vec<&'static str>>, pair: (u8, &[u8]), owned: Cow<'static, str>) {}
                }
            },
        );
        let owned = "action parameters are read from the message with serde: use an owned type (`String`, not `&str`)";
        assert_eq!(errors, [owned, owned, owned]);
    }

    #[test]
    fn actions_of_the_generic_handler_are_taken() {
        let errors = check_errors(
            Outer::ActionHandler,
            quote::quote!(generics = ListCreate),
            parse_quote! {
                impl Notes {
                    #[async_action]
                    async fn list(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(name = "create")]
                    async fn make(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action]
                    async fn retrieve(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert_eq!(
            errors,
            [
                "action `list` is already provided by the generic handler `ListCreate`",
                "`ListCreate` provides `list`",
                "action `create` is already provided by the generic handler `ListCreate`",
                "`ListCreate` provides `create`",
            ]
        );
    }

    #[test]
    fn a_throttle_scope_needs_a_rate() {
        let errors = check_errors(
            Outer::ActionHandler,
            quote::quote!(throttle_scope = "uploads"),
            parse_quote! {
                impl X {
                    #[async_action(throttle = "5/10s", throttle_scope = "uploads")]
                    async fn a(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(throttle_scope = "")]
                    async fn b(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        let alone = "`throttle_scope` needs a rate: add `throttle = \"100/min\"` beside it";
        assert_eq!(errors, [alone, alone, "a throttle scope cannot be empty"]);
        let errors = check_errors(
            Outer::Consumer,
            quote::quote!(throttle = "100/min", throttle_scope = "api"),
            parse_quote! {
                impl X {
                    #[async_action(throttle = "5/10s")]
                    async fn a(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn detached_actions_are_async() {
        let errors = check_errors(
            Outer::Consumer,
            quote::quote!(group = "room"),
            parse_quote! {
                impl X {
                    #[async_action(detached)]
                    async fn wait(&self, ms: u64) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(detached, mode = "none")]
                    async fn quiet(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(mode = "broadcast", detached)]
                    async fn later(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(detached)]
                    fn blocking(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert_eq!(
            errors,
            [
                "a `detached` action must be an `async fn`: it runs beside the connection's other messages, which a blocking `fn` would hold up"
            ]
        );
    }

    #[test]
    fn observe_needs_generics() {
        for outer in [Outer::ActionHandler, Outer::Consumer] {
            let errors = check_errors(
                outer,
                quote::quote!(observe),
                parse_quote! {
                    impl Notes {
                        #[async_action]
                        async fn subscribe(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    }
                },
            );
            assert_eq!(
                errors,
                ["`observe` needs `generics = ...`: it pushes changes of the handler's model"]
            );
        }
        let errors = check_errors(
            Outer::ActionHandler,
            quote::quote!(generics = List, observe),
            parse_quote!(
                impl Notes {}
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn actions_of_observe_are_taken() {
        let errors = check_errors(
            Outer::ActionHandler,
            quote::quote!(generics = Retrieve, observe),
            parse_quote! {
                impl Note {
                    #[async_action]
                    async fn subscribe(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(name = "unsubscribe")]
                    async fn stop(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action]
                    async fn retrieve(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert_eq!(
            errors,
            [
                "action `subscribe` is already provided by `observe`",
                "`observe` provides `subscribe`",
                "action `unsubscribe` is already provided by `observe`",
                "`observe` provides `unsubscribe`",
                "action `retrieve` is already provided by the generic handler `Retrieve`",
                "`Retrieve` provides `retrieve`",
            ]
        );
        // Without `observe`, the names are free.
        let errors = check_errors(
            Outer::ActionHandler,
            quote::quote!(generics = Retrieve),
            parse_quote! {
                impl Note {
                    #[async_action]
                    async fn subscribe(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn consumer_only_things() {
        let errors = check_errors(
            Outer::ActionHandler,
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
            Outer::Consumer,
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
            Outer::ActionHandler,
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
            Outer::Consumer,
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
