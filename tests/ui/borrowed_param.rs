// An action parameter is read from the message with serde: a borrowed type is an error at the type.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Greeter;

#[action_handler]
impl Greeter {
    #[async_action]
    async fn hello(&self, ctx: &Context<'_>, name: &str) -> ActionResult {
        Ok(reply!({"hello": name, "channel": ctx.channel_name()}, 200))
    }
}

fn main() {}
