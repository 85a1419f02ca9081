//! The evaluation rule of section 15.6 over a set of applied statements: revocation wins, labelling
//! settles concurrent revocations, and each statement's authority is judged in its own past.
//!
//! Cost (issue 15, item 1). An evaluation visits each statement and parent link a bounded number of
//! times; every question of the form "is some statement of this kind concurrent with this one?" is
//! answered from a list when few statements are of that kind, from a bit set (one word per 64
//! statements) when many are; the labelling settles revocations through a work list, each attack
//! between two concurrent revocations visited at most twice. So an evaluation of `n` statements costs
//! about `n · log n` plus the attacks, which no honest log has (they need revocations concurrent
//! with revocations of their own author) and a hostile one can make at most `(n / 4)²` of. A statement
//! that follows everything the log holds (the usual case: a writer names the current heads) is not
//! evaluated at all: [`MembershipLog::step`] carries the last evaluation one statement further.
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};

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

    /// Number of words held: the cost of a pass over the set.
    pub(super) fn words(&self) -> usize {
        self.0.len()
    }

    fn word(&self, w: usize) -> u64 {
        self.0.get(w).copied().unwrap_or(0)
    }

    /// The indices in the set, ascending.
    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let b = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(w * 64 + b)
            })
        })
    }
}

#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) statement: SignedStatement,
    pub(super) parents: Vec<usize>,
    pub(super) children: Vec<usize>,
    /// Indices of every ancestor (strict causal past).
    pub(super) past: Bits,
    /// Indices of every descendant applied so far: with `past`, what tells in one pass over a bit set
    /// whether some statement of a kind is concurrent with this one.
    pub(super) desc: Bits,
    /// Number of ancestors: how deep in the log the statement sits (for seniority among admins).
    pub(super) depth: usize,
    /// Whether the author is an admin in the state of exactly its causal past (genesis: true). Fixed
    /// once computed: the past of a statement never changes.
    pub(super) authorised: bool,
}

/// Statements that share a key (the standing revocations of one device, the uninvites of one invite):
/// a list, and once the list is longer than a bit set over the log has words, that bit set too.
#[derive(Clone, Debug, Default)]
struct Group {
    list: Vec<usize>,
    bits: Option<Bits>,
}

impl Group {
    fn push(&mut self, i: usize) {
        self.list.push(i);
    }

    /// Builds the bit set where it is cheaper to scan than the list (`words`: the log's size in words).
    fn seal(&mut self, words: usize) {
        if self.list.len() > words {
            let mut b = Bits::default();
            for &i in &self.list {
                b.set(i);
            }
            self.bits = Some(b);
        }
    }
}

/// The walk's running state: the membership state before the invites' final pass, and the indexes the
/// walk keeps so that no step scans every member.
#[derive(Clone, Debug, Default)]
pub(super) struct Walk {
    pub(super) state: MembershipState,
    /// Revocations applied to a device since it last became admin.
    lost: HashMap<DeviceId, Vec<usize>>,
    /// The current member devices of each person (`state.persons` turned around).
    by_person: HashMap<[u8; 32], BTreeSet<DeviceId>>,
}

impl Walk {
    fn has_person(&self, p: &[u8; 32]) -> bool {
        self.by_person.get(p).is_some_and(|s| !s.is_empty())
    }

    fn set_person(&mut self, device: DeviceId, p: [u8; 32]) {
        if let Some(old) = self.state.persons.insert(device, p) {
            self.unindex(&old, &device);
        }
        self.by_person.entry(p).or_default().insert(device);
    }

    fn drop_person(&mut self, device: &DeviceId) -> Option<[u8; 32]> {
        let p = self.state.persons.remove(device)?;
        self.unindex(&p, device);
        Some(p)
    }

    fn unindex(&mut self, p: &[u8; 32], device: &DeviceId) {
        if let Some(s) = self.by_person.get_mut(p) {
            s.remove(device);
            if s.is_empty() {
                self.by_person.remove(p);
            }
        }
    }

    /// Moves every device of `old` to `new` (a counted succession). Costs the number of devices moved.
    fn succeed(&mut self, old: [u8; 32], new: [u8; 32], work: &mut u64) {
        let moved = self.by_person.remove(&old).unwrap_or_default();
        *work += moved.len() as u64;
        for d in &moved {
            self.state.persons.insert(*d, new);
        }
        self.by_person.entry(new).or_default().extend(moved);
        self.state.successors.insert(old, new);
    }
}

/// What the labelling settled, in the form the walk asks about it.
#[derive(Default)]
struct Verdicts {
    /// Revocations that stand (not defeated by a concurrent revocation of their author).
    standing: Bits,
    /// Standing revocations, by the device they revoke.
    of_device: HashMap<DeviceId, Group>,
    /// Standing removals (not demotions), by the device they remove.
    removals_of: HashMap<DeviceId, Group>,
    /// Standing revocations of any device a person ever had here, by person.
    of_person: HashMap<[u8; 32], Group>,
    /// Successions by authors admitted in their own past, by the person they move away from.
    successions: HashMap<[u8; 32], Group>,
    /// Uninvites by authors admitted in their own past, by invite.
    uninvites: HashMap<[u8; 16], Group>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Evaluation {
    /// The membership state of the evaluated set.
    pub(super) state: MembershipState,
    /// Indexed like `nodes`; false for statements outside the evaluated set.
    pub(super) valid: Vec<bool>,
    /// Units of work the evaluation took (see [`MembershipLog::work`]).
    pub(super) work: u64,
    /// The walk as it ended, before the invites' final pass: where [`MembershipLog::step`] goes on.
    walk: Walk,
    /// Seniority among admins (see [`MembershipLog::evaluate`]).
    seniority: HashMap<DeviceId, (usize, DeviceId)>,
    /// Authors of candidate revocations that have no seniority: a first admin grant to one of them
    /// could turn an attack around, so [`MembershipLog::step`] cannot carry the evaluation over it.
    unranked: HashSet<DeviceId>,
    /// Devices some candidate revocation targets: a statement naming a person for one of them makes
    /// its revocations count against that person's earlier vouches (20.1), so
    /// [`MembershipLog::step`] cannot carry the evaluation over it either.
    targets: HashSet<DeviceId>,
}

impl MembershipLog {
    /// Whether some statement of `group` is concurrent with statement `i`.
    fn any_concurrent(&self, group: Option<&Group>, i: usize, work: &mut u64) -> bool {
        let Some(g) = group else {
            return false;
        };
        match &g.bits {
            None => g.list.iter().any(|&r| {
                *work += 1;
                self.concurrent(r, i)
            }),
            Some(bits) => {
                let node = &self.nodes[i];
                (0..bits.words()).any(|w| {
                    *work += 1;
                    let mut x = bits.word(w) & !node.past.word(w) & !node.desc.word(w);
                    if w == i / 64 {
                        x &= !(1u64 << (i % 64));
                    }
                    x != 0
                })
            }
        }
    }

    /// The statements of `group` concurrent with statement `i`.
    fn concurrent_with(&self, group: &Group, i: usize, work: &mut u64) -> Vec<usize> {
        match &group.bits {
            None => group
                .list
                .iter()
                .copied()
                .filter(|&r| {
                    *work += 1;
                    self.concurrent(r, i)
                })
                .collect(),
            Some(bits) => {
                let node = &self.nodes[i];
                let mut out = Vec::new();
                for w in 0..bits.words() {
                    *work += 1;
                    let mut x = bits.word(w) & !node.past.word(w) & !node.desc.word(w);
                    if w == i / 64 {
                        x &= !(1u64 << (i % 64));
                    }
                    while x != 0 {
                        *work += 1;
                        out.push(w * 64 + x.trailing_zeros() as usize);
                        x &= x - 1;
                    }
                }
                out
            }
        }
    }

    /// The rule of section 15, applied to a set of applied statements closed under parents.
    pub(super) fn evaluate(&self, set: &Bits) -> Evaluation {
        let n = self.nodes.len();
        let words = n.div_ceil(64);
        let mut work = words as u64;
        let members: Vec<usize> = set.iter().filter(|&i| i < n).collect();
        work += members.len() as u64;
        let op = |i: usize| self.nodes[i].statement.statement().op;
        let author = |i: usize| self.nodes[i].statement.statement().author;

        // 1. Candidate revocations: removals and demotions whose author was an admin in their own past.
        let candidates: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].authorised && op(i).revokes().is_some())
            .collect();
        let mut by_target: HashMap<DeviceId, Group> = HashMap::new();
        for &r in &candidates {
            if let Some(t) = op(r).revokes() {
                by_target.entry(t).or_default().push(r);
            }
        }
        for g in by_target.values_mut() {
            g.seal(words);
        }
        // Seniority among admins: how deep in the log the statement that first made each device an
        // admin sits (the genesis admin is the most senior), ties by device id. A device cannot change
        // its own seniority: its grant is someone else's statement.
        let mut seniority: HashMap<DeviceId, (usize, DeviceId)> = HashMap::new();
        for &i in &members {
            if !(self.nodes[i].authorised || matches!(op(i), Op::Genesis { .. })) {
                continue;
            }
            if let Some(d) = op(i).granted_admin() {
                let depth = self.nodes[i].depth;
                let e = seniority.entry(d).or_insert((depth, d));
                if depth < e.0 {
                    *e = (depth, d);
                }
            }
        }
        let targets: HashSet<DeviceId> =
            candidates.iter().filter_map(|&r| op(r).revokes()).collect();
        let unranked: HashSet<DeviceId> = candidates
            .iter()
            .map(|&r| author(r))
            .filter(|a| !seniority.contains_key(a))
            .collect();
        let more_senior = |a: &DeviceId, b: &DeviceId| -> bool {
            let ra = seniority.get(a).copied().unwrap_or((usize::MAX, *a));
            let rb = seniority.get(b).copied().unwrap_or((usize::MAX, *b));
            ra < rb
        };
        // 2. Attacks: r2 attacks r when r2 revokes r's author concurrently with r. When r also revokes
        // r2's author (two admins revoking each other concurrently), only the more senior one's
        // revocation stands: a device removed by its owner cannot retaliate and take the remover
        // with it. A person's revocation is the person's word, not a device's: seniority does not set
        // it aside, and nothing attacks it.
        let mut slot = vec![usize::MAX; n];
        for (c, &r) in candidates.iter().enumerate() {
            slot[r] = c;
        }
        let mut attackers = vec![0usize; candidates.len()];
        let mut attacks: Vec<Vec<usize>> = vec![Vec::new(); candidates.len()];
        for (c, &r) in candidates.iter().enumerate() {
            // Nothing attacks a person's revocation, nor a device's own leave: neither rests on
            // an admin role another revocation could take away.
            if matches!(op(r), Op::RevokeDevice { .. } | Op::Leave { .. }) {
                continue;
            }
            let Some(g) = by_target.get(&author(r)) else {
                continue;
            };
            let target = op(r).revokes();
            for r2 in self.concurrent_with(g, r, &mut work) {
                if Some(author(r2)) != target
                    || more_senior(&author(r2), &author(r))
                    || matches!(op(r2), Op::RevokeDevice { .. } | Op::Leave { .. })
                {
                    attackers[c] += 1;
                    attacks[slot[r2]].push(c);
                }
            }
        }
        // 3. Grounded labelling, through a work list: a revocation is IN once every attacker is OUT,
        // OUT once some attacker is IN. A revocation stands unless it is OUT (undecided cycles: the
        // revocations stand).
        #[derive(Clone, Copy, PartialEq)]
        enum Label {
            Undecided,
            In,
            Out,
        }
        let mut label = vec![Label::Undecided; candidates.len()];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for (c, &count) in attackers.iter().enumerate() {
            if count == 0 {
                label[c] = Label::In;
                queue.push_back(c);
            }
        }
        while let Some(c) = queue.pop_front() {
            for &t in &attacks[c] {
                work += 1;
                if label[t] != Label::Undecided {
                    continue;
                }
                if label[c] == Label::In {
                    label[t] = Label::Out;
                    queue.push_back(t);
                } else {
                    attackers[t] -= 1;
                    if attackers[t] == 0 {
                        label[t] = Label::In;
                        queue.push_back(t);
                    }
                }
            }
        }
        let mut v = Verdicts::default();
        for (c, &r) in candidates.iter().enumerate() {
            if label[c] == Label::Out {
                continue;
            }
            if let Some(t) = op(r).revokes() {
                v.standing.set(r);
                v.of_device.entry(t).or_default().push(r);
                if op(r).is_remove() {
                    v.removals_of.entry(t).or_default().push(r);
                }
            }
        }
        // Every person each device ever belonged to here (adds, admits, vouches, recertifies): a vouch
        // under a person is set aside when a revocation of one of that person's devices, or a
        // succession away from that person, stands concurrently with it (a removed person cannot vouch
        // back in on old parents; an old phrase cannot vouch past its replacement).
        let mut persons_of: HashMap<DeviceId, HashSet<[u8; 32]>> = HashMap::new();
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
                Op::Uninvite { invite } if self.nodes[i].authorised => {
                    v.uninvites.entry(invite).or_default().push(i);
                    continue;
                }
                Op::Succession { old, .. } if self.nodes[i].authorised => {
                    v.successions.entry(old).or_default().push(i);
                    continue;
                }
                _ => continue,
            };
            persons_of.entry(d).or_default().insert(p);
        }
        for (t, g) in &v.of_device {
            if let Some(ps) = persons_of.get(t) {
                for p in ps {
                    let to = v.of_person.entry(*p).or_default();
                    work += g.list.len() as u64;
                    to.list.extend(&g.list);
                }
            }
        }
        for g in v
            .of_device
            .values_mut()
            .chain(v.removals_of.values_mut())
            .chain(v.of_person.values_mut())
            .chain(v.successions.values_mut())
            .chain(v.uninvites.values_mut())
        {
            g.seal(words);
        }

        // 4. Linearise: Kahn's algorithm, among ready statements removals first, then smallest id;
        // and walk.
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
        let mut walk = Walk::default();
        let mut valid = vec![false; n];
        while let Some(Reverse((_, _, i))) = ready.pop() {
            work += 1 + self.nodes[i].children.len() as u64;
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
            valid[i] = self.visit(&v, &mut walk, i, &mut work);
        }
        let mut heads: Vec<StatementId> = members
            .iter()
            .filter(|&&i| !self.nodes[i].children.iter().any(|&c| set.has(c)))
            .map(|&i| self.nodes[i].statement.id())
            .collect();
        work += members.len() as u64;
        heads.sort_unstable();
        let state = finish(&walk.state, heads, &mut work);
        Evaluation {
            state,
            valid,
            work,
            walk,
            seniority,
            unranked,
            targets,
        }
    }

    /// Carries `e`, the evaluation of every statement before `x`, over statement `x`, whose parents
    /// are that evaluation's heads: `x` follows every other statement, so it is concurrent with none,
    /// changes no other statement's label and comes last in the order. Returns false, changing
    /// nothing, when `x` gives its first admin grant to a device that signed revocations before it
    /// had one, which can turn around the seniority that settled them: then evaluate the whole log
    /// again.
    pub(super) fn step(&self, e: &mut Evaluation, x: usize) -> bool {
        let node = &self.nodes[x];
        let op = node.statement.statement().op;
        let grant = if node.authorised || matches!(op, Op::Genesis { .. }) {
            op.granted_admin()
        } else {
            None
        };
        if let Some(d) = grant {
            if e.unranked.contains(&d) {
                return false;
            }
        }
        // A device named as a person's here: its revocations now count against that person's
        // vouches, earlier ones included (20.1, "every device the person ever had").
        let named = match op {
            Op::Add {
                device,
                person: Some(_),
                ..
            }
            | Op::Admit {
                device,
                person: Some(_),
                ..
            }
            | Op::Recertify { device, .. } => Some(device),
            Op::Vouch { .. } => Some(node.statement.statement().author),
            _ => None,
        };
        if named.is_some_and(|d| e.targets.contains(&d)) {
            return false;
        }
        if let Some(d) = grant {
            e.seniority.entry(d).or_insert((node.depth, d));
        }
        let mut v = Verdicts::default();
        if node.authorised {
            if let Some(t) = op.revokes() {
                v.standing.set(x);
                e.targets.insert(t);
                if !e.seniority.contains_key(&node.statement.statement().author) {
                    e.unranked.insert(node.statement.statement().author);
                }
            }
        }
        let mut work = 1;
        let ok = self.visit(&v, &mut e.walk, x, &mut work);
        e.valid.resize(self.nodes.len(), false);
        e.valid[x] = ok;
        e.state = finish(&e.walk.state, vec![node.statement.id()], &mut work);
        e.work = work;
        true
    }

    /// The smallest cutoff of the standing demotions and removals of `device` (not its own leaves)
    /// concurrent with statement `i`, if any.
    fn concurrent_cutoff(
        &self,
        v: &Verdicts,
        device: &DeviceId,
        i: usize,
        work: &mut u64,
    ) -> Option<u64> {
        let g = v.of_device.get(device)?;
        self.concurrent_with(g, i, work)
            .into_iter()
            .filter_map(|r| match self.nodes[r].statement.statement().op {
                Op::Remove { last_seq, .. } | Op::RevokeDevice { last_seq, .. } => Some(last_seq),
                Op::SetRole { last_seq, .. } => Some(last_seq.unwrap_or(0)),
                _ => None,
            })
            .min()
    }

    /// One statement of the walk: whether it counts, and its effect on the state if it does.
    fn visit(&self, v: &Verdicts, w: &mut Walk, i: usize, work: &mut u64) -> bool {
        let node = &self.nodes[i];
        let s = node.statement.statement();
        let a = s.author;
        let revoked = |d: &DeviceId, removals_only: bool, work: &mut u64| {
            let g = if removals_only {
                v.removals_of.get(d)
            } else {
                v.of_device.get(d)
            };
            self.any_concurrent(g, i, work)
        };
        let ok = match s.op {
            Op::Genesis { .. } => true,
            // A person's revocation stands on the person's key alone.
            Op::RevokeDevice { .. } => v.standing.has(i),
            // A device's own leave stands on its own key, once it was a member in its past; an
            // admin's, only while another admin remains (else nobody would rotate the key away
            // from it: review L1).
            Op::Leave { device, .. } => {
                v.standing.has(i)
                    && node.authorised
                    && (!w.state.is_admin(&device) || {
                        *work += w.state.members.len() as u64;
                        w.state
                            .members
                            .iter()
                            .any(|(d, r)| *d != device && *r == Role::Admin)
                    })
            }
            // A member ends its own writing, once, unless a removal of it stands concurrently
            // (revocation wins, as for every member's statement).
            Op::End { .. } => {
                node.authorised
                    && w.state.is_member(&a)
                    && !w.state.ended.contains_key(&a)
                    && !revoked(&a, true, work)
            }
            o if o.revokes().is_some() => {
                v.standing.has(i)
                    && (w.state.is_admin(&a)
                        || w.lost.get(&a).is_some_and(|rs| {
                            rs.iter().all(|&r| {
                                *work += 1;
                                self.concurrent(r, i)
                            })
                        }))
            }
            Op::Vouch { person, .. } => {
                node.authorised
                    && w.has_person(&person)
                    && w.by_person.get(&person).map_or(0, BTreeSet::len) < MAX_DEVICES_PER_PERSON
                    && !w.state.is_member(&a)
                    && !w.state.removed.contains_key(&a)
                    && !revoked(&a, true, work)
                    && !self.any_concurrent(v.of_person.get(&person), i, work)
                    && !self.any_concurrent(v.successions.get(&person), i, work)
            }
            Op::Recertify {
                device,
                x25519,
                person,
                ..
            } => {
                // Claims a device the log names no person for, or proves the person an admin
                // named for it; never moves a device to another person.
                node.authorised
                    && device == a
                    && w.state.is_member(&a)
                    && w.state
                        .persons
                        .get(&device)
                        .is_none_or(|p| *p == person && !w.state.proven.contains(&device))
                    && w.state.x25519.get(&device).is_none_or(|k| *k == x25519)
                    && !revoked(&a, false, work)
            }
            Op::Succession { old, .. } => node.authorised && w.has_person(&old),
            Op::Admit { invite, .. } => {
                node.authorised
                    && w.state.is_admin(&a)
                    && !revoked(&a, false, work)
                    && w.state.invites.get(&invite).is_some_and(|inv| {
                        inv.status == InviteStatus::Open && inv.author == a && s.time <= inv.expires
                    })
                    && !self.any_concurrent(v.uninvites.get(&invite), i, work)
            }
            _ => node.authorised && w.state.is_admin(&a) && !revoked(&a, false, work),
        };
        if !ok {
            return false;
        }
        match s.op {
            Op::Genesis { admin, x25519 } => {
                w.state.members.insert(admin, Role::Admin);
                if let Some(k) = x25519 {
                    w.state.x25519.insert(admin, k);
                }
            }
            Op::Add {
                device,
                role,
                person,
                x25519,
            } => {
                if w.state.is_member(&device) || revoked(&device, true, work) {
                    return true;
                }
                let role = if role == Role::Admin && revoked(&device, false, work) {
                    Role::Member
                } else {
                    role
                };
                w.state.members.insert(device, role);
                w.state.removed.remove(&device);
                w.state.removed_roles.remove(&device);
                w.state.removed_persons.remove(&device);
                w.state.proven.remove(&device);
                if let Some(p) = person {
                    w.set_person(device, p);
                }
                if let Some(k) = x25519 {
                    w.state.x25519.insert(device, k);
                }
                if role == Role::Admin {
                    w.lost.remove(&device);
                }
            }
            Op::Remove { device, last_seq }
            | Op::Leave { device, last_seq }
            | Op::RevokeDevice {
                device, last_seq, ..
            } => {
                // A leave never keeps its author an admin past a standing demotion or removal of it
                // concurrent with the leave (review H4): the leaver does not choose its own role by
                // where it puts its leave. Its admin cutoff is then that revocation's, and it left
                // as a member.
                let capped = if matches!(s.op, Op::Leave { .. }) {
                    self.concurrent_cutoff(v, &device, i, work)
                } else {
                    None
                };
                if let Some(r) = w.state.members.remove(&device) {
                    match (r, capped) {
                        (Role::Admin, Some(c)) => {
                            w.state.admin_until(device, c.min(last_seq));
                            w.state.removed_roles.insert(device, Role::Member);
                        }
                        (Role::Admin, None) => {
                            w.state.admin_until(device, last_seq);
                            w.state.removed_roles.insert(device, r);
                        }
                        (Role::Member, _) => {
                            w.state.removed_roles.insert(device, r);
                        }
                    }
                }
                if let Some(p) = w.drop_person(&device) {
                    w.state.removed_persons.insert(device, p);
                }
                w.state.x25519.remove(&device);
                let entry = w.state.removed.entry(device).or_insert(last_seq);
                *entry = (*entry).min(last_seq);
                w.lost.entry(device).or_default().push(i);
            }
            Op::SetRole {
                device,
                role,
                last_seq,
            } => {
                if !w.state.is_member(&device) {
                    return true;
                }
                match role {
                    Role::Admin => {
                        if !revoked(&device, false, work) {
                            w.state.members.insert(device, Role::Admin);
                            w.lost.remove(&device);
                        }
                    }
                    Role::Member => {
                        if w.state.is_admin(&device) {
                            w.state.admin_until(device, last_seq.unwrap_or(0));
                        }
                        w.state.members.insert(device, Role::Member);
                        w.lost.entry(device).or_default().push(i);
                    }
                }
            }
            Op::Rotate { commit } => {
                w.state.epochs.push(EpochInfo {
                    id: crate::EpochId(node.statement.id().0),
                    commit,
                    author: a,
                });
            }
            Op::Invite {
                invite,
                expires,
                gate,
            } => {
                w.state.invites.entry(invite).or_insert(InviteInfo {
                    author: a,
                    expires,
                    gate,
                    status: InviteStatus::Open,
                });
            }
            Op::Uninvite { invite } => {
                if let Some(inv) = w.state.invites.get_mut(&invite) {
                    if inv.status == InviteStatus::Open {
                        inv.status = InviteStatus::Revoked;
                    }
                }
            }
            Op::Vouch { person, x25519, .. } => {
                let devices = w.by_person.get(&person);
                *work += devices.map_or(0, BTreeSet::len) as u64;
                let admin = devices.is_some_and(|ds| ds.iter().any(|d| w.state.is_admin(d)));
                let role = if admin && !revoked(&a, false, work) {
                    Role::Admin
                } else {
                    Role::Member
                };
                w.state.members.insert(a, role);
                w.set_person(a, person);
                w.state.x25519.insert(a, x25519);
                w.state.proven.insert(a);
            }
            Op::Recertify { device, person, .. } => {
                w.set_person(device, person);
                w.state.proven.insert(device);
            }
            Op::Succession { old, new, .. } => w.succeed(old, new, work),
            Op::End { device, last_seq } => {
                w.state.ended.insert(device, last_seq);
            }
            Op::Admit {
                device,
                person,
                x25519,
                invite,
            } => {
                if let Some(inv) = w.state.invites.get_mut(&invite) {
                    inv.status = InviteStatus::Spent(device);
                }
                if w.state.is_member(&device) || revoked(&device, true, work) {
                    return true;
                }
                w.state.members.insert(device, Role::Member);
                w.state.removed.remove(&device);
                w.state.removed_roles.remove(&device);
                w.state.removed_persons.remove(&device);
                w.state.proven.remove(&device);
                if let Some(p) = person {
                    w.set_person(device, p);
                }
                w.state.x25519.insert(device, x25519);
            }
        }
        true
    }
}

/// The state a walk ends in, with the final pass over invites: an invite whose author is no longer an
/// admin admits nobody (only its author may admit with it), so it counts as revoked and the relay
/// stops keeping requests for it.
fn finish(walked: &MembershipState, heads: Vec<StatementId>, work: &mut u64) -> MembershipState {
    let mut state = walked.clone();
    *work += state.invites.len() as u64;
    for inv in state.invites.values_mut() {
        if inv.status == InviteStatus::Open && state.members.get(&inv.author) != Some(&Role::Admin)
        {
            inv.status = InviteStatus::Revoked;
        }
    }
    state.heads = heads;
    state
}
