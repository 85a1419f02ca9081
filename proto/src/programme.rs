//! Programme roles: who is a participant, a peer supporter or a coordinator of a programme (a school
//! counselling programme, an NGO's service), proven by signed grants that chain to the programme's key.
//!
//! A programme is named by the Ed25519 public key of its **programme root key**, held by its
//! coordinators. A [`RoleGrant`] gives a person (their [`PersonId`]) a [`ProgrammeRole`] for a bounded
//! time. It is signed either by the programme root key, or by a coordinator's person root key, in which
//! case it names (`chain`) the grant that made its issuer a coordinator. A [`RoleRevocation`] withdraws
//! a grant. Anyone holding the statements (a peer, a relay, a carrier) can check them without a secret;
//! [`ProgrammeRegistry`] decides, from the set of statements it holds and a time, who holds which role.
//!
//! Wire form of both statements: `body ‖ signature`, where `body` is a canonical CBOR map (exactly the
//! bytes the reference encoder writes; anything else is refused, so a statement has one encoding) and
//! `signature` is the 64-byte Ed25519 signature by the issuer over `label ‖ body`. The labels are
//! [`crate::PROGRAMME_GRANT_SIGNATURE_LABEL`] and [`crate::PROGRAMME_REVOKE_SIGNATURE_LABEL`].
//! Layout, the validity rule, limits and test vectors: `docs/protocol.md`, section 19. Everything here
//! is pure computation (no I/O), safe on any thread.
//!
//! Where each part lives: `programme/statements.rs` holds the two statements, their canonical
//! bodies and their signed forms; `programme/registry.rs` keeps the statements a device or relay
//! holds and answers who holds which role; `programme/evaluate.rs` is the validity rule of section
//! 19.5 it answers with. This file holds the limits and [`ProgrammeRole`].
//!
//! [`PersonId`]: crate::identity::PersonId

use serde::{Deserialize, Serialize};

mod evaluate;
mod registry;
mod statements;
#[cfg(test)]
mod tests;

pub use registry::ProgrammeRegistry;
pub use statements::{RoleGrant, RoleRevocation, SignedRoleGrant, SignedRoleRevocation};

/// Version of the grant and revocation bodies this build writes and accepts.
pub const PROGRAMME_V1: u8 = 1;
/// Largest signed grant or revocation a reader looks at; checked before anything is decoded. A v1
/// grant is at most 287 bytes, a v1 revocation at most 207; the slack leaves room for a later version
/// to be recognised.
pub const MAX_PROGRAMME_STATEMENT_LEN: usize = 1024;
/// Longest a grant may run: `expires − issued` of at most 731 days, two years even across a leap
/// day. Bounded so a lost or compromised key's grants die on their own, and coordinators re-certify.
pub const MAX_GRANT_LIFETIME: u64 = 731 * 86_400;
/// How far in the future a grant's `issued` may be and the grant still count, in seconds: the clocks
/// of cheap phones drift, and a grant made a minute "early" by the issuer's clock must not be lost.
pub const CLOCK_SKEW: u64 = 300;
/// Most grants in one chain, from the person's grant to the one the programme key signed, inclusive
/// (so at most three coordinators between the programme key and a person). Longer chains never
/// count: it bounds what a device presents and what a receiver walks.
pub const MAX_CHAIN_LEN: usize = 4;
/// Most grants one registry holds; more is `TooLarge`. A programme of a few hundred people renewing
/// every year stays far below it.
pub const MAX_GRANTS: usize = 10_000;
/// Most revocations one registry holds; more is `TooLarge`.
pub const MAX_REVOCATIONS: usize = 10_000;

/// A grant's or revocation's id: SHA-256 of its whole signed bytes (body and signature).
pub type StatementHash = [u8; 32];

/// A role in a programme. Ordered: `Participant < PeerSupporter < Coordinator`, so a person holding
/// several grants has the highest of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeRole {
    /// Takes part in the programme: journal, check-ins, groups, a pairing with a supporter.
    Participant,
    /// Trained and certified: facilitates groups, accompanies participants, writes case notes.
    PeerSupporter,
    /// Certifies supporters, supervises, receives referrals; may issue and revoke grants.
    Coordinator,
}

impl ProgrammeRole {
    /// The text the wire uses (`participant`, `peer_supporter`, `coordinator`), also for logs and
    /// bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgrammeRole::Participant => "participant",
            ProgrammeRole::PeerSupporter => "peer_supporter",
            ProgrammeRole::Coordinator => "coordinator",
        }
    }
}
