// `crate = "..."` lets the macros reach the runtime through a re-export, and the app
// runs: an action answers through the in-process communicator.
mod framework {
    pub use rest_channels::*;
}

use framework::prelude::*;
use framework::testing::Communicator;
use serde_json::json;

#[derive(Default)]
pub struct Sub;

#[framework::action_handler(crate = "crate::framework", permissions = [!IsAdminUser])]
impl Sub {
    #[async_action]
    async fn touch(&self, ctx: &Context<'_>) -> ActionResult {
        let pk: i64 = ctx.kwarg("pk")?;
        Ok(reply!({"pk": pk}, 200))
    }
}

#[derive(Default)]
pub struct Api;

#[framework::consumer(crate = "crate::framework", routes = [path("sub/<int:pk>/", Sub)])]
impl Api {
    #[async_action]
    fn add(&self, a: i64, b: i64) -> ActionResult<i64> {
        Ok((a + b, 200))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut c = Communicator::builder::<Api>(App::default())
        .connect()
        .await
        .unwrap();
    c.send_json(&json!({"action": "add", "a": 2, "b": 3})).await;
    assert_eq!(c.receive_json().await.unwrap()["data"], 5);
    c.send_json(&json!({"action": "touch", "route": "sub/7/"}))
        .await;
    let reply = c.receive_json().await.unwrap();
    assert_eq!(reply["data"]["pk"], 7, "{reply}");
}
