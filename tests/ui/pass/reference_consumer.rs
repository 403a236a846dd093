// The full reference-style app compiles: routes (nested), permission combinations,
// events, hooks, a blocking action, every mode, and the `crate` option.
use std::sync::Arc;

use axum::{Router, routing::get};
use rest_channels::axum::websocket;
use rest_channels::prelude::*;
use rest_channels::testing::Communicator;
use rest_channels::{TokenAuth, User};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Default)]
pub struct Items;

#[action_handler(permissions = [AllowAny])]
impl Items {
    #[async_action]
    async fn touch(&self, ctx: &Context<'_>) -> ActionResult {
        let pk: &str = ctx.kwarg("pk")?;
        Ok(reply!({"message": "touched", "model_id": pk}, 200))
    }
}

#[derive(Default)]
pub struct Composed;

#[action_handler(
    permissions = [IsAuthenticated & !IsAdminUser, IsAdminUser | (AllowAny & !IsAuthenticated)],
    crate = "::rest_channels",
)]
impl Composed {
    #[async_action]
    async fn check(&self) -> ActionResult<bool> {
        Ok((true, 200))
    }
}

#[derive(Default)]
pub struct NoteDetail;

#[action_handler(permissions = [IsAuthenticatedOrReadOnly, IsOwnerOrReadOnly])]
impl NoteDetail {
    #[async_action]
    async fn retrieve(&self, ctx: &Context<'_>) -> ActionResult {
        let pk: i64 = ctx.kwarg("pk")?;
        Ok(reply!({"pk": pk}, 200))
    }
}

/// Nested: `notes/` has routes of its own.
#[derive(Default)]
pub struct Notes;

#[action_handler(permissions = [], routes = [path("<int:pk>/", NoteDetail)])]
impl Notes {
    #[async_action]
    async fn list(&self) -> ActionResult<Vec<i64>> {
        Ok((vec![1, 2, 3], 200))
    }
}

#[derive(Deserialize)]
pub struct NewNote {
    pub title: String,
    pub tags: Vec<String>,
}

#[derive(Default)]
pub struct Api;

#[consumer(
    permissions = [AllowAny],
    routes = [
        re_path(r"items/(?P<pk>[-\w]+)/$", Items),
        path("composed/", Composed),
        path("notes/", Notes),
    ],
)]
impl Api {
    #[async_action]
    async fn echo(&self, data: Option<Value>) -> ActionResult {
        Ok((data.unwrap_or(Value::Null), 200))
    }

    #[async_action(name = "sync")]
    fn sync_echo(&self, pk: i64, note: Option<String>) -> ActionResult {
        Ok(reply!({"pk": pk, "note": note, "sync": true}, 200))
    }

    #[async_action]
    async fn create(&self, ctx: &Context<'_>, note: NewNote) -> ActionResult {
        let user = ctx.user().map(|u| u.username());
        Ok(reply!({"title": note.title, "tags": note.tags, "by": user}, 201))
    }

    #[async_action]
    async fn r#type(&self, r#loop: u8) -> Result<(Value, u16), std::io::Error> {
        Ok((json!(r#loop), 200))
    }
}

#[derive(Default)]
pub struct Room;

#[consumer(permissions = [IsAuthenticatedStrictly], group = "room_id")]
impl Room {
    #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
    async fn say(&self, ctx: &Context<'_>, text: String) -> ActionResult {
        Ok(reply!({"text": text, "user": ctx.user().map(|u| u.username())}, 200))
    }

    #[async_action(mode = "broadcast", send_response_in_broadcast = false)]
    async fn announce(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }

    #[async_action(mode = "response")]
    async fn ping(&self) -> ActionResult {
        Ok(reply!("pong", 200))
    }

    #[async_action(mode = "none")]
    async fn quiet(&self) -> ActionResult {
        Ok((Value::Null, 200))
    }

    #[event("chat.message")]
    async fn chat_message(&self, ctx: &Context<'_>, event: &Event) {
        ctx.forward(event);
    }

    #[event("room.closed")]
    fn room_closed(&self) -> Result<(), Error> {
        Ok(())
    }

    #[on_connect]
    async fn connected(&self, ctx: &Context<'_>) -> Result<(), Error> {
        ctx.send_json(&json!({"hello": ctx.channel_name()}))
    }

    #[on_disconnect]
    async fn disconnected(&self) {}
}

async fn lookup(token: String) -> Option<Arc<dyn User>> {
    (token == "alice-token").then(|| Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>)
}

#[allow(dead_code)]
async fn test_it() -> Result<(), Box<dyn std::error::Error>> {
    let mut c = Communicator::builder::<Room>(App::default())
        .user(SimpleUser::new(1, "alice"))
        .url_kwarg("room_id", "lobby")
        .connect()
        .await?;
    c.send_json(&json!({"action": "ping"})).await;
    let _ = c.receive_json().await?;
    Ok(())
}

fn main() {
    let app = App::builder().authenticator(TokenAuth::new(lookup)).build();
    let _router: Router = Router::new()
        .route("/ws/", get(websocket::<Api>))
        .route("/ws/rooms/{room_id}/", get(websocket::<Room>))
        .with_state(app);
}
