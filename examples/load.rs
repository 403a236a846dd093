//! A load tool over real sockets: how much a server costs per idle WebSocket
//! connection (memory) and per message (CPU). It drives the `reference`
//! example (the rest-channels envelope), the `raw_echo` example (a bare axum
//! echo: the baseline of `echo`) or the `raw_notes` example (a hand-written
//! axum + sqlx server of the notes: the baseline of `request`), and reads
//! the server's own figures from `/proc/PID` (Linux only).
//!
//! - `idle`: reads the server's VmRSS (`/proc/PID/status`), opens `--conns`
//!   connections (`--batch` handshakes in flight at a time), does one echo
//!   exchange on each so that every connection is fully set up, waits
//!   `--settle` seconds, reads VmRSS again and prints the difference per
//!   connection; then holds the connections `--hold` seconds, closes them and
//!   reads VmRSS once more.
//! - `echo`: opens `--conns` connections that share `--messages` echo
//!   requests `{"action":"echo","data":{"n":i,"text":"hello"}}`, at most
//!   `--window` in flight on each connection; checks every reply (status 200
//!   and the same `n` for the envelope; the identical text with `--raw`);
//!   prints the throughput and the server's CPU time (utime + stime from
//!   `/proc/PID/stat`) per message. The client's CPU per message is printed
//!   too: client and server share the machine, so throughput is bounded by
//!   both, while the server's CPU per message is the server's alone.
//! - `seed`: creates `--count` notes through the API (`create` on `notes/`,
//!   `--conns` connections, `--window` in flight on each), checks every
//!   reply is a 201, then prints the `count` of `list`. The URL needs a
//!   token (`?token=alice-token`): anonymous clients may not create.
//! - `request`: like `echo`, but the requests are the `--body` given (several
//!   `--body` rotate), with every `{pk}` in them replaced by the numbers of
//!   `--pk-range A-B` in turn; checks that every reply is an envelope with
//!   status 200 (`--status` for another) and prints the same figures as
//!   `echo`, and the mean reply size.
//!
//! Reproduce (each connection is a file descriptor on both sides, hence the
//! `ulimit -n` in the shell of the server and of the client):
//!
//! ```text
//! cargo build --release --example reference --example raw_echo --example load
//!
//! ulimit -n 65536
//! target/release/examples/reference --addr 127.0.0.1:8000 & SERVER=$!
//! target/release/examples/load idle --url ws://127.0.0.1:8000/ws/ --conns 10000 --pid $SERVER
//! target/release/examples/load echo --url ws://127.0.0.1:8000/ws/ --conns 50 --messages 200000 --window 1 --pid $SERVER
//! target/release/examples/load echo --url ws://127.0.0.1:8000/ws/ --conns 50 --messages 200000 --window 8 --pid $SERVER
//! kill $SERVER
//!
//! target/release/examples/raw_echo --addr 127.0.0.1:8001 & SERVER=$!   # or with --small-buffers
//! target/release/examples/load idle --url ws://127.0.0.1:8001/ws/ --conns 10000 --pid $SERVER
//! target/release/examples/load echo --raw --url ws://127.0.0.1:8001/ws/ --conns 50 --messages 200000 --window 1 --pid $SERVER
//! kill $SERVER
//!
//! # retrieve and list: reference vs raw_notes, on one SQLite file of 10 000 notes
//! DB=sqlite:///tmp/rc-notes.db
//! target/release/examples/reference --addr 127.0.0.1:8000 --database-url $DB & SERVER=$!
//! target/release/examples/load seed --url 'ws://127.0.0.1:8000/ws/?token=alice-token' --count 10000
//! target/release/examples/load request --url ws://127.0.0.1:8000/ws/ --conns 50 --window 8 --messages 100000 \
//!     --pid $SERVER --pk-range 1-10000 --body '{"action":"retrieve","route":"notes/{pk}/","request_id":1}'
//! target/release/examples/load request --url ws://127.0.0.1:8000/ws/ --conns 50 --window 8 --messages 100000 \
//!     --pid $SERVER --body '{"action":"list","route":"notes/?page=500","request_id":1}'
//! kill $SERVER
//! target/release/examples/raw_notes --addr 127.0.0.1:8002 --database-url $DB & SERVER=$!
//! # ... the same `load request` commands on ws://127.0.0.1:8002/ws/
//! ```
//!
//! With SQLite, most of a request's server CPU is the kernel's: sqlx runs
//! each connection on a thread of its own, and the wake-ups between the
//! runtime's threads and those cost more, and vary more, when they cross
//! cores. Pinning the server to one core and this tool to the other
//! (`taskset -c 0` before the server's command, `taskset -c 1` before
//! this one's) gives steadier figures on a small machine.
//!
//! `ulimit -n` cannot go past the hard limit (`ulimit -Hn`) without
//! privileges; the two processes count separately, so 10 000 connections
//! need about 10 100 descriptors each (`ulimit -n 20000` is enough).
//! The tool checks both limits first and says so if they are too low.
//!
//! Start a fresh server for each `idle` run: memory freed by closed
//! connections mostly stays with the server's allocator.

use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const USAGE: &str = "\
usage:
  load idle --url URL --conns N --pid SERVER_PID [--hold SECS] [--settle SECS] [--batch N] [--raw]
  load echo --url URL --conns N --messages M --pid SERVER_PID [--window W] [--batch N] [--raw]
  load seed --url URL?token=T [--count N] [--conns N] [--window W]
  load request --url URL --body JSON [--body JSON ...] [--pk-range A-B] --conns N --messages M
               --pid SERVER_PID [--window W] [--batch N] [--status S]

  --url       the server's WebSocket endpoint, e.g. ws://127.0.0.1:8000/ws/
  --conns     connections to open (idle: default 10000; echo, request: default 50;
              seed: default 8)
  --pid       the server's process id (its memory and CPU are read from /proc/PID)
              (seed: optional; with it, the server's CPU is reported too)
  --hold      idle: seconds to keep the connections open after measuring (default 0)
  --settle    idle: seconds to wait before reading the server's memory (default 2)
  --batch     handshakes in flight at a time (default 200)
  --messages  echo, request: requests in all, shared by the connections (default 200000)
  --window    echo, request, seed: requests in flight per connection (default 1; seed: 8)
  --count     seed: notes to create (default 10000)
  --body      request: a request's JSON text; repeat it to rotate over several
  --pk-range  request: `A-B`: every `{pk}` in a body becomes A, A+1, ..., B, A, ...
  --status    request: the status every reply must have (default 200)
  --raw       the server echoes text frames as they are (examples/raw_echo),
              rather than the rest-channels envelope (examples/reference)

Each connection is a file descriptor on both sides: run the server and this
tool under `ulimit -n 65536`.";

/// How long a handshake or a reply may take before the run is called off.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Idle,
    Echo,
    Seed,
    Request,
}

struct Opts {
    command: Command,
    url: String,
    conns: usize,
    pid: u32,
    hold: u64,
    settle: u64,
    batch: usize,
    messages: u64,
    window: u64,
    raw: bool,
    count: u64,
    bodies: Vec<String>,
    pk_range: (u64, u64),
    status: u16,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let command = match args.next().as_deref() {
        Some("idle") => Command::Idle,
        Some("echo") => Command::Echo,
        Some("seed") => Command::Seed,
        Some("request") => Command::Request,
        Some("-h" | "--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    let mut opts = Opts {
        command,
        url: String::new(),
        conns: match command {
            Command::Idle => 10_000,
            Command::Seed => 8,
            Command::Echo | Command::Request => 50,
        },
        pid: 0,
        hold: 0,
        settle: 2,
        batch: 200,
        messages: 200_000,
        window: if command == Command::Seed { 8 } else { 1 },
        raw: false,
        count: 10_000,
        bodies: Vec::new(),
        pk_range: (1, 1),
        status: 200,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if flag == "--raw" {
            opts.raw = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        const VALUED: [&str; 12] = [
            "--url",
            "--conns",
            "--pid",
            "--hold",
            "--settle",
            "--batch",
            "--messages",
            "--window",
            "--count",
            "--body",
            "--pk-range",
            "--status",
        ];
        if !VALUED.contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag:?}\n{USAGE}"));
        }
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
        };
        fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("{flag}: not a valid number: {value:?}"))
        }
        match flag.as_str() {
            "--url" => opts.url = value,
            "--conns" => opts.conns = number(&flag, &value)?,
            "--pid" => opts.pid = number(&flag, &value)?,
            "--hold" => opts.hold = number(&flag, &value)?,
            "--settle" => opts.settle = number(&flag, &value)?,
            "--batch" => opts.batch = number(&flag, &value)?,
            "--messages" => opts.messages = number(&flag, &value)?,
            "--window" => opts.window = number(&flag, &value)?,
            "--count" => opts.count = number(&flag, &value)?,
            "--body" => opts.bodies.push(value),
            "--pk-range" => {
                let (a, b) = value.split_once('-').ok_or_else(|| {
                    format!("--pk-range: expected A-B, e.g. 1-10000, not {value:?}")
                })?;
                opts.pk_range = (number(&flag, a)?, number(&flag, b)?);
                if opts.pk_range.0 > opts.pk_range.1 {
                    return Err(format!("--pk-range {value}: A is larger than B"));
                }
            }
            "--status" => opts.status = number(&flag, &value)?,
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        }
    }
    if opts.url.is_empty() {
        return Err(format!("--url is required\n{USAGE}"));
    }
    if opts.pid == 0 && command != Command::Seed {
        return Err(format!(
            "--pid is required (the server's process id)\n{USAGE}"
        ));
    }
    if opts.conns == 0 || opts.batch == 0 || opts.window == 0 {
        return Err("--conns, --batch and --window must be at least 1".into());
    }
    if matches!(command, Command::Echo | Command::Request) && opts.messages < opts.conns as u64 {
        return Err("--messages must be at least --conns".into());
    }
    if command == Command::Request && opts.bodies.is_empty() {
        return Err(format!("request: --body is required\n{USAGE}"));
    }
    if command == Command::Seed && opts.count == 0 {
        return Err("--count must be at least 1".into());
    }
    Ok(opts)
}

// ---------------------------------------------------------------------------
// /proc

/// A `/proc/PID/status` field in KiB (`VmRSS`, `RssAnon`, ...).
fn status_kib(pid: &str, field: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("{path}: no {field} line"))
}

fn rss_kib(pid: u32) -> Result<u64, String> {
    status_kib(&pid.to_string(), "VmRSS")
}

/// (utime, stime) in clock ticks, from `/proc/PID/stat`.
fn cpu_ticks(pid: &str) -> Result<(u64, u64), String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // fields are counted from the last ')'. Field 3 (state) comes first, so
    // utime (field 14) and stime (field 15) are at 11 and 12.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("{path}: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("{path}: unexpected format"))
    };
    Ok((field(11)?, field(12)?))
}

/// The whole machine's busy time in clock ticks (`/proc/stat`: user, nice,
/// system, irq, softirq, steal), to tell how much else ran during a run.
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    Some(f.get(0..3)?.iter().sum::<u64>() + f.get(5..8)?.iter().sum::<u64>())
}

fn clock_ticks_per_second() -> Result<u64, String> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .map_err(|e| format!("cannot run `getconf CLK_TCK`: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "`getconf CLK_TCK` did not print a number".to_owned())
}

/// The soft limit on open files of a process (`/proc/PID/limits`).
fn open_file_limit(pid: &str) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// The server's command name, to show which process is measured.
fn process_name(pid: u32) -> Result<String, String> {
    let path = format!("/proc/{pid}/comm");
    let comm = std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e} (is --pid {pid} the server's process id?)"))?;
    Ok(comm.trim().to_owned())
}

fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Both ends need a descriptor per connection: fail early, and clearly,
/// rather than with EMFILE half-way (or a server stuck retrying `accept`).
fn check_open_file_limits(opts: &Opts) -> Result<(), String> {
    let need = opts.conns as u64 + 64;
    let hint = "run both the server and this tool under `ulimit -n 65536` \
                (e.g. `bash -c 'ulimit -n 65536 && exec target/release/examples/reference'`)";
    if let Some(limit) = open_file_limit("self").filter(|&l| l < need) {
        return Err(format!(
            "this tool's open-file limit is {limit}, and {} connections need about {need}: {hint}",
            opts.conns
        ));
    }
    if let Some(limit) = open_file_limit(&opts.pid.to_string()).filter(|&l| l < need) {
        return Err(format!(
            "the server's (pid {}) open-file limit is {limit}, and {} connections need about {need}: {hint}",
            opts.pid, opts.conns
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// WebSocket

/// The `i`-th echo request of a connection in `echo`; with `--raw` the reply
/// is expected to be this very text.
fn echo_request(n: u64) -> String {
    format!(r#"{{"action":"echo","data":{{"n":{n},"text":"hello"}}}}"#)
}

const PROBE: &str = r#"{"action":"echo","data":1}"#;

#[derive(Deserialize)]
struct Reply<T> {
    status: u16,
    data: Option<T>,
}

#[derive(Deserialize)]
struct EchoData {
    n: u64,
}

fn explain_connect_error(e: WsError) -> String {
    if let WsError::Io(io) = &e {
        match io.raw_os_error() {
            // EMFILE, ENFILE
            Some(24) | Some(23) => {
                return format!(
                    "{io}: out of file descriptors: run under `ulimit -n 65536` (and the server too)"
                );
            }
            // EADDRNOTAVAIL
            Some(99) => {
                return format!("{io}: out of local ports (see net.ipv4.ip_local_port_range)");
            }
            _ => {}
        }
        if io.kind() == ErrorKind::ConnectionRefused {
            return format!("{io}: is the server listening there?");
        }
    }
    e.to_string()
}

async fn connect(url: &str) -> Result<Ws, String> {
    // Small client-side buffers: the client's memory is not what is measured,
    // and 10 000 sockets at tungstenite's default 128 KiB + 128 KiB add up.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    match tokio::time::timeout(PATIENCE, connect_async_with_config(url, Some(config), true)).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(e)) => Err(explain_connect_error(e)),
        Err(_) => Err(format!(
            "no handshake within {PATIENCE:?} (is the server out of file descriptors? run it under `ulimit -n 65536`)"
        )),
    }
}

/// The next text frame (pings and pongs are skipped).
async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        let msg = match tokio::time::timeout(PATIENCE, ws.next()).await {
            Err(_) => return Err(format!("no reply within {PATIENCE:?}")),
            Ok(None) => return Err("the server closed the connection".into()),
            Ok(Some(Err(e))) => return Err(format!("socket error: {e}")),
            Ok(Some(Ok(msg))) => msg,
        };
        match msg {
            Message::Text(text) => return Ok(text.as_str().to_owned()),
            Message::Close(frame) => {
                return Err(format!("the server closed the connection: {frame:?}"));
            }
            Message::Binary(_) => return Err("unexpected binary frame".into()),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

/// One exchange: `text` out, one reply in, checked: the same text with
/// `raw`, else an envelope with `status`.
async fn probe(ws: &mut Ws, text: &str, raw: bool, status: u16) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let reply = next_text(ws).await?;
    let ok = if raw {
        reply == text
    } else {
        serde_json::from_str::<Reply<serde::de::IgnoredAny>>(&reply)
            .is_ok_and(|r| r.status == status)
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected reply {reply:?} to {text:?}"))
    }
}

/// Opens `n` connections, `batch` handshakes at a time, each one probed
/// once with `probe_text` (see [`probe`]).
async fn open_all(
    url: &str,
    n: usize,
    batch: usize,
    probe_text: &str,
    raw: bool,
    status: u16,
) -> Result<Vec<Ws>, String> {
    let gate = Arc::new(Semaphore::new(batch));
    let url: Arc<str> = url.into();
    let probe_text: Arc<str> = probe_text.into();
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let gate = gate.clone();
        let url = url.clone();
        let probe_text = probe_text.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let mut ws = connect(&url)
                .await
                .map_err(|e| format!("connection {i}: {e}"))?;
            probe(&mut ws, &probe_text, raw, status)
                .await
                .map_err(|e| format!("connection {i}: {e}"))?;
            Ok::<_, String>(ws)
        });
    }
    let mut conns = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(ws)) => conns.push(ws),
            Ok(Err(e)) => {
                return Err(format!(
                    "{e} (after {} connections were set up)",
                    conns.len()
                ));
            }
            Err(e) => return Err(format!("a connecting task failed: {e}")),
        }
    }
    Ok(conns)
}

/// Closes every connection (close handshake, at most a few seconds each).
async fn close_all(conns: Vec<Ws>, batch: usize) {
    let gate = Arc::new(Semaphore::new(batch));
    let mut tasks = JoinSet::new();
    for mut ws in conns {
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                if ws.close(None).await.is_ok() {
                    // Wait for the server's close frame (or the end of the stream).
                    while let Some(Ok(_)) = ws.next().await {}
                }
            })
            .await;
        });
    }
    while tasks.join_next().await.is_some() {}
}

// ---------------------------------------------------------------------------
// idle

async fn idle(opts: &Opts) -> Result<(), String> {
    check_open_file_limits(opts)?;
    eprintln!("server: pid {} ({})", opts.pid, process_name(opts.pid)?);
    let before = rss_kib(opts.pid)?;
    let fds_before = open_fds(opts.pid);
    let started = Instant::now();
    let conns = open_all(&opts.url, opts.conns, opts.batch, PROBE, opts.raw, 200).await?;
    let setup = started.elapsed();
    eprintln!(
        "{} connections set up (one exchange each) in {:.2} s; settling {} s",
        conns.len(),
        setup.as_secs_f64(),
        opts.settle
    );
    tokio::time::sleep(Duration::from_secs(opts.settle)).await;
    let after = rss_kib(opts.pid)?;
    let fds_after = open_fds(opts.pid);
    let per_conn = (after as f64 - before as f64) / conns.len() as f64;
    println!(
        "idle connections: {}, server RSS before: {before} KiB, after: {after} KiB, per connection: {per_conn:.1} KiB",
        conns.len()
    );
    if let (Some(b), Some(a)) = (fds_before, fds_after) {
        println!("server open file descriptors: before {b}, after {a}");
    }
    if opts.hold > 0 {
        eprintln!("holding {} connections for {} s", conns.len(), opts.hold);
        tokio::time::sleep(Duration::from_secs(opts.hold)).await;
    }
    close_all(conns, opts.batch).await;
    tokio::time::sleep(Duration::from_secs(opts.settle)).await;
    let fds =
        open_fds(opts.pid).map_or_else(String::new, |n| format!(", open file descriptors: {n}"));
    println!(
        "server RSS after closing them all: {} KiB{fds}",
        rss_kib(opts.pid)?
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// runs of requests: echo, seed, request

/// Sends `count` requests on `ws` (`request(i)` is the `i`-th), at most
/// `window` in flight, and checks every reply in order (`check(i, reply)`).
/// Returns the connection and the bytes of the replies.
async fn drive_conn(
    mut ws: Ws,
    count: u64,
    window: u64,
    mut request: impl FnMut(u64) -> String,
    mut check: impl FnMut(u64, &str) -> bool,
) -> Result<(Ws, u64), String> {
    let (mut sent, mut received, mut bytes) = (0u64, 0u64, 0u64);
    while received < count {
        if sent < count && sent - received < window {
            while sent < count && sent - received < window {
                ws.feed(Message::text(request(sent)))
                    .await
                    .map_err(|e| format!("send: {e}"))?;
                sent += 1;
            }
            ws.flush().await.map_err(|e| format!("send: {e}"))?;
        }
        let reply = next_text(&mut ws).await?;
        if !check(received, &reply) {
            return Err(format!("reply {received}: unexpected {reply:?}"));
        }
        bytes += reply.len() as u64;
        received += 1;
    }
    Ok((ws, bytes))
}

/// Runs `job(i, ws, count)` on every connection, `messages` shared by them,
/// and waits for them all; returns the connections and the replies' bytes.
async fn run_all<F, Fut>(conns: Vec<Ws>, messages: u64, job: F) -> Result<(Vec<Ws>, u64), String>
where
    F: Fn(usize, Ws, u64) -> Fut,
    Fut: Future<Output = Result<(Ws, u64), String>> + Send + 'static,
{
    let n = conns.len();
    let per_conn = messages / n as u64;
    let extra = messages % n as u64;
    let mut tasks = JoinSet::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let count = per_conn + u64::from((i as u64) < extra);
        let run = job(i, ws, count);
        tasks.spawn(async move { run.await.map_err(|e| format!("connection {i}: {e}")) });
    }
    let (mut done, mut bytes) = (Vec::with_capacity(n), 0);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((ws, b))) => {
                done.push(ws);
                bytes += b;
            }
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(format!("a connection's task failed: {e}")),
        }
    }
    Ok((done, bytes))
}

/// CPU times (clock ticks) at one instant: the server's (when its pid is
/// known), this process's, the machine's.
struct Sample {
    server: Option<(u64, u64)>,
    client: (u64, u64),
    busy: Option<u64>,
    at: Instant,
}

impl Sample {
    fn take(pid: u32) -> Result<Self, String> {
        let server = if pid == 0 {
            None
        } else {
            Some(cpu_ticks(&pid.to_string())?)
        };
        Ok(Sample {
            server,
            client: cpu_ticks("self")?,
            busy: machine_busy_ticks(),
            at: Instant::now(),
        })
    }
}

/// Prints the throughput and the CPU per message between two samples.
fn report(
    what: &str,
    opts: &Opts,
    messages: u64,
    before: &Sample,
    after: &Sample,
) -> Result<(), String> {
    let tck = clock_ticks_per_second()? as f64;
    let elapsed = after.at.duration_since(before.at).as_secs_f64();
    let msgs = messages as f64;
    let secs = |ticks: u64| ticks as f64 / tck;
    println!(
        "{what}: {} connections, window {}, {messages} messages in {elapsed:.2} s: {:.0} messages/s",
        opts.conns,
        opts.window,
        msgs / elapsed
    );
    let mut server_total = 0.0;
    if let (Some((u0, s0)), Some((u1, s1))) = (before.server, after.server) {
        let (su, ss) = (secs(u1 - u0), secs(s1 - s0));
        server_total = su + ss;
        println!(
            "server CPU: {:.2} s (user {su:.2} s, system {ss:.2} s); server CPU per message: {:.1} µs",
            su + ss,
            (su + ss) * 1e6 / msgs
        );
        if u1 + s1 == u0 + s0 {
            eprintln!(
                "warning: the server (pid {}) used no CPU at all: is --pid the server's own process \
                 (not a shell or `cargo run` around it)?",
                opts.pid
            );
        }
    }
    let ((cu0, cs0), (cu1, cs1)) = (before.client, after.client);
    let (cu, cs) = (secs(cu1 - cu0), secs(cs1 - cs0));
    println!(
        "client CPU: {:.2} s (user {cu:.2} s, system {cs:.2} s); client CPU per message: {:.1} µs",
        cu + cs,
        (cu + cs) * 1e6 / msgs
    );
    if let (Some(b0), Some(b1), Some(_)) = (before.busy, after.busy, before.server) {
        // Client and server share the machine: anything else running skews
        // the throughput (and, less so, the CPU per message).
        let others = secs(b1 - b0) - (server_total + cu + cs);
        println!(
            "other processes' CPU during the run: {:.2} s",
            others.max(0.0)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// echo

/// Sends `count` echo requests on `ws`, `window` in flight at most, checking
/// every reply in order.
async fn echo_conn(ws: Ws, count: u64, window: u64, raw: bool) -> Result<(Ws, u64), String> {
    drive_conn(ws, count, window, echo_request, |n, reply| {
        if raw {
            reply == echo_request(n)
        } else {
            match serde_json::from_str::<Reply<EchoData>>(reply) {
                Ok(r) => r.status == 200 && r.data.is_some_and(|d| d.n == n),
                Err(_) => false,
            }
        }
    })
    .await
}

async fn echo(opts: &Opts) -> Result<(), String> {
    check_open_file_limits(opts)?;
    eprintln!("server: pid {} ({})", opts.pid, process_name(opts.pid)?);
    let conns = open_all(&opts.url, opts.conns, opts.batch, PROBE, opts.raw, 200).await?;
    let before = Sample::take(opts.pid)?;
    let (window, raw) = (opts.window, opts.raw);
    let (done, _) = run_all(conns, opts.messages, |_, ws, count| {
        echo_conn(ws, count, window, raw)
    })
    .await?;
    let after = Sample::take(opts.pid)?;
    report("echo", opts, opts.messages, &before, &after)?;
    close_all(done, opts.batch).await;
    Ok(())
}

// ---------------------------------------------------------------------------
// seed

/// The `n`-th note `seed` creates.
fn create_request(n: u64) -> String {
    format!(
        r#"{{"action":"create","route":"notes/","request_id":{n},"data":{{"title":"Note {n}","content":"The body of note {n}: seeded by examples/load.rs to measure list and retrieve."}}}}"#
    )
}

async fn seed(opts: &Opts) -> Result<(), String> {
    check_open_file_limits(opts)?;
    if opts.pid != 0 {
        eprintln!("server: pid {} ({})", opts.pid, process_name(opts.pid)?);
    }
    let conns = open_all(&opts.url, opts.conns, opts.batch, PROBE, false, 200).await?;
    let before = Sample::take(opts.pid)?;
    let (window, stride) = (opts.window, opts.conns as u64);
    let (mut done, _) = run_all(conns, opts.count, |i, ws, count| {
        // Connection i creates notes i, i + stride, i + 2 stride, ...
        let n = move |j: u64| j * stride + i as u64 + 1;
        drive_conn(
            ws,
            count,
            window,
            move |j| create_request(n(j)),
            |_, reply| {
                serde_json::from_str::<Reply<serde::de::IgnoredAny>>(reply)
                    .is_ok_and(|r| r.status == 201)
            },
        )
    })
    .await
    .map_err(|e| {
        if e.contains("\"status\":403") {
            format!("{e}\n(anonymous clients may not create: put a token in the URL, `?token=alice-token`)")
        } else {
            e
        }
    })?;
    let after = Sample::take(opts.pid)?;
    report("seed (create)", opts, opts.count, &before, &after)?;

    #[derive(Deserialize)]
    struct ListPage {
        count: u64,
    }
    let ws = done.first_mut().expect("at least one connection");
    ws.send(Message::text(r#"{"action":"list","route":"notes/"}"#))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let reply = next_text(ws).await?;
    match serde_json::from_str::<Reply<ListPage>>(&reply) {
        Ok(Reply {
            status: 200,
            data: Some(page),
        }) => println!("notes in the database now: {}", page.count),
        _ => return Err(format!("list after seeding: unexpected {reply:?}")),
    }
    close_all(done, opts.batch).await;
    Ok(())
}

// ---------------------------------------------------------------------------
// request

/// The requests of `request`: the bodies, each cut at its `{pk}`s, and the
/// range of pks that fill them.
struct Bodies {
    parts: Vec<Vec<String>>,
    pk_first: u64,
    pk_span: u64,
}

impl Bodies {
    fn new(opts: &Opts) -> Self {
        let (a, b) = opts.pk_range;
        Bodies {
            parts: opts
                .bodies
                .iter()
                .map(|b| b.split("{pk}").map(str::to_owned).collect())
                .collect(),
            pk_first: a,
            pk_span: b - a + 1,
        }
    }

    /// The `n`-th request: bodies in turn; the pk moves on after each round
    /// of bodies.
    fn get(&self, n: u64) -> String {
        let count = self.parts.len() as u64;
        let parts = &self.parts[(n % count) as usize];
        let pk = self.pk_first + (n / count) % self.pk_span;
        let pk = pk.to_string();
        let mut text = String::with_capacity(parts.iter().map(String::len).sum::<usize>() + 8);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                text.push_str(&pk);
            }
            text.push_str(part);
        }
        text
    }
}

async fn request(opts: &Opts) -> Result<(), String> {
    check_open_file_limits(opts)?;
    eprintln!("server: pid {} ({})", opts.pid, process_name(opts.pid)?);
    let bodies = Arc::new(Bodies::new(opts));
    eprintln!("first request: {}", bodies.get(0));
    let conns = open_all(
        &opts.url,
        opts.conns,
        opts.batch,
        &bodies.get(0),
        false,
        opts.status,
    )
    .await?;
    let before = Sample::take(opts.pid)?;
    let (window, stride, status) = (opts.window, opts.conns as u64, opts.status);
    let (done, bytes) = run_all(conns, opts.messages, |i, ws, count| {
        let bodies = bodies.clone();
        // Connection i sends requests i, i + stride, i + 2 stride, ...
        let request = move |j: u64| bodies.get(j * stride + i as u64);
        drive_conn(ws, count, window, request, move |_, reply| {
            serde_json::from_str::<Reply<serde::de::IgnoredAny>>(reply)
                .is_ok_and(|r| r.status == status)
        })
    })
    .await?;
    let after = Sample::take(opts.pid)?;
    report("request", opts, opts.messages, &before, &after)?;
    println!(
        "mean reply: {:.0} bytes",
        bytes as f64 / opts.messages as f64
    );
    close_all(done, opts.batch).await;
    Ok(())
}

#[tokio::main]
async fn main() {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let result = match opts.command {
        Command::Idle => idle(&opts).await,
        Command::Echo => echo(&opts).await,
        Command::Seed => seed(&opts).await,
        Command::Request => request(&opts).await,
    };
    if let Err(e) = result {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}
