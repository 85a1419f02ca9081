//! A day of group activity on a facilitator's phone, shared by the resumable-sync tests and the
//! bad-link driver (`sebaya-netem`): a group with one member, then notes and edits, each sealed into
//! its own envelope as a phone that saves after every change does, so a sync has many envelopes to
//! move in chunks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use sebaya_core::groups::{GroupNote, add_note, edit_note, notes};
use sebaya_core::{SpaceId, Vault};

/// A facilitator, a member holding the facilitator's group (joined, nothing synced yet), and the
/// group's id.
pub fn group_pair(dir: &Path) -> (Vault, Vault, SpaceId) {
    group_pair_seeded(dir, 40)
}

/// [`group_pair`] with vault keys `seed` (facilitator) and `seed + 1` (member), so benchmarks keep
/// the devices their recorded runs used.
pub fn group_pair_seeded(dir: &Path, seed: u8) -> (Vault, Vault, SpaceId) {
    let mut fac = Vault::open(&dir.join("fac.db"), &[seed; 32]).unwrap();
    fac.create_person().unwrap();
    let mut member = Vault::open(&dir.join("mem.db"), &[seed.wrapping_add(1); 32]).unwrap();
    member.create_person().unwrap();
    let g = fac.create_group("Kelompok Sabtu").unwrap();
    let response = fac
        .approve_group_member(
            &g,
            &member.link_request().unwrap(),
            sebaya_core::Role::Member,
        )
        .unwrap();
    member.join_group(&response).unwrap();
    (fac, member, g)
}

const WORDS: [&str; 24] = [
    "hadir", "berbagi", "cerita", "minggu", "depan", "tidur", "kerja", "keluarga", "sedih", "lega",
    "teman", "sekolah", "makan", "doa", "jalan", "pasar", "anak", "ibu", "capek", "senang",
    "rumah", "hujan", "janji", "tenang",
];

/// Writes `changes` changes into the group (three quarters new notes of about `text_len`
/// characters of varied words, the rest edits), sealing after every `per_envelope` changes as a phone
/// that saves often does. `day` keeps note ids apart between days. Returns how many envelopes were
/// sealed.
pub fn day_of_activity(
    fac: &mut Vault,
    g: &SpaceId,
    day: u16,
    changes: usize,
    text_len: usize,
    per_envelope: usize,
) -> u32 {
    let me = fac.device_id().to_hex();
    let new = changes * 3 / 4;
    let mut sealed = 0;
    let mut rng = crate::workload::Mulberry32::new(u32::from(day) ^ 0x5eba);
    for i in 0..changes {
        let id = format!("{day:04x}{:012x}", i % new.max(1));
        let mut text = format!("Catatan sesi {i}:");
        while text.len() < text_len {
            text.push(' ');
            text.push_str(WORDS[rng.int(WORDS.len() as u32) as usize]);
        }
        text.truncate(text_len);
        if i < new {
            fac.with_space(g, |d, now| add_note(d, &id, "Catatan", &text, &me, now))
                .unwrap();
        } else {
            fac.with_space(g, |d, now| edit_note(d, &id, None, Some(&text), now))
                .unwrap();
        }
        if (i + 1) % per_envelope.max(1) == 0 || i + 1 == changes {
            sealed += fac.seal_pending().unwrap();
        }
    }
    sealed
}

/// The group's notes as `v` holds them.
pub fn group_notes(v: &mut Vault, g: &SpaceId) -> Vec<GroupNote> {
    v.read_space(g, notes).unwrap()
}
