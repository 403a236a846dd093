// A route target that is not an action handler is an error at the target.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Items;

impl Items {
    #[allow(dead_code)]
    async fn touch(&self) -> ActionResult {
        Ok(reply!({"message": "touched"}, 200))
    }
}

#[derive(Default)]
pub struct Api;

#[consumer(routes = [path("items/<pk>/", Items)])]
impl Api {}

fn main() {}
