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

    /// Closes the connection. Idempotent.
    public func close() {
        lock.lock(); defer { lock.unlock() }
        if open { open = false; closeFd(fd) }
    }

    deinit { close() }
}

// Inside TcpPeerSocket and TcpPeerListener, `connect` and `accept` would name their own methods.
private func posixConnect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) -> Int32 {
    connect(fd, addr, len)
}

/// A listening TCP socket (IPv4: the address a phone has on a hotspot or shared Wi-Fi).
final class TcpPeerListener {
    private let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var open = true

    init(loopbackOnly: Bool) throws {
        let s = socket(AF_INET, streamType, 0)
        guard s >= 0 else { throw NearbySocketError.failed("socket") }
        setOption(s, SOL_SOCKET, SO_REUSEADDR, 1)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = 0
        // 127.0.0.1 or 0.0.0.0 (INADDR_LOOPBACK and INADDR_ANY are C casts Swift does not import).
        a.sin_addr.s_addr = (loopbackOnly ? UInt32(0x7f00_0001) : UInt32(0)).bigEndian
        #if canImport(Darwin)
        a.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, size) } }
        guard bound == 0, listen(s, 1) == 0 else {
            closeFd(s)
            throw NearbySocketError.failed("listen")
        }
        var got = sockaddr_in()
        var len = size
        _ = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = UInt16(bigEndian: got.sin_port)
    }

    var isOpen: Bool { lock.lock(); defer { lock.unlock() }; return open }

    /// Waits for one connection until one arrives or the listener is closed (`NearbySocketError.closed`).
    /// Polls in short slices, so a close from another thread ends the wait on every platform.
    func accept(timeout: TimeInterval) throws -> TcpPeerSocket {
        while true {
            lock.lock()
            guard open else { lock.unlock(); throw NearbySocketError.closed }
            let ready = waitFor(fd, writable: false, 0)
            var c: Int32 = -1
            if ready { c = posixAccept(fd) }
            lock.unlock()
            if c >= 0 { return TcpPeerSocket(fd: c, timeout: timeout) }
            _ = waitFor(fd, writable: false, 0.1)
        }
    }

    func close() {
        lock.lock(); defer { lock.unlock() }
        if open { open = false; closeFd(fd) }
    }

    deinit { close() }
}

private func posixAccept(_ fd: Int32) -> Int32 { accept(fd, nil, nil) }

/// Connects to a listening device found by `PeerDiscovery.browse` (or typed in) and syncs with it: this
/// side initiates. Blocks until the session ends (call it off the main thread); every connect, read and
/// write waits at most `timeout` seconds.
public func dialPeer(nearby: Nearby, address: PeerAddress, timeout: TimeInterval = nearbyTimeout) throws -> PeerReport {
    let socket = try TcpPeerSocket.connect(host: address.host, port: address.port, timeout: timeout)
    defer { socket.close() }
    return try runPeerSession(try nearby.startSession(initiator: true), over: socket)
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

    /// Listens on a TCP port (every interface, as on a hotspot; only 127.0.0.1 with `loopbackOnly`) and
    /// advertises it through `discovery` under a fresh random name. If the advertisement cannot start,
    /// the port is closed again and the error is thrown.
    public static func start(
        nearby: Nearby, discovery: PeerDiscovery, loopbackOnly: Bool = false, timeout: TimeInterval = nearbyTimeout
    ) throws -> NearbyListening {
        let listener = try TcpPeerListener(loopbackOnly: loopbackOnly)
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
    /// main thread; call it again for the next device. Throws `NearbySocketError.closed` once stopped,
    /// and a `SebayaError` when the session fails (the listening goes on).
    public func acceptOne() throws -> PeerReport {
        let socket = try listener.accept(timeout: timeout)
        defer { socket.close() }
        return try runPeerSession(try nearby.startSession(initiator: false), over: socket)
    }

    /// Withdraws the advertisement and stops listening. Idempotent.
    public func stop() {
        advert.stop()
        listener.close()
    }

    deinit { stop() }
}
