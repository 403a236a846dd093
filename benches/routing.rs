//! Route resolution over a table of 100 `path()`/`re_path()` routes with
//! converters, as `#[consumer(routes = [...])]` compiles them: a path that
//! the first route takes, one that only the last takes, and one that none
//! takes (each route tried in turn); beside a table of 1 route.
//! The target (issue 7): under 1 µs over 100 routes.
//!
//! `cargo bench --bench routing -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::LazyLock;

use criterion::{Criterion, criterion_group, criterion_main};
use rest_channels::__private::probe::resolve_index;
use rest_channels::__private::{KwargKind, RouteSpec, Routes};

fn leak<T: ?Sized>(b: Box<T>) -> &'static T {
    Box::leak(b)
}

/// 25 resources × 4 routes: the detail's sub-resource, the detail by
/// `int` pk, by `slug`, and a `re_path` archive; the last resource's last
/// route is by `uuid`. Specific routes first, as apps order them.
fn table() -> Vec<RouteSpec> {
    let names = [
        "accounts", "articles", "authors", "baskets", "books", "carts", "comments", "devices",
        "events", "files", "groups", "invoices", "issues", "labels", "messages", "notes", "orders",
        "pages", "payments", "photos", "projects", "reviews", "tags", "teams", "users",
    ];
    let mut specs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let sub: &'static [(&'static str, KwargKind)] =
            &[("pk", KwargKind::Int), ("child", KwargKind::Int)];
        specs.push(RouteSpec::Regex(
            leak(format!("^{name}/(?P<pk>[0-9]+)/items/(?P<child>[0-9]+)/").into_boxed_str()),
            sub,
        ));
        specs.push(RouteSpec::Regex(
            leak(format!("^{name}/(?P<pk>[0-9]+)/").into_boxed_str()),
            &[("pk", KwargKind::Int)],
        ));
        // The last resource's slugs live under `by-slug/` (its `by-key/` is the last route).
        let slugs = if i + 1 < names.len() { "" } else { "by-slug/" };
        specs.push(RouteSpec::Regex(
            leak(format!("^{name}/{slugs}(?P<slug>[-a-zA-Z0-9_]+)/").into_boxed_str()),
            &[("slug", KwargKind::Str)],
        ));
        if i + 1 < names.len() {
            specs.push(RouteSpec::Regex(
                leak(format!(r"^(?:{name}/archive/(?P<year>[0-9]{{4}})/$)").into_boxed_str()),
                &[("year", KwargKind::Str)],
            ));
        } else {
            specs.push(RouteSpec::Regex(
                leak(
                    format!("^{name}/by-key/(?P<key>[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}})/")
                        .into_boxed_str(),
                ),
                &[("key", KwargKind::Str)],
            ));
        }
    }
    specs
}

static SPECS: LazyLock<Vec<RouteSpec>> = LazyLock::new(table);
static HUNDRED: LazyLock<Routes> = LazyLock::new(|| Routes::new(&SPECS));
static ONE: LazyLock<Routes> = LazyLock::new(|| Routes::new(&SPECS[..1]));
static HUNDRED_PREFIXES: LazyLock<Routes> = LazyLock::new(|| {
    let specs: Vec<RouteSpec> = (0..100)
        .map(|i| RouteSpec::Prefix(leak(format!("section{i}/").into_boxed_str())))
        .collect();
    Routes::new(&specs)
});

fn resolution(c: &mut Criterion) {
    assert_eq!(SPECS.len(), 100);
    let first = "accounts/17/items/3/";
    let last = "users/by-key/123e4567-e89b-12d3-a456-426614174000/";
    let none = "nothing/here/";
    assert_eq!(resolve_index(&HUNDRED, first), Some((0, first.len())));
    assert_eq!(resolve_index(&HUNDRED, last), Some((99, last.len())));
    assert_eq!(resolve_index(&HUNDRED, none), None);
    assert_eq!(resolve_index(&ONE, first), Some((0, first.len())));

    let mut g = c.benchmark_group("resolve");
    g.bench_function("100_routes/first_match", |b| {
        b.iter(|| resolve_index(&HUNDRED, black_box(first)))
    });
    g.bench_function("100_routes/last_match", |b| {
        b.iter(|| resolve_index(&HUNDRED, black_box(last)))
    });
    g.bench_function("100_routes/no_match", |b| {
        b.iter(|| resolve_index(&HUNDRED, black_box(none)))
    });
    g.bench_function("1_route/match", |b| {
        b.iter(|| resolve_index(&ONE, black_box(first)))
    });
    g.bench_function("100_prefixes/no_match", |b| {
        b.iter(|| resolve_index(&HUNDRED_PREFIXES, black_box(none)))
    });
    g.finish();
}

criterion_group!(benches, resolution);
criterion_main!(benches);
