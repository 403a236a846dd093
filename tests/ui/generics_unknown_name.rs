// `generics` takes one of Django REST framework's nine generic handlers, by its short name.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct NoteList;

#[action_handler(generics = ListCreateAPIView)]
impl NoteList {}

fn main() {}
