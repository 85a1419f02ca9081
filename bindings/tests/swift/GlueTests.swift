// The Swift package's shipped glue (ios/Sources/Sebaya, issue 17 items 1 and 5) on Linux: the URLSession
// transport against the real relay and a silent socket, `syncOnAsync` (SebayaAsync.swift) from an async caller, the
// key-store contract through a file-based test double (the Keychain is absent on Linux, and
// KeychainKeyStore.swift compiles to nothing here: it is UNVERIFIED), VaultDirectory.prepare (its
// iOS data protection and backup exclusion are not compiled here) and VaultLifecycle's locking rules. main.swift runs glueTests().

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TEST DOUBLE of KeychainKeyStore, used only by these tests: one file per name (hex of the name) in
/// a folder. It stores the key in clear and must never ship; it stands in for the Keychain on Linux so
/// the core's KeyStore contract (get / put / delete, absent = nil) is exercised end to end.
final class FileKeyStoreDouble: KeyStore {
    let dir: URL
    init(_ dir: URL) {
        self.dir = dir
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    private func file(_ name: String) -> URL {
        dir.appendingPathComponent(Data(name.utf8).map { String(format: "%02x", $0) }.joined() + ".key")
    }
    func get(name: String) throws -> Data? { FileManager.default.contents(atPath: file(name).path) }
    func put(name: String, value: Data) throws {
        do { try value.write(to: file(name), options: .atomic) } catch {
            throw KeyStoreError.Unavailable(reason: "write failed")
        }
    }
    func delete(name: String) throws { try? FileManager.default.removeItem(at: file(name)) }
}

/// Runs `body`, which must throw a TransportError that `expected` accepts.
func assertTransportError(_ what: String, _ expected: (TransportError) -> Bool, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as TransportError {
        if expected(e) { return }
        throw CheckFailure(description: "\(what): wrong TransportError case: \(e)")
    } catch {
        throw CheckFailure(description: "\(what): expected a TransportError, got \(error)")
    }
    throw CheckFailure(description: "\(what): expected a TransportError, nothing was thrown")
}

/// Waits on this (non-main-actor) thread for an async call: the test's top-level code is synchronous.
func awaitResult<T>(_ body: @escaping () async throws -> T) -> Result<T, Error> {
    let done = DispatchSemaphore(value: 0)
    let box = AsyncBox<T>()
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return box.result ?? .failure(CheckFailure(description: "no result"))
}

final class AsyncBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

/// A loopback socket that accepts connections into its backlog and never answers.
func silentListener() throws -> (Int32, UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CheckFailure(description: "socket() failed") }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard ok else { close(fd); throw CheckFailure(description: "bind/listen failed") }
    return (fd, UInt16(bigEndian: addr.sin_port))
}

func glueTests() {
    let shipped = URLSessionTransport(timeout: 20)

    check("glue: the shipped URLSessionTransport syncs with the relay, from an async caller off the main thread") {
        let url = try relayURL()
        setHttpTransport(transport: shipped)
        defer { setHttpTransport(transport: transport) }
        let v = try Vault.open(path: tmpPath("glue-sync.db"), masterKey: try generateMasterKey())
        _ = try v.journal().add(text: "lewat URLSession bawaan", mood: 4)
        let outcome = try awaitResult { try await v.syncOnAsync(relayUrl: url, link: .unmetered) }.get()
        try assertTrue(outcome.report.pushed >= 1, "pushed \(outcome.report.pushed)")
        try assertTrue(try v.spaceStatus().allSatisfy { !$0.waiting }, "something still waits")
    }

    check("glue: the relay's error answer comes back as an answer with its body") {
        let url = try relayURL()
        let r = try shipped.send(request: HttpRequest(
            method: "POST", url: url + "/v1/sync",
            headers: [HttpHeader(name: "content-type", value: "application/cbor")], body: Data([1, 2, 3])))
        try assertTrue((400...499).contains(Int(r.status)), "status \(r.status)")
        try assertTrue(!r.body.isEmpty, "the error body was dropped")
    }

    check("glue: a refused connection is TransportError.Unreachable") {
        let port = try closedPort()
        try assertTransportError("closed port", { if case .Unreachable = $0 { return true }; return false }) {
            _ = try shipped.send(request: HttpRequest(method: "GET", url: "http://127.0.0.1:\(port)/v1/info", headers: [], body: Data()))
        }
    }

    check("glue: a URL that is not http(s) is TransportError.Failed, not a crash") {
        try assertTransportError("file URL", { if case .Failed = $0 { return true }; return false }) {
            _ = try shipped.send(request: HttpRequest(method: "GET", url: "file:///etc/hostname", headers: [], body: Data()))
        }
    }

    check("glue: a server that never answers is TransportError.Timeout") {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let quick = URLSessionTransport(timeout: 1)
        try assertTransportError("silent server", { if case .Timeout = $0 { return true }; return false }) {
            _ = try quick.send(request: HttpRequest(method: "GET", url: "http://127.0.0.1:\(port)/", headers: [], body: Data()))
        }
    }

    check("glue: a vault opened through a key store (file test double for the Keychain) reopens with its data") {
        let dir = tmpDir.appendingPathComponent("glue-keys", isDirectory: true)
        let path = tmpPath("glue-keystore.db")
        let first = try Vault.openWithKeyStore(path: path, keyStore: FileKeyStoreDouble(dir), keyName: "vault")
        let id = try first.journal().add(text: "kunci di gantungan", mood: 3)
        try first.lock()
        let again = try Vault.openWithKeyStore(path: path, keyStore: FileKeyStoreDouble(dir), keyName: "vault")
        try assertEqual("kunci di gantungan", try again.journal().get(id: id)?.text, "entry after reopen")
        try assertEqual(32, try FileKeyStoreDouble(dir).get(name: "vault")?.count, "the stored key")
        try FileKeyStoreDouble(dir).delete(name: "vault")
        try assertThrows("reopen without the key", keyMissing) {
            _ = try Vault.openWithKeyStore(path: path, keyStore: FileKeyStoreDouble(dir), keyName: "vault")
        }
    }

    check("glue: VaultDirectory.prepare makes a private folder, is idempotent, and refuses a file in its place") {
        let dir = tmpDir.appendingPathComponent("glue-app/Library/sebaya", isDirectory: true)
        let path = try VaultDirectory.prepare(dir)
        try assertEqual(dir.appendingPathComponent("vault.db").path, path.path, "vault path")
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.path)
        try assertEqual(FileAttributeType.typeDirectory, attrs[.type] as? FileAttributeType, "a folder")
        try assertEqual(0o700, (attrs[.posixPermissions] as? NSNumber)?.intValue, "owner only")
        let v = try Vault.open(path: path.path, masterKey: try generateMasterKey())
        _ = try v.journal().add(text: "di folder siap", mood: 3)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try assertEqual(path, try VaultDirectory.prepare(dir), "second prepare")
        let again = try FileManager.default.attributesOfItem(atPath: dir.path)
        try assertEqual(0o700, (again[.posixPermissions] as? NSNumber)?.intValue, "repaired to owner only")
        try assertTrue(FileManager.default.fileExists(atPath: path.path), "the vault survived a second prepare")
        let file = tmpDir.appendingPathComponent("glue-not-a-folder")
        try Data("x".utf8).write(to: file)
        var threw = false
        do { try VaultDirectory.prepare(file) } catch { threw = true }
        try assertTrue(threw, "a file where the folder should be was accepted")
    }

    lifecycleTests()
}

/// VaultLifecycle's rules on Linux (its UIApplication observer is iOS-only and not compiled here).
func lifecycleTests() {
    func opener(_ name: String, _ opens: AsyncBox<Int>) -> () throws -> Vault {
        let dir = tmpDir.appendingPathComponent(name + ".keys", isDirectory: true)
        return {
            opens.result = .success(((try? opens.result?.get()) ?? 0) + 1)
            return try Vault.openWithKeyStore(path: tmpPath(name), keyStore: FileKeyStoreDouble(dir), keyName: "vault")
        }
    }

    check("glue: VaultLifecycle locks in the background, and background work reopens and relocks it") {
        let opens = AsyncBox<Int>()
        let life = VaultLifecycle(lockInBackground: true, open: opener("life.db", opens))
        life.enteredForeground()
        let id = try life.use { try $0.journal().add(text: "hidup", mood: 3) }
        try assertTrue(life.isOpen, "open in the foreground")
        let held = try life.use { $0 }
        life.enteredBackground()
        try assertTrue(!life.isOpen, "still open in the background")
        try assertThrows("a kept reference after the lock", locked) { _ = try held.deviceId() }
        let text = try life.use { try $0.journal().get(id: id)?.text }
        try assertEqual("hidup", text, "read by background work")
        try assertTrue(!life.isOpen, "left open after background work")
        try assertEqual(2, try opens.result?.get(), "opens")
    }

    check("glue: VaultLifecycle going to the background during a use locks when it ends, not in its middle") {
        let life = VaultLifecycle(lockInBackground: true, open: opener("life2.db", AsyncBox<Int>()))
        life.enteredForeground()
        let inside = DispatchSemaphore(value: 0)
        let goOn = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let wrote = AsyncBox<Bool>()
        Thread {
            wrote.result = Result {
                try life.use { v -> Bool in
                    inside.signal()
                    _ = goOn.wait(timeout: .now() + 10)
                    _ = try v.journal().add(text: "di tengah", mood: 3)
                    return true
                }
            }
            finished.signal()
        }.start()
        try assertTrue(inside.wait(timeout: .now() + 10) == .success, "the worker did not start")
        life.enteredBackground()
        try assertTrue(life.isOpen, "locked in the middle of a use")
        goOn.signal()
        try assertTrue(finished.wait(timeout: .now() + 10) == .success, "the worker did not finish")
        try assertEqual(true, try wrote.result?.get(), "the write in the middle")
        try assertTrue(!life.isOpen, "not locked after the use ended")
    }

    check("glue: VaultLifecycle's slow open holds no lock: background, lock and isOpen return; two users open once") {
        let opens = AsyncBox<Int>()
        let real = opener("life4.db", opens)
        let started = DispatchSemaphore(value: 0), goOn = DispatchSemaphore(value: 0)
        let life = VaultLifecycle(lockInBackground: true) {
            started.signal()
            _ = goOn.wait(timeout: .now() + 10) // the Keychain or a disk taking its time
            return try real()
        }
        life.enteredForeground()
        let first = Background { try life.use { try $0.deviceId() } }
        try assertTrue(started.wait(timeout: .now() + 10) == .success, "the open did not start")
        let second = Background { try life.use { try $0.deviceId() } }
        // Only once the second user waits for the first one's open is the open let go.
        let waitEnd = Date(timeIntervalSinceNow: 10)
        while life.currentUsers < 2 && Date() < waitEnd { Thread.sleep(forTimeInterval: 0.001) }
        try assertEqual(2, life.currentUsers, "the second user waits for the open")
        let calls = Background { () -> Bool in
            _ = life.isOpen
            life.enteredBackground()
            life.lock()
            life.enteredForeground()
            return true
        }
        let returned = (try? calls.wait(2)) != nil // a Background's result can be waited for once
        goOn.signal()
        _ = try first.wait(10).get()
        _ = try second.wait(10).get()
        if !returned { _ = try? calls.wait(10) }
        try assertTrue(returned, "isOpen/enteredBackground/lock waited for a slow open")
        try assertEqual(1, try opens.result?.get(), "two users at once open the vault once")
        try assertTrue(!life.isOpen, "lock() during the open locks once the uses end")
    }

    check("glue: a VaultLifecycle opener may ask the lifecycle for its state without deadlock") {
        let real = opener("life5.db", AsyncBox<Int>())
        let box = AsyncBox<VaultLifecycle>()
        let life = VaultLifecycle(lockInBackground: false) {
            if let l = try box.result?.get(), l.isOpen { throw CheckFailure(description: "open during the open") }
            return try real()
        }
        box.result = .success(life)
        let used = Background { try life.use { try $0.deviceId() } }
        _ = try used.wait(5).get()
        try assertTrue(life.isOpen, "opened")
    }

    check("glue: VaultLifecycle without lockInBackground stays open; lock() locks on demand; a failing open reaches the caller") {
        let life = VaultLifecycle(lockInBackground: false, open: opener("life3.db", AsyncBox<Int>()))
        _ = try life.use { try $0.spaceStatus() }
        life.enteredBackground()
        try assertTrue(life.isOpen, "locked although not asked to")
        life.lock()
        try assertTrue(!life.isOpen, "lock() did not lock")
        struct NoKeyStore: Error {}
        let failing = VaultLifecycle(lockInBackground: true) { throw NoKeyStore() }
        var threw = false
        do { _ = try failing.use { _ in 1 } } catch is NoKeyStore { threw = true }
        try assertTrue(threw && !failing.isOpen, "a failing open")
    }
}
