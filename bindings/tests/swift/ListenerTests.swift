// Listener semantics through the Swift bindings (issue 17, item 3): a listener that throws never fails
// the write or the sync that told it, and the listeners after it are still told; a listener may start
// a sync from inside its callback without deadlock (each call runs on a thread of its own and is
// awaited with a deadline, so a deadlock fails the check instead of hanging the run). The same flows
// as bindings/tests/python/test_platform.py. main.swift runs listenerTests().

import Foundation

/// What a Swift listener throws in these checks (any Swift error will do).
struct ListenerBug: Error {}

/// Throws on every call, counting them.
final class ThrowingListener: SpaceListener {
    private let lock = NSLock()
    private var n = 0
    var calls: Int { lock.lock(); defer { lock.unlock() }; return n }
    func spaceChanged(spaceId: String, kind: SpaceKind) throws {
        lock.lock(); n += 1; lock.unlock()
        throw ListenerBug()
    }
}

/// Runs `body` on a thread of its own; throws when it does not return within `seconds`.
func withDeadline<T>(_ what: String, seconds: Double = 60, _ body: @escaping () throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    var outcome: Result<T, Error>?
    let t = Thread {
        outcome = Result { try body() }
        done.signal()
    }
    t.start()
    guard done.wait(timeout: .now() + seconds) == .success, let result = outcome else {
        throw CheckFailure(description: "deadlocked: \(what) did not return")
    }
    return try result.get()
}

func listenerTests() {
    check("a listener that throws never fails the write; listeners after it are still told") {
        let v = try Vault.open(path: tmpPath("lt-throw.db"), masterKey: try generateMasterKey())
        let before = RecordingListener(), after = RecordingListener(), bad = ThrowingListener()
        let subs = [v.subscribe(listener: before), v.subscribe(listener: bad), v.subscribe(listener: after)]
        _ = try v.journal().add(text: "tetap tersimpan", mood: 3)
        try assertEqual(1, bad.calls, "the throwing listener was called")
        try assertEqual(1, before.spaces.count, "earlier listener told")
        try assertEqual(1, after.spaces.count, "later listener told")
        _ = try v.journal().add(text: "sesudahnya", mood: 4)
        try assertEqual(["tetap tersimpan", "sesudahnya"], try v.journal().list().map { $0.text }, "entries")
        try assertEqual(2, after.spaces.count, "later listener told again")
        subs.forEach { $0.stop() }
    }

    check("a listener that throws during sync never fails the sync; a listener may start a sync") {
        let url = try relayURL()
        let a = try Vault.open(path: tmpPath("lt-a.db"), masterKey: try generateMasterKey())
        let b = try Vault.open(path: tmpPath("lt-b.db"), masterKey: try generateMasterKey())
        try b.completeLink(response: try a.approveLink(request: try b.linkRequest()))
        _ = try a.sync(relayUrl: url)
        _ = try b.sync(relayUrl: url)
        let bad = ThrowingListener(), rec = RecordingListener()
        let subs = [b.subscribe(listener: bad), b.subscribe(listener: rec)]
        _ = try a.journal().add(text: "pertama", mood: 3)
        _ = try a.sync(relayUrl: url)
        let first = try withDeadline("a sync with a throwing listener") { try b.sync(relayUrl: url) }
        try assertTrue(first.applied >= 1, "applied")
        try assertTrue(bad.calls >= 1, "the throwing listener was called")
        try assertTrue(!rec.spaces.isEmpty, "the later listener was told")
        subs.forEach { $0.stop() }

        final class Syncs: SpaceListener {
            let vault: Vault, url: String
            private let lock = NSLock()
            private var reports: [SyncReport] = []
            private var started = false
            init(_ vault: Vault, _ url: String) { self.vault = vault; self.url = url }
            var done: [SyncReport] { lock.lock(); defer { lock.unlock() }; return reports }
            func reset() { lock.lock(); reports.removeAll(); started = false; lock.unlock() }
            func spaceChanged(spaceId: String, kind: SpaceKind) throws {
                // Once per check: the listener's own sync may change a space and tell it again, nested.
                lock.lock(); let first = !started; started = true; lock.unlock()
                if first {
                    let r = try vault.sync(relayUrl: url)
                    lock.lock(); reports.append(r); lock.unlock()
                }
            }
        }
        let syncs = Syncs(b, url)
        let sub = b.subscribe(listener: syncs)
        _ = try a.journal().add(text: "kedua", mood: 4)
        _ = try a.sync(relayUrl: url)
        let outer = try withDeadline("a sync whose listener syncs") { try b.sync(relayUrl: url) }
        try assertTrue(outer.applied >= 1, "applied")
        try assertEqual(1, syncs.done.count, "the listener's own sync completed")
        syncs.reset()
        _ = try withDeadline("a write whose listener syncs") { try b.journal().add(text: "dari B", mood: 4) }
        try assertTrue(syncs.done.count == 1 && syncs.done[0].pushed >= 1, "the listener's sync pushed")
        sub.stop()
        try assertEqual(["pertama", "kedua", "dari B"], try b.journal().list().map { $0.text }, "entries")
    }
}
