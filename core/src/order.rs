//! One sort for the whole device core, for the mobile library's size.
//!
//! The standard library's sorts are generic over the element and the comparison: every call with a
//! different element type or a different closure links its own copy of the whole algorithm, 3 to
//! 5 KB each in the size profile. The core sorts about sixty lists that way (views, ids, times), which
//! cost some 138 KB of the library a phone downloads (`docs/size.md`, stop 30). Here the algorithm
//! runs once, over positions, through one `dyn` comparison; what stays generic per call is a small
//! loop that moves the elements into the order found.
//!
//! The order is stable: elements that compare equal keep their order, so a comparison that is not
//! total gives the same answer on every device. The price is one indirect call per comparison and
//! a list of positions: well under a millisecond for the ten thousand entries of a long journal or
//! a carrier's envelopes, next to reading them from their documents. Sorts in the sync's or the
//! relay's inner loops (`sebaya-proto`) keep the standard library's.

use std::cmp::Ordering;

/// Sorts `items` by `cmp`, keeping equal elements in their order.
pub fn sort_by<T>(items: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = {
        let view: &[T] = items;
        positions_in_order(view.len(), &|a, b| match (view.get(a), view.get(b)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        })
    };
    arrange(items, order);
}

/// Sorts `items` by the key `key` gives each, keeping elements with equal keys in their order.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` in their own order.
pub fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, T::cmp);
}

/// The one place the standard sort runs: the positions `0..n` in the order `cmp` gives them, ties
/// broken by position (which is what makes [`sort_by`] stable).
fn positions_in_order(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    if n < 2 {
        return Vec::new();
    }
    let mut positions: Vec<usize> = (0..n).collect();
    positions.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    positions
}

/// Moves the elements so that position `i` holds what was at `order[i]`, following each cycle of
/// the permutation with swaps (no copy of the elements, no allocation).
fn arrange<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut here = start;
        loop {
            let from = order.get(here).copied().unwrap_or(here);
            if from == here {
                break;
            }
            // Mark `here` done, then bring its element in; the one it displaced moves on to `from`,
            // which the next turn of the loop fills in turn.
            if let Some(slot) = order.get_mut(here) {
                *slot = here;
            }
            if from == start {
                break;
            }
            items.swap(here, from);
            here = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the test needs no crate and always sees the same lists.
    fn numbers(seed: u64, n: usize, range: u64) -> Vec<u64> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) % range
            })
            .collect()
    }

    #[test]
    fn the_order_is_the_standard_stable_sort_s_for_every_length_and_many_ties() {
        for n in 0..70 {
            for seed in 0..8 {
                // Pairs (key, original position): sorting by the key alone shows stability.
                let keys = numbers(seed, n, 1 + (seed % 4) * 5);
                let pairs: Vec<(u64, usize)> = keys.into_iter().zip(0..).collect();
                let mut ours = pairs.clone();
                sort_by_key(&mut ours, |p| p.0);
                let mut std_stable = pairs.clone();
                std_stable.sort_by_key(|p| p.0);
                assert_eq!(ours, std_stable, "n = {n}, seed = {seed}");
            }
        }
    }

    #[test]
    fn a_reversed_comparison_and_strings_sort_too() {
        let mut words = vec!["pagi", "malam", "siang", "sore", "malam"];
        sort_by(&mut words, |a, b| b.cmp(a));
        assert_eq!(words, vec!["sore", "siang", "pagi", "malam", "malam"]);
        let mut owned: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        sort(&mut owned);
        owned.dedup();
        assert_eq!(owned, vec!["malam", "pagi", "siang", "sore"]);
        let mut one = vec![String::from("satu")];
        sort(&mut one);
        assert_eq!(one, ["satu"]);
    }

    #[test]
    fn elements_that_own_memory_are_moved_not_copied_or_lost() {
        let mut lists: Vec<Vec<u8>> = numbers(3, 40, 9)
            .into_iter()
            .map(|k| vec![k as u8; k as usize + 1])
            .collect();
        let mut expected = lists.clone();
        expected.sort();
        sort(&mut lists);
        assert_eq!(lists, expected);
    }
}
