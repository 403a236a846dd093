//! A bare axum WebSocket echo server: the baseline that `examples/load.rs`
//! measures the `reference` server against (memory per idle connection, CPU
//! per message).
//!
//!     cargo run --release --example raw_echo -- --addr 127.0.0.1:8001 [--small-buffers]
//!
//! One route, `/ws/`, upgraded by axum's own `WebSocketUpgrade` with axum's
//! default settings (128 KiB read and write buffers); every text frame is sent
//! back unchanged, binary frames too. `--small-buffers` sets 4 KiB read and
//! write buffers on the upgrade (what the rest-channels runtime uses by
//! default), to compare like with like. Accepted sockets get `TCP_NODELAY`,
//! as the `reference` example's do.

use std::io::Write;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use axum::serve::ListenerExt;

const USAGE: &str = "usage: raw_echo [--addr HOST:PORT] [--small-buffers]";

struct Args {
    addr: SocketAddr,
    small_buffers: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8001".to_owned();
    let mut small_buffers = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                addr = args
                    .next()
                    .ok_or("--addr needs a value, e.g. 127.0.0.1:8001")?
            }
            other if other.starts_with("--addr=") => addr = other["--addr=".len()..].to_owned(),
            "--small-buffers" => small_buffers = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let addr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    Ok(Args {
        addr,
        small_buffers,
    })
}

/// Echoes text and binary frames until the client closes or the socket fails.
async fn echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                if socket.send(msg).await.is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            // tungstenite answers pings by itself.
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };

    let small_buffers = args.small_buffers;
    let router = Router::new().route(
        "/ws/",
        get(move |ws: WebSocketUpgrade| async move {
            let ws = if small_buffers {
                ws.read_buffer_size(4096).write_buffer_size(4096)
            } else {
                ws
            };
            ws.on_upgrade(echo)
        }),
    );

    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.addr);
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().expect("bound address");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on ws://{local}");
        let _ = out.flush();
    }
    // TCP_NODELAY on every accepted socket, as the reference example has it
    // (with several replies in flight, Nagle would hold small ones back and
    // move CPU from the server to the client).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("server error: {e}");
    }
}
