// An invalid regex in `re_path` (an unbalanced parenthesis) is an error at the pattern.
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

#[derive(Default)]
pub struct Api;

#[consumer(routes = [re_path(r"items/(?P<pk>[-\w]+/$", Items)])]
impl Api {}

fn main() {}
