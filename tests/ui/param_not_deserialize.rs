// An action parameter whose type does not implement `Deserialize` is an error at the type.
use rest_channels::prelude::*;

pub struct Note {
    pub title: String,
}

#[derive(Default)]
pub struct Notes;

#[action_handler]
impl Notes {
    #[async_action]
    async fn create(&self, note: Note) -> ActionResult {
        Ok(reply!({"title": note.title}, 201))
    }
}

fn main() {}
