//! The store contract: what every [`RelayStore`] must do, checked against each implementation.
//!
//! Each check is a function of a store; [`contract_tests!`] makes one test per check and store:
//! `sqlite::NAME` on a fresh SQLite file, `postgres::NAME` in a fresh schema of the database
//! `SEBAYA_TEST_POSTGRES` names (`scripts/test.sh` makes one). Without that variable the PostgreSQL
//! tests say on stderr that they were skipped, and check nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use sebaya_proto::invite::InviteId;
use sebaya_proto::request::TIME_WINDOW_SECS;
use sebaya_proto::{DeviceId, EnvelopeId, Kind, PersonId, SpaceId, VersionVector};

use super::rows::PRUNE_INTERVAL_SECS;
use super::testing::contract_tests;
use super::{
    ASK_RETENTION_SECS, Amount, InsertOutcome, MAILBOX_RETENTION_SECS, MailboxOutcome, NewEnvelope,
    NewJoinAnswer, NewJoinRequest, RelayStore, RequestFreshness, Slot, StoredSubscription,
};

contract_tests!(
    insert_reports_stored_duplicate_and_conflict,
    vector_counts_only_contiguous_sequence_numbers,
    request_ids_are_remembered_then_pruned,
    held_ids_and_membership_envelopes,
    join_requests_are_kept_once_per_body_up_to_the_limit,
    join_answers_are_replaced_per_key_and_bounded_per_device,
    notes_of_who_asked_outlive_the_requests_and_go_after_sixty_days,
    usage_counts_what_is_stored_and_gives_back_what_is_pruned_or_erased,
    admitted_persons_and_spaces_count_what_their_devices_and_spaces_hold,
    mailboxes_are_pruned_after_thirty_days,
    wake_candidates_are_the_readers_with_a_subscription_and_leave_with_an_erased_space,
    an_erased_space_gains_no_reader_afterwards,
    the_store_is_bound_to_the_first_push_key,
    a_gone_subscription_goes_only_while_it_names_that_endpoint,
);

pub(crate) fn env(space: u8, author: u8, seq: u64, id: u8, bytes: &[u8]) -> NewEnvelope<'_> {
    NewEnvelope {
        space: SpaceId([space; 16]),
        author: DeviceId([author; 32]),
        seq,
        kind: Kind::Changes,
        id: EnvelopeId([id; 32]),
        bytes,
    }
}

pub(crate) fn join_request(space: u8, invite: u8, body: &[u8]) -> NewJoinRequest<'_> {
    NewJoinRequest {
        space: SpaceId([space; 16]),
        invite: InviteId([invite; 16]),
        device: DeviceId([9; 32]),
        body,
    }
}

/// Device `device` asks under invite `invite` of space 1 at `at` (what lets an answer for it in).
pub(crate) fn ask(store: &dyn RelayStore, device: u8, invite: u8, at: u64) {
    let body = [device, invite];
    let outcome = store
        .put_join_request(
            &NewJoinRequest {
                device: DeviceId([device; 32]),
                ..join_request(1, invite, &body)
            },
            16,
            at,
        )
        .unwrap();
    assert_ne!(outcome, MailboxOutcome::Full);
}

pub(crate) fn join_answer(device: u8, invite: u8, body: &[u8]) -> NewJoinAnswer<'_> {
    NewJoinAnswer {
        device: DeviceId([device; 32]),
        space: SpaceId([1; 16]),
        invite: InviteId([invite; 16]),
        body,
    }
}

pub(crate) fn amount(bytes: u64, envelopes: u64) -> Amount {
    Amount { bytes, envelopes }
}

pub(super) fn insert_reports_stored_duplicate_and_conflict(store: &dyn RelayStore) {
    let out = store
        .insert_envelopes(
            &[
                env(1, 1, 1, 1, b"a"),
                env(1, 1, 1, 1, b"a"),
                env(1, 1, 1, 2, b"b"),
            ],
            10,
        )
        .unwrap();
    assert_eq!(
        out,
        vec![
            InsertOutcome::Stored,
            InsertOutcome::Duplicate,
            InsertOutcome::Conflict
        ]
    );
    let listed = store
        .list_range(&SpaceId([1; 16]), &DeviceId([1; 32]), 0, 10)
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        store.load_envelopes(&[listed[0].serial]).unwrap(),
        vec![b"a".to_vec()]
    );
}

pub(super) fn vector_counts_only_contiguous_sequence_numbers(store: &dyn RelayStore) {
    store
        .insert_envelopes(
            &[
                env(1, 1, 1, 1, b"a"),
                env(1, 1, 2, 2, b"b"),
                env(1, 1, 4, 4, b"d"),
            ],
            10,
        )
        .unwrap();
    let v = store.space_vector(&SpaceId([1; 16])).unwrap();
    assert_eq!(v.get(&DeviceId([1; 32])), 2);
    assert!(v.contains(&DeviceId([1; 32]), 4));
    assert_eq!(
        store.space_vector(&SpaceId([2; 16])).unwrap(),
        VersionVector::new()
    );
}

pub(super) fn request_ids_are_remembered_then_pruned(store: &dyn RelayStore) {
    let dev = DeviceId([7; 32]);
    let now = 1_000_000;
    assert_eq!(
        store.record_request(&dev, &[1; 16], now, now).unwrap(),
        RequestFreshness::Fresh
    );
    assert_eq!(
        store.record_request(&dev, &[1; 16], now, now).unwrap(),
        RequestFreshness::Replayed
    );
    assert_eq!(
        store
            .record_request(&DeviceId([8; 32]), &[1; 16], now, now)
            .unwrap(),
        RequestFreshness::Fresh,
        "request ids are per device"
    );
    let later = now + 2 * TIME_WINDOW_SECS + PRUNE_INTERVAL_SECS + 1;
    assert_eq!(
        store.record_request(&dev, &[2; 16], later, later).unwrap(),
        RequestFreshness::Fresh
    );
    assert_eq!(
        store.record_request(&dev, &[1; 16], now, later).unwrap(),
        RequestFreshness::Fresh,
        "entries older than twice the window are pruned"
    );
    assert_eq!(
        store.record_request(&dev, &[2; 16], later, later).unwrap(),
        RequestFreshness::Replayed,
        "newer ones are kept"
    );
}

pub(super) fn held_ids_and_membership_envelopes(store: &dyn RelayStore) {
    let mut m = env(1, 1, 2, 2, b"m");
    m.kind = Kind::Membership;
    store
        .insert_envelopes(&[env(1, 1, 1, 1, b"a"), m, env(2, 1, 1, 3, b"x")], 10)
        .unwrap();
    let slot = |space: u8, seq: u64| Slot {
        space: SpaceId([space; 16]),
        author: DeviceId([1; 32]),
        seq,
    };
    assert_eq!(
        store
            .held_ids(&[slot(1, 1), slot(1, 2), slot(1, 3), slot(2, 1)])
            .unwrap(),
        vec![
            Some(EnvelopeId([1; 32])),
            Some(EnvelopeId([2; 32])),
            None,
            Some(EnvelopeId([3; 32]))
        ]
    );
    assert_eq!(
        store.membership_envelopes(&SpaceId([1; 16]), 0).unwrap(),
        vec![(2, b"m".to_vec())]
    );
    assert!(
        store
            .membership_envelopes(&SpaceId([2; 16]), 0)
            .unwrap()
            .is_empty()
    );
}

pub(super) fn join_requests_are_kept_once_per_body_up_to_the_limit(store: &dyn RelayStore) {
    let put = |invite: u8, body: &[u8]| {
        store
            .put_join_request(&join_request(1, invite, body), 2, 100)
            .unwrap()
    };
    assert_eq!(put(1, b"a"), MailboxOutcome::Stored);
    assert_eq!(put(1, b"a"), MailboxOutcome::Duplicate);
    assert_eq!(put(1, b"b"), MailboxOutcome::Stored);
    assert_eq!(
        put(1, b"a"),
        MailboxOutcome::Duplicate,
        "a replay, even when full"
    );
    assert_eq!(put(1, b"c"), MailboxOutcome::Full);
    assert_eq!(
        put(2, b"c"),
        MailboxOutcome::Stored,
        "the limit is per invite"
    );
    assert_eq!(
        store
            .put_join_request(&join_request(2, 1, b"c"), 2, 100)
            .unwrap(),
        MailboxOutcome::Stored,
        "and per space"
    );
    let space = SpaceId([1; 16]);
    assert_eq!(
        store.join_request_invites(&space).unwrap(),
        vec![InviteId([1; 16]), InviteId([2; 16])]
    );
    let kept = store.join_requests(&space, &InviteId([1; 16])).unwrap();
    let bodies: Vec<&[u8]> = kept.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, vec![b"a".as_slice(), b"b".as_slice()]);
    assert_eq!(kept[0].device, DeviceId([9; 32]));
    assert_eq!(kept[0].received_at, 100);
    assert_eq!(
        store
            .delete_join_requests(&space, &InviteId([1; 16]))
            .unwrap(),
        2
    );
    assert!(
        store
            .join_requests(&space, &InviteId([1; 16]))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.join_request_invites(&space).unwrap(),
        vec![InviteId([2; 16])]
    );
    assert_eq!(put(1, b"c"), MailboxOutcome::Stored, "room again");
}

pub(super) fn join_answers_are_replaced_per_key_and_bounded_per_device(store: &dyn RelayStore) {
    let put = |device: u8, invite: u8, body: &[u8], at: u64| {
        store
            .put_join_answer(&join_answer(device, invite, body), 2, 10, at)
            .unwrap()
    };
    for (device, invite) in [(1, 1), (1, 2), (1, 3), (2, 3)] {
        ask(store, device, invite, 1);
    }
    assert_eq!(
        put(3, 1, b"one", 5),
        MailboxOutcome::NotRequested,
        "device 3 never asked"
    );
    assert_eq!(
        put(2, 1, b"one", 5),
        MailboxOutcome::NotRequested,
        "device 2 asked under another invite"
    );
    assert_eq!(put(1, 1, b"one", 5), MailboxOutcome::Stored);
    assert_eq!(put(1, 1, b"uno", 6), MailboxOutcome::Replaced);
    assert_eq!(put(1, 2, b"two", 7), MailboxOutcome::Stored);
    assert_eq!(
        put(1, 3, b"3", 7),
        MailboxOutcome::Full,
        "two answers at most"
    );
    assert_eq!(
        put(1, 2, b"twotwotwo", 8),
        MailboxOutcome::Full,
        "ten bytes at most"
    );
    assert_eq!(put(1, 2, b"dos", 8), MailboxOutcome::Replaced);
    assert_eq!(put(2, 3, b"3", 9), MailboxOutcome::Stored, "per device");
    let got = store.join_answers(&DeviceId([1; 32])).unwrap();
    let summary: Vec<(u8, &[u8], u64)> = got
        .iter()
        .map(|a| (a.invite.0[0], a.body.as_slice(), a.received_at))
        .collect();
    assert_eq!(
        summary,
        vec![(1, b"uno".as_slice(), 5), (2, b"dos".as_slice(), 7)],
        "a replacement keeps the first arrival time"
    );
    assert_eq!(store.join_answers(&DeviceId([2; 32])).unwrap().len(), 1);
    assert!(store.join_answers(&DeviceId([3; 32])).unwrap().is_empty());

    // One request, one answer: once the answer went, the same answer is not kept again, until
    // the device asks again.
    let (space, invite) = (SpaceId([1; 16]), InviteId([1; 16]));
    assert_eq!(
        store
            .delete_join_answer(&DeviceId([1; 32]), &space, &invite)
            .unwrap(),
        1
    );
    assert_eq!(put(1, 1, b"again", 9), MailboxOutcome::NotRequested);
    // Refused for a full mailbox, the note stays for the next try.
    assert_eq!(put(1, 3, b"0123456789a", 9), MailboxOutcome::Full);
    assert_eq!(put(1, 3, b"3", 9), MailboxOutcome::Stored);
    ask(store, 1, 1, 10);
    assert_eq!(put(2, 2, b"x", 10), MailboxOutcome::NotRequested);
    assert_eq!(
        put(1, 1, b"again", 10),
        MailboxOutcome::Full,
        "asked again, and two answers wait"
    );
}

pub(super) fn notes_of_who_asked_outlive_the_requests_and_go_after_sixty_days(
    store: &dyn RelayStore,
) {
    let (space, invite) = (SpaceId([1; 16]), InviteId([1; 16]));
    let t0 = 1_000_000_000;
    ask(store, 1, 1, t0);
    ask(store, 2, 1, t0);
    ask(store, 3, 1, t0);
    // The invite is spent: its requests go, the notes stay, so the answer can still come.
    assert_eq!(store.delete_join_requests(&space, &invite).unwrap(), 3);
    assert_eq!(
        store
            .put_join_answer(&join_answer(1, 1, b"welcome"), 16, 1 << 20, t0 + 1)
            .unwrap(),
        MailboxOutcome::Stored
    );
    // Device 2's note is pruned sixty days after it last asked, not before.
    let dev = DeviceId([7; 32]);
    let before = t0 + ASK_RETENTION_SECS - 10;
    store
        .record_request(&dev, &[1; 16], before, before)
        .unwrap();
    assert_eq!(
        store
            .put_join_answer(&join_answer(3, 1, b"in time"), 16, 1 << 20, before)
            .unwrap(),
        MailboxOutcome::Stored,
        "device 3's note is kept until sixty days passed"
    );
    let after = t0 + ASK_RETENTION_SECS + PRUNE_INTERVAL_SECS;
    store.record_request(&dev, &[2; 16], after, after).unwrap();
    assert_eq!(
        store
            .put_join_answer(&join_answer(2, 1, b"late"), 16, 1 << 20, after)
            .unwrap(),
        MailboxOutcome::NotRequested
    );
}

/// Issue 15, item 2: what quotas are judged by is counted as envelopes are stored (duplicates and
/// conflicts count for nothing), and given back when they are pruned (their tombstones count for
/// nothing) or erased.
pub(super) fn usage_counts_what_is_stored_and_gives_back_what_is_pruned_or_erased(
    store: &dyn RelayStore,
) {
    store
        .insert_envelopes(
            &[
                env(1, 1, 1, 1, b"aaa"),
                env(1, 1, 2, 2, b"bbbb"),
                env(1, 1, 2, 2, b"bbbb"),
                env(1, 1, 2, 3, b"conflict"),
                env(1, 2, 1, 4, b"cc"),
                env(2, 1, 1, 5, b"ddddd"),
            ],
            10,
        )
        .unwrap();
    let (s1, s2) = (SpaceId([1; 16]), SpaceId([2; 16]));
    let (a1, a2) = (DeviceId([1; 32]), DeviceId([2; 32]));
    let u = store.usage(&[s1, s2], &[a1, a2], &[]).unwrap();
    assert_eq!(u.spaces[&s1], amount(9, 3));
    assert_eq!(u.spaces[&s2], amount(5, 1));
    assert_eq!(u.authors[&a1], amount(12, 3));
    assert_eq!(u.authors[&a2], amount(2, 1));
    assert_eq!(u.total, amount(14, 4));
    // Author 1's first change in space 1 is pruned: its row stays as a tombstone that counts
    // for nothing.
    let cover = BTreeMap::from([(a1, 1)]);
    assert_eq!(store.prune_covered(&s1, &cover, 0, 100).unwrap(), 1);
    let u = store.usage(&[s1], &[a1], &[]).unwrap();
    assert_eq!(u.spaces[&s1], amount(6, 2));
    assert_eq!(u.authors[&a1], amount(9, 2));
    assert_eq!(u.total, amount(11, 3));
    // Space 2 is erased: all of it goes.
    store.erase_space(&s2, 200).unwrap();
    let u = store.usage(&[s2], &[a1], &[]).unwrap();
    assert_eq!(u.spaces[&s2], amount(0, 0));
    assert_eq!(u.authors[&a1], amount(4, 1));
    assert_eq!(u.total, amount(6, 2));
    // Space 1 is erased too: its tombstone goes without counting twice.
    store.erase_space(&s1, 300).unwrap();
    let u = store.usage(&[s1], &[a1, a2], &[]).unwrap();
    assert_eq!(u.spaces[&s1], amount(0, 0));
    assert_eq!(u.authors[&a1], amount(0, 0));
    assert_eq!(u.total, amount(0, 0));
}

/// A person's count starts with what its device held when admitted and follows it after; the
/// admitted spaces' count starts with what the space held when admitted and follows it after.
pub(super) fn admitted_persons_and_spaces_count_what_their_devices_and_spaces_hold(
    store: &dyn RelayStore,
) {
    let s1 = SpaceId([1; 16]);
    let (a1, a2) = (DeviceId([1; 32]), DeviceId([2; 32]));
    let p = PersonId([7; 32]);
    store
        .insert_envelopes(&[env(1, 1, 1, 1, b"aaa"), env(2, 2, 1, 2, b"bb")], 10)
        .unwrap();
    store.admit_person(&p, 1000, &a1).unwrap();
    store.admit_space(&s1, 20, &p).unwrap();
    let u = store.usage(&[], &[], &[p]).unwrap();
    assert_eq!(
        u.persons[&p],
        amount(3, 1),
        "what device 1 held when admitted"
    );
    assert_eq!(u.admitted, amount(3, 1), "what space 1 held when admitted");
    // Device 2 of the same person; a second admission of a space or device adds nothing.
    store.admit_device(&a2, &p).unwrap();
    store.admit_device(&a2, &PersonId([8; 32])).unwrap();
    store.admit_space(&s1, 30, &PersonId([8; 32])).unwrap();
    store
        .insert_envelopes(&[env(1, 2, 1, 3, b"cccc"), env(2, 1, 1, 4, b"d")], 40)
        .unwrap();
    let u = store.usage(&[], &[], &[p, PersonId([8; 32])]).unwrap();
    assert_eq!(u.persons[&p], amount(10, 4));
    assert_eq!(
        u.persons[&PersonId([8; 32])],
        amount(0, 0),
        "a device keeps its first person"
    );
    assert_eq!(u.admitted, amount(7, 2));
    assert_eq!(
        u.founders[&p],
        amount(7, 2),
        "what the person's founded space holds"
    );
    assert_eq!(
        u.founders[&PersonId([8; 32])],
        amount(0, 0),
        "a space keeps its first founder"
    );
    assert_eq!(u.total, amount(10, 4));
    assert_eq!(store.admitted_device(&a2).unwrap(), Some(p));
    // Erasing space 1 gives back both counts.
    store.erase_space(&s1, 50).unwrap();
    let u = store.usage(&[], &[], &[p]).unwrap();
    assert_eq!(u.persons[&p], amount(3, 2));
    assert_eq!(u.admitted, amount(0, 0));
}

pub(super) fn mailboxes_are_pruned_after_thirty_days(store: &dyn RelayStore) {
    let t0 = 1_000_000_000;
    // Device 1 asks under invites 1 and 2, and is answered under both.
    store
        .put_join_request(
            &NewJoinRequest {
                device: DeviceId([1; 32]),
                ..join_request(1, 1, b"old")
            },
            16,
            t0,
        )
        .unwrap();
    ask(store, 1, 2, t0);
    store
        .put_join_answer(&join_answer(1, 1, b"old"), 16, 1 << 20, t0)
        .unwrap();
    let fresh = t0 + MAILBOX_RETENTION_SECS - 10;
    store
        .put_join_request(&join_request(1, 1, b"new"), 16, fresh)
        .unwrap();
    store
        .put_join_answer(&join_answer(1, 2, b"new"), 16, 1 << 20, fresh)
        .unwrap();
    // Within the retention period nothing goes.
    let dev = DeviceId([7; 32]);
    store
        .record_request(&dev, &[1; 16], fresh - 1, fresh - 1)
        .unwrap();
    assert_eq!(
        store
            .join_requests(&SpaceId([1; 16]), &InviteId([1; 16]))
            .unwrap()
            .len(),
        2
    );
    let later = t0 + MAILBOX_RETENTION_SECS + PRUNE_INTERVAL_SECS;
    store.record_request(&dev, &[2; 16], later, later).unwrap();
    let left: Vec<Vec<u8>> = store
        .join_requests(&SpaceId([1; 16]), &InviteId([1; 16]))
        .unwrap()
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(left, vec![b"new".to_vec()]);
    let left: Vec<Vec<u8>> = store
        .join_answers(&DeviceId([1; 32]))
        .unwrap()
        .into_iter()
        .map(|a| a.body)
        .collect();
    assert_eq!(left, vec![b"new".to_vec()]);
}

fn subscription(n: u8) -> StoredSubscription {
    let mut p256dh = vec![4];
    p256dh.extend([n; 64]);
    StoredSubscription {
        endpoint: format!("https://push.example.net/s/{n}"),
        p256dh,
        auth: vec![n; 16],
    }
}

pub(super) fn wake_candidates_are_the_readers_with_a_subscription_and_leave_with_an_erased_space(
    store: &dyn RelayStore,
) {
    let (s1, s2) = (SpaceId([1; 16]), SpaceId([2; 16]));
    let d = |n: u8| DeviceId([n; 32]);
    for n in [1, 2, 3] {
        store
            .set_push_subscription(&d(n), Some(&subscription(n)), 100)
            .unwrap();
    }
    store.note_readers(&d(2), &[s1]).unwrap();
    store.note_readers(&d(1), &[s1, s2]).unwrap();
    store.note_readers(&d(1), &[s1]).unwrap();
    store.note_readers(&d(3), &[s2]).unwrap();
    // A reader without a subscription is never a candidate; nor is a subscriber who never read.
    store.note_readers(&d(4), &[s1]).unwrap();
    store
        .set_push_subscription(&d(5), Some(&subscription(5)), 100)
        .unwrap();
    assert_eq!(
        store.wake_candidates(&s1).unwrap(),
        vec![(d(1), subscription(1)), (d(2), subscription(2))]
    );
    // A device's new subscription replaces its old one; removing it removes it.
    store
        .set_push_subscription(&d(1), Some(&subscription(9)), 200)
        .unwrap();
    store.set_push_subscription(&d(2), None, 200).unwrap();
    store.set_push_subscription(&d(2), None, 201).unwrap();
    assert_eq!(
        store.wake_candidates(&s1).unwrap(),
        vec![(d(1), subscription(9))]
    );
    assert!(store.reads_any(&d(2)).unwrap());
    assert!(!store.reads_any(&d(5)).unwrap());
    // Erasing a space forgets who read it, and nothing else.
    store.erase_space(&s1, 300).unwrap();
    assert!(
        !store.reads_any(&d(2)).unwrap(),
        "d(2) read only the erased space"
    );
    assert!(store.reads_any(&d(1)).unwrap());
    assert_eq!(store.wake_candidates(&s1).unwrap(), vec![]);
    assert_eq!(
        store.wake_candidates(&s2).unwrap(),
        vec![(d(1), subscription(9)), (d(3), subscription(3))]
    );
}

/// Review finding F5: a pull that noted its readers after an erasure committed must not bring the
/// erased space's readers back.
pub(super) fn an_erased_space_gains_no_reader_afterwards(store: &dyn RelayStore) {
    let (s1, s2) = (SpaceId([1; 16]), SpaceId([2; 16]));
    let d = DeviceId([7; 32]);
    store
        .set_push_subscription(&d, Some(&subscription(7)), 100)
        .unwrap();
    store.erase_space(&s1, 200).unwrap();
    store.note_readers(&d, &[s1]).unwrap();
    assert_eq!(store.wake_candidates(&s1).unwrap(), vec![]);
    assert!(!store.reads_any(&d).unwrap());
    // Another space in the same note is kept.
    store.note_readers(&d, &[s1, s2]).unwrap();
    assert_eq!(store.wake_candidates(&s1).unwrap(), vec![]);
    assert_eq!(
        store.wake_candidates(&s2).unwrap(),
        vec![(d, subscription(7))]
    );
}

/// Review finding F2: the first key a store is given is the one it keeps; another is refused.
pub(super) fn the_store_is_bound_to_the_first_push_key(store: &dyn RelayStore) {
    let (a, b) = ([4u8; 65], [5u8; 65]);
    assert!(store.bind_push_key(&a).unwrap());
    assert!(store.bind_push_key(&a).unwrap());
    assert!(!store.bind_push_key(&b).unwrap());
    assert!(store.bind_push_key(&a).unwrap());
}

/// A 410 for an old endpoint does not remove the one the device registered since; counts of a
/// shared endpoint leave the asking device out.
pub(super) fn a_gone_subscription_goes_only_while_it_names_that_endpoint(store: &dyn RelayStore) {
    let (d1, d2, d3) = (DeviceId([1; 32]), DeviceId([2; 32]), DeviceId([3; 32]));
    let s1 = SpaceId([1; 16]);
    store.note_readers(&d1, &[s1]).unwrap();
    store
        .set_push_subscription(&d1, Some(&subscription(1)), 100)
        .unwrap();
    let old = subscription(1).endpoint;
    store
        .set_push_subscription(&d1, Some(&subscription(2)), 101)
        .unwrap();
    assert!(!store.forget_push_subscription(&d1, &old).unwrap());
    assert_eq!(
        store.wake_candidates(&s1).unwrap(),
        vec![(d1, subscription(2))]
    );
    store
        .set_push_subscription(&d2, Some(&subscription(2)), 102)
        .unwrap();
    store
        .set_push_subscription(&d3, Some(&subscription(3)), 102)
        .unwrap();
    let shared = subscription(2).endpoint;
    assert_eq!(
        store.push_subscription_counts(&shared, &d1).unwrap(),
        (1, 2)
    );
    assert_eq!(
        store.push_subscription_counts(&shared, &d3).unwrap(),
        (2, 2)
    );
    assert!(store.forget_push_subscription(&d1, &shared).unwrap());
    assert_eq!(store.wake_candidates(&s1).unwrap(), vec![]);
    // A reader forgotten for one space stays a reader of another.
    let s2 = SpaceId([2; 16]);
    store.note_readers(&d2, &[s1, s2]).unwrap();
    store.forget_readers(&s1, &[d2, d3]).unwrap();
    assert_eq!(store.wake_candidates(&s1).unwrap(), vec![]);
    assert_eq!(
        store.wake_candidates(&s2).unwrap(),
        vec![(d2, subscription(2))]
    );
    store.forget_readers(&s2, &[d2]).unwrap();
    assert!(!store.reads_any(&d2).unwrap());
}
