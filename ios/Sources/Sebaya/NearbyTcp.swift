// Shipped glue (hand-written, not generated). Compiled and run on Linux (POSIX sockets through Glibc)
// against the real library by `scripts/test.sh swift` (bindings/tests/swift/NearbyTcpTests.swift), over
// loopback TCP with InMemoryDiscovery, and built into the Linux stand-in of this package. On iOS the
// same code runs on Darwin's sockets (not run here: no Apple platform on the machine it was written
// on); the real discovery there is BonjourDiscovery.swift (UNVERIFIED).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening device found by `PeerDiscovery.browse`: its advertised name and where to dial it.
public struct PeerAddress: Equatable, Sendable {
    public let name: String
    public let host: String
    public let port: UInt16
    public init(name: String, host: String, port: UInt16) {
        self.name = name
        self.host = host
        self.port = port
    }
}

/// One advertisement; `stop()` withdraws it (idempotent).
public protocol Advertisement: AnyObject {
    func stop()
}

/// The platform's local-network discovery, for face-to-face sync (protocol 25.1): on iOS
/// `BonjourDiscovery`, in tests `InMemoryDiscovery`. Names and the service type come from the core
/// (`nearbyAdvertName()`, `nearbyServiceType()`), so every platform advertises like the CLI. Both calls
/// may block: make them off the main thread.
public protocol PeerDiscovery: AnyObject {
    /// Starts advertising `name` at `port` of this device until the returned handle is stopped.
    func advertise(name: String, port: UInt16) throws -> Advertisement
    /// Looks for advertised devices for at most `timeout` seconds; returns as soon as any is found.
    func browse(timeout: TimeInterval) throws -> [PeerAddress]
}

/// A socket failure in nearby sync. Never carries an address or a host name.
public enum NearbySocketError: Error, Equatable {
    /// The listener was stopped, or the other device closed the connection.
    case closed
    /// The other device did not answer in time.
    case timedOut
    /// Any other failure (the step that failed).
    case failed(String)
}

/// A discovery inside one process, for tests of the app and of this glue: `advertise` records a name
/// with `host` and the port, `browse` lists what is recorded now. No network.
public final class InMemoryDiscovery: PeerDiscovery {
    private let host: String
    private let cond = NSCondition()
    private var adverts: [(name: String, port: UInt16)] = []

    public init(host: String = "127.0.0.1") { self.host = host }

    /// The names advertised now.
    public func advertised() -> Set<String> {
        cond.lock(); defer { cond.unlock() }
        return Set(adverts.map { $0.name })
    }

    public func advertise(name: String, port: UInt16) throws -> Advertisement {
        cond.lock(); defer { cond.unlock() }
        guard !adverts.contains(where: { $0.name == name }) else { throw NearbySocketError.failed("already advertised") }
        adverts.append((name, port))
        cond.broadcast()
        return Handle(self, name, port)
    }

    public func browse(timeout: TimeInterval) throws -> [PeerAddress] {
        let end = Date(timeIntervalSinceNow: timeout)
        cond.lock(); defer { cond.unlock() }
        while adverts.isEmpty && cond.wait(until: end) {}
        return adverts.map { PeerAddress(name: $0.name, host: host, port: $0.port) }
    }

    private func withdraw(_ name: String, _ port: UInt16) {
        cond.lock(); defer { cond.unlock() }
        adverts.removeAll { $0.name == name && $0.port == port }
    }

    private final class Handle: Advertisement {
        private weak var owner: InMemoryDiscovery?
        private let name: String, port: UInt16
        init(_ owner: InMemoryDiscovery, _ name: String, _ port: UInt16) {
            self.owner = owner
            self.name = name
            self.port = port
        }
        func stop() { owner?.withdraw(name, port) }
        deinit { stop() }
    }
}

/// A reliable byte stream a peer session runs over (a TCP socket here; a Multipeer or Bluetooth stream
/// could be adapted the same way).
public protocol PeerByteStream: AnyObject {
    /// Up to `max` bytes; empty when the other side closed the stream.
    func read(max: Int) throws -> Data
    /// All of `data`.
    func write(_ data: Data) throws
}

/// Runs `session` to its end over `stream` (protocol 25): writes every frame it has, reads what arrives
/// and hands it over, until it is finished. A session error (`PeerNotMember`, `BadPeerMessage`) is
/// thrown after the frames the session still has (its refusal) are written, so the other device learns
/// why; a stream that ends or fails throws a `NearbySocketError`. The stream is not closed.
public func runPeerSession(_ session: PeerSession, over stream: PeerByteStream) throws -> PeerReport {
    while true {
        for f in try session.takeOutgoing() { try stream.write(f) }
        if try session.isFinished() { return try session.report() }
        let got = try stream.read(max: 64 * 1024)
        if got.isEmpty { throw NearbySocketError.closed }
        do {
            try session.receive(bytes: got)
        } catch let e as SebayaError {
            // The other device may be gone already; the session's error is the one to report.
            if let frames = try? session.takeOutgoing() { for f in frames { try? stream.write(f) } }
            throw e
        }
    }
}

/// How long a nearby session waits for the other device (protocol 25.1: 30 s).
public let nearbyTimeout: TimeInterval = 30

#if canImport(Glibc)
private let streamType = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
#else
private let streamType = SOCK_STREAM
private let sendFlags: Int32 = 0
#endif

private func closeFd(_ fd: Int32) { _ = close(fd) }

private func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
    var v = value
    _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
}

private func setTimeouts(_ fd: Int32, _ seconds: TimeInterval) {
    var tv = timeval()
    tv.tv_sec = Int(seconds)
    tv.tv_usec = .init(Int((seconds - Double(Int(seconds))) * 1_000_000))
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
}

/// Waits until `fd` is readable (or writable) for at most `seconds`: true when it is.
private func waitFor(_ fd: Int32, writable: Bool, _ seconds: TimeInterval) -> Bool {
    var p = pollfd(fd: fd, events: Int16(writable ? POLLOUT : POLLIN), revents: 0)
    return poll(&p, 1, Int32(max(0, seconds * 1000))) > 0
}

/// One TCP connection to a nearby device (POSIX socket), with every read and write bounded.
public final class TcpPeerSocket: PeerByteStream {
    private let fd: Int32
    private let lock = NSLock()
    private var open = true

    init(fd: Int32, timeout: TimeInterval) {
        self.fd = fd
        setTimeouts(fd, timeout)
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        #if canImport(Darwin)
        setOption(fd, SOL_SOCKET, SO_NOSIGPIPE, 1)
        #endif
    }

    /// Connects to `host` (a numeric address or a name) at `port` within `timeout` seconds.
    public static func connect(host: String, port: UInt16, timeout: TimeInterval = nearbyTimeout) throws -> TcpPeerSocket {
        var hints = addrinfo()
        hints.ai_socktype = streamType
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw NearbySocketError.failed("address")
        }
        defer { freeaddrinfo(list) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        var refusedOrTimedOut = NearbySocketError.failed("connect")
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd < 0 { continue }
            // Non-blocking connect, so the wait is bounded by `timeout`.
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var ok = posixConnect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0
            if !ok && errno == EINPROGRESS && waitFor(fd, writable: true, timeout) {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
            } else if !ok && errno == EINPROGRESS {
                refusedOrTimedOut = .timedOut
            }
            if ok {
                _ = fcntl(fd, F_SETFL, flags)
                return TcpPeerSocket(fd: fd, timeout: timeout)
            }
            closeFd(fd)
        }
        throw refusedOrTimedOut
    }

    public func read(max: Int) throws -> Data {
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        if n < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? NearbySocketError.timedOut : NearbySocketError.closed }
        return Data(buf[0..<n])
    }

    public func write(_ data: Data) throws {
        var sent = 0
        while sent < data.count {
            let n = data.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> Int in
                guard let base = b.baseAddress else { return 0 }
                return send(fd, base + sent, b.count - sent, sendFlags)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN || errno == EWOULDBLOCK ? NearbySocketError.timedOut : NearbySocketError.closed
            }
            sent += n
        }
    }

    /// Ends the connection in both directions without closing the fd (from another thread: a read or
    /// write waiting on it returns at once). Does nothing once closed, so it never touches a reused fd.
    func shutdown() {
        lock.lock(); defer { lock.unlock() }
        if open { _ = posixShutdown(fd) }
    }

    /// Closes the connection. Idempotent.
    public func close() {
        lock.lock(); defer { lock.unlock() }
        if open { open = false; closeFd(fd) }
    }

    deinit { close() }
}

// Inside TcpPeerSocket and TcpPeerListener, `connect`, `accept` and `shutdown` would name their own methods.
private func posixShutdown(_ fd: Int32) -> Int32 { shutdown(fd, Int32(SHUT_RDWR)) }

/// How long one whole session may take, at most: twice the per-step `timeout`, so a device that
/// trickles a byte now and then (each read within the timeout) cannot hold the listener for ever.
func sessionDeadline(_ timeout: TimeInterval) -> TimeInterval { 2 * timeout }

/// Runs a session over `socket`, ending it (shutdown) if it is still running after `sessionDeadline`.
private func runBounded(_ session: PeerSession, over socket: TcpPeerSocket, timeout: TimeInterval) throws -> PeerReport {
    let watchdog = DispatchWorkItem { socket.shutdown() }
    DispatchQueue.global().asyncAfter(deadline: .now() + sessionDeadline(timeout), execute: watchdog)
    defer { watchdog.cancel() }
    return try runPeerSession(session, over: socket)
}

/// Failures of this device, not of the other one (a locked vault, a key store refusing): every later
/// session would fail the same way, so `serve` ends instead of staying advertised.
private func isLocalFailure(_ error: Error) -> Bool {
    guard let e = error as? SebayaError else { return false }
    switch e {
    case .Locked, .WrongKey, .KeyStore, .Internal: return true
    default: return false
    }
}
private func posixConnect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) -> Int32 {
    connect(fd, addr, len)
}

/// Opens one listening socket: IPv6 (`v6`) or IPv4, on the loopback address or every interface, at
/// `port` (0: any). An IPv6 socket on every interface has IPV6_V6ONLY off, so it takes IPv4 too
/// (dual-stack). The socket is non-blocking: `accept` returns EAGAIN instead of waiting.
private func openListening(v6: Bool, loopback: Bool, port: UInt16) throws -> (fd: Int32, port: UInt16) {
    let s = socket(v6 ? AF_INET6 : AF_INET, streamType, 0)
    guard s >= 0 else { throw NearbySocketError.failed("socket") }
    setOption(s, SOL_SOCKET, SO_REUSEADDR, 1)
    var bound: Int32
    if v6 {
        // Checked: if it failed, a socket meant to take IPv4 too would refuse it (a hotspot's phones).
        var only: Int32 = loopback ? 1 : 0
        guard setsockopt(s, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            closeFd(s)
            throw NearbySocketError.failed("listen")
        }
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_port = port.bigEndian
        a.sin6_addr = loopback ? in6addr_loopback : in6addr_any
        #if canImport(Darwin)
        a.sin6_len = UInt8(MemoryLayout<sockaddr_in6>.size)
        #endif
        let size = socklen_t(MemoryLayout<sockaddr_in6>.size)
        bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, size) } }
    } else {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        // 127.0.0.1 or 0.0.0.0 (INADDR_LOOPBACK and INADDR_ANY are C casts Swift does not import).
        a.sin_addr.s_addr = (loopback ? UInt32(0x7f00_0001) : UInt32(0)).bigEndian
        #if canImport(Darwin)
        a.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, size) } }
    }
    let flags = fcntl(s, F_GETFL, 0)
    guard bound == 0, listen(s, 1) == 0, flags >= 0, fcntl(s, F_SETFL, flags | O_NONBLOCK) == 0 else {
        closeFd(s)
        throw NearbySocketError.failed("listen")
    }
    // sin_port and sin6_port sit at the same offset: read it from a storage big enough for both.
    var got = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let named = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    let bePort = withUnsafePointer(to: &got) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port } }
    // Never advertise port 0.
    guard named == 0, bePort != 0 else {
        closeFd(s)
        throw NearbySocketError.failed("listen")
    }
    return (s, UInt16(bigEndian: bePort))
}

/// A listening TCP socket, dual-stack: on every interface one IPv6 socket that takes IPv4 too (an
/// Android phone may dial the IPv6 address Bonjour/NSD gives; IPv4 only where the device has no IPv6);
/// with `loopbackOnly`, 127.0.0.1 and ::1 (when the machine has IPv6) on the same port. Every socket is
/// non-blocking, so no thread ever waits inside `accept` (on Darwin a connection reset between a poll
/// and its accept would make a blocking accept wait, holding the lock `close()` needs).
final class TcpPeerListener {
    private let fds: [Int32]
    let port: UInt16
    private let lock = NSLock()
    private var open = true
    private let calls: ListenerCalls

    init(loopbackOnly: Bool) throws {
        let opened = try TcpPeerListener.openAll(loopbackOnly: loopbackOnly)
        fds = opened.fds
        port = opened.port
        calls = .system
    }

    /// A listener over `fds` that waits with `calls` instead of the system's (tests only).
    init(fds: [Int32], port: UInt16, calls: ListenerCalls) {
        self.fds = fds
        self.port = port
        self.calls = calls
    }

    private static func openAll(loopbackOnly: Bool) throws -> (fds: [Int32], port: UInt16) {
        if !loopbackOnly {
            if let v6 = try? openListening(v6: true, loopback: false, port: 0) { return ([v6.fd], v6.port) }
            let v4 = try openListening(v6: false, loopback: false, port: 0) // no IPv6 on this device
            return ([v4.fd], v4.port)
        }
        // 127.0.0.1 picks the port, ::1 takes the same one; if that port is taken on ::1, try again.
        for attempt in 1...5 {
            let v4 = try openListening(v6: false, loopback: true, port: 0)
            if let v6 = try? openListening(v6: true, loopback: true, port: v4.port) { return ([v4.fd, v6.fd], v4.port) }
            let probe = socket(AF_INET6, streamType, 0)
            if probe >= 0 { closeFd(probe) }
            // No IPv6 on this machine (or no port free on both after five tries): IPv4 only.
            if probe < 0 || attempt == 5 { return ([v4.fd], v4.port) }
            closeFd(v4.fd)
        }
        throw NearbySocketError.failed("listen")
    }

    var isOpen: Bool { lock.lock(); defer { lock.unlock() }; return open }

    /// Whether every listening socket is non-blocking (what `close()` returning promptly relies on).
    var acceptsWithoutBlocking: Bool {
        lock.lock(); defer { lock.unlock() }
        return fds.allSatisfy { fcntl($0, F_GETFL, 0) & O_NONBLOCK != 0 }
    }

    /// Waits for one connection until one arrives or the listener is closed (`NearbySocketError.closed`);
    /// `NearbySocketError.failed` if the listening socket itself fails. Non-blocking accepts, tried in
    /// short slices, so a close from another thread ends the wait on every platform. A socket that poll
    /// reports broken (POLLERR, POLLHUP, POLLNVAL), or that poll keeps calling readable while accept takes
    /// nothing (an iOS socket defuncted while the app was suspended), is a failure: after a few such
    /// rounds the wait backs off to a full slice, and after `maxIdleRounds` it gives up, so the loop
    /// never spins.
    func accept(timeout: TimeInterval) throws -> TcpPeerSocket {
        var idle = 0
        var revents: [Int16] = []
        while true {
            lock.lock()
            guard open else { lock.unlock(); throw NearbySocketError.closed }
            if revents.contains(where: { $0 & brokenEvents != 0 }) { lock.unlock(); throw NearbySocketError.failed("accept") }
            var c: Int32 = -1
            var broken = false
            for fd in fds {
                let got = calls.accept(fd)
                c = got.fd
                if c >= 0 { break }
                let e = got.errno
                // Nothing waiting, a signal, or a connection aborted before it was taken: try again.
                if e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != ECONNABORTED && e != EPROTO { broken = true }
            }
            lock.unlock()
            if c >= 0 {
                // Darwin's accepted socket inherits O_NONBLOCK (Linux's does not): the session's reads
                // and writes block, bounded by their timeouts.
                let flags = fcntl(c, F_GETFL, 0)
                if flags >= 0 { _ = fcntl(c, F_SETFL, flags & ~O_NONBLOCK) }
                return TcpPeerSocket(fd: c, timeout: timeout)
            }
            if broken { throw NearbySocketError.failed("accept") }
            if revents.contains(where: { $0 & Int16(POLLIN) != 0 }) {
                // Readable, yet nothing taken.
                idle += 1
                if idle >= TcpPeerListener.maxIdleRounds { throw NearbySocketError.failed("accept") }
                if idle >= 3 { Thread.sleep(forTimeInterval: 0.1) }
            } else {
                idle = 0
            }
            revents = calls.poll(fds, 0.1)
        }
    }

    /// Consecutive "readable, yet nothing accepted" rounds before the listening socket counts as broken
    /// (about a second: the rounds after the third wait a full slice each).
    static let maxIdleRounds = 10

    func close() {
        lock.lock(); defer { lock.unlock() }
        if open {
            open = false
            for fd in fds { closeFd(fd) }
        }
    }

    deinit { close() }
}

/// Waits until one of `fds` is readable, for at most `seconds` (a closed one ends the wait at once);
/// what poll said of each (its `revents`).
private func waitForAny(_ fds: [Int32], _ seconds: TimeInterval) -> [Int16] {
    var ps = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    _ = poll(&ps, nfds_t(ps.count), Int32(seconds * 1000))
    return ps.map { $0.revents }
}

/// Poll's answers that mean the socket is broken, not that a connection waits.
private let brokenEvents = Int16(POLLERR) | Int16(POLLHUP) | Int16(POLLNVAL)

private func posixAccept(_ fd: Int32) -> (fd: Int32, errno: Int32) {
    let c = accept(fd, nil, nil)
    return (c, c >= 0 ? 0 : errno)
}

/// The two system calls `TcpPeerListener` waits with, so a test can stand in for a socket the platform
/// broke (Linux cannot make one that behaves like an iOS defunct socket).
struct ListenerCalls {
    /// One non-blocking accept: the new fd, or -1 and the errno.
    var accept: (Int32) -> (fd: Int32, errno: Int32)
    /// One poll of the listening fds for readability, at most that long: each fd's `revents`.
    var poll: ([Int32], TimeInterval) -> [Int16]

    static let system = ListenerCalls(accept: posixAccept, poll: waitForAny)
}

/// Connects to a listening device found by `PeerDiscovery.browse` (or typed in) and syncs with it: this
/// side initiates. Blocks until the session ends (call it off the main thread); every connect, read and
/// write waits at most `timeout` seconds, and the whole session at most twice that.
public func dialPeer(nearby: Nearby, address: PeerAddress, timeout: TimeInterval = nearbyTimeout) throws -> PeerReport {
    let socket = try TcpPeerSocket.connect(host: address.host, port: address.port, timeout: timeout)
    defer { socket.close() }
    return try runBounded(try nearby.startSession(initiator: true), over: socket, timeout: timeout)
}

/// This device listening for a nearby device to sync with, and advertised while it does: the handle of
/// "the person chose to be findable". Made by `start` when the person opens the screen, stopped by
/// `stop()` when they leave it (or when the handle is let go): `stop()` withdraws the advertisement and
/// closes the listening socket, so nothing stays findable after it, and a waiting `acceptOne()` throws
/// `NearbySocketError.closed`. The name is fresh for each opening (`nearbyAdvertName()`), like
/// `sebaya nearby listen`.
public final class NearbyListening {
    private let nearby: Nearby
    private let listener: TcpPeerListener
    private let advert: Advertisement
    private let timeout: TimeInterval
    private let lock = NSLock()
    /// The session in progress, ended by `stop()`.
    private var current: TcpPeerSocket?
    /// The random name advertised (show it, so the person can tell it apart on the other phone).
    public let name: String
    /// The TCP port listened on.
    public var port: UInt16 { listener.port }
    /// Whether this device is still listening and advertised.
    public var isOpen: Bool { listener.isOpen }

    private init(_ nearby: Nearby, _ listener: TcpPeerListener, _ advert: Advertisement, _ name: String, _ timeout: TimeInterval) {
        self.nearby = nearby
        self.listener = listener
        self.advert = advert
        self.name = name
        self.timeout = timeout
    }

    /// Listens on a TCP port (every interface, IPv6 and IPv4, as on a hotspot; only 127.0.0.1 and ::1
    /// with `loopbackOnly`) and advertises it through `discovery` under a fresh random name. If the
    /// advertisement cannot start, the port is closed again and the error is thrown.
    public static func start(
        nearby: Nearby, discovery: PeerDiscovery, loopbackOnly: Bool = false, timeout: TimeInterval = nearbyTimeout
    ) throws -> NearbyListening {
        try start(nearby: nearby, discovery: discovery, listener: try TcpPeerListener(loopbackOnly: loopbackOnly), timeout: timeout)
    }

    /// `start` over a given listener (tests: one that stands in for a broken socket).
    static func start(nearby: Nearby, discovery: PeerDiscovery, listener: TcpPeerListener, timeout: TimeInterval) throws -> NearbyListening {
        do {
            let name = try nearbyAdvertName()
            let advert = try discovery.advertise(name: name, port: listener.port)
            return NearbyListening(nearby, listener, advert, name, timeout)
        } catch {
            listener.close()
            throw error
        }
    }

    /// Waits for one device to connect and syncs with it (this side responds). Blocks: call it off the
    /// main thread. Throws `NearbySocketError.closed` once stopped — and also when one session's
    /// device closes its connection while this handle stays open (`.timedOut` when it says nothing) —
    /// and a `SebayaError` when the session fails. For a loop that keeps accepting, use `serve`.
    public func acceptOne() throws -> PeerReport {
        let socket = try listener.accept(timeout: timeout)
        defer { socket.close() }
        return try session(over: socket)
    }

    /// One responding session over `socket`, which `stop()` ends while it runs.
    private func session(over socket: TcpPeerSocket) throws -> PeerReport {
        lock.lock()
        current = socket
        let stopped = !listener.isOpen
        lock.unlock()
        defer { lock.lock(); current = nil; lock.unlock() }
        if stopped { throw NearbySocketError.closed }
        return try runBounded(try nearby.startSession(initiator: false), over: socket, timeout: timeout)
    }

    /// The accept loop of the listening screen: accepts devices one after another, syncing with each
    /// (this side responds) and handing its report to `onSynced`, until this handle is stopped. A
    /// session that fails — a stranger refused (`PeerNotMember`), one who connects and says nothing
    /// until the timeout, garbage (`BadPeerMessage`), a connection that drops — is handed to `onFailed`
    /// (log its kind, not its text) and the loop goes on accepting: nothing a device on the network does
    /// ends it while the phone stays advertised. A session lasts at most twice `timeout` in all. It
    /// returns when `stop()` is called (from another thread or from a callback; a session in progress
    /// is ended, and no callback starts after `stop()`); if the listening socket itself fails, or this
    /// device cannot sync at all (`Locked`, `WrongKey`, `KeyStore`, `Internal`: the vault was locked),
    /// it reports that to `onFailed` and stops this handle first, so the advertisement never outlives
    /// the loop. Blocks: run it on its own thread.
    public func serve(onSynced: (PeerReport) -> Void, onFailed: (Error) -> Void = { _ in }) {
        defer { stop() }
        while listener.isOpen {
            let socket: TcpPeerSocket
            do {
                socket = try listener.accept(timeout: timeout)
            } catch {
                if listener.isOpen { onFailed(error) } // the listening socket failed, not stopped by the person
                return
            }
            let report: PeerReport
            do {
                defer { socket.close() }
                report = try session(over: socket)
            } catch {
                guard listener.isOpen else { return } // stopped during the session: no callback
                onFailed(error)
                if isLocalFailure(error) { return }
                continue
            }
            guard listener.isOpen else { return }
            onSynced(report)
        }
    }

    /// Withdraws the advertisement and stops listening. Idempotent.
    public func stop() {
        advert.stop()
        listener.close()
        lock.lock(); defer { lock.unlock() }
        current?.shutdown()
    }

    deinit { stop() }
}
