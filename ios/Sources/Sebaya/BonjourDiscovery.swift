// Shipped glue (hand-written, not generated). Apple platforms only: Network.framework and the Bonjour
// C API (dnssd). UNVERIFIED: on Linux this file compiles to nothing, and it has never been compiled or
// run on an Apple platform (no macOS on the machine it was written on). The interface it implements
// (PeerDiscovery, NearbyTcp.swift) is tested on Linux with InMemoryDiscovery.

#if canImport(Network) && canImport(dnssd)
import Foundation
import Network
import dnssd

/// `PeerDiscovery` on Bonjour, with the core's service type (`nearbyServiceType()`, `_sebaya._tcp`), the
/// core's random name and no TXT record, as `sebaya nearby listen` does (protocol 25.1). Not only the
/// random name is seen: Bonjour's SRV record names the device's own mDNS host name (which can contain
/// the name the person gave the phone), which this class cannot change (docs/threat-model.md, "Nearby
/// sync"). `browse` returns that host name; the listener is dual-stack, so IPv6 or IPv4 works. The app
/// lists `_sebaya._tcp` under `NSBonjourServices` and gives an `NSLocalNetworkUsageDescription`
/// (docs/nearby.md).
///
/// Why not NWListener for advertising: an NWListener accepts its own connections, so it could not
/// advertise the port the portable TCP listener (`NearbyListening`) accepts on; `DNSServiceRegister`
/// announces an existing port. Browsing uses NWBrowser; a result is resolved to its host name and port
/// with `DNSServiceResolve` (connecting to learn the address would be taken for a peer by the listener).
public final class BonjourDiscovery: PeerDiscovery {
    private let type: String

    public init() { type = nearbyServiceType() }

    public func advertise(name: String, port: UInt16) throws -> Advertisement {
        var ref: DNSServiceRef?
        let err = DNSServiceRegister(&ref, 0, 0, name, type, nil, nil, port.bigEndian, 0, nil, nil, nil)
        guard err == DNSServiceErrorType(kDNSServiceErr_NoError), let registered = ref else {
            throw NearbySocketError.failed("advertise")
        }
        return Registration(registered)
    }

    public func browse(timeout: TimeInterval) throws -> [PeerAddress] {
        let found = DispatchSemaphore(value: 0)
        let names = NameBox()
        let browser = NWBrowser(for: .bonjour(type: type, domain: nil), using: .tcp)
        browser.browseResultsChangedHandler = { results, _ in
            for r in results {
                // Only names made by the core's rule: other services of the type are not Sebaya's.
                if case let .service(name, _, _, _) = r.endpoint, isNearbyAdvertName(name: name), names.add(name) {
                    found.signal()
                }
            }
        }
        browser.start(queue: DispatchQueue(label: "sebaya.bonjour.browse"))
        defer { browser.cancel() }
        let end = Date(timeIntervalSinceNow: timeout)
        var out: [PeerAddress] = []
        while out.isEmpty, found.wait(timeout: .now() + max(0, end.timeIntervalSinceNow)) == .success {
            for name in names.take() {
                if let a = resolve(name, max(0, end.timeIntervalSinceNow)) { out.append(a) }
            }
        }
        return out
    }

    /// The host name and port of one advertised name, or nil within `timeout`.
    private func resolve(_ name: String, _ timeout: TimeInterval) -> PeerAddress? {
        let box = ResolveBox()
        var ref: DNSServiceRef?
        let context = Unmanaged.passUnretained(box).toOpaque()
        let err = DNSServiceResolve(&ref, 0, 0, name, type, "local.", { _, _, _, code, _, host, port, _, _, ctx in
            guard code == DNSServiceErrorType(kDNSServiceErr_NoError), let host = host, let ctx = ctx else { return }
            let box = Unmanaged<ResolveBox>.fromOpaque(ctx).takeUnretainedValue()
            box.host = String(cString: host)
            box.port = UInt16(bigEndian: port)
        }, context)
        guard err == DNSServiceErrorType(kDNSServiceErr_NoError), let r = ref else { return nil }
        defer { DNSServiceRefDeallocate(r) }
        var p = pollfd(fd: DNSServiceRefSockFD(r), events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) > 0, DNSServiceProcessResult(r) == DNSServiceErrorType(kDNSServiceErr_NoError),
              let host = box.host
        else { return nil }
        return PeerAddress(name: name, host: host, port: box.port)
    }

    private final class Registration: Advertisement {
        private let lock = NSLock()
        private var ref: DNSServiceRef?
        init(_ ref: DNSServiceRef) { self.ref = ref }
        func stop() {
            lock.lock(); defer { lock.unlock() }
            if let r = ref { DNSServiceRefDeallocate(r) }
            ref = nil
        }
        deinit { stop() }
    }

    private final class NameBox: @unchecked Sendable {
        private let lock = NSLock()
        private var seen = Set<String>()
        private var fresh: [String] = []
        func add(_ name: String) -> Bool {
            lock.lock(); defer { lock.unlock() }
            guard seen.insert(name).inserted else { return false }
            fresh.append(name)
            return true
        }
        func take() -> [String] {
            lock.lock(); defer { lock.unlock() }
            defer { fresh = [] }
            return fresh
        }
    }

    private final class ResolveBox {
        var host: String?
        var port: UInt16 = 0
    }
}
#endif
