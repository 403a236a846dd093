//! Fan-out over real sockets: what one broadcast costs the server per
//! delivery, and how long it takes to reach the last member, on the
//! in-memory layer and across two processes on Redis; and how long a room
//! across processes stays silent after Redis restarts. It starts the
//! `reference` example itself (and `redis-server`), on free ports of
//! 127.0.0.1, and reads the servers' CPU from `/proc/PID/stat` (Linux only).
//!
//! - `memory`: one `reference` process; `--subs` subscribers in the room
//!   `/ws/rooms/fanout/` plus one sender (`?token=alice-token`), who sends
//!   `--messages` `say`s (`{"action":"say","route":"chat/","text":"fo<seq>"}`),
//!   at most `--window` of them not yet delivered to every subscriber (and
//!   one every `--interval-us` at most). Prints the server's CPU per delivery
//!   ((utime + stime) / (messages × subscribers)), the latency from each
//!   send to its arrival at the last subscriber (p50, p99, max) and at each
//!   subscriber, deliveries per second, and the client's CPU.
//! - `redis`: a `redis-server` of its own (`--save '' --appendonly no`) and
//!   two `reference` processes with the same `--redis-url`; the subscribers
//!   are split over both, the sender is on the first. The same figures, and
//!   the CPU per delivery of each server and of `redis-server`.
//! - `restart`: the same three processes; a sender on A sends a `say` every
//!   `--interval-ms` (the next once the previous reply is back), a
//!   subscriber on B (and one on A) reads them; `--restarts` times, Redis is
//!   killed (SIGKILL), started again on the same port after `--outage-ms`,
//!   and the tool prints the time from the restart (Redis answering PING)
//!   to the first delivery on B, and what was lost.
//!
//! Every subscriber must get every event exactly once: the tool counts them
//! and checks their sequence numbers (from the `text`), and reports
//! losses, duplicates and reorderings. Every wait has a deadline.
//!
//! ```text
//! cargo build --release --example reference --example fanout
//! ulimit -n 20000
//! target/release/examples/fanout memory --subs 1000 --messages 2000 --window 1
//! target/release/examples/fanout redis --subs 1000 --messages 2000 --window 1
//! target/release/examples/fanout restart --restarts 3 --outage-ms 1000
//! ```
//!
//! Each connection is a file descriptor in this tool and in the server it
//! goes to; the servers inherit this tool's `ulimit -n`, which it checks.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout_at;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const USAGE: &str = "\
usage:
  fanout memory  [--subs N] [--messages M] [--window W] [--interval-us U] [--timeout SECS]
  fanout redis   [--subs N] [--messages M] [--window W] [--interval-us U] [--timeout SECS]
  fanout restart [--restarts K] [--outage-ms MS] [--interval-ms MS] [--timeout SECS]

  --subs         subscribers in the room (default 1000; redis: split over both processes)
  --messages     `say`s to send (default 2000)
  --window       `say`s not yet delivered to every subscriber, at most (default 1)
  --interval-us  at least this long between two sends (default 0)
  --restarts     restart: how many times Redis is killed and started again (default 3)
  --outage-ms    restart: how long Redis stays down (default 1000)
  --interval-ms  restart: one `say` every this many milliseconds (default 5)
  --timeout      the whole measurement's deadline, in seconds (default 120)
  --reference    the reference binary (default: beside this one)
  --redis-server the redis-server binary (default: redis-server on PATH)

Run under `ulimit -n 20000`: each subscriber is a descriptor here and in its server.";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Memory,
    Redis,
    Restart,
}

struct Opts {
    mode: Mode,
    subs: usize,
    messages: usize,
    window: usize,
    interval_us: u64,
    restarts: usize,
    outage_ms: u64,
    interval_ms: u64,
    timeout: u64,
    reference: PathBuf,
    redis_server: PathBuf,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("memory") => Mode::Memory,
        Some("redis") => Mode::Redis,
        Some("restart") => Mode::Restart,
        Some("-h" | "--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    let reference = std::env::current_exe()
        .map_err(|e| format!("cannot find this binary: {e}"))?
        .with_file_name("reference");
    let mut opts = Opts {
        mode,
        subs: 1000,
        messages: 2000,
        window: 1,
        interval_us: 0,
        restarts: 3,
        outage_ms: 1000,
        interval_ms: 5,
        timeout: 120,
        reference,
        redis_server: "redis-server".into(),
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
        };
        fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{flag}: not a valid number: {v:?}"))
        }
        match flag.as_str() {
            "--subs" => opts.subs = num(&flag, &value)?,
            "--messages" => opts.messages = num(&flag, &value)?,
            "--window" => opts.window = num(&flag, &value)?,
            "--interval-us" => opts.interval_us = num(&flag, &value)?,
            "--restarts" => opts.restarts = num(&flag, &value)?,
            "--outage-ms" => opts.outage_ms = num(&flag, &value)?,
            "--interval-ms" => opts.interval_ms = num(&flag, &value)?,
            "--timeout" => opts.timeout = num(&flag, &value)?,
            "--reference" => opts.reference = value.into(),
            "--redis-server" => opts.redis_server = value.into(),
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        }
    }
    if opts.subs == 0 || opts.messages == 0 || opts.window == 0 || opts.timeout == 0 {
        return Err("--subs, --messages, --window and --timeout must be at least 1".into());
    }
    if mode == Mode::Redis && opts.subs < 2 {
        return Err("redis: --subs must be at least 2 (split over two processes)".into());
    }
    if opts.messages > u32::MAX as usize || opts.subs > u32::MAX as usize {
        return Err("--subs and --messages must fit in 32 bits".into());
    }
    Ok(opts)
}

// ---------------------------------------------------------------------------
// /proc

/// (utime, stime) of a process, in clock ticks (`/proc/PID/stat`).
fn cpu_ticks(pid: &str) -> Result<(u64, u64), String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Fields are counted from the last ')' (the command name may hold
    // spaces): utime (14) and stime (15) are at 11 and 12.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .ok_or_else(|| format!("{path}: unexpected format"))?;
    let field = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("{path}: unexpected format"))
    };
    Ok((field(11)?, field(12)?))
}

/// The machine's busy time in clock ticks (`/proc/stat`).
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

fn clock_ticks_per_second() -> Result<f64, String> {
    let out = Command::new("getconf")
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

/// This tool and the servers it starts (which inherit its limit) need a
/// descriptor per connection: fail early and clearly, not with EMFILE.
fn check_open_file_limit(conns: usize) -> Result<(), String> {
    let need = conns as u64 + 100;
    match open_file_limit("self") {
        Some(limit) if limit < need => Err(format!(
            "the open-file limit is {limit}, and {conns} connections need about {need} \
             (here and in the server, which inherits it): run under `ulimit -n 20000`"
        )),
        _ => Ok(()),
    }
}

/// CPU meters of the measured processes, and of this tool and the machine.
struct Meters {
    tck: f64,
    pids: Vec<(String, u32)>,
    start: Vec<(u64, u64)>,
    client: (u64, u64),
    busy: Option<u64>,
}

/// CPU seconds: user and system.
#[derive(Clone, Copy, Default)]
struct Cpu {
    user: f64,
    system: f64,
}

impl Cpu {
    fn total(self) -> f64 {
        self.user + self.system
    }

    /// "1.23 s (user 0.50 s, system 0.73 s)", and per `count` in µs.
    fn show(self, count: f64) -> String {
        format!(
            "CPU {:.2} s (user {:.2}, system {:.2}); per delivery {:.2} µs (user {:.2}, system {:.2})",
            self.total(),
            self.user,
            self.system,
            self.total() * 1e6 / count,
            self.user * 1e6 / count,
            self.system * 1e6 / count
        )
    }
}

impl Meters {
    fn start(pids: Vec<(String, u32)>) -> Result<Meters, String> {
        let start = pids
            .iter()
            .map(|(_, pid)| cpu_ticks(&pid.to_string()))
            .collect::<Result<_, _>>()?;
        Ok(Meters {
            tck: clock_ticks_per_second()?,
            pids,
            start,
            client: cpu_ticks("self")?,
            busy: machine_busy_ticks(),
        })
    }

    fn since(&self, (u0, s0): (u64, u64), (u1, s1): (u64, u64)) -> Cpu {
        Cpu {
            user: (u1 - u0) as f64 / self.tck,
            system: (s1 - s0) as f64 / self.tck,
        }
    }

    /// CPU per process (same order), this tool's, and everything else's (seconds).
    fn stop(&self) -> Result<(Vec<Cpu>, Cpu, Option<f64>), String> {
        let mut procs = Vec::new();
        for ((_, pid), start) in self.pids.iter().zip(&self.start) {
            procs.push(self.since(*start, cpu_ticks(&pid.to_string())?));
        }
        let client = self.since(self.client, cpu_ticks("self")?);
        let others = match (self.busy, machine_busy_ticks()) {
            (Some(b0), Some(b1)) => Some(
                ((b1 - b0) as f64 / self.tck
                    - procs.iter().map(|c| c.total()).sum::<f64>()
                    - client.total())
                .max(0.0),
            ),
            _ => None,
        };
        Ok((procs, client, others))
    }
}

// ---------------------------------------------------------------------------
// processes

/// A child process, stopped (SIGTERM, then SIGKILL) on drop.
struct Proc {
    name: String,
    child: Option<Child>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop within 10 s: killed", self.name);
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `reference` process on a free port; its stderr goes to a log file.
fn start_reference(
    opts: &Opts,
    name: &str,
    redis_url: Option<&str>,
) -> Result<(Proc, String), String> {
    let log_path = std::env::temp_dir().join(format!(
        "fanout-{}-reference-{name}.log",
        std::process::id()
    ));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut cmd = Command::new(&opts.reference);
    cmd.args(["--addr", "127.0.0.1:0"]);
    if let Some(url) = redis_url {
        cmd.args(["--redis-url", url]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {}: {e} (build it: cargo build --release --example reference)",
                opts.reference.display()
            )
        })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let proc = Proc {
        name: format!("reference {name}"),
        child: Some(child),
    };
    // "listening on ws://127.0.0.1:PORT", within 20 s.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading so the server never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).map_err(|_| {
        format!(
            "reference {name} did not say where it listens within 20 s (log: {})",
            log_path.display()
        )
    })?;
    let addr = line
        .trim()
        .strip_prefix("listening on ws://")
        .ok_or_else(|| {
            format!(
                "reference {name}: unexpected first line {line:?} (log: {})",
                log_path.display()
            )
        })?
        .to_owned();
    eprintln!(
        "reference {name}: pid {}, ws://{addr}, log {}",
        proc.pid(),
        log_path.display()
    );
    Ok((proc, addr))
}

/// Whether a Redis answers PING on `port` of 127.0.0.1.
fn redis_ping(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A `redis-server` of this tool's own, on a free port, without persistence.
struct Redis {
    bin: PathBuf,
    port: u16,
    dir: PathBuf,
    proc: Proc,
}

impl Redis {
    fn start(bin: &std::path::Path) -> Result<Redis, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("fanout-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut redis = Redis {
            bin: bin.to_path_buf(),
            port,
            dir,
            proc: Proc {
                name: "redis-server".into(),
                child: None,
            },
        };
        redis.spawn()?;
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it (again) and returns once it answers PING (at most 10 s).
    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.proc.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis_ping(self.port) {
            if Instant::now() > deadline {
                return Err("redis-server does not answer PING within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// SIGKILL, and wait until it is gone.
    fn kill(&mut self) {
        if let Some(mut child) = self.proc.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// WebSocket

async fn connect(url: &str, deadline: tokio::time::Instant) -> Result<Ws, String> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    match timeout_at(deadline, connect_async_with_config(url, Some(config), true)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Err(_) => Err(format!("{url}: no handshake before the deadline")),
    }
}

/// Opens a connection to each URL, 100 handshakes at a time, in order.
async fn open_all(urls: Vec<String>, deadline: tokio::time::Instant) -> Result<Vec<Ws>, String> {
    let gate = Arc::new(Semaphore::new(100));
    let mut tasks = JoinSet::new();
    for (i, url) in urls.into_iter().enumerate() {
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            connect(&url, deadline).await.map(|ws| (i, ws))
        });
    }
    let mut conns: Vec<Option<Ws>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, ws) = joined.map_err(|e| format!("a connecting task failed: {e}"))??;
        if conns.len() <= i {
            conns.resize_with(i + 1, || None);
        }
        conns[i] = Some(ws);
    }
    Ok(conns
        .into_iter()
        .map(|c| c.expect("every connection"))
        .collect())
}

fn say(seq: usize) -> String {
    format!(r#"{{"action":"say","route":"chat/","text":"fo{seq}","request_id":{seq}}}"#)
}

/// The sequence number of a `chat.message` event (`"text":"fo<seq>"`);
/// `None` for anything else.
fn event_seq(text: &str) -> Option<usize> {
    if !text.contains(r#""type":"chat.message""#) || !text.contains(r#""status":200"#) {
        return None;
    }
    let at = text.find(r#""text":"fo"#)? + r#""text":"fo"#.len();
    let digits = &text[at..];
    let end = digits.find('"')?;
    digits[..end].parse().ok()
}

fn is_say_reply(text: &str) -> bool {
    text.contains(r#""action":"say""#) && !text.contains(r#""type":"#)
}

// ---------------------------------------------------------------------------
// fan-out

/// What the sender and the subscribers share.
struct Board {
    start: Instant,
    subs: u32,
    /// Per message: when it was sent, when it arrived last, how many got it
    /// (nanoseconds since `start`).
    sent: Vec<AtomicU64>,
    last: Vec<AtomicU64>,
    count: Vec<AtomicU32>,
    /// Messages that every subscriber got.
    complete: watch::Sender<usize>,
}

impl Board {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

#[derive(Default)]
struct SubStats {
    received: u64,
    duplicates: u64,
    out_of_order: u64,
    unexpected: u64,
    missing: u64,
    /// Microseconds from each send to this subscriber's arrival.
    latencies: Vec<u32>,
    ended: Option<String>,
}

async fn subscriber(
    mut ws: Ws,
    board: Arc<Board>,
    mut stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) -> SubStats {
    let m = board.sent.len();
    let mut seen = vec![0u64; m.div_ceil(64)];
    let mut stats = SubStats {
        latencies: Vec::with_capacity(m),
        ..SubStats::default()
    };
    let mut highest = None;
    while (stats.received as usize) < m {
        let next = tokio::select! {
            next = timeout_at(deadline, ws.next()) => next,
            _ = stop.wait_for(|s| *s) => break,
        };
        let text = match next {
            Err(_) => {
                stats.ended = Some("deadline".into());
                break;
            }
            Ok(None) => {
                stats.ended = Some("closed by the server".into());
                break;
            }
            Ok(Some(Err(e))) => {
                stats.ended = Some(format!("socket error: {e}"));
                break;
            }
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(frame)))) => {
                stats.ended = Some(format!("closed by the server: {frame:?}"));
                break;
            }
            Ok(Some(Ok(_))) => continue,
        };
        let now = board.now();
        let Some(seq) = event_seq(&text).filter(|&s| s < m) else {
            stats.unexpected += 1;
            continue;
        };
        let (word, bit) = (seq / 64, 1u64 << (seq % 64));
        if seen[word] & bit != 0 {
            stats.duplicates += 1;
            continue;
        }
        seen[word] |= bit;
        stats.received += 1;
        if highest.is_some_and(|h| seq < h) {
            stats.out_of_order += 1;
        }
        highest = highest.max(Some(seq));
        let sent = board.sent[seq].load(Ordering::Acquire);
        stats
            .latencies
            .push((now.saturating_sub(sent) / 1000).min(u32::MAX as u64) as u32);
        board.last[seq].fetch_max(now, Ordering::AcqRel);
        if board.count[seq].fetch_add(1, Ordering::AcqRel) + 1 == board.subs {
            board.complete.send_modify(|c| *c += 1);
        }
    }
    stats.missing = m as u64 - stats.received;
    stats
}

/// The sender's own socket: replies (and its own events) are read and counted.
#[derive(Default)]
struct SenderStats {
    replies: u64,
    own_events: u64,
    errors: u64,
    first_error: Option<String>,
}

async fn sender_reader(
    mut rx: futures_util::stream::SplitStream<Ws>,
    expected: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) -> SenderStats {
    let mut stats = SenderStats::default();
    loop {
        // Every reply and every own event of what was sent: done.
        let want = expected.load(Ordering::Acquire);
        if stats.replies >= want && stats.own_events >= want {
            break;
        }
        let next = tokio::select! {
            next = timeout_at(deadline, rx.next()) => next,
            _ = stop.wait_for(|s| *s) => break,
        };
        match next {
            Ok(Some(Ok(Message::Text(text)))) => {
                if event_seq(&text).is_some() {
                    stats.own_events += 1;
                } else if is_say_reply(&text) && text.contains(r#""status":200"#) {
                    stats.replies += 1;
                } else {
                    stats.errors += 1;
                    stats
                        .first_error
                        .get_or_insert_with(|| text.as_str().to_owned());
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    stats
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// One fan-out measurement: `targets` are (name, URL of the room, pid,
/// subscribers); the sender goes to `sender_url`; `extra` are other
/// processes whose CPU is measured (redis-server).
async fn fanout(
    opts: &Opts,
    targets: &[(String, String, u32, usize)],
    sender_url: &str,
    extra: &[(String, u32)],
) -> Result<bool, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(opts.timeout);
    let m = opts.messages;
    let n: usize = targets.iter().map(|t| t.3).sum();
    let mut urls = Vec::with_capacity(n);
    for (_, url, _, subs) in targets {
        urls.extend(std::iter::repeat_n(url.clone(), *subs));
    }
    let started = Instant::now();
    let subs = open_all(urls, deadline).await?;
    let sender = connect(&format!("{sender_url}?token=alice-token"), deadline).await?;
    eprintln!(
        "{n} subscribers and the sender connected in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let (mut tx, rx) = sender.split();

    let (complete, _) = watch::channel(0usize);
    let board = Arc::new(Board {
        start: Instant::now(),
        subs: n as u32,
        sent: (0..m).map(|_| AtomicU64::new(0)).collect(),
        last: (0..m).map(|_| AtomicU64::new(0)).collect(),
        count: (0..m).map(|_| AtomicU32::new(0)).collect(),
        complete,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for (i, ws) in subs.into_iter().enumerate() {
        let (board, stop) = (board.clone(), stop_rx.clone());
        tasks.spawn(async move { (i, subscriber(ws, board, stop, deadline).await) });
    }
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let (reader_stop, reader_stop_rx) = watch::channel(false);
    let mut reader = tokio::spawn(sender_reader(
        rx,
        expected.clone(),
        reader_stop_rx,
        deadline,
    ));

    let mut pids: Vec<(String, u32)> = targets.iter().map(|t| (t.0.clone(), t.2)).collect();
    pids.extend(extra.iter().cloned());
    let meters = Meters::start(pids)?;
    let t0 = Instant::now();
    let mut done = board.complete.subscribe();
    let interval = Duration::from_micros(opts.interval_us);
    let mut next_send = tokio::time::Instant::now();
    let mut sent = 0;
    let mut send_error = None;
    while sent < m {
        let window = opts.window;
        if timeout_at(deadline, done.wait_for(|c| sent - *c < window))
            .await
            .is_err()
        {
            send_error = Some(format!(
                "deadline: message {} not delivered to every subscriber",
                *done.borrow()
            ));
            break;
        }
        if !interval.is_zero() {
            tokio::time::sleep_until(next_send).await;
            next_send += interval;
        }
        board.sent[sent].store(board.now(), Ordering::Release);
        if let Err(e) = tx.send(Message::text(say(sent))).await {
            send_error = Some(format!("send: {e}"));
            break;
        }
        sent += 1;
    }
    // Every message to every subscriber, or the deadline (at most 5 s after the last send).
    expected.store(sent as u64, Ordering::Release);
    let grace = tokio::time::Instant::now() + Duration::from_secs(5);
    let all = timeout_at(deadline.min(grace), done.wait_for(|c| *c >= sent))
        .await
        .is_ok();
    let elapsed = t0.elapsed().as_secs_f64();
    let (cpu, client_cpu, others) = meters.stop()?;
    // Subscribers that got everything have ended; stop the others.
    let _ = stop_tx.send(true);
    let mut stats: Vec<SubStats> = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        let (_, s) = joined.map_err(|e| format!("a subscriber task failed: {e}"))?;
        stats.push(s);
    }
    // The sender's last replies: a moment for them.
    let sender_stats = match tokio::time::timeout(Duration::from_secs(2), &mut reader).await {
        Ok(joined) => joined,
        Err(_) => {
            let _ = reader_stop.send(true);
            reader.await
        }
    }
    .map_err(|e| format!("the sender's reader failed: {e}"))?;
    drop(tx);

    // Figures.
    let deliveries: u64 = stats.iter().map(|s| s.received).sum();
    let mut last: Vec<u64> = (0..sent)
        .filter(|&i| board.count[i].load(Ordering::Acquire) == n as u32)
        .map(|i| {
            (board.last[i].load(Ordering::Acquire) - board.sent[i].load(Ordering::Acquire)) / 1000
        })
        .collect();
    last.sort_unstable();
    let mut each: Vec<u64> = stats
        .iter()
        .flat_map(|s| s.latencies.iter().map(|&l| l as u64))
        .collect();
    each.sort_unstable();
    println!(
        "fan-out: {n} subscribers ({}), {sent} of {m} messages sent, window {}, interval {} µs",
        targets
            .iter()
            .map(|t| format!("{} on {}", t.3, t.0))
            .collect::<Vec<_>>()
            .join(", "),
        opts.window,
        opts.interval_us
    );
    println!(
        "deliveries: {deliveries} of {} in {elapsed:.2} s: {:.0} deliveries/s",
        sent * n,
        deliveries as f64 / elapsed
    );
    println!(
        "latency, send to the last subscriber: p50 {}, p99 {}, max {} ({} messages)",
        ms(percentile(&last, 0.5)),
        ms(percentile(&last, 0.99)),
        ms(last.last().copied().unwrap_or(0)),
        last.len()
    );
    println!(
        "latency, send to each delivery: p50 {}, p99 {}, max {}",
        ms(percentile(&each, 0.5)),
        ms(percentile(&each, 0.99)),
        ms(each.last().copied().unwrap_or(0)),
    );
    for (i, (name, _, _, subs)) in targets.iter().enumerate() {
        println!(
            "server {name}: {} (to its {subs} subscribers)",
            cpu[i].show((sent * subs) as f64)
        );
    }
    let total = (sent * n) as f64;
    for (j, (name, _)) in extra.iter().enumerate() {
        let c = cpu[targets.len() + j];
        println!(
            "{name}: {}; per message published {:.1} µs",
            c.show(total),
            c.total() * 1e6 / sent.max(1) as f64
        );
    }
    if targets.len() > 1 {
        let together = cpu[..targets.len()]
            .iter()
            .fold(Cpu::default(), |a, c| Cpu {
                user: a.user + c.user,
                system: a.system + c.system,
            });
        println!("servers together: {}", together.show(total));
    }
    println!("client: {}", client_cpu.show(total));
    if let Some(o) = others {
        println!("other processes' CPU during the run: {o:.2} s");
    }

    // Losses.
    let sum = |f: fn(&SubStats) -> u64| stats.iter().map(f).sum::<u64>();
    let (missing, dups, ooo, unexpected) = (
        sum(|s| s.missing),
        sum(|s| s.duplicates),
        sum(|s| s.out_of_order),
        sum(|s| s.unexpected),
    );
    let short = stats.iter().filter(|s| s.missing > 0).count();
    println!(
        "exactly once: missing {missing} (on {short} subscribers), duplicates {dups}, out of order {ooo}, unexpected frames {unexpected}"
    );
    println!(
        "sender: {} replies (200), {} own events, {} other frames",
        sender_stats.replies, sender_stats.own_events, sender_stats.errors
    );
    if let Some(e) = &sender_stats.first_error {
        println!("sender: first unexpected frame: {e}");
    }
    if let Some(e) = stats.iter().find_map(|s| s.ended.as_ref()) {
        println!("a subscriber ended early: {e}");
    }
    if let Some(e) = &send_error {
        println!("sending stopped: {e}");
    }
    let ok = all
        && send_error.is_none()
        && missing == 0
        && dups == 0
        && ooo == 0
        && unexpected == 0
        && sent == m;
    println!(
        "{}",
        if ok {
            "result: every event arrived exactly once, in order"
        } else {
            "result: LOSSES OR ERRORS (see above)"
        }
    );
    Ok(ok)
}

async fn run_memory(opts: &Opts) -> Result<bool, String> {
    check_open_file_limit(opts.subs + 1)?;
    let (server, addr) = start_reference(opts, "A", None)?;
    let url = format!("ws://{addr}/ws/rooms/fanout/");
    let targets = [(
        "A (in-memory layer)".to_owned(),
        url.clone(),
        server.pid(),
        opts.subs,
    )];
    fanout(opts, &targets, &url, &[]).await
}

async fn run_redis(opts: &Opts) -> Result<bool, String> {
    check_open_file_limit(opts.subs + 1)?;
    let redis = Redis::start(&opts.redis_server)?;
    eprintln!("redis-server: pid {}, {}", redis.proc.pid(), redis.url());
    let (a, addr_a) = start_reference(opts, "A", Some(&redis.url()))?;
    let (b, addr_b) = start_reference(opts, "B", Some(&redis.url()))?;
    let url_a = format!("ws://{addr_a}/ws/rooms/fanout/");
    let url_b = format!("ws://{addr_b}/ws/rooms/fanout/");
    let on_a = opts.subs / 2;
    let targets = [
        (
            "A (Redis layer, sender here)".to_owned(),
            url_a.clone(),
            a.pid(),
            on_a,
        ),
        (
            "B (Redis layer)".to_owned(),
            url_b,
            b.pid(),
            opts.subs - on_a,
        ),
    ];
    let extra = [("redis-server".to_owned(), redis.proc.pid())];
    fanout(opts, &targets, &url_a, &extra).await
}

// ---------------------------------------------------------------------------
// restart

/// One restart, in nanoseconds since the start: killed, started again,
/// answering PING, the first arrival on B after that, and on A.
type Trial = (u64, u64, u64, Option<u64>, Option<u64>);

/// Arrivals of one subscriber: (seq, nanoseconds since the start).
type Arrivals = Arc<Mutex<Vec<(usize, u64)>>>;

async fn restart_subscriber(
    mut ws: Ws,
    start: Instant,
    arrivals: Arrivals,
    last: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) -> (u64, Option<String>) {
    let mut unexpected = 0;
    loop {
        let next = tokio::select! {
            next = timeout_at(deadline, ws.next()) => next,
            _ = stop.wait_for(|s| *s) => return (unexpected, None),
        };
        match next {
            Ok(Some(Ok(Message::Text(text)))) => {
                let now = start.elapsed().as_nanos() as u64;
                match event_seq(&text) {
                    Some(seq) => {
                        arrivals.lock().expect("arrivals").push((seq, now));
                        last.store(now, Ordering::Release);
                    }
                    None => unexpected += 1,
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return (unexpected, Some(format!("socket error: {e}"))),
            Ok(None) => return (unexpected, Some("closed by the server".into())),
            Err(_) => return (unexpected, Some("deadline".into())),
        }
    }
}

/// One `say` every `interval` (once the previous reply is back): (seq,
/// sent, replied) in nanoseconds since `start`.
async fn restart_sender(
    mut ws: Ws,
    start: Instant,
    interval: Duration,
    sent: Arc<Mutex<Vec<(usize, u64, u64)>>>,
    stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) -> Result<(), String> {
    let mut next = tokio::time::Instant::now();
    let mut seq = 0;
    while !*stop.borrow() {
        tokio::time::sleep_until(next).await;
        next = tokio::time::Instant::now() + interval;
        let at = start.elapsed().as_nanos() as u64;
        ws.send(Message::text(say(seq)))
            .await
            .map_err(|e| format!("send: {e}"))?;
        // The reply (its own event may come first or after: skipped).
        loop {
            let text = match timeout_at(
                deadline.min(tokio::time::Instant::now() + Duration::from_secs(5)),
                ws.next(),
            )
            .await
            {
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => return Err(format!("sender socket: {e}")),
                Ok(None) => return Err("the server closed the sender's connection".into()),
                Err(_) => return Err(format!("no reply to say {seq} within 5 s")),
            };
            if event_seq(&text).is_some() {
                continue;
            }
            if is_say_reply(&text) && text.contains(r#""status":200"#) {
                break;
            }
            return Err(format!("unexpected reply to say {seq}: {text}"));
        }
        sent.lock()
            .expect("sent")
            .push((seq, at, start.elapsed().as_nanos() as u64));
        seq += 1;
    }
    Ok(())
}

async fn run_restart(opts: &Opts) -> Result<bool, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(opts.timeout);
    let mut redis = Redis::start(&opts.redis_server)?;
    eprintln!("redis-server: pid {}, {}", redis.proc.pid(), redis.url());
    let (_a, addr_a) = start_reference(opts, "A", Some(&redis.url()))?;
    let (_b, addr_b) = start_reference(opts, "B", Some(&redis.url()))?;
    let url_a = format!("ws://{addr_a}/ws/rooms/restart/");
    let url_b = format!("ws://{addr_b}/ws/rooms/restart/");
    let start = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let names = ["B", "A"];
    let mut subs = Vec::new();
    let mut lasts = Vec::new();
    let mut arrivals = Vec::new();
    for url in [&url_b, &url_a] {
        let ws = connect(url, deadline).await?;
        let (arr, last) = (Arrivals::default(), Arc::new(AtomicU64::new(0)));
        subs.push(tokio::spawn(restart_subscriber(
            ws,
            start,
            arr.clone(),
            last.clone(),
            stop_rx.clone(),
            deadline,
        )));
        arrivals.push(arr);
        lasts.push(last);
    }
    let sender_ws = connect(&format!("{url_a}?token=alice-token"), deadline).await?;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (sender_stop, sender_stop_rx) = watch::channel(false);
    let sender = tokio::spawn(restart_sender(
        sender_ws,
        start,
        Duration::from_millis(opts.interval_ms),
        sent.clone(),
        sender_stop_rx,
        deadline,
    ));
    let now = || start.elapsed().as_nanos() as u64;
    let past = |d: Duration| async move {
        let d = tokio::time::Instant::now() + d;
        tokio::time::sleep_until(d.min(deadline)).await;
    };

    let mut trials: Vec<Trial> = Vec::new();
    let mut error = None;
    past(Duration::from_secs(1)).await;
    for _ in 0..opts.restarts {
        if lasts[0].load(Ordering::Acquire) == 0 {
            error = Some("nothing arrived on B before the first restart".to_owned());
            break;
        }
        redis.kill();
        let killed = now();
        past(Duration::from_millis(opts.outage_ms)).await;
        let spawned = now();
        if let Err(e) = tokio::task::block_in_place(|| redis.spawn()) {
            error = Some(e);
            break;
        }
        let ready = now();
        // The first arrival on B (and on A) after the restart: at most 30 s.
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut first = [None, None];
        while tokio::time::Instant::now() < until.min(deadline) && first.iter().any(Option::is_none)
        {
            for (i, last) in lasts.iter().enumerate() {
                let t = last.load(Ordering::Acquire);
                if first[i].is_none() && t > spawned {
                    first[i] = Some(t);
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        trials.push((killed, spawned, ready, first[0], first[1]));
        if first[0].is_none() {
            error = Some("nothing arrived on B within 30 s of the restart".to_owned());
            break;
        }
        past(Duration::from_secs(1)).await;
    }
    let _ = sender_stop.send(true);
    let sender_result = match tokio::time::timeout(Duration::from_secs(10), sender).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("the sender task failed: {e}")),
        Err(_) => Err("the sender did not stop".into()),
    };
    // What was sent by now may still be on its way: a moment for it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop_tx.send(true);
    let mut sub_ends = Vec::new();
    for s in subs {
        sub_ends.push(
            s.await
                .map_err(|e| format!("a subscriber task failed: {e}"))?,
        );
    }
    let sent = sent.lock().expect("sent").clone();

    println!(
        "restart: a say every {} ms from A (the next once the previous reply is back); Redis killed (SIGKILL) and started again on the same port after {} ms, {} times",
        opts.interval_ms,
        opts.outage_ms,
        trials.len()
    );
    let ms_of = |ns: u64| ns as f64 / 1e6;
    for (i, (killed, spawned, ready, b, a)) in trials.iter().enumerate() {
        let b = b.map_or("none".into(), |t| {
            format!("{:.1} ms", ms_of(t.saturating_sub(*ready)))
        });
        let a = a.map_or("none".into(), |t| {
            format!("{:.1} ms", ms_of(t.saturating_sub(*ready)))
        });
        println!(
            "restart {}: down {:.0} ms, redis-server answering {:.1} ms after its start; from then to the first delivery on B: {b} (on A: {a})",
            i + 1,
            ms_of(spawned - killed),
            ms_of(ready - spawned),
        );
    }
    // Losses, per subscriber: exactly once, in order; what never arrived
    // was sent while Redis was down (or the layer was reconnecting).
    let mut ok = error.is_none() && sender_result.is_ok();
    for (i, arr) in arrivals.iter().enumerate() {
        let arr = arr.lock().expect("arrivals");
        let mut seen = std::collections::HashMap::new();
        let mut ooo = 0;
        let mut highest = None;
        for &(seq, _) in arr.iter() {
            *seen.entry(seq).or_insert(0u32) += 1;
            if highest.is_some_and(|h| seq < h) {
                ooo += 1;
            }
            highest = highest.max(Some(seq));
        }
        let dups: u32 = seen.values().map(|c| c - 1).sum();
        let lost: Vec<&(usize, u64, u64)> =
            sent.iter().filter(|s| !seen.contains_key(&s.0)).collect();
        // A loss outside every [kill, first delivery after the restart] is unexplained.
        let outside = lost
            .iter()
            .filter(|(_, at, _)| {
                !trials.iter().any(|(killed, _, _, b, a)| {
                    let first = if i == 0 { *b } else { *a };
                    *at + 1_000_000_000 >= *killed && first.is_none_or(|f| *at <= f)
                })
            })
            .count();
        let mut replies: Vec<u64> = sent.iter().map(|s| (s.2 - s.1) / 1000).collect();
        replies.sort_unstable();
        println!(
            "subscriber on {}: {} of {} says arrived; lost {} (all sent while Redis was down or reconnecting: {}), duplicates {dups}, out of order {ooo}, unexpected frames {}{}",
            names[i],
            seen.len(),
            sent.len(),
            lost.len(),
            if outside == 0 {
                "yes".to_owned()
            } else {
                format!("no, {outside} were not")
            },
            sub_ends[i].0,
            sub_ends[i]
                .1
                .as_ref()
                .map_or(String::new(), |e| format!(", ended: {e}")),
        );
        if i == 0 {
            println!(
                "say replies: p50 {}, p99 {}, max {} (the slowest while Redis was down)",
                ms(percentile(&replies, 0.5)),
                ms(percentile(&replies, 0.99)),
                ms(replies.last().copied().unwrap_or(0))
            );
        }
        // Steady state before the first kill and after the last recovery
        // (from 200 ms after its first delivery): reply and delivery latency.
        let at_of: std::collections::HashMap<usize, u64> = arr.iter().copied().collect();
        let before = trials.first().map_or(u64::MAX, |t| t.0);
        let after = trials
            .last()
            .and_then(|t| if i == 0 { t.3 } else { t.4 })
            .map_or(u64::MAX, |f| f + 200_000_000);
        for (label, range) in [
            ("before the first kill", 0..before),
            ("after the last recovery", after..u64::MAX),
        ] {
            let phase: Vec<&(usize, u64, u64)> =
                sent.iter().filter(|s| range.contains(&s.1)).collect();
            let mut reply: Vec<u64> = phase.iter().map(|s| (s.2 - s.1) / 1000).collect();
            let mut delivery: Vec<u64> = phase
                .iter()
                .filter_map(|s| at_of.get(&s.0).map(|a| a.saturating_sub(s.1) / 1000))
                .collect();
            reply.sort_unstable();
            delivery.sort_unstable();
            println!(
                "  {label} ({} says): reply p50 {} p99 {}; delivery on {} p50 {} p99 {}",
                phase.len(),
                ms(percentile(&reply, 0.5)),
                ms(percentile(&reply, 0.99)),
                names[i],
                ms(percentile(&delivery, 0.5)),
                ms(percentile(&delivery, 0.99)),
            );
        }
        ok &= dups == 0 && ooo == 0 && outside == 0 && sub_ends[i].1.is_none();
    }
    if let Err(e) = &sender_result {
        println!("sender: {e}");
    }
    if let Some(e) = &error {
        println!("stopped: {e}");
    }
    println!(
        "{}",
        if ok {
            "result: deliveries resumed after every restart, each event at most once, in order"
        } else {
            "result: ERRORS (see above)"
        }
    );
    Ok(ok)
}

fn main() {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match opts.mode {
            Mode::Memory => run_memory(&opts).await,
            Mode::Redis => run_redis(&opts).await,
            Mode::Restart => run_restart(&opts).await,
        }
    });
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("fanout: {e}");
            std::process::exit(1);
        }
    }
}
