// A consumer's broadcast goes to the connection's group: without `group`, it is an error at the mode.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Chat;

#[consumer(permissions = [AllowAny])]
impl Chat {
    #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }
}

fn main() {}
