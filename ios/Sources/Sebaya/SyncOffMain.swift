// Shipped glue (hand-written, not generated). Compiled and run on Linux by `scripts/test.sh swift`
// (GlueTests.swift); not run on an Apple platform here.

import Foundation

/// The queue every `syncInBackground` runs on: one sync at a time per process is what the core does
/// best (a vault serialises its syncs anyway), and it is never the main queue.
private let syncQueue = DispatchQueue(label: "org.sebaya.sync", qos: .utility)

extension Vault {
    /// Runs `syncOn(relayUrl:link:)` on a background queue and resumes the caller when it is done, so
    /// the main actor never waits on the network: the blocking `HttpTransport` call (URLSessionTransport)
    /// then waits on that queue's thread only. Same results and errors as `syncOn`.
    public func syncInBackground(relayUrl: String, link: LinkKind) async throws -> PolicySync {
        try await withCheckedThrowingContinuation { continuation in
            syncQueue.async {
                continuation.resume(with: Result { try self.syncOn(relayUrl: relayUrl, link: link) })
            }
        }
    }
}
