// Swift concurrency over Sebaya's blocking calls (issue 17, item 2): shipped with the package, next to
// the generated bindings, and compiled and tested on Linux with Swift 6 (scripts/test.sh swift,
// bindings/tests/swift/AsyncTests.swift). Nothing here is iOS-only.
//
// Why wrappers, not uniffi's own async: the core's calls block (disk, then the app's HttpTransport,
// which is itself a blocking foreign call), and making them Rust futures would pull an executor into
// the library (its size budget is nearly spent, docs/size.md) for no gain: the waiting is in the
// app's transport anyway. Cancellation is the core's SyncControl, checked before every request and
// during a retry's wait, so a cancelled Task stops its sync at the next step and loses nothing; the
// next sync resumes. docs/ios.md shows both in use.

import Foundation

/// A space whose content changed, as a `Vault.changes()` stream hands it on.
public struct SpaceChange: Sendable, Equatable {
    /// The space's id (hex).
    public let spaceId: String
    /// What kind of space it is, so the app refreshes the right screen.
    public let kind: SpaceKind
}

/// What a live session did, as a `Vault.liveUpdates(relayUrl:)` stream hands it on.
public enum LiveUpdate: Sendable, Equatable {
    /// These spaces changed at the relay and were synced; empty for the session's sync of every
    /// space (at its start and after a failure).
    case synced(spaceIds: [String], report: SyncReport)
    /// A step failed; the session pauses and goes on.
    case failed(LiveFailure)
}

/// Runs a blocking call on a thread of its own, so no task of the cooperative pool (and never the
/// main actor) waits on disk or network, and resumes the task with its result.
private func offThread<T>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let thread = Thread {
            do {
                continuation.resume(returning: try body())
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.name = "sebaya-call"
        thread.start()
    }
}

/// A box to hand a non-Sendable value across a thread once, where the caller guarantees that only
/// one side touches it at a time.
private final class Handoff<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Tells `statusUpdates()` streams that a sync of their vault ended: a sync that only sends changes
/// no content, so the vault's listeners are not told of it, yet what waits to be sent changed.
private enum SyncEnded {
    private static let lock = NSLock()
    private static var watchers: [ObjectIdentifier: [UUID: @Sendable () -> Void]] = [:]

    static func watch(_ vault: Vault, _ tell: @escaping @Sendable () -> Void) -> UUID {
        let id = UUID()
        lock.lock(); defer { lock.unlock() }
        watchers[ObjectIdentifier(vault), default: [:]][id] = tell
        return id
    }

    static func unwatch(_ vault: ObjectIdentifier, _ id: UUID) {
        lock.lock(); defer { lock.unlock() }
        watchers[vault]?[id] = nil
        if watchers[vault]?.isEmpty == true { watchers[vault] = nil }
    }

    static func post(_ vault: Vault) {
        lock.lock()
        let tell = Array((watchers[ObjectIdentifier(vault)] ?? [:]).values)
        lock.unlock()
        for t in tell { t() }
    }
}

extension Vault {
    /// Syncs with the relay at `relayUrl` without blocking the calling task: the call runs on a
    /// thread of its own. Cancelling the task stops the sync before its next request or during a
    /// retry's wait, and throws `SebayaError.Cancelled` (`error-sync-cancelled`); what the relay
    /// already took stays taken and the next sync resumes. `timeoutMs` bounds the whole sync
    /// (`error-sync-deadline`): for a BGAppRefreshTask, well inside the 30 s it gets.
    public func syncAsync(relayUrl: String, timeoutMs: UInt64? = nil) async throws -> SyncReport {
        try await cancellableSync { vault, control in
            try vault.syncUntil(relayUrl: relayUrl, control: control, timeoutMs: timeoutMs)
        }
    }

    /// `syncAsync` with the link's kind: on a metered link a snapshot due waits (protocol 26.2).
    public func syncOnAsync(relayUrl: String, link: LinkKind, timeoutMs: UInt64? = nil) async throws -> PolicySync {
        try await cancellableSync { vault, control in
            try vault.syncOnUntil(relayUrl: relayUrl, link: link, control: control, timeoutMs: timeoutMs)
        }
    }

    /// Runs one blocking sync off the calling task's thread with a control the task's cancellation
    /// cancels, and tells `statusUpdates()` streams when it ends (whatever the outcome).
    private func cancellableSync<T>(
        _ run: @escaping @Sendable (Vault, SyncControl) throws -> T
    ) async throws -> T {
        let control = SyncControl()
        let me = Handoff(self)
        return try await withTaskCancellationHandler {
            try await offThread {
                defer { SyncEnded.post(me.value) }
                return try run(me.value, control)
            }
        } onCancel: {
            control.cancel()
        }
    }

    /// Every change to this vault's spaces from now on (local writes, syncs, imports, joins), until
    /// the consuming task ends the loop or is cancelled; then the subscription stops. Changes are
    /// buffered (newest 256 kept) so a slow consumer never holds up the write that caused them.
    public func changes() -> AsyncStream<SpaceChange> {
        AsyncStream(bufferingPolicy: .bufferingNewest(256)) { continuation in
            let subscription = self.subscribe(listener: StreamListener(continuation))
            let held = Handoff(subscription)
            continuation.onTermination = { _ in held.value.stop() }
        }
    }

    /// Each space's sync status (`spaceStatus()`: what waits to be sent, what the relay has taken),
    /// now, after every change, and after every sync run through `syncAsync`, `syncOnAsync` or a
    /// `liveUpdates` session, for a "sending… / sent" indicator. (A plain blocking `sync` is not
    /// seen: read `spaceStatus()` after it.) A read that fails is skipped, never the end of the
    /// stream; only the newest status is kept for a slow consumer.
    public func statusUpdates() -> AsyncStream<[SpaceStatus]> {
        let me = Handoff(self)
        return AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let read: @Sendable () -> Void = {
                if let now = try? me.value.spaceStatus() { continuation.yield(now) }
            }
            read()
            let subscription = self.subscribe(listener: StatusListener(read))
            let watch = SyncEnded.watch(self, read)
            let held = Handoff(subscription)
            let vault = ObjectIdentifier(self)
            continuation.onTermination = { _ in
                held.value.stop()
                SyncEnded.unwatch(vault, watch)
            }
        }
    }

    /// A live session with the relay at `relayUrl` (protocol 28) as a stream: the session starts at
    /// once and stops when the consuming task ends the loop or is cancelled. A relay out of reach is
    /// a `.failed` element, not the end: the session goes on, as `startLive` does. Throws only when the
    /// session cannot start at all (a malformed URL, a closed vault).
    public func liveUpdates(relayUrl: String, waitMs: UInt64? = nil) throws -> AsyncStream<LiveUpdate> {
        var continuation: AsyncStream<LiveUpdate>.Continuation!
        let stream = AsyncStream<LiveUpdate>(bufferingPolicy: .bufferingNewest(64)) { continuation = $0 }
        let session: LiveSession
        do {
            session = try startLive(relayUrl: relayUrl, listener: LiveStreamListener(continuation, self),
                                    control: SyncControl(), waitMs: waitMs)
        } catch {
            continuation.finish()
            throw error
        }
        let held = Handoff(session)
        continuation.onTermination = { _ in
            // stop() waits for the session's loop; never on the thread that ends the stream from
            // inside the listener.
            Thread.detachNewThread { held.value.stop() }
        }
        return stream
    }
}

/// Hands a subscription's callbacks to a stream; never blocks the writer (the stream buffers).
private final class StreamListener: SpaceListener, @unchecked Sendable {
    private let continuation: AsyncStream<SpaceChange>.Continuation
    init(_ continuation: AsyncStream<SpaceChange>.Continuation) { self.continuation = continuation }
    func spaceChanged(spaceId: String, kind: SpaceKind) {
        continuation.yield(SpaceChange(spaceId: spaceId, kind: kind))
    }
}

/// Reads the vault's sync status after each change (a listener may read the vault).
private final class StatusListener: SpaceListener, @unchecked Sendable {
    private let read: @Sendable () -> Void
    init(_ read: @escaping @Sendable () -> Void) { self.read = read }
    func spaceChanged(spaceId: String, kind: SpaceKind) { read() }
}

/// Hands a live session's callbacks to a stream.
private final class LiveStreamListener: LiveListener, @unchecked Sendable {
    private let continuation: AsyncStream<LiveUpdate>.Continuation
    private weak var vault: Vault?
    init(_ continuation: AsyncStream<LiveUpdate>.Continuation, _ vault: Vault) {
        self.continuation = continuation
        self.vault = vault
    }
    func synced(spaceIds: [String], report: SyncReport) {
        continuation.yield(.synced(spaceIds: spaceIds, report: report))
        if let v = vault { SyncEnded.post(v) }
    }
    func failed(failure: LiveFailure) {
        continuation.yield(.failed(failure))
    }
}
