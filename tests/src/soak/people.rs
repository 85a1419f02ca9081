//! The simulated people of one worker: a small programme whose people keep journals on a phone (and
//! sometimes a linked tablet), meet in groups of several members, arrive, invite each other, take
//! snapshots, erase entries, lose devices, are removed from groups and leave, at a steady rate. Every
//! device is a real [`Vault`] syncing through [`MeteredHttp`], so the relay sees what phones send.
//!
//! One action at a time per worker, each one or a few syncs, paced to `rate` actions a second. The
//! population is bounded (`people`; the oldest person leaves, their vault deleted, when one more
//! arrives), so the load stays steady while the relay's database keeps growing with new spaces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sebaya_core::{DeviceId, Role, SpaceId, SyncReport, Vault, groups};

use super::metrics::{MeteredHttp, Metrics};
use super::refusals::LiveSpaces;
use crate::workload::{Mulberry32, TAGS, vocab};

/// One worker's settings.
pub struct Load {
    /// The relay.
    pub url: String,
    /// Where this worker's vaults live.
    pub dir: PathBuf,
    /// Actions per second.
    pub rate: f64,
    /// People alive at once.
    pub people: usize,
    /// Seed of this worker's choices.
    pub seed: u32,
    /// Where requests are counted.
    pub metrics: Arc<Metrics>,
    /// Set when the run is over.
    pub stop: Arc<AtomicBool>,
    /// Spaces strangers ask for (`refusals`).
    pub live_spaces: Arc<LiveSpaces>,
}

/// The actions and their weights (out of 100).
const MIX: [(Action, u32); 11] = [
    (Action::JournalWrite, 28),
    (Action::DevicePull, 12),
    (Action::GroupWrite, 24),
    (Action::NewPerson, 4),
    (Action::NewGroup, 4),
    (Action::Invite, 5),
    (Action::Link, 4),
    (Action::RemoveDevice, 3),
    (Action::Snapshot, 6),
    (Action::Erase, 5),
    (Action::RemoveMember, 5),
];

#[derive(Clone, Copy, Debug)]
enum Action {
    JournalWrite,
    DevicePull,
    GroupWrite,
    NewPerson,
    NewGroup,
    Invite,
    Link,
    RemoveDevice,
    Snapshot,
    Erase,
    RemoveMember,
}

struct Device {
    vault: Vault,
    path: PathBuf,
}

struct Person {
    phone: Device,
    tablet: Option<Device>,
    /// Ids of the person's latest entries (for edits and erasures).
    entries: Vec<String>,
}

struct Group {
    id: SpaceId,
    facilitator: u64,
    members: Vec<u64>,
    /// Members removed: never invited back (a removal is for good in the membership log).
    removed: Vec<u64>,
}

/// The network side of a worker: the client and where it counts.
struct Net {
    url: String,
    http: MeteredHttp,
    metrics: Arc<Metrics>,
    /// Devices of people removed from some group. Such a phone is never told (the relay serves a
    /// removed device nothing new), so it still counts itself a member and may write a statement
    /// there (revoking its own lost tablet): the relay refuses it, `not-a-member`, and any later
    /// statement resting on it, `missing-parents`, such as the vouch of a tablet linked later.
    /// Expected, not failures.
    removed: RefCell<HashSet<DeviceId>>,
}

/// Refusal reasons a phone removed from a group may get for its own statements there.
const REMOVED_REASONS: [&str; 2] = ["not-a-member", "missing-parents"];

impl Net {
    /// Syncs `v` as `kind`. A sync that fails, or whose pushed envelopes the relay refused, is a
    /// failure of the run.
    fn sync(&self, v: &mut Vault, kind: &'static str) -> Option<SyncReport> {
        self.http.label(kind);
        match v.sync_with(&self.http, &self.url) {
            Ok(r) => {
                let why = self.http.take_rejections();
                let removed = self.removed.borrow().contains(&v.device_id());
                if r.rejected > 0
                    && removed
                    && why.len() == r.rejected as usize
                    && why
                        .iter()
                        .all(|w| REMOVED_REASONS.iter().any(|e| w.ends_with(e)))
                {
                    for w in why {
                        self.metrics.expected(kind, w);
                    }
                } else if r.rejected > 0 {
                    self.metrics.failure(
                        kind,
                        format!(
                            "{} pushed envelopes refused: {}",
                            r.rejected,
                            why.join(", ")
                        ),
                    );
                }
                Some(r)
            }
            Err(e) => {
                self.metrics.failure(kind, format!("sync: {e}"));
                None
            }
        }
    }

    /// Counts a local vault operation that failed.
    fn local<T>(&self, kind: &'static str, what: &str, r: sebaya_core::Result<T>) -> Option<T> {
        match r {
            Ok(t) => Some(t),
            Err(e) => {
                self.metrics.failure(kind, format!("{what}: {e}"));
                None
            }
        }
    }
}

struct World {
    net: Net,
    dir: PathBuf,
    rng: Mulberry32,
    people: BTreeMap<u64, Person>,
    groups: Vec<Group>,
    next_id: u64,
    cap: usize,
    seed: u32,
    live_spaces: Arc<LiveSpaces>,
}

/// Runs one worker until `stop` is set.
pub fn run(load: Load) {
    std::fs::create_dir_all(&load.dir).expect("worker dir");
    let mut w = World {
        net: Net {
            url: load.url.clone(),
            http: MeteredHttp::new(load.metrics.clone()),
            metrics: load.metrics.clone(),
            removed: RefCell::new(HashSet::new()),
        },
        dir: load.dir.clone(),
        rng: Mulberry32::new(load.seed),
        people: BTreeMap::new(),
        groups: Vec::new(),
        next_id: 1,
        cap: load.people.max(4),
        seed: load.seed,
        live_spaces: load.live_spaces.clone(),
    };
    let interval = Duration::from_secs_f64(1.0 / load.rate.max(0.01));
    let mut next = Instant::now();
    // A programme to start from: half the people and one group.
    while w.people.len() < w.cap / 2 && !load.stop.load(Ordering::Relaxed) {
        w.new_person();
    }
    w.new_group();
    while !load.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        } else if now - next > Duration::from_secs(10) {
            // Far behind (the machine is busy): keep the rate from here, do not burst.
            next = now;
        }
        next += interval;
        let action = w.pick();
        w.act(action);
        load.metrics.action_done();
    }
}

fn delete_vault(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl World {
    fn pick(&mut self) -> Action {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut r = self.rng.int(total);
        for (a, w) in MIX {
            if r < w {
                return a;
            }
            r -= w;
        }
        Action::JournalWrite
    }

    fn act(&mut self, action: Action) {
        let done = match action {
            Action::JournalWrite => false,
            Action::DevicePull => self.device_pull(),
            Action::GroupWrite => self.group_write(),
            Action::NewPerson => {
                self.new_person();
                true
            }
            Action::NewGroup => self.new_group(),
            Action::Invite => self.invite(),
            Action::Link => self.link(),
            Action::RemoveDevice => self.remove_device(),
            Action::Snapshot => self.snapshot(),
            Action::Erase => self.erase(),
            Action::RemoveMember => self.remove_member(),
        };
        // An action whose preconditions do not hold (no tablet to remove...) writes a journal entry.
        if !done {
            self.journal_write();
        }
    }

    fn text(&mut self) -> String {
        let words = vocab();
        let n = 8 + self.rng.int(30) as usize;
        let mut out = String::new();
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(words[self.rng.int(words.len() as u32) as usize]);
        }
        out
    }

    fn random_person(&mut self) -> Option<u64> {
        if self.people.is_empty() {
            return None;
        }
        let i = self.rng.int(self.people.len() as u32) as usize;
        self.people.keys().nth(i).copied()
    }

    fn open_device(&mut self, name: &str) -> Option<Device> {
        let path = self.dir.join(format!("{name}-{}.db", self.next_id));
        self.next_id += 1;
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&self.seed.to_be_bytes());
        key[4..12].copy_from_slice(&self.next_id.to_be_bytes());
        let vault = self
            .net
            .local("open", "open a vault", Vault::open(&path, &key))?;
        Some(Device { vault, path })
    }

    fn journal_write(&mut self) {
        let Some(id) = self.random_person() else {
            self.new_person();
            return;
        };
        let text = self.text();
        let mood = 1 + self.rng.int(5) as u8;
        let tag = TAGS[self.rng.int(TAGS.len() as u32) as usize].to_string();
        let edit = self.rng.int(10) < 3;
        let p = self.people.get_mut(&id).expect("listed");
        let net = &self.net;
        if edit && !p.entries.is_empty() {
            let e = p.entries[(text.len() + mood as usize) % p.entries.len()].clone();
            net.local(
                "journal-push",
                "edit an entry",
                p.phone.vault.journal_edit(&e, Some(&text), None, None),
            );
        } else if let Some(e) = net.local(
            "journal-push",
            "add an entry",
            p.phone.vault.journal_add(&text, mood, &[tag]),
        ) {
            p.entries.push(e);
            if p.entries.len() > 32 {
                p.entries.remove(0);
            }
        }
        net.sync(&mut p.phone.vault, "journal-push");
    }

    fn device_pull(&mut self) -> bool {
        let Some(id) = self.random_person() else {
            return false;
        };
        let text = self.text();
        let write = self.rng.int(4) == 0;
        let p = self.people.get_mut(&id).expect("listed");
        let Some(t) = p.tablet.as_mut() else {
            return false;
        };
        // Entries written here are not offered for edits: the phone may not have pulled them yet.
        if write {
            self.net.local(
                "device-pull",
                "add an entry on a tablet",
                t.vault.journal_add(&text, 3, &[]),
            );
        }
        self.net.sync(&mut t.vault, "device-pull").is_some()
    }

    fn new_person(&mut self) {
        let Some(mut phone) = self.open_device("phone") else {
            return;
        };
        let text = self.text();
        let net = &self.net;
        net.local("person-new", "make a person", phone.vault.create_person());
        let first = net.local(
            "person-new",
            "first entry",
            phone.vault.journal_add(&text, 3, &[]),
        );
        net.sync(&mut phone.vault, "person-new");
        if let Some(j) = phone.vault.journal_space() {
            self.live_spaces.add(j);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.people.insert(
            id,
            Person {
                phone,
                tablet: None,
                entries: first.into_iter().collect(),
            },
        );
        while self.people.len() > self.cap {
            let Some((&oldest, _)) = self.people.iter().next() else {
                break;
            };
            self.leave(oldest);
        }
    }

    /// A person leaves the programme: their devices are gone for good (vaults deleted), and groups
    /// they facilitated stop (their members keep them, as phones keep a group nobody runs).
    fn leave(&mut self, id: u64) {
        if let Some(p) = self.people.remove(&id) {
            for d in std::iter::once(p.phone).chain(p.tablet) {
                let path = d.path.clone();
                drop(d.vault);
                delete_vault(&path);
            }
        }
        self.groups.retain(|g| g.facilitator != id);
        for g in &mut self.groups {
            g.members.retain(|m| *m != id);
        }
    }

    fn new_group(&mut self) -> bool {
        if self.people.len() < 3 {
            return false;
        }
        let Some(fid) = self.random_person() else {
            return false;
        };
        let want = 2 + self.rng.int(3) as usize;
        let mut members = Vec::new();
        for _ in 0..want * 3 {
            if let Some(m) = self.random_person()
                && m != fid
                && !members.contains(&m)
                && members.len() < want
            {
                members.push(m);
            }
        }
        let mut f = self.people.remove(&fid).expect("listed");
        let kind = "group-new";
        let net = &self.net;
        let Some(g) = net.local(
            kind,
            "create a group",
            f.phone.vault.create_group("Kelompok"),
        ) else {
            self.people.insert(fid, f);
            return true;
        };
        let mut joined = Vec::new();
        for m in members {
            let p = self.people.get_mut(&m).expect("listed");
            let Some(request) = net.local(kind, "link request", p.phone.vault.link_request())
            else {
                continue;
            };
            let Some(resp) = net.local(
                kind,
                "approve a member",
                f.phone
                    .vault
                    .approve_group_member(&g, &request, Role::Member),
            ) else {
                continue;
            };
            if net
                .local(kind, "join a group", p.phone.vault.join_group(&resp))
                .is_some()
            {
                joined.push(m);
            }
        }
        net.sync(&mut f.phone.vault, kind);
        self.people.insert(fid, f);
        for m in &joined {
            let p = self.people.get_mut(m).expect("listed");
            self.net.sync(&mut p.phone.vault, kind);
        }
        self.live_spaces.add(g);
        self.groups.push(Group {
            id: g,
            facilitator: fid,
            members: joined,
            removed: Vec::new(),
        });
        if self.groups.len() > self.cap / 2 {
            // The oldest group is no longer run (its members keep it and sync it, unused).
            self.groups.remove(0);
        }
        true
    }

    fn random_group(&mut self) -> Option<usize> {
        if self.groups.is_empty() {
            return None;
        }
        Some(self.rng.int(self.groups.len() as u32) as usize)
    }

    fn group_write(&mut self) -> bool {
        let Some(gi) = self.random_group() else {
            return false;
        };
        let g = &self.groups[gi];
        let everyone: Vec<u64> = std::iter::once(g.facilitator)
            .chain(g.members.iter().copied())
            .collect();
        let gid = g.id;
        let writer = everyone[self.rng.int(everyone.len() as u32) as usize];
        let reader = everyone[self.rng.int(everyone.len() as u32) as usize];
        let note = format!("{:016x}", (self.rng.next_u32() as u64) << 32 | self.next_id);
        self.next_id += 1;
        let text = self.text();
        let p = self.people.get_mut(&writer).expect("member");
        let me = p.phone.vault.device_id().to_hex();
        let wrote = p.phone.vault.with_space(&gid, |d, now| {
            groups::add_note(d, &note, "Catatan", &text, &me, now)
        });
        self.net.local("group-push", "add a note", wrote);
        self.net.sync(&mut p.phone.vault, "group-push");
        if reader != writer {
            let p = self.people.get_mut(&reader).expect("member");
            self.net.sync(&mut p.phone.vault, "group-pull");
        }
        true
    }

    fn invite(&mut self) -> bool {
        let Some(gi) = self.random_group() else {
            return false;
        };
        let (gid, fid) = (self.groups[gi].id, self.groups[gi].facilitator);
        let outside: Vec<u64> = self
            .people
            .keys()
            .copied()
            .filter(|p| {
                let g = &self.groups[gi];
                *p != fid && !g.members.contains(p) && !g.removed.contains(p)
            })
            .collect();
        if outside.is_empty() {
            return false;
        }
        let nid = outside[self.rng.int(outside.len() as u32) as usize];
        let kind = "invite";
        let mut f = self.people.remove(&fid).expect("listed");
        let mut n = self.people.remove(&nid).expect("listed");
        let net = &self.net;
        let ok = (|| {
            let inv = net.local(
                kind,
                "create an invite",
                f.phone.vault.create_invite_with(&gid, 3600, true),
            )?;
            net.sync(&mut f.phone.vault, kind)?;
            net.local(
                kind,
                "accept an invite",
                n.phone.vault.accept_invite(&inv.code, "Anggota baru"),
            )?;
            net.sync(&mut n.phone.vault, kind)?;
            net.sync(&mut f.phone.vault, kind)?;
            let device = n.phone.vault.device_id();
            let requests = net.local(kind, "join requests", f.phone.vault.join_requests())?;
            let Some(req) = requests.iter().find(|r| r.device == device) else {
                net.metrics.failure(
                    kind,
                    "the join request did not reach the facilitator".into(),
                );
                return None;
            };
            net.local(
                kind,
                "approve a join request",
                f.phone.vault.approve_join_request(&req.id),
            )?;
            net.sync(&mut f.phone.vault, kind)?;
            let r = net.sync(&mut n.phone.vault, kind)?;
            if r.joined != 1 {
                net.metrics
                    .failure(kind, "an approved newcomer did not join".into());
                return None;
            }
            Some(())
        })();
        self.people.insert(fid, f);
        self.people.insert(nid, n);
        if ok.is_some() {
            self.groups[gi].members.push(nid);
        }
        true
    }

    fn link(&mut self) -> bool {
        let Some(id) = self.random_person() else {
            return false;
        };
        if self.people[&id].tablet.is_some() {
            return false;
        }
        let Some(mut t) = self.open_device("tablet") else {
            return true;
        };
        let kind = "link";
        let p = self.people.get_mut(&id).expect("listed");
        let net = &self.net;
        if net.removed.borrow().contains(&p.phone.vault.device_id()) {
            net.removed.borrow_mut().insert(t.vault.device_id());
        }
        let linked = (|| {
            let request = net.local(kind, "link request", t.vault.link_request())?;
            let resp = net.local(kind, "approve a link", p.phone.vault.approve_link(&request))?;
            net.local(kind, "complete a link", t.vault.complete_link(&resp))?;
            net.sync(&mut p.phone.vault, kind)?;
            net.sync(&mut t.vault, kind)
        })();
        if linked.is_some() {
            p.tablet = Some(t);
        } else {
            let path = t.path.clone();
            drop(t);
            delete_vault(&path);
        }
        true
    }

    fn remove_device(&mut self) -> bool {
        let Some(id) = self.random_person() else {
            return false;
        };
        let p = self.people.get_mut(&id).expect("listed");
        let Some(mut t) = p.tablet.take() else {
            return false;
        };
        let net = &self.net;
        let lost = t.vault.device_id();
        // A tablet that has not synced since an erasure is no member of the new journal, and
        // `remove_device` refuses it (`NotFound`); see docs/reliability.md, "Soak". Kept.
        if !p
            .phone
            .vault
            .journal_membership()
            .is_some_and(|m| m.is_member(&lost))
        {
            p.tablet = Some(t);
            return false;
        }
        if net
            .local(
                "remove-device",
                "remove a device",
                p.phone.vault.remove_device(&lost),
            )
            .is_some()
        {
            net.sync(&mut p.phone.vault, "remove-device");
            // The lost tablet tries once more: the relay must no longer serve it its journal.
            net.http.label("removed-device");
            match t.vault.sync_with(&net.http, &net.url) {
                Ok(r) if r.refused_spaces == 0 => net
                    .metrics
                    .failure("removed-device", "a removed device was still served".into()),
                _ => {}
            }
            // What it pushed is refused too (`not-a-member`), as it should be; taken here so that
            // the next device's sync is judged on its own refusals.
            for w in net.http.take_rejections() {
                net.metrics.expected("removed-device", w);
            }
        }
        let path = t.path.clone();
        drop(t);
        delete_vault(&path);
        true
    }

    fn snapshot(&mut self) -> bool {
        let Some(id) = self.random_person() else {
            return false;
        };
        let p = self.people.get_mut(&id).expect("listed");
        let net = &self.net;
        net.local(
            "snapshot",
            "seal a snapshot",
            p.phone.vault.snapshot_now(None),
        );
        net.sync(&mut p.phone.vault, "snapshot");
        if let Some(t) = p.tablet.as_mut() {
            net.sync(&mut t.vault, "snapshot-pull");
        }
        true
    }

    fn erase(&mut self) -> bool {
        let Some(id) = self.random_person() else {
            return false;
        };
        let p = self.people.get_mut(&id).expect("listed");
        if p.entries.len() < 2 {
            return false;
        }
        let gone = p.entries.remove(0);
        let net = &self.net;
        let erased = p
            .phone
            .vault
            .erase_journal_entries(std::slice::from_ref(&gone), now_ms());
        if let Some(j) = net.local("erase", "erase an entry", erased) {
            self.live_spaces.add(j);
        }
        net.sync(&mut p.phone.vault, "erase");
        if let Some(t) = p.tablet.as_mut() {
            net.sync(&mut t.vault, "erase");
        }
        true
    }

    fn remove_member(&mut self) -> bool {
        let Some(gi) = self.random_group() else {
            return false;
        };
        if self.groups[gi].members.len() < 2 {
            return false;
        }
        let g = &self.groups[gi];
        let (gid, fid) = (g.id, g.facilitator);
        let mi = self.rng.int(g.members.len() as u32) as usize;
        let mid = g.members[mi];
        let device = self.people[&mid].phone.vault.device_id();
        let net = &self.net;
        let f = self.people.get_mut(&fid).expect("listed");
        if net
            .local(
                "remove-member",
                "remove a member",
                f.phone.vault.remove_group_member(&gid, &device),
            )
            .is_none()
        {
            return true;
        }
        net.sync(&mut f.phone.vault, "remove-member");
        net.removed.borrow_mut().insert(device);
        if let Some(t) = &self.people[&mid].tablet {
            net.removed.borrow_mut().insert(t.vault.device_id());
        }
        let g = &mut self.groups[gi];
        g.members.remove(mi);
        g.removed.push(mid);
        // The removed member's next sync: the relay must refuse the group.
        let m = self.people.get_mut(&mid).expect("listed");
        if let Some(r) = net.sync(&mut m.phone.vault, "removed-member")
            && r.refused_spaces == 0
        {
            net.metrics
                .failure("removed-member", "a removed member was still served".into());
        }
        true
    }
}
