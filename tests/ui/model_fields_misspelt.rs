use rest_channels::Model;
use rest_channels::model::Column;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "notes")]
pub struct Note {
    #[model(primary_key)]
    pub id: i64,
    pub title: String,
    #[model(read_only, owner)]
    pub author: i64,
}

const SEARCH: &[Column] = &[Note::FIELDS.title, Note::FIELDS.autor];

fn main() {
    let _ = SEARCH;
}
