// A detached action runs beside the connection's other messages, on the
// connection's task: a blocking `fn` would hold them up.
use rest_channels::prelude::*;

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action(detached)]
    fn wait(&self, ms: u64) -> ActionResult {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        Ok(reply!({"waited": ms}, 200))
    }
}

fn main() {}
