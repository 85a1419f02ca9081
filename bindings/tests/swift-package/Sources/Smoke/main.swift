// An app's-eye check of the Swift package: only what `import Sebaya` makes public is reachable here.
// Opens a vault, writes and reads a journal entry, and catches a typed error with its catalogue id.
// Prints "N passed, M failed" and exits non-zero on any failure.
import Foundation
import Sebaya

var passed = 0
var failed = 0

func expect(_ cond: Bool, _ what: String) {
    if cond {
        passed += 1
        print("PASS  \(what)")
    } else {
        failed += 1
        print("FAIL  \(what)")
    }
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sebaya-spm-\(getpid())")
try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }
let path = dir.appendingPathComponent("vault.db").path

do {
    let key = try generateMasterKey()
    let vault = try Vault.open(path: path, masterKey: key)
    let id = try vault.journal().add(text: "dari modul lain", mood: 4, tags: ["spm"])
    let entry = try vault.journal().get(id: id)
    expect(entry?.text == "dari modul lain" && entry?.tags == ["spm"], "a journal entry through `import Sebaya`")
    // A domain object and an enum, as an app in another module uses them.
    let gid = try vault.groups().create(name: "Kelompok")
    let role = try vault.spaces().list().first { $0.id == gid }?.role
    switch role {
    case .admin?: expect(true, "vault.groups() and a SpaceRole case through `import Sebaya`")
    default: expect(false, "the creator of a group is its admin: \(String(describing: role))")
    }
    // The shipped Swift concurrency layer (ios/Sources/Sebaya/SebayaAsync.swift) is public API too.
    let changes: AsyncStream<SpaceChange> = vault.changes()
    _ = changes
    try vault.lock()
    do {
        _ = try Vault.open(path: path, masterKey: try generateMasterKey())
        expect(false, "a wrong key is refused")
    } catch SebayaError.WrongKey(let messageId, _) {
        expect(messageId == "error-wrong-key", "a wrong key is refused with SebayaError.WrongKey")
        expect(!localizedMessage(messageId: messageId, locale: "id").isEmpty, "its message in Indonesian")
    }
} catch {
    expect(false, "unexpected error: \(error)")
}

// The package's hand-written glue is public API too: what an app calls at start.
do {
    let vaultPath = try VaultDirectory.prepare(dir.appendingPathComponent("app/sebaya", isDirectory: true))
    expect(FileManager.default.fileExists(atPath: vaultPath.deletingLastPathComponent().path),
           "VaultDirectory.prepare through `import Sebaya` makes the folder")
    setHttpTransport(transport: URLSessionTransport(timeout: 5))
    let v = try Vault.open(path: vaultPath.path, masterKey: try generateMasterKey())
    do {
        _ = try v.syncOn(relayUrl: "http://127.0.0.1:9", link: .unmetered)
        expect(false, "a sync to a closed port fails")
    } catch SebayaError.Network(let messageId, _) {
        expect(messageId == "error-network", "a closed port through URLSessionTransport arrives as SebayaError.Network")
    }
} catch {
    expect(false, "glue: unexpected error: \(error)")
}

print("\(passed) passed, \(failed) failed")
try? FileManager.default.removeItem(at: dir)
exit(failed == 0 && passed > 0 ? 0 : 1)
