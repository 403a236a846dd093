// `observe` pushes the changes of the model of `generics = ...`: without it
// there is nothing to observe.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Notes;

#[action_handler(observe)]
impl Notes {
    #[async_action]
    async fn count(&self) -> ActionResult {
        Ok(reply!(0, 200))
    }
}

fn main() {}
