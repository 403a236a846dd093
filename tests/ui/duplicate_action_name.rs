// Two actions renamed to the same wire name are an error, pointing at both.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action(name = "list")]
    async fn list_all(&self) -> ActionResult {
        Ok(reply!([], 200))
    }

    #[async_action(name = "list")]
    async fn list_recent(&self) -> ActionResult {
        Ok(reply!([], 200))
    }
}

fn main() {}
