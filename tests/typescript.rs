//! The committed TypeScript client of the reference app
//! (`clients/typescript/src/reference.ts`) is what the generator writes
//! today: a change to the app or to `rest_channels::typescript` without
//! `cargo run --example tsgen` fails here (and in clients/typescript/check.sh,
//! which also builds the client and runs its node tests).

#[path = "../examples/tsgen.rs"]
#[allow(dead_code)]
mod tsgen;

#[test]
fn the_committed_client_is_current() {
    let committed = include_str!("../clients/typescript/src/reference.ts");
    let generated = tsgen::client();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_owned(), |n| format!("line {}", n + 1));
        panic!(
            "clients/typescript/src/reference.ts is out of date (first difference at {line}): \
             run `cargo run --example tsgen` and commit it"
        );
    }
}

#[test]
fn every_route_and_action_of_the_contract_has_a_method() {
    let ts = tsgen::client();
    for snippet in [
        "export class Ws {",
        "export class WsStrict {",
        "export class WsRoomsGroupId {",
        "  echo(args: { data?: unknown } = {}, options?: CallOptions): Promise<unknown> {",
        "  syncEcho(args: { pk: number }, options?: CallOptions)",
        "  readonly notesPk = {",
        "    retrieve: (args: { pk: number }, options?: CallOptions): Promise<Note> =>",
        "`notes/${String(args[\"pk\"])}/`, \"partial_update\"",
        "    create: (args: { data: WsNotesCreateData }, options?: CallOptions): Promise<Note> =>",
        "    subscribe: (options?: CallOptions): Promise<Subscription<WsNotesSubscribeReply, WsNotesSubscribePush>> =>",
        "`items/${String(args[\"pk\"])}/`, \"touch\"",
        "    say: (args: { text: string }, options?: CallOptions)",
        "    announce: (args: { text: string }): Promise<void> =>",
        "  chatMessage(): Events<Event<",
        "  broadcasts(): Events<Event<",
        "export type Note = {",
    ] {
        assert!(ts.contains(snippet), "missing: {snippet}");
    }
}
