// The runtime of the generated rest-channels clients (hand-written; the
// generated modules import it as "./runtime.js"). No dependencies: a
// WebSocket comes from `globalThis.WebSocket` (browsers, node >= 22) or
// from `ConnectOptions.WebSocket` (e.g. the `ws` package on node 20).
/** A reply with errors (status 400, 403, 404, 405, 429, 500 ...). */
export class RestChannelsError extends Error {
    status;
    errors;
    action;
    route;
    constructor(
    /** The reply's status. */
    status, 
    /** The reply's `errors`. */
    errors, 
    /** The action of the request. */
    action, 
    /** The route of the request. */
    route) {
        super(`${action ?? "?"} ${JSON.stringify(route)}: ${status} ${JSON.stringify(errors)}`);
        this.status = status;
        this.errors = errors;
        this.action = action;
        this.route = route;
        this.name = "RestChannelsError";
    }
    /** The first `detail` of the errors, or their first message. */
    get detail() {
        for (const e of this.errors) {
            if (typeof e === "string")
                return e;
            if (typeof e === "object" && e !== null && typeof e.detail === "string") {
                return e.detail;
            }
        }
        return undefined;
    }
    /** The messages by field or argument name (`{title: ["..."]}`), all items merged. */
    get fields() {
        const out = {};
        for (const e of this.errors) {
            if (typeof e !== "object" || e === null)
                continue;
            for (const [k, v] of Object.entries(e)) {
                if (k === "detail" && typeof v === "string")
                    continue;
                out[k] = [...(out[k] ?? []), ...(Array.isArray(v) ? v.map(String) : [String(v)])];
            }
        }
        return out;
    }
}
/** The connection closed before the reply came (the request may or may not have run). */
export class ConnectionClosedError extends Error {
    action;
    route;
    constructor(action, route) {
        super(`the connection closed before the reply to ${action} ${JSON.stringify(route)}`);
        this.action = action;
        this.route = route;
        this.name = "ConnectionClosedError";
    }
}
/** No reply within `CallOptions.timeoutMs`. */
export class TimeoutError extends Error {
    action;
    route;
    constructor(action, route) {
        super(`no reply to ${action} ${JSON.stringify(route)} in time`);
        this.action = action;
        this.route = route;
        this.name = "TimeoutError";
    }
}
/** An async iterator of values pushed to it; `return()` (or `break` in `for await`) ends it. */
export class Events {
    onEnd;
    items = [];
    waiters = [];
    ended = false;
    /** @internal */
    constructor(onEnd = () => { }) {
        this.onEnd = onEnd;
    }
    /** @internal */
    push(value) {
        if (this.ended)
            return;
        const w = this.waiters.shift();
        if (w)
            w({ value, done: false });
        else
            this.items.push(value);
    }
    /** @internal */
    end() {
        if (this.ended)
            return;
        this.ended = true;
        for (const w of this.waiters.splice(0))
            w({ value: undefined, done: true });
    }
    next() {
        if (this.items.length > 0)
            return Promise.resolve({ value: this.items.shift(), done: false });
        if (this.ended)
            return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
    }
    return() {
        this.end();
        this.onEnd();
        return Promise.resolve({ value: undefined, done: true });
    }
    [Symbol.asyncIterator]() {
        return this;
    }
}
/**
 * A live subscription: `reply` is the data of the subscribe reply; iterate
 * it for the pushes. It survives reconnects (the client subscribes again).
 * `return()` (or leaving a `for await`) stops following locally; call the
 * route's `unsubscribe` to stop the server's pushes.
 */
export class Subscription extends Events {
    reply;
    /** @internal */
    constructor(reply, onEnd) {
        super(onEnd);
        this.reply = reply;
    }
}
/** The keys of `args` in `keys` whose value is not `undefined`. */
export function pick(args, keys) {
    const out = {};
    for (const k of keys) {
        const v = args[k];
        if (v !== undefined)
            out[k] = v;
    }
    return out;
}
/** `route` with `query` appended as a URL query string (undefined values dropped). */
export function withQuery(route, query) {
    if (!query)
        return route;
    const q = Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join("&");
    return q ? `${route}?${q}` : route;
}
/**
 * One WebSocket to one endpoint: requests numbered and matched to their
 * replies by `request_id`, group events dispatched to their iterators, and
 * a reconnect with exponential backoff (100 ms doubling up to 5 s, with
 * jitter) that subscribes the live subscriptions again.
 */
export class Connection {
    options;
    /** The URL it connects to (token included). */
    url;
    /** How many times the socket has opened (1 after the first connect). */
    opens = 0;
    /** Called with error replies nobody waits for (the errors of `send`). */
    onError = () => { };
    /** Called when the state changes. */
    onState = () => { };
    ws;
    WS;
    nextId = 1;
    attempt = 0;
    timer;
    queue = [];
    pending = new Map();
    live = new Map();
    listeners = new Set();
    openWaiters = [];
    _state = "connecting";
    constructor(url, options = {}) {
        this.options = options;
        const u = new URL(url);
        if (options.token !== undefined)
            u.searchParams.set("token", options.token);
        this.url = u.toString();
        const WS = options.WebSocket ?? globalThis.WebSocket;
        if (!WS)
            throw new Error("no WebSocket here: pass ConnectOptions.WebSocket (e.g. the ws package's)");
        this.WS = WS;
        this.open();
    }
    /** The connection's state. */
    get state() {
        return this._state;
    }
    /** Resolves when the socket is open (at once when it is). */
    ready() {
        if (this._state === "open")
            return Promise.resolve();
        return new Promise((resolve) => this.openWaiters.push(resolve));
    }
    /** Sends an action and resolves with the reply's `data` (rejects with `RestChannelsError`). */
    call(route, action, args, options = {}) {
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            const p = { resolve: resolve, reject, action, route, sent: false };
            if (options.timeoutMs !== undefined) {
                p.timer = setTimeout(() => {
                    this.pending.delete(id);
                    reject(new TimeoutError(action, route));
                }, options.timeoutMs);
            }
            this.pending.set(id, p);
            p.sent = this.write(JSON.stringify({ ...args, action, route, request_id: id }));
        });
    }
    /** Sends an action that has no reply on success; its errors go to `onError`. */
    send(route, action, args) {
        this.write(JSON.stringify({ ...args, action, route }));
        return Promise.resolve();
    }
    /** Subscribes: resolves with a `Subscription` once the reply comes. */
    async subscribe(route, action, args, options = {}) {
        const id = this.nextId++;
        const frame = JSON.stringify({ ...args, action, route, request_id: id });
        const live = { frame, awaitingReply: true };
        this.live.set(id, live);
        let reply;
        try {
            reply = await new Promise((resolve, reject) => {
                const p = { resolve: resolve, reject, action, route, sent: false };
                if (options.timeoutMs !== undefined) {
                    p.timer = setTimeout(() => {
                        this.pending.delete(id);
                        reject(new TimeoutError(action, route));
                    }, options.timeoutMs);
                }
                this.pending.set(id, p);
                p.sent = this.write(frame);
            });
        }
        catch (e) {
            this.live.delete(id);
            throw e;
        }
        const sub = new Subscription(reply, () => this.live.delete(id));
        live.events = sub;
        if (this._state === "closed")
            sub.end();
        return sub;
    }
    /** The group events of `type` (`null`: general broadcasts without a type), as an async iterator. */
    events(type) {
        const entry = { type, events: undefined };
        entry.events = new Events(() => this.listeners.delete(entry));
        this.listeners.add(entry);
        if (this._state === "closed")
            entry.events.end();
        return entry.events;
    }
    /** Closes for good: pending calls reject, iterators end, no reconnect. */
    close() {
        this.setState("closed");
        clearTimeout(this.timer);
        const ws = this.ws;
        this.ws = undefined;
        if (ws) {
            ws.onclose = null;
            ws.onmessage = null;
            ws.close(1000);
        }
        this.failPending(true);
        for (const l of this.live.values())
            l.events?.end();
        this.live.clear();
        for (const l of this.listeners)
            l.events.end();
        this.listeners.clear();
    }
    setState(s) {
        if (this._state === s)
            return;
        this._state = s;
        this.onState(s);
    }
    /** Sends now when open, else queues for the next open. Returns whether it was sent. */
    write(frame) {
        if (this._state === "closed")
            throw new Error("the connection is closed");
        if (this.ws && this._state === "open") {
            this.ws.send(frame);
            return true;
        }
        this.queue.push(frame);
        return false;
    }
    open() {
        const ws = new this.WS(this.url);
        this.ws = ws;
        ws.onopen = () => {
            if (this.ws !== ws)
                return;
            this.attempt = 0;
            this.opens++;
            this.setState("open");
            // Subscriptions first, again after a reconnect (the first time they are queued).
            if (this.opens > 1) {
                for (const l of this.live.values()) {
                    if (!l.events)
                        continue;
                    l.awaitingReply = true;
                    ws.send(l.frame);
                }
            }
            for (const frame of this.queue.splice(0))
                ws.send(frame);
            for (const p of this.pending.values())
                p.sent = true;
            for (const w of this.openWaiters.splice(0))
                w();
        };
        ws.onmessage = (ev) => {
            if (this.ws !== ws)
                return;
            this.receive(typeof ev.data === "string" ? ev.data : String(ev.data));
        };
        ws.onerror = () => { };
        ws.onclose = () => {
            if (this.ws !== ws)
                return;
            this.ws = undefined;
            this.failPending(false);
            if (this.options.reconnect === false) {
                this.close();
                return;
            }
            this.setState("reconnecting");
            const initial = this.options.initialDelayMs ?? 100;
            const max = this.options.maxDelayMs ?? 5000;
            const delay = Math.min(max, initial * 2 ** this.attempt) * (0.8 + 0.4 * Math.random());
            this.attempt++;
            this.timer = setTimeout(() => this.open(), delay);
        };
    }
    /** Rejects the calls whose request went out (all of them when `all`). */
    failPending(all) {
        for (const [id, p] of this.pending) {
            if (!all && !p.sent)
                continue;
            this.pending.delete(id);
            clearTimeout(p.timer);
            p.reject(new ConnectionClosedError(p.action, p.route));
        }
    }
    receive(text) {
        let f;
        try {
            f = JSON.parse(text);
        }
        catch {
            return;
        }
        if (typeof f !== "object" || f === null)
            return;
        const failed = (f.errors?.length ?? 0) > 0 || (f.status ?? 200) >= 400;
        const error = () => new RestChannelsError(f.status ?? 0, f.errors ?? [], f.action ?? null, f.route ?? "");
        if (f.request_id !== undefined) {
            const p = this.pending.get(f.request_id);
            const live = this.live.get(f.request_id);
            if (p) {
                this.pending.delete(f.request_id);
                clearTimeout(p.timer);
                if (live)
                    live.awaitingReply = false;
                if (failed)
                    p.reject(error());
                else
                    p.resolve(f.data);
                return;
            }
            if (live) {
                if (live.awaitingReply) {
                    // The reply to a subscribe sent again after a reconnect.
                    live.awaitingReply = false;
                    if (failed) {
                        this.onError(error());
                        live.events?.end();
                        this.live.delete(f.request_id);
                    }
                    return;
                }
                live.events?.push(f.data);
                return;
            }
        }
        if (!("action" in f)) {
            const type = f.type ?? null;
            for (const l of this.listeners) {
                if (l.type === type)
                    l.events.push({ type: f.type, data: f.data, status: f.status });
            }
            return;
        }
        if (failed)
            this.onError(error());
    }
}
