// An `#[action_handler]` is a route target, not an endpoint: serving it needs `#[consumer]`.
use axum::{Router, routing::get};
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Items;

#[action_handler(permissions = [AllowAny])]
impl Items {
    #[async_action]
    async fn touch(&self) -> ActionResult {
        Ok(reply!({"message": "touched"}, 200))
    }
}

fn main() {
    let _router: Router = Router::new()
        .route("/ws/", get(rest_channels::axum::websocket::<Items>))
        .with_state(App::default());
}
