// An action of one's own cannot take the name of an action the generic handler provides.
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
pub struct NoteList;

#[action_handler(generics = ListCreate)]
impl NoteList {
    #[async_action]
    async fn list(&self) -> ActionResult {
        Ok(reply!([], 200))
    }

    #[async_action]
    async fn count(&self) -> ActionResult {
        Ok(reply!(0, 200))
    }
}

impl ModelHandler for NoteList {
    type Model = Note;
}

fn main() {}
