// The app passcode, duress code, quick wipe and auto-lock through the Swift bindings (issue 18,
// item 6): the same flows as bindings/tests/python/test_passcode.py. main.swift runs passcodeTests().

import Foundation

func passcodeRequired(_ e: SebayaError) -> String? { if case .PasscodeRequired(let m, _) = e { return m }; return nil }
func passcodeWrong(_ e: SebayaError) -> String? { if case .PasscodeWrong(let m, _, _) = e { return m }; return nil }
func passcodeTooSoon(_ e: SebayaError) -> String? { if case .PasscodeTooSoon(let m, _, _) = e { return m }; return nil }
func anySebayaError(_ e: SebayaError) -> String? { "any" }

/// The seconds a PasscodeWrong or PasscodeTooSoon asks to wait.
private func retryAfter(_ body: () throws -> Void) -> UInt64? {
    do { try body() } catch let e as SebayaError {
        switch e {
        case .PasscodeWrong(_, _, let s), .PasscodeTooSoon(_, _, let s): return s
        default: return nil
        }
    } catch { return nil }
    return nil
}

// The least the core accepts: the checks run argon2id many times.
private let fast = PasscodeParams(memoryKib: 8192, iterations: 1, parallelism: 1)

func passcodeTests() {
    check("passcode: the right one opens; a wrong one is typed and delayed; too soon is refused") {
        let path = tmpPath("pc.db")
        let store = MemoryKeyStore()
        let v = try Vault.openWithKeyStore(path: path, keyStore: store, keyName: "k")
        let id = try v.journal().add(text: "rahasia", mood: 2)
        try v.lock()
        let lock = try VaultLock.withParams(path: path, keyStore: store, keyName: "k", params: fast)
        try lock.setPasscode(passcode: "2468")
        try assertTrue(try lock.hasPasscode(), "has a passcode")
        try assertThrows("key store alone", passcodeRequired) {
            _ = try Vault.openWithKeyStore(path: path, keyStore: store, keyName: "k")
        }
        let opened = try lock.unlock(passcode: "2468")
        try assertEqual("rahasia", try opened.journal().get(id: id)?.text, "entry")
        try opened.lock()
        let id1 = try assertThrows("wrong passcode", passcodeWrong) { _ = try lock.unlock(passcode: "0000") }
        try assertEqual("error-passcode-wrong", id1, "message id")
        Thread.sleep(forTimeInterval: 2.1)
        try assertEqual(4, retryAfter { _ = try lock.unlock(passcode: "0000") }, "second delay doubles")
        try assertThrows("too soon", passcodeTooSoon) { _ = try lock.unlock(passcode: "2468") }
        Thread.sleep(forTimeInterval: 4.1)
        try lock.unlock(passcode: "2468").lock()
    }

    check("passcode: the duress code opens an empty vault that does not sync; the real one is untouched") {
        let path = tmpPath("duress.db")
        let lock = try VaultLock.withParams(path: path, keyStore: MemoryKeyStore(), keyName: "k", params: fast)
        try lock.setPasscode(passcode: "2468")
        let real = try lock.unlock(passcode: "2468")
        _ = try real.journal().add(text: "jurnal asli", mood: 3)
        try real.lock()
        try lock.setDuressCode(passcode: "2468", duressCode: "1357")
        let d = try lock.unlock(passcode: "1357")
        try assertEqual(0, try d.journal().list().count, "empty")
        // A closed port: a real vault would fail; this one reports nothing changed.
        let r = try d.sync(relayUrl: "http://127.0.0.1:\(try closedPort())")
        try assertEqual(0, r.roundTrips, "no round trips")
        try assertTrue(!(try d.care().crisisResources(country: "ID")).isEmpty, "crisis lines")
        try assertTrue(!emergencyHelp(country: "ID", locale: "id").resources.isEmpty, "I need help now")
        // Nor face to face (review M2).
        try assertThrows("no nearby session", peerNotMember) { _ = try d.nearby().startSession(initiator: true) }
        try d.lock()
        // The duress code changes nothing: a counted wrong code (review H2).
        try assertThrows("duress code changing the passcode", passcodeWrong) {
            try lock.changePasscode(old: "1357", new: "2468")
        }
        Thread.sleep(forTimeInterval: 2.1)
        let again = try lock.unlock(passcode: "2468")
        try assertEqual(["jurnal asli"], try again.journal().list().map { $0.text }, "real untouched")
        try again.lock()
    }

    check("passcode: change it, then remove it") {
        let path = tmpPath("change.db")
        let store = MemoryKeyStore()
        let lock = try VaultLock.withParams(path: path, keyStore: store, keyName: "k", params: fast)
        try lock.setPasscode(passcode: "2468")
        try lock.changePasscode(old: "2468", new: "97531")
        try assertThrows("old passcode", passcodeWrong) { _ = try lock.unlock(passcode: "2468") }
        Thread.sleep(forTimeInterval: 2.1)
        try lock.unlock(passcode: "97531").lock()
        try lock.removePasscode(passcode: "97531")
        try assertTrue(!(try lock.hasPasscode()), "no passcode")
        try Vault.openWithKeyStore(path: path, keyStore: store, keyName: "k").lock()
    }

    check("passcode: wipe makes the vault unopenable") {
        let path = tmpPath("wipe.db")
        let store = MemoryKeyStore()
        let lock = try VaultLock.withParams(path: path, keyStore: store, keyName: "k", params: fast)
        try lock.setPasscode(passcode: "2468")
        let v = try lock.unlock(passcode: "2468")
        _ = try v.journal().add(text: "harus hilang", mood: 1)
        try v.lock()
        let copy = try Data(contentsOf: URL(fileURLWithPath: path))
        try lock.wipe()
        try assertTrue(store.items.isEmpty, "keys gone")
        try assertTrue(!FileManager.default.fileExists(atPath: path), "file gone")
        try assertTrue(copy.range(of: Data("harus hilang".utf8)) == nil, "no readable content")
        try assertThrows("no passcode opens it", anySebayaError) { _ = try lock.unlock(passcode: "2468") }
    }

    check("passcode: auto-lock after the timeout") {
        let lock = VaultLock(path: tmpPath("idle.db"), keyStore: MemoryKeyStore(), keyName: "k")
        lock.setAutoLockSecs(seconds: 60)
        lock.noteActivity(nowMs: 1_000)
        try assertTrue(!lock.shouldLock(nowMs: 60_999), "not yet")
        try assertTrue(lock.shouldLock(nowMs: 61_000), "after the timeout")
    }
}
