// An unknown converter in a `path()` pattern is an error at the pattern.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct NoteDetail;

#[action_handler]
impl NoteDetail {
    #[async_action]
    async fn retrieve(&self, ctx: &Context<'_>) -> ActionResult {
        let pk: i64 = ctx.kwarg("pk")?;
        Ok(reply!({"pk": pk}, 200))
    }
}

#[derive(Default)]
pub struct Api;

#[consumer(routes = [path("notes/<integer:pk>/", NoteDetail)])]
impl Api {}

fn main() {}
