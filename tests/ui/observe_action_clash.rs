// With `observe`, `subscribe` and `unsubscribe` are the observer's actions.
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

#[action_handler(generics = List, observe)]
impl NoteList {
    #[async_action(name = "subscribe")]
    async fn follow(&self) -> ActionResult {
        Ok(reply!(null, 200))
    }
}

impl ModelHandler for NoteList {
    type Model = Note;
}

fn main() {}
