//! Carrying (issue 5): a device may hold envelopes of spaces it cannot read and hand them on — to
//! the relay at its next sync, or to another device in a bundle. A supporter's phone that travels
//! from a village without signal to a town with some carries its participants' updates this way.
//!
//! Opt-in, with a quota (off by default). A carried envelope stays sealed: the carrier learns its
//! space id, author id, size and time of arrival, nothing else. The relay and every receiver accept
//! it by its author's signature and the space's membership, never by the carrier's word. What the
//! relay has answered for (accepted or refused) is dropped; what it never saw is kept until then.
//!
//! Stored as one sealed list in the vault's key-value table: fine for the quotas a phone can spare
//! (at most [`MAX_CARRY_QUOTA`]).

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use sebaya_proto::{Envelope, SpaceId};

use crate::Vault;
use crate::error::{Error, Result};

const QUOTA: &str = "carry/quota";
const CARRIED: &str = "carry/envelopes";
/// Largest quota a device may set, in bytes.
pub const MAX_CARRY_QUOTA: u64 = 16 * 1024 * 1024;

#[derive(Serialize, Deserialize, Default)]
struct Carried(Vec<ByteBuf>);

/// What this device carries for others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarryStatus {
    /// The quota, bytes (0: carrying is off).
    pub quota: u64,
    /// Bytes carried now.
    pub used: u64,
    /// Envelopes carried now.
    pub envelopes: u32,
    /// Distinct spaces they belong to.
    pub spaces: u32,
}

impl Vault {
    fn carried_list(&self) -> Result<Carried> {
        match self.store.kv_get(CARRIED)? {
            None => Ok(Carried::default()),
            Some(b) => {
                ciborium::from_reader(b.as_slice()).map_err(|_| Error::Corrupt("carried envelopes"))
            }
        }
    }

    fn save_carried(&self, list: &Carried) -> Result<()> {
        let mut out = Vec::new();
        ciborium::into_writer(list, &mut out).map_err(|_| Error::Internal("encode carried"))?;
        self.store.kv_put(CARRIED, &out)
    }

    /// The carrying quota in bytes (0, the default: this device carries nothing for others).
    pub fn carry_quota(&self) -> Result<u64> {
        Ok(match self.store.kv_get(QUOTA)? {
            Some(b) if b.len() == 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b);
                u64::from_be_bytes(a)
            }
            _ => 0,
        })
    }

    /// Opts in to carrying others' envelopes up to `bytes` (at most [`MAX_CARRY_QUOTA`]); 0 turns it
    /// off and drops everything carried. Lowering it drops the newest envelopes above it.
    pub fn set_carry_quota(&mut self, bytes: u64) -> Result<()> {
        if bytes > MAX_CARRY_QUOTA {
            return Err(Error::InvalidInput(format!(
                "a carrying quota is at most {MAX_CARRY_QUOTA} bytes"
            )));
        }
        self.store.kv_put(QUOTA, &bytes.to_be_bytes())?;
        let mut list = self.carried_list()?;
        let mut used = 0u64;
        list.0.retain(|e| {
            used += e.len() as u64;
            used <= bytes
        });
        self.save_carried(&list)
    }

    /// What this device carries now.
    pub fn carry_status(&self) -> Result<CarryStatus> {
        let list = self.carried_list()?;
        let mut spaces: Vec<SpaceId> = list
            .0
            .iter()
            .filter_map(|e| Envelope::parse(e).ok().map(|e| e.space()))
            .collect();
        crate::order::sort_by_key(&mut spaces, |s| s.0);
        spaces.dedup();
        Ok(CarryStatus {
            quota: self.carry_quota()?,
            used: list.0.iter().map(|e| e.len() as u64).sum(),
            envelopes: list.0.len() as u32,
            spaces: spaces.len() as u32,
        })
    }

    /// Takes verified envelopes of spaces this device does not hold, within the quota; returns how
    /// many were taken (duplicates and what does not fit are left out).
    pub(crate) fn carry(&mut self, envelopes: &[Vec<u8>]) -> Result<u32> {
        let quota = self.carry_quota()?;
        if quota == 0 {
            return Ok(0);
        }
        let mut list = self.carried_list()?;
        let mut used: u64 = list.0.iter().map(|e| e.len() as u64).sum();
        let mut n = 0;
        for e in envelopes {
            if list.0.iter().any(|c| c.as_slice() == e.as_slice()) {
                continue;
            }
            if used + e.len() as u64 > quota {
                break;
            }
            used += e.len() as u64;
            list.0.push(ByteBuf::from(e.clone()));
            n += 1;
        }
        self.save_carried(&list)?;
        Ok(n)
    }

    /// Everything carried now, as whole envelopes.
    pub(crate) fn carried(&self) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .carried_list()?
            .0
            .into_iter()
            .map(|b| b.into_vec())
            .collect())
    }

    /// Drops carried envelopes the relay has answered for (by SHA-256 of the envelope).
    pub(crate) fn drop_carried(&mut self, done: &[[u8; 32]]) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut list = self.carried_list()?;
        list.0.retain(|e| !done.contains(&crate::crypto::sha256(e)));
        self.save_carried(&list)
    }
}
