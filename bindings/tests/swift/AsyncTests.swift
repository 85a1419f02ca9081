// Swift concurrency over the bindings (issue 17, item 2): the shipped ios/Sources/Sebaya/SebayaAsync.swift,
// compiled with the tests. A cancelled Task stops its sync at the next step and loses nothing; the
// changes of a vault and a live session arrive as AsyncStreams that stop their source when the
// consumer goes. Every wait is bounded (a hang fails the check, it never hangs the run); no
// assertion is about timing. main.swift runs asyncTests().

import Foundation

/// Where a task leaves its result for the thread waiting on it.
final class ResultSlot<T>: @unchecked Sendable { var result: Result<T, Error>? }

/// Runs `body` as a Task and waits for it, at most two minutes.
func runAsync<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let slot = ResultSlot<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { slot.result = .success(try await body()) } catch { slot.result = .failure(error) }
        done.signal()
    }
    guard done.wait(timeout: .now() + 120) == .success, let r = slot.result else {
        throw CheckFailure(description: "the task did not finish within two minutes")
    }
    return try r.get()
}

/// Passes requests on, and runs `onSend` (once) while the first is in flight.
final class HookTransport: HttpTransport, @unchecked Sendable {
    let inner: HttpTransport
    private let lock = NSLock()
    private var n = 0
    var onSend: (() -> Void)?
    init(_ inner: HttpTransport) { self.inner = inner }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock(); n += 1; let hook = onSend; onSend = nil; lock.unlock()
        hook?()
        return try inner.send(request: request)
    }
}

final class TaskBox: @unchecked Sendable {
    var task: Task<SyncReport, Error>?
}

func asyncTests() {
    check("async: cancelling the task stops its sync after the request in flight; the next sync resumes") {
        let url = try relayURL()
        let v = try Vault.open(path: tmpPath("async-stop.db"), masterKey: try generateMasterKey())
        _ = try v.journal().add(text: "dibatalkan di tengah", mood: 3)
        let hook = HookTransport(transport)
        let box = TaskBox()
        let ready = DispatchSemaphore(value: 0)
        // The hook waits until the task is known, then cancels it while its first request is out.
        hook.onSend = {
            _ = ready.wait(timeout: .now() + 60)
            box.task?.cancel()
        }
        setHttpTransport(transport: hook)
        defer { setHttpTransport(transport: transport) }
        let m: String? = try runAsync {
            let task = Task { try await v.syncAsync(relayUrl: url) }
            box.task = task
            ready.signal()
            do {
                _ = try await task.value
                return nil
            } catch let e as SebayaError {
                return cancelledId(e)
            }
        }
        try assertEqual("error-sync-cancelled", m, "the task's sync throws Cancelled")
        try assertEqual(1, hook.count, "no request after the cancel")

        setHttpTransport(transport: transport)
        let r = try runAsync { try await v.syncAsync(relayUrl: url) }
        try assertTrue(r.pushed >= 1, "the next sync pushes what waited")
        try assertTrue(try v.spaceStatus().allSatisfy { !$0.waiting }, "nothing left waiting")
    }

    check("async: a deadline ends a sync with error-sync-deadline and sends nothing") {
        let url = try relayURL()
        let v = try Vault.open(path: tmpPath("async-deadline.db"), masterKey: try generateMasterKey())
        _ = try v.journal().add(text: "tidak sempat", mood: 2)
        let hook = HookTransport(transport)
        setHttpTransport(transport: hook)
        defer { setHttpTransport(transport: transport) }
        let m: String? = try runAsync {
            do {
                _ = try await v.syncOnAsync(relayUrl: url, link: .metered, timeoutMs: 0)
                return nil
            } catch let e as SebayaError {
                return cancelledId(e)
            }
        }
        try assertEqual("error-sync-deadline", m, "out of time")
        try assertEqual(0, hook.count, "nothing sent")
    }

    check("async: changes() streams a write; cancelling the consumer ends the stream") {
        let v = try Vault.open(path: tmpPath("async-changes.db"), masterKey: try generateMasterKey())
        let first: SpaceChange? = try runAsync {
            let stream = v.changes()
            _ = try v.journal().add(text: "tercatat", mood: 4)
            var it = stream.makeAsyncIterator()
            return await it.next()
        }
        try assertEqual(SpaceKind.journal, first?.kind, "the journal changed")
        try assertEqual(32, first?.spaceId.count, "a space id (16 bytes, hex)")

        let ended: Bool = try runAsync {
            let consumer = Task { () -> Int in
                var n = 0
                for await _ in v.changes() { n += 1 }
                return n
            }
            consumer.cancel()
            _ = await consumer.value
            return true
        }
        try assertTrue(ended, "the stream ended when its consumer was cancelled")
        // The write after the consumer went is saved: a stopped stream holds up nothing.
        _ = try v.journal().add(text: "setelah berhenti", mood: 3)
        try assertEqual(2, try v.journal().list().count, "both entries saved")
    }

    check("async: statusUpdates() shows a write waiting, then sent after a sync") {
        let url = try relayURL()
        let v = try Vault.open(path: tmpPath("async-status.db"), masterKey: try generateMasterKey())
        let seen: [Bool] = try runAsync {
            var it = v.statusUpdates().makeAsyncIterator()
            guard let start = await it.next() else { throw CheckFailure(description: "no first status") }
            _ = try v.journal().add(text: "menunggu dikirim", mood: 3)
            var waiting: Bool? = nil
            while waiting != true, let s = await it.next() { waiting = s.contains { $0.waiting } }
            _ = try await v.syncAsync(relayUrl: url)
            var sent: Bool? = nil
            while sent != true, let s = await it.next() { sent = !s.isEmpty && s.allSatisfy { !$0.waiting } }
            return [start.contains { $0.waiting }, waiting ?? false, sent ?? false]
        }
        try assertEqual([false, true, true], seen, "nothing waiting, then waiting, then sent")
    }

    check("async: liveUpdates() streams a change written elsewhere, and stops its session when left") {
        let url = try relayURL()
        let fac = try Vault.open(path: tmpPath("async-live-f.db"), masterKey: try generateMasterKey())
        let sup = try Vault.open(path: tmpPath("async-live-s.db"), masterKey: try generateMasterKey())
        let gid = try fac.groups().create(name: "Kelompok Jumat")
        _ = try sup.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try sup.linkRequest(), asAdmin: true))
        _ = try fac.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        let got: [String] = try runAsync {
            let updates = try sup.liveUpdates(relayUrl: url, waitMs: 20_000)
            var it = updates.makeAsyncIterator()
            guard case .synced(let all, _)? = await it.next(), all.isEmpty else {
                throw CheckFailure(description: "the first update is not the sync of every space")
            }
            _ = try fac.groups().addNote(groupId: gid, text: "Sampai jumpa Jumat.", title: "Catatan")
            _ = try fac.sync(relayUrl: url)
            while let u = await it.next() {
                if case .synced(let ids, _) = u, !ids.isEmpty { return ids }
            }
            return []
        }
        try assertEqual([gid], got, "exactly the group")
        try assertEqual(["Sampai jumpa Jumat."], try sup.groups().notes(groupId: gid).map { $0.text }, "readable")
    }
}
