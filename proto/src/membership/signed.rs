//! A statement with its author's signature: the only form in which statements are held or travel, and
//! its envelope of kind 3 (protocol section 15.4).

use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};

use crate::envelope::{Envelope, EpochId, HeaderV1, Kind, SpaceId};
use crate::error::ProtoError;

use super::*;

pub(super) fn signing_input(statement_bytes: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(MEMBERSHIP_SIGNATURE_LABEL.len() + statement_bytes.len());
    msg.extend_from_slice(MEMBERSHIP_SIGNATURE_LABEL);
    msg.extend_from_slice(statement_bytes);
    msg
}

/// A statement with its author's signature. Every value of this type was checked: it can only be made
/// by signing ([`Statement::sign`]) or by parsing bytes whose structure, encoding and signature verify.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedStatement {
    statement: Statement,
    statement_bytes: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
    id: StatementId,
}

impl std::fmt::Debug for SignedStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedStatement")
            .field("id", &self.id)
            .field("statement", &self.statement)
            .finish()
    }
}

impl SignedStatement {
    pub(super) fn assemble(
        statement: Statement,
        statement_bytes: Vec<u8>,
        signature: [u8; SIGNATURE_LEN],
    ) -> SignedStatement {
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        h.update(&statement_bytes);
        h.update(&signature);
        let mut id = [0u8; 32];
        id.copy_from_slice(h.finish().as_ref());
        SignedStatement {
            statement,
            statement_bytes,
            signature,
            id: StatementId(id),
        }
    }

    /// Parses statement bytes and their signature: decodes defensively ([`Statement::decode`]) and
    /// verifies the Ed25519 signature by the statement's author over
    /// `"sebaya/v1/membership" ‖ statement_bytes`.
    pub fn from_parts(
        statement_bytes: &[u8],
        signature: [u8; SIGNATURE_LEN],
    ) -> Result<SignedStatement, ProtoError> {
        let statement = Statement::decode(statement_bytes)?;
        let s = SignedStatement::assemble(statement, statement_bytes.to_vec(), signature);
        s.verify()?;
        Ok(s)
    }

    /// Parses the wire form `statement bytes ‖ 64-byte signature` (the payload of a membership
    /// envelope); checks as [`SignedStatement::from_parts`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedStatement, ProtoError> {
        if bytes.len() > MAX_STATEMENT_LEN + SIGNATURE_LEN {
            return Err(ProtoError::TooLarge {
                what: "signed membership statement",
                len: bytes.len() as u64,
                max: (MAX_STATEMENT_LEN + SIGNATURE_LEN) as u64,
            });
        }
        if bytes.len() <= SIGNATURE_LEN {
            return Err(ProtoError::Truncated {
                needed: SIGNATURE_LEN + 1,
                had: bytes.len(),
            });
        }
        let (body, sig) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        SignedStatement::from_parts(body, signature)
    }

    /// The wire form: statement bytes ‖ signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.statement_bytes.len() + SIGNATURE_LEN);
        out.extend_from_slice(&self.statement_bytes);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Verifies structure and signature again (they were verified when this value was made).
    pub fn verify(&self) -> Result<(), ProtoError> {
        self.statement.check()?;
        UnparsedPublicKey::new(&ED25519, &self.statement.author.0)
            .verify(&signing_input(&self.statement_bytes), &self.signature)
            .map_err(|_| ProtoError::BadSignature)
    }

    /// The decoded statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The exact signed bytes.
    pub fn statement_bytes(&self) -> &[u8] {
        &self.statement_bytes
    }

    /// The author's Ed25519 signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// SHA-256(statement bytes ‖ signature): the name other statements use as a parent.
    pub fn id(&self) -> StatementId {
        self.id
    }

    /// Carries the statement in a v1 envelope of kind [`Kind::Membership`]: payload = the wire form,
    /// epoch id = 32 zero bytes (membership is not sealed under any epoch), nonce salt = 4 zero bytes
    /// (nothing is encrypted), envelope signed by the same author (`signer`). `space` is the space the
    /// caller means to write to; it must be the statement's own. `seq` is the author's next sequence
    /// number in that space, shared with its other envelopes there.
    pub fn to_envelope(
        &self,
        space: SpaceId,
        seq: u64,
        signer: &Ed25519KeyPair,
    ) -> Result<Envelope, ProtoError> {
        if space != self.statement.space {
            return Err(ProtoError::Malformed("statement is for another space"));
        }
        let header = HeaderV1 {
            kind: Kind::Membership,
            space,
            epoch: EpochId([0u8; 32]),
            author: self.statement.author,
            seq,
        };
        // The key is unused for a kind that is not sealed.
        Envelope::seal_v1(header, &[0u8; 32], [0u8; 4], &self.to_bytes(), signer)
    }

    /// Reads a statement out of a membership envelope: v1, kind membership, zero epoch id, envelope
    /// signature valid, statement valid, and the envelope's author and space equal the statement's (so
    /// nobody can pass off another device's statement as their own envelope, or move it to another
    /// space).
    pub fn from_envelope(envelope: &Envelope) -> Result<SignedStatement, ProtoError> {
        envelope.require_v1()?;
        let header = envelope.header()?;
        if header.kind != Kind::Membership {
            return Err(ProtoError::Malformed("not a membership envelope"));
        }
        if header.epoch.0 != [0u8; 32] {
            return Err(ProtoError::Malformed(
                "a membership envelope's epoch id is zero",
            ));
        }
        envelope.verify()?;
        let s = SignedStatement::from_bytes(envelope.payload()?)?;
        if s.statement.author != header.author {
            return Err(ProtoError::Malformed(
                "envelope author is not the statement's author",
            ));
        }
        if s.statement.space != header.space {
            return Err(ProtoError::Malformed(
                "envelope space is not the statement's space",
            ));
        }
        // A leave's or an end's cutoff is the number of the envelope that carries it (section
        // 15.11): its author cannot keep numbers below its cutoff for later, nor name itself a
        // cutoff past it to write on alone.
        match s.statement.op {
            super::Op::Leave { last_seq, .. } if last_seq != header.seq => {
                return Err(ProtoError::Malformed(
                    "a leave's cutoff is its envelope's number",
                ));
            }
            super::Op::End { last_seq, .. } if last_seq != header.seq => {
                return Err(ProtoError::Malformed(
                    "an end's cutoff is its envelope's number",
                ));
            }
            _ => {}
        }
        Ok(s)
    }
}
