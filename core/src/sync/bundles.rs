//! Sync by file (issue 5, bundles; protocol section 24): what a peer lacks, or everything of chosen
//! spaces, written to a signed file that any path can carry; importing verifies the file and every
//! envelope in it before keeping anything.
//!
//! A bundle names, per space, the exporter's vector. The receiver remembers it per exporting device,
//! so its next bundle to that device carries only what the device lacks. Envelopes travel as
//! sealed: a bundle opens nothing for whoever carries it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use sebaya_proto::bundle::{self, BundleBody, BundleSpace};
use sebaya_proto::{DeviceId, Envelope, SpaceId};

use crate::Vault;
use crate::error::{Error, Result};
use crate::space::Space;

const SEEN: &str = "bundle/seen";
/// How many imported bundle ids are remembered (to refuse replays).
const SEEN_MAX: usize = 512;

fn peer_key(device: &DeviceId) -> String {
    format!("bundle/peer/{}", device.to_hex())
}

#[derive(Serialize, Deserialize, Default)]
struct PeerVectors(Vec<(ByteBuf, Vec<(ByteBuf, u64)>)>);

#[derive(Serialize, Deserialize, Default)]
struct Seen(Vec<ByteBuf>);

/// What importing a bundle did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleReport {
    /// The device that made it.
    pub exporter: DeviceId,
    /// Spaces it carried that this device holds.
    pub spaces: u32,
    /// Spaces it carried that this device does not hold (left alone).
    pub other_spaces: u32,
    /// Envelopes newly stored.
    pub stored: u32,
    /// Envelopes already held.
    pub duplicates: u32,
    /// Envelopes whose changes reached the documents.
    pub applied: u32,
    /// Envelopes set aside (content that could not be applied, or an author who may not write).
    pub quarantined: u32,
    /// Envelopes of others' spaces taken to carry on (when this device opted in).
    pub carried: u32,
    /// Envelopes of held spaces whose authors the space's log does not admit (yet): held apart, not
    /// counted as held (`ReceiveReport::held_apart`).
    pub held_apart: u32,
}

fn cbor<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|_| Error::Internal("encode bundle records"))?;
    Ok(out)
}

fn load<T: for<'de> Deserialize<'de> + Default>(store: &crate::store::Store, k: &str) -> Result<T> {
    match store.kv_get(k)? {
        None => Ok(T::default()),
        Some(b) => sebaya_proto::cbor::decode(b.as_slice(), 256)
            .map_err(|_| Error::Corrupt("bundle records")),
    }
}

fn bad<E>(_: E) -> Error {
    Error::BadBundle("the file is damaged, truncated or altered")
}

impl Vault {
    /// Writes a bundle of `spaces` (all spaces this device holds when empty). For `peer`, a device
    /// whose bundle this device imported before, only what that device lacked then; otherwise
    /// everything held. Membership statements always travel (they are small, and a receiver needs
    /// them to judge the rest). A safeguarding space (kind 8) travels only to a `peer` its log
    /// names as a member: never in a bundle for an unknown peer (`NotAllowed` when named in
    /// `spaces`).
    pub fn export_bundle(
        &mut self,
        spaces: &[SpaceId],
        peer: Option<&DeviceId>,
    ) -> Result<Vec<u8>> {
        let known: BTreeMap<SpaceId, BTreeMap<DeviceId, u64>> = match peer {
            None => BTreeMap::new(),
            Some(p) => {
                let v: PeerVectors = load(&self.store, &peer_key(p))?;
                v.0.iter()
                    .filter_map(|(s, vec)| {
                        let s = SpaceId::from_slice(s).ok()?;
                        let vec = vec
                            .iter()
                            .filter_map(|(a, n)| Some((DeviceId::from_slice(a).ok()?, *n)))
                            .collect();
                        Some((s, vec))
                    })
                    .collect()
            }
        };
        self.before_sending();
        self.seal_pending()?;
        let store = &self.store;
        let mut out = Vec::new();
        let all: Vec<&Space> = self.journal.iter().chain(self.shared.values()).collect();
        for s in all {
            if !spaces.is_empty() && !spaces.contains(&s.id) {
                continue;
            }
            // A safeguarding space goes only to a device the log says is its member, never to an
            // unknown peer: a supporter's bundle may be handed to a participant, who would keep
            // (or carry on) its envelopes (issue 14, item 14; review M1).
            if s.kind == crate::space::SpaceKind::Safeguarding
                && !peer.is_some_and(|p| s.membership().is_member(p))
            {
                if spaces.contains(&s.id) {
                    return Err(Error::NotAllowed(
                        "a safeguarding space goes only to its members",
                    ));
                }
                continue;
            }
            let floor = known.get(&s.id).cloned().unwrap_or_default();
            let mut envelopes = s.membership_envelopes(store)?;
            envelopes.extend(s.held_above(store, &floor)?);
            out.push(BundleSpace {
                space: ByteBuf::from(s.id.0.to_vec()),
                vector: s
                    .vector
                    .contiguous()
                    .iter()
                    .map(|(a, n)| (ByteBuf::from(a.0.to_vec()), *n))
                    .collect(),
                envelopes: envelopes.into_iter().map(ByteBuf::from).collect(),
            });
        }
        if !spaces.is_empty() && out.len() != spaces.len() {
            return Err(Error::NotFound("space"));
        }
        // What this device carries for others travels on in every full bundle (never readable here).
        if spaces.is_empty() {
            let mut by_space: BTreeMap<[u8; 16], Vec<ByteBuf>> = BTreeMap::new();
            for e in self.carried()? {
                if let Ok(env) = Envelope::parse(&e) {
                    by_space
                        .entry(env.space().0)
                        .or_default()
                        .push(ByteBuf::from(e));
                }
            }
            for (space, envelopes) in by_space {
                out.push(BundleSpace {
                    space: ByteBuf::from(space.to_vec()),
                    vector: Vec::new(),
                    envelopes,
                });
            }
        }
        let body = BundleBody {
            v: bundle::BUNDLE_VERSION,
            exporter: ByteBuf::from(self.identity.device.0.to_vec()),
            created: u64::try_from(crate::store::clock::now_ms() / 1000).unwrap_or(0),
            spaces: out,
        };
        bundle::seal(&body, &self.identity.signing_key()?).map_err(Error::Proto)
    }

    /// Imports a bundle: refused whole, with nothing kept, when the file is damaged or altered
    /// (`BadBundle`), was imported before (`BundleReplayed`), or neither its exporter nor any author
    /// of its envelopes belongs to a space it carries that this device holds (`StrangerBundle`;
    /// unless this device opted in to carrying, when others' spaces are taken to carry on); every envelope is
    /// verified (signature, space) before any is stored. Then each envelope is received as from the
    /// relay: its author's membership and role are judged as always. Spaces this device does not
    /// hold are left alone.
    pub fn import_bundle(&mut self, bytes: &[u8]) -> Result<BundleReport> {
        let body = bundle::open(bytes).map_err(bad)?;
        let id = bundle::id(bytes);
        let mut seen: Seen = load(&self.store, SEEN)?;
        if seen.0.iter().any(|s| s.as_slice() == id) {
            return Err(Error::BundleReplayed);
        }
        let exporter = DeviceId::from_slice(&body.exporter).map_err(bad)?;
        let mut report = BundleReport {
            exporter,
            spaces: 0,
            other_spaces: 0,
            stored: 0,
            duplicates: 0,
            applied: 0,
            quarantined: 0,
            carried: 0,
            held_apart: 0,
        };
        // Everything is checked before anything is kept.
        let mut batches: Vec<(SpaceId, Vec<Vec<u8>>)> = Vec::new();
        let mut foreign: Vec<Vec<u8>> = Vec::new();
        let mut known_exporter = false;
        let carrying = self.carry_quota()? > 0;
        for part in &body.spaces {
            let space = SpaceId::from_slice(&part.space).map_err(bad)?;
            let held = self
                .journal
                .iter()
                .chain(self.shared.values())
                .find(|s| s.id == space);
            let Some(held) = held else {
                report.other_spaces += 1;
                // Verified now, carried below if this device opted in to carrying.
                for e in &part.envelopes {
                    let env = Envelope::parse(e)
                        .and_then(|env| env.verify().map(|_| env))
                        .map_err(|_| Error::BadBundle("an envelope in it does not verify"))?;
                    if env.space() != space {
                        return Err(Error::BadBundle("an envelope is filed under another space"));
                    }
                    foreign.push(e.to_vec());
                }
                continue;
            };
            let m = held.membership();
            known_exporter |= m.is_member(&exporter) || m.removed.contains_key(&exporter);
            let mut envs = Vec::with_capacity(part.envelopes.len());
            for e in &part.envelopes {
                let env = Envelope::parse(e)
                    .and_then(|env| env.verify().map(|_| env))
                    .map_err(|_| Error::BadBundle("an envelope in it does not verify"))?;
                if env.space() != space {
                    return Err(Error::BadBundle("an envelope is filed under another space"));
                }
                // A bundle carried on by someone else is as good as its authors.
                if let Ok(h) = env.header() {
                    known_exporter |= m.is_member(&h.author) || m.removed.contains_key(&h.author);
                }
                envs.push(e.to_vec());
            }
            batches.push((space, envs));
        }
        // A device that opted in to carrying takes bundles for others' spaces too; otherwise a bundle
        // from someone it shares nothing with is refused.
        let for_carrying = carrying && !foreign.is_empty();
        if !for_carrying && (batches.is_empty() || !known_exporter) {
            return Err(Error::StrangerBundle);
        }
        if !known_exporter {
            batches.clear();
        }
        let identity = &self.identity;
        let store = &self.store;
        let mut spaces: Vec<&mut Space> = self
            .journal
            .iter_mut()
            .chain(self.shared.values_mut())
            .collect();
        for (space, envs) in &batches {
            let Some(s) = spaces.iter_mut().find(|s| s.id == *space) else {
                continue;
            };
            // Verified whole: every statement it carries is judged (a file is not sent again).
            let r = s.receive_all(store, identity, envs)?;
            report.spaces += 1;
            report.stored += r.stored;
            report.duplicates += r.duplicates;
            report.applied += r.applied;
            report.quarantined += r.quarantined + r.refused;
            report.held_apart += r.held_apart;
        }
        report.carried = if carrying { self.carry(&foreign)? } else { 0 };
        let synced: Vec<SpaceId> = batches.iter().map(|(s, _)| *s).collect();
        self.note_synced(&synced, "bundle")?;
        // Remember what the exporter holds, for the next bundle to it, and that this one came: of
        // the spaces held here only (a space this device does not hold is not its business).
        let vectors = PeerVectors(
            body.spaces
                .iter()
                .filter(|p| {
                    SpaceId::from_slice(&p.space)
                        .is_ok_and(|s| batches.iter().any(|(held, _)| *held == s))
                })
                .map(|p| (p.space.clone(), p.vector.clone()))
                .collect(),
        );
        self.store.kv_put(&peer_key(&exporter), &cbor(&vectors)?)?;
        seen.0.push(ByteBuf::from(id.to_vec()));
        if seen.0.len() > SEEN_MAX {
            let extra = seen.0.len() - SEEN_MAX;
            seen.0.drain(..extra);
        }
        self.store.kv_put(SEEN, &cbor(&seen)?)?;
        // A space's document may have come (a safeguarding space just joined in person): what
        // waited for it is written now, and goes with the next bundle or sync.
        self.before_sending();
        Ok(report)
    }
}
