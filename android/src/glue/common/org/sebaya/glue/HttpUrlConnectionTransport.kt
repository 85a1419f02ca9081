// Shipped glue (hand-written, not generated). Plain JVM + Android: compiled and run against the real
// library and a real relay on a desktop JVM by `scripts/test.sh kotlin` (bindings/tests/kotlin/GlueTest.kt).
// Not run on an Android device here (no SDK on the machine it was written on).
package org.sebaya.glue

import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.HttpURLConnection
import java.net.NoRouteToHostException
import java.net.Proxy
import java.net.SocketTimeoutException
import java.net.URI
import java.net.UnknownHostException
import javax.net.ssl.SSLException
import org.sebaya.HttpRequest
import org.sebaya.HttpResponse
import org.sebaya.HttpTransport
import org.sebaya.TransportException

/**
 * The core's [HttpTransport] on the platform's own `HttpURLConnection`, so an app needs no HTTP
 * library to sync. Install it once at start: `setHttpTransport(HttpUrlConnectionTransport())`.
 *
 * Why it behaves as it does:
 * - Every status code is returned with its body, redirects included (they are not followed): the
 *   core reads the relay's error bodies and decides itself; only "no answer at all" throws a
 *   [TransportException], which sync turns into a retryable network error with local data intact.
 * - Timeouts are set on both the connection and each read, so a dead link cannot hold the sync
 *   thread for ever (the core calls this on the thread that called `sync`, one request at a time).
 * - Nothing is logged, and no body is ever put into an exception: bodies are end-to-end encrypted
 *   envelopes, yet their sizes and timing are still the user's business.
 * - Caching is off: a sync answer is never worth replaying.
 *
 * [proxy] is null to use the system's proxy settings (the usual choice on Android).
 * [maxBodyBytes] bounds an answer kept in memory: a larger one is a transport failure, not a crash.
 */
public class HttpUrlConnectionTransport @JvmOverloads constructor(
    private val connectTimeoutMs: Int = 30_000,
    private val readTimeoutMs: Int = 60_000,
    private val proxy: Proxy? = null,
    private val maxBodyBytes: Int = 64 * 1024 * 1024,
) : HttpTransport {

    override fun send(request: HttpRequest): HttpResponse {
        val conn = try {
            val url = URI(request.url).toURL()
            val c = if (proxy == null) url.openConnection() else url.openConnection(proxy)
            c as? HttpURLConnection ?: throw TransportException.Failed("not an http(s) URL")
        } catch (e: TransportException) {
            throw e
        } catch (e: Exception) {
            // The URL itself is not user content, but keep the reason to the kind of failure.
            throw TransportException.Failed("bad URL (${e.javaClass.simpleName})")
        }
        try {
            conn.connectTimeout = connectTimeoutMs
            conn.readTimeout = readTimeoutMs
            conn.useCaches = false
            conn.instanceFollowRedirects = false
            conn.requestMethod = request.method
            for (h in request.headers) conn.setRequestProperty(h.name, h.value)
            if (request.body.isNotEmpty() || request.method == "POST") {
                conn.doOutput = true
                // No fixed-length streaming mode: in it the JDK's HttpURLConnection drops the body of
                // a 401/407 answer (HttpRetryException), and the core needs the relay's reason from it.
                // The body is in memory already, so letting the connection buffer it costs little.
                conn.outputStream.use { it.write(request.body) }
            }
            val status = conn.responseCode
            if (status < 0) throw TransportException.Failed("the answer was not valid HTTP")
            val stream = if (status >= 400) conn.errorStream else conn.inputStream
            val body = stream?.use { readBounded(it) } ?: ByteArray(0)
            return HttpResponse(status.toUShort(), body)
        } catch (e: TransportException) {
            throw e
        } catch (e: SocketTimeoutException) {
            throw TransportException.Timeout(reason(e))
        } catch (e: SSLException) {
            throw TransportException.Tls(reason(e))
        } catch (e: ConnectException) {
            throw TransportException.Unreachable(reason(e))
        } catch (e: NoRouteToHostException) {
            throw TransportException.Unreachable(reason(e))
        } catch (e: UnknownHostException) {
            throw TransportException.Unreachable(reason(e))
        } catch (e: IOException) {
            throw TransportException.Failed(reason(e))
        } catch (e: RuntimeException) {
            // e.g. a header value the platform refuses: still "no answer", never a crash in the core.
            throw TransportException.Failed(reason(e))
        } finally {
            conn.disconnect()
        }
    }

    private fun readBounded(input: InputStream): ByteArray {
        val out = java.io.ByteArrayOutputStream()
        val buf = ByteArray(16 * 1024)
        while (true) {
            val n = input.read(buf)
            if (n < 0) break
            if (out.size() + n > maxBodyBytes) {
                throw TransportException.Failed("answer larger than $maxBodyBytes bytes")
            }
            out.write(buf, 0, n)
        }
        return out.toByteArray()
    }

    /** The exception's class and platform message: no request or response content is in either. */
    private fun reason(e: Exception): String = e.toString().take(300)
}
