// A type in `permissions` that does not implement `Permission` is an error at that type.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct IsModerator;

#[derive(Default)]
pub struct Moderation;

#[action_handler(permissions = [IsAuthenticated & IsModerator])]
impl Moderation {
    #[async_action]
    async fn ban(&self, user_id: i64) -> ActionResult {
        Ok(reply!({"banned": user_id}, 200))
    }
}

fn main() {}
