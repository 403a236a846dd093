// A parameter named after an envelope key (`route`) is an error at the parameter's name.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action]
    async fn navigate(&self, route: String) -> ActionResult {
        Ok(reply!({"to": route}, 200))
    }
}

fn main() {}
