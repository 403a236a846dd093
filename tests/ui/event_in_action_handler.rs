// `#[event]` methods belong to a `#[consumer]`: an `#[action_handler]` receives no events.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Chat;

#[action_handler(permissions = [IsAuthenticated])]
impl Chat {
    #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }

    #[event("chat.message")]
    async fn chat_message(&self, ctx: &Context<'_>, event: &Event) {
        ctx.forward(event);
    }
}

fn main() {}
