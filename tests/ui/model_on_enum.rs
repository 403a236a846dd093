use rest_channels::Model;
use serde::Serialize;

#[derive(Model, Serialize)]
#[model(table = "states")]
pub enum State {
    Draft,
    Published,
}

fn main() {}
