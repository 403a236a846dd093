// An unknown `#[async_action]` option (a typo of `mode`) is an error at the option's name.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Room;

#[consumer(group = "room_id")]
impl Room {
    #[async_action(mod = "broadcast")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }
}

fn main() {}
