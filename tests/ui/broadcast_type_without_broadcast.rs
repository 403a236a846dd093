// `broadcast_type` without `mode = "broadcast"` is an error at the option.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Room;

#[consumer(group = "room_id")]
impl Room {
    #[async_action(broadcast_type = "chat.message")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }
}

fn main() {}
