//! A load tool over real sockets: how much a server costs per idle WebSocket
//! connection (memory) and per message (CPU). It drives the `reference`
//! example (the rest-channels envelope) or the `raw_echo` example (a bare
//! axum echo: the baseline), and reads the server's own figures from
//! `/proc/PID` (Linux only).
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
//! ```
//!
//! `ulimit -n` cannot go past the hard limit (`ulimit -Hn`) without
//! privileges; the two processes count separately, so 10 000 connections
//! need about 10 100 descriptors each (`ulimit -n 20000` is enough).
//! The tool checks both limits first and says so if they are too low.
//!
//! Start a fresh server for each `idle` run: memory freed by closed
//! connections mostly stays with the server's allocator.

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

  --url       the server's WebSocket endpoint, e.g. ws://127.0.0.1:8000/ws/
  --conns     connections to open (idle: default 10000; echo: default 50)
  --pid       the server's process id (its memory and CPU are read from /proc/PID)
  --hold      idle: seconds to keep the connections open after measuring (default 0)
  --settle    idle: seconds to wait before reading the server's memory (default 2)
  --batch     handshakes in flight at a time (default 200)
  --messages  echo: requests in all, shared by the connections (default 200000)
  --window    echo: requests in flight per connection (default 1)
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
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let command = match args.next().as_deref() {
        Some("idle") => Command::Idle,
        Some("echo") => Command::Echo,
        Some("-h" | "--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    let mut opts = Opts {
        command,
        url: String::new(),
        conns: if command == Command::Idle { 10_000 } else { 50 },
        pid: 0,
        hold: 0,
        settle: 2,
        batch: 200,
        messages: 200_000,
        window: 1,
        raw: false,
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
        const VALUED: [&str; 8] = [
            "--url",
            "--conns",
            "--pid",
            "--hold",
            "--settle",
            "--batch",
            "--messages",
            "--window",
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
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        }
    }
    if opts.url.is_empty() {
        return Err(format!("--url is required\n{USAGE}"));
    }
    if opts.pid == 0 {
        return Err(format!(
            "--pid is required (the server's process id)\n{USAGE}"
        ));
    }
    if opts.conns == 0 || opts.batch == 0 || opts.window == 0 {
        return Err("--conns, --batch and --window must be at least 1".into());
    }
    if command == Command::Echo && opts.messages < opts.conns as u64 {
        return Err("--messages must be at least --conns".into());
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

/// One exchange: `PROBE` out, one reply in, checked.
async fn probe(ws: &mut Ws, raw: bool) -> Result<(), String> {
    ws.send(Message::text(PROBE))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let reply = next_text(ws).await?;
    let ok = if raw {
        reply == PROBE
    } else {
        serde_json::from_str::<Reply<serde::de::IgnoredAny>>(&reply).is_ok_and(|r| r.status == 200)
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected reply {reply:?}"))
    }
}

/// Opens `n` connections, `batch` handshakes at a time, each one probed once.
async fn open_all(url: &str, n: usize, batch: usize, raw: bool) -> Result<Vec<Ws>, String> {
    let gate = Arc::new(Semaphore::new(batch));
    let url: Arc<str> = url.into();
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let gate = gate.clone();
        let url = url.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let mut ws = connect(&url)
                .await
                .map_err(|e| format!("connection {i}: {e}"))?;
            probe(&mut ws, raw)
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
    let conns = open_all(&opts.url, opts.conns, opts.batch, opts.raw).await?;
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
// echo

/// Sends `count` echo requests on `ws`, `window` in flight at most, checking
/// every reply in order.
async fn echo_conn(mut ws: Ws, count: u64, window: u64, raw: bool) -> Result<Ws, String> {
    let (mut sent, mut received) = (0u64, 0u64);
    while received < count {
        if sent < count && sent - received < window {
            while sent < count && sent - received < window {
                ws.feed(Message::text(echo_request(sent)))
                    .await
                    .map_err(|e| format!("send: {e}"))?;
                sent += 1;
            }
            ws.flush().await.map_err(|e| format!("send: {e}"))?;
        }
        let reply = next_text(&mut ws).await?;
        let ok = if raw {
            reply == echo_request(received)
        } else {
            match serde_json::from_str::<Reply<EchoData>>(&reply) {
                Ok(r) => r.status == 200 && r.data.is_some_and(|d| d.n == received),
                Err(_) => false,
            }
        };
        if !ok {
            return Err(format!("reply {received}: unexpected {reply:?}"));
        }
        received += 1;
    }
    Ok(ws)
}

async fn echo(opts: &Opts) -> Result<(), String> {
    check_open_file_limits(opts)?;
    eprintln!("server: pid {} ({})", opts.pid, process_name(opts.pid)?);
    let tck = clock_ticks_per_second()? as f64;
    let server = opts.pid.to_string();
    let conns = open_all(&opts.url, opts.conns, opts.batch, opts.raw).await?;

    let (server_u0, server_s0) = cpu_ticks(&server)?;
    let (client_u0, client_s0) = cpu_ticks("self")?;
    let busy0 = machine_busy_ticks();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let per_conn = opts.messages / opts.conns as u64;
    let extra = opts.messages % opts.conns as u64;
    for (i, ws) in conns.into_iter().enumerate() {
        let count = per_conn + u64::from((i as u64) < extra);
        let (window, raw) = (opts.window, opts.raw);
        tasks.spawn(async move {
            echo_conn(ws, count, window, raw)
                .await
                .map_err(|e| format!("connection {i}: {e}"))
        });
    }
    let mut done = Vec::with_capacity(opts.conns);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(ws)) => done.push(ws),
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(format!("an echo task failed: {e}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (server_u1, server_s1) = cpu_ticks(&server)?;
    let (client_u1, client_s1) = cpu_ticks("self")?;
    let busy1 = machine_busy_ticks();

    let msgs = opts.messages as f64;
    let secs = |ticks: u64| ticks as f64 / tck;
    let (su, ss) = (secs(server_u1 - server_u0), secs(server_s1 - server_s0));
    let (cu, cs) = (secs(client_u1 - client_u0), secs(client_s1 - client_s0));
    println!(
        "echo: {} connections, window {}, {} messages in {elapsed:.2} s: {:.0} messages/s",
        opts.conns,
        opts.window,
        opts.messages,
        msgs / elapsed
    );
    println!(
        "server CPU: {:.2} s (user {su:.2} s, system {ss:.2} s); server CPU per message: {:.1} µs",
        su + ss,
        (su + ss) * 1e6 / msgs
    );
    println!(
        "client CPU: {:.2} s (user {cu:.2} s, system {cs:.2} s); client CPU per message: {:.1} µs",
        cu + cs,
        (cu + cs) * 1e6 / msgs
    );
    if server_u1 + server_s1 == server_u0 + server_s0 {
        eprintln!(
            "warning: the server (pid {}) used no CPU at all: is --pid the server's own process \
             (not a shell or `cargo run` around it)?",
            opts.pid
        );
    }
    if let (Some(b0), Some(b1)) = (busy0, busy1) {
        // Client and server share the machine: anything else running skews
        // the throughput (and, less so, the CPU per message).
        let others = secs(b1 - b0) - (su + ss + cu + cs);
        println!(
            "other processes' CPU during the run: {:.2} s",
            others.max(0.0)
        );
    }
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
    };
    if let Err(e) = result {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}
