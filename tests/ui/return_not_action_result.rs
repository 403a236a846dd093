// An action returning something that is not an action result is an error at the return type.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action]
    async fn hello(&self, name: String) -> String {
        format!("hello, {name}")
    }
}

fn main() {}
