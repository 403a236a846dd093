// `generics = ...` runs the generic actions over the handler's model: the type must implement `ModelHandler`.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct NoteDetail;

#[action_handler(permissions = [IsAuthenticated], generics = RetrieveUpdateDestroy)]
impl NoteDetail {
    #[async_action]
    async fn archive(&self, pk: i64) -> ActionResult {
        Ok(reply!({"archived": pk}, 200))
    }
}

fn main() {}
