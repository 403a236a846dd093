use rest_channels::Model;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "files")]
pub struct File {
    #[model(primary_key)]
    pub id: i64,
    pub content: Vec<u8>,
}

fn main() {}
