// A throttle's rate is parsed when the crate compiles: a bad one is an
// error at its literal, and so is a scope without a rate.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Uploads;

#[action_handler(throttle = "100/fortnight")]
impl Uploads {
    #[async_action(throttle = "5 per minute")]
    async fn upload(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }

    #[async_action(throttle = "0/min")]
    async fn never(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }

    #[async_action(throttle_scope = "uploads")]
    async fn scoped(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }
}

fn main() {}
