//! The sync exchange, one shape for every path (relay today; peer sessions and bundles later).
//!
//! The client sends, per space, its version vector and the envelopes it believes the other side lacks.
//! The other side stores what it lacks (verifying each envelope on its own) and answers with what the
//! client lacks plus its own vectors after storing, which acknowledge what it now holds. Large answers
//! are paged (`more`). Messages are CBOR with bounded sizes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ADMISSION_KEY_SIGNATURE_LABEL;
use crate::envelope::{DeviceId, SpaceId};
use crate::error::ProtoError;
use crate::identity::PersonId;

/// Version of the exchange messages.
pub const SYNC_VERSION: u8 = 1;
/// Largest request or response body either side accepts.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Most spaces one request may name.
pub const MAX_SPACES: usize = 4096;
/// Most envelopes one message may carry.
pub const MAX_ENVELOPES: usize = 100_000;
/// Most authors one vector may list.
pub const MAX_AUTHORS: usize = 4096;

/// One space's vector on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceVector {
    /// The space.
    #[serde(with = "serde_bytes")]
    pub space: Vec<u8>,
    /// Pairs of (author device id, highest contiguous sequence number).
    pub vector: Vec<AuthorSeq>,
}

/// One vector entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorSeq {
    /// Author device id (32 bytes).
    #[serde(with = "serde_bytes")]
    pub author: Vec<u8>,
    /// Highest contiguous sequence number held.
    pub seq: u64,
}

/// A request from a device: its vectors and what it pushes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Message version ([`SYNC_VERSION`]).
    pub v: u8,
    /// The spaces to sync with the device's vector for each.
    pub spaces: Vec<SpaceVector>,
    /// Envelopes pushed (whole envelope bytes).
    pub envelopes: Vec<serde_bytes::ByteBuf>,
    /// Largest answer the device wants in one page (the relay may send less).
    pub max_response_bytes: u64,
    /// Sealed join requests the device leaves for invites it was given (section 18). Omitted when
    /// empty, like every field added after version 1's first release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_requests: Vec<JoinPost>,
    /// Answers to join requests the device approved, for the relay to hand to each joiner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_answers: Vec<JoinAnswer>,
    /// Answers this device has taken (space and invite, 16 bytes each): the relay forgets them
    /// instead of handing them out again at every sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken_join_answers: Vec<JoinTaken>,
    /// Spaces (16-byte ids) the device, an admin there, asks the relay to erase: every envelope but
    /// the membership statements is deleted and nothing more is taken or served (section 23). Used
    /// when content is deleted by destroying its key: the ciphertext goes too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erase: Vec<serde_bytes::ByteBuf>,
    /// Signed erasure statements (section 23.2) of shared spaces this device erased: the relay keeps
    /// each from a current member of its space, hands it to the space's other members, and deletes
    /// the space's ciphertext when its author is an admin there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<serde_bytes::ByteBuf>,
    /// The device's proof of admission (section 9.8), sent to a relay that answered `not-admitted`:
    /// only then, since it tells the relay the device's person and programme roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<Admission>,
}

/// A device's proof that a programme admitted its person (section 9.8): its device certificate
/// (section 16) and the person's role grants with their chains (section 19). A device of a person
/// the relay admitted already needs only the certificate, so a device restored from the recovery
/// phrase, which has lost the grants, still reaches its journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// The requesting device's certificate (`SignedDeviceCertificate` bytes).
    #[serde(with = "serde_bytes")]
    pub certificate: Vec<u8>,
    /// Signed role grants (section 19.3): each credential's grant followed by the grants of its
    /// chain; at most [`MAX_ADMISSION_GRANTS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<serde_bytes::ByteBuf>,
    /// Other keys the device writes for, each certified by the same person and proving it is held
    /// here: its person's index author (section 20.2), which founds the index space. At most
    /// [`MAX_ADMISSION_OTHERS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<OtherKey>,
}

/// Another key a device writes for (section 9.8): the person's certificate of it, and that key's
/// signature over the relay, the requester and the person, so a person cannot present someone
/// else's key (whose public half any co-member knows) as one of theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherKey {
    /// `SignedDeviceCertificate` bytes (section 16.3) naming the key as `device`.
    #[serde(with = "serde_bytes")]
    pub certificate: Vec<u8>,
    /// Ed25519 signature by that key over [`OtherKey::signing_input`].
    #[serde(with = "serde_bytes")]
    pub possession: Vec<u8>,
}

impl OtherKey {
    /// `"sebaya/v1/admission-key" ‖ relay id (16) ‖ requesting device (32) ‖ person (32)`.
    pub fn signing_input(relay: &[u8; 16], requester: &DeviceId, person: &PersonId) -> Vec<u8> {
        let mut m = Vec::with_capacity(ADMISSION_KEY_SIGNATURE_LABEL.len() + 80);
        m.extend_from_slice(ADMISSION_KEY_SIGNATURE_LABEL);
        m.extend_from_slice(relay);
        m.extend_from_slice(&requester.0);
        m.extend_from_slice(&person.0);
        m
    }

    /// Makes the proof for `key`, certified by `certificate`, presented by `requester` to `relay`.
    pub fn sign(
        certificate: Vec<u8>,
        key: &ring::signature::Ed25519KeyPair,
        relay: &[u8; 16],
        requester: &DeviceId,
        person: &PersonId,
    ) -> OtherKey {
        let possession = key
            .sign(&Self::signing_input(relay, requester, person))
            .as_ref()
            .to_vec();
        OtherKey {
            certificate,
            possession,
        }
    }

    /// The key this proves, if its certificate verifies, names `person`, and the key signed for this
    /// relay, requester and person.
    pub fn verify(
        &self,
        relay: &[u8; 16],
        requester: &DeviceId,
        person: &PersonId,
    ) -> Result<DeviceId, ProtoError> {
        let cert = crate::SignedDeviceCertificate::from_bytes(&self.certificate)?.verify()?;
        if cert.person != *person {
            return Err(ProtoError::Malformed(
                "the certificate names another person",
            ));
        }
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, cert.device.0)
            .verify(
                &Self::signing_input(relay, requester, person),
                &self.possession,
            )
            .map_err(|_| ProtoError::BadSignature)?;
        Ok(cert.device)
    }
}

/// Most certificates of other keys one admission proof carries.
pub const MAX_ADMISSION_OTHERS: usize = 4;

/// Most grants one admission proof carries: four credentials of full chains.
pub const MAX_ADMISSION_GRANTS: usize = 16;
/// Longest grant an admission proof carries, in bytes: a programme statement's bound
/// (`programme::MAX_PROGRAMME_STATEMENT_LEN`, section 19.7; the sync layer does not depend on the
/// programme layer, so the number is repeated here and a test keeps the two equal).
pub const MAX_ADMISSION_GRANT_LEN: usize = 1024;
/// Longest device certificate an admission proof carries, in bytes (a certificate is about 190).
pub const MAX_ADMISSION_CERTIFICATE_LEN: usize = 512;

/// Most spaces one request asks to erase.
pub const MAX_ERASE: usize = 16;
/// Most erasure statements one answer carries (the relay keeps one per member of a space).
pub const MAX_SERVED_ERASURES: usize = 64;

/// An answer the joining device has taken, so the relay may drop it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinTaken {
    /// The space (16 bytes).
    #[serde(with = "serde_bytes")]
    pub space: Vec<u8>,
    /// The invite (16 bytes).
    #[serde(with = "serde_bytes")]
    pub invite: Vec<u8>,
}

/// A sealed join request left at the relay under an invite (section 18).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinPost {
    /// The space (16 bytes).
    #[serde(with = "serde_bytes")]
    pub space: Vec<u8>,
    /// The invite id (16 bytes).
    #[serde(with = "serde_bytes")]
    pub invite: Vec<u8>,
    /// The sealed request (at most `invite::MAX_JOIN_REQUEST_LEN` bytes); only the secret opens it.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// The invite's request token (16 bytes, `invite::request_token`), which the relay checks
    /// against the invite's `gate`. Empty when the invite has no gate; the relay does not hand it on.
    #[serde(default, with = "serde_bytes", skip_serializing_if = "Vec::is_empty")]
    pub token: Vec<u8>,
}

/// An answer to an approved join request, addressed to the joining device (section 18).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinAnswer {
    /// The space (16 bytes).
    #[serde(with = "serde_bytes")]
    pub space: Vec<u8>,
    /// The invite spent (16 bytes).
    #[serde(with = "serde_bytes")]
    pub invite: Vec<u8>,
    /// The admitted device (32 bytes): the only requester the relay hands this answer to.
    #[serde(with = "serde_bytes")]
    pub device: Vec<u8>,
    /// The answer: a link response (the space key wrapped for the device, the log, earlier keys).
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// Why one pushed envelope was not stored. The rest of the request still counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Index into the request's `envelopes`.
    pub index: u32,
    /// Machine-readable reason code (`bad-signature`, `malformed`, `conflict`, `not-requested-space`…).
    pub reason: String,
}

/// The answer: what the device lacks, and acknowledgements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Message version.
    pub v: u8,
    /// The responder's vectors after storing the pushed envelopes: the acknowledgement.
    pub spaces: Vec<SpaceVector>,
    /// Envelopes the device lacks (this page).
    pub envelopes: Vec<serde_bytes::ByteBuf>,
    /// Pushed envelopes that were refused, with reasons.
    pub rejected: Vec<Rejected>,
    /// True when more envelopes wait: send another request with the updated vectors.
    pub more: bool,
    /// Requested spaces the responder refused to share with the requester, with reasons. A refused space
    /// has no entry in `spaces` and none of its envelopes are sent. Omitted from the encoding when empty,
    /// so answers without refusals encode exactly as before this field existed, and older decoders
    /// (which ignore unknown keys) still read every answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_spaces: Vec<RefusedSpace>,
    /// Join requests waiting for invites the requester opened (on the last page, `more == false`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_requests: Vec<JoinPost>,
    /// Answers addressed to the requesting device (on the last page, `more == false`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_answers: Vec<JoinAnswer>,
    /// Join requests in the request that were not kept (index into its `join_requests`), with reasons
    /// (`unknown-space`, `unknown-invite`, `invite-expired`, `invite-spent`, `invite-revoked`,
    /// `mailbox-full`, `too-large`, `malformed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_join_requests: Vec<Rejected>,
    /// Join answers in the request that were not kept (index into its `join_answers`), with reasons
    /// (`not-authorised` when the sender is not the invite's author or the device was not admitted;
    /// `not-requested` when the device never asked under that invite at this relay, or its request
    /// was answered already; also `malformed`, `too-large`, `unknown-space`, `unknown-invite`,
    /// `mailbox-full`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_join_answers: Vec<Rejected>,
    /// Spaces of the request's `erase` list that are erased now (by this request or before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erased: Vec<serde_bytes::ByteBuf>,
    /// Spaces of the request's `erase` list the relay refused to erase, with why (`not-authorised`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_erase: Vec<RefusedSpace>,
    /// Erasure statements (section 23.2) the relay keeps for spaces the request named and the device
    /// is a member of (or was, when the space is erased): every device judges them itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<serde_bytes::ByteBuf>,
}

/// Most join requests or answers one message may carry.
pub const MAX_JOIN_ITEMS: usize = 64;

/// A requested space the responder will not share with the requester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedSpace {
    /// The space id (16 bytes).
    #[serde(with = "serde_bytes")]
    pub space: Vec<u8>,
    /// Machine-readable reason code (`unknown-space`, `not-a-member`).
    pub reason: String,
}

impl RefusedSpace {
    /// Builds a refusal of one space.
    pub fn new(space: SpaceId, reason: &str) -> Self {
        RefusedSpace {
            space: space.0.to_vec(),
            reason: reason.to_string(),
        }
    }

    /// The refused space's id; `Malformed` unless it is exactly 16 bytes.
    pub fn space_id(&self) -> Result<SpaceId, ProtoError> {
        SpaceId::from_slice(&self.space)
    }
}

/// Encodes a message as CBOR.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, ProtoError> {
    let mut out = Vec::new();
    ciborium::into_writer(msg, &mut out).map_err(|e| ProtoError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes a CBOR message after checking its size against [`MAX_MESSAGE_LEN`].
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ProtoError> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(ProtoError::TooLarge {
            what: "sync message",
            len: bytes.len() as u64,
            max: MAX_MESSAGE_LEN as u64,
        });
    }
    ciborium::de::from_reader_with_recursion_limit(bytes, 16)
        .map_err(|e| ProtoError::Decode(e.to_string()))
}

impl SpaceVector {
    /// Builds the wire form of one space's vector.
    pub fn new(space: SpaceId, vector: &BTreeMap<DeviceId, u64>) -> Self {
        SpaceVector {
            space: space.0.to_vec(),
            vector: vector
                .iter()
                .map(|(a, s)| AuthorSeq {
                    author: a.0.to_vec(),
                    seq: *s,
                })
                .collect(),
        }
    }

    /// Checks and converts the wire form: ids of the right length, bounded size, no duplicate author.
    pub fn parse(&self) -> Result<(SpaceId, BTreeMap<DeviceId, u64>), ProtoError> {
        let space = SpaceId::from_slice(&self.space)?;
        if self.vector.len() > MAX_AUTHORS {
            return Err(ProtoError::TooLarge {
                what: "vector",
                len: self.vector.len() as u64,
                max: MAX_AUTHORS as u64,
            });
        }
        let mut map = BTreeMap::new();
        for e in &self.vector {
            let a = DeviceId::from_slice(&e.author)?;
            // Sequence numbers are signed 64-bit on the wire's other side (the relay's store): a
            // larger one is no device's.
            if e.seq > i64::MAX as u64 {
                return Err(ProtoError::Malformed("vector sequence number out of range"));
            }
            if map.insert(a, e.seq).is_some() {
                return Err(ProtoError::Malformed("vector names an author twice"));
            }
        }
        Ok((space, map))
    }
}

impl SyncRequest {
    /// Checks the request's own limits (version, counts). Envelopes are checked one by one later.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != SYNC_VERSION {
            return Err(ProtoError::Malformed("unsupported sync message version"));
        }
        if self.spaces.len() > MAX_SPACES {
            return Err(ProtoError::TooLarge {
                what: "space list",
                len: self.spaces.len() as u64,
                max: MAX_SPACES as u64,
            });
        }
        if self.envelopes.len() > MAX_ENVELOPES {
            return Err(ProtoError::TooLarge {
                what: "envelope list",
                len: self.envelopes.len() as u64,
                max: MAX_ENVELOPES as u64,
            });
        }
        let joins = self
            .join_requests
            .len()
            .max(self.join_answers.len())
            .max(self.taken_join_answers.len());
        if joins > MAX_JOIN_ITEMS {
            return Err(ProtoError::TooLarge {
                what: "join list",
                len: joins as u64,
                max: MAX_JOIN_ITEMS as u64,
            });
        }
        if self.erase.len() > MAX_ERASE {
            return Err(ProtoError::TooLarge {
                what: "erase list",
                len: self.erase.len() as u64,
                max: MAX_ERASE as u64,
            });
        }
        if self.erase.iter().any(|s| s.len() != 16) {
            return Err(ProtoError::Malformed("an erased space id is not 16 bytes"));
        }
        if self.erasures.len() > MAX_ERASE {
            return Err(ProtoError::TooLarge {
                what: "erasure list",
                len: self.erasures.len() as u64,
                max: MAX_ERASE as u64,
            });
        }
        if self
            .erasures
            .iter()
            .any(|s| s.len() > crate::erasure::MAX_ERASURE_LEN)
        {
            return Err(ProtoError::Malformed("an erasure statement is too long"));
        }
        if let Some(a) = &self.admission {
            let too_large = |what: &'static str, len: usize, max: usize| {
                if len > max {
                    Err(ProtoError::TooLarge {
                        what,
                        len: len as u64,
                        max: max as u64,
                    })
                } else {
                    Ok(())
                }
            };
            too_large(
                "admission certificate",
                a.certificate.len(),
                MAX_ADMISSION_CERTIFICATE_LEN,
            )?;
            too_large("admission grants", a.grants.len(), MAX_ADMISSION_GRANTS)?;
            too_large("admission others", a.others.len(), MAX_ADMISSION_OTHERS)?;
            for g in &a.grants {
                too_large("admission grant", g.len(), MAX_ADMISSION_GRANT_LEN)?;
            }
            for o in &a.others {
                too_large(
                    "admission certificate",
                    o.certificate.len(),
                    MAX_ADMISSION_CERTIFICATE_LEN,
                )?;
                too_large("admission possession", o.possession.len(), 64)?;
            }
        }
        Ok(())
    }
}

impl SyncResponse {
    /// Checks an answer's own limits before the requester acts on it.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != SYNC_VERSION {
            return Err(ProtoError::Malformed("unsupported sync message version"));
        }
        // Every requested space is either answered or refused, and a request names at most MAX_SPACES.
        let spaces = self.spaces.len().saturating_add(self.refused_spaces.len());
        if spaces > MAX_SPACES {
            return Err(ProtoError::TooLarge {
                what: "space list",
                len: spaces as u64,
                max: MAX_SPACES as u64,
            });
        }
        if self.envelopes.len() > MAX_ENVELOPES || self.rejected.len() > MAX_ENVELOPES {
            return Err(ProtoError::TooLarge {
                what: "envelope list",
                len: self.envelopes.len().max(self.rejected.len()) as u64,
                max: MAX_ENVELOPES as u64,
            });
        }
        let joins = [
            self.join_requests.len(),
            self.join_answers.len(),
            self.refused_join_requests.len(),
            self.refused_join_answers.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        if joins > MAX_JOIN_ITEMS * 16 {
            return Err(ProtoError::TooLarge {
                what: "join list",
                len: joins as u64,
                max: (MAX_JOIN_ITEMS * 16) as u64,
            });
        }
        // An id of the `erase` list and the space of an erasure statement, each answered once.
        if self.erased.len() + self.refused_erase.len() > 2 * MAX_ERASE {
            return Err(ProtoError::TooLarge {
                what: "erase list",
                len: (self.erased.len() + self.refused_erase.len()) as u64,
                max: (2 * MAX_ERASE) as u64,
            });
        }
        if self.erasures.len() > MAX_SERVED_ERASURES {
            return Err(ProtoError::TooLarge {
                what: "erasure list",
                len: self.erasures.len() as u64,
                max: MAX_SERVED_ERASURES as u64,
            });
        }
        if self
            .erasures
            .iter()
            .any(|s| s.len() > crate::erasure::MAX_ERASURE_LEN)
        {
            return Err(ProtoError::Malformed("an erasure statement is too long"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// `SyncResponse` as it was before `refused_spaces`: what older peers encode and decode.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct SyncResponseV1Before {
        v: u8,
        spaces: Vec<SpaceVector>,
        envelopes: Vec<serde_bytes::ByteBuf>,
        rejected: Vec<Rejected>,
        more: bool,
    }

    fn response(refused: Vec<RefusedSpace>) -> SyncResponse {
        SyncResponse {
            v: SYNC_VERSION,
            spaces: vec![SpaceVector::new(
                SpaceId([1; 16]),
                &BTreeMap::from([(DeviceId([2; 32]), 3)]),
            )],
            envelopes: vec![serde_bytes::ByteBuf::from(vec![9, 9])],
            rejected: vec![Rejected {
                index: 0,
                reason: "not-a-member".into(),
            }],
            more: true,
            refused_spaces: refused,
            join_requests: Vec::new(),
            join_answers: Vec::new(),
            refused_join_requests: Vec::new(),
            refused_join_answers: Vec::new(),
            erased: Vec::new(),
            refused_erase: Vec::new(),
            erasures: Vec::new(),
        }
    }

    /// A vector naming a sequence number above i64::MAX is no device's (review finding).
    #[test]
    fn a_vector_beyond_the_signed_range_is_refused() {
        let sv = SpaceVector {
            space: vec![1; 16],
            vector: vec![AuthorSeq {
                author: vec![2; 32],
                seq: u64::MAX,
            }],
        };
        assert!(sv.parse().is_err());
    }

    #[test]
    fn no_refusals_encode_as_before_and_old_decoders_read_refusals() {
        let plain = response(vec![]);
        let before = SyncResponseV1Before {
            v: plain.v,
            spaces: plain.spaces.clone(),
            envelopes: plain.envelopes.clone(),
            rejected: plain.rejected.clone(),
            more: plain.more,
        };
        assert_eq!(encode(&plain).unwrap(), encode(&before).unwrap());
        assert_eq!(
            decode::<SyncResponse>(&encode(&before).unwrap()).unwrap(),
            plain
        );

        let refused = response(vec![RefusedSpace::new(SpaceId([4; 16]), "unknown-space")]);
        let bytes = encode(&refused).unwrap();
        assert_eq!(decode::<SyncResponse>(&bytes).unwrap(), refused);
        assert_eq!(
            decode::<SyncResponseV1Before>(&bytes).unwrap(),
            before,
            "a decoder that does not know the key ignores it"
        );
        assert_eq!(
            refused.refused_spaces[0].space_id().unwrap(),
            SpaceId([4; 16])
        );
        assert!(
            RefusedSpace {
                space: vec![1, 2],
                reason: "x".into()
            }
            .space_id()
            .is_err()
        );
    }

    #[test]
    fn refused_spaces_count_towards_the_space_limit() {
        let mut r = response(vec![]);
        r.spaces.clear();
        r.refused_spaces = vec![RefusedSpace::new(SpaceId([4; 16]), "not-a-member"); MAX_SPACES];
        r.check().unwrap();
        r.spaces
            .push(SpaceVector::new(SpaceId([1; 16]), &BTreeMap::new()));
        assert!(matches!(
            r.check(),
            Err(ProtoError::TooLarge {
                what: "space list",
                ..
            })
        ));
    }
}
