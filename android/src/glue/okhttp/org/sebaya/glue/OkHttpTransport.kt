// Shipped glue (hand-written, not generated). UNVERIFIED: written against the OkHttp 4.x/5.x Kotlin API
// (okhttp3.OkHttpClient, `toRequestBody`, `toMediaTypeOrNull`, `response.code`), which could not be had
// on the machine it was written on (only OkHttp 3.13, whose Kotlin API differs, was available), so this
// file is NOT compiled or run by scripts/test.sh. The module declares OkHttp `compileOnly`: apps that
// use it bring their own OkHttp; apps that do not never load this class. HttpUrlConnectionTransport
// (compiled and tested) needs no library and is the default.
package org.sebaya.glue

import java.io.IOException
import java.io.InterruptedIOException
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.SocketTimeoutException
import java.net.UnknownHostException
import javax.net.ssl.SSLException
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.sebaya.HttpRequest
import org.sebaya.HttpResponse
import org.sebaya.HttpTransport
import org.sebaya.TransportException

/**
 * The core's [HttpTransport] on the app's own OkHttp client, so sync shares its connection pool,
 * certificate pinning, proxy and interceptors. Same contract as HttpUrlConnectionTransport: every
 * status is an answer with its body, redirects are not followed (a derived client is used), only
 * "no answer" throws [TransportException]; nothing is logged here (keep any logging interceptor of
 * the app at a level that does not print bodies: `HttpLoggingInterceptor.Level.BASIC` or less).
 */
public class OkHttpTransport(client: OkHttpClient) : HttpTransport {
    private val client: OkHttpClient = client.newBuilder()
        .followRedirects(false)
        .followSslRedirects(false)
        .build()

    override fun send(request: HttpRequest): HttpResponse {
        val built = try {
            val contentType = request.headers.firstOrNull { it.name == "content-type" }?.value?.toMediaTypeOrNull()
            val body = if (request.method == "GET" || request.method == "HEAD") null else request.body.toRequestBody(contentType)
            val b = Request.Builder().url(request.url).method(request.method, body)
            for (h in request.headers) b.addHeader(h.name, h.value)
            b.build()
        } catch (e: IllegalArgumentException) {
            throw TransportException.Failed("bad request (${e.javaClass.simpleName})")
        }
        try {
            client.newCall(built).execute().use { response ->
                return HttpResponse(response.code.toUShort(), response.body?.bytes() ?: ByteArray(0))
            }
        } catch (e: SocketTimeoutException) {
            throw TransportException.Timeout(reason(e))
        } catch (e: InterruptedIOException) {
            // OkHttp's call timeout ends the call this way.
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
        }
    }

    private fun reason(e: Exception): String = e.toString().take(300)
}
