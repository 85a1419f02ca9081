// Face-to-face sync over TCP through the package's shipped glue (ios/Sources/Sebaya/NearbyTcp.swift;
// issue 17 item 9) on Linux: the advertisement name from the core (the CLI's rule), two vaults that find
// each other through the in-memory discovery (standing in for Bonjour: BonjourDiscovery.swift compiles
// to nothing here, it is UNVERIFIED) and sync over loopback TCP, and the listening handle whose stop()
// ends the advertisement and the listener. main.swift runs nearbyTcpTests().

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A discovery whose advertise always fails (a phone with Wi-Fi off).
final class RefusingDiscovery: PeerDiscovery {
    func advertise(name: String, port: UInt16) throws -> Advertisement { throw NearbySocketError.failed("no network") }
    func browse(timeout: TimeInterval) throws -> [PeerAddress] { [] }
}

/// Runs `body` on another thread; `wait` gives its result.
final class Background<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, Error>?
    init(_ body: @escaping () throws -> T) {
        Thread.detachNewThread { [self] in
            do { result = .success(try body()) } catch { result = .failure(error) }
            done.signal()
        }
    }
    func wait(_ seconds: Double = 30) throws -> Result<T, Error> {
        guard done.wait(timeout: .now() + seconds) == .success, let r = result else {
            throw CheckFailure(description: "no result in \(seconds) s")
        }
        return r
    }
}

/// Whether a TCP connection to 127.0.0.1:`port` is refused.
func connectionRefused(_ port: UInt16) -> Bool {
    do {
        _ = try TcpPeerSocket.connect(host: "127.0.0.1", port: port, timeout: 2)
        return false
    } catch {
        return true
    }
}

func nearbyTcpTests() {
    check("nearby: the advertisement name and service type are the CLI's (protocol 25.1)") {
        try assertEqual("_sebaya._tcp", nearbyServiceType(), "service type")
        let a = try nearbyAdvertName(), b = try nearbyAdvertName()
        try assertEqual(16, a.count, "length")
        try assertTrue(a.allSatisfy { "0123456789abcdef".contains($0) }, "lowercase hex: \(a)")
        try assertTrue(a != b, "fresh for each opening")
        try assertTrue(isNearbyAdvertName(name: a), "a made name is an advert name")
        try assertTrue(!isNearbyAdvertName(name: "Ponsel Sari"), "a device name is not")
    }

    guard let pair = try? linkedPair("tcp") else {
        check("nearby: two linked devices") { throw CheckFailure(description: "could not link") }
        return
    }
    let (phone, tablet) = pair
    let texts = { (v: Vault) in try v.journal().list().map { $0.text }.sorted() }

    check("nearby: one device listens and advertises, the other finds it, dials over TCP, both converge") {
        _ = try tablet.journal().add(text: "Dari tablet.", mood: 3)
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true)
        defer { listening.stop() }
        try assertTrue(isNearbyAdvertName(name: listening.name), "a fresh random name")
        try assertEqual(Set([listening.name]), discovery.advertised(), "advertised while listening")
        let accepted = Background { try listening.acceptOne() }
        let found = try discovery.browse(timeout: 5)
        try assertEqual([PeerAddress(name: listening.name, host: "127.0.0.1", port: listening.port)], found, "browsed")
        let dialled = try dialPeer(nearby: phone.nearby(), address: try single(found, "found"))
        let answered = try accepted.wait().get()
        try assertEqual(try tablet.deviceId(), dialled.remoteDeviceId, "the dialler met the tablet")
        try assertEqual(try phone.deviceId(), answered.remoteDeviceId, "the listener met the phone")
        try assertEqual(dialled.sent, dialled.acked, "all acknowledged")
        try assertTrue(dialled.received > 0 && answered.received > 0, "both ways")
        try assertEqual(["Dari ponsel.", "Dari tablet."], try texts(phone), "phone")
        try assertEqual(try texts(phone), try texts(tablet), "tablet")
        try assertEqual(Set([listening.name]), discovery.advertised(), "still advertised until the person stops")
    }

    check("nearby: stop() ends the advertisement and the listener; nothing outlives the handle") {
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true)
        let port = listening.port
        try assertTrue(listening.isOpen, "open")
        let waiting = Background { try listening.acceptOne() }
        Thread.sleep(forTimeInterval: 0.1)
        listening.stop()
        try assertTrue(!listening.isOpen, "stopped")
        try assertEqual(Set<String>(), discovery.advertised(), "no advertisement left")
        try assertEqual([PeerAddress](), try discovery.browse(timeout: 0.2), "nothing to find")
        guard case .failure(let e) = try waiting.wait(10) else {
            throw CheckFailure(description: "a waiting acceptOne ended without an error")
        }
        try assertEqual(NearbySocketError.closed, e as? NearbySocketError, "a waiting acceptOne ends: closed")
        try assertTrue(connectionRefused(port), "the port no longer accepts")
        do {
            _ = try listening.acceptOne()
            throw CheckFailure(description: "acceptOne after stop")
        } catch let e as NearbySocketError {
            try assertEqual(NearbySocketError.closed, e, "acceptOne after stop")
        }
        listening.stop() // twice is fine
        var port2: UInt16 = 0
        do {
            let dropped = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true)
            port2 = dropped.port
            try assertEqual(1, discovery.advertised().count, "advertised")
        }
        try assertEqual(Set<String>(), discovery.advertised(), "a handle let go withdraws its advertisement")
        try assertTrue(connectionRefused(port2), "and closes its listener")
    }

    check("nearby: an advertisement that cannot start leaves no listener") {
        do {
            _ = try NearbyListening.start(nearby: tablet.nearby(), discovery: RefusingDiscovery(), loopbackOnly: true)
            throw CheckFailure(description: "started without an advertisement")
        } catch is NearbySocketError {}
    }

    check("nearby: a stranger who dials is refused on both sides and learns nothing") {
        let stranger = try Vault.open(path: tmpPath("tcp-stranger.db"), masterKey: try generateMasterKey())
        _ = try stranger.createPerson()
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true)
        defer { listening.stop() }
        let accepted = Background { try listening.acceptOne() }
        try assertThrows("the stranger is refused", peerNotMember) {
            _ = try dialPeer(nearby: stranger.nearby(), address: try single(try discovery.browse(timeout: 5), "found"))
        }
        guard case .failure(let e) = try accepted.wait(), let se = e as? SebayaError else {
            throw CheckFailure(description: "the listener synced with a stranger")
        }
        try assertEqual("error-peer-not-member", peerNotMember(se) ?? "", "the listener refuses")
        try assertEqual(0, try stranger.journal().list().count, "the stranger has nothing")
    }
}
