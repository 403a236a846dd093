//! Permission evaluation: `has_permission` of composed permissions (`&`,
//! `|`, `!` over the built-in ones, as `permissions = [...]` compiles them
//! into `And`, `Or`, `Not`) for an authenticated user, beside `AllowAny`;
//! and `has_object_permission` of `IsOwner | IsAdminUser`. The futures are
//! ready at once: each is polled once, with a no-op waker.
//!
//! `cargo bench --bench permissions -- --warm-up-time 1 --measurement-time 3`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use rest_channels::__private::probe::with_context;
use rest_channels::envelope::Message;
use rest_channels::scope::UserId;
use rest_channels::{
    AllowAny, And, App, IsAdminUser, IsAuthenticated, IsAuthenticatedOrReadOnly,
    IsAuthenticatedStrictly, IsOwner, Not, Object, Or, Permission, Scope, SimpleUser, User,
};

/// Polls a future that is ready at once.
fn now<F: Future>(f: F) -> F::Output {
    let mut cx = TaskContext::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a built-in permission was not ready at once"),
    }
}

struct Note {
    author: i64,
}
impl Object for Note {
    fn owner(&self) -> Option<UserId> {
        Some(self.author.into())
    }
}

fn scope() -> Scope {
    let user = Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>;
    Scope::new(App::default(), "/ws/", Some(user))
}

fn evaluation(c: &mut Criterion) {
    let msg = Message::decode(r#"{"action":"update","route":"notes/1/"}"#).unwrap();
    with_context(scope(), &msg, |ctx| {
        let mut g = c.benchmark_group("has_permission");
        let allow = AllowAny;
        assert!(now(allow.has_permission(ctx)));
        g.bench_function("AllowAny", |b| {
            b.iter(|| now(black_box(&allow).has_permission(ctx)))
        });
        let one = IsAuthenticated;
        g.bench_function("IsAuthenticated", |b| {
            b.iter(|| now(black_box(&one).has_permission(ctx)))
        });
        // IsAuthenticated & !IsAdminUser
        let and_not = And(IsAuthenticated, Not(IsAdminUser));
        assert!(now(and_not.has_permission(ctx)));
        g.bench_function("IsAuthenticated & !IsAdminUser", |b| {
            b.iter(|| now(black_box(&and_not).has_permission(ctx)))
        });
        // (IsAdminUser | IsAuthenticatedOrReadOnly) & !IsAuthenticatedStrictly | IsAuthenticated
        let deep = Or(
            And(
                Or(IsAdminUser, IsAuthenticatedOrReadOnly),
                Not(IsAuthenticatedStrictly),
            ),
            IsAuthenticated,
        );
        assert!(now(deep.has_permission(ctx)));
        g.bench_function("(IsAdminUser | IsAuthenticatedOrReadOnly) & !IsAuthenticatedStrictly | IsAuthenticated", |b| {
            b.iter(|| now(black_box(&deep).has_permission(ctx)))
        });
        g.finish();

        let mut g = c.benchmark_group("has_object_permission");
        let owner_or_admin = Or(IsOwner, IsAdminUser);
        let mine = Note { author: 1 };
        let theirs = Note { author: 2 };
        assert!(now(owner_or_admin.has_object_permission(ctx, &mine)));
        assert!(!now(owner_or_admin.has_object_permission(ctx, &theirs)));
        g.bench_function("IsOwner | IsAdminUser (owner)", |b| {
            b.iter(|| now(black_box(&owner_or_admin).has_object_permission(ctx, black_box(&mine))))
        });
        g.bench_function("IsOwner | IsAdminUser (not owner)", |b| {
            b.iter(
                || now(black_box(&owner_or_admin).has_object_permission(ctx, black_box(&theirs))),
            )
        });
        g.finish();
    });
}

criterion_group!(benches, evaluation);
criterion_main!(benches);
