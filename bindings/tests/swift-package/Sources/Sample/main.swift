// The Swift sample (issue 17, item 8): an app's first hour with Sebaya, written as an app team would,
// using only `import Sebaya` (the packaged bindings and the glue the package ships). Run on Linux
// against a real relay by `scripts/test.sh swift`. On a phone the same code runs with
// `KeychainKeyStore` where this uses `LinuxFileKeyStore` below (the Keychain is Apple-only).
//
//   1. open a vault whose master key lives in a key store, in a folder VaultDirectory prepared
//   2. link a second device of the same person (a tablet)
//   3. write a journal entry on the phone and sync it through the relay (URLSessionTransport)
//   4. the tablet's first sync is cancelled mid-way (Task.cancel), then resumes and loses nothing
//   5. the entry arrives on the tablet through an AsyncStream of changes
//   6. the phone locks and opens again with the key from the key store
// Prints one line per step and exits non-zero if one fails.
import Foundation
import Sebaya

/// Linux stand-in for KeychainKeyStore: one file per key, owner-only. Never for a real device.
final class LinuxFileKeyStore: KeyStore, @unchecked Sendable {
    let dir: URL
    init(_ dir: URL) throws {
        self.dir = dir
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }
    func get(name: String) throws -> Data? { try? Data(contentsOf: dir.appendingPathComponent(name)) }
    func put(name: String, value: Data) throws { try value.write(to: dir.appendingPathComponent(name), options: .atomic) }
    func delete(name: String) throws {
        do { try FileManager.default.removeItem(at: dir.appendingPathComponent(name)) } catch CocoaError.fileNoSuchFile {}
    }
}

/// Passes requests to the app's transport and cancels `task` while the first one is out.
final class CancelOnFirstRequest: HttpTransport, @unchecked Sendable {
    let inner: HttpTransport
    private let lock = NSLock()
    private var task: Task<SyncReport, Error>?
    private var sent = 0
    init(_ inner: HttpTransport) { self.inner = inner }
    func arm(_ t: Task<SyncReport, Error>) { lock.lock(); task = t; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return sent }
    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock(); sent += 1; let t = sent == 1 ? task : nil; lock.unlock()
        t?.cancel()
        return try inner.send(request: request)
    }
}

var failures = 0
func step(_ name: String, _ ok: Bool) {
    print(ok ? "PASS  \(name)" : "FAIL  \(name)")
    if !ok { failures += 1 }
}

guard let relay = ProcessInfo.processInfo.environment["SEBAYA_RELAY_URL"] else {
    print("FAIL  SEBAYA_RELAY_URL is not set")
    exit(1)
}
let root = FileManager.default.temporaryDirectory.appendingPathComponent("sebaya-sample-\(getpid())")
defer { try? FileManager.default.removeItem(at: root) }

do {
    let transport = URLSessionTransport(timeout: 30)
    setHttpTransport(transport: transport)

    // 1. A vault whose key lives in the key store.
    let phonePath = try VaultDirectory.prepare(root.appendingPathComponent("phone/sebaya", isDirectory: true))
    let phoneKeys = try LinuxFileKeyStore(root.appendingPathComponent("phone-keys"))
    var phone = try Vault.openWithKeyStore(path: phonePath.path, keyStore: phoneKeys, keyName: "vault")
    let phoneId = try phone.deviceId()
    step("a vault opens with its key in the key store", phoneId.count == 64)

    // 2. The person's tablet is linked to the phone.
    let tabletPath = try VaultDirectory.prepare(root.appendingPathComponent("tablet/sebaya", isDirectory: true))
    let tablet = try Vault.openWithKeyStore(path: tabletPath.path,
                                            keyStore: try LinuxFileKeyStore(root.appendingPathComponent("tablet-keys")),
                                            keyName: "vault")
    try tablet.completeLink(response: try phone.approveLink(request: try tablet.linkRequest()))
    step("the tablet is linked", true)

    // 3. A journal entry, synced through the relay without blocking the caller.
    let text = "Hari ini aku berani bercerita."
    let entry = try phone.journal().add(text: text, mood: 4, tags: ["sample"])
    let sent = try await phone.syncAsync(relayUrl: relay)
    step("the phone's entry reaches the relay", sent.pushed > 0)

    // 4. The tablet's first sync is cancelled while its first request is out.
    let stopping = CancelOnFirstRequest(transport)
    setHttpTransport(transport: stopping)
    let first = Task { try await tablet.syncAsync(relayUrl: relay) }
    stopping.arm(first)
    var cancelled = false
    do {
        _ = try await first.value
    } catch SebayaError.Cancelled(let messageId, _) {
        cancelled = messageId == "error-sync-cancelled"
    }
    setHttpTransport(transport: transport)
    step("a cancelled sync stops after the request in flight (\(stopping.count) sent)", cancelled && stopping.count == 1)

    // 5. It resumes; the entry arrives through the stream of changes.
    let changes = tablet.changes()
    let resumed = try await tablet.syncAsync(relayUrl: relay)
    var sawJournal = false
    var it = changes.makeAsyncIterator()
    while let change = await it.next() {
        if change.kind == .journal { sawJournal = true; break }
    }
    step("the next sync resumes and the journal change streams in", resumed.pulled > 0 && sawJournal)
    step("the entry is on the tablet, whole", try tablet.journal().get(id: entry)?.text == text)

    // 6. Locked (as VaultLifecycle does in the background), then opened again from the key store.
    try phone.lock()
    phone = try Vault.openWithKeyStore(path: phonePath.path, keyStore: phoneKeys, keyName: "vault")
    step("the phone opens again with the stored key", try phone.deviceId() == phoneId
        && (try phone.journal().get(id: entry)?.text) == text)
} catch {
    step("unexpected error: \(error)", false)
}
print(failures == 0 ? "sample: all steps passed" : "sample: \(failures) step(s) failed")
exit(failures == 0 ? 0 : 1)
