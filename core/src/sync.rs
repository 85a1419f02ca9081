//! Getting sealed envelopes from one device to another, by every path: through a relay
//! (`relay.rs`), face to face (`peer.rs`), by file (`bundles.rs`), and carried for others
//! (`carry.rs`); what to sync when on a metered link (`policy.rs`); what the vault remembers of each
//! relay (`known.rs`); stopping a sync from outside (`stop.rs`); waiting at the relay for a change
//! and syncing what changed (`live.rs`); registering for wake-ups (`push.rs`); and telling an app
//! that a space changed (`watch.rs`);
//! envelopes by hand (`api.rs`). What a space seals and applies is `space/`; this folder moves it.

mod admission;
mod api;
pub mod bundles;
pub mod carry;
mod known;
pub mod live;
pub mod peer;
pub mod policy;
pub mod push;
pub mod relay;
mod signed;
pub mod stop;
pub mod watch;
