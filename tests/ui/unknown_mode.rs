// An unknown `mode` is an error at its value.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Room;

#[consumer(group = "room_id")]
impl Room {
    #[async_action(mode = "broadcastt")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }
}

fn main() {}
