//! Erasing a person's own space at the relay (`docs/protocol.md`, section 23): the device asks, the
//! relay checks in its own membership log that the device is an admin and every member a device of
//! the same person, and deletes every envelope of the space but its membership statements.
//!
//! A shared space (a group, a pairing, a care record) is erased on a signed erasure statement
//! (section 23.2): kept from any current member of the space, handed to its members, who judge it
//! themselves; the ciphertext goes when the statement's author is an admin of the space.
//!
//! Kept apart because it is the only rule that deletes what members wrote, and so the one to read
//! on its own.

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

/// Takes the signed erasure statements of shared spaces the device sends (section 23.2): each is
/// checked (its signature, its author the requesting device, a current member of the space in the
/// relay's log) and kept; when its author is an admin of the space, the space is erased. Returns the
/// spaces erased now (by this request or before) and those refused, with why: `malformed` (not a
/// statement, or a forged or altered one), `not-authorised` (signed by another device, or by no
/// current member), `unknown-space`.
pub(super) fn post_erasures(
    store: &dyn RelayStore,
    access: &Access,
    input: &SyncInput,
) -> Result<(Vec<serde_bytes::ByteBuf>, Vec<RefusedSpace>), ExchangeError> {
    let mut erased = Vec::new();
    let mut refused = Vec::new();
    if input.erasures.is_empty() {
        return Ok((erased, refused));
    }
    let mut checked = Vec::new();
    for raw in &input.erasures {
        match sebaya_proto::erasure::Erasure::verify(raw) {
            Ok(e) if e.author != input.device => {
                refused.push(RefusedSpace::new(e.space, reason::NOT_AUTHORISED));
            }
            Ok(e) => checked.push((e, raw)),
            // Nothing in it can be trusted, not even the space it names: answered by nothing.
            Err(_) => {}
        }
    }
    let spaces: Vec<SpaceId> = checked.iter().map(|(e, _)| e.space).collect();
    let already: HashSet<SpaceId> = store.erased(&spaces)?.into_iter().collect();
    let mut writer = access.writer(store, &spaces)?;
    let mut seen = HashSet::new();
    for (e, raw) in checked {
        if !seen.insert(e.space) {
            continue;
        }
        let log = writer.log(store, e.space)?;
        if !log.has_genesis() {
            refused.push(RefusedSpace::new(e.space, reason::UNKNOWN_SPACE));
            continue;
        }
        let state = log.state();
        if !state.is_member(&input.device) {
            refused.push(RefusedSpace::new(e.space, reason::NOT_AUTHORISED));
            continue;
        }
        store.put_erasure(&e.space, &e.author, raw)?;
        if already.contains(&e.space) {
            erased.push(serde_bytes::ByteBuf::from(e.space.0.to_vec()));
        } else if state.role(&input.device) == Some(sebaya_proto::membership::Role::Admin) {
            store.erase_space(&e.space, input.now)?;
            erased.push(serde_bytes::ByteBuf::from(e.space.0.to_vec()));
        }
    }
    Ok((erased, refused))
}
