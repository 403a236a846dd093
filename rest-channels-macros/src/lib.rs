//! The macros of [rest-channels]: `#[action_handler]`, `#[consumer]`, the
//! method attributes they read (`#[async_action]`, `#[event]`,
//! `#[on_connect]`, `#[on_disconnect]`) and `#[derive(Model)]`.
//!
//! They are documented where users meet them, in the runtime crate that
//! re-exports them (`rest_channels::action_handler` and the others); this
//! crate is an implementation detail, and its generated code calls the
//! runtime only through `::rest_channels::...` and its hidden `__private`
//! module (re-exports of the runtime's `dispatch`, `routing` and `generics`).
//!
//! [rest-channels]: https://docs.rs/rest-channels
//!
//! # How
//!
//! Each handler macro goes parse (`attr.rs`, `perm.rs`, `route.rs`) ->
//! model (`model.rs`: the impl block, its actions, event handlers and hooks
//! with their parameters) -> check (`valid.rs`) -> expand (`expand.rs`),
//! or, on errors, the errors and the fallback (`fallback.rs`). Every stage
//! reports into one `ctxt::Errors`, so every mistake is reported at once.
//!
//! # Generated code
//!
//! For
//!
//! ```ignore
//! #[action_handler(permissions = [IsAuthenticated], generics = Retrieve)]
//! impl Items {
//!     #[async_action]
//!     async fn touch(&self, ctx: &Context<'_>, pk: i64) -> ActionResult { ... }
//! }
//! ```
//!
//! the expansion is the block itself (inner attributes stripped) and, in
//! outline:
//!
//! ```ignore
//! impl ::rest_channels::Handler for Items {
//!     fn permission() -> impl ::rest_channels::Permission {
//!         ::rest_channels::__private::permission(IsAuthenticated)
//!     }
//!     fn handle<'a>(&'a self, ctx: &'a mut ::rest_channels::Context<'_>) -> impl Future<Output = Result<Reply, Error>> + Send {
//!         async move {
//!             ::rest_channels::__private::assert_model_handler::<Self>();
//!             ::rest_channels::__private::check(<Self as ::rest_channels::Handler>::permission(), ctx).await?;
//!             match ctx.action() {
//!                 "touch" => {
//!                     ::rest_channels::__private::assert_arg::<i64>();
//!                     // the route's `pk` if the matched routes have one, else the message's
//!                     let pk = match ::rest_channels::__private::arg::<i64>(ctx, "pk") {
//!                         Ok(v) => v,
//!                         Err(e) => return Err(::rest_channels::__private::arg_errors([Some(e)])),
//!                     };
//!                     let r = self.touch(ctx, pk).await;
//!                     ::rest_channels::__private::respond(ctx, r)
//!                 }
//!                 "retrieve" => ::rest_channels::__private::generic(self, ctx, ::rest_channels::__private::GenericAction::Retrieve).await,
//!                 _ => Err(::rest_channels::__private::action_not_allowed(ctx)),
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! Routes add a `static ROUTES: RouteTable` of `RouteSpec`s (a regex and the
//! kind of each kwarg, or a prefix) and a `match` on the route that took
//! the rest of the path; a `#[consumer]` adds `impl Consumer` with its
//! group, events and hooks. `observe` adds the arms `"subscribe"` and
//! `"unsubscribe"` (`GenericAction::Subscribe`, `::Unsubscribe`) after the
//! generic ones. A `detached` action has
//! `::rest_channels::__private::detach(ctx).await?;` between reading its
//! arguments and the call: there the connection's loop moves the rest of
//! the dispatch out of its queue.

mod attr;
mod ctxt;
mod derive_model;
mod describe;
mod expand;
mod fallback;
mod generics;
mod model;
mod perm;
mod route;
mod throttle;
mod valid;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;

use crate::attr::{HandlerOptions, Inner, Outer};
use crate::ctxt::Errors;
use crate::model::HandlerImpl;

// The macros' documentation is on their re-exports in the runtime crate
// (rustdoc would append any doc comment here to it).

#[proc_macro_attribute]
pub fn action_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    handler(Outer::ActionHandler, args.into(), input.into()).into()
}

#[proc_macro_attribute]
pub fn consumer(args: TokenStream, input: TokenStream) -> TokenStream {
    handler(Outer::Consumer, args.into(), input.into()).into()
}

// The method attributes are read (and removed) by the enclosing macro; on
// their own they are errors.
#[proc_macro_attribute]
pub fn async_action(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::AsyncAction, input.into()).into()
}

#[proc_macro_attribute]
pub fn event(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::Event, input.into()).into()
}

#[proc_macro_attribute]
pub fn on_connect(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::OnConnect, input.into()).into()
}

#[proc_macro_attribute]
pub fn on_disconnect(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::OnDisconnect, input.into()).into()
}

// `#[derive(Model)]`: documented on its re-export in the runtime crate, as
// the attribute macros are (a doc comment here would be appended there).
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    derive_model::derive(input.into()).into()
}

/// `#[action_handler]` / `#[consumer]`: parse -> model -> check -> expand,
/// or the errors and the fallback.
fn handler(outer: Outer, args: TokenStream2, input: TokenStream2) -> TokenStream2 {
    let mut errors = Errors::default();
    let options = HandlerOptions::parse(outer, args, &mut errors);
    let item = match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Impl(item)) => item,
        Ok(_) => {
            errors.at(
                Span::call_site(),
                format!(
                    "`#[{}]` goes on an `impl Type {{ ... }}` block",
                    outer.name()
                ),
            );
            return with_errors(errors, input);
        }
        Err(error) => {
            errors.push(error);
            return with_errors(errors, input);
        }
    };
    let handler = HandlerImpl::new(outer, options, item, &mut errors);
    valid::check(&handler, &mut errors);
    if errors.is_empty() {
        expand::expand(&handler)
    } else {
        with_errors(errors, fallback::expand(&handler))
    }
}

fn with_errors(errors: Errors, tokens: TokenStream2) -> TokenStream2 {
    let errors = errors.into_result().err().map(|e| e.into_compile_error());
    quote!(#errors #tokens)
}

/// A method attribute expanded on its own: it is not inside an annotated
/// block (which would have removed it). The item is kept as it is.
fn misplaced(inner: Inner, input: TokenStream2) -> TokenStream2 {
    let within = match inner {
        Inner::AsyncAction => "`#[action_handler]` or `#[consumer]`",
        Inner::Event | Inner::OnConnect | Inner::OnDisconnect => "`#[consumer]`",
    };
    let message = format!(
        "`#[{}]` must be inside an `impl` block annotated with {within}",
        inner.name()
    );
    let error = syn::Error::new(Span::call_site(), message).into_compile_error();
    quote!(#error #input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(outer: Outer, args: TokenStream2, input: TokenStream2) -> String {
        let tokens = handler(outer, args, input);
        // The output is valid Rust.
        syn::parse2::<syn::File>(tokens.clone()).unwrap();
        tokens.to_string()
    }

    #[test]
    fn expands_the_example_handler() {
        let out = expand(
            Outer::ActionHandler,
            quote!(
                permissions = [IsAuthenticated & !IsAdminUser],
                routes = [path("sub/<int:pk>/", Sub)]
            ),
            quote! {
                impl Items {
                    #[async_action]
                    async fn touch(&self, ctx: &Context<'_>) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(name = "sync")]
                    fn sync_echo(&self, pk: i64, note: Option<String>) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
                    async fn say(&self, ctx: &Context<'_>, text: String) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(mode = "broadcast", send_response_in_broadcast = false)]
                    async fn announce(&self, text: String) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(mode = "none")]
                    async fn quiet(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        for part in [
            "impl :: rest_channels :: Handler for Items",
            ":: rest_channels :: __private :: And (:: rest_channels :: __private :: permission (IsAuthenticated) , :: rest_channels :: __private :: Not (:: rest_channels :: __private :: permission (IsAdminUser)))",
            ":: rest_channels :: __private :: RouteSpec :: Regex (\"^sub/(?P<pk>[0-9]+)/\" , & [(\"pk\" , :: rest_channels :: __private :: KwargKind :: Int)])",
            "0 => :: rest_channels :: Handler :: handle (& :: rest_channels :: __private :: handler (Sub) , ctx) . await ,",
            "\"sync\" =>",
            "let (pk , note) = match (pk , note)",
            ":: rest_channels :: __private :: arg_errors ([pk . err () , note . err ()])",
            "let r = :: rest_channels :: __private :: blocking (|| self . sync_echo (pk , note)) ;",
            "let r = self . say (ctx , text) . await ;",
            ":: rest_channels :: __private :: broadcast (ctx , r , :: core :: option :: Option :: Some (\"chat.message\") , true) . await",
            ":: rest_channels :: __private :: broadcast (ctx , r , :: core :: option :: Option :: None , false) . await",
            ":: rest_channels :: __private :: silent (r)",
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        assert!(!out.contains("async_action"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
        assert!(!out.contains("Consumer"), "{out}");
    }

    #[test]
    fn expands_a_consumer() {
        let out = expand(
            Outer::Consumer,
            quote!(permissions = [], group = "group_id", crate = "crate::rc"),
            quote! {
                impl Room {
                    #[event("chat.message")]
                    fn chat_message(&self, event: &Event, ctx: &Context<'_>) {}
                    #[on_connect]
                    async fn connected(&self) -> Result<(), Error> { Ok(()) }
                    #[on_disconnect]
                    async fn gone(&self, ctx: &Context<'_>) {}
                }
            },
        );
        for part in [
            "fn permission () -> impl crate :: rc :: Permission { crate :: rc :: AllowAny }",
            "Err (crate :: rc :: __private :: action_not_allowed (ctx))",
            "impl crate :: rc :: Consumer for Room",
            "const GROUP_KWARG : :: core :: option :: Option < & 'static str > = :: core :: option :: Option :: Some (\"group_id\") ;",
            "\"chat.message\" => { let r = self . chat_message (event , ctx) ; crate :: rc :: __private :: event_result (r) }",
            "_ => crate :: rc :: __private :: default_event (ctx , event)",
            "fn on_connect (& self , _ : & crate :: rc :: Context < '_ > ,)",
            "let r = self . connected () . await ; crate :: rc :: __private :: event_result (r)",
            "let r = self . gone (ctx) . await ; let _ : () = r ;",
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        assert!(!out.contains("ROUTES"), "{out}");
    }

    #[test]
    fn generic_actions_follow_the_users_own() {
        let out = expand(
            Outer::ActionHandler,
            quote!(generics = RetrieveUpdateDestroy),
            quote! {
                impl NoteDetail {
                    #[async_action]
                    async fn archive(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        let ours = "\"archive\" =>";
        let generic = |variant: &str| {
            format!(
                ":: rest_channels :: __private :: generic (self , ctx , :: rest_channels :: __private :: GenericAction :: {variant}) . await ,"
            )
        };
        for part in [
            "async move { :: rest_channels :: __private :: assert_model_handler :: < Self > () ; :: rest_channels :: __private :: check (",
            ours,
            &format!("\"retrieve\" => {}", generic("Retrieve")),
            &format!("\"update\" => {}", generic("Update")),
            &format!("\"partial_update\" => {}", generic("PartialUpdate")),
            &format!("\"destroy\" => {}", generic("Destroy")),
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        assert!(out.find(ours) < out.find("\"retrieve\""), "{out}");
        assert!(!out.contains("\"list\""), "{out}");

        // Without actions of its own, the generic ones alone.
        let out = expand(
            Outer::Consumer,
            quote!(generics = List),
            quote!(
                impl Notes {}
            ),
        );
        assert!(
            out.contains(&format!("\"list\" => {}", generic("List"))),
            "{out}"
        );
        assert!(!out.contains("\"create\""), "{out}");
    }

    #[test]
    fn observe_adds_subscribe_and_unsubscribe() {
        let out = expand(
            Outer::ActionHandler,
            quote!(generics = List, observe),
            quote!(
                impl Notes {}
            ),
        );
        let generic = |variant: &str| {
            format!(
                ":: rest_channels :: __private :: generic (self , ctx , :: rest_channels :: __private :: GenericAction :: {variant}) . await ,"
            )
        };
        for part in [
            format!("\"list\" => {}", generic("List")),
            format!("\"subscribe\" => {}", generic("Subscribe")),
            format!("\"unsubscribe\" => {}", generic("Unsubscribe")),
        ] {
            assert!(out.contains(&part), "missing `{part}` in\n{out}");
        }
        assert!(out.find("\"list\"") < out.find("\"subscribe\""), "{out}");
    }

    #[test]
    fn detached_actions_detach_after_their_arguments() {
        let out = expand(
            Outer::Consumer,
            quote!(),
            quote! {
                impl Api {
                    #[async_action(detached)]
                    async fn wait(&self, ms: u64) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action]
                    async fn echo(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        let detach = ":: rest_channels :: __private :: detach (ctx) . await ? ;";
        assert_eq!(out.matches(detach).count(), 1, "{out}");
        let (read, call) = (
            out.find("let ms = match").unwrap(),
            out.find("let r = self . wait (ms) . await ;").unwrap(),
        );
        let at = out.find(detach).unwrap();
        assert!(read < at && at < call, "{out}");
    }

    #[test]
    fn errors_come_with_the_fallback() {
        let out = expand(
            Outer::Consumer,
            quote!(routes = [path("<nope:x>/", X)], colour = "blue"),
            quote! {
                impl Room {
                    #[async_action(mode = "loud")]
                    async fn a(&self) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(name = "a")]
                    async fn b(&mut self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert_eq!(out.matches("compile_error").count(), 6, "{out}");
        assert!(out.contains("unknown option `colour`"), "{out}");
        assert!(out.contains("unknown path converter `nope`"), "{out}");
        assert!(out.contains("unknown mode `loud`"), "{out}");
        assert!(out.contains("duplicate action name `a`"), "{out}");
        assert!(out.contains("first defined here"), "{out}");
        assert!(
            out.contains("an action must take `&self`, not `&mut self`"),
            "{out}"
        );
        assert!(
            out.contains("async move { :: core :: unreachable ! () }"),
            "{out}"
        );
        assert!(
            out.contains("impl :: rest_channels :: Consumer for Room { }"),
            "{out}"
        );
        assert!(!out.contains("async_action"), "{out}");
    }

    #[test]
    fn not_an_impl_block() {
        let out = handler(
            Outer::ActionHandler,
            quote!(),
            quote!(
                struct S;
            ),
        )
        .to_string();
        assert!(
            out.contains("`#[action_handler]` goes on an `impl Type { ... }` block"),
            "{out}"
        );
        assert!(out.ends_with("struct S ;"), "{out}");
        let out = handler(
            Outer::ActionHandler,
            quote!(),
            quote!(
                impl<T> Foo<T> {}
            ),
        )
        .to_string();
        assert!(out.contains("generic impl block"), "{out}");
        assert!(!out.contains("Handler for"), "{out}");
    }

    #[test]
    fn method_attributes_alone_are_errors() {
        let out = misplaced(
            Inner::Event,
            quote!(
                fn f(&self) {}
            ),
        )
        .to_string();
        assert!(
            out.contains("`#[event]` must be inside an `impl` block annotated with `#[consumer]`"),
            "{out}"
        );
        assert!(out.ends_with("fn f (& self) { }"), "{out}");
        let out = misplaced(
            Inner::AsyncAction,
            quote!(
                fn f(&self) {}
            ),
        )
        .to_string();
        assert!(
            out.contains("annotated with `#[action_handler]` or `#[consumer]`"),
            "{out}"
        );
    }
}
