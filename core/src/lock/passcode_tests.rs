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
    // Only the passcode changes the duress code (set it again); the duress code still opens.
    let dk2 = l.set_duress_code(b"1234", b"8765", T0 + 70_000).unwrap();
    match l.unlock(b"8765", T0 + 90_000).unwrap() {
        Opened::Duress(k) => assert_eq!(*k, *dk2),
        Opened::Main(_) => panic!("the duress code opened the vault"),
    }
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

/// Review H1: whoever knows the duress code must not reset the delay that slows guesses of the
/// passcode, and the duress unlock itself answers as any unlock does.
#[test]
fn a_duress_unlock_keeps_the_wrong_try_counter_as_it_was() {
    let store = MapStore::default();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    l.set_duress_code(b"1234", b"4321", T0).unwrap();
    let mut now = T0 + 10_000;
    let mut waits = Vec::new();
    for _ in 0..4 {
        match l.unlock(b"0000", now) {
            Err(Error::PasscodeWrong { retry_after_secs }) => waits.push(retry_after_secs),
            _ => panic!("a wrong code must fail"),
        }
        now += *waits.last().unwrap() as i64 * 1000;
        assert!(matches!(l.unlock(b"4321", now).unwrap(), Opened::Duress(_)));
    }
    assert_eq!(
        waits,
        vec![2, 4, 8, 16],
        "the doubling goes on past duress unlocks"
    );
    // The passcode itself still resets the counter.
    assert!(matches!(l.unlock(b"1234", now).unwrap(), Opened::Main(_)));
    match l.unlock(b"0000", now) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 2),
        _ => panic!("a wrong code must fail"),
    }
}

/// Review H2 and M3(2): from the duress vault, changing, removing the passcode or setting a duress
/// code is answered exactly as a wrong code (counted, with the same delay), never as "choose a
/// different passcode", so it is no undelayed oracle for the passcode.
#[test]
fn the_duress_code_changes_nothing_and_is_answered_as_a_wrong_code() {
    let store = MapStore::default();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    l.set_duress_code(b"1234", b"4321", T0).unwrap();
    let before = store.get("vault.passcode").unwrap().unwrap();
    // Three wrong tries, then each duress-code call must say what a fourth wrong code says.
    let mut now = T0 + 10_000;
    for d in [2, 4, 8] {
        assert!(l.unlock(b"0000", now).is_err());
        now += d * 1000;
    }
    match l.change_passcode(b"4321", b"1234", now) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 16),
        Err(e) => panic!("change from the duress code gave {e}"),
        Ok(()) => panic!("change from the duress code succeeded"),
    }
    // A second try at once is too soon: the miss was counted.
    assert!(matches!(
        l.change_passcode(b"4321", b"1235", now),
        Err(Error::PasscodeTooSoon { .. })
    ));
    now += 16_000;
    match l.remove_passcode(b"4321", now) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 32),
        _ => panic!("remove with the duress code must be a wrong code"),
    }
    now += 32_000;
    match l.set_duress_code(b"4321", b"5555", now) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 64),
        _ => panic!("set_duress_code with the duress code must be a wrong code"),
    }
    assert_eq!(store.get("vault.passcode").unwrap().unwrap(), before);
    now += 64_000;
    assert!(matches!(l.unlock(b"1234", now).unwrap(), Opened::Main(_)));
}

/// Review H3: a clock set back never makes the wait longer than the rule: the record is anchored
/// again at the clock's time, so the right passcode opens once the rule's wait has passed.
#[test]
fn a_clock_set_back_does_not_lock_the_right_passcode_out() {
    let store = MapStore::default();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    let year = 365 * 86_400_000;
    assert!(matches!(
        l.unlock(b"0000", T0 + year),
        Err(Error::PasscodeWrong {
            retry_after_secs: 2
        })
    ));
    match l.unlock(b"1234", T0) {
        Err(Error::PasscodeTooSoon { retry_after_secs }) => assert_eq!(retry_after_secs, 2),
        _ => panic!("expected too soon"),
    }
    assert!(matches!(
        l.unlock(b"1234", T0 + 3_000).unwrap(),
        Opened::Main(_)
    ));
    // No overflow on the core's API with extreme values (review L3).
    store
        .put(
            "vault.passcode-tries",
            &Tries {
                failures: 1,
                not_before_ms: i64::MAX,
            }
            .to_bytes(),
        )
        .unwrap();
    assert!(matches!(
        l.unlock(b"1234", -1),
        Err(Error::PasscodeTooSoon {
            retry_after_secs: 2
        })
    ));
}

/// Review M6(b, c): deleting the counter (or a key store that cannot read it) does not reset the
/// delay while a passcode is set: it counts as the most wrong tries.
#[test]
fn a_missing_counter_is_the_cap_not_a_fresh_start() {
    let store = MapStore::default();
    let l = lock(&store);
    l.set_passcode(b"1234").unwrap();
    assert!(matches!(l.unlock(b"1234", T0).unwrap(), Opened::Main(_)));
    store.delete("vault.passcode-tries").unwrap();
    match l.unlock(b"0000", T0 + 1_000) {
        Err(Error::PasscodeWrong { retry_after_secs }) => assert_eq!(retry_after_secs, 900),
        _ => panic!("expected wrong"),
    }
}

/// A store shared by threads whose read of the counter is slow (as a Keystore IPC is).
#[derive(Default)]
struct SlowStore(std::sync::Mutex<BTreeMap<String, Vec<u8>>>);

impl SecretStore for SlowStore {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let v = self
            .0
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .map(Zeroizing::new);
        if name.ends_with(".passcode-tries") {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(v)
    }
    fn put(&self, name: &str, value: &[u8]) -> Result<()> {
        self.0.lock().unwrap().insert(name.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

/// Review M1: two tries at once are counted as two (one waits for the other and is then too soon).
#[test]
fn concurrent_tries_are_each_counted() {
    let store = SlowStore::default();
    PasscodeLock::new(&store, "vault", KdfParams::MIN)
        .unwrap()
        .set_passcode(b"1234")
        .unwrap();
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let l = PasscodeLock::new(&store, "vault", KdfParams::MIN).unwrap();
                    barrier.wait();
                    l.unlock(b"0000", T0).map(|_| ())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wrong = results
        .iter()
        .filter(|r| matches!(r, Err(Error::PasscodeWrong { .. })))
        .count();
    let soon = results
        .iter()
        .filter(|r| matches!(r, Err(Error::PasscodeTooSoon { .. })))
        .count();
    assert_eq!((wrong, soon), (1, 1));
}
