// `&&` in a permission expression is an error at the operator: permissions combine with `&`.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Private;

#[action_handler(permissions = [IsAuthenticated && !IsAdminUser])]
impl Private {
    #[async_action]
    async fn secret(&self) -> ActionResult {
        Ok(reply!({"secret": 42}, 200))
    }
}

fn main() {}
