//! Erasing a person's own space at the relay (`docs/protocol.md`, section 23): the device asks, the
//! relay checks in its own membership log that the device is an admin and every member a device of
//! the same person, and deletes every envelope of the space but its membership statements.
//!
//! Kept apart because it is the only rule that deletes what members wrote, and so the one to read
//! on its own: shared spaces are never erased here.

use std::collections::HashSet;

use sebaya_proto::sync::RefusedSpace;
use sebaya_proto::{SpaceId, reason};

use crate::access::Access;
use crate::store::RelayStore;

use super::{ExchangeError, SyncInput};

/// Erases the spaces the device asks to erase where it is an admin; returns the spaces now erased
/// (this request or before) and those refused.
pub(super) fn erase(
    store: &dyn RelayStore,
    access: &Access,
    input: &SyncInput,
) -> Result<(Vec<serde_bytes::ByteBuf>, Vec<RefusedSpace>), ExchangeError> {
    let mut erased = Vec::new();
    let mut refused = Vec::new();
    if input.erase.is_empty() {
        return Ok((erased, refused));
    }
    let already: HashSet<SpaceId> = store.erased(&input.erase)?.into_iter().collect();
    let mut writer = access.writer(store, &input.erase)?;
    let mut seen = HashSet::new();
    for space in &input.erase {
        if !seen.insert(*space) {
            continue;
        }
        if already.contains(space) {
            erased.push(serde_bytes::ByteBuf::from(space.0.to_vec()));
            continue;
        }
        let log = writer.log(store, *space)?;
        if !log.has_genesis() {
            refused.push(RefusedSpace::new(*space, reason::UNKNOWN_SPACE));
            continue;
        }
        // Erasing is for a person's own spaces (a journal): the device must be an admin, and every
        // current member a device of its person. Shared spaces are never erased here: no admin
        // destroys what others wrote.
        let state = log.state();
        let person = state.persons.get(&input.device);
        let own = person.is_some()
            && state.role(&input.device) == Some(sebaya_proto::membership::Role::Admin)
            && state.members.keys().all(|d| state.persons.get(d) == person);
        if !own {
            refused.push(RefusedSpace::new(*space, reason::NOT_AUTHORISED));
            continue;
        }
        store.erase_space(space, input.now)?;
        erased.push(serde_bytes::ByteBuf::from(space.0.to_vec()));
    }
    Ok((erased, refused))
}
