// An action must take `&self`: `&mut self` and `self` are errors at the receiver.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Counter {
    count: u64,
}

#[consumer]
impl Counter {
    #[async_action]
    async fn increment(&mut self) -> ActionResult {
        self.count += 1;
        Ok(reply!({"count": self.count}, 200))
    }

    #[async_action]
    async fn take(self) -> ActionResult {
        Ok(reply!({"count": self.count}, 200))
    }
}

fn main() {}
