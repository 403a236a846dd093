//! The attribute macros of [rest-channels]: `#[action_handler]`,
//! `#[consumer]`, and the method attributes they read, `#[async_action]`,
//! `#[event]`, `#[on_connect]` and `#[on_disconnect]`.
//!
//! Use them through the runtime crate (`use rest_channels::prelude::*;`),
//! which re-exports them and holds the runnable examples; this crate is an
//! implementation detail and its generated code calls the runtime only
//! through `::rest_channels::...` and its hidden `__private` module.
//!
//! [rest-channels]: https://docs.rs/rest-channels
//!
//! # What the macros do
//!
//! `#[action_handler]` goes on an inherent `impl Type { ... }` block. It
//! reads the `#[async_action]` methods of the block (and their parameters),
//! removes those attributes, and implements `rest_channels::Handler` for the
//! type: one `match` on the message's action name that checks the
//! handler's permissions, resolves nested routes, reads the action's
//! arguments from the message with serde, runs the action and replies.
//!
//! `#[consumer]` does the same and also implements `rest_channels::Consumer`,
//! the endpoint a WebSocket route serves (one value per connection, made with
//! `Default`, which the type must implement), with its `#[event]`,
//! `#[on_connect]` and `#[on_disconnect]` methods wired in.
//!
//! ```ignore
//! use rest_channels::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Room;
//!
//! #[consumer(
//!     permissions = [IsAuthenticated & !IsBanned],
//!     routes = [path("notes/<int:pk>/", NoteDetail), re_path(r"items/(?P<pk>[-\w]+)/$", Items)],
//!     group = "room_id",
//! )]
//! impl Room {
//!     /// `{"action": "echo", "data": ...}`: parameters are message keys.
//!     #[async_action]
//!     async fn echo(&self, data: Option<serde_json::Value>) -> ActionResult {
//!         Ok(reply!({"data": data}, 200))
//!     }
//!
//!     /// A plain `fn` is a blocking action: it runs off the async workers.
//!     #[async_action(name = "sync")]
//!     fn sync_echo(&self, pk: i64) -> ActionResult {
//!         Ok(reply!({"pk": pk}, 200))
//!     }
//!
//!     /// Replies, and sends a `chat.message` event to the room's group.
//!     #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
//!     async fn say(&self, ctx: &Context<'_>, text: String) -> ActionResult {
//!         Ok(reply!({"text": text, "user": ctx.user().map(|u| u.username())}, 200))
//!     }
//!
//!     #[event("chat.message")]
//!     async fn chat_message(&self, ctx: &Context<'_>, event: &Event) {
//!         ctx.forward(event);
//!     }
//!
//!     #[on_connect]
//!     async fn connected(&self, ctx: &Context<'_>) -> Result<(), Error> {
//!         ctx.send_json(&serde_json::json!({"hello": ctx.channel_name()}))
//!     }
//! }
//! ```
//!
//! # Options
//!
//! `#[action_handler(...)]` and `#[consumer(...)]`, all optional:
//!
//! - `permissions = [A, B & !C, D | (E & F)]`: the handler's permission, the
//!   conjunction of the list, checked in order. Each item is an expression
//!   combining permission values with `&`, `|`, `!` and parentheses (`&&` and
//!   `||` are errors); anything else in an item (a path such as
//!   `IsAuthenticated`, a call, a struct literal) is a permission value and
//!   must implement `rest_channels::Permission`. `[]` allows everything;
//!   without the option the app's default permissions apply.
//! - `routes = [path("...", Handler), re_path(r"...", Handler), ...]`: where
//!   the rest of the message's `route` leads. `path` takes Django's
//!   converters (`<int:pk>`, `<slug:s>`, `<str:name>` or `<name>`,
//!   `<uuid:id>`, `<path:rest>`); `re_path` takes a regex with named groups.
//!   Both match a prefix of the route, anchored at its start, and are
//!   checked when the crate compiles: an unknown converter or an invalid
//!   regex is an error at the pattern. The handler is an expression (usually
//!   a unit struct) evaluated per message; it must implement
//!   `rest_channels::Handler`.
//! - `group = "url_kwarg"` (`#[consumer]` only): every connection joins the
//!   group named by this URL keyword argument; broadcasts go there.
//! - `crate = "path"`: where the runtime crate is, when it is not
//!   `::rest_channels` (a renamed dependency, a re-export).
//!
//! `#[async_action(...)]`, all optional, on an `async fn` or a plain `fn`:
//!
//! - `name = "wire_name"`: the action's name in messages (default: the
//!   method's name, without `r#`).
//! - `mode = "response" | "broadcast" | "none"`: reply to the sender (the
//!   default); or send the result as an event to the connection's group
//!   (and reply too); or send nothing on success (errors are still replied).
//! - `broadcast_type = "chat.message"` (`mode = "broadcast"` only): the
//!   event's type; without it, the general broadcast, which consumers
//!   forward to their clients as it is.
//! - `send_response_in_broadcast = false` (`mode = "broadcast"` only): do
//!   not reply to the sender.
//!
//! An action takes `&self`; a parameter of type `&Context<'_>` (any path
//! ending in `Context`, by shared reference) is the context, and every other
//! parameter is a message key named after the parameter, read with serde (a
//! missing key is `None` for an `Option`, an error otherwise; all bad keys
//! are reported together, as a 400). `action`, `route` and `request_id` are
//! the envelope's own keys and cannot be parameters. The return type must
//! implement `rest_channels::ActionReturn`: `(data, status)` or a `Result`
//! of it, such as `ActionResult`.
//!
//! `#[event("type")]` (in a `#[consumer]`): handles the channel-layer events
//! of that type. The method takes `&self` and, optionally, `&Context<'_>` and
//! `&Event`, may be `async` or not, and returns `()` or `Result<(), E>`.
//! Events without a method of their own: the general broadcast is forwarded
//! to the client, other types are dropped with a warning.
//!
//! `#[on_connect]` / `#[on_disconnect]` (in a `#[consumer]`, at most one
//! each): an `async fn` taking `&self` and, optionally, `&Context<'_>`; run
//! after the upgrade / after the connection closed. `on_connect` returns
//! `()` or `Result<(), E>` (an error closes the connection), `on_disconnect`
//! returns `()`.
//!
//! # Errors
//!
//! Mistakes are compile errors at the offending token, all of them at once:
//! an unknown or repeated option, an unknown mode, an option that needs
//! `mode = "broadcast"`, a duplicate action name (with a pointer to the
//! first), a receiver other than `&self`, a reserved or repeated message key,
//! a parameter pattern that is not a name, an unknown path converter, an
//! invalid regex, `#[event]` in an `#[action_handler]`, a generic or trait
//! impl, and the method attributes used outside an annotated impl block.
//! Type errors are worded by the runtime's traits and placed at the user's
//! tokens: a permission that is not a `Permission` at the permission, a
//! route target that is not a `Handler` at the target, a parameter type that
//! serde cannot read at the type, a return type that is not an action result
//! at the return type.
//!
//! On an error the block is still emitted (attributes stripped), with stub
//! `Handler`/`Consumer` impls, so that one mistake does not cascade into
//! errors everywhere the type is used.
//!
//! # Generated code
//!
//! For `#[action_handler(permissions = [IsAuthenticated])] impl Items { ... }`
//! with one action `async fn touch(&self, ctx: &Context<'_>, pk: i64) -> ActionResult`,
//! the expansion is the block itself and, in outline:
//!
//! ```ignore
//! impl ::rest_channels::Handler for Items {
//!     fn permission() -> impl ::rest_channels::Permission {
//!         ::rest_channels::__private::permission(IsAuthenticated)
//!     }
//!     fn handle<'a>(&'a self, ctx: &'a mut ::rest_channels::Context<'_>) -> impl Future<Output = Result<Reply, Error>> + Send {
//!         async move {
//!             ::rest_channels::__private::check(<Self as ::rest_channels::Handler>::permission(), ctx).await?;
//!             match ctx.action() {
//!                 "touch" => {
//!                     ::rest_channels::__private::assert_arg::<i64>();
//!                     let pk = match ::rest_channels::__private::arg::<i64>(ctx, "pk") {
//!                         Ok(v) => v,
//!                         Err(e) => return Err(::rest_channels::__private::arg_errors([Some(e)])),
//!                     };
//!                     let r = self.touch(ctx, pk).await;
//!                     ::rest_channels::__private::respond(ctx, r)
//!                 }
//!                 _ => Err(::rest_channels::__private::action_not_allowed(ctx)),
//!             }
//!         }
//!     }
//! }
//! ```

mod attr;
mod ctxt;
mod expand;
mod fallback;
mod generics;
mod model;
mod perm;
mod route;
mod valid;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;

use crate::attr::{HandlerOptions, Inner, Outer};
use crate::ctxt::Errors;
use crate::model::HandlerImpl;

/// Makes an inherent `impl Type { ... }` block a set of actions: implements
/// `rest_channels::Handler` for `Type`.
///
/// Options (all optional): `permissions = [...]`, `routes = [...]`,
/// `crate = "path"`. The block's `#[async_action]` methods are its actions.
/// See the crate documentation for the details.
#[proc_macro_attribute]
pub fn action_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    handler(Outer::ActionHandler, args.into(), input.into()).into()
}

/// Makes an inherent `impl Type { ... }` block an endpoint: implements
/// `rest_channels::Handler` and `rest_channels::Consumer` for `Type`, which
/// must implement `Default`.
///
/// Options (all optional): `permissions = [...]`, `routes = [...]`,
/// `group = "url_kwarg"`, `crate = "path"`. Besides `#[async_action]`
/// methods, the block may have `#[event("type")]`, `#[on_connect]` and
/// `#[on_disconnect]` methods. See the crate documentation for the details.
#[proc_macro_attribute]
pub fn consumer(args: TokenStream, input: TokenStream) -> TokenStream {
    handler(Outer::Consumer, args.into(), input.into()).into()
}

/// Marks a method of an `#[action_handler]` or `#[consumer]` block as an
/// action: `#[async_action]`, or `#[async_action(name = "...", mode = "response" | "broadcast" | "none",
/// broadcast_type = "...", send_response_in_broadcast = false)]`.
///
/// Read by the enclosing macro; on its own it is an error.
#[proc_macro_attribute]
pub fn async_action(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::AsyncAction, input.into()).into()
}

/// Marks a method of a `#[consumer]` block as the handler of the
/// channel-layer events of a type: `#[event("chat.message")]`.
///
/// Read by the enclosing macro; on its own it is an error.
#[proc_macro_attribute]
pub fn event(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::Event, input.into()).into()
}

/// Marks the `async fn` of a `#[consumer]` block that runs when a
/// connection opens.
///
/// Read by the enclosing macro; on its own it is an error.
#[proc_macro_attribute]
pub fn on_connect(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::OnConnect, input.into()).into()
}

/// Marks the `async fn` of a `#[consumer]` block that runs when a
/// connection has closed.
///
/// Read by the enclosing macro; on its own it is an error.
#[proc_macro_attribute]
pub fn on_disconnect(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced(Inner::OnDisconnect, input.into()).into()
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
