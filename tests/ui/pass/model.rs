// `#[derive(Model)]` end to end: a row read back from SQLite, `read_data` with
// defaults and validation, the owner, the columns by name, an `Option` field
// with rules, and the `crate` option through a re-export.
mod framework {
    pub use rest_channels::*;
}

use framework::model::{ColumnType, Model, Value, WriteMode};
use framework::{Database, Object, UserId};
use serde::Serialize;
use serde_json::json;

fn no_spaces(s: &str) -> Result<(), String> {
    if s.contains(' ') {
        Err("No spaces, please.".into())
    } else {
        Ok(())
    }
}

#[derive(framework::Model, Serialize, Debug, PartialEq)]
#[model(table = "notes", crate = "crate::framework")]
pub struct Note {
    #[model(primary_key)]
    pub id: i64,
    #[model(validate(length(chars, min = 1, max = 5)))]
    pub title: String,
    #[model(default = "none", validate(custom(no_spaces)))]
    pub tag: String,
    #[model(default = 3, validate(range(min = 1, max = 5)))]
    pub stars: Option<i32>,
    #[model(default = 0.5)]
    pub weight: f64,
    #[model(default)]
    pub done: bool,
    #[model(validate(email, custom(short)))]
    pub contact: Option<String>,
    #[model(read_only, owner)]
    pub author: Option<i64>,
    pub r#type: Option<String>,
}

// The columns by name, in a constant.
const SEARCH: &[framework::model::Column] = &[Note::FIELDS.title, Note::FIELDS.tag];

// `custom` takes `fn(&T)` too.
#[allow(clippy::ptr_arg)]
fn short(s: &String) -> Result<(), String> {
    if s.len() > 16 {
        Err("Too long.".into())
    } else {
        Ok(())
    }
}

// A model without writable fields, and an owner that is text.
#[derive(rest_channels::Model, Serialize)]
#[model(table = "tokens")]
struct Token {
    #[model(primary_key)]
    key: String,
    #[model(read_only, owner)]
    user: String,
}

fn messages(data: serde_json::Value, mode: WriteMode) -> Vec<(String, Vec<String>)> {
    let errors = Note::read_data(data.as_object().unwrap(), mode).unwrap_err();
    errors
        .iter()
        .map(|(f, m)| (f.to_owned(), m.to_vec()))
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Note::TABLE, "notes");
    assert_eq!(Note::PRIMARY_KEY, Note::FIELDS.id);
    let names: Vec<&str> = Note::COLUMNS.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "id", "title", "tag", "stars", "weight", "done", "contact", "author", "type"
        ]
    );
    assert_eq!(Note::FIELDS.weight.ty(), ColumnType::Real);
    assert_eq!(Note::FIELDS.stars.ty(), ColumnType::Integer);
    assert_eq!(SEARCH[1].name(), "tag");

    // Everything wrong at once; the primary key and the author are not read.
    assert_eq!(
        messages(
            json!({"id": 1, "title": "", "tag": "a b", "stars": 9, "contact": "not-an-email-address", "author": 5}),
            WriteMode::Create
        ),
        [
            (
                "title".to_owned(),
                vec!["This field may not be blank.".to_owned()]
            ),
            ("tag".to_owned(), vec!["No spaces, please.".to_owned()]),
            (
                "stars".to_owned(),
                vec!["Ensure this value is less than or equal to 5.".to_owned()]
            ),
            (
                "contact".to_owned(),
                vec![
                    "Enter a valid email address.".to_owned(),
                    "Too long.".to_owned()
                ]
            ),
        ]
    );
    assert_eq!(
        messages(json!({}), WriteMode::Create),
        [(
            "title".to_owned(),
            vec!["This field is required.".to_owned()]
        )]
    );
    // `null` passes the rules of an `Option` field.
    let values = Note::read_data(
        json!({"title": "hi", "contact": null, "stars": null})
            .as_object()
            .unwrap(),
        WriteMode::Partial,
    )
    .unwrap();
    assert_eq!(values.get("contact"), Some(&Value::Null));
    assert_eq!(values.len(), 3);

    let db = Database::connect("sqlite::memory:").await.unwrap();
    db.migrate(&framework::db::Migrations::new().add(
        1,
        "notes",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, tag TEXT NOT NULL, stars INTEGER, weight REAL NOT NULL, done BOOLEAN NOT NULL, contact TEXT, author INTEGER, type TEXT)",
        "",
    ))
    .await
    .unwrap();
    let mut values = Note::read_data(
        json!({"title": "hello", "contact": "a@example.com"})
            .as_object()
            .unwrap(),
        WriteMode::Create,
    )
    .unwrap();
    values.set(Note::FIELDS.author, 7_i64);
    let mut tx = db.begin_write().await.unwrap();
    let note: Note = tx.insert(values).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        note,
        Note {
            id: 1,
            title: "hello".into(),
            tag: "none".into(),
            stars: Some(3),
            weight: 0.5,
            done: false,
            contact: Some("a@example.com".into()),
            author: Some(7),
            r#type: None,
        }
    );
    assert_eq!(note.pk(), Value::Integer(1));
    assert_eq!(note.owner(), Some(UserId::Int(7)));

    let token = Token {
        key: "k".into(),
        user: "u-1".into(),
    };
    assert_eq!(token.owner(), Some(UserId::Str("u-1".into())));
    assert!(
        Token::read_data(&Default::default(), WriteMode::Create)
            .unwrap()
            .is_empty()
    );
}
