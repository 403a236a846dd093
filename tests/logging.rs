//! What a failed action logs: its cause, with its action and route, so that
//! a 500 is explained by the server's log (the client sees only "A server
//! error occurred.").

use std::io::Write;
use std::sync::{Arc, Mutex};

use rest_channels::prelude::*;
use rest_channels::testing::Communicator;
use serde_json::json;

#[derive(Default)]
pub struct Broken;

#[action_handler]
impl Broken {
    #[async_action]
    async fn explode(&self) -> ActionResult {
        Err(Error::msg("the disk is on fire"))
    }
}

#[derive(Default)]
pub struct Api;

#[consumer(routes = [path("broken/", Broken)])]
impl Api {
    #[async_action]
    async fn panics(&self) -> ActionResult {
        panic!("a bug in panics")
    }
}

/// A log written into a shared buffer.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_action_logs_its_cause_action_and_route() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut c = Communicator::builder::<Api>(App::default())
        .connect()
        .await
        .unwrap();
    c.send_json(&json!({"action": "explode", "route": "broken/?x=1"}))
        .await;
    let reply = c.receive_json().await.unwrap();
    assert_eq!(reply["status"], 500);
    assert_eq!(
        reply["errors"],
        json!([{"detail": "A server error occurred."}])
    );
    c.send_json(&json!({"action": "panics"})).await;
    assert_eq!(c.receive_json().await.unwrap()["status"], 500);
    c.disconnect().await;

    let text = log.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("action failed"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, action, route, cause) in [
        (lines[0], "explode", "broken/?x=1", "the disk is on fire"),
        (
            lines[1],
            "panics",
            "",
            "the action panicked: a bug in panics",
        ),
    ] {
        assert!(line.contains("ERROR"), "{line}");
        assert!(line.contains(&format!("action=\"{action}\"")), "{line}");
        assert!(line.contains(&format!("route=\"{route}\"")), "{line}");
        assert!(line.contains(cause), "{line}");
    }
}
