use rest_channels::Model;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "notes")]
pub struct Note {
    pub id: i64,
    pub title: String,
}

fn main() {
    // No second error here: the model's stub impl stands in.
    let _ = Note::FIELDS.title;
}
