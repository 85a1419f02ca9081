//! The passcode lock, with an injected clock (every call takes `now_ms`) and a map as key store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::*;
use crate::error::{Error, Result};
use crate::lock::KdfParams;

#[derive(Default)]
struct MapStore(RefCell<BTreeMap<String, Vec<u8>>>);

impl SecretStore for MapStore {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(self.0.borrow().get(name).cloned().map(Zeroizing::new))
    }
    fn put(&self, name: &str, value: &[u8]) -> Result<()> {
        self.0.borrow_mut().insert(name.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.0.borrow_mut().remove(name);
        Ok(())
    }
}

const T0: i64 = 1_800_000_000_000;

fn lock(store: &MapStore) -> PasscodeLock<'_, MapStore> {
    PasscodeLock::new(store, "vault", KdfParams::MIN).unwrap()
}

fn main_key(o: Opened) -> [u8; 32] {
    match o {
        Opened::Main(k) => *k,
        Opened::Duress(_) => panic!("opened the duress vault"),
    }
}

#[test]
fn the_passcode_unwraps_the_key_the_store_kept_and_replaces_it() {
    let store = MapStore::default();
    store.put("vault", &[7u8; 32]).unwrap();
    let l = lock(&store);
    assert!(!l.has_passcode().unwrap());
    l.set_passcode(b"1234").unwrap();
    assert!(l.has_passcode().unwrap());
    assert!(
        store.get("vault").unwrap().is_none(),
        "the plain key is gone"
    );
    assert_eq!(main_key(l.unlock(b"1234", T0).unwrap()), [7u8; 32]);
    assert!(matches!(l.set_passcode(b"5678"), Err(Error::NotAllowed(_))));
    assert!(matches!(l.set_passcode(b"12"), Err(Error::InvalidInput(_))));
}

#[test]
fn wrong_tries_add_a_doubling_capped_delay_and_never_wipe() {
    let store = MapStore::default();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    let mut now = T0;
    let mut waits = Vec::new();
    for _ in 0..12 {
        match l.unlock(b"0000", now) {
            Err(Error::PasscodeWrong { retry_after_secs }) => waits.push(retry_after_secs),
            _ => panic!("a wrong passcode must fail"),
        }
        // Too soon: refused, not counted, and the wait is what is left.
        match l.unlock(b"1234", now + 1_000) {
            Err(Error::PasscodeTooSoon { retry_after_secs }) => {
                assert_eq!(retry_after_secs, waits[waits.len() - 1] - 1)
            }
            Err(e) => panic!("too soon gave {e}"),
            Ok(_) => panic!("too soon opened"),
        }
        now += *waits.last().unwrap() as i64 * 1000;
    }
    assert_eq!(
        waits,
        vec![2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    );
    // Never a wipe: the right passcode still opens after all of that, and resets the counter.
    assert!(matches!(l.unlock(b"1234", now).unwrap(), Opened::Main(_)));
    match l.unlock(b"0000", now) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 2),
        _ => panic!("a wrong passcode must fail"),
    }
}

#[test]
fn a_try_is_counted_before_it_is_checked_and_a_clock_moved_back_waits_no_longer_than_the_rule() {
    let store = MapStore::default();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    assert!(l.unlock(b"0000", T0).is_err());
    // The counter in the store says 1 wrong try and a 2 s wait, whatever happens to the app.
    let t = Tries::from_bytes(&store.get("vault.passcode-tries").unwrap().unwrap());
    assert_eq!(
        t,
        Tries {
            failures: 1,
            not_before_ms: T0 + 2_000
        }
    );
    // The clock moved back a day: the wait is still at most the rule's 2 s.
    match l.unlock(b"1234", T0 - 86_400_000) {
        Err(Error::PasscodeTooSoon { retry_after_secs }) => assert_eq!(retry_after_secs, 2),
        _ => panic!("expected too soon"),
    }
    // A damaged counter is the cap, never none.
    store.put("vault.passcode-tries", b"junk").unwrap();
    match l.unlock(b"0000", T0) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 900),
        _ => panic!("expected wrong"),
    }
}

#[test]
fn without_the_key_store_secret_no_passcode_opens_the_wrapped_key() {
    let store = MapStore::default();
    store.put("vault", &[7u8; 32]).unwrap();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    // The wrapped key copied to another phone whose key store has another secret.
    let other = MapStore::default();
    other
        .put(
            "vault.passcode",
            &store.get("vault.passcode").unwrap().unwrap(),
        )
        .unwrap();
    other.put("vault.passcode-secret", &[9u8; 32]).unwrap();
    match lock(&other).unlock(b"1234", T0) {
        Err(Error::PasscodeWrong { .. }) => {}
        _ => panic!("the right passcode without the secret must not open"),
    }
    // And with no secret at all, nothing is tried.
    other.delete("vault.passcode-secret").unwrap();
    assert!(matches!(
        lock(&other).unlock(b"1234", T0 + 10_000),
        Err(Error::PasscodeRequired)
    ));
}

#[test]
fn the_duress_code_opens_its_own_key_and_leaves_the_main_one() {
    let store = MapStore::default();
    store.put("vault", &[7u8; 32]).unwrap();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    let before_len = store.get("vault.passcode").unwrap().unwrap().len();
    // Only the passcode sets a duress code, and never the same code.
    assert!(matches!(
        l.set_duress_code(b"9999", b"4321", T0),
        Err(Error::PasscodeWrong { .. })
    ));
    assert!(matches!(
        l.set_duress_code(b"1234", b"1234", T0 + 10_000),
        Err(Error::InvalidInput(_))
    ));
    let dk = l.set_duress_code(b"1234", b"4321", T0 + 20_000).unwrap();
    assert_ne!(*dk, [7u8; 32]);
    assert_eq!(
        store.get("vault.passcode").unwrap().unwrap().len(),
        before_len,
        "a duress slot is as long as the random one it replaced"
    );
    match l.unlock(b"4321", T0 + 30_000).unwrap() {
        Opened::Duress(k) => assert_eq!(*k, *dk),
        Opened::Main(_) => panic!("the duress code opened the vault"),
    }
    assert_eq!(main_key(l.unlock(b"1234", T0 + 40_000).unwrap()), [7u8; 32]);
    // The duress code cannot remove the passcode nor set another duress code: a wrong code's answer.
    assert!(matches!(
        l.remove_passcode(b"4321", T0 + 50_000),
        Err(Error::PasscodeWrong { .. })
    ));
    assert!(matches!(
        l.set_duress_code(b"4321", b"5555", T0 + 60_000),
        Err(Error::PasscodeWrong { .. })
    ));
    assert!(l.has_passcode().unwrap());
    // Changing the duress code keeps it a duress code; a change to the other code is refused.
    assert!(matches!(
        l.change_passcode(b"4321", b"1234", T0 + 70_000),
        Err(Error::InvalidInput(_))
    ));
    l.change_passcode(b"4321", b"8765", T0 + 80_000).unwrap();
    assert!(matches!(
        l.unlock(b"8765", T0 + 90_000).unwrap(),
        Opened::Duress(_)
    ));
    assert!(matches!(
        l.unlock(b"4321", T0 + 100_000),
        Err(Error::PasscodeWrong { .. })
    ));
}

#[test]
fn change_and_remove_the_passcode() {
    let store = MapStore::default();
    store.put("vault", &[7u8; 32]).unwrap();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    assert!(matches!(
        l.change_passcode(b"0000", b"5678", T0),
        Err(Error::PasscodeWrong { .. })
    ));
    l.change_passcode(b"1234", b"5678", T0 + 10_000).unwrap();
    assert!(matches!(
        l.unlock(b"1234", T0 + 20_000),
        Err(Error::PasscodeWrong { .. })
    ));
    assert_eq!(main_key(l.unlock(b"5678", T0 + 30_000).unwrap()), [7u8; 32]);
    l.remove_passcode(b"5678", T0 + 40_000).unwrap();
    assert!(!l.has_passcode().unwrap());
    assert_eq!(*l.plain_key().unwrap().unwrap(), [7u8; 32]);
    assert!(store.get("vault.passcode-secret").unwrap().is_none());
    assert!(store.get("vault.passcode").unwrap().is_none());
}

#[test]
fn wipe_destroys_the_secret_and_the_wrapped_key() {
    let store = MapStore::default();
    store.put("vault", &[7u8; 32]).unwrap();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    l.wipe().unwrap();
    assert!(
        store.0.borrow().is_empty(),
        "nothing of the vault's keys is left"
    );
    assert!(!l.has_passcode().unwrap());
    assert!(l.unlock(b"1234", T0).is_err());
    assert!(l.plain_key().unwrap().is_none());
}

#[test]
fn retry_delays() {
    assert_eq!(retry_delay_secs(0), 0);
    assert_eq!(retry_delay_secs(1), 2);
    assert_eq!(retry_delay_secs(9), 512);
    assert_eq!(retry_delay_secs(10), MAX_DELAY_SECS);
    assert_eq!(retry_delay_secs(u32::MAX), MAX_DELAY_SECS);
}
