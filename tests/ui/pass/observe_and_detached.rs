// `observe` beside `generics`, on a handler and on a consumer; detached
// actions in every mode.
use rest_channels::prelude::*;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "notes")]
pub struct Note {
    #[model(primary_key)]
    pub id: i64,
    pub title: String,
}

#[derive(Default)]
pub struct NoteDetail;

#[action_handler(generics = RetrieveUpdateDestroy, observe)]
impl NoteDetail {}

impl ModelHandler for NoteDetail {
    type Model = Note;
}

#[derive(Default)]
pub struct Api;

#[consumer(generics = ListCreate, observe, group = "room", routes = [path("notes/<int:pk>/", NoteDetail)])]
impl Api {
    #[async_action(detached)]
    async fn wait(&self, ms: u64) -> ActionResult {
        Ok(reply!({"waited": ms}, 200))
    }

    #[async_action(detached, mode = "none")]
    async fn later(&self) -> ActionResult {
        Ok(reply!(null, 200))
    }

    #[async_action(detached, mode = "broadcast")]
    async fn tell(&self, ctx: &Context<'_>, text: String) -> ActionResult {
        Ok(reply!({"text": text, "user": ctx.user().map(|u| u.username())}, 200))
    }
}

impl ModelHandler for Api {
    type Model = Note;
}

fn main() {}
