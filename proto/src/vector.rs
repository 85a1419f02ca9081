//! Version vectors: per space, author device -> highest contiguous sequence number held.
//!
//! Two parties exchange vectors and each sends exactly the envelopes the other lacks. A gap (holding 5
//! but not 4) keeps the vector at 3 until 4 arrives, so nothing is ever skipped.

use std::collections::{BTreeMap, BTreeSet};

use crate::envelope::DeviceId;

/// Highest contiguous sequence number held per author, plus any sequence numbers held above a gap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionVector {
    contiguous: BTreeMap<DeviceId, u64>,
    above_gap: BTreeMap<DeviceId, BTreeSet<u64>>,
}

impl VersionVector {
    /// An empty vector: holds nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a vector from contiguous counters only (as received on the wire).
    pub fn from_contiguous(map: BTreeMap<DeviceId, u64>) -> Self {
        VersionVector {
            contiguous: map.into_iter().filter(|(_, s)| *s > 0).collect(),
            above_gap: BTreeMap::new(),
        }
    }

    /// Highest contiguous sequence number held for `author` (0 for none).
    pub fn get(&self, author: &DeviceId) -> u64 {
        self.contiguous.get(author).copied().unwrap_or(0)
    }

    /// Whether the envelope `(author, seq)` is held.
    pub fn contains(&self, author: &DeviceId, seq: u64) -> bool {
        seq <= self.get(author) || self.above_gap.get(author).is_some_and(|s| s.contains(&seq))
    }

    /// Records that `(author, seq)` is held; returns false if it already was.
    pub fn insert(&mut self, author: DeviceId, seq: u64) -> bool {
        if seq == 0 || self.contains(&author, seq) {
            return false;
        }
        let cur = self.get(&author);
        if seq == cur + 1 {
            let mut top = seq;
            if let Some(set) = self.above_gap.get_mut(&author) {
                while set.remove(&(top + 1)) {
                    top += 1;
                }
                if set.is_empty() {
                    self.above_gap.remove(&author);
                }
            }
            self.contiguous.insert(author, top);
        } else {
            self.above_gap.entry(author).or_default().insert(seq);
        }
        true
    }

    /// Counts every `(author, s)` with `s ≤ seq` as held: what taking a snapshot that covers them
    /// does (their content is in the snapshot; the envelopes themselves are not needed any more).
    pub fn raise(&mut self, author: DeviceId, seq: u64) {
        if seq <= self.get(&author) {
            return;
        }
        let mut top = seq;
        if let Some(set) = self.above_gap.get_mut(&author) {
            set.retain(|s| *s > seq);
            while set.remove(&(top + 1)) {
                top += 1;
            }
            if set.is_empty() {
                self.above_gap.remove(&author);
            }
        }
        self.contiguous.insert(author, top);
    }

    /// Stops counting `(author, seq)` as held: what a device does with its own envelope that the
    /// relay refused because it holds a different one at that number (the relay's is then pulled).
    /// Numbers above it stay held, above a gap.
    pub fn forget(&mut self, author: &DeviceId, seq: u64) {
        let top = self.get(author);
        if seq == 0 || seq > top {
            if let Some(set) = self.above_gap.get_mut(author) {
                set.remove(&seq);
                if set.is_empty() {
                    self.above_gap.remove(author);
                }
            }
            return;
        }
        if seq == 1 {
            self.contiguous.remove(author);
        } else {
            self.contiguous.insert(*author, seq - 1);
        }
        if top > seq {
            self.above_gap
                .entry(*author)
                .or_default()
                .extend(seq + 1..=top);
        }
    }

    /// The contiguous part: what goes on the wire.
    pub fn contiguous(&self) -> &BTreeMap<DeviceId, u64> {
        &self.contiguous
    }

    /// Sequence numbers held above a gap, per author (kept so a stored vector survives a restart).
    pub fn above_gap(&self) -> impl Iterator<Item = (&DeviceId, u64)> {
        self.above_gap
            .iter()
            .flat_map(|(a, set)| set.iter().map(move |s| (a, *s)))
    }

    /// Every `(author, seq)` held above `floor[author]`: what a party whose contiguous counters are
    /// `floor` may still lack.
    pub fn held_above(&self, floor: &BTreeMap<DeviceId, u64>) -> Vec<(DeviceId, u64)> {
        let mut out = Vec::new();
        for (a, top) in &self.contiguous {
            let from = floor.get(a).copied().unwrap_or(0);
            out.extend((from + 1..=*top).map(|s| (*a, s)));
        }
        for (a, s) in self.above_gap() {
            if s > floor.get(a).copied().unwrap_or(0) {
                out.push((*a, s));
            }
        }
        out
    }

    /// Whether every envelope `other` counts as contiguous is held here.
    pub fn covers(&self, other: &BTreeMap<DeviceId, u64>) -> bool {
        other.iter().all(|(a, s)| self.get(a) >= *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> DeviceId {
        DeviceId([n; 32])
    }

    #[test]
    fn forgetting_a_number_opens_a_gap_there() {
        let mut v = VersionVector::new();
        for s in 1..=4 {
            v.insert(d(1), s);
        }
        v.forget(&d(1), 3);
        assert_eq!(v.get(&d(1)), 2);
        assert!(!v.contains(&d(1), 3) && v.contains(&d(1), 4));
        assert!(v.insert(d(1), 3));
        assert_eq!(v.get(&d(1)), 4);
        v.forget(&d(1), 1);
        assert_eq!(v.get(&d(1)), 0);
        assert_eq!(v.held_above(&BTreeMap::new()).len(), 3);
    }

    #[test]
    fn gaps_hold_the_counter_until_filled() {
        let mut v = VersionVector::new();
        assert!(v.insert(d(1), 1));
        assert!(v.insert(d(1), 3));
        assert_eq!(v.get(&d(1)), 1);
        assert!(v.contains(&d(1), 3));
        assert!(!v.contains(&d(1), 2));
        assert!(v.insert(d(1), 2));
        assert_eq!(v.get(&d(1)), 3);
        assert!(!v.insert(d(1), 2), "a duplicate is reported as such");
        assert!(!v.insert(d(1), 0), "sequence 0 does not exist");
        assert_eq!(v.get(&d(2)), 0);
    }

    #[test]
    fn raise_counts_everything_below_and_absorbs_what_follows() {
        let mut v = VersionVector::new();
        v.insert(d(1), 1);
        v.insert(d(1), 4);
        v.insert(d(1), 7);
        v.insert(d(1), 8);
        v.raise(d(1), 6);
        assert_eq!(v.get(&d(1)), 8, "6 counted, then 7 and 8 join the run");
        assert_eq!(v.above_gap().count(), 0);
        v.raise(d(1), 3);
        assert_eq!(v.get(&d(1)), 8, "raising below the counter changes nothing");
        v.raise(d(2), 5);
        assert_eq!(v.get(&d(2)), 5);
    }

    #[test]
    fn covers_compares_contiguous_counters() {
        let mut v = VersionVector::new();
        for s in 1..=4 {
            v.insert(d(1), s);
        }
        let mut o = BTreeMap::new();
        o.insert(d(1), 4);
        assert!(v.covers(&o));
        o.insert(d(2), 1);
        assert!(!v.covers(&o));
    }
}
