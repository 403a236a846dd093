//! Permissions: per action, per object, and at connect.
//!
//! A permission is a value whose type implements [`Permission`]; each of its
//! three checks defaults to *allow*. The macros take lists of them and
//! combine them with `&`, `|`, `!` and parentheses into the concrete types
//! [`And`], [`Or`] and [`Not`], so a permission check is plain static code:
//!
//! ```
//! use rest_channels::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Composed;
//!
//! #[action_handler(permissions = [IsAuthenticated & !IsAdminUser])]
//! impl Composed {
//!     #[async_action]
//!     async fn check(&self) -> ActionResult {
//!         Ok(reply!({"ok": true}, 200))
//!     }
//! }
//! ```
//!
//! # How combinations evaluate
//!
//! - A list `[A, B]` is `A & B`; checks run in order and stop at the first refusal.
//! - `has_permission`: plain boolean algebra.
//! - `has_object_permission`: runs after `has_permission` passed for the whole
//!   expression. `A | B` takes each side whole, (`A.has_permission &&
//!   A.has_object_permission) || (B...)`, and `!A` negates A whole, so
//!   `!IsAdminUser` does not refuse every object just because `IsAdminUser`
//!   has no object check (a pitfall of Django REST framework's `~`).
//!   The action stage stays plain negation, as in Django REST framework, so
//!   negating a permission that only checks objects (`!IsOwner`) refuses
//!   every action: write the opposite check as a permission of its own.
//! - `can_connect`: `&` and `|` as usual; `!A` never refuses a connection (a
//!   check's default "allow" means "no opinion" there, and its negation
//!   would refuse everyone).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use crate::context::Context;
use crate::scope::{Scope, UserId};

/// A permission check. Every method defaults to allow.
///
/// ```
/// use rest_channels::{Context, Permission};
///
/// /// Only users whose name starts with "a".
/// pub struct NameStartsWithA;
///
/// impl Permission for NameStartsWithA {
///     async fn has_permission(&self, ctx: &Context<'_>) -> bool {
///         ctx.user().is_some_and(|u| u.username().starts_with('a'))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a permission",
    label = "not a permission",
    note = "implement `rest_channels::Permission` for `{Self}`; combine permissions with `&`, `|`, `!` and parentheses"
)]
pub trait Permission: Send + Sync {
    /// May this action run? Called for every action, before the action is
    /// looked up; `ctx.action()` names it.
    fn has_permission(&self, ctx: &Context<'_>) -> impl Future<Output = bool> + Send {
        let _ = ctx;
        async { true }
    }

    /// May the action touch this object? Called by the generic handlers
    /// (and by [`Context::check_object_permission`]) once the object is known.
    fn has_object_permission(
        &self,
        ctx: &Context<'_>,
        obj: &dyn Object,
    ) -> impl Future<Output = bool> + Send {
        let _ = (ctx, obj);
        async { true }
    }

    /// May this client connect at all? Called before the WebSocket upgrade,
    /// with the consumer's permissions only; a refusal is an HTTP 403.
    fn can_connect(&self, scope: &Scope) -> impl Future<Output = bool> + Send {
        let _ = scope;
        async { true }
    }
}

/// An object that object permissions can inspect.
///
/// `owner` is what [`IsOwner`] and [`IsOwnerOrReadOnly`] compare with the
/// user's id; the object itself is reachable as `&dyn Any` for custom checks.
pub trait Object: Any + Send + Sync {
    /// The id of the user who owns this object, if any.
    fn owner(&self) -> Option<UserId> {
        None
    }
}

impl dyn Object {
    /// The object as its concrete type.
    pub fn downcast_ref<T: Object>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref()
    }
}

/// Both permissions must allow (`A & B`).
#[derive(Debug, Clone, Copy, Default)]
pub struct And<A, B>(pub A, pub B);
/// Either permission must allow (`A | B`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Or<A, B>(pub A, pub B);
/// The permission must refuse (`!A`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Not<A>(pub A);

async fn whole<P: Permission>(p: &P, ctx: &Context<'_>, obj: &dyn Object) -> bool {
    p.has_permission(ctx).await && p.has_object_permission(ctx, obj).await
}

impl<A: Permission, B: Permission> Permission for And<A, B> {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        self.0.has_permission(ctx).await && self.1.has_permission(ctx).await
    }
    async fn has_object_permission(&self, ctx: &Context<'_>, obj: &dyn Object) -> bool {
        self.0.has_object_permission(ctx, obj).await && self.1.has_object_permission(ctx, obj).await
    }
    async fn can_connect(&self, scope: &Scope) -> bool {
        self.0.can_connect(scope).await && self.1.can_connect(scope).await
    }
}

impl<A: Permission, B: Permission> Permission for Or<A, B> {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        self.0.has_permission(ctx).await || self.1.has_permission(ctx).await
    }
    async fn has_object_permission(&self, ctx: &Context<'_>, obj: &dyn Object) -> bool {
        whole(&self.0, ctx, obj).await || whole(&self.1, ctx, obj).await
    }
    async fn can_connect(&self, scope: &Scope) -> bool {
        self.0.can_connect(scope).await || self.1.can_connect(scope).await
    }
}

impl<A: Permission> Permission for Not<A> {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        !self.0.has_permission(ctx).await
    }
    async fn has_object_permission(&self, ctx: &Context<'_>, obj: &dyn Object) -> bool {
        !whole(&self.0, ctx, obj).await
    }
    async fn can_connect(&self, _scope: &Scope) -> bool {
        true
    }
}

/// Allows everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAny;
impl Permission for AllowAny {}

/// Allows authenticated users; anonymous ones may connect but do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsAuthenticated;
impl Permission for IsAuthenticated {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        ctx.is_authenticated()
    }
}

/// Like [`IsAuthenticated`], and anonymous clients cannot even connect
/// (HTTP 403 at the upgrade).
#[derive(Debug, Clone, Copy, Default)]
pub struct IsAuthenticatedStrictly;
impl Permission for IsAuthenticatedStrictly {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        ctx.is_authenticated()
    }
    async fn can_connect(&self, scope: &Scope) -> bool {
        scope.is_authenticated()
    }
}

/// Allows staff users ([`User::is_staff`](crate::User::is_staff)), as Django REST framework's `IsAdminUser`.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsAdminUser;
impl Permission for IsAdminUser {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        ctx.user().is_some_and(|u| u.is_staff())
    }
}

fn is_read_only(ctx: &Context<'_>) -> bool {
    let action = ctx.action();
    ctx.app()
        .settings()
        .read_only_actions
        .iter()
        .any(|a| a == action)
}

/// Allows authenticated users, and everyone for read-only actions
/// ([`Settings::read_only_actions`](crate::Settings::read_only_actions):
/// `list` and `retrieve` by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct IsAuthenticatedOrReadOnly;
impl Permission for IsAuthenticatedOrReadOnly {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        ctx.is_authenticated() || is_read_only(ctx)
    }
}

fn owns(ctx: &Context<'_>, obj: &dyn Object) -> bool {
    match (ctx.user(), obj.owner()) {
        (Some(user), Some(owner)) => user.id() == owner,
        _ => false,
    }
}

/// Object permission: only the object's owner ([`Object::owner`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct IsOwner;
impl Permission for IsOwner {
    async fn has_object_permission(&self, ctx: &Context<'_>, obj: &dyn Object) -> bool {
        owns(ctx, obj)
    }
}

/// Object permission: everyone may read, only the owner may write.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsOwnerOrReadOnly;
impl Permission for IsOwnerOrReadOnly {
    async fn has_object_permission(&self, ctx: &Context<'_>, obj: &dyn Object) -> bool {
        is_read_only(ctx) || owns(ctx, obj)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A [`Permission`] behind a pointer, for lists chosen at run time
/// ([`Settings::default_permissions`](crate::Settings::default_permissions)).
pub trait DynPermission: Send + Sync {
    /// [`Permission::has_permission`].
    fn dyn_has_permission<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, bool>;
    /// [`Permission::has_object_permission`].
    fn dyn_has_object_permission<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        obj: &'a dyn Object,
    ) -> BoxFuture<'a, bool>;
    /// [`Permission::can_connect`].
    fn dyn_can_connect<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, bool>;
}

impl<P: Permission> DynPermission for P {
    fn dyn_has_permission<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, bool> {
        Box::pin(self.has_permission(ctx))
    }
    fn dyn_has_object_permission<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        obj: &'a dyn Object,
    ) -> BoxFuture<'a, bool> {
        Box::pin(self.has_object_permission(ctx, obj))
    }
    fn dyn_can_connect<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, bool> {
        Box::pin(self.can_connect(scope))
    }
}

/// The app's default permissions (settings), for handlers that name none.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsDefault;
impl Permission for SettingsDefault {
    async fn has_permission(&self, ctx: &Context<'_>) -> bool {
        ctx.app()
            .settings()
            .default_permissions
            .dyn_has_permission(ctx)
            .await
    }
    async fn has_object_permission(&self, ctx: &Context<'_>, obj: &dyn Object) -> bool {
        ctx.app()
            .settings()
            .default_permissions
            .dyn_has_object_permission(ctx, obj)
            .await
    }
    async fn can_connect(&self, scope: &Scope) -> bool {
        scope
            .app()
            .settings()
            .default_permissions
            .dyn_can_connect(scope)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::App;
    use crate::context::Connection;
    use crate::envelope::Message;
    use crate::scope::SimpleUser;

    struct Note {
        author: i64,
    }
    impl Object for Note {
        fn owner(&self) -> Option<UserId> {
            Some(self.author.into())
        }
    }

    fn conn(user: Option<SimpleUser>) -> Connection {
        let user = user.map(|u| Arc::new(u) as Arc<dyn crate::User>);
        Connection::new(Scope::new(App::default(), "/ws/", user), "c".into(), None)
    }

    async fn check<P: Permission>(
        p: P,
        user: Option<SimpleUser>,
        action: &str,
        obj: Option<&Note>,
    ) -> bool {
        let conn = conn(user);
        let text = format!(r#"{{"action": "{action}"}}"#);
        let msg = Message::decode(&text).unwrap();
        let ctx = Context::new(&conn, &msg);
        p.has_permission(&ctx).await
            && (obj.is_none() || p.has_object_permission(&ctx, obj.unwrap()).await)
    }

    fn alice() -> Option<SimpleUser> {
        Some(SimpleUser::new(1, "alice"))
    }
    fn admin() -> Option<SimpleUser> {
        Some(SimpleUser::new(3, "admin").staff(true))
    }

    #[tokio::test]
    async fn builtins() {
        assert!(check(AllowAny, None, "x", None).await);
        assert!(!check(IsAuthenticated, None, "x", None).await);
        assert!(check(IsAuthenticated, alice(), "x", None).await);
        assert!(!check(IsAdminUser, alice(), "x", None).await);
        assert!(check(IsAdminUser, admin(), "x", None).await);
        assert!(check(IsAuthenticatedOrReadOnly, None, "list", None).await);
        assert!(check(IsAuthenticatedOrReadOnly, None, "retrieve", None).await);
        assert!(!check(IsAuthenticatedOrReadOnly, None, "create", None).await);
        let mine = Note { author: 1 };
        let theirs = Note { author: 2 };
        assert!(check(IsOwner, alice(), "update", Some(&mine)).await);
        assert!(!check(IsOwner, alice(), "update", Some(&theirs)).await);
        assert!(!check(IsOwner, None, "update", Some(&mine)).await);
        assert!(check(IsOwnerOrReadOnly, None, "retrieve", Some(&theirs)).await);
        assert!(!check(IsOwnerOrReadOnly, alice(), "destroy", Some(&theirs)).await);
    }

    #[tokio::test]
    async fn combinators() {
        let composed = || And(IsAuthenticated, Not(IsAdminUser));
        assert!(!check(composed(), None, "x", None).await);
        assert!(check(composed(), alice(), "x", None).await);
        assert!(!check(composed(), admin(), "x", None).await);
        let either = || Or(IsAdminUser, Not(IsAuthenticated));
        assert!(check(either(), None, "x", None).await);
        assert!(!check(either(), alice(), "x", None).await);
        assert!(check(either(), admin(), "x", None).await);
    }

    #[tokio::test]
    async fn negation_takes_the_permission_whole_on_objects() {
        let theirs = Note { author: 2 };
        // `IsAdminUser` has no object check: `!IsAdminUser` must not refuse every object.
        assert!(check(Not(IsAdminUser), alice(), "update", Some(&theirs)).await);
        // `!IsOwner` refuses at the action stage already: `IsOwner` allows every action.
        assert!(!check(Not(IsOwner), alice(), "update", Some(&theirs)).await);
        // `A | B` on objects: one side must pass whole.
        assert!(!check(Or(IsAdminUser, IsOwner), alice(), "update", Some(&theirs)).await);
        assert!(check(Or(IsAdminUser, IsOwner), admin(), "update", Some(&theirs)).await);
    }

    #[tokio::test]
    async fn connect_checks() {
        let scope = |u: Option<SimpleUser>| {
            Scope::new(
                App::default(),
                "/",
                u.map(|u| Arc::new(u) as Arc<dyn crate::User>),
            )
        };
        assert!(!IsAuthenticatedStrictly.can_connect(&scope(None)).await);
        assert!(IsAuthenticatedStrictly.can_connect(&scope(alice())).await);
        assert!(IsAuthenticated.can_connect(&scope(None)).await);
        assert!(
            Not(IsAuthenticatedStrictly)
                .can_connect(&scope(alice()))
                .await
        );
        assert!(
            Or(IsAuthenticatedStrictly, AllowAny)
                .can_connect(&scope(None))
                .await
        );
        assert!(
            !And(AllowAny, IsAuthenticatedStrictly)
                .can_connect(&scope(None))
                .await
        );
        let app = App::builder()
            .default_permissions(IsAuthenticatedStrictly)
            .build();
        assert!(
            !SettingsDefault
                .can_connect(&Scope::new(app, "/", None))
                .await
        );
    }
}
