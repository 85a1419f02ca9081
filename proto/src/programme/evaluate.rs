//! The validity rule of `docs/protocol.md`, section 19.5, over the statements a registry holds: a
//! grant counts at a time when every grant of its chain up to the programme key is held, current
//! and not revoked, within [`MAX_CHAIN_LEN`] grants; a revocation counts when the programme key or
//! a coordinator signed it, coordinators being judged first with only the programme key's
//! revocations (so two coordinators revoking each other does not make the rule circular).
//!
//! Kept apart from the registry's bookkeeping so the rule can be read, and checked against the
//! protocol text, on its own.

use std::collections::BTreeMap;

use crate::identity::PersonId;

use super::{MAX_CHAIN_LEN, ProgrammeRegistry, ProgrammeRole, StatementHash};

/// Which revocations count while walking a chain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Only the programme key's: used to decide who is a coordinator whose revocations count.
    ProgrammeKeyOnly,
    /// Every counting revocation: the final answer.
    Final,
}

/// One evaluation of the rule at one time, caching who is a coordinator for the first stage.
pub(super) struct Evaluation<'a> {
    reg: &'a ProgrammeRegistry,
    now: u64,
    first_stage_coordinators: BTreeMap<[u8; 32], bool>,
}

impl<'a> Evaluation<'a> {
    pub(super) fn new(reg: &'a ProgrammeRegistry, now: u64) -> Self {
        Evaluation {
            reg,
            now,
            first_stage_coordinators: BTreeMap::new(),
        }
    }

    /// Whether a counting revocation (at this stage) names the grant.
    fn revoked(&mut self, id: &StatementHash, stage: Stage) -> bool {
        let Some(issuers) = self.reg.revokers.get(id) else {
            return false;
        };
        if issuers.contains(&self.reg.programme) {
            return true;
        }
        match stage {
            Stage::ProgrammeKeyOnly => false,
            Stage::Final => issuers
                .iter()
                .any(|issuer| self.is_first_stage_coordinator(issuer)),
        }
    }

    /// Whether `person` holds a coordinator grant valid at `now` when only the programme key's
    /// revocations count: who may revoke. (A stage of its own, so that two coordinators revoking
    /// each other does not make the rule circular: both revocations count.)
    fn is_first_stage_coordinator(&mut self, person: &[u8; 32]) -> bool {
        if let Some(known) = self.first_stage_coordinators.get(person) {
            return *known;
        }
        let reg = self.reg;
        let is = reg.by_person.get(&PersonId(*person)).is_some_and(|ids| {
            ids.iter().any(|id| {
                reg.grants
                    .get(id)
                    .is_some_and(|h| h.grant.role == ProgrammeRole::Coordinator)
                    && self.depth(id, Stage::ProgrammeKeyOnly).is_some()
            })
        });
        self.first_stage_coordinators.insert(*person, is);
        is
    }

    /// The number of grants from `id` to the programme key, inclusive, if the grant is valid at `now`
    /// at this stage: every grant on the way is held, current, not revoked, each names as `chain` a
    /// coordinator grant of its own issuer, and the last is signed by the programme key, within
    /// [`MAX_CHAIN_LEN`] grants. The bound also ends any cycle.
    pub(super) fn depth(&mut self, id: &StatementHash, stage: Stage) -> Option<usize> {
        let reg = self.reg;
        let mut current = *id;
        let mut issuer_below: Option<[u8; 32]> = None;
        for depth in 1..=MAX_CHAIN_LEN {
            let held = reg.grants.get(&current)?;
            let g = &held.grant;
            if let Some(issuer) = issuer_below {
                if g.role != ProgrammeRole::Coordinator || g.person.0 != issuer {
                    return None;
                }
            }
            if !g.is_current_at(self.now) || self.revoked(&current, stage) {
                return None;
            }
            match g.chain {
                // `from_body` guarantees: no chain exactly when the programme key signed.
                None => return (g.issuer == reg.programme).then_some(depth),
                Some(next) => {
                    issuer_below = Some(g.issuer);
                    current = next;
                }
            }
        }
        None
    }

    /// The person's best valid grant and its role: highest role, then shortest chain, then latest
    /// expiry, then smallest id.
    pub(super) fn best(&mut self, person: &PersonId) -> Option<(StatementHash, ProgrammeRole)> {
        let reg = self.reg;
        let ids = reg.by_person.get(person)?;
        let mut best: Option<(
            ProgrammeRole,
            std::cmp::Reverse<usize>,
            u64,
            std::cmp::Reverse<StatementHash>,
        )> = None;
        for id in ids {
            let Some(held) = reg.grants.get(id) else {
                continue;
            };
            let Some(depth) = self.depth(id, Stage::Final) else {
                continue;
            };
            let key = (
                held.grant.role,
                std::cmp::Reverse(depth),
                held.grant.expires,
                std::cmp::Reverse(*id),
            );
            if best.as_ref().is_none_or(|b| key > *b) {
                best = Some(key);
            }
        }
        best.map(|(role, _, _, std::cmp::Reverse(id))| (id, role))
    }
}
