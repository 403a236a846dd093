use rest_channels::Model;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "notes")]
pub struct Note {
    #[model(primary_key)]
    pub id: i64,
    #[model(primary_key)]
    pub uuid: String,
}

fn main() {}
