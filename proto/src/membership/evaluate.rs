//! The evaluation rule of section 15.6 over a set of applied statements: revocation wins, labelling
//! settles concurrent revocations, and each statement's authority is judged in its own past. The
//! costly part of the log, kept apart so its cost can be read (and, later, made incremental).
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::envelope::DeviceId;

use super::*;

/// A set of statement indices, one bit each.
#[derive(Clone, Debug, Default)]
pub(super) struct Bits(Vec<u64>);

impl Bits {
    pub(super) fn has(&self, i: usize) -> bool {
        self.0
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    pub(super) fn set(&mut self, i: usize) {
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1u64 << (i % 64);
    }

    pub(super) fn union(&mut self, other: &Bits) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= *b;
        }
    }

    pub(super) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub(super) fn all(n: usize) -> Bits {
        let mut b = Bits(vec![u64::MAX; n.div_ceil(64)]);
        if n % 64 != 0 {
            if let Some(last) = b.0.last_mut() {
                *last = (1u64 << (n % 64)) - 1;
            }
        }
        b
    }
}

#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) statement: SignedStatement,
    pub(super) parents: Vec<usize>,
    pub(super) children: Vec<usize>,
    /// Indices of every ancestor (strict causal past).
    pub(super) past: Bits,
    /// Whether the author is an admin in the state of exactly its causal past (genesis: true). Fixed
    /// once computed: the past of a statement never changes.
    pub(super) authorised: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Evaluation {
    pub(super) state: MembershipState,
    /// Indexed like `nodes`; false for statements outside the evaluated set.
    pub(super) valid: Vec<bool>,
    /// Units of work the evaluation took (see [`MembershipLog::work`]).
    pub(super) work: u64,
}
impl MembershipLog {
    /// The rule of section 15, applied to a set of applied statements closed under parents.
    pub(super) fn evaluate(&self, set: &Bits) -> Evaluation {
        let n = self.nodes.len();
        let work = std::cell::Cell::new(n as u64);
        let tick = |k: usize| work.set(work.get() + k as u64);
        let members: Vec<usize> = (0..n).filter(|&i| set.has(i)).collect();
        tick(members.len());
        let op = |i: usize| self.nodes[i].statement.statement().op;
        let author = |i: usize| self.nodes[i].statement.statement().author;

        // 1. Candidate revocations: removals and demotions whose author was an admin in their own past.
        let candidates: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].authorised && op(i).revokes().is_some())
            .collect();
        let mut by_target: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        for &r in &candidates {
            if let Some(t) = op(r).revokes() {
                by_target.entry(t).or_default().push(r);
            }
        }
        // Seniority among admins: how deep in the log the statement that first made each device an
        // admin sits (the genesis admin is the most senior), ties by device id. A device cannot change
        // its own seniority: its grant is someone else's statement.
        let mut seniority: HashMap<DeviceId, (usize, DeviceId)> = HashMap::new();
        for &i in &members {
            if !(self.nodes[i].authorised || matches!(op(i), Op::Genesis { .. })) {
                continue;
            }
            let granted = match op(i) {
                Op::Genesis { admin, .. } => Some(admin),
                Op::Add {
                    device,
                    role: Role::Admin,
                    ..
                }
                | Op::SetRole {
                    device,
                    role: Role::Admin,
                } => Some(device),
                _ => None,
            };
            if let Some(d) = granted {
                tick(self.nodes[i].past.0.len());
                let depth = self.nodes[i].past.count();
                let e = seniority.entry(d).or_insert((depth, d));
                if depth < e.0 {
                    *e = (depth, d);
                }
            }
        }
        let more_senior = |a: &DeviceId, b: &DeviceId| -> bool {
            let ra = seniority.get(a).copied().unwrap_or((usize::MAX, *a));
            let rb = seniority.get(b).copied().unwrap_or((usize::MAX, *b));
            ra < rb
        };
        // r' attacks r when r' revokes r's author concurrently with r. When r also revokes r''s
        // author (two admins revoking each other concurrently), only the more senior one's revocation
        // stands: a device removed by its owner cannot retaliate and take the remover with it.
        let attackers: HashMap<usize, Vec<usize>> = candidates
            .iter()
            .filter(|&&r| !matches!(op(r), Op::RevokeDevice { .. }))
            .map(|&r| {
                let target = op(r).revokes();
                let list = by_target
                    .get(&author(r))
                    .map(|rs| {
                        tick(rs.len());
                        rs.iter()
                            .copied()
                            .filter(|&r2| {
                                self.concurrent(r, r2)
                                    && (Some(author(r2)) != target
                                        || more_senior(&author(r2), &author(r))
                                        // A person's revocation is the person's word, not a
                                        // device's: seniority does not set it aside.
                                        || matches!(op(r2), Op::RevokeDevice { .. }))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (r, list)
            })
            .collect();
        // 2. Grounded labelling: IN when every attacker is OUT, OUT when some attacker is IN. A
        // revocation stands unless it is OUT (undecided cycles: the revocations stand).
        #[derive(Clone, Copy, PartialEq)]
        enum Label {
            Undecided,
            In,
            Out,
        }
        let mut label: HashMap<usize, Label> =
            candidates.iter().map(|&r| (r, Label::Undecided)).collect();
        loop {
            let mut changed = false;
            tick(candidates.len());
            for &r in &candidates {
                if label.get(&r) != Some(&Label::Undecided) {
                    continue;
                }
                let atk = attackers.get(&r).map(Vec::as_slice).unwrap_or_default();
                tick(atk.len());
                let next = if atk.iter().any(|a| label.get(a) == Some(&Label::In)) {
                    Label::Out
                } else if atk.iter().all(|a| label.get(a) == Some(&Label::Out)) {
                    Label::In
                } else {
                    continue;
                };
                label.insert(r, next);
                changed = true;
            }
            if !changed {
                break;
            }
        }
        let mut standing = vec![false; n];
        let mut standing_by_target: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        for &r in &candidates {
            if label.get(&r) == Some(&Label::Out) {
                continue;
            }
            if let Some(t) = op(r).revokes() {
                standing[r] = true;
                standing_by_target.entry(t).or_default().push(r);
            }
        }
        // A standing revocation of `d` concurrent with statement `i` (removals only, or any).
        let revoked_concurrently = |d: &DeviceId, i: usize, removals_only: bool| {
            standing_by_target.get(d).is_some_and(|rs| {
                tick(rs.len());
                rs.iter()
                    .any(|&r| (!removals_only || op(r).is_remove()) && self.concurrent(r, i))
            })
        };

        // Every device each person ever had here (adds, admits, vouches, recertifies): a vouch under
        // a person is set aside when a revocation of one of that person's devices, or a succession
        // away from that person, stands concurrently with it (a removed person cannot vouch back in
        // on old parents; an old phrase cannot vouch past its replacement).
        let mut person_devices: HashMap<[u8; 32], Vec<DeviceId>> = HashMap::new();
        for &i in &members {
            let (p, d) = match op(i) {
                Op::Add {
                    device,
                    person: Some(p),
                    ..
                }
                | Op::Admit {
                    device,
                    person: Some(p),
                    ..
                }
                | Op::Recertify {
                    device, person: p, ..
                } => (p, device),
                Op::Vouch { person, .. } => (person, author(i)),
                _ => continue,
            };
            person_devices.entry(p).or_default().push(d);
        }
        let person_set_aside = |p: &[u8; 32], i: usize| {
            tick(members.len());
            person_devices.get(p).is_some_and(|ds| {
                tick(ds.len());
                ds.iter().any(|d| {
                    standing_by_target
                        .get(d)
                        .is_some_and(|rs| rs.iter().any(|&r| self.concurrent(r, i)))
                })
            }) || members.iter().any(|&u| {
                self.nodes[u].authorised
                    && matches!(op(u), Op::Succession { old, .. } if old == *p)
                    && self.concurrent(u, i)
            })
        };

        // Revocations of invites by devices that were admins in their own past: an admit concurrent
        // with one of these does not count (revocation wins, as for members).
        let uninvited_concurrently = |invite: &[u8; 16], i: usize| {
            tick(members.len());
            members.iter().any(|&u| {
                self.nodes[u].authorised
                    && matches!(op(u), Op::Uninvite { invite: x } if x == *invite)
                    && self.concurrent(u, i)
            })
        };

        // 3. Linearise: Kahn's algorithm, among ready statements removals first, then smallest id.
        let mut indegree = vec![0usize; n];
        let mut ready = BinaryHeap::new();
        for &i in &members {
            indegree[i] = self.nodes[i].parents.len();
            if indegree[i] == 0 {
                ready.push(Reverse((
                    !op(i).is_remove(),
                    self.nodes[i].statement.id(),
                    i,
                )));
            }
        }

        // 4. Walk.
        let mut state = MembershipState::default();
        let mut valid = vec![false; n];
        // Revocations applied to a device since it last became admin.
        let mut lost: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        while let Some(Reverse((_, _, i))) = ready.pop() {
            tick(1 + self.nodes[i].children.len());
            for &c in &self.nodes[i].children {
                if set.has(c) {
                    indegree[c] -= 1;
                    if indegree[c] == 0 {
                        ready.push(Reverse((
                            !op(c).is_remove(),
                            self.nodes[c].statement.id(),
                            c,
                        )));
                    }
                }
            }
            let a = author(i);
            let ok = match op(i) {
                Op::Genesis { .. } => true,
                // A person's revocation stands on the person's key alone.
                Op::RevokeDevice { .. } => standing[i],
                o if o.revokes().is_some() => {
                    standing[i]
                        && (state.is_admin(&a)
                            || lost
                                .get(&a)
                                .is_some_and(|rs| rs.iter().all(|&r| self.concurrent(r, i))))
                }
                Op::Vouch { person, .. } => {
                    tick(state.persons.len());
                    self.nodes[i].authorised
                        && state.has_person(&person)
                        && !state.is_member(&a)
                        && !state.removed.contains_key(&a)
                        && !revoked_concurrently(&a, i, true)
                        && !person_set_aside(&person, i)
                }
                Op::Recertify {
                    device,
                    x25519,
                    person,
                    ..
                } => {
                    // Claims a device the log names no person for, or proves the person an admin
                    // named for it; never moves a device to another person.
                    self.nodes[i].authorised
                        && device == a
                        && state.is_member(&a)
                        && state
                            .persons
                            .get(&device)
                            .is_none_or(|p| *p == person && !state.proven.contains(&device))
                        && state.x25519.get(&device).is_none_or(|k| *k == x25519)
                        && !revoked_concurrently(&a, i, false)
                }
                Op::Succession { old, .. } => {
                    tick(state.persons.len());
                    self.nodes[i].authorised && state.has_person(&old)
                }
                Op::Admit { invite, .. } => {
                    self.nodes[i].authorised
                        && state.is_admin(&a)
                        && !revoked_concurrently(&a, i, false)
                        && state.invites.get(&invite).is_some_and(|inv| {
                            inv.status == InviteStatus::Open
                                && inv.author == a
                                && self.nodes[i].statement.statement().time <= inv.expires
                        })
                        && !uninvited_concurrently(&invite, i)
                }
                _ => {
                    self.nodes[i].authorised
                        && state.is_admin(&a)
                        && !revoked_concurrently(&a, i, false)
                }
            };
            if !ok {
                continue;
            }
            valid[i] = true;
            match op(i) {
                Op::Genesis { admin, x25519 } => {
                    state.members.insert(admin, Role::Admin);
                    if let Some(k) = x25519 {
                        state.x25519.insert(admin, k);
                    }
                }
                Op::Add {
                    device,
                    role,
                    person,
                    x25519,
                } => {
                    if state.is_member(&device) || revoked_concurrently(&device, i, true) {
                        continue;
                    }
                    let role = if role == Role::Admin && revoked_concurrently(&device, i, false) {
                        Role::Member
                    } else {
                        role
                    };
                    state.members.insert(device, role);
                    state.removed.remove(&device);
                    state.removed_roles.remove(&device);
                    state.removed_persons.remove(&device);
                    state.proven.remove(&device);
                    if let Some(p) = person {
                        state.persons.insert(device, p);
                    }
                    if let Some(k) = x25519 {
                        state.x25519.insert(device, k);
                    }
                    if role == Role::Admin {
                        lost.remove(&device);
                    }
                }
                Op::Remove { device, last_seq }
                | Op::RevokeDevice {
                    device, last_seq, ..
                } => {
                    if let Some(r) = state.members.remove(&device) {
                        state.removed_roles.insert(device, r);
                    }
                    if let Some(p) = state.persons.remove(&device) {
                        state.removed_persons.insert(device, p);
                    }
                    state.x25519.remove(&device);
                    let entry = state.removed.entry(device).or_insert(last_seq);
                    *entry = (*entry).min(last_seq);
                    lost.entry(device).or_default().push(i);
                }
                Op::SetRole { device, role } => {
                    if !state.is_member(&device) {
                        continue;
                    }
                    match role {
                        Role::Admin => {
                            if !revoked_concurrently(&device, i, false) {
                                state.members.insert(device, Role::Admin);
                                lost.remove(&device);
                            }
                        }
                        Role::Member => {
                            state.members.insert(device, Role::Member);
                            lost.entry(device).or_default().push(i);
                        }
                    }
                }
                Op::Rotate { commit } => {
                    state.epochs.push(EpochInfo {
                        id: crate::EpochId(self.nodes[i].statement.id().0),
                        commit,
                        author: a,
                    });
                }
                Op::Invite {
                    invite,
                    expires,
                    gate,
                } => {
                    state.invites.entry(invite).or_insert(InviteInfo {
                        author: a,
                        expires,
                        gate,
                        status: InviteStatus::Open,
                    });
                }
                Op::Uninvite { invite } => {
                    if let Some(inv) = state.invites.get_mut(&invite) {
                        if inv.status == InviteStatus::Open {
                            inv.status = InviteStatus::Revoked;
                        }
                    }
                }
                Op::Vouch { person, x25519, .. } => {
                    tick(state.members.len());
                    let admin = state
                        .members
                        .iter()
                        .any(|(d, r)| *r == Role::Admin && state.persons.get(d) == Some(&person));
                    let role = if admin && !revoked_concurrently(&a, i, false) {
                        Role::Admin
                    } else {
                        Role::Member
                    };
                    state.members.insert(a, role);
                    state.persons.insert(a, person);
                    state.x25519.insert(a, x25519);
                    state.proven.insert(a);
                }
                Op::Recertify { device, person, .. } => {
                    state.persons.insert(device, person);
                    state.proven.insert(device);
                }
                Op::Succession { old, new, .. } => {
                    tick(state.persons.len());
                    for p in state.persons.values_mut() {
                        if *p == old {
                            *p = new;
                        }
                    }
                    state.successors.insert(old, new);
                }
                Op::Admit {
                    device,
                    person,
                    x25519,
                    invite,
                } => {
                    if let Some(inv) = state.invites.get_mut(&invite) {
                        inv.status = InviteStatus::Spent(device);
                    }
                    if state.is_member(&device) || revoked_concurrently(&device, i, true) {
                        continue;
                    }
                    state.members.insert(device, Role::Member);
                    state.removed.remove(&device);
                    state.removed_roles.remove(&device);
                    state.removed_persons.remove(&device);
                    state.proven.remove(&device);
                    if let Some(p) = person {
                        state.persons.insert(device, p);
                    }
                    state.x25519.insert(device, x25519);
                }
            }
        }
        // An invite whose author is no longer an admin admits nobody (only its author may admit
        // with it): it counts as revoked, so the relay stops keeping requests for it.
        for inv in state.invites.values_mut() {
            if inv.status == InviteStatus::Open
                && state.members.get(&inv.author) != Some(&Role::Admin)
            {
                inv.status = InviteStatus::Revoked;
            }
        }
        let mut heads: Vec<StatementId> = members
            .iter()
            .filter(|&&i| !self.nodes[i].children.iter().any(|&c| set.has(c)))
            .map(|&i| self.nodes[i].statement.id())
            .collect();
        heads.sort_unstable();
        state.heads = heads;
        tick(members.len());
        Evaluation {
            state,
            valid,
            work: work.get(),
        }
    }
}
