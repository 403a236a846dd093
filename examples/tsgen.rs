//! Writes the reference app's TypeScript client (`rest_channels::typescript`)
//! from its endpoints: the same consumers `examples/reference.rs` serves.
//!
//!     cargo run --example tsgen -- [OUT]   (default: clients/typescript/src/reference.ts)
//!
//! `-` as OUT writes to stdout. The output is deterministic; it is
//! committed, and `clients/typescript/check.sh` fails when it is stale.

#[path = "reference.rs"]
#[allow(dead_code)]
mod reference;

use rest_channels::typescript::Client;

/// The reference app's client module.
pub fn client() -> String {
    Client::builder()
        .endpoint::<reference::Api>("/ws/")
        .endpoint::<reference::Strict>("/ws/strict/")
        .endpoint::<reference::Room>("/ws/rooms/{group_id}/")
        .build()
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "clients/typescript/src/reference.ts".into());
    let ts = client();
    if out == "-" {
        print!("{ts}");
    } else if let Err(e) = std::fs::write(&out, ts) {
        eprintln!("tsgen: cannot write {out}: {e}");
        std::process::exit(1);
    }
}
