//! Compile-fail cases of the macros and the runtime's trait bounds (`tests/ui/*.rs`),
//! and programs that must compile (`tests/ui/pass/*.rs`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
