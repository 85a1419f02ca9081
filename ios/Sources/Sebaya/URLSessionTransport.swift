// Shipped glue (hand-written, not generated). Compiled and run on Linux (swift-corelibs-foundation's
// URLSession, over libcurl) against the real library and a real relay by `scripts/test.sh swift`
// (bindings/tests/swift/GlueTests.swift), and built into the Linux stand-in of this package. Not run on
// an Apple platform here (no macOS on the machine it was written on): Apple's URLSession is a different
// implementation of the same API.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The core's `HttpTransport` on URLSession, so sync goes through the system's HTTP stack (its proxy,
/// TLS, cellular rules). Install it once at app start: `setHttpTransport(transport: URLSessionTransport())`.
///
/// How it avoids blocking the app: the foreign trait is synchronous, because the core calls it on the
/// thread that runs `sync`, one request at a time, and waits for the answer. So sync must run off the
/// main thread, and this class waits (on a semaphore) only on that sync thread, while URLSession does
/// the work on its own delegate queue, never the main one. `Vault.syncOnAsync(relayUrl:link:)`
/// (SebayaAsync.swift) is the non-blocking way to call sync from the main actor.
///
/// As the trait asks, every status code is returned with its body, redirects included (they are not
/// followed: the core decides); only "no answer at all" throws a `TransportError`. Nothing is logged,
/// and no body or header value is put into an error. The session is ephemeral: no cookies, no cache.
public final class URLSessionTransport: HttpTransport {
    private let session: URLSession

    /// `timeout` bounds each request (seconds); a dead link becomes `TransportError.Timeout`.
    /// `configure` may adjust the ephemeral configuration (e.g. `allowsExpensiveNetworkAccess`).
    public init(timeout: TimeInterval = 60, configure: ((URLSessionConfiguration) -> Void)? = nil) {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 2
        config.urlCache = nil
        config.httpCookieStorage = nil
        configure?(config)
        // Its own serial delegate queue (nil): completions never need the main thread.
        session = URLSession(configuration: config, delegate: NoRedirects(), delegateQueue: nil)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https"
        else { throw TransportError.Failed(reason: "not an http(s) URL") }
        var r = URLRequest(url: url)
        r.httpMethod = request.method
        for h in request.headers { r.setValue(h.value, forHTTPHeaderField: h.name) }
        if !request.body.isEmpty || request.method == "POST" { r.httpBody = request.body }
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let task = session.dataTask(with: r) { data, response, error in
            box.result = URLSessionTransport.answer(data: data, response: response, error: error)
            done.signal()
        }
        task.resume()
        done.wait()
        return try box.result.get()
    }

    /// What one finished task means for the core: an answer, or why there was none.
    static func answer(data: Data?, response: URLResponse?, error: Error?) -> Result<HttpResponse, TransportError> {
        if let error = error as? URLError {
            let reason = "URLError \(error.code.rawValue)"
            switch error.code {
            case .timedOut:
                return .failure(.Timeout(reason: reason))
            case .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet, .networkConnectionLost,
                 .dnsLookupFailed, .internationalRoamingOff, .dataNotAllowed:
                return .failure(.Unreachable(reason: reason))
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
                 .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid, .clientCertificateRejected,
                 .clientCertificateRequired:
                return .failure(.Tls(reason: reason))
            default:
                return .failure(.Failed(reason: reason))
            }
        }
        if let error = error {
            return .failure(.Failed(reason: "\(type(of: error))"))
        }
        guard let http = response as? HTTPURLResponse, (0...Int(UInt16.max)).contains(http.statusCode) else {
            return .failure(.Failed(reason: "the answer was not HTTP"))
        }
        return .success(HttpResponse(status: UInt16(http.statusCode), body: data ?? Data()))
    }
}

/// Filled on URLSession's queue before the semaphore is signalled, read after the wait: the
/// semaphore orders the two, so no lock is needed.
private final class ResultBox: @unchecked Sendable {
    var result: Result<HttpResponse, TransportError> = .failure(.Failed(reason: "no answer"))
}

/// Refuses every redirect, so the 3xx answer itself reaches the core.
private final class NoRedirects: NSObject, URLSessionTaskDelegate {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
