// An action renamed to the name of another action's method is a duplicate action name.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action]
    async fn ping(&self) -> ActionResult {
        Ok(reply!("pong", 200))
    }

    #[async_action(name = "ping")]
    async fn ping_v2(&self) -> ActionResult {
        Ok(reply!({"reply": "pong"}, 200))
    }
}

fn main() {}
