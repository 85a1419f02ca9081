//! Admission by credential (protocol 9.8; issue 15, item 2) through a real relay on loopback: a relay
//! that stores only for one programme's people. A participant the coordinator granted a role syncs
//! its journal (presenting its credential once, on the relay's `not-admitted`); a stranger's device
//! stores nothing and is told so; the participant's phone, restored from the phrase without its
//! credential, gets its journal back on its certificate alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::{ProgrammeRole, ReqwestClient, SyncReport, Vault};
use sebaya_relay::RelayState;
use sebaya_relay::admission::{Mode, Policy};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    Vault::open(&dir.path().join(name), &[seed; 32]).unwrap()
}

struct Relay {
    _dir: tempfile::TempDir,
    handle: sebaya_relay::RelayHandle,
    state: RelayState,
    http: ReqwestClient,
}

impl Relay {
    fn sync(&self, v: &mut Vault) -> SyncReport {
        v.sync_with(&self.http, &self.handle.url()).unwrap()
    }
}

fn relay_for(programmes: Vec<[u8; 32]>) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let state = RelayState::open(&dir.path().join("relay"))
        .unwrap()
        .with_admission(Policy {
            mode: Mode::Credential,
            programmes,
        });
    let handle = sebaya_relay::spawn_state(state.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    Relay {
        _dir: dir,
        handle,
        state,
        http: ReqwestClient::new().unwrap(),
    }
}

#[test]
fn only_a_programmes_people_store_and_a_restored_phone_needs_only_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    coordinator.create_person().unwrap();
    let programme = coordinator.create_programme("PIK-R SMA 1").unwrap();
    let relay = relay_for(vec![programme]);

    let mut participant = vault(&dir, "p.db", 2);
    let phrase = participant.create_person().unwrap();
    participant
        .journal_add("Hari ini cukup baik.", 4, &[])
        .unwrap();
    // Before any grant: nothing is stored, and the report says why.
    let r = relay.sync(&mut participant);
    assert!(r.not_admitted > 0, "{r:?}");
    assert_eq!(r.pushed, 0, "{r:?}");

    let grant = coordinator
        .grant_programme_role(
            &programme,
            &participant.person_id().unwrap(),
            ProgrammeRole::Participant,
            180,
        )
        .unwrap();
    participant
        .add_programme_credential(&grant.credential)
        .unwrap();
    let r = relay.sync(&mut participant);
    assert_eq!(r.not_admitted, 0, "{r:?}");
    assert!(r.pushed > 0, "{r:?}");
    // Its proof before the grant admitted nothing; the one after did.
    assert_eq!(relay.state.admission_refusals(), 1);

    // A stranger's device: its spaces are refused, and its proof (no grant) admits nothing.
    let mut stranger = vault(&dir, "s.db", 3);
    stranger.create_person().unwrap();
    stranger.journal_add("x", 3, &[]).unwrap();
    let r = relay.sync(&mut stranger);
    assert!(r.not_admitted > 0, "{r:?}");
    assert_eq!(r.pushed, 0, "{r:?}");
    assert_eq!(relay.state.admission_refusals(), 2);

    // The phone is lost; a new one restored from the phrase has no credential, only a certificate.
    let mut restored = vault(&dir, "r.db", 4);
    restored.restore_person(&phrase).unwrap();
    relay.sync(&mut restored);
    let r = relay.sync(&mut restored);
    assert_eq!(r.not_admitted, 0, "{r:?}");
    let entries = restored.journal_list();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].text, "Hari ini cukup baik.");
    // And it writes there.
    restored.journal_add("Mulai lagi.", 3, &[]).unwrap();
    let r = relay.sync(&mut restored);
    assert_eq!(r.not_admitted, 0, "{r:?}");
    assert!(r.pushed > 0, "{r:?}");
}
