//! Attribute options: `key = value` lists, checked against each attribute's
//! known keys. Unknown and duplicate keys are reported, all of them, at the
//! key; a value of the wrong shape is reported at the value.
//!
//! This stage is only syntax: what the options *mean* together (a
//! `broadcast_type` without `mode = "broadcast"`, say) is `valid.rs`'s job.

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, LitBool, LitStr, Meta, Path, Token};

use crate::ctxt::Errors;
use crate::generics::GenericHandler;
use crate::throttle::{RateOpt, parse_rate, rate_error};

/// The options of `#[action_handler(...)]` and `#[consumer(...)]`.
#[derive(Default)]
pub(crate) struct HandlerOptions {
    /// `crate = "path"`: where the runtime is.
    pub(crate) krate: Option<Path>,
    /// `permissions = [...]`.
    pub(crate) permissions: Option<List>,
    /// `routes = [...]`.
    pub(crate) routes: Option<List>,
    /// `group = "url_kwarg"` (the key, for errors, and the value).
    pub(crate) group: Option<(Ident, LitStr)>,
    /// `generics = ListCreate`, and the name as written.
    pub(crate) generics: Option<(GenericHandler, Ident)>,
    /// `observe`: the flag as written.
    pub(crate) observe: Option<Ident>,
    /// `throttle = "5/10s"`: one budget for the block's own actions.
    pub(crate) throttle: Option<RateOpt>,
    /// `throttle_scope = "uploads"`: the key (for errors) and the scope.
    pub(crate) throttle_scope: Option<(Ident, LitStr)>,
}

/// A bracketed, comma-separated list of expressions: `[A, B & C]`.
pub(crate) struct List {
    /// The span of the brackets.
    pub(crate) span: Span,
    pub(crate) items: Vec<Expr>,
}

/// The options of `#[async_action(...)]`.
#[derive(Default)]
pub(crate) struct ActionOptions {
    /// `name = "wire_name"`.
    pub(crate) name: Option<LitStr>,
    /// `mode = "..."`, with its literal.
    pub(crate) mode: Option<(Mode, LitStr)>,
    /// `broadcast_type = "chat.message"`.
    pub(crate) broadcast_type: Option<(Ident, LitStr)>,
    /// `send_response_in_broadcast = false`.
    pub(crate) send_response: Option<(Ident, LitBool)>,
    /// `detached`: the flag as written.
    pub(crate) detached: Option<Ident>,
    /// `throttle = "5/10s"`.
    pub(crate) throttle: Option<RateOpt>,
    /// `throttle_scope = "uploads"`: the key (for errors) and the scope.
    pub(crate) throttle_scope: Option<(Ident, LitStr)>,
}

/// What an action does with its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Reply to the sender (the default).
    Response,
    /// Send an event to the connection's group (and reply, unless told not to).
    Broadcast,
    /// Nothing on success; errors are still replied.
    None,
}

const MODES: &[&str] = &["response", "broadcast", "none"];

/// The attribute being expanded: `#[action_handler]` or `#[consumer]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outer {
    ActionHandler,
    Consumer,
}

impl Outer {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outer::ActionHandler => "action_handler",
            Outer::Consumer => "consumer",
        }
    }
}

/// The attributes that `#[action_handler]` / `#[consumer]` read off the
/// methods of their `impl` block, recognized by their last path segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inner {
    AsyncAction,
    Event,
    OnConnect,
    OnDisconnect,
}

impl Inner {
    pub(crate) fn of(attr: &Attribute) -> Option<Inner> {
        let last = attr.path().segments.last()?;
        [
            Inner::AsyncAction,
            Inner::Event,
            Inner::OnConnect,
            Inner::OnDisconnect,
        ]
        .into_iter()
        .find(|inner| last.ident == inner.name())
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Inner::AsyncAction => "async_action",
            Inner::Event => "event",
            Inner::OnConnect => "on_connect",
            Inner::OnDisconnect => "on_disconnect",
        }
    }
}

impl HandlerOptions {
    pub(crate) fn parse(outer: Outer, args: TokenStream, errors: &mut Errors) -> HandlerOptions {
        let expected: &[&str] = match outer {
            Outer::ActionHandler => &[
                "permissions",
                "routes",
                "generics",
                "observe",
                "throttle",
                "throttle_scope",
                "crate",
            ],
            Outer::Consumer => &[
                "permissions",
                "routes",
                "generics",
                "observe",
                "throttle",
                "throttle_scope",
                "group",
                "crate",
            ],
        };
        let mut options = HandlerOptions::default();
        each_option(args, errors, |opt, errors| {
            match opt.key.to_string().as_str() {
                "permissions" => opt.store(opt.list(), &mut options.permissions, errors),
                "routes" => opt.store(opt.list(), &mut options.routes, errors),
                // Parsed on an `#[action_handler]` too, so that `valid.rs` can
                // say why it does not belong there.
                "group" => opt.store(
                    opt.lit_str().map(|lit| (opt.key.clone(), lit)),
                    &mut options.group,
                    errors,
                ),
                "generics" => opt.store(opt.generic_handler(), &mut options.generics, errors),
                "observe" => opt.store(opt.flag(), &mut options.observe, errors),
                "throttle" => opt.store(opt.rate(), &mut options.throttle, errors),
                "throttle_scope" => opt.store(
                    opt.lit_str().map(|lit| (opt.key.clone(), lit)),
                    &mut options.throttle_scope,
                    errors,
                ),
                "crate" => opt.store(opt.path(), &mut options.krate, errors),
                _ => errors.push(unknown(&opt.key, expected)),
            }
        });
        options
    }
}

impl ActionOptions {
    /// The options of one `#[async_action]` / `#[async_action(...)]` attribute.
    pub(crate) fn parse(attr: &Attribute, errors: &mut Errors) -> ActionOptions {
        const EXPECTED: &[&str] = &[
            "name",
            "mode",
            "broadcast_type",
            "send_response_in_broadcast",
            "detached",
            "throttle",
            "throttle_scope",
        ];
        let mut options = ActionOptions::default();
        let Some(tokens) = list_args(attr, errors) else {
            return options;
        };
        each_option(tokens, errors, |opt, errors| {
            match opt.key.to_string().as_str() {
                "name" => opt.store(opt.lit_str(), &mut options.name, errors),
                "mode" => opt.store(opt.lit_str().and_then(mode), &mut options.mode, errors),
                "broadcast_type" => opt.store(
                    opt.lit_str().map(|lit| (opt.key.clone(), lit)),
                    &mut options.broadcast_type,
                    errors,
                ),
                "send_response_in_broadcast" => opt.store(
                    opt.lit_bool().map(|lit| (opt.key.clone(), lit)),
                    &mut options.send_response,
                    errors,
                ),
                "detached" => opt.store(opt.flag(), &mut options.detached, errors),
                "throttle" => opt.store(opt.rate(), &mut options.throttle, errors),
                "throttle_scope" => opt.store(
                    opt.lit_str().map(|lit| (opt.key.clone(), lit)),
                    &mut options.throttle_scope,
                    errors,
                ),
                _ => errors.push(unknown(&opt.key, EXPECTED)),
            }
        });
        options
    }
}

fn mode(lit: LitStr) -> syn::Result<(Mode, LitStr)> {
    let mode = match lit.value().as_str() {
        "response" => Mode::Response,
        "broadcast" => Mode::Broadcast,
        "none" => Mode::None,
        other => {
            let message = format!("unknown mode `{other}`, expected one of: {}", one_of(MODES));
            return Err(syn::Error::new(lit.span(), message));
        }
    };
    Ok((mode, lit))
}

/// The event type of `#[event("chat.message")]`.
pub(crate) fn event_type(attr: &Attribute, errors: &mut Errors) -> Option<LitStr> {
    const USAGE: &str = "expected the event type as a string literal: `#[event(\"chat.message\")]`";
    match &attr.meta {
        Meta::List(list) => match syn::parse2::<LitStr>(list.tokens.clone()) {
            Ok(lit) => Some(lit),
            Err(_) if list.tokens.is_empty() => {
                errors.spanned(attr, USAGE);
                None
            }
            Err(_) => {
                errors.spanned(&list.tokens, USAGE);
                None
            }
        },
        _ => {
            errors.spanned(attr, USAGE);
            None
        }
    }
}

/// `#[on_connect]` and `#[on_disconnect]` take nothing.
pub(crate) fn no_args(attr: &Attribute, inner: Inner, errors: &mut Errors) {
    if !matches!(attr.meta, Meta::Path(_)) {
        errors.spanned(attr, format!("`#[{}]` takes no arguments", inner.name()));
    }
}

/// The tokens inside `#[attr(...)]`; nothing for `#[attr]`; an error for `#[attr = ...]`.
fn list_args(attr: &Attribute, errors: &mut Errors) -> Option<TokenStream> {
    match &attr.meta {
        Meta::Path(_) => None,
        Meta::List(list) => Some(list.tokens.clone()),
        Meta::NameValue(nv) => {
            let name = attr
                .path()
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            errors.spanned(nv, format!("expected `#[{name}]` or `#[{name}(...)]`"));
            None
        }
    }
}

/// One `key = value` of an option list (`value` is `None` when there is no `=`).
struct Opt {
    key: Ident,
    value: Option<(Span, TokenStream)>,
}

/// The entries of an option list: `tokens` split at their top-level
/// commas, each with the span of the comma that ended it (`None` for the
/// last). An empty entry (`a, , b`) is kept, for its error.
pub(crate) fn split_at_commas(tokens: TokenStream) -> Vec<(Vec<TokenTree>, Option<Span>)> {
    let mut entries = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while tokens.peek().is_some() {
        let mut entry = Vec::new();
        let mut comma = None;
        for tt in tokens.by_ref() {
            match tt {
                TokenTree::Punct(p) if p.as_char() == ',' => {
                    comma = Some(p.span());
                    break;
                }
                tt => entry.push(tt),
            }
        }
        entries.push((entry, comma));
    }
    entries
}

/// Splits an option list at its top-level commas and hands each entry to
/// `each`, in order. Reports entries that do not start with a name, and
/// every repeated key (only the first occurrence of a key is handed over).
fn each_option(tokens: TokenStream, errors: &mut Errors, mut each: impl FnMut(&Opt, &mut Errors)) {
    let mut keys: Vec<Ident> = Vec::new();
    for (entry, comma) in split_at_commas(tokens) {
        let mut entry = entry.into_iter();
        let key = match entry.next() {
            Some(TokenTree::Ident(key)) => key,
            Some(other) => {
                errors.at(other.span(), "expected an option name: `key = value`");
                continue;
            }
            None => {
                errors.at(
                    comma.unwrap_or_else(Span::call_site),
                    "expected an option before `,`",
                );
                continue;
            }
        };
        let value = match entry.next() {
            Some(TokenTree::Punct(eq)) if eq.as_char() == '=' => Some((eq.span(), entry.collect())),
            Some(other) => {
                errors.at(other.span(), format!("expected `=` after `{key}`"));
                continue;
            }
            None => None,
        };
        if let Some(first) = keys.iter().find(|k| **k == key) {
            let mut error = syn::Error::new(key.span(), format!("duplicate option `{key}`"));
            error.combine(syn::Error::new(first.span(), "first given here"));
            errors.push(error);
            continue;
        }
        keys.push(key.clone());
        each(&Opt { key, value }, errors);
    }
}

impl Opt {
    /// Keeps a parsed value, or reports why it did not parse.
    fn store<T>(&self, value: syn::Result<T>, slot: &mut Option<T>, errors: &mut Errors) {
        match value {
            Ok(value) => *slot = Some(value),
            Err(error) => errors.push(error),
        }
    }

    /// The tokens after `=`, with an error naming what was expected there.
    fn value(&self, expected: &str) -> syn::Result<&TokenStream> {
        let key = &self.key;
        match &self.value {
            None => Err(syn::Error::new(
                key.span(),
                format!("expected `{key} = {expected}`"),
            )),
            Some((eq, tokens)) if tokens.is_empty() => Err(syn::Error::new(
                *eq,
                format!("expected a value after `=`: `{key} = {expected}`"),
            )),
            Some((_, tokens)) => Ok(tokens),
        }
    }

    /// A flag: the key alone (`detached`), without a value.
    fn flag(&self) -> syn::Result<Ident> {
        let key = &self.key;
        let message = format!("`{key}` is a flag: write `{key}` alone, without `= ...`");
        match &self.value {
            None => Ok(key.clone()),
            Some((eq, tokens)) if tokens.is_empty() => Err(syn::Error::new(*eq, message)),
            Some((_, tokens)) => Err(syn::Error::new_spanned(tokens, message)),
        }
    }

    fn lit_str(&self) -> syn::Result<LitStr> {
        let tokens = self.value("\"...\"")?;
        syn::parse2(tokens.clone()).map_err(|_| {
            syn::Error::new_spanned(
                tokens,
                format!("expected a string literal: `{} = \"...\"`", self.key),
            )
        })
    }

    /// `throttle = "5/10s"`: a rate, parsed now (a bad one is an error at the literal).
    fn rate(&self) -> syn::Result<RateOpt> {
        let lit = self.lit_str()?;
        match parse_rate(&lit.value()) {
            Ok(rate) => Ok(RateOpt { rate, lit }),
            Err(reason) => Err(rate_error(&lit, reason)),
        }
    }

    fn lit_bool(&self) -> syn::Result<LitBool> {
        let tokens = self.value("true")?;
        syn::parse2(tokens.clone()).map_err(|_| {
            syn::Error::new_spanned(
                tokens,
                format!("expected `true` or `false`: `{} = false`", self.key),
            )
        })
    }

    fn list(&self) -> syn::Result<List> {
        let tokens = self.value("[...]")?;
        let mut iter = tokens.clone().into_iter();
        match (iter.next(), iter.next()) {
            (Some(TokenTree::Group(group)), None) if group.delimiter() == Delimiter::Bracket => {
                let items =
                    Punctuated::<Expr, Token![,]>::parse_terminated.parse2(group.stream())?;
                Ok(List {
                    span: group.span(),
                    items: items.into_iter().collect(),
                })
            }
            _ => Err(syn::Error::new_spanned(
                tokens,
                format!("expected a list in brackets: `{} = [...]`", self.key),
            )),
        }
    }

    /// `generics = ListCreate`: one of the nine names, alone (the model is
    /// the handler's `ModelHandler::Model`, not a parameter).
    fn generic_handler(&self) -> syn::Result<(GenericHandler, Ident)> {
        let tokens = self.value("ListCreate")?;
        let mut iter = tokens.clone().into_iter();
        let name = match (iter.next(), iter.next()) {
            (Some(TokenTree::Ident(name)), None) => name,
            _ => {
                return Err(syn::Error::new_spanned(
                    tokens,
                    "expected the name of a generic handler, alone: `generics = ListCreate` (the model is the handler's `ModelHandler::Model`)",
                ));
            }
        };
        match GenericHandler::from_name(&name.to_string()) {
            Some(handler) => Ok((handler, name)),
            None => {
                let expected = GenericHandler::ALL.map(GenericHandler::name);
                Err(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown generic handler `{name}`, expected one of: {}",
                        one_of(&expected)
                    ),
                ))
            }
        }
    }

    /// `crate = "::rest_channels"`.
    fn path(&self) -> syn::Result<Path> {
        let lit = self.lit_str()?;
        lit.parse_with(Path::parse_mod_style).map_err(|_| {
            syn::Error::new(
                lit.span(),
                "expected the path of the runtime crate: `crate = \"::rest_channels\"`",
            )
        })
    }
}

fn unknown(key: &Ident, expected: &[&str]) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!(
            "unknown option `{key}`, expected one of: {}",
            one_of(expected)
        ),
    )
}

/// `` `a`, `b`, `c` ``.
pub(crate) fn one_of(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;

    #[test]
    fn action_options() {
        let mut errors = Errors::default();
        let attr: Attribute = parse_quote!(#[async_action(name = "sync", mode = "broadcast", broadcast_type = "chat.message", send_response_in_broadcast = false,)]);
        let o = ActionOptions::parse(&attr, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(o.name.unwrap().value(), "sync");
        assert_eq!(o.mode.unwrap().0, Mode::Broadcast);
        assert_eq!(o.broadcast_type.unwrap().1.value(), "chat.message");
        assert!(!o.send_response.unwrap().1.value);

        let attr: Attribute = parse_quote!(#[rest_channels::async_action]);
        assert_eq!(Inner::of(&attr), Some(Inner::AsyncAction));
        let o = ActionOptions::parse(&attr, &mut errors);
        assert!(errors.is_empty() && o.name.is_none() && o.mode.is_none());
    }

    #[test]
    fn action_option_errors_are_all_reported() {
        let mut errors = Errors::default();
        let attr: Attribute = parse_quote!(#[async_action(foo = 1, mode = "loud", name = "a", name = "b", send_response_in_broadcast = "no", bar)]);
        ActionOptions::parse(&attr, &mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "unknown option `foo`, expected one of: `name`, `mode`, `broadcast_type`, `send_response_in_broadcast`, `detached`, `throttle`, `throttle_scope`",
                "unknown mode `loud`, expected one of: `response`, `broadcast`, `none`",
                "duplicate option `name`",
                "first given here",
                "expected `true` or `false`: `send_response_in_broadcast = false`",
                "unknown option `bar`, expected one of: `name`, `mode`, `broadcast_type`, `send_response_in_broadcast`, `detached`, `throttle`, `throttle_scope`",
            ]
        );
    }

    #[test]
    fn flags() {
        let mut errors = Errors::default();
        let attr: Attribute = parse_quote!(#[async_action(detached, mode = "none")]);
        let o = ActionOptions::parse(&attr, &mut errors);
        assert_eq!(o.detached.unwrap().to_string(), "detached");
        let o = HandlerOptions::parse(
            Outer::ActionHandler,
            quote!(generics = List, observe),
            &mut errors,
        );
        assert_eq!(o.observe.unwrap().to_string(), "observe");
        assert!(errors.is_empty());

        let attr: Attribute = parse_quote!(#[async_action(detached = true)]);
        let o = ActionOptions::parse(&attr, &mut errors);
        assert!(o.detached.is_none());
        HandlerOptions::parse(Outer::Consumer, quote!(observe = ), &mut errors);
        HandlerOptions::parse(Outer::Consumer, quote!(observe, observe), &mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "`detached` is a flag: write `detached` alone, without `= ...`",
                "`observe` is a flag: write `observe` alone, without `= ...`",
                "duplicate option `observe`",
                "first given here",
            ]
        );
    }

    #[test]
    fn value_shapes() {
        let mut errors = Errors::default();
        let attr: Attribute = parse_quote!(#[async_action(name, mode = , broadcast_type = chat)]);
        ActionOptions::parse(&attr, &mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "expected `name = \"...\"`",
                "expected a value after `=`: `mode = \"...\"`",
                "expected a string literal: `broadcast_type = \"...\"`",
            ]
        );
        let mut errors = Errors::default();
        let attr: Attribute = parse_quote!(#[async_action = "x"]);
        ActionOptions::parse(&attr, &mut errors);
        assert_eq!(
            errors.into_messages(),
            ["expected `#[async_action]` or `#[async_action(...)]`"]
        );
    }

    #[test]
    fn handler_options() {
        let mut errors = Errors::default();
        let args = quote!(
            permissions = [A & !B, C],
            routes = [path("x/", X)],
            group = "room",
            crate = "::rc"
        );
        let o = HandlerOptions::parse(Outer::Consumer, args, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(o.permissions.unwrap().items.len(), 2);
        assert_eq!(o.routes.unwrap().items.len(), 1);
        assert_eq!(o.group.unwrap().1.value(), "room");
        let krate = o.krate.unwrap();
        assert_eq!(quote!(#krate).to_string(), ":: rc");

        let args = quote!(
            permissions = A,
            routes = [],
            sneaky = 1,
            crate = "not a path"
        );
        HandlerOptions::parse(Outer::ActionHandler, args, &mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "expected a list in brackets: `permissions = [...]`",
                "unknown option `sneaky`, expected one of: `permissions`, `routes`, `generics`, `observe`, `throttle`, `throttle_scope`, `crate`",
                "expected the path of the runtime crate: `crate = \"::rest_channels\"`",
            ]
        );
    }

    #[test]
    fn throttle_options() {
        let mut errors = Errors::default();
        let attr: Attribute =
            parse_quote!(#[async_action(throttle = "5/10s", throttle_scope = "uploads")]);
        let o = ActionOptions::parse(&attr, &mut errors);
        let throttle = o.throttle.unwrap();
        assert_eq!((throttle.rate.requests, throttle.rate.seconds), (5, 10));
        assert_eq!(o.throttle_scope.unwrap().1.value(), "uploads");
        let o = HandlerOptions::parse(
            Outer::ActionHandler,
            quote!(throttle = "100/min"),
            &mut errors,
        );
        assert_eq!(o.throttle.unwrap().rate.seconds, 60);
        assert!(errors.is_empty());

        let attr: Attribute = parse_quote!(#[async_action(throttle = "5 per minute")]);
        let o = ActionOptions::parse(&attr, &mut errors);
        assert!(o.throttle.is_none());
        HandlerOptions::parse(Outer::Consumer, quote!(throttle = 5), &mut errors);
        HandlerOptions::parse(Outer::Consumer, quote!(throttle_scope), &mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "invalid rate `5 per minute`: no `/` (expected `<requests>/<period>`, the period `s`, `min`, `hour` or `day` with an optional count before it, such as \"5/10s\", \"100/min\", \"1000/hour\", \"10/day\")",
                "expected a string literal: `throttle = \"...\"`",
                "expected `throttle_scope = \"...\"`",
            ]
        );
    }

    #[test]
    fn generics_option() {
        let mut errors = Errors::default();
        let o = HandlerOptions::parse(
            Outer::ActionHandler,
            quote!(generics = RetrieveUpdate),
            &mut errors,
        );
        assert!(errors.is_empty());
        let (handler, name) = o.generics.unwrap();
        assert_eq!(
            (handler, name.to_string().as_str()),
            (GenericHandler::RetrieveUpdate, "RetrieveUpdate")
        );

        for args in [
            quote!(generics = ListCreateAPIView),
            quote!(generics = ListCreate<Note>),
            quote!(generics = "List"),
            quote!(generics),
        ] {
            HandlerOptions::parse(Outer::Consumer, args, &mut errors);
        }
        assert_eq!(
            errors.into_messages(),
            [
                "unknown generic handler `ListCreateAPIView`, expected one of: `Create`, `List`, `Retrieve`, `Update`, `Destroy`, `ListCreate`, `RetrieveUpdate`, `RetrieveDestroy`, `RetrieveUpdateDestroy`",
                "expected the name of a generic handler, alone: `generics = ListCreate` (the model is the handler's `ModelHandler::Model`)",
                "expected the name of a generic handler, alone: `generics = ListCreate` (the model is the handler's `ModelHandler::Model`)",
                "expected `generics = ListCreate`",
            ]
        );
    }

    #[test]
    fn event_and_hook_args() {
        let mut errors = Errors::default();
        let attr: Attribute = parse_quote!(#[event("chat.message")]);
        assert_eq!(
            event_type(&attr, &mut errors).unwrap().value(),
            "chat.message"
        );
        for attr in [
            parse_quote!(#[event]),
            parse_quote!(#[event(chat)]),
            parse_quote!(#[event()]),
        ] {
            assert!(event_type(&attr, &mut errors).is_none());
        }
        let attr: Attribute = parse_quote!(#[on_connect(x)]);
        no_args(&attr, Inner::OnConnect, &mut errors);
        let messages = errors.into_messages();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[3], "`#[on_connect]` takes no arguments");
    }
}
