//! The WebSocket transport of a served connection: RFC 6455 framing over
//! the upgraded HTTP connection, server side.
//!
//! The framing is done here rather than by a WebSocket crate for what a
//! connection costs while it waits, and per message:
//!
//! - **No buffer while idle.** Reads go into a buffer of the worker thread
//!   ([`SCRATCH`]); a connection keeps bytes only while a frame is
//!   incomplete, and writes only until they are flushed. An idle connection
//!   holds no buffer at all (a WebSocket crate keeps a read buffer per
//!   connection for its life, and one that grew for a large message stays
//!   grown).
//! - **The socket is read only when it woke the connection.** The loop also
//!   wakes for events from the layer, detached actions and timers; a waker
//!   of the socket's own ([`Gate`]) tells its wake-ups apart, so those cost
//!   no read attempt.
//! - **Writes are queued ([`Transport::feed`]) and written together
//!   ([`Transport::flush`]):** the loop flushes once nothing else is ready,
//!   so replies and events that are ready at the same time leave in one
//!   write(2), and a lone reply is not held back.
//!
//! What it checks on the way in: every client frame masked; no reserved
//! bits or opcodes; control frames final and at most 125 bytes; fragments
//! in order (continuations only within a message, control frames between
//! them); a message at most `max_message_size` bytes, refused from its
//! header; text valid UTF-8 (the whole message, so a character may span
//! fragments); close frames with an allowed code and a UTF-8 reason. A
//! broken rule closes with 1002 (1007 for bad UTF-8, 1009 for size).

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::connection::{Incoming, Transport, close};
use crate::gate::Gate;

/// How long a closing connection waits for its peer before dropping it.
const LINGER: Duration = Duration::from_secs(2);
/// How much a closing connection reads and discards at most.
const LINGER_BYTES: usize = 1 << 20;
/// The most one read(2) takes (the size of the worker thread's buffer).
const MAX_READ: usize = 64 * 1024;

thread_local! {
    /// The worker thread's read buffer: bytes stay here only during the
    /// call that reads them; what a connection must keep (an incomplete
    /// frame) moves to the connection.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; MAX_READ].into_boxed_slice());
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A server-side WebSocket over `S` (the upgraded connection).
pub(crate) struct Socket<S> {
    io: S,
    /// Bytes read and not yet taken (an incomplete frame, or frames after
    /// the one returned); empty, with nothing allocated, when idle.
    rbuf: Vec<u8>,
    /// How much of `rbuf` was taken.
    rpos: usize,
    /// A fragmented message so far: text?, its bytes.
    partial: Option<(bool, Vec<u8>)>,
    /// Frames queued for the client; nothing allocated once flushed.
    wbuf: Vec<u8>,
    /// How much of `wbuf` was written.
    wpos: usize,
    /// Reads happen only when the socket woke the task (or may have more).
    gate: Gate,
    limits: Limits,
    last_seen: Instant,
    /// A close frame was queued (ours, or the answer to the client's).
    close_queued: bool,
    /// The client sent its close frame, or hung up: nothing more to read.
    read_closed: bool,
}

/// What a socket is allowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The largest message a client may send, in bytes.
    pub(crate) max_message_size: usize,
    /// The most one read takes.
    pub(crate) read_size: usize,
    /// Queued writes past this go out without waiting for a flush.
    pub(crate) write_high_water: usize,
    /// How long one write may wait for the client to read.
    pub(crate) write_timeout: Duration,
}

/// A frame's header, parsed from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// The payload's length.
    len: usize,
    /// The header's own length.
    size: usize,
}

/// A frame that breaks the protocol: close with this code.
#[derive(Debug, PartialEq, Eq)]
enum Broken {
    Protocol(&'static str),
    TooLarge,
    NotUtf8,
}

impl Broken {
    fn incoming(self) -> Incoming {
        match self {
            Broken::Protocol(why) => {
                tracing::debug!(why, "WebSocket protocol error");
                Incoming::Broken(close::PROTOCOL_ERROR)
            }
            Broken::TooLarge => {
                tracing::debug!("message over the size limit");
                Incoming::TooLarge
            }
            Broken::NotUtf8 => {
                tracing::debug!("text message that is not UTF-8");
                Incoming::Broken(close::INVALID_PAYLOAD)
            }
        }
    }
}

/// Parses the header at the front of `buf`; `None` when incomplete.
fn parse_header(buf: &[u8], max_message_size: usize) -> Result<Option<Header>, Broken> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(Broken::Protocol("reserved bits set"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    let control = opcode & 0x08 != 0;
    match opcode {
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
        _ => return Err(Broken::Protocol("reserved opcode")),
    }
    if b1 & 0x80 == 0 {
        return Err(Broken::Protocol("unmasked client frame"));
    }
    let (len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                if len >> 63 != 0 {
                    return Err(Broken::Protocol("64-bit length with its top bit set"));
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if control && (!fin || len > 125) {
        return Err(Broken::Protocol("fragmented or long control frame"));
    }
    if len > max_message_size as u64 {
        return Err(Broken::TooLarge);
    }
    let Some(mask) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask: mask.try_into().expect("4 bytes"),
        len: len as usize,
        size: at + 4,
    }))
}

/// Unmasks `data` in place (RFC 6455 5.3), the mask continuing from
/// `offset` bytes into the payload.
fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut mask = mask;
    mask.rotate_left(offset % 4);
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Whether a client may send this close code (RFC 6455 7.4).
fn allowed_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// Appends a server frame (final, unmasked) to `out`.
fn write_frame(out: &mut Vec<u8>, opcode: u8, payload: &[&[u8]]) {
    let len: usize = payload.iter().map(|p| p.len()).sum();
    out.reserve(len + 10);
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    for p in payload {
        out.extend_from_slice(p);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Socket<S> {
    pub(crate) fn new(io: S, limits: Limits) -> Self {
        Socket {
            io,
            rbuf: Vec::new(),
            rpos: 0,
            partial: None,
            wbuf: Vec::new(),
            wpos: 0,
            gate: Gate::new(),
            limits,
            last_seen: Instant::now(),
            close_queued: false,
            read_closed: false,
        }
    }

    /// The next message from what was read, answering control frames;
    /// `None` when more must be read.
    fn decode(&mut self) -> Option<Incoming> {
        loop {
            let buf = &self.rbuf[self.rpos..];
            let header = match parse_header(buf, self.limits.max_message_size) {
                Ok(Some(h)) if buf.len() >= h.size + h.len => h,
                Ok(_) => return None,
                Err(broken) => return Some(broken.incoming()),
            };
            let start = self.rpos + header.size;
            let end = start + header.len;
            self.rpos = end;
            let payload = &mut self.rbuf[start..end];
            unmask(payload, header.mask, 0);
            let payload = &self.rbuf[start..end];
            match header.opcode {
                OP_PING => {
                    if !self.close_queued {
                        write_frame(&mut self.wbuf, OP_PONG, &[payload]);
                    }
                }
                OP_PONG => {}
                OP_CLOSE => return Some(self.closed_by_client(header.len, start)),
                OP_CONTINUATION => {
                    let Some((text, mut bytes)) = self.partial.take() else {
                        return Some(Broken::Protocol("continuation outside a message").incoming());
                    };
                    if bytes.len() + payload.len() > self.limits.max_message_size {
                        return Some(Broken::TooLarge.incoming());
                    }
                    bytes.extend_from_slice(payload);
                    if header.fin {
                        return Some(message(text, bytes));
                    }
                    self.partial = Some((text, bytes));
                }
                opcode => {
                    if self.partial.is_some() {
                        return Some(
                            Broken::Protocol("a new message inside a fragmented one").incoming(),
                        );
                    }
                    let text = opcode == OP_TEXT;
                    if header.fin {
                        return Some(message(text, payload.to_vec()));
                    }
                    self.partial = Some((text, payload.to_vec()));
                }
            }
        }
    }

    /// The client's close frame (payload at `rbuf[start..start + len]`):
    /// queues the answer, and ends the reading.
    fn closed_by_client(&mut self, len: usize, start: usize) -> Incoming {
        self.read_closed = true;
        let payload = &self.rbuf[start..start + len];
        let code = match payload {
            [] => None,
            [_] => return Broken::Protocol("a close frame of one byte").incoming(),
            [a, b, reason @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                if !allowed_close_code(code) {
                    return Broken::Protocol("a close code not allowed").incoming();
                }
                if std::str::from_utf8(reason).is_err() {
                    return Broken::NotUtf8.incoming();
                }
                Some(code)
            }
        };
        if !self.close_queued {
            self.close_queued = true;
            // The answer echoes the code (RFC 6455 5.5.1).
            match code {
                Some(code) => write_frame(&mut self.wbuf, OP_CLOSE, &[&code.to_be_bytes()]),
                None => write_frame(&mut self.wbuf, OP_CLOSE, &[]),
            }
        }
        Incoming::Closed
    }

    /// Reads once into the worker's buffer and keeps what came; the number
    /// of bytes (0: the client hung up).
    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let io = &mut self.io;
        let rbuf = &mut self.rbuf;
        let read_size = self.limits.read_size.clamp(1, MAX_READ);
        SCRATCH.with_borrow_mut(|scratch| {
            let mut buf = ReadBuf::new(&mut scratch[..read_size]);
            ready!(Pin::new(io).poll_read(cx, &mut buf))?;
            rbuf.extend_from_slice(buf.filled());
            Poll::Ready(Ok(buf.filled().len()))
        })
    }

    /// Gives back what was taken from `rbuf`: nothing stays allocated once
    /// all of it was.
    fn compact(&mut self) {
        if self.rpos == self.rbuf.len() {
            self.rbuf = Vec::new();
            self.rpos = 0;
        } else if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
    }

    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.wpos < self.wbuf.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.wpos..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.wpos += n;
        }
        self.wbuf = Vec::new();
        self.wpos = 0;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Writes out what is queued, within the write timeout.
    async fn write_out(&mut self) -> bool {
        let timeout = self.limits.write_timeout;
        match tokio::time::timeout(timeout, std::future::poll_fn(|cx| self.poll_write_out(cx)))
            .await
        {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "write failed");
                false
            }
            Err(_) => {
                tracing::debug!(
                    ?timeout,
                    "write timeout: the client does not read; disconnecting it"
                );
                false
            }
        }
    }
}

/// A complete message.
fn message(text: bool, bytes: Vec<u8>) -> Incoming {
    if !text {
        return Incoming::Binary;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Incoming::Text(text.into()),
        Err(_) => Broken::NotUtf8.incoming(),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Transport for Socket<S> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        // Whether the socket may have something to read: it woke the task,
        // or the last read gave bytes (no read said "would block" since).
        let mut readable = self.gate.open(cx);
        if self.read_closed {
            return Poll::Ready(Incoming::Closed);
        }
        loop {
            // What was read already comes first.
            if let Some(incoming) = self.decode() {
                if readable {
                    self.gate.fired();
                }
                if self.rpos == self.rbuf.len() {
                    self.compact();
                }
                return Poll::Ready(incoming);
            }
            if !std::mem::take(&mut readable) {
                return Poll::Pending;
            }
            self.compact();
            let waker = self.gate.waker().clone();
            match self.poll_read_some(&mut Context::from_waker(&waker)) {
                // The gate's waker lets the next poll through.
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    self.read_closed = true;
                    return Poll::Ready(Incoming::Closed);
                }
                Poll::Ready(Ok(_)) => {
                    readable = true;
                    self.last_seen = Instant::now();
                }
                Poll::Ready(Err(e)) => {
                    tracing::debug!(error = %e, "read failed");
                    self.read_closed = true;
                    return Poll::Ready(Incoming::Closed);
                }
            }
        }
    }

    async fn feed(&mut self, text: Utf8Bytes) -> bool {
        write_frame(&mut self.wbuf, OP_TEXT, &[text.as_bytes()]);
        if self.wbuf.len() - self.wpos >= self.limits.write_high_water {
            return self.write_out().await;
        }
        true
    }

    async fn flush(&mut self) -> bool {
        self.write_out().await
    }

    fn has_queued(&self) -> bool {
        self.wpos < self.wbuf.len()
    }

    async fn ping(&mut self) -> bool {
        write_frame(&mut self.wbuf, OP_PING, &[]);
        self.write_out().await
    }

    fn last_seen(&self) -> Option<Instant> {
        Some(self.last_seen)
    }

    async fn close(mut self, code: Option<u16>, reason: &'static str) {
        if let Some(code) = code
            && !self.close_queued
        {
            self.close_queued = true;
            let reason = &reason.as_bytes()[..reason.len().min(123)];
            write_frame(&mut self.wbuf, OP_CLOSE, &[&code.to_be_bytes(), reason]);
        }
        // With `None`, this writes the answer to the client's close.
        let _ =
            tokio::time::timeout(LINGER, std::future::poll_fn(|cx| self.poll_write_out(cx))).await;
        let io = &mut self.io;
        let _ = tokio::time::timeout(LINGER, io.shutdown()).await;
        // Read until the client hangs up, so that the close frame is not
        // destroyed by a reset for unread data.
        let _ = tokio::time::timeout(LINGER, async {
            let mut buf = vec![0u8; 4096];
            let mut total = 0;
            while total < LINGER_BYTES {
                match io.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
    }
}

/// What [`decode_chunks`] saw: a message, or how the socket ended.
#[doc(hidden)]
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A text message.
    Text(String),
    /// A binary message (its bytes are not kept).
    Binary,
    /// A message over the size limit (close 1009).
    TooLarge,
    /// A broken rule (close with this code).
    Broken(u16),
    /// The client closed, or hung up.
    Closed,
}

/// Feeds `chunks` to a server socket one after the other, as the client's
/// writes, then hangs up; returns what the socket decoded (up to and
/// including the first end), and how many bytes of control frames (pongs,
/// the answer to a close) it queued. For the fuzz target and the property
/// tests: the whole decoding path, synchronously, over an in-memory stream.
#[doc(hidden)]
pub fn decode_chunks(chunks: &[&[u8]], max_message_size: usize) -> (Vec<Decoded>, usize) {
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    let (server, mut client) = tokio::io::duplex(total + 1);
    let mut socket = Socket::new(
        server,
        Limits {
            max_message_size,
            read_size: 4096,
            write_high_water: usize::MAX,
            write_timeout: Duration::from_secs(1),
        },
    );
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut out = Vec::new();
    let mut poll_all = |socket: &mut Socket<_>, out: &mut Vec<Decoded>| loop {
        match socket.poll_recv(&mut cx) {
            Poll::Pending => return false,
            Poll::Ready(incoming) => {
                let (decoded, end) = match incoming {
                    Incoming::Text(t) => (Decoded::Text(t.as_str().to_owned()), false),
                    Incoming::Binary => (Decoded::Binary, false),
                    Incoming::TooLarge => (Decoded::TooLarge, true),
                    Incoming::Broken(code) => (Decoded::Broken(code), true),
                    Incoming::Closed => (Decoded::Closed, true),
                };
                out.push(decoded);
                if end {
                    return true;
                }
            }
        }
    };
    let mut ended = false;
    for chunk in chunks {
        let mut write_cx = Context::from_waker(std::task::Waker::noop());
        let written = Pin::new(&mut client).poll_write(&mut write_cx, chunk);
        assert!(
            matches!(written, Poll::Ready(Ok(n)) if n == chunk.len()),
            "the pipe holds everything"
        );
        if poll_all(&mut socket, &mut out) {
            ended = true;
            break;
        }
    }
    if !ended {
        drop(client);
        poll_all(&mut socket, &mut out);
    }
    (out, socket.wbuf.len() - socket.wpos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 64 * 1024;

    /// A client frame: masked with a fixed mask.
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![b0];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len < 65536 {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn limits() -> Limits {
        Limits {
            max_message_size: MAX,
            read_size: 16 * 1024,
            write_high_water: 64 * 1024,
            write_timeout: Duration::from_secs(5),
        }
    }

    /// A socket over one end of a pipe; the other end is the client.
    fn pair() -> (Socket<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
        let (server, client) = tokio::io::duplex(1 << 20);
        (Socket::new(server, limits()), client)
    }

    async fn recv<S: AsyncRead + AsyncWrite + Unpin + Send>(s: &mut Socket<S>) -> Incoming {
        tokio::time::timeout(
            Duration::from_secs(5),
            std::future::poll_fn(|cx| s.poll_recv(cx)),
        )
        .await
        .expect("a frame in time")
    }

    fn text(incoming: Incoming) -> String {
        match incoming {
            Incoming::Text(t) => t.as_str().to_owned(),
            Incoming::Binary => panic!("binary"),
            Incoming::TooLarge => panic!("too large"),
            Incoming::Broken(code) => panic!("broken {code}"),
            Incoming::Closed => panic!("closed"),
        }
    }

    fn code(incoming: Incoming) -> u16 {
        match incoming {
            Incoming::TooLarge => close::TOO_LARGE,
            Incoming::Broken(code) => code,
            Incoming::Text(t) => panic!("text {t}"),
            Incoming::Binary => panic!("binary"),
            Incoming::Closed => panic!("closed"),
        }
    }

    #[test]
    fn headers_of_every_length_encoding() {
        for len in [0usize, 1, 125, 126, 65535, 65536] {
            let f = frame(0x81, &vec![b'a'; len]);
            let h = parse_header(&f, usize::MAX).unwrap().unwrap();
            assert_eq!((h.fin, h.opcode, h.len), (true, OP_TEXT, len));
            assert_eq!(h.size + h.len, f.len());
            // Every strict prefix of the header is incomplete, not an error.
            for cut in 0..h.size {
                assert_eq!(
                    parse_header(&f[..cut], usize::MAX),
                    Ok(None),
                    "len {len} cut {cut}"
                );
            }
        }
    }

    #[test]
    fn headers_that_break_the_rules() {
        let p = |b: &[u8]| parse_header(b, MAX);
        assert!(
            matches!(p(&frame(0x91, b"x")), Err(Broken::Protocol(_))),
            "rsv1"
        );
        assert!(
            matches!(p(&frame(0x83, b"x")), Err(Broken::Protocol(_))),
            "opcode 3"
        );
        assert!(
            matches!(p(&frame(0x8B, b"x")), Err(Broken::Protocol(_))),
            "opcode 11"
        );
        assert!(
            matches!(p(&[0x81, 0x01, b'x']), Err(Broken::Protocol(_))),
            "unmasked"
        );
        assert!(
            matches!(p(&frame(0x09, b"")), Err(Broken::Protocol(_))),
            "fragmented ping"
        );
        assert!(
            matches!(p(&frame(0x89, &[0; 126])), Err(Broken::Protocol(_))),
            "long ping"
        );
        assert_eq!(p(&frame(0x82, &vec![0; MAX + 1])), Err(Broken::TooLarge));
        let mut huge = vec![0x82, 0x80 | 127];
        huge.extend_from_slice(&(1u64 << 63).to_be_bytes());
        huge.extend_from_slice(&[0; 4]);
        assert!(matches!(
            parse_header(&huge, usize::MAX),
            Err(Broken::Protocol(_))
        ));
    }

    #[test]
    fn unmasking_at_any_offset_and_length() {
        let mask = [1, 2, 3, 4];
        for len in 0..40 {
            for offset in 0..4 {
                let plain: Vec<u8> = (0..len as u8).collect();
                let mut data: Vec<u8> = plain
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ mask[(i + offset) % 4])
                    .collect();
                unmask(&mut data, mask, offset);
                assert_eq!(data, plain, "len {len} offset {offset}");
            }
        }
    }

    #[tokio::test]
    async fn messages_whole_split_and_batched() {
        let (mut s, mut c) = pair();
        // Two frames in one write, then one frame byte by byte.
        let mut both = frame(0x81, b"{\"a\":1}");
        both.extend(frame(0x81, "h\u{e9}llo".as_bytes()));
        c.write_all(&both).await.unwrap();
        assert_eq!(text(recv(&mut s).await), "{\"a\":1}");
        assert_eq!(text(recv(&mut s).await), "h\u{e9}llo");
        assert!(s.rbuf.capacity() == 0, "nothing kept once all was taken");
        let long = "x".repeat(70_000 - 20);
        let mut limits = limits();
        limits.max_message_size = 100_000;
        s.limits = limits;
        let f = frame(0x81, long.as_bytes());
        for chunk in f.chunks(9_999) {
            c.write_all(chunk).await.unwrap();
        }
        assert_eq!(text(recv(&mut s).await), long);
        assert!(s.rbuf.capacity() == 0);
    }

    #[tokio::test]
    async fn fragments_with_control_frames_between_them() {
        let (mut s, mut c) = pair();
        // "h\u{e9}" split inside the two bytes of the e-acute.
        let bytes = "h\u{e9}!".as_bytes();
        let mut all = frame(0x01, &bytes[..2]);
        all.extend(frame(0x89, b"p1"));
        all.extend(frame(0x00, &bytes[2..3]));
        all.extend(frame(0x8A, b"unsolicited pong"));
        all.extend(frame(0x80, &bytes[3..]));
        c.write_all(&all).await.unwrap();
        assert_eq!(text(recv(&mut s).await), "h\u{e9}!");
        // The ping was answered with its payload.
        assert!(s.has_queued());
        assert!(s.flush().await);
        let mut answer = [0u8; 4];
        c.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, [0x8A, 2, b'p', b'1']);
    }

    #[tokio::test]
    async fn broken_sequences() {
        for (frames, expected) in [
            (vec![frame(0x80, b"x")], close::PROTOCOL_ERROR),
            (
                vec![frame(0x01, b"a"), frame(0x81, b"b")],
                close::PROTOCOL_ERROR,
            ),
            (vec![frame(0x81, &[0xff, 0xfe])], close::INVALID_PAYLOAD),
            (
                vec![frame(0x01, &[0xc3]), frame(0x80, b"x")],
                close::INVALID_PAYLOAD,
            ),
            (vec![frame(0x88, &[0x03])], close::PROTOCOL_ERROR),
            (
                vec![frame(0x88, &1005u16.to_be_bytes())],
                close::PROTOCOL_ERROR,
            ),
            (
                vec![frame(0x02, &vec![0; MAX]), frame(0x80, b"x")],
                close::TOO_LARGE,
            ),
        ] {
            let (mut s, mut c) = pair();
            for f in &frames {
                c.write_all(f).await.unwrap();
            }
            assert_eq!(code(recv(&mut s).await), expected, "{frames:?}");
        }
    }

    #[tokio::test]
    async fn a_close_is_answered_with_its_code() {
        let (mut s, mut c) = pair();
        let mut payload = 1000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        c.write_all(&frame(0x88, &payload)).await.unwrap();
        assert!(matches!(recv(&mut s).await, Incoming::Closed));
        assert!(
            matches!(recv(&mut s).await, Incoming::Closed),
            "stays closed"
        );
        drop(c.shutdown().await);
        let closing = tokio::spawn(s.close(None, ""));
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, [0x88, 2, 0x03, 0xE8]);
        closing.await.unwrap();
    }

    #[tokio::test]
    async fn replies_queued_together_leave_together() {
        let (mut s, mut c) = pair();
        assert!(s.feed("one".into()).await);
        assert!(s.feed("x".repeat(300).into()).await);
        assert!(s.has_queued());
        assert!(s.flush().await);
        assert!(!s.has_queued());
        assert_eq!(s.wbuf.capacity(), 0, "nothing kept once written");
        let mut got = vec![0u8; 5 + 4 + 300];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..5], &[0x81, 3, b'o', b'n', b'e']);
        assert_eq!(&got[5..9], &[0x81, 126, 1, 44]);
        assert!(got[9..].iter().all(|&b| b == b'x'));
    }

    #[tokio::test]
    async fn the_client_hanging_up_is_a_close() {
        let (mut s, c) = pair();
        drop(c);
        assert!(matches!(recv(&mut s).await, Incoming::Closed));
    }
}
