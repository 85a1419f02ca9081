//! A person's root key and recovery phrase.
//!
//! **Entropy.** A person starts as 128 bits of system randomness ([`RecoverySecret`]), shown once as a
//! 12-word BIP-39 English phrase (11 bits a word, the last word carrying a 4-bit checksum, so a
//! mistyped or swapped word is caught at once, with probability 15/16). 128 bits, not 256: every key
//! derived from it is an Ed25519 or X25519 key, whose security is about 2^128 anyway, so 24 words would
//! add nothing an attacker notices while doubling what a person has to copy by hand, keep and type
//! back, on paper, in the field, in a hurry. (Not a wallet seed: the BIP-39 PBKDF2 seed is not used.)
//!
//! **Derivations** (`docs/protocol.md`, section 16.1): HKDF-SHA256 with an empty salt, the 16 entropy
//! bytes as input keying material, and one label per purpose as `info`:
//! - `sebaya/v1/person-root`: the Ed25519 seed of the person root key; its public key is the
//!   [`PersonId`]. It signs device certificates and revocations.
//! - `sebaya/v1/recovery-x25519`: an X25519 secret that receives wraps of the person's space keys, so
//!   the phrase alone can reopen them (used by the recovery work).
//! - `sebaya/v1/index-space`: the key of the person's index space, which lists their spaces.
//!
//! **The root key stays in the vault.** After creating or restoring, the vault keeps the person root
//! seed sealed (like the device keys), so this device can certify a new device of the same person
//! without the phrase being fetched from a drawer; the phrase can always recreate it. The entropy
//! itself (hence the phrase and the recovery secret) is *not* kept: HKDF is one-way, so a copy of an
//! unlocked vault yields the power to certify devices but not the phrase. See `docs/threat-model.md`,
//! "Person root key and recovery phrase".

use bip39::{Language, Mnemonic};
use ring::signature::{Ed25519KeyPair, KeyPair};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use sebaya_proto::DeviceId;
use sebaya_proto::identity::{
    DeviceCertificate, DeviceRevocation, PersonId, SignedDeviceCertificate, SignedDeviceRevocation,
};

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::store::Store;

/// Bytes of entropy behind a recovery phrase (128 bits: 12 words).
pub const ENTROPY_LEN: usize = 16;
/// Words in a recovery phrase.
pub const PHRASE_WORDS: usize = 12;
/// Longest text `RecoverySecret::from_phrase` reads (twelve 8-letter words need 107 bytes; the rest is
/// room for sloppy spacing).
const MAX_PHRASE_INPUT: usize = 1024;
/// HKDF label of the person root key's Ed25519 seed.
pub const LABEL_PERSON_ROOT: &[u8] = b"sebaya/v1/person-root";
/// HKDF label of the recovery X25519 secret.
pub const LABEL_RECOVERY_X25519: &[u8] = b"sebaya/v1/recovery-x25519";
/// HKDF label of the index space key.
pub const LABEL_INDEX_SPACE: &[u8] = b"sebaya/v1/index-space";

const KV_ROOT_SEED: &str = "person-root-seed";
const KV_RECOVERY_PUBLIC: &str = "person-recovery-x25519-public";
const KV_INDEX_KEY: &str = "person-index-space-key";
const KV_DEVICE_CERT: &str = "device-certificate";
/// Vault key of the person's certificate for its index author (section 20.2): shown to a relay that
/// admits by credential, so the index the author founds is admitted with the person.
const KV_INDEX_AUTHOR_CERT: &str = "index-author-certificate";

/// A recovery phrase: twelve lowercase English words separated by single spaces. Wiped when dropped.
/// Show it once, never log it, never store it.
pub type RecoveryPhrase = Zeroizing<String>;

/// The secret a recovery phrase encodes: 16 bytes of entropy from which every person-level key is
/// derived. Exists only while a person is created or restored; never stored. Wiped when dropped.
pub struct RecoverySecret {
    entropy: Zeroizing<[u8; ENTROPY_LEN]>,
}

impl RecoverySecret {
    /// Fresh entropy from the system's random generator: a new person.
    pub fn generate() -> Result<RecoverySecret> {
        Ok(RecoverySecret {
            entropy: Zeroizing::new(crypto::random::<ENTROPY_LEN>()?),
        })
    }

    /// Reads a phrase as a person typed it: case, leading, trailing and repeated spaces (and line
    /// breaks) do not matter. An unknown word, a count other than 12 or a checksum that does not
    /// match gives [`Error::BadRecoveryPhrase`], whose detail names at most a position.
    pub fn from_phrase(phrase: &str) -> Result<RecoverySecret> {
        if phrase.len() > MAX_PHRASE_INPUT {
            return Err(Error::BadRecoveryPhrase(
                "far too long for a recovery phrase".into(),
            ));
        }
        // Lower-casing may lengthen non-ASCII text: reserve enough that the buffer never moves (a move
        // would leave an unwiped copy behind).
        let mut normalized = Zeroizing::new(String::with_capacity(phrase.len() * 3));
        let mut count = 0usize;
        for word in phrase.split_whitespace() {
            if count > 0 {
                normalized.push(' ');
            }
            for c in word.chars() {
                normalized.extend(c.to_lowercase());
            }
            count += 1;
        }
        if count != PHRASE_WORDS {
            return Err(Error::BadRecoveryPhrase(format!(
                "a recovery phrase has {PHRASE_WORDS} words, this one has {count}"
            )));
        }
        let mnemonic =
            Mnemonic::parse_in_normalized(Language::English, &normalized).map_err(|e| {
                Error::BadRecoveryPhrase(match e {
                    bip39::Error::UnknownWord(i) => {
                        format!("word {} is not in the word list", i + 1)
                    }
                    bip39::Error::InvalidChecksum => {
                        "the words do not fit together (one is wrong or out of place)".into()
                    }
                    _ => "not a recovery phrase".into(),
                })
            })?;
        let (mut arr, len) = mnemonic.to_entropy_array();
        let out = if len == ENTROPY_LEN {
            let mut e = Zeroizing::new([0u8; ENTROPY_LEN]);
            e.copy_from_slice(&arr[..ENTROPY_LEN]);
            Ok(RecoverySecret { entropy: e })
        } else {
            Err(Error::BadRecoveryPhrase("not a recovery phrase".into()))
        };
        arr.zeroize();
        out
    }

    /// The phrase: twelve lowercase English words separated by single spaces.
    pub fn phrase(&self) -> Result<RecoveryPhrase> {
        let mnemonic = Mnemonic::from_entropy_in(Language::English, self.entropy.as_ref())
            .map_err(|_| Error::Internal("phrase encoding"))?;
        // Longest English word is 8 letters: reserve once so the buffer never moves (a move would leave
        // an unwiped copy behind).
        let mut out = Zeroizing::new(String::with_capacity(PHRASE_WORDS * 9));
        for (i, w) in mnemonic.words().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(w);
        }
        Ok(out)
    }

    /// The person root key's Ed25519 seed: HKDF(entropy, `sebaya/v1/person-root`).
    pub fn person_root_seed(&self) -> Result<Key32> {
        crypto::derive(self.entropy.as_ref(), LABEL_PERSON_ROOT)
    }

    /// The person root key.
    pub fn person_key(&self) -> Result<PersonKey> {
        PersonKey::from_seed(self.person_root_seed()?)
    }

    /// The recovery X25519 secret: HKDF(entropy, `sebaya/v1/recovery-x25519`), used as an X25519
    /// scalar (clamped by X25519 itself). Space keys wrapped for its public key open with the phrase.
    pub fn recovery_x25519(&self) -> Result<StaticSecret> {
        Ok(StaticSecret::from(*crypto::derive(
            self.entropy.as_ref(),
            LABEL_RECOVERY_X25519,
        )?))
    }

    /// The index space key: HKDF(entropy, `sebaya/v1/index-space`). The index space lists the person's
    /// spaces so that a phone restored from the phrase finds them.
    pub fn index_space_key(&self) -> Result<Key32> {
        crypto::derive(self.entropy.as_ref(), LABEL_INDEX_SPACE)
    }

    #[cfg(test)]
    pub(crate) fn from_entropy(entropy: [u8; ENTROPY_LEN]) -> RecoverySecret {
        RecoverySecret {
            entropy: Zeroizing::new(entropy),
        }
    }
}

/// The person root key: signs device certificates and revocations. The seed is wiped when dropped; the
/// Ed25519 key pair is rebuilt for each use.
pub struct PersonKey {
    seed: Key32,
    id: PersonId,
}

impl PersonKey {
    /// The key for a 32-byte Ed25519 seed.
    pub fn from_seed(seed: Key32) -> Result<PersonKey> {
        let kp = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .map_err(|_| Error::Internal("person key"))?;
        let id = PersonId::from_slice(kp.public_key().as_ref())?;
        Ok(PersonKey { seed, id })
    }

    /// The person's id (the root key's public key).
    pub fn id(&self) -> PersonId {
        self.id
    }

    fn key_pair(&self) -> Result<Ed25519KeyPair> {
        Ed25519KeyPair::from_seed_unchecked(self.seed.as_ref())
            .map_err(|_| Error::Internal("person key"))
    }

    /// Certifies a device of this person: its Ed25519 id and X25519 public key, at `created` (Unix
    /// seconds). Refuses weak keys ([`Error::BadCertificate`]).
    pub fn certify(
        &self,
        device: DeviceId,
        x25519: [u8; 32],
        created: u64,
    ) -> Result<SignedDeviceCertificate> {
        DeviceCertificate {
            person: self.id,
            device,
            x25519,
            created,
        }
        .sign(&self.key_pair()?)
        .map_err(Error::BadCertificate)
    }

    /// Signs the hand-over of this person to `new` (a replaced recovery phrase), for
    /// `Op::Succession`.
    pub(crate) fn sign_succession(&self, new: &PersonId) -> Result<[u8; 64]> {
        let msg = sebaya_proto::membership::succession_message(&self.id.0, &new.0);
        self.key_pair()?
            .sign(&msg)
            .as_ref()
            .try_into()
            .map_err(|_| Error::Internal("signature length"))
    }

    /// Signs a programme role grant as this person (a coordinator granting a role).
    pub(crate) fn sign_grant(
        &self,
        grant: &sebaya_proto::programme::RoleGrant,
    ) -> Result<sebaya_proto::programme::SignedRoleGrant> {
        grant
            .sign(&self.key_pair()?)
            .map_err(|_| Error::BadCredential)
    }

    /// Signs a programme role revocation as this person (a coordinator revoking a grant).
    pub(crate) fn sign_revocation(
        &self,
        rev: &sebaya_proto::programme::RoleRevocation,
    ) -> Result<sebaya_proto::programme::SignedRoleRevocation> {
        rev.sign(&self.key_pair()?)
            .map_err(|_| Error::BadCredential)
    }

    /// Signs a training record as this person (a coordinator certifying a module, `care/training.rs`).
    pub(crate) fn sign_training(
        &self,
        record: &sebaya_proto::training::TrainingRecord,
    ) -> Result<sebaya_proto::training::SignedTrainingRecord> {
        record
            .sign(&self.key_pair()?)
            .map_err(|_| Error::BadCredential)
    }

    /// Revokes a device of this person from `time` (Unix seconds).
    pub fn revoke(&self, device: DeviceId, time: u64) -> Result<SignedDeviceRevocation> {
        DeviceRevocation {
            person: self.id,
            device,
            time,
        }
        .sign(&self.key_pair()?)
        .map_err(Error::BadCertificate)
    }

    /// Loads the person root key kept in the vault, if this vault has a person.
    pub(crate) fn load(store: &Store) -> Result<Option<PersonKey>> {
        match store.kv_get(KV_ROOT_SEED)? {
            None => Ok(None),
            Some(v) => {
                let arr: [u8; 32] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Corrupt("person key"))?;
                PersonKey::from_seed(Zeroizing::new(arr)).map(Some)
            }
        }
    }
}

/// Makes this vault the device of the person `secret` encodes: certifies the device's keys and keeps,
/// sealed, the person root seed, the recovery X25519 public key, the index space key and the device
/// certificate, all in one transaction (a failure leaves the vault as it was). The caller has checked
/// that the vault has no person yet.
pub(crate) fn adopt(
    store: &Store,
    secret: &RecoverySecret,
    device: DeviceId,
    device_x25519: [u8; 32],
    now_secs: u64,
) -> Result<PersonKey> {
    let seed = secret.person_root_seed()?;
    let person = PersonKey::from_seed(seed.clone())?;
    let cert = person.certify(device, device_x25519, now_secs)?;
    let recovery_public = PublicKey::from(&secret.recovery_x25519()?).to_bytes();
    let index_key = secret.index_space_key()?;
    let tx = store.conn.unchecked_transaction()?;
    store.kv_put(KV_ROOT_SEED, seed.as_ref())?;
    store.kv_put(KV_RECOVERY_PUBLIC, &recovery_public)?;
    store.kv_put(KV_INDEX_KEY, index_key.as_ref())?;
    store.kv_put(KV_DEVICE_CERT, cert.as_bytes())?;
    tx.commit()?;
    Ok(person)
}

/// The index space key kept in the vault (by the device that made or restored the person).
pub(crate) fn index_key(store: &Store) -> Result<Option<Key32>> {
    match store.kv_get(KV_INDEX_KEY)? {
        None => Ok(None),
        Some(v) => {
            let arr: [u8; 32] = v
                .as_slice()
                .try_into()
                .map_err(|_| Error::Corrupt("index key"))?;
            Ok(Some(Zeroizing::new(arr)))
        }
    }
}

/// Keeps a certificate this device received when it was linked (its person certified it elsewhere).
pub(crate) fn store_certificate(store: &Store, cert: &[u8]) -> Result<()> {
    store.kv_put(KV_DEVICE_CERT, cert)
}

/// This device's certificate as kept in the vault, if it has one.
pub(crate) fn stored_certificate(store: &Store) -> Result<Option<Vec<u8>>> {
    Ok(store.kv_get(KV_DEVICE_CERT)?.map(|v| v.to_vec()))
}

/// Keeps the person's certificate for its index author.
pub(crate) fn store_index_author_certificate(store: &Store, cert: &[u8]) -> Result<()> {
    store.kv_put(KV_INDEX_AUTHOR_CERT, cert)
}

/// The person's certificate for its index author, if this device made one (it holds the person key).
pub(crate) fn stored_index_author_certificate(store: &Store) -> Result<Option<Vec<u8>>> {
    Ok(store.kv_get(KV_INDEX_AUTHOR_CERT)?.map(|v| v.to_vec()))
}

/// Verifies a device certificate received from anywhere and returns what it says. Forged, altered,
/// truncated, oversized or weak-keyed certificates give [`Error::BadCertificate`].
pub fn verify_device_certificate(bytes: &[u8]) -> Result<DeviceCertificate> {
    SignedDeviceCertificate::from_bytes(bytes)
        .and_then(|c| c.verify())
        .map_err(Error::BadCertificate)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// The all-zero entropy: BIP-39's first English test vector.
    const ZERO_PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    // Expected derivations from the all-zero entropy (docs/protocol.md, section 16.1).
    const ROOT_SEED_HEX: &str = "36d851a6074eb41967c4e8de3084dc54c563ca6f2a1a61895a92761096810eb0";
    const PERSON_ID_HEX: &str = "40f784350b02365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d";
    const RECOVERY_SECRET_HEX: &str =
        "18c13026607d3cc3c1090ee225da4cb1b08e6a4d117b2a988c15a9674ae54d20";
    const RECOVERY_PUBLIC_HEX: &str =
        "1210145160847cd4d5bf6968fb154bbcf43faa66a9c4c589ce8a2b5b4a0dfe1b";
    const INDEX_KEY_HEX: &str = "8f709507dd3b4b2587f5c4e2deadf43f8e152d4140dbf2cc902434c3a4093fd2";

    #[test]
    #[ignore]
    fn print_vectors() {
        let s = RecoverySecret::from_entropy([0; 16]);
        println!("phrase {}", &*s.phrase().unwrap());
        println!("root seed {}", hex::encode(*s.person_root_seed().unwrap()));
        println!("person id {}", s.person_key().unwrap().id().to_hex());
        let r = s.recovery_x25519().unwrap();
        println!("recovery secret {}", hex::encode(r.as_bytes()));
        println!(
            "recovery public {}",
            hex::encode(PublicKey::from(&r).as_bytes())
        );
        println!("index key {}", hex::encode(*s.index_space_key().unwrap()));
    }

    #[test]
    fn derivation_vector_is_byte_exact_and_documented() {
        let s = RecoverySecret::from_entropy([0; 16]);
        assert_eq!(&*s.phrase().unwrap(), ZERO_PHRASE);
        assert_eq!(hex::encode(*s.person_root_seed().unwrap()), ROOT_SEED_HEX);
        assert_eq!(s.person_key().unwrap().id().to_hex(), PERSON_ID_HEX);
        let r = s.recovery_x25519().unwrap();
        assert_eq!(hex::encode(r.as_bytes()), RECOVERY_SECRET_HEX);
        assert_eq!(
            hex::encode(PublicKey::from(&r).as_bytes()),
            RECOVERY_PUBLIC_HEX
        );
        assert_eq!(hex::encode(*s.index_space_key().unwrap()), INDEX_KEY_HEX);
        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [
            ROOT_SEED_HEX,
            PERSON_ID_HEX,
            RECOVERY_SECRET_HEX,
            RECOVERY_PUBLIC_HEX,
            INDEX_KEY_HEX,
        ] {
            assert!(doc.contains(h), "{h} is not in docs/protocol.md");
        }
    }

    #[test]
    fn phrase_round_trip() {
        for _ in 0..32 {
            let s = RecoverySecret::generate().unwrap();
            let p = s.phrase().unwrap();
            assert_eq!(p.split(' ').count(), PHRASE_WORDS);
            assert!(p.chars().all(|c| c == ' ' || c.is_ascii_lowercase()));
            let back = RecoverySecret::from_phrase(&p).unwrap();
            assert_eq!(*back.entropy, *s.entropy);
            assert_eq!(
                back.person_key().unwrap().id(),
                s.person_key().unwrap().id()
            );
            // As typed by a person: other case, extra spaces, line breaks.
            let sloppy = format!("  {}\n", p.to_uppercase().replace(' ', "   \n "));
            assert_eq!(
                *RecoverySecret::from_phrase(&sloppy).unwrap().entropy,
                *s.entropy
            );
        }
    }

    #[test]
    fn bad_phrases_are_refused_with_typed_errors() {
        let words: Vec<&str> = ZERO_PHRASE.split(' ').collect();
        // Wrong checksum: the last word changed to another valid word.
        let mut w = words.clone();
        w[11] = "abandon";
        assert!(matches!(
            RecoverySecret::from_phrase(&w.join(" ")),
            Err(Error::BadRecoveryPhrase(_))
        ));
        // Two words swapped (first and last): every word is valid, the checksum catches it.
        let mut w = words.clone();
        w.swap(0, 11);
        assert!(matches!(
            RecoverySecret::from_phrase(&w.join(" ")),
            Err(Error::BadRecoveryPhrase(_))
        ));
        // An unknown word: the detail names its position, not the word.
        let mut w = words.clone();
        w[4] = "sebaya";
        match RecoverySecret::from_phrase(&w.join(" ")) {
            Err(Error::BadRecoveryPhrase(d)) => {
                assert!(d.contains("word 5"), "{d}");
                assert!(!d.contains("sebaya"));
            }
            other => panic!("{:?}", other.err()),
        }
        // Wrong word counts, including a valid 24-word BIP-39 phrase.
        for p in [
            "",
            "abandon",
            &words[..11].join(" "),
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
        ] {
            assert!(matches!(
                RecoverySecret::from_phrase(p),
                Err(Error::BadRecoveryPhrase(_))
            ));
        }
        // Far too long: refused before anything is allocated for it.
        assert!(matches!(
            RecoverySecret::from_phrase(&"abandon ".repeat(200)),
            Err(Error::BadRecoveryPhrase(_))
        ));
        // A mistyped letter.
        assert!(matches!(
            RecoverySecret::from_phrase(&ZERO_PHRASE.replace("about", "abuot")),
            Err(Error::BadRecoveryPhrase(_))
        ));
    }

    #[test]
    fn derivation_labels_give_distinct_keys() {
        let s = RecoverySecret::generate().unwrap();
        let root = *s.person_root_seed().unwrap();
        let rec = *s.recovery_x25519().unwrap().as_bytes();
        let idx = *s.index_space_key().unwrap();
        assert_ne!(root, rec);
        assert_ne!(root, idx);
        assert_ne!(rec, idx);
        for k in [root, rec, idx] {
            assert_ne!(&k[..16], &s.entropy[..], "a derived key leaks the entropy");
        }
        let labels = [LABEL_PERSON_ROOT, LABEL_RECOVERY_X25519, LABEL_INDEX_SPACE];
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Another person: every key differs.
        let t = RecoverySecret::generate().unwrap();
        assert_ne!(root, *t.person_root_seed().unwrap());
        assert_ne!(idx, *t.index_space_key().unwrap());
    }

    #[test]
    fn certify_and_revoke_verify() {
        let p = RecoverySecret::generate().unwrap().person_key().unwrap();
        let dev = Ed25519KeyPair::from_seed_unchecked(&[5; 32]).unwrap();
        let device = DeviceId::from_slice(dev.public_key().as_ref()).unwrap();
        let x = PublicKey::from(&StaticSecret::from([6; 32])).to_bytes();
        let cert = p.certify(device, x, 42).unwrap();
        let got = verify_device_certificate(cert.as_bytes()).unwrap();
        assert_eq!(
            (got.person, got.device, got.x25519, got.created),
            (p.id(), device, x, 42)
        );
        let rev = p.revoke(device, 43).unwrap().verify().unwrap();
        assert_eq!((rev.person, rev.device, rev.time), (p.id(), device, 43));
        // Weak keys are refused when certifying.
        assert!(matches!(
            p.certify(device, [0; 32], 42),
            Err(Error::BadCertificate(_))
        ));
        let mut bytes = cert.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(
            verify_device_certificate(&bytes),
            Err(Error::BadCertificate(_))
        ));
    }
}
