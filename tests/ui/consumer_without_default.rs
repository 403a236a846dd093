// A consumer type must implement `Default` (one value per connection).
use axum::{Router, routing::get};
use rest_channels::prelude::*;

pub struct Api {
    greeting: String,
}

#[consumer]
impl Api {
    #[async_action]
    async fn hello(&self) -> ActionResult {
        Ok(reply!({"greeting": self.greeting}, 200))
    }
}

fn main() {
    let _router: Router = Router::new()
        .route("/ws/", get(rest_channels::axum::websocket::<Api>))
        .with_state(App::default());
}
