// Shipped glue (hand-written, not generated). Plain JVM + Android: compiled and tested on a desktop JVM
// by `scripts/test.sh kotlin` (NearbyTcpTest.kt), over loopback TCP with InMemoryDiscovery. The real
// discovery on a phone is NsdDiscovery.kt (android/src/glue/android: platform-only, not compiled here).
package org.sebaya.glue

import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketTimeoutException
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.ScheduledThreadPoolExecutor
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import org.sebaya.Nearby
import org.sebaya.PeerReport
import org.sebaya.PeerSession
import org.sebaya.SebayaException
import org.sebaya.nearbyAdvertName

/** A listening device found by [PeerDiscovery.browse]: its advertised [name] and where to dial it. */
public data class PeerAddress(val name: String, val host: String, val port: Int)

/** One advertisement; [close] withdraws it (idempotent). */
public interface Advertisement : AutoCloseable {
    override fun close()
}

/**
 * The platform's local-network discovery, for face-to-face sync (protocol 25.1): on Android
 * [NsdDiscovery] (NsdManager), in tests [InMemoryDiscovery]. Names and the service type come from the
 * core (`nearbyAdvertName()`, `nearbyServiceType()`), so every platform advertises like the CLI.
 * Both calls block: make them off the main thread.
 */
public interface PeerDiscovery {
    /** Starts advertising [name] at [port] of this device until the returned handle is closed. */
    public fun advertise(name: String, port: Int): Advertisement

    /** Looks for advertised devices for at most [timeoutMillis]; returns as soon as any is found. */
    public fun browse(timeoutMillis: Long): List<PeerAddress>
}

/**
 * A discovery inside one process, for tests of the app and of this glue: [advertise] records a name
 * with [host] and the port, [browse] lists what is recorded now. No network.
 */
public class InMemoryDiscovery(private val host: String = "127.0.0.1") : PeerDiscovery {
    private val lock = ReentrantLock()
    private val changed = lock.newCondition()
    private val adverts = LinkedHashMap<String, Int>()

    /** The names advertised now. */
    public fun advertised(): Set<String> = lock.withLock { adverts.keys.toSet() }

    override fun advertise(name: String, port: Int): Advertisement {
        lock.withLock {
            require(name !in adverts) { "already advertised" }
            adverts[name] = port
            changed.signalAll()
        }
        return object : Advertisement {
            override fun close() {
                lock.withLock { if (adverts[name] == port) adverts.remove(name) }
            }
        }
    }

    override fun browse(timeoutMillis: Long): List<PeerAddress> =
        lock.withLock {
            var left = TimeUnit.MILLISECONDS.toNanos(timeoutMillis)
            while (adverts.isEmpty() && left > 0) left = changed.awaitNanos(left)
            adverts.map { (name, port) -> PeerAddress(name, host, port) }
        }
}

/**
 * Runs [session] to its end over a reliable byte stream (protocol 25): writes every frame it has,
 * reads what arrives and hands it over, until it is finished. A session error (`PeerNotMember`,
 * `BadPeerMessage`) is thrown after the frames the session still has (its refusal) are written, so the
 * other device learns why; a stream that ends or fails throws an [IOException]. Neither stream is closed.
 */
public fun runPeerSession(session: PeerSession, input: InputStream, output: OutputStream): PeerReport {
    val buf = ByteArray(64 * 1024)
    while (true) {
        for (f in session.takeOutgoing()) output.write(f)
        output.flush()
        if (session.isFinished()) return session.report()
        val n = input.read(buf)
        if (n < 0) throw IOException("the nearby device closed the connection")
        try {
            session.receive(buf.copyOf(n))
        } catch (e: SebayaException) {
            try {
                for (f in session.takeOutgoing()) output.write(f)
                output.flush()
            } catch (ignored: Exception) {
                // The other device may be gone already; the session's error is the one to report.
            }
            throw e
        }
    }
}

/** How long a nearby session waits for the other device (protocol 25.1: 30 s), milliseconds. */
public const val NEARBY_TIMEOUT_MILLIS: Int = 30_000

/**
 * Closes sockets whose write or session outlived its deadline: a blocking JVM socket has no write
 * timeout (soTimeout bounds reads only), so this is what bounds a write to a device that stopped
 * reading. One daemon thread for the process, idle but for the alarms.
 */
private val watchdog =
    ScheduledThreadPoolExecutor(1) { r -> Thread(r, "sebaya-nearby-watchdog").apply { isDaemon = true } }
        .apply { removeOnCancelPolicy = true }

private fun closeAfter(socket: Socket, millis: Long): ScheduledFuture<*> =
    watchdog.schedule({ socket.close() }, millis, TimeUnit.MILLISECONDS)

/** [socket]'s output, each write and flush bounded by [millis] (the socket is closed if one outlives it). */
internal fun boundedOutput(socket: Socket, millis: Long): OutputStream =
    object : OutputStream() {
        private val out = socket.getOutputStream()

        override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

        override fun write(b: ByteArray, off: Int, len: Int) = bounded { out.write(b, off, len) }

        override fun flush() = bounded { out.flush() }

        private inline fun bounded(body: () -> Unit) {
            val alarm = closeAfter(socket, millis)
            try {
                body()
            } catch (e: IOException) {
                if (alarm.isDone && !alarm.isCancelled) throw SocketTimeoutException("write timed out")
                throw e
            } finally {
                alarm.cancel(false)
            }
        }
    }

/**
 * How long one whole session may take, at most: twice the per-step timeout, so a device that trickles
 * a byte now and then (each read within the timeout) cannot hold the listener for ever.
 */
internal fun sessionDeadlineMillis(timeoutMillis: Int): Long = 2L * timeoutMillis

private fun runOver(socket: Socket, nearby: Nearby, initiator: Boolean, timeoutMillis: Int): PeerReport {
    socket.soTimeout = timeoutMillis
    socket.tcpNoDelay = true
    val deadline = closeAfter(socket, sessionDeadlineMillis(timeoutMillis))
    try {
        return nearby.startSession(initiator).use { session ->
            runPeerSession(session, socket.getInputStream(), boundedOutput(socket, timeoutMillis.toLong()))
        }
    } catch (e: IOException) {
        if (deadline.isDone && !deadline.isCancelled) throw SocketTimeoutException("the session outlived its deadline")
        throw e
    } finally {
        deadline.cancel(false)
    }
}

/**
 * Failures of this device, not of the other one (a locked vault, a key store refusing): every later
 * session would fail the same way, so [NearbyListening.serve] ends instead of staying advertised.
 */
private fun isLocalFailure(e: Exception): Boolean =
    e is SebayaException.Locked || e is SebayaException.WrongKey ||
        e is SebayaException.KeyStore || e is SebayaException.Internal

/**
 * Connects to a listening device found by [PeerDiscovery.browse] (or typed in) and syncs with it:
 * this side initiates. Blocks until the session ends (call it off the main thread); every connect,
 * read and write waits at most [timeoutMillis] (`SocketTimeoutException`; a write that outlives it
 * has its socket closed by a watchdog), and the whole session at most twice that.
 */
public fun dialPeer(nearby: Nearby, address: PeerAddress, timeoutMillis: Int = NEARBY_TIMEOUT_MILLIS): PeerReport =
    Socket().use { socket ->
        socket.connect(InetSocketAddress(address.host, address.port), timeoutMillis)
        runOver(socket, nearby, initiator = true, timeoutMillis = timeoutMillis)
    }

/**
 * This device listening for a nearby device to sync with, and advertised while it does: the handle
 * of "the person chose to be findable". Made by [start] when the person opens the screen, closed by
 * [close] when they leave it (or press stop): [close] withdraws the advertisement and closes the
 * listening socket, so nothing stays findable after it, and a waiting [acceptOne] ends with an
 * [IOException]. The name is fresh for each opening (`nearbyAdvertName()`), like `sebaya nearby listen`.
 */
public class NearbyListening private constructor(
    private val nearby: Nearby,
    private val server: ServerSocket,
    private val advert: Advertisement,
    /** The random name advertised (show it, so the person can tell it apart on the other phone). */
    public val name: String,
    private val timeoutMillis: Int,
) : AutoCloseable {
    private val lock = ReentrantLock()
    private var open = true

    /** The session in progress, which [close] ends. */
    private var current: Socket? = null

    /** The TCP port listened on. */
    public val port: Int = server.localPort

    /** Whether this device is still listening and advertised. */
    public val isOpen: Boolean get() = lock.withLock { open }

    /**
     * Waits for one device to connect and syncs with it (this side responds). Blocks: call it off the
     * main thread. Throws [IOException] once closed, and also when one session's connection fails
     * (a silent device timing out, a dropped connection) while this handle stays open;
     * `SebayaException` when the session fails. For a loop that keeps accepting, use [serve].
     */
    public fun acceptOne(): PeerReport {
        if (!isOpen) throw IOException("not listening")
        return server.accept().use { session(it) }
    }

    /** One responding session over [socket], which [close] ends while it runs. */
    private fun session(socket: Socket): PeerReport {
        val stopped = lock.withLock {
            current = socket
            !open
        }
        try {
            if (stopped) throw IOException("not listening")
            return runOver(socket, nearby, initiator = false, timeoutMillis = timeoutMillis)
        } finally {
            lock.withLock { current = null }
        }
    }

    /**
     * The accept loop of the listening screen: accepts devices one after another, syncing with each
     * (this side responds) and handing its report to [onSynced], until this handle is closed. A
     * session that fails — a stranger refused (`PeerNotMember`), one who connects and says nothing
     * until the timeout, garbage (`BadPeerMessage`), a connection that drops — is handed to [onFailed]
     * (log its class, not its text) and the loop goes on accepting: nothing a device on the network
     * does ends it while the phone stays advertised. A session lasts at most twice [timeoutMillis] in
     * all, each write at most [timeoutMillis]. It returns when [close] is called (from another
     * thread, or from a callback; a session in progress is ended, and no callback starts after
     * [close]). If the listening socket itself fails, or this device cannot sync at all (`Locked`,
     * `WrongKey`, `KeyStore`, `Internal`: the vault was locked), that is reported to [onFailed]; then,
     * or if a callback throws (rethrown), it closes this handle first, so the advertisement never
     * outlives the loop. Blocks: run it on its own thread.
     */
    @JvmOverloads
    public fun serve(onSynced: (PeerReport) -> Unit, onFailed: (Exception) -> Unit = {}) {
        try {
            while (isOpen) {
                val socket = try {
                    server.accept()
                } catch (e: IOException) {
                    if (isOpen) onFailed(e) // the listening socket failed, not closed by the person
                    break
                }
                val report = try {
                    socket.use { session(it) }
                } catch (e: Exception) {
                    if (e !is SebayaException && e !is IOException) throw e
                    if (!isOpen) break // closed during the session: no callback
                    onFailed(e)
                    if (isLocalFailure(e)) break
                    continue
                }
                if (!isOpen) break
                onSynced(report)
            }
        } finally {
            close()
        }
    }

    /** Withdraws the advertisement and stops listening. Idempotent. */
    override fun close() {
        val (wasOpen, session) = lock.withLock { (open to current).also { open = false } }
        if (!wasOpen) return
        try {
            advert.close()
        } finally {
            try {
                server.close()
            } finally {
                session?.close()
            }
        }
    }

    public companion object {
        /**
         * Listens on a TCP port ([bindAddress]: every interface when null, as on a hotspot; that
         * socket is dual-stack, IPv6 and IPv4, on Android and on a desktop JVM) and
         * advertises it through [discovery] under a fresh random name. If the advertisement cannot
         * start, the port is closed again and the error is thrown.
         */
        @JvmStatic
        @JvmOverloads
        public fun start(
            nearby: Nearby,
            discovery: PeerDiscovery,
            bindAddress: InetAddress? = null,
            timeoutMillis: Int = NEARBY_TIMEOUT_MILLIS,
        ): NearbyListening {
            val server = ServerSocket(0, 1, bindAddress)
            try {
                val name = nearbyAdvertName()
                val advert = discovery.advertise(name, server.localPort)
                return NearbyListening(nearby, server, advert, name, timeoutMillis)
            } catch (e: Throwable) {
                server.close()
                throw e
            }
        }
    }
}
