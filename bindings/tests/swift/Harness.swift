// The shared harness of the Swift binding tests: check/assert helpers, a pass/fail count, the relay's
// address and a temporary directory. `scripts/test.sh swift` compiles every .swift file here together
// with the generated bindings into one program (main.swift is its entry point) and runs it inside the
// Debian 13 chroot; the relay runs outside it on loopback and its URL arrives in SEBAYA_RELAY_URL.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

/// Prints the count and exits: non-zero when anything failed or nothing ran.
func finish() -> Never {
    try? FileManager.default.removeItem(at: tmpDir)
    print("\(passed) passed, \(failed) failed")
    exit(failed == 0 && passed > 0 ? 0 : 1)
}
