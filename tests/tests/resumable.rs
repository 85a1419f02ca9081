//! Resumable, idempotent relay sync (issue 5, item 6): chunked transfers acknowledged by the relay's
//! vectors; a cut re-sends only the chunk in flight; a lost, duplicated or stale answer never stalls
//! sync. The link misbehaves in-process, in an `HttpClient` wrapper around a real loopback relay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Mutex;

use sebaya_core::sync::policy::{Link, SyncPolicy};
use sebaya_core::{Chunking, HttpClient, HttpRequest, HttpResponse, Vault};
use sebaya_tests::day::{day_of_activity, group_notes, group_pair};
use sebaya_tests::net::{Net, net, pushed, sync};

/// What the link does to the n-th sync request (counted from 0 across the wrapper's life).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The request reaches the relay; its answer is lost.
    LoseAnswer,
    /// The request never reaches the relay.
    LoseRequest,
    /// The answer arrives, and is delivered once more as the answer to the next request.
    RepeatAnswer,
}

struct Sent {
    envelopes: Vec<[u8; 32]>,
    answered: bool,
}

/// An HTTP client that misbehaves on chosen `/v1/sync` requests and logs what each one pushed.
struct BadLink<'a> {
    inner: &'a dyn HttpClient,
    /// Only this space's envelopes are logged (a sync may also push, say, the person's index).
    space: sebaya_core::SpaceId,
    faults: Vec<(usize, Fault)>,
    log: Mutex<Vec<Sent>>,
    stale: Mutex<Option<HttpResponse>>,
}

impl<'a> BadLink<'a> {
    fn new(n: &'a Net, space: sebaya_core::SpaceId, faults: &[(usize, Fault)]) -> BadLink<'a> {
        BadLink {
            inner: &n.http,
            space,
            faults: faults.to_vec(),
            log: Mutex::new(Vec::new()),
            stale: Mutex::new(None),
        }
    }

    /// Envelope ids pushed by requests whose answer arrived (acknowledged), and by the others.
    fn split(&self) -> (Vec<[u8; 32]>, Vec<[u8; 32]>) {
        let log = self.log.lock().unwrap();
        let mut acked = Vec::new();
        let mut lost = Vec::new();
        for s in log.iter() {
            if s.answered {
                acked.extend(&s.envelopes);
            } else {
                lost.extend(&s.envelopes);
            }
        }
        (acked, lost)
    }

    fn all(&self) -> Vec<[u8; 32]> {
        let (mut a, l) = self.split();
        a.extend(l);
        a
    }
}

impl HttpClient for BadLink<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let Some(pushed) = pushed(&request) else {
            return self.inner.send(request);
        };
        let envelopes = pushed
            .into_iter()
            .filter(|(e, _)| e.len() >= 22 && e[6..22] == self.space.0)
            .map(|(_, id)| id)
            .collect();
        let i = {
            let mut log = self.log.lock().unwrap();
            log.push(Sent {
                envelopes,
                answered: false,
            });
            log.len() - 1
        };
        let fault = self.faults.iter().find(|f| f.0 == i).map(|f| f.1);
        if fault == Some(Fault::LoseRequest) {
            return Err("connection reset".into());
        }
        let resp = self.inner.send(request)?;
        if fault == Some(Fault::LoseAnswer) {
            return Err("timed out".into());
        }
        self.log.lock().unwrap()[i].answered = true;
        if let Some(old) = self.stale.lock().unwrap().take() {
            return Ok(old);
        }
        if fault == Some(Fault::RepeatAnswer) {
            *self.stale.lock().unwrap() = Some(resp.clone());
        }
        Ok(resp)
    }
}

/// Small chunks, no waiting between retries.
fn chunks(retries: u32) -> Chunking {
    Chunking {
        retries,
        backoff_ms: 0,
        ..Chunking::chunked(4096)
    }
}

fn drive(
    v: &mut Vault,
    http: &dyn HttpClient,
    url: &str,
    c: Chunking,
) -> sebaya_core::Result<sebaya_core::SyncReport> {
    let mut s = v.sync_begin(url).unwrap();
    s.set_chunking(c);
    v.drive_sync(http, &mut s).map(|()| s.report().clone())
}

struct Day {
    n: Net,
    _dir: tempfile::TempDir,
    fac: Vault,
    member: Vault,
    g: sebaya_core::SpaceId,
    sealed: usize,
}

/// A group whose facilitator wrote 200 changes (200 envelopes) after both devices synced once.
fn day() -> Day {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut fac, mut member, g) = group_pair(dir.path());
    sync(&n, &mut fac);
    sync(&n, &mut member);
    let sealed = day_of_activity(&mut fac, &g, 1, 40, 300, 1) as usize;
    assert_eq!(sealed, 40);

    Day {
        n,
        _dir: dir,
        fac,
        member,
        g,
        sealed,
    }
}

fn converged(d: &mut Day) {
    let url = d.n.relay.url();
    d.member.sync_with(&d.n.http, &url).unwrap();
    let want = group_notes(&mut d.fac, &d.g);
    assert_eq!(want.len(), 30);
    assert_eq!(group_notes(&mut d.member, &d.g), want);
}

#[test]
fn a_cut_resends_only_the_chunk_in_flight() {
    let mut d = day();

    let url = d.n.relay.url();
    // The third request reaches the relay but its answer is lost, and the sync gives up.
    let first = BadLink::new(&d.n, d.g, &[(2, Fault::LoseAnswer)]);
    let err = drive(&mut d.fac, &first, &url, chunks(0)).unwrap_err();
    assert!(matches!(err, sebaya_core::Error::Network(_)), "{err:?}");
    let (acked, in_flight) = first.split();
    assert!(!acked.is_empty() && !in_flight.is_empty());
    assert!(
        acked.len() + in_flight.len() < d.sealed,
        "the cut came mid-transfer"
    );

    let second = BadLink::new(&d.n, d.g, &[]);
    let report = drive(&mut d.fac, &second, &url, chunks(0)).unwrap();

    let again: HashSet<[u8; 32]> = second.all().into_iter().collect();

    // Nothing acknowledged goes again; of the chunk in flight, what the relay's vectors do not
    // acknowledge by then goes again, once; every envelope went.
    assert!(acked.iter().all(|id| !again.contains(id)));
    assert_eq!(second.all().len(), again.len(), "no envelope twice");
    let resent = in_flight.iter().filter(|id| again.contains(*id)).count();
    let mut everything: HashSet<[u8; 32]> = again.clone();
    everything.extend(&acked);
    everything.extend(&in_flight);
    assert_eq!(everything.len(), d.sealed);
    assert_eq!(
        again.len(),
        d.sealed - acked.len() - in_flight.len() + resent
    );
    assert!(report.pushed as usize >= again.len());
    assert!(d.fac.space_status().unwrap().iter().all(|s| !s.waiting));
    assert!(report.round_trips > 3, "4 KiB chunks: {report:?}");
    converged(&mut d);
}

#[test]
fn lost_requests_and_answers_are_retried_in_the_same_sync() {
    let mut d = day();
    let url = d.n.relay.url();
    let link = BadLink::new(
        &d.n,
        d.g,
        &[(2, Fault::LoseAnswer), (4, Fault::LoseRequest)],
    );
    let report = drive(&mut d.fac, &link, &url, chunks(3)).unwrap();
    let log = link.log.lock().unwrap();
    let lost = log[2].envelopes.len() + log[4].envelopes.len();
    // Each retry carries exactly the body in flight, under a new signature and request id.
    assert_eq!(log[3].envelopes, log[2].envelopes);
    assert_eq!(log[5].envelopes, log[4].envelopes);
    drop(log);
    assert_eq!(report.retries, 2);
    assert_eq!(report.resent as usize, lost);
    assert!(report.pushed as usize >= d.sealed);
    let distinct: HashSet<[u8; 32]> = link.all().into_iter().collect();
    assert_eq!(distinct.len(), d.sealed);
    assert_eq!(link.all().len(), d.sealed + lost);

    // The member pulls in 4 KiB pages; one page's answer is lost and asked again.
    let pull = BadLink::new(&d.n, d.g, &[(2, Fault::LoseAnswer)]);
    let got = drive(&mut d.member, &pull, &url, chunks(3)).unwrap();
    assert_eq!(got.retries, 1);
    assert_eq!(got.pulled as usize, d.sealed, "each envelope stored once");
    assert!(got.round_trips > 3);
    let want = group_notes(&mut d.fac, &d.g);
    assert_eq!(group_notes(&mut d.member, &d.g), want);
}

#[test]
fn a_repeated_stale_answer_never_stalls_sync() {
    let mut d = day();
    let url = d.n.relay.url();
    // The answer to request 1 comes again as the answer to request 2 (duplicated and reordered).
    let link = BadLink::new(
        &d.n,
        d.g,
        &[(1, Fault::RepeatAnswer), (5, Fault::RepeatAnswer)],
    );
    let report = drive(&mut d.fac, &link, &url, chunks(0)).unwrap();
    assert!(report.round_trips < 200, "{report:?}");
    // Whatever the stale answers hid is re-sent by the next sync; the relay holds it all.
    let _ = d.fac.sync_with(&d.n.http, &url).unwrap();
    assert!(d.fac.space_status().unwrap().iter().all(|s| !s.waiting));
    let pull = BadLink::new(&d.n, d.g, &[(1, Fault::RepeatAnswer)]);
    drive(&mut d.member, &pull, &url, chunks(0)).unwrap();
    converged(&mut d);
}

#[test]
fn a_dead_link_ends_the_sync_with_a_network_error_and_loses_nothing() {
    let mut d = day();
    let url = d.n.relay.url();
    let faults: Vec<(usize, Fault)> = (0..10).map(|i| (i, Fault::LoseRequest)).collect();
    let link = BadLink::new(&d.n, d.g, &faults);
    let err = drive(&mut d.fac, &link, &url, chunks(2)).unwrap_err();
    assert!(matches!(err, sebaya_core::Error::Network(_)));
    assert_eq!(link.log.lock().unwrap().len(), 3, "one try and two retries");
    assert!(d.fac.space_status().unwrap().iter().any(|s| s.waiting));
    let report = d.fac.sync_with(&d.n.http, &url).unwrap();
    assert_eq!(report.pushed as usize, d.sealed);
    converged(&mut d);
}

#[test]
fn a_metered_link_syncs_in_the_policys_chunks() {
    assert_eq!(Chunking::chunked(0).page_bytes, 64 * 1024);
    assert_eq!(Chunking::chunked(1).page_bytes, 4 * 1024);
    assert_eq!(Chunking::chunked(u64::MAX).page_bytes, 4 * 1024 * 1024);
    let mut d = day();
    let url = d.n.relay.url();
    d.fac
        .set_sync_policy(SyncPolicy {
            metered_chunk_bytes: 1024,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(d.fac.sync_policy().unwrap().metered_chunk_bytes, 1024);
    let (_, metered) = d.fac.sync_on(&d.n.http, &url, Link::Metered).unwrap();
    assert_eq!(metered.pushed as usize, d.sealed);
    // About 16 kB in 4 KiB chunks (the smallest allowed), against one request on a fast link.
    assert!(metered.round_trips >= 4, "{metered:?}");
    let (_, fast) = d.member.sync_on(&d.n.http, &url, Link::Unmetered).unwrap();
    assert_eq!(fast.pulled as usize, d.sealed);
    assert!(fast.round_trips <= 3, "{fast:?}");
    converged(&mut d);
}

/// Cancels `stop` once it has answered `k` requests.
struct StopAfter<'a> {
    inner: &'a dyn HttpClient,
    stop: sebaya_core::SyncStop,
    k: usize,
    calls: Mutex<usize>,
}

impl HttpClient for StopAfter<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let r = self.inner.send(request);
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        if *calls == self.k {
            self.stop.cancel();
        }
        r
    }
}

/// Issue 17, item 2: a sync stopped after each of its requests in turn ends before the next one,
/// keeps every answer it took, and the next sync completes it; the same day's pull through a link
/// stopped at each step ends with the member holding every note.
#[test]
fn a_sync_stopped_after_any_request_loses_nothing_and_the_next_completes_it() {
    let mut d = day();
    let url = d.n.relay.url();
    let mut k = 1;
    loop {
        let stop = sebaya_core::SyncStop::new();
        let link = StopAfter {
            inner: &d.n.http,
            stop: stop.clone(),
            k,
            calls: Mutex::new(0),
        };
        let mut s = d.fac.sync_begin(&url).unwrap();
        s.set_chunking(chunks(0));
        match d.fac.drive_sync_until(&link, &mut s, &stop) {
            Err(sebaya_core::Error::Cancelled) => {
                assert_eq!(
                    *link.calls.lock().unwrap(),
                    k,
                    "no request after the cancel"
                );
                k += 1;
            }
            Ok(()) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        k > 3,
        "a push in at least three chunks was stopped at each: {k}"
    );
    assert!(!d.fac.space_status().unwrap().iter().any(|s| s.waiting));
    converged(&mut d);
}

/// Review finding: a cancel that lands while the last request is in flight reported a finished sync
/// as `Cancelled` and skipped what a sync does at its end (records the sync, applies join results).
/// The stop is checked before a request is sent, after the vault has had its say on whether another
/// is needed.
#[test]
fn a_cancel_during_the_last_request_lets_the_finished_sync_end() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vault::open(&dir.path().join("v.db"), &[5; 32]).unwrap();
    v.journal_add("satu", 3, &[]).unwrap();
    let url = n.relay.url();
    // A first sync of a new vault: `GET /v1/info`, then one exchange.
    let stop = sebaya_core::SyncStop::new();
    let link = StopAfter {
        inner: &n.http,
        stop: stop.clone(),
        k: 2,
        calls: Mutex::new(0),
    };
    let mut s = v.sync_begin(&url).unwrap();
    v.drive_sync_until(&link, &mut s, &stop).unwrap();
    assert_eq!(*link.calls.lock().unwrap(), 2);
    assert!(!v.space_status().unwrap().iter().any(|s| s.waiting));
    assert!(
        v.space_status()
            .unwrap()
            .iter()
            .all(|s| s.last_synced.is_some())
    );
}
