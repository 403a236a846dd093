//! A `redis-server` of a test's own: a free port, a temp dir, no
//! persistence, killed on drop.
//!
//! Without `redis-server` on PATH (or `REST_CHANNELS_REDIS_SERVER`),
//! [`Redis::start`] says so and gives `None`, except under CI (`CI` set),
//! where it panics.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a free port of 127.0.0.1, killed on drop.
pub struct Redis {
    bin: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn redis_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("REST_CHANNELS_REDIS_SERVER") {
        return Some(bin.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

impl Redis {
    /// `None` (with a note) when there is no redis-server; a panic under CI.
    pub fn start() -> Option<Redis> {
        let Some(bin) = redis_bin() else {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "redis-server is not on PATH: CI must install it (.ci/run does, from the distribution's packages)"
                );
            }
            eprintln!(
                "note: redis-server is not on PATH (nor REST_CHANNELS_REDIS_SERVER): Redis tests skipped"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!(
            "rest-channels-redis-test-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Redis {
            bin,
            port,
            dir,
            child: None,
        };
        redis.spawn();
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.command(&["PING"]).is_none() {
            assert!(Instant::now() < deadline, "redis-server does not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, and wait until its port is closed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        while self.command(&["PING"]).is_some() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A command's reply as a flat list of strings (integers and bulk
    /// strings; arrays flattened); `None` when Redis cannot be reached.
    pub fn command(&self, args: &[&str]) -> Option<Vec<String>> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        stream.write_all(req.as_bytes()).ok()?;
        let mut reader = BufReader::new(stream);
        let mut out = Vec::new();
        let mut pending = 1usize;
        while pending > 0 {
            pending -= 1;
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            let (kind, rest) = line.split_at(1);
            match kind {
                "*" => pending += rest.parse::<usize>().ok()?,
                "$" => {
                    let mut value = String::new();
                    reader.read_line(&mut value).ok()?;
                    out.push(value.trim_end().to_owned());
                }
                "+" | ":" => out.push(rest.to_owned()),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The group channels Redis has subscribers for.
    pub fn group_channels(&self) -> Vec<String> {
        self.command(&["PUBSUB", "CHANNELS", "rest-channels:g:*"])
            .expect("Redis answers")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `reference` example process with `--redis-url` on a Redis of the
/// tests, killed on drop.
pub struct Reference {
    child: Child,
    /// Its `ws://HOST:PORT`, from its ready line.
    pub base: String,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Reference {
    /// Starts the reference example (built by cargo next to the tests, in
    /// `target/<profile>/examples/`) on `redis`, on a free port; `None`
    /// (with a note) when it is not built there.
    pub async fn start(redis: &Redis) -> Option<Reference> {
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .and_then(|deps| deps.parent())
            .map(|profile| profile.join("examples").join("reference"))
            .filter(|p| p.is_file());
        let Some(bin) = bin else {
            eprintln!("note: the reference example is not built next to this test: skipped");
            return None;
        };
        let mut child = Command::new(bin)
            .args(["--addr", "127.0.0.1:0", "--redis-url", &redis.url()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the reference example");
        let stdout = child.stdout.take().unwrap();
        let mut reference = Reference {
            child,
            base: String::new(),
        };
        let reading = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(30), reading)
            .await
            .expect("the ready line in time")
            .unwrap()
            .unwrap();
        reference.base = line
            .split("listening on ")
            .nth(1)
            .expect("listening on ws://...")
            .trim()
            .to_owned();
        Some(reference)
    }
}
