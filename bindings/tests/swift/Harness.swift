// The shared harness of the Swift binding tests: check/assert helpers, a pass/fail count, the relay's
// address and a temporary directory. `scripts/test.sh swift` compiles every .swift file here together
// with the generated bindings and the package's glue (ios/Sources/Sebaya: its URLSessionTransport is
// the one the tests sync through) into one program (main.swift is its entry point) and runs it inside the
// Debian 13 chroot; the relay runs outside it on loopback and its URL arrives in SEBAYA_RELAY_URL.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Counts the requests it passes on, to show that sync really went through the app's transport.
final class CountingTransport: HttpTransport {
    let inner: HttpTransport
    private let lock = NSLock()
    private var n = 0
    init(_ inner: HttpTransport) { self.inner = inner }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock(); n += 1; lock.unlock()
        return try inner.send(request: request)
    }
}

/// The app's secret storage (the Keychain on iOS), here a dictionary.
final class MemoryKeyStore: KeyStore {
    private let lock = NSLock()
    var items: [String: Data] = [:]
    func get(name: String) throws -> Data? { lock.lock(); defer { lock.unlock() }; return items[name] }
    func put(name: String, value: Data) throws { lock.lock(); items[name] = value; lock.unlock() }
    func delete(name: String) throws { lock.lock(); items[name] = nil; lock.unlock() }
}

/// Records every "this space changed" call it gets.
final class RecordingListener: SpaceListener {
    private let lock = NSLock()
    private var calls: [(String, SpaceKind)] = []
    func spaceChanged(spaceId: String, kind: SpaceKind) { lock.lock(); calls.append((spaceId, kind)); lock.unlock() }
    var spaces: [String] { lock.lock(); defer { lock.unlock() }; return calls.map { $0.0 } }
    var kinds: [SpaceKind] { lock.lock(); defer { lock.unlock() }; return calls.map { $0.1 } }
    func clear() { lock.lock(); calls.removeAll(); lock.unlock() }
}

/// Counts for the closing "N passed, M failed" line.
var passed = 0
var failed = 0

/// A failed expectation: carries the reason printed after FAIL.
struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs one named check; any thrown error (a failed assertion or an unexpected SebayaError) fails it.
func check(_ name: String, _ body: () throws -> Void) {
    do {
        try body()
        passed += 1
        print("PASS  \(name)")
    } catch {
        failed += 1
        print("FAIL  \(name): \(error)")
    }
}

func assertTrue(_ cond: Bool, _ what: String) throws {
    if !cond { throw CheckFailure(description: what) }
}

func assertEqual<T: Equatable>(_ expected: T, _ actual: T, _ what: String) throws {
    if expected != actual {
        throw CheckFailure(description: "\(what): expected <\(expected)>, got <\(actual)>")
    }
}

/// Runs `body`, which must throw the SebayaError case that `expected` picks out: `expected` returns that
/// case's catalogue id (`messageId`) and nil for any other case. Returns the catalogue id.
@discardableResult
func assertThrows(
    _ what: String, _ expected: (SebayaError) -> String?, _ body: () throws -> Void
) throws -> String {
    do {
        try body()
    } catch let e as SebayaError {
        if let id = expected(e) { return id }
        throw CheckFailure(description: "\(what): wrong SebayaError case: \(e)")
    } catch {
        throw CheckFailure(description: "\(what): expected a SebayaError, got \(error)")
    }
    throw CheckFailure(description: "\(what): expected a SebayaError, nothing was thrown")
}

/// The relay started by the test stage (outside the chroot, on 127.0.0.1).
func relayURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["SEBAYA_RELAY_URL"], url.hasPrefix("http://127.0.0.1:")
    else { throw CheckFailure(description: "SEBAYA_RELAY_URL is not set to a loopback relay") }
    return url
}

/// A loopback TCP port that nothing listens on: bound by the kernel's choice, then closed.
func closedPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CheckFailure(description: "socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard ok else { throw CheckFailure(description: "bind/getsockname failed") }
    return UInt16(bigEndian: addr.sin_port)
}

/// A fresh temporary directory for one run; removed by `finish`.
let tmpDir: URL = {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sebaya-swift-test-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: url)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

func tmpPath(_ name: String) -> String { tmpDir.appendingPathComponent(name).path }

/// Every file directly in `dir`, name -> bytes (to show that a refused call changed nothing).
func snapshot(_ dir: String) -> [String: Data] {
    var out: [String: Data] = [:]
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    for n in names {
        if let d = FileManager.default.contents(atPath: dir + "/" + n) { out[n] = d }
    }
    return out
}

/// Runs `body`, which must throw a SebayaError; returns it (to read a case's `detail`).
func caught(_ what: String, _ body: () throws -> Void) throws -> SebayaError {
    do {
        try body()
    } catch let e as SebayaError {
        return e
    } catch {
        throw CheckFailure(description: "\(what): expected a SebayaError, got \(error)")
    }
    throw CheckFailure(description: "\(what): expected a SebayaError, nothing was thrown")
}

/// The one element of `xs`; fails unless there is exactly one (Python's `(x,) = xs`).
func single<T>(_ xs: [T], _ what: String) throws -> T {
    guard xs.count == 1, let x = xs.first else {
        throw CheckFailure(description: "\(what): expected exactly one, got \(xs.count): \(xs)")
    }
    return x
}

/// The element at `i`; fails the check (instead of stopping the program) when there is none.
func element<T>(_ xs: [T], _ i: Int, _ what: String) throws -> T {
    guard xs.indices.contains(i) else {
        throw CheckFailure(description: "\(what): no element \(i) in \(xs.count): \(xs)")
    }
    return xs[i]
}

/// A vault at `tmpPath(name)` with a fresh key and a person of its own.
func personVault(_ name: String) throws -> Vault {
    let v = try Vault.open(path: tmpPath(name), masterKey: try generateMasterKey())
    _ = try v.createPerson()
    return v
}

/// The vault's person id; fails when it has none.
func personIdOf(_ v: Vault) throws -> String {
    guard let id = try v.personId() else { throw CheckFailure(description: "the vault has no person") }
    return id
}

/// Parses a JSON object (the core's exports and snapshots).
func jsonObject(_ text: String, _ what: String) throws -> [String: Any] {
    guard let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw CheckFailure(description: "\(what): not a JSON object")
    }
    return obj
}

// --- another process that holds a vault file's SQLite write lock -----------------------------------
//
// POSIX locks do not separate two SQLite connections in one process, so the lock must be held by
// another process: this same test program, started again with SEBAYA_HOLD_WRITE_LOCK=<path>. That
// child opens the file with the system's SQLite (libsqlite3.so.0, loaded at run time), runs BEGIN
// IMMEDIATE (5 s busy timeout, as Python's sqlite3 module), prints "held", waits for a line on stdin,
// rolls back and exits. main.swift calls holdWriteLockIfAsked() before anything else.

private let holdLockVariable = "SEBAYA_HOLD_WRITE_LOCK"

/// In the child: hold the write lock and exit; in the test run itself: return at once.
func holdWriteLockIfAsked() {
    guard let path = ProcessInfo.processInfo.environment[holdLockVariable] else { return }
    func fail(_ why: String) -> Never {
        FileHandle.standardError.write(Data("write-lock holder: \(why)\n".utf8))
        exit(2)
    }
    guard let lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL) else { fail("no libsqlite3.so.0") }
    typealias OpenFn = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    typealias TimeoutFn = @convention(c) (OpaquePointer?, Int32) -> Int32
    typealias ExecFn = @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, OpaquePointer?, UnsafeMutableRawPointer?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32
    typealias CloseFn = @convention(c) (OpaquePointer?) -> Int32
    func sym<T>(_ name: String, _: T.Type) -> T {
        guard let p = dlsym(lib, name) else { fail("no symbol \(name)") }
        return unsafeBitCast(p, to: T.self)
    }
    let open = sym("sqlite3_open", OpenFn.self)
    let busyTimeout = sym("sqlite3_busy_timeout", TimeoutFn.self)
    let execute = sym("sqlite3_exec", ExecFn.self)
    let close = sym("sqlite3_close", CloseFn.self)
    var db: OpaquePointer? = nil
    guard open(path, &db) == 0 else { fail("sqlite3_open failed") }
    _ = busyTimeout(db, 5000)
    guard execute(db, "BEGIN IMMEDIATE", nil, nil, nil) == 0 else { fail("BEGIN IMMEDIATE failed") }
    print("held")
    fflush(stdout)
    _ = readLine()
    _ = execute(db, "ROLLBACK", nil, nil, nil)
    _ = close(db)
    exit(0)
}

/// The parent's side: starts the holder for `path` and returns once it holds the lock.
final class WriteLockHolder {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var released = false

    init(path: String) throws {
        process.executableURL = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        var env = ProcessInfo.processInfo.environment
        env[holdLockVariable] = path
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text == "held" else {
            release()
            throw CheckFailure(description: "the write-lock holder said <\(text)>, not <held>")
        }
    }

    /// Lets the holder roll back and waits for it to end (at most 30 s, as the Python test).
    func release() {
        if released { return }
        released = true
        input.fileHandleForWriting.write(Data("done\n".utf8))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
    }

    deinit { release() }
}

/// Prints the count and exits: non-zero when anything failed or nothing ran.
func finish() -> Never {
    try? FileManager.default.removeItem(at: tmpDir)
    print("\(passed) passed, \(failed) failed")
    exit(failed == 0 && passed > 0 ? 0 : 1)
}

/// A programme in which `v`'s person may open pairings (issue 14, item 11: a pairing opens only under
/// a programme, by a supporter certified there): made on `v` (its person coordinates it), every
/// required module certified by the programme key.
func trainedProgramme(_ v: Vault) throws -> String {
    let pid = try v.programmes().create(name: "Program uji")
    let completed = UInt64(Date().timeIntervalSince1970) - 86_400
    for m in requiredTrainingModules() {
        _ = try v.programmes().addTrainingRecord(credential: try v.programmes().certifyTraining(
            programmeId: pid, personId: try personIdOf(v), module: m, completed: completed))
    }
    return pid
}

/// `coord` certifies `sup` in group facilitation, which running a programme group's sessions takes.
func certifyFacilitation(_ coord: Vault, _ sup: Vault, _ pid: String) throws {
    let completed = UInt64(Date().timeIntervalSince1970) - 86_400
    _ = try sup.programmes().addTrainingRecord(credential: try coord.programmes().certifyTraining(
        programmeId: pid, personId: try personIdOf(sup), module: .groupFacilitation, completed: completed))
}
