// The generated client (dist/, built by `npm run build`) against a real
// reference app: REFERENCE_BIN (default ../../target/release/examples/reference)
// started on a free port of 127.0.0.1, restarted once for the reconnect test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { WebSocket as WsWebSocket } from "ws";

import { Ws, WsStrict, WsRoomsGroupId, RestChannelsError } from "../dist/reference.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(process.env.REFERENCE_BIN ?? path.join(HERE, "../../../target/release/examples/reference"));
// node >= 22 has a WebSocket of its own; node 20 takes the ws package's.
const WebSocket = globalThis.WebSocket ?? WsWebSocket;

let port;
let server;
let base;
const clients = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start() {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["--addr", `127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${BIN} did not start: ${out}`)), 30000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${BIN} exited with ${code}: ${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("listening on ws://")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

function stop(child, signal = "SIGTERM") {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** A client of `Class`, closed after the tests. */
function connect(Class, ...args) {
  const c = Class.connect(base, ...args);
  clients.push(c);
  return c;
}

const options = (token) => ({ WebSocket, token, initialDelayMs: 50, maxDelayMs: 500 });

/** The next value of an async iterator, or a failure after `ms`. */
async function next(iter, ms = 5000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([iter.next(), timeout]);
    assert.equal(r.done, false, "the iterator ended");
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** `promise`'s rejection, which must be a RestChannelsError. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof RestChannelsError, `a RestChannelsError, got ${e}`);
    return e;
  }
  assert.fail("it resolved");
}

before(async () => {
  port = await freePort();
  base = `ws://127.0.0.1:${port}`;
  server = await start();
});

after(async () => {
  for (const c of clients) c.close();
  if (server) await stop(server);
});

test("consumer actions: echo, whoami, sync_echo, wait", async () => {
  const ws = connect(Ws, options("alice-token"));
  assert.deepEqual(await ws.echo({ data: { a: [1, "b"] } }), { a: [1, "b"] });
  assert.equal(await ws.echo(), null);
  assert.deepEqual(await ws.whoami(), { username: "alice", authenticated: true });
  assert.deepEqual(await ws.syncEcho({ pk: 7 }), { pk: 7, sync: true });
  // Detached: two waits at once, each reply matched by its request_id.
  const [slow, fast] = await Promise.all([ws.wait({ ms: 300 }), ws.wait({ ms: 10 })]);
  assert.deepEqual(slow, { waited: 300 });
  assert.deepEqual(fast, { waited: 10 });
});

test("errors are typed values: 400 with the argument's errors, 403, 404, 500", async () => {
  const ws = connect(Ws, options());
  const bad = await rejection(ws.syncEcho({ pk: "seven" }));
  assert.equal(bad.status, 400);
  assert.ok(Array.isArray(bad.fields.pk) && bad.fields.pk.length > 0, JSON.stringify(bad.errors));
  const range = await rejection(ws.wait({ ms: 99999 }));
  assert.equal(range.status, 400);
  const forbidden = await rejection(ws.private.secret());
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.detail, "You do not have permission to perform this action.");
  assert.equal(forbidden.route, "private/");
  const missing = await rejection(ws.notesPk.retrieve({ pk: 999999 }));
  assert.equal(missing.status, 404);
  assert.equal(missing.detail, "Not found.");
  const failed = await rejection(ws.fail());
  assert.equal(failed.status, 500);
  // The connection goes on.
  assert.equal(await ws.echo({ data: 1 }), 1);
});

test("routes: a regex kwarg, permission compositions, the strict endpoint", async () => {
  const anon = connect(Ws, options());
  assert.deepEqual(await anon.itemsPk.touch({ pk: "abc-1" }), { message: "touched", model_id: "abc-1" });
  assert.deepEqual(await anon.either.check(), { ok: true });
  assert.equal((await rejection(anon.composed.check())).status, 403);
  const alice = connect(Ws, options("alice-token"));
  assert.deepEqual(await alice.private.secret(), { secret: 42, username: "alice" });
  assert.deepEqual(await alice.composed.check(), { ok: true });
  const strict = connect(WsStrict, options("bob-token"));
  assert.deepEqual(await strict.whoami(), { username: "bob", authenticated: true });
});

test("notes: create, retrieve, update, list with a query, validation errors, 403 for a non-author", async () => {
  const alice = connect(Ws, options("alice-token"));
  const bob = connect(Ws, options("bob-token"));
  const note = await alice.notes.create({ data: { title: "ts client", content: "hello" } });
  assert.equal(note.title, "ts client");
  assert.equal(note.author, 1);
  assert.deepEqual(await bob.notesPk.retrieve({ pk: note.id }), note);
  const updated = await alice.notesPk.partialUpdate({ pk: note.id, data: { content: "changed" } });
  assert.equal(updated.content, "changed");
  const invalid = await rejection(alice.notes.create({ data: { content: "no title" } }));
  assert.equal(invalid.status, 400);
  assert.ok(invalid.fields.title, JSON.stringify(invalid.errors));
  const denied = await rejection(bob.notesPk.destroy({ pk: note.id }));
  assert.equal(denied.status, 403);
  for (let i = 0; i < 3; i++) await alice.notes.create({ data: { title: `page ${i}` } });
  const page = await bob.notes.list({ query: { page_size: 2, search: "page", ordering: "-id" } });
  assert.equal(page.count, 3);
  assert.deepEqual(page.results.map((n) => n.title), ["page 2", "page 1"]);
  assert.equal(page.previous, null);
  assert.match(page.next, /^notes\/\?/);
  const anon = connect(Ws, options());
  assert.equal((await rejection(anon.notes.create({ data: { title: "x" } }))).status, 403);
  assert.equal(await alice.notesPk.destroy({ pk: note.id }), null);
});

test("live notes: a subscription's pushes as an async iterator", async () => {
  const watcher = connect(Ws, options());
  const alice = connect(Ws, options("alice-token"));
  const all = await watcher.notes.subscribe();
  assert.deepEqual(all.reply, { subscribed: true });
  const created = await alice.notes.create({ data: { title: "live" } });
  const one = await watcher.notesPk.subscribe({ pk: created.id });
  const push = await next(all);
  assert.equal(push.event, "created");
  assert.deepEqual(push.note, created);
  await alice.notesPk.update({ pk: created.id, data: { title: "live 2", content: "" } });
  assert.equal((await next(all)).event, "updated");
  const mine = await next(one);
  assert.equal(mine.event, "updated");
  assert.equal(mine.note.title, "live 2");
  assert.deepEqual(await watcher.notes.unsubscribe(), { subscribed: false });
  await alice.notesPk.destroy({ pk: created.id });
  assert.deepEqual(await next(one), { event: "deleted", note: { id: created.id } });
  await all.return();
  await one.return();
});

test("rooms: group events and general broadcasts reach every member, not another group", async () => {
  const room = `ts-${process.pid}`;
  const alice = connect(WsRoomsGroupId, { group_id: room }, options("alice-token"));
  const bob = connect(WsRoomsGroupId, { group_id: room }, options("bob-token"));
  const other = connect(WsRoomsGroupId, { group_id: `${room}-other` }, options("bob-token"));
  const aliceEvents = alice.chatMessage();
  const bobEvents = bob.chatMessage();
  const otherEvents = other.chatMessage();
  const bobBroadcasts = bob.broadcasts();
  await Promise.all([alice.connection.ready(), bob.connection.ready(), other.connection.ready()]);
  assert.deepEqual(await alice.chat.say({ text: "hi" }), { text: "hi", username: "alice" });
  for (const events of [aliceEvents, bobEvents]) {
    const e = await next(events);
    assert.equal(e.type, "chat.message");
    assert.deepEqual(e.data, { text: "hi", username: "alice" });
  }
  await bob.chat.announce({ text: "all" });
  const b = await next(bobBroadcasts);
  assert.equal(b.type, undefined);
  assert.deepEqual(b.data, { text: "all", username: "bob" });
  // The other group got nothing: its next event is the one sent to it.
  await other.chat.say({ text: "elsewhere" });
  assert.deepEqual((await next(otherEvents)).data, { text: "elsewhere", username: "bob" });
  // An anonymous say: 403, through the same typed error.
  const anon = connect(WsRoomsGroupId, { group_id: room }, options());
  assert.equal((await rejection(anon.chat.say({ text: "x" }))).status, 403);
  // A send's error (no reply on success) goes to onError.
  const seen = new Promise((resolve) => {
    anon.connection.onError = resolve;
  });
  await anon.chat.announce({ text: "x" });
  assert.equal((await seen).status, 403);
});

test("reconnect with backoff after the server restarts; subscriptions resume", async () => {
  const watcher = connect(Ws, options("bob-token"));
  const sub = await watcher.notes.subscribe();
  assert.equal(watcher.connection.opens, 1);
  const states = [];
  watcher.connection.onState = (s) => states.push(s);
  const inFlight = assert.rejects(watcher.wait({ ms: 3000 }), { name: "ConnectionClosedError" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  // A crash: the sockets drop with no close frame.
  await stop(server, "SIGKILL");
  await inFlight;
  server = await start();
  await watcher.connection.ready();
  assert.equal(watcher.connection.opens, 2);
  assert.deepEqual(states.slice(0, 2), ["reconnecting", "open"]);
  assert.deepEqual(await watcher.whoami(), { username: "bob", authenticated: true });
  // The subscription was sent again on the new socket: a note created on
  // the restarted server reaches the same iterator.
  const alice = connect(Ws, options("alice-token"));
  const note = await alice.notes.create({ data: { title: "after restart" } });
  const push = await next(sub);
  assert.equal(push.event, "created");
  assert.deepEqual(push.note, note);
});

test("close ends iterators and refuses new calls", async () => {
  const ws = connect(Ws, options());
  const sub = await ws.notes.subscribe();
  ws.close();
  assert.deepEqual(await sub.next(), { value: undefined, done: true });
  await assert.rejects(ws.echo(), /closed/);
});
