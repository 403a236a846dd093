// `#[async_action]` on a method of an impl block without `#[action_handler]`/`#[consumer]`, or on a free fn.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Api;

impl Api {
    #[async_action]
    pub async fn ping(&self) -> ActionResult {
        Ok(reply!("pong", 200))
    }
}

#[async_action]
pub async fn pong() -> ActionResult {
    Ok(reply!("ping", 200))
}

fn main() {}
