// Registering for wake-ups through the Swift bindings (issue 16, item 4; protocol 28.9), against the
// relay with a push key the test stage starts (SEBAYA_PUSH_RELAY_URL): the device registers a
// subscription and gets the relay's VAPID key; the vault remembers it, so pushRegistrationDue tells
// the app when to register again; each refusal is a PushRefused with its reason. Endpoints are on a
// loopback port nothing listens on (the stage's relay takes them with its tests' switch). Linux has no
// CryptoKit: the subscription's key is the P-256 generator point, a valid public key (an app passes
// its push library's). The same flow as bindings/tests/python/test_push.py. main.swift runs pushTests().

import Foundation

/// The P-256 generator point, uncompressed.
let p256Generator: Data = {
    let hex = "04" + "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
        + "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
    var out = Data()
    var i = hex.startIndex
    while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        out.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return out
}()

func pushRefusal(_ e: SebayaError) -> (String, PushRefusal)? {
    if case .PushRefused(let m, _, let r) = e { return (m, r) }
    return nil
}

func pushRelayURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["SEBAYA_PUSH_RELAY_URL"], url.hasPrefix("http://127.0.0.1:")
    else { throw CheckFailure(description: "SEBAYA_PUSH_RELAY_URL is not set to a loopback relay") }
    return url
}

func pushTests() {
    let auth = Data((0..<16).map { UInt8($0) })

    func pair(_ url: String, _ tag: String) throws -> (Vault, Vault) {
        let a = try Vault.open(path: tmpPath("push-a\(tag).db"), masterKey: try generateMasterKey())
        let b = try Vault.open(path: tmpPath("push-b\(tag).db"), masterKey: try generateMasterKey())
        let gid = try a.groups().create(name: "Kelompok Kamis")
        _ = try b.groups().join(response: try a.spaces().approveMember(spaceId: gid, request: try b.linkRequest(), asAdmin: true))
        _ = try a.sync(relayUrl: url)
        _ = try b.sync(relayUrl: url)
        return (a, b)
    }

    check("push: a device registers, gets the key, and knows when to register again") {
        let url = try pushRelayURL()
        let (_, b) = try pair(url, "1")
        let endpoint = "http://127.0.0.1:9/wake/s1"
        try assertTrue(try b.pushServerKey(relayUrl: url) == nil, "no key yet")
        try assertTrue(try b.pushRegistrationDue(relayUrl: url, endpoint: endpoint, p256dh: p256Generator, auth: auth), "due before")
        let key = try b.unregisterPush(relayUrl: url)
        try assertTrue(key.count == 65 && key.first == 4, "an uncompressed point")
        try assertEqual(key, try b.pushServerKey(relayUrl: url), "remembered")
        try assertEqual(key, try b.registerPush(relayUrl: url, endpoint: endpoint, p256dh: p256Generator, auth: auth), "the same key")
        try assertTrue(!(try b.pushRegistrationDue(relayUrl: url, endpoint: endpoint, p256dh: p256Generator, auth: auth)), "not due after")
        try assertTrue(try b.pushRegistrationDue(relayUrl: url, endpoint: endpoint + "2", p256dh: p256Generator, auth: auth), "another endpoint")
        _ = try b.unregisterPush(relayUrl: url)
        try assertTrue(try b.pushRegistrationDue(relayUrl: url, endpoint: endpoint, p256dh: p256Generator, auth: auth), "due after removal")
    }

    check("push: refusals are typed") {
        let url = try pushRelayURL()
        let endpoint = "http://127.0.0.1:9/wake/s2"
        let fresh = try Vault.open(path: tmpPath("push-fresh.db"), masterKey: try generateMasterKey())
        let first = try caught("never synced") { _ = try fresh.registerPush(relayUrl: url, endpoint: endpoint, p256dh: p256Generator, auth: auth) }
        try assertTrue(pushRefusal(first)?.1 == .syncFirst, "sync first: \(first)")
        try assertEqual("error-push-sync-first", pushRefusal(first)?.0, "its text")
        let (a, _) = try pair(url, "2")
        var offCurve = Data([4])
        offCurve.append(Data(repeating: 0x11, count: 64))
        let bad = try caught("off the curve") { _ = try a.registerPush(relayUrl: url, endpoint: endpoint, p256dh: offCurve, auth: auth) }
        try assertTrue(pushRefusal(bad)?.1 == .malformed, "the relay's 400: \(bad)")
        let short = try caught("a short auth") { _ = try a.registerPush(relayUrl: url, endpoint: endpoint, p256dh: p256Generator, auth: auth.prefix(8)) }
        if case .InvalidInput = short {} else { throw CheckFailure(description: "not InvalidInput: \(short)") }
        // The open relay sends no wake-ups.
        let plainURL = try relayURL()
        let plain = try Vault.open(path: tmpPath("push-plain.db"), masterKey: try generateMasterKey())
        _ = try plain.groups().create(name: "Kelompok")
        _ = try plain.sync(relayUrl: plainURL)
        let none = try caught("no wake-ups there") { _ = try plain.registerPush(relayUrl: plainURL, endpoint: endpoint, p256dh: p256Generator, auth: auth) }
        try assertTrue(pushRefusal(none)?.1 == .notServed, "not served: \(none)")
    }
}
