//! The model of a handler, built once from the annotated `impl` block: its
//! options, permissions and routes, and its actions, event handlers and
//! hooks with their parameters. Building it strips the inner attributes
//! (`#[async_action]`, `#[event]`, `#[on_connect]`, `#[on_disconnect]`) from
//! the block; what they mean is checked in `valid.rs` and rendered in
//! `expand.rs`, which read only this model.

use proc_macro2::{Ident, Span};
use syn::ext::IdentExt;
use syn::{
    Attribute, FnArg, ImplItem, ItemImpl, LitStr, Pat, PatType, Path, Signature, Type, parse_quote,
};

use crate::attr::{self, ActionOptions, HandlerOptions, Inner, Mode, Outer};
use crate::ctxt::Errors;
use crate::generics::{GenericAction, GenericHandler};
use crate::perm::{self, Perm};
use crate::route::{self, Route};
use crate::throttle::RateOpt;

/// An `#[action_handler]` or `#[consumer]` impl block: the model of the
/// type it makes a handler (the runtime's `Handler` trait is what it
/// implements).
pub(crate) struct HandlerImpl {
    pub(crate) outer: Outer,
    /// The runtime crate's path (`::rest_channels` unless `crate = "..."`).
    pub(crate) krate: Path,
    /// The impl block as written, minus the inner attributes.
    pub(crate) item: ItemImpl,
    pub(crate) permissions: Permissions,
    pub(crate) routes: Vec<Route>,
    /// `group = "..."`: the key (for errors) and the URL kwarg.
    pub(crate) group: Option<(Ident, LitStr)>,
    /// `generics = ListCreate`: the generic handler and its name as written.
    pub(crate) generics: Option<(GenericHandler, Ident)>,
    /// `observe`, as written: the generic `subscribe` and `unsubscribe`
    /// (with `generics` only, which `valid.rs` checks).
    pub(crate) observe: Option<Ident>,
    /// `throttle = "..."` (and `throttle_scope`): one budget for the
    /// block's own actions, the generic ones included.
    pub(crate) throttle: Option<RateOpt>,
    /// `throttle_scope = "..."`: the key (for errors) and the scope.
    pub(crate) throttle_scope: Option<(Ident, LitStr)>,
    pub(crate) actions: Vec<Action>,
    pub(crate) events: Vec<EventHandler>,
    pub(crate) hooks: Vec<Hook>,
}

/// The handler's permission.
pub(crate) enum Permissions {
    /// No `permissions` option: the app's settings decide.
    SettingsDefault,
    /// `permissions = []`.
    AllowAny,
    /// `permissions = [...]`, and the span of the list.
    Expr(Perm, Span),
}

/// An `#[async_action]` method.
pub(crate) struct Action {
    pub(crate) options: ActionOptions,
    pub(crate) sig: Signature,
    pub(crate) params: Vec<ActionParam>,
}

/// An `#[event("type")]` method.
pub(crate) struct EventHandler {
    pub(crate) attr: Attribute,
    /// The event type it handles.
    pub(crate) event_type: LitStr,
    pub(crate) sig: Signature,
    pub(crate) params: Vec<EventParam>,
}

/// An `#[on_connect]` or `#[on_disconnect]` method.
pub(crate) struct Hook {
    pub(crate) attr: Attribute,
    /// `Inner::OnConnect` or `Inner::OnDisconnect`.
    pub(crate) which: Inner,
    pub(crate) sig: Signature,
    pub(crate) params: Vec<HookParam>,
}

/// A parameter of an action (after the receiver), by where its value comes from.
pub(crate) enum ActionParam {
    /// The context: `&Context<'_>` (or `&mut Context`, which `valid.rs` refuses).
    Context(Box<Type>),
    /// A value read by its name: from the route's keyword argument of that
    /// name when the routes matched for the message have one (the innermost
    /// wins), else from the message key of that name.
    ///
    /// Which of the two is only known per message: the routes that lead to
    /// a handler are its parents', not its own.
    Named(NamedParam),
    /// A pattern that is not a plain name (`(a, b): (i32, i32)`): refused.
    Unnamed(Box<PatType>),
}

/// An action parameter read by its name.
pub(crate) struct NamedParam {
    /// The parameter's name (`mut` dropped), used as the local binding.
    pub(crate) ident: Ident,
    /// The name it is read by: the route kwarg or the message key, without `r#`.
    pub(crate) name: String,
    pub(crate) ty: Box<Type>,
}

/// A parameter of an event handler (after the receiver).
pub(crate) enum EventParam {
    /// `&Context<'_>`.
    Context(Box<Type>),
    /// `&Event`.
    Event(Box<Type>),
    /// Anything else: refused.
    Other(Box<PatType>),
}

/// A parameter of an `#[on_connect]` / `#[on_disconnect]` hook (after the receiver).
pub(crate) enum HookParam {
    /// `&Context<'_>`.
    Context(Box<Type>),
    /// Anything else: refused.
    Other(Box<PatType>),
}

impl HandlerImpl {
    pub(crate) fn new(
        outer: Outer,
        options: HandlerOptions,
        mut item: ItemImpl,
        errors: &mut Errors,
    ) -> HandlerImpl {
        let permissions = match options.permissions {
            None => Permissions::SettingsDefault,
            Some(list) => match perm::from_list(list.items, errors) {
                Some(perm) => Permissions::Expr(perm, list.span),
                None => Permissions::AllowAny,
            },
        };
        let routes = options.routes.map_or_else(Vec::new, |list| {
            list.items
                .into_iter()
                .filter_map(|expr| route::from_expr(expr, errors))
                .collect()
        });
        let (mut actions, mut events, mut hooks) = (Vec::new(), Vec::new(), Vec::new());
        for impl_item in &mut item.items {
            let ImplItem::Fn(method) = impl_item else {
                misplaced(impl_item, errors);
                continue;
            };
            let mut ours = take_inner(&mut method.attrs).into_iter();
            let Some((inner, attr)) = ours.next() else {
                continue;
            };
            for (other, extra) in ours {
                let message = if other == inner {
                    format!("duplicate `#[{}]` attribute", other.name())
                } else {
                    format!(
                        "`#[{}]` cannot be combined with `#[{}]`",
                        other.name(),
                        inner.name()
                    )
                };
                errors.spanned(&extra, message);
            }
            let sig = method.sig.clone();
            match inner {
                Inner::AsyncAction => {
                    let options = ActionOptions::parse(&attr, errors);
                    let params = params(&sig, ActionParam::Context, action_param);
                    actions.push(Action {
                        options,
                        sig,
                        params,
                    });
                }
                Inner::Event => {
                    if let Some(event_type) = attr::event_type(&attr, errors) {
                        let params = params(&sig, EventParam::Context, event_param);
                        events.push(EventHandler {
                            attr,
                            event_type,
                            sig,
                            params,
                        });
                    }
                }
                Inner::OnConnect | Inner::OnDisconnect => {
                    attr::no_args(&attr, inner, errors);
                    let params = params(&sig, HookParam::Context, |pat_type| {
                        HookParam::Other(Box::new(pat_type.clone()))
                    });
                    hooks.push(Hook {
                        attr,
                        which: inner,
                        sig,
                        params,
                    });
                }
            }
        }
        HandlerImpl {
            outer,
            krate: options
                .krate
                .unwrap_or_else(|| parse_quote!(::rest_channels)),
            item,
            permissions,
            routes,
            group: options.group,
            generics: options.generics,
            observe: options.observe,
            throttle: options.throttle,
            throttle_scope: options.throttle_scope,
            actions,
            events,
            hooks,
        }
    }

    /// The hook of this kind, if there is one (the first, if `valid.rs` found several).
    pub(crate) fn hook(&self, which: Inner) -> Option<&Hook> {
        self.hooks.iter().find(|h| h.which == which)
    }

    /// The actions that the runtime runs for this handler, in the order of
    /// their dispatch arms: those of `generics = ...`, then `subscribe` and
    /// `unsubscribe` when it has `observe`; each with the option that asks
    /// for it.
    pub(crate) fn generic_actions(&self) -> Vec<(GenericAction, &Ident)> {
        let Some((generic, name)) = &self.generics else {
            return Vec::new();
        };
        let mut actions: Vec<(GenericAction, &Ident)> =
            generic.actions().iter().map(|a| (*a, name)).collect();
        if let Some(observe) = &self.observe {
            actions.extend(GenericAction::OBSERVE.iter().map(|a| (*a, observe)));
        }
        actions
    }

    /// Whether the block is a plain `impl Type { ... }`, the only kind the
    /// macros implement traits for.
    pub(crate) fn is_inherent_and_concrete(&self) -> bool {
        self.item.trait_.is_none()
            && self.item.generics.params.is_empty()
            && self.item.generics.where_clause.is_none()
    }
}

impl Action {
    /// The action's name on the wire: `name = "..."`, else the method's name.
    pub(crate) fn name(&self) -> String {
        match &self.options.name {
            Some(name) => name.value(),
            None => self.sig.ident.unraw().to_string(),
        }
    }

    /// Where the name was given: the `name` literal, else the method's name.
    pub(crate) fn name_span(&self) -> Span {
        match &self.options.name {
            Some(name) => name.span(),
            None => self.sig.ident.span(),
        }
    }

    /// Whether it is `detached`: it runs beside the connection's other messages.
    pub(crate) fn is_detached(&self) -> bool {
        self.options.detached.is_some()
    }

    pub(crate) fn mode(&self) -> Mode {
        self.options
            .mode
            .as_ref()
            .map_or(Mode::Response, |(mode, _)| *mode)
    }
}

/// Removes the inner attributes from a method's attributes; returns them in order.
fn take_inner(attrs: &mut Vec<Attribute>) -> Vec<(Inner, Attribute)> {
    let mut ours = Vec::new();
    attrs.retain(|attr| match Inner::of(attr) {
        Some(inner) => {
            ours.push((inner, attr.clone()));
            false
        }
        None => true,
    });
    ours
}

/// Inner attributes on an associated const, type or macro: strip and report them.
fn misplaced(item: &mut ImplItem, errors: &mut Errors) {
    let attrs = match item {
        ImplItem::Const(c) => &mut c.attrs,
        ImplItem::Type(t) => &mut t.attrs,
        ImplItem::Macro(m) => &mut m.attrs,
        _ => return,
    };
    for (inner, attr) in take_inner(attrs) {
        errors.spanned(
            &attr,
            format!("`#[{}]` applies to methods only", inner.name()),
        );
    }
}

/// The typed parameters (after the receiver): the context, recognized the
/// same way in every kind of method, and the rest classified by `other`.
fn params<P>(
    sig: &Signature,
    context: impl Fn(Box<Type>) -> P,
    other: impl Fn(&PatType) -> P,
) -> Vec<P> {
    sig.inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat_type) => Some(pat_type),
            FnArg::Receiver(_) => None,
        })
        .map(|pat_type| {
            if reference_to(&pat_type.ty, "Context") {
                context(pat_type.ty.clone())
            } else {
                other(pat_type)
            }
        })
        .collect()
}

/// An action parameter that is not the context: read by its name, if its
/// pattern is a plain name.
fn action_param(pat_type: &PatType) -> ActionParam {
    match &*pat_type.pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
            ActionParam::Named(NamedParam {
                ident: pat.ident.clone(),
                name: pat.ident.unraw().to_string(),
                ty: pat_type.ty.clone(),
            })
        }
        _ => ActionParam::Unnamed(Box::new(pat_type.clone())),
    }
}

/// An event handler parameter that is not the context: the event, or something else.
fn event_param(pat_type: &PatType) -> EventParam {
    if reference_to(&pat_type.ty, "Event") {
        EventParam::Event(pat_type.ty.clone())
    } else {
        EventParam::Other(Box::new(pat_type.clone()))
    }
}

/// Whether `ty` is `&Name`, `&Name<...>` or `&path::to::Name<...>` (or `&mut`).
pub(crate) fn reference_to(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Reference(r) => names(&r.elem, name),
        Type::Group(g) => reference_to(&g.elem, name),
        Type::Paren(p) => reference_to(&p.elem, name),
        _ => false,
    }
}

/// Whether `ty` is a path whose last segment is `name`.
pub(crate) fn names(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => {
            p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == name)
        }
        Type::Group(g) => names(&g.elem, name),
        Type::Paren(p) => names(&p.elem, name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn model(outer: Outer, item: ItemImpl) -> (HandlerImpl, Vec<String>) {
        let mut errors = Errors::default();
        let handler = HandlerImpl::new(outer, HandlerOptions::default(), item, &mut errors);
        (handler, errors.into_messages())
    }

    #[test]
    fn reads_and_strips_the_inner_attributes() {
        let (h, errors) = model(
            Outer::Consumer,
            parse_quote! {
                impl Room {
                    /// Docs stay.
                    #[async_action(name = "sync")]
                    fn sync_echo(&self, mut pk: i64, ctx: &rest_channels::Context<'_>, r#type: String) -> ActionResult { Ok(reply!(null, 200)) }
                    #[rest_channels::event("chat.message")]
                    async fn chat(&self, event: &Event, ctx: &Context) {}
                    #[on_connect]
                    async fn hello(&self) {}
                    fn helper(&self) {}
                }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        let item = &h.item;
        let text = quote!(#item).to_string();
        for attr in [
            "# [async_action",
            "# [rest_channels :: event",
            "# [on_connect",
        ] {
            assert!(!text.contains(attr), "{text}");
        }
        assert!(text.contains("Docs stay"));
        assert!(matches!(h.permissions, Permissions::SettingsDefault));
        let krate = &h.krate;
        assert_eq!(quote!(#krate).to_string(), ":: rest_channels");

        let [action] = &h.actions[..] else { panic!() };
        assert_eq!(action.name(), "sync");
        let [
            ActionParam::Named(pk),
            ActionParam::Context(_),
            ActionParam::Named(ty),
        ] = &action.params[..]
        else {
            panic!()
        };
        assert_eq!(
            (pk.ident.to_string().as_str(), pk.name.as_str()),
            ("pk", "pk")
        );
        assert_eq!(
            (ty.ident.to_string().as_str(), ty.name.as_str()),
            ("r#type", "type")
        );

        let [event] = &h.events[..] else { panic!() };
        assert_eq!(event.event_type.value(), "chat.message");
        assert!(matches!(
            &event.params[..],
            [EventParam::Event(_), EventParam::Context(_)]
        ));
        assert!(h.hook(Inner::OnConnect).is_some() && h.hook(Inner::OnDisconnect).is_none());
    }

    #[test]
    fn parameters() {
        let (h, _) = model(
            Outer::ActionHandler,
            parse_quote! {
                impl X {
                    #[async_action]
                    async fn a(&self, (a, b): (i32, i32), ctx: &mut Context<'_>, event: &Event, c: Context) {}
                    #[async_action]
                    async fn r#match(&self) {}
                }
            },
        );
        let [action, raw] = &h.actions[..] else {
            panic!()
        };
        assert!(matches!(
            &action.params[..],
            [
                ActionParam::Unnamed(_),
                ActionParam::Context(_),
                ActionParam::Named(_),
                ActionParam::Named(_)
            ]
        ));
        assert_eq!(raw.name(), "match");
    }

    #[test]
    fn misplaced_and_combined_attributes() {
        let (h, errors) = model(
            Outer::Consumer,
            parse_quote! {
                impl X {
                    #[async_action]
                    const C: u8 = 1;
                    #[async_action]
                    #[async_action]
                    async fn a(&self) {}
                    #[event("x")]
                    #[on_connect]
                    async fn b(&self) {}
                }
            },
        );
        assert_eq!(
            errors,
            [
                "`#[async_action]` applies to methods only",
                "duplicate `#[async_action]` attribute",
                "`#[on_connect]` cannot be combined with `#[event]`",
            ]
        );
        assert_eq!((h.actions.len(), h.events.len(), h.hooks.len()), (1, 1, 0));
    }

    #[test]
    fn type_shapes() {
        let context: Type = parse_quote!(&(rest_channels::Context<'_>));
        assert!(reference_to(&context, "Context"));
        let not: Type = parse_quote!(Context<'_>);
        assert!(!reference_to(&not, "Context"));
        let not: Type = parse_quote!(&<T as Tr>::Context);
        assert!(!reference_to(&not, "Context"));
    }
}
