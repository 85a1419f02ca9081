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

/// Whether this machine has an IPv6 loopback (::1) that accepts a connection.
func hasIPv6Loopback() -> Bool {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { _ = close(fd) }
    var a = sockaddr_in6()
    a.sin6_family = sa_family_t(AF_INET6)
    a.sin6_addr = in6addr_loopback
    let size = socklen_t(MemoryLayout<sockaddr_in6>.size)
    return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } } == 0
}

/// A raw TCP connection to 127.0.0.1:`port` (a stranger that is not running a session); -1 if refused.
func rawConnect(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } } == 0
    if !ok { _ = close(fd); return -1 }
    return fd
}

/// Closes `fd` with a reset (SO_LINGER 0), as a connection aborted before it is accepted.
func resetClose(_ fd: Int32) {
    var l = linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    _ = close(fd)
}

/// Seconds `body` took.
func timed(_ body: () -> Void) -> Double {
    let start = Date()
    body()
    return Date().timeIntervalSince(start)
}

/// A thread-safe list the serve() callbacks append to.
final class Collected<T>: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [T] = []
    func append(_ item: T) { cond.lock(); items.append(item); cond.broadcast(); cond.unlock() }
    /// Waits until there are at least `count` items, for at most `seconds`; the items then.
    func wait(count: Int, _ seconds: Double = 10) -> [T] {
        let end = Date(timeIntervalSinceNow: seconds)
        cond.lock(); defer { cond.unlock() }
        while items.count < count && cond.wait(until: end) {}
        return items
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

    check("nearby: serve() goes on after a silent stranger, garbage and a dropped connection; a real peer still syncs") {
        _ = try phone.journal().add(text: "Ketiga, dari ponsel.", mood: 3)
        let discovery = InMemoryDiscovery()
        // A short session timeout, so the silent stranger is given up on quickly (not so short that the
        // real peer's handshake and sync, on the same handle, risk it on a busy machine).
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true, timeout: 2)
        defer { listening.stop() }
        let synced = Collected<PeerReport>(), failed = Collected<Error>()
        let served = Background { listening.serve(onSynced: { synced.append($0) }, onFailed: { failed.append($0) }) }
        let silent = rawConnect(listening.port)
        try assertTrue(silent >= 0, "the silent stranger connects")
        try assertEqual(1, failed.wait(count: 1).count, "a stranger who says nothing times out, and is reported")
        _ = close(silent)
        let garbage = rawConnect(listening.port)
        try assertTrue(garbage >= 0, "the garbage stranger connects")
        let junk = [UInt8](repeating: 0x5a, count: 200)
        _ = junk.withUnsafeBytes { send(garbage, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        try assertEqual(2, failed.wait(count: 2).count, "garbage fails its session, and is reported")
        _ = close(garbage)
        let dropped = rawConnect(listening.port)
        try assertTrue(dropped >= 0, "the dropping stranger connects")
        _ = close(dropped)
        try assertEqual(3, failed.wait(count: 3).count, "a dropped connection is reported")
        try assertTrue(listening.isOpen, "still listening after three failed sessions")
        try assertEqual(Set([listening.name]), discovery.advertised(), "still advertised")
        let dialled = try dialPeer(nearby: phone.nearby(), address: try single(try discovery.browse(timeout: 5), "found"), timeout: 10)
        try assertEqual(1, synced.wait(count: 1, 30).count, "the listener synced with the real peer")
        try assertEqual(try tablet.deviceId(), dialled.remoteDeviceId, "the dialler met the tablet")
        try assertTrue(try texts(tablet).contains("Ketiga, dari ponsel."), "arrived")
        listening.stop()
        guard case .success = try served.wait(10) else { throw CheckFailure(description: "serve() did not return") }
        try assertEqual(Set<String>(), discovery.advertised(), "withdrawn")
    }

    check("nearby: a serve() callback may stop the listening; serve() then returns with nothing advertised") {
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true, timeout: 2)
        let served = Background { listening.serve(onSynced: { _ in listening.stop() }) }
        _ = try dialPeer(nearby: phone.nearby(), address: try single(try discovery.browse(timeout: 5), "found"), timeout: 10)
        guard case .success = try served.wait(10) else { throw CheckFailure(description: "serve() did not return") }
        try assertTrue(!listening.isOpen, "stopped when serve() ended")
        try assertEqual(Set<String>(), discovery.advertised(), "no advertisement left")
    }

    check("nearby: the listening socket never blocks in accept, so stop() returns at once (also racing a connect)") {
        let listener = try TcpPeerListener(loopbackOnly: true)
        try assertTrue(listener.acceptsWithoutBlocking, "every listening socket is non-blocking")
        listener.close()
        let discovery = InMemoryDiscovery()
        // Nothing connects.
        let idle = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true)
        let waiting = Background { try idle.acceptOne() }
        Thread.sleep(forTimeInterval: 0.1)
        let took = timed { idle.stop() }
        try assertTrue(took < 1, "stop() with nothing connecting returned in \(took) s")
        guard case .failure = try waiting.wait(2) else { throw CheckFailure(description: "acceptOne went on after stop") }
        // A connection that is reset as stop() runs, many times over.
        for round in 0..<20 {
            let l = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true, timeout: 0.5)
            let accepting = Background { try l.acceptOne() }
            let port = l.port
            let dialling = Background { () -> Void in
                let fd = rawConnect(port)
                if fd >= 0 { resetClose(fd) }
            }
            if round % 2 == 1 { Thread.sleep(forTimeInterval: 0.001 * Double(round)) }
            let t = timed { l.stop() }
            try assertTrue(t < 1, "round \(round): stop() racing a connection returned in \(t) s")
            _ = try accepting.wait(3) // ends (a failed session or closed) instead of hanging
            _ = try dialling.wait(3)
        }
        try assertEqual(Set<String>(), discovery.advertised(), "nothing advertised")
    }

    check("nearby: the listener is dual-stack: a peer dials it over IPv6 (::1) and IPv4") {
        guard hasIPv6Loopback() else {
            print("SKIP  nearby: dual-stack: this machine has no IPv6 loopback (::1)")
            return
        }
        let discovery = InMemoryDiscovery()
        // Every interface (as on a phone: one IPv6 socket that takes IPv4 too), then loopbackOnly
        // (127.0.0.1 and ::1); only loopback addresses are dialled.
        for loopbackOnly in [false, true] {
            let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: loopbackOnly)
            defer { listening.stop() }
            for host in ["::1", "127.0.0.1"] {
                let accepted = Background { try listening.acceptOne() }
                let dialled = try dialPeer(nearby: phone.nearby(), address: PeerAddress(name: "", host: host, port: listening.port), timeout: 10)
                _ = try accepted.wait().get()
                try assertEqual(try tablet.deviceId(), dialled.remoteDeviceId, "dialled over \(host), loopbackOnly \(loopbackOnly)")
            }
        }
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

    check("nearby: a listening socket poll keeps calling readable while accept takes nothing (iOS defunct) fails instead of spinning") {
        let calls = Counter()
        let stuck = TcpPeerListener(fds: [-1], port: 1, calls: ListenerCalls(
            accept: { _ in calls.bump(); return (-1, EAGAIN) },
            poll: { fds, _ in fds.map { _ in Int16(POLLIN) } }))
        let waiting = Background { try stuck.accept(timeout: 1) }
        guard case .failure(let e) = try waiting.wait(3) else { throw CheckFailure(description: "accepted from a broken socket") }
        try assertEqual(NearbySocketError.failed("accept"), e as? NearbySocketError, "the broken socket is a failure")
        try assertTrue(calls.value < 20, "accept tried \(calls.value) times (no spinning)")
        // Poll saying the socket hung up or is invalid: a failure at once.
        for broken in [Int16(POLLHUP), Int16(POLLERR), Int16(POLLNVAL)] {
            let n = Counter()
            let hung = TcpPeerListener(fds: [-1], port: 1, calls: ListenerCalls(
                accept: { _ in n.bump(); return (-1, EAGAIN) },
                poll: { fds, _ in fds.map { _ in Int16(POLLIN) | broken } }))
            guard case .failure(let e) = try Background({ try hung.accept(timeout: 1) }).wait(3) else {
                throw CheckFailure(description: "accepted from a hung-up socket")
            }
            try assertEqual(NearbySocketError.failed("accept"), e as? NearbySocketError, "revents \(broken) is a failure")
            try assertTrue(n.value <= 2, "revents \(broken): accept tried \(n.value) times")
        }
        // serve() over the stuck socket reports it once and withdraws the advertisement.
        let discovery = InMemoryDiscovery()
        let again = TcpPeerListener(fds: [-1], port: 1, calls: ListenerCalls(
            accept: { _ in (-1, ECONNABORTED) }, poll: { fds, _ in fds.map { _ in Int16(POLLIN) } }))
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, listener: again, timeout: 1)
        let failed = Collected<Error>()
        guard case .success = try Background({ listening.serve(onSynced: { _ in }, onFailed: { failed.append($0) }) }).wait(5) else {
            throw CheckFailure(description: "serve() went on over a broken socket")
        }
        try assertEqual(1, failed.wait(count: 1, 0).count, "reported once")
        try assertEqual(Set<String>(), discovery.advertised(), "no advertisement left")
        try assertTrue(!listening.isOpen, "stopped")
    }

    check("nearby: a stranger trickling a byte within each timeout is cut off at the session deadline; a peer then syncs") {
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true, timeout: 1.5)
        defer { listening.stop() }
        let synced = Collected<PeerReport>(), failed = Collected<Error>()
        let served = Background { listening.serve(onSynced: { synced.append($0) }, onFailed: { failed.append($0) }) }
        let trickler = rawConnect(listening.port)
        try assertTrue(trickler >= 0, "the trickler connects")
        defer { _ = close(trickler) }
        // A 32-byte first frame (the handshake's length), one byte every 0.3 s.
        let trickling = Background { () -> Void in
            var bytes: [UInt8] = [0x00, 0x20] + [UInt8](repeating: 0, count: 32)
            for i in 0..<bytes.count {
                if send(trickler, &bytes[i], 1, Int32(MSG_NOSIGNAL)) != 1 { return }
                Thread.sleep(forTimeInterval: 0.3)
            }
        }
        let start = Date()
        try assertEqual(1, failed.wait(count: 1, 8).count, "the trickler's session is ended")
        try assertTrue(Date().timeIntervalSince(start) < 5, "within the deadline (twice the timeout: 3 s) and a margin")
        // The real peer, while the trickler is still connected (with its own, longer timeout).
        let dialled = try dialPeer(nearby: phone.nearby(), address: try single(try discovery.browse(timeout: 5), "found"), timeout: 10)
        try assertEqual(try tablet.deviceId(), dialled.remoteDeviceId, "the dialler met the tablet")
        try assertEqual(1, synced.wait(count: 1, 10).count, "the listener synced with the real peer")
        listening.stop()
        _ = try served.wait(10)
        _ = try trickling.wait(15)
    }

    check("nearby: stop() ends a session in progress; serve() returns at once and calls nothing after") {
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: tablet.nearby(), discovery: discovery, loopbackOnly: true, timeout: 30)
        let calls = Counter()
        let served = Background { listening.serve(onSynced: { _ in calls.bump() }, onFailed: { _ in calls.bump() }) }
        let silent = rawConnect(listening.port)
        try assertTrue(silent >= 0, "the silent stranger connects")
        defer { _ = close(silent) }
        Thread.sleep(forTimeInterval: 0.3) // accepted, its session waiting to read
        listening.stop()
        guard case .success = try served.wait(1) else { throw CheckFailure(description: "serve() did not return") }
        Thread.sleep(forTimeInterval: 0.2)
        try assertEqual(0, calls.value, "no callback after stop()")
    }

    check("nearby: a locked vault ends serve() (reported as Locked) instead of staying advertised") {
        let v = try Vault.open(path: tmpPath("tcp-locked.db"), masterKey: try generateMasterKey())
        _ = try v.createPerson()
        let discovery = InMemoryDiscovery()
        let listening = try NearbyListening.start(nearby: v.nearby(), discovery: discovery, loopbackOnly: true, timeout: 5)
        let failed = Collected<Error>()
        let served = Background { listening.serve(onSynced: { _ in }, onFailed: { failed.append($0) }) }
        try v.lock()
        let fd = rawConnect(listening.port)
        defer { if fd >= 0 { _ = close(fd) } }
        guard case .success = try served.wait(5) else { throw CheckFailure(description: "serve() went on with a locked vault") }
        let got = failed.wait(count: 1, 0)
        try assertEqual(1, got.count, "reported once")
        try assertTrue((got.first as? SebayaError).flatMap(locked) != nil, "reported as Locked: \(String(describing: got.first))")
        try assertEqual(Set<String>(), discovery.advertised(), "no advertisement left")
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func bump() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
