//! Soak runs over real sockets against the `reference` example, which this
//! tool starts itself on a free port of 127.0.0.1 (its stderr goes to a log
//! file), reading the server's memory (VmRSS, `/proc/PID/status`; Linux
//! only). Each mode checks something and exits non-zero, with a line
//! starting `FAIL:`, when it does not hold:
//!
//! - `cycles`: `--cycles` times, opens `--conns` connections (`--batch`
//!   handshakes in flight at a time), does one `echo` on each, closes them
//!   all with a close frame (and counts the close frames the server sends
//!   back), and reads the server's VmRSS once it settles. Fails when the
//!   memory after the last cycle exceeds the memory after the first by more
//!   than `--max-growth-kib` (a leak of a few hundred bytes per connection
//!   shows over 10,000 connections and 5 cycles), or when a connection
//!   fails.
//! - `flood`: one client sends `echo`s as fast as it can (reading its
//!   replies, so it is not a slow reader) for `--seconds`, while another
//!   client does one `echo` every 20 ms; fails when that client's p99
//!   round trip exceeds `--max-latency-ms`, or when the server never closed
//!   the flooder with 1008 (beyond `Settings::max_message_rate`, 10,000 a
//!   second by default); a closed flooder comes back at once.
//! - `slow-reader`: one client sends `echo`s carrying 4 KiB each and never
//!   reads, for `--seconds`, while another client does one `echo` every
//!   20 ms; fails when the server's VmRSS grows by more than
//!   `--max-growth-kib` or the other client's p99 round trip exceeds
//!   `--max-latency-ms`. Reports how far the slow reader got (the server
//!   stops reading from it once its replies back up) and whether, and
//!   when, the server closed it (its write timeout, `Settings::write_timeout`,
//!   30 s by default: a run longer than 35 s fails when it was not closed).
//! - `all`: the three in turn, each on a fresh server.
//!
//! `--quick` shortens each mode (500 connections × 3 cycles, within the
//! usual `ulimit -n` of 1024; 3 s of flood, 5 s of slow reader) for CI:
//!
//! ```text
//! cargo build --release --example reference --example soak
//! target/release/examples/soak all --quick
//! target/release/examples/soak cycles --conns 10000 --cycles 5
//! target/release/examples/soak flood --seconds 10
//! target/release/examples/soak slow-reader --seconds 40
//! ```
//!
//! Each connection is a file descriptor here and in the server (which
//! inherits this tool's `ulimit -n`): 10,000 connections need
//! `ulimit -n 20000` or more.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const USAGE: &str = "\
usage:
  soak cycles      [--conns N] [--cycles C] [--batch B] [--max-growth-kib K] [--quick]
  soak flood       [--seconds S] [--max-latency-ms L] [--quick]
  soak slow-reader [--seconds S] [--max-growth-kib K] [--max-latency-ms L] [--quick]
  soak all         [--quick]

  --conns           cycles: connections per cycle, all open at once (default 10000; quick 500)
  --cycles          cycles: how many (default 5; quick 3)
  --batch           cycles: handshakes in flight at a time (default 200)
  --max-growth-kib  cycles: VmRSS after the last cycle over the first, at most
                    (default 8192); slow-reader: VmRSS growth during the run, at most
                    (default 65536)
  --seconds         flood, slow-reader: how long (default 10 and 40; quick 3 and 5)
  --max-latency-ms  flood, slow-reader: the other client's p99 round trip, at most (default 200)
  --reference       the reference binary (default: beside this one)

10,000 connections need `ulimit -n 20000`: each is a descriptor here and in the server.";

/// A generous deadline for any one step (a handshake, a reply, a close).
const STEP: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Cycles,
    Flood,
    SlowReader,
    All,
}

#[derive(Debug)]
struct Opts {
    mode: Mode,
    quick: bool,
    conns: Option<usize>,
    cycles: Option<usize>,
    batch: usize,
    max_growth_kib: Option<u64>,
    seconds: Option<f64>,
    max_latency_ms: f64,
    reference: PathBuf,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("cycles") => Mode::Cycles,
        Some("flood") => Mode::Flood,
        Some("slow-reader") => Mode::SlowReader,
        Some("all") => Mode::All,
        Some("-h" | "--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown mode {other:?}\n{USAGE}")),
    };
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("reference")))
        .unwrap_or_else(|| PathBuf::from("reference"));
    let mut opts = Opts {
        mode,
        quick: false,
        conns: None,
        cycles: None,
        batch: 200,
        max_growth_kib: None,
        seconds: None,
        max_latency_ms: 200.0,
        reference: beside,
    };
    let args: Vec<String> = args.collect();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--quick" {
            opts.quick = true;
            i += 1;
            continue;
        }
        let value = args
            .get(i + 1)
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("{flag}: not a number: {value:?}"))
        }
        match flag {
            "--conns" => opts.conns = Some(number(flag, value)?),
            "--cycles" => opts.cycles = Some(number(flag, value)?),
            "--batch" => opts.batch = number(flag, value)?,
            "--max-growth-kib" => opts.max_growth_kib = Some(number(flag, value)?),
            "--seconds" => opts.seconds = Some(number(flag, value)?),
            "--max-latency-ms" => opts.max_latency_ms = number(flag, value)?,
            "--reference" => opts.reference = PathBuf::from(value),
            _ => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
        }
        i += 2;
    }
    if opts.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    Ok(opts)
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let modes = match opts.mode {
        Mode::All => vec![Mode::Cycles, Mode::Flood, Mode::SlowReader],
        m => vec![m],
    };
    let mut failed = false;
    for mode in modes {
        println!("== {mode:?}");
        let result = start_reference(&opts.reference, mode).and_then(|(mut server, addr)| {
            let result = runtime.block_on(async {
                match mode {
                    Mode::Cycles => cycles(&opts, &addr, server.pid()).await,
                    Mode::Flood => flood(&opts, &addr).await,
                    Mode::SlowReader => slow_reader(&opts, &addr, server.pid()).await,
                    Mode::All => unreachable!(),
                }
            });
            server.stop();
            result
        });
        match result {
            Ok(()) => println!("ok: {mode:?}"),
            Err(e) => {
                println!("FAIL: {mode:?}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------- the server

/// A child process, stopped (SIGTERM, then SIGKILL after 10 s) on drop.
struct Server {
    child: Option<Child>,
}

impl Server {
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
        eprintln!("the reference server did not stop within 10 s: killed");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `reference` process on a free port; returns it and its address.
fn start_reference(bin: &PathBuf, mode: Mode) -> Result<(Server, String), String> {
    let log_path = std::env::temp_dir().join(format!(
        "soak-{}-{mode:?}-reference.log",
        std::process::id()
    ));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut child = Command::new(bin)
        .args(["--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {}: {e} (build it: cargo build --release --example reference)",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server { child: Some(child) };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).map_err(|_| {
        format!(
            "the reference server did not say where it listens within 20 s (log: {})",
            log_path.display()
        )
    })?;
    let addr = line
        .trim()
        .strip_prefix("listening on ws://")
        .ok_or_else(|| {
            format!(
                "the reference server printed {line:?} (log: {})",
                log_path.display()
            )
        })?
        .to_owned();
    println!(
        "reference: pid {}, ws://{addr}, log {}",
        server.pid(),
        log_path.display()
    );
    Ok((server, addr))
}

/// This process's soft limit on open files (`/proc/self/limits`).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The resident memory of a process, in KiB.
fn vmrss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e} (did the server exit?)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

// ------------------------------------------------------------------ clients

async fn connect(url: &str) -> Result<Ws, String> {
    match tokio::time::timeout(STEP, connect_async(url)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("connect: {e}")),
        Err(_) => Err(format!("connect: no handshake within {STEP:?}")),
    }
}

/// One `echo` round trip; checks the reply.
async fn echo(ws: &mut Ws, n: u64) -> Result<(), String> {
    let text = format!(r#"{{"action":"echo","data":{{"n":{n}}},"request_id":{n}}}"#);
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let reply = next_text(ws).await?;
    let expected = format!(r#""data":{{"n":{n}}}"#);
    if reply.contains(&expected) && reply.contains(r#""status":200"#) {
        Ok(())
    } else {
        Err(format!("unexpected reply to echo {n}: {reply}"))
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => return Err(format!("no reply within {STEP:?}")),
            Ok(None) => return Err("the server closed the connection".into()),
            Ok(Some(Err(e))) => return Err(format!("read: {e}")),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(t.to_string()),
            Ok(Some(Ok(Message::Close(c)))) => return Err(format!("closed by the server: {c:?}")),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Closes with a close frame; whether the server answered with one.
async fn close(mut ws: Ws) -> bool {
    if ws.close(None).await.is_err() {
        return false;
    }
    let answered = async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Close(_)) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
        false
    };
    tokio::time::timeout(STEP, answered).await.unwrap_or(false)
}

// ------------------------------------------------------------------- cycles

async fn cycles(opts: &Opts, addr: &str, pid: u32) -> Result<(), String> {
    let conns = opts.conns.unwrap_or(if opts.quick { 500 } else { 10_000 });
    let cycles = opts.cycles.unwrap_or(if opts.quick { 3 } else { 5 });
    let bound = opts.max_growth_kib.unwrap_or(8192);
    if cycles < 2 {
        return Err("--cycles must be at least 2 (the first is the baseline)".into());
    }
    // Each connection is a descriptor here and in the server (which
    // inherits this limit).
    if let Some(limit) = open_file_limit()
        && limit < conns as u64 + 100
    {
        return Err(format!(
            "{conns} connections need more open files than `ulimit -n` allows ({limit}): \
             raise it (ulimit -n {}) or pass fewer --conns",
            2 * conns + 200
        ));
    }
    let url = format!("ws://{addr}/ws/");
    let settle = Duration::from_millis(if opts.quick { 500 } else { 2000 });
    println!(
        "{cycles} cycles of {conns} connections ({} handshakes in flight); VmRSS at the start: {} KiB",
        opts.batch,
        vmrss_kib(pid)?
    );
    let mut after = Vec::new();
    for cycle in 1..=cycles {
        let started = Instant::now();
        let permits = Arc::new(Semaphore::new(opts.batch));
        let mut opening = JoinSet::new();
        for i in 0..conns {
            let permits = permits.clone();
            let url = url.clone();
            opening.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                let mut ws = connect(&url).await?;
                echo(&mut ws, i as u64).await?;
                Ok::<Ws, String>(ws)
            });
        }
        let mut open = Vec::with_capacity(conns);
        while let Some(r) = opening.join_next().await {
            open.push(r.map_err(|e| format!("a client task: {e}"))??);
        }
        let opened_in = started.elapsed();
        let peak = vmrss_kib(pid)?;
        let mut closing = JoinSet::new();
        for ws in open {
            let permits = permits.clone();
            closing.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                close(ws).await
            });
        }
        let mut answered = 0;
        while let Some(r) = closing.join_next().await {
            answered += usize::from(r.map_err(|e| format!("a client task: {e}"))?);
        }
        tokio::time::sleep(settle).await;
        let rss = vmrss_kib(pid)?;
        println!(
            "cycle {cycle}: {conns} opened and echoed in {:.2} s; VmRSS with them open {peak} KiB, \
             after closing {rss} KiB; close frames answered: {answered}/{conns}",
            opened_in.as_secs_f64()
        );
        after.push(rss);
    }
    let growth = after.last().unwrap().saturating_sub(after[0]);
    println!(
        "VmRSS after each cycle (KiB): {after:?}; growth after the first: {growth} KiB (bound {bound} KiB, {:.1} bytes per connection per cycle)",
        growth as f64 * 1024.0 / (conns * (cycles - 1)) as f64
    );
    if growth > bound {
        return Err(format!(
            "server memory grew by {growth} KiB from cycle 1 to cycle {cycles} (bound {bound} KiB): a leak?"
        ));
    }
    Ok(())
}

// ----------------------------------------------------- a well-behaved client

/// One `echo` every 20 ms until `stop`; the round trips, in milliseconds.
async fn prober(url: String, stop: Arc<AtomicBool>) -> Result<Vec<f64>, String> {
    let mut ws = connect(&url).await?;
    let mut rtts = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        echo(&mut ws, n).await?;
        rtts.push(t.elapsed().as_secs_f64() * 1e3);
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    close(ws).await;
    Ok(rtts)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn check_latency(rtts: &mut [f64], bound_ms: f64) -> Result<(), String> {
    rtts.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        percentile(rtts, 0.5),
        percentile(rtts, 0.99),
        rtts.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "the other client: {} echoes, round trip p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms (bound on p99: {bound_ms} ms)",
        rtts.len()
    );
    if rtts.is_empty() {
        return Err("the other client got no reply at all".into());
    }
    if p99 > bound_ms {
        return Err(format!(
            "the other client's p99 round trip is {p99:.2} ms (bound {bound_ms} ms)"
        ));
    }
    Ok(())
}

// -------------------------------------------------------------------- flood

async fn flood(opts: &Opts, addr: &str) -> Result<(), String> {
    let seconds = opts.seconds.unwrap_or(if opts.quick { 3.0 } else { 10.0 });
    let url = format!("ws://{addr}/ws/");
    let stop = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn(prober(url.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let (mut sent, mut replies) = (0u64, 0u64);
    // How each flooder connection ended, and after how long; a closed
    // flooder comes back at once, so the flood lasts the whole run.
    let mut closes: Vec<(f64, String)> = Vec::new();
    while Instant::now() < deadline {
        let (s, r, closed) = flood_once(&url, deadline).await?;
        sent += s;
        replies += r;
        match closed {
            Some(c) => closes.push(c),
            None => break,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut rtts = probe.await.map_err(|e| format!("prober: {e}"))??;
    println!(
        "flooder: {sent} sent, {replies} replies in {elapsed:.2} s ({:.0} sent/s, {:.0} replies/s) over {} connection(s)",
        sent as f64 / elapsed,
        replies as f64 / elapsed,
        closes.len() + 1
    );
    if closes.is_empty() {
        println!(
            "flooder NOT closed within {seconds} s: pending if the server has a per-connection \
             message-rate limit below {:.0} messages/s",
            sent as f64 / elapsed
        );
    } else {
        let policy = closes
            .iter()
            .filter(|(_, how)| {
                how.starts_with(&format!("close frame {}", u16::from(CloseCode::Policy)))
            })
            .count();
        println!(
            "flooder closed by the server {} time(s) (first after {:.3} s: {}); with a 1008 close frame seen: {policy}",
            closes.len(),
            closes[0].0,
            closes[0].1
        );
        if policy < closes.len() {
            println!(
                "note: a close the client saw as a reset lost the server's close frame (the server \
                 closed the socket with the flooder's messages unread: TCP reset)"
            );
        }
    }
    check_latency(&mut rtts, opts.max_latency_ms)?;
    // The default `Settings::max_message_rate` (10,000 a second, bursts of
    // as many) is far below what one client sends here.
    if !closes
        .iter()
        .any(|(_, how)| how.starts_with("close frame 1008"))
    {
        return Err("the flooder was never closed with 1008 (the message-rate limit)".into());
    }
    Ok(())
}

/// One flooder connection until the deadline or until the server closes
/// it: sent, replies read, and how it ended (`None`: the deadline).
async fn flood_once(
    url: &str,
    deadline: Instant,
) -> Result<(u64, u64, Option<(f64, String)>), String> {
    let ws = connect(url).await?;
    let (mut sink, mut stream) = ws.split();
    let sent = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (done, sent) = (done.clone(), sent.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                let text = format!(r#"{{"action":"echo","data":{n}}}"#);
                // `feed` without flushing each: as fast as the socket takes them.
                if sink.feed(Message::text(text)).await.is_err() {
                    break;
                }
                n += 1;
                if n.is_multiple_of(64) && sink.flush().await.is_err() {
                    break;
                }
                sent.store(n, Ordering::Relaxed);
            }
            let _ = sink.close().await;
        })
    };
    let started = Instant::now();
    let mut replies = 0u64;
    let mut closed = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let how = match tokio::time::timeout(left, stream.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Text(_)))) => {
                replies += 1;
                continue;
            }
            Ok(Some(Ok(Message::Close(frame)))) => match frame {
                Some(f) => format!(
                    "close frame {} ({:?})",
                    u16::from(f.code),
                    f.reason.as_str()
                ),
                None => "close frame without a code".to_owned(),
            },
            Ok(Some(Ok(_))) => continue,
            Ok(None) => "the connection ended without a close frame".to_owned(),
            Ok(Some(Err(e))) => format!("read error: {e}"),
        };
        closed = Some((started.elapsed().as_secs_f64(), how));
        break;
    }
    done.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(STEP, writer).await;
    Ok((sent.load(Ordering::Relaxed), replies, closed))
}

// -------------------------------------------------------------- slow reader

async fn slow_reader(opts: &Opts, addr: &str, pid: u32) -> Result<(), String> {
    let seconds = opts.seconds.unwrap_or(if opts.quick { 5.0 } else { 40.0 });
    let bound = opts.max_growth_kib.unwrap_or(65536);
    let url = format!("ws://{addr}/ws/");
    let before = vmrss_kib(pid)?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn(prober(url.clone(), stop.clone()));

    let ws = connect(&url).await?;
    // The read half is kept, never polled: the replies back up.
    let (mut sink, _never_read) = ws.split();
    let payload = "x".repeat(4096);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut sent = 0u64;
    let mut stalled_at: Option<(f64, u64)> = None;
    let mut closed = None;
    let mut peak = before;
    let mut stalled = false;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let step = left.min(Duration::from_millis(500));
        // Once a send has blocked, only flush what is queued (no new frames).
        let result = if stalled {
            tokio::time::timeout(step, sink.flush()).await
        } else {
            let text = format!(r#"{{"action":"echo","data":"{payload}","request_id":{sent}}}"#);
            tokio::time::timeout(step, sink.send(Message::text(text))).await
        };
        match result {
            Ok(Ok(())) => {
                if !stalled {
                    sent += 1;
                }
                stalled = false;
            }
            Ok(Err(e)) => {
                closed = Some((started.elapsed().as_secs_f64(), e.to_string()));
                break;
            }
            Err(_) => {
                // The server stopped reading: our send is blocked.
                if !stalled {
                    sent += 1; // queued in the sink, on its way
                }
                stalled = true;
                if stalled_at.is_none() {
                    stalled_at = Some((started.elapsed().as_secs_f64(), sent));
                }
            }
        }
        if stalled || sent.is_multiple_of(64) {
            peak = peak.max(vmrss_kib(pid)?);
        }
    }
    let growth = peak.saturating_sub(before);
    stop.store(true, Ordering::Relaxed);
    let mut rtts = probe.await.map_err(|e| format!("prober: {e}"))??;
    println!(
        "slow reader: {sent} echoes of 4 KiB sent ({} KiB) in {:.2} s, none read",
        sent * 4,
        started.elapsed().as_secs_f64()
    );
    match stalled_at {
        Some((t, n)) => println!(
            "the server stopped reading from it after {t:.2} s and {n} requests ({} KiB): its replies back up",
            n * 4
        ),
        None => println!("its sends never blocked"),
    }
    match &closed {
        Some((t, e)) => println!("slow reader closed by the server after {t:.2} s ({e})"),
        None => println!(
            "slow reader not closed within {seconds} s (the write timeout, \
             Settings::write_timeout, is 30 s by default; run 40 s to see it)"
        ),
    }
    println!(
        "server VmRSS: {before} KiB before, {peak} KiB at most ({growth} KiB more; bound {bound} KiB)"
    );
    check_latency(&mut rtts, opts.max_latency_ms)?;
    // Beyond the default write timeout (30 s) and a margin, the slow reader
    // must have been closed.
    if seconds > 35.0 && closed.is_none() {
        return Err(format!(
            "the slow reader was not closed within {seconds} s (the default write timeout is 30 s)"
        ));
    }
    if growth > bound {
        return Err(format!(
            "server memory grew by {growth} KiB with one slow reader (bound {bound} KiB)"
        ));
    }
    Ok(())
}
