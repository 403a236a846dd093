use rest_channels::Model;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "notes")]
pub struct Note {
    #[model(primary_key)]
    pub id: i64,
    #[model(validate(length(max = 255), max_length(255)))]
    pub title: String,
}

fn main() {}
