// Live sync through the Swift bindings (issue 16, item 2): a device's live session is told that the
// group another device wrote to changed and was synced, the note is readable, and stop() ends the
// session, also from inside the listener. The same flow as bindings/tests/python/test_live.py. No
// assertion is about timing: each event is awaited far longer than loopback needs. main.swift runs
// liveTests().

import Foundation

/// Collects a live session's syncs for the test to take, waiting at most a minute for each.
final class LiveEvents: LiveListener {
    private let cond = NSCondition()
    private var synced: [([String], UInt32)] = []
    private let onSynced: () -> Void
    init(onSynced: @escaping () -> Void = {}) { self.onSynced = onSynced }
    func synced(spaceIds: [String], report: SyncReport) {
        cond.lock(); synced.append((spaceIds, report.pulled)); cond.broadcast(); cond.unlock()
        onSynced()
    }
    private var failures: [LiveFailure] = []
    func failed(failure: LiveFailure) {
        cond.lock(); failures.append(failure); cond.broadcast(); cond.unlock()
    }
    func nextFailure() throws -> LiveFailure {
        cond.lock(); defer { cond.unlock() }
        let until = Date().addingTimeInterval(60)
        while failures.isEmpty {
            if !cond.wait(until: until) { throw CheckFailure(description: "no failure reported") }
        }
        return failures.removeFirst()
    }
    func next() throws -> ([String], UInt32) {
        cond.lock(); defer { cond.unlock() }
        let until = Date().addingTimeInterval(60)
        while synced.isEmpty {
            if !cond.wait(until: until) { throw CheckFailure(description: "no sync reported") }
        }
        return synced.removeFirst()
    }
}

func liveTests() {
    func pair(_ tag: String) throws -> (Vault, Vault, String) {
        let url = try relayURL()
        let fac = try Vault.open(path: tmpPath("live-f\(tag).db"), masterKey: try generateMasterKey())
        let sup = try Vault.open(path: tmpPath("live-s\(tag).db"), masterKey: try generateMasterKey())
        let gid = try fac.groups().create(name: "Kelompok Kamis")
        _ = try sup.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try sup.linkRequest(), asAdmin: true))
        _ = try fac.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        return (fac, sup, gid)
    }

    check("live: a session is told of a write elsewhere, syncs it, and stops") {
        let url = try relayURL()
        let (fac, sup, gid) = try pair("1")
        let events = LiveEvents()
        let control = SyncControl()
        let session = try sup.startLive(relayUrl: url, listener: events, control: control, waitMs: 20_000)
        try assertTrue(session.isRunning(), "running")
        try assertEqual([String](), try events.next().0, "the first sync is of every space")
        _ = try fac.groups().addNote(groupId: gid, text: "Kita mulai dengan check-in.", title: "Rencana")
        _ = try fac.sync(relayUrl: url)
        let (spaces, pulled) = try events.next()
        try assertEqual([gid], spaces, "exactly the group")
        try assertTrue(pulled > 0, "something pulled")
        try assertEqual(["Kita mulai dengan check-in."], try sup.groups().notes(groupId: gid).map { $0.text }, "readable")
        session.stop()
        try assertTrue(!session.isRunning(), "stopped")
        try assertTrue(control.isCancelled(), "the control is cancelled")
    }

    check("live: stop from inside the listener does not deadlock") {
        let url = try relayURL()
        let (_, sup, _) = try pair("2")
        let started = DispatchSemaphore(value: 0)
        let stoppedInside = DispatchSemaphore(value: 0)
        let holder = NSLock()
        var held: LiveSession? = nil
        let events = LiveEvents {
            _ = started.wait(timeout: .now() + 60)
            holder.lock(); let s = held; holder.unlock()
            s?.stop()
            stoppedInside.signal()
        }
        let session = try sup.startLive(relayUrl: url, listener: events, control: SyncControl(), waitMs: 20_000)
        holder.lock(); held = session; holder.unlock()
        started.signal()
        try assertTrue(stoppedInside.wait(timeout: .now() + 60) == .success, "stop returned inside the listener")
        session.stop()
        try assertTrue(!session.isRunning(), "stopped")
    }

    check("live: a relay out of reach is a typed failure; the session goes on until stopped") {
        let v = try Vault.open(path: tmpPath("live-alone.db"), masterKey: try generateMasterKey())
        let events = LiveEvents()
        let port = try closedPort()
        let session = try v.startLive(relayUrl: "http://127.0.0.1:\(port)", listener: events, control: SyncControl(), waitMs: 20_000)
        let failure = try events.nextFailure()
        if case .network = failure {} else { throw CheckFailure(description: "not a network failure: \(failure)") }
        try assertTrue(session.isRunning(), "it goes on")
        session.stop()
        try assertTrue(!session.isRunning(), "stopped")
    }
}
