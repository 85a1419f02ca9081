//! A person on a vault: create, restore from the phrase on a fresh vault, certificates, and what stays on
//! disk. Without a network.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::store::audit;
use sebaya_core::{Error, Vault, crypto::keywrap, verify_device_certificate};
use sebaya_proto::{EpochId, SpaceId};

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

#[test]
fn create_restore_and_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &key(1)).unwrap();
    assert_eq!(a.person_id(), None);
    assert!(matches!(a.device_certificate(), Err(Error::NoPerson)));

    let phrase = a.create_person().unwrap();
    assert_eq!(phrase.split(' ').count(), 12);
    let person = a.person_id().unwrap();
    assert!(matches!(a.create_person(), Err(Error::AlreadyHasPerson)));
    assert!(matches!(
        a.restore_person(&phrase),
        Err(Error::AlreadyHasPerson)
    ));
    assert_eq!(a.person_id(), Some(person));

    let cert_a = a.device_certificate().unwrap();
    let got = verify_device_certificate(&cert_a).unwrap();
    assert_eq!(got.person, person);
    assert_eq!(got.device, a.device_id());
    assert_eq!(got.x25519, a.device_x25519_public());
    // Stable: the stored certificate, not a new one per call.
    assert_eq!(a.device_certificate().unwrap(), cert_a);

    // Restore on a fresh vault: same person, a new device with keys of its own.
    let mut b = Vault::open(&dir.path().join("b.db"), &key(2)).unwrap();
    let b_device = b.device_id();
    b.restore_person(&phrase.to_uppercase()).unwrap();
    assert_eq!(b.person_id(), Some(person));
    assert_eq!(b.device_id(), b_device);
    assert_ne!(b.device_id(), a.device_id());
    assert_ne!(b.device_x25519_public(), a.device_x25519_public());
    let got_b = verify_device_certificate(&b.device_certificate().unwrap()).unwrap();
    assert_eq!(got_b.person, person);
    assert_eq!(got_b.device, b.device_id());

    // Reopening keeps everything.
    drop(a);
    let a = Vault::open(&dir.path().join("a.db"), &key(1)).unwrap();
    assert_eq!(a.person_id(), Some(person));
    assert_eq!(a.device_certificate().unwrap(), cert_a);
    assert_eq!(a.device_x25519_public(), got.x25519);

    // The phrase is nowhere on disk, in any form the vault wrote.
    let files = audit::files_under(dir.path());
    let words: Vec<&str> = phrase.split(' ').collect();
    let pairs: Vec<String> = words.windows(2).map(|w| w.join(" ")).collect();
    let markers: Vec<&str> = std::iter::once(phrase.as_str())
        .chain(pairs.iter().map(String::as_str))
        .collect();
    assert_eq!(audit::scan_files_for_markers(&files, &markers), vec![]);
}

#[test]
fn wrong_phrase_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let mut v = Vault::open(&path, &key(3)).unwrap();
    let device = v.device_id();
    let snapshot = || -> Vec<(std::path::PathBuf, Vec<u8>)> {
        audit::files_under(dir.path())
            .into_iter()
            .map(|f| {
                let b = std::fs::read(&f).unwrap();
                (f, b)
            })
            .collect()
    };
    let before = snapshot();
    for bad in [
        "",
        "abandon abandon abandon",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon sebaya",
    ] {
        assert!(matches!(
            v.restore_person(bad),
            Err(Error::BadRecoveryPhrase(_))
        ));
        assert_eq!(v.person_id(), None);
        assert!(matches!(v.device_certificate(), Err(Error::NoPerson)));
    }
    assert!(
        before == snapshot(),
        "a refused phrase changed the vault's files"
    );
    drop(v);
    let mut v = Vault::open(&path, &key(3)).unwrap();
    assert_eq!(v.person_id(), None);
    assert_eq!(v.device_id(), device);
    // Still free to restore (here: the all-zero vector phrase) or create.
    v.restore_person(
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    )
    .unwrap();
    assert_eq!(
        v.person_id().unwrap().to_hex(),
        "40f784350b02365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d"
    );
}

#[test]
fn keys_wrapped_for_a_device_open_only_there() {
    let dir = tempfile::tempdir().unwrap();
    let a = Vault::open(&dir.path().join("a.db"), &key(4)).unwrap();
    let b = Vault::open(&dir.path().join("b.db"), &key(5)).unwrap();
    let (space, epoch) = (SpaceId([7; 16]), EpochId([8; 32]));
    let secret = [9u8; 32];
    let w = keywrap::wrap(&secret, &a.device_x25519_public(), &space, &epoch).unwrap();
    let w = keywrap::KeyWrap::from_bytes(&w.to_bytes()).unwrap();
    assert_eq!(*a.unwrap_key(&w, &space, &epoch).unwrap(), secret);
    assert!(matches!(
        b.unwrap_key(&w, &space, &epoch),
        Err(Error::BadKeyWrap)
    ));
    // The device's X25519 key survives a reopen.
    drop(a);
    let a = Vault::open(&dir.path().join("a.db"), &key(4)).unwrap();
    assert_eq!(*a.unwrap_key(&w, &space, &epoch).unwrap(), secret);
}
