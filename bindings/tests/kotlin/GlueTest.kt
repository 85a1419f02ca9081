// The Android module's shipped glue (android/src/glue/common, issue 17 item 1) on a desktop JVM: the
// HttpURLConnection transport against a real relay and small loopback servers, the wrapped key store
// with a software AES key standing in for the Android Keystore key (the Keystore itself is absent
// here: AndroidKeystoreKeyStore.kt is platform-only and not compiled), and the lifecycle helper's
// locking rules. Own JVM, run by `scripts/test.sh kotlin`.

import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Proxy
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.sebaya.HttpHeader
import org.sebaya.HttpRequest
import org.sebaya.KeyStoreException
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.TransportException
import org.sebaya.Vault
import org.sebaya.glue.FileBlobStore
import org.sebaya.glue.HttpUrlConnectionTransport
import org.sebaya.glue.VaultLifecycle
import org.sebaya.glue.WrappedKeyStore
import org.sebaya.setHttpTransport

private fun aesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

private val direct = HttpUrlConnectionTransport(connectTimeoutMs = 5_000, readTimeoutMs = 5_000, proxy = Proxy.NO_PROXY)

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-glue").toFile()
    try {
        Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay -> transportChecks(tmp, relay) }
        statusChecks()
        keyStoreChecks(tmp)
        lifecycleChecks(tmp)
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}

private fun transportChecks(tmp: File, relay: Relay) {
    check("the shipped HttpURLConnection transport syncs with a real relay") {
        setHttpTransport(direct)
        Vault.open(File(tmp, "sync.db").path, org.sebaya.generateMasterKey()).use { v ->
            v.journal().use { it.add("lewat transport bawaan", 4, emptyList()) }
            val r = v.sync(relay.url)
            assertTrue(r.pushed >= 1u, "pushed ${r.pushed}")
            assertTrue(v.spaceStatus().none { it.waiting }, "something still waits to be sent")
        }
    }

    check("the relay's 401 for an unsigned POST comes back as an answer with its body") {
        val r = direct.send(HttpRequest("POST", "${relay.url}/v1/sync", listOf(HttpHeader("content-type", "application/cbor")), byteArrayOf(1, 2, 3)))
        assertEquals(401, r.status.toInt(), "status")
        // The core reads the relay's error bodies (its reason code): a 401 must not lose it.
        assertTrue(String(r.body, Charsets.UTF_8).contains("\"unsigned\""), "the 401 body was dropped: ${r.body.size} bytes")
    }

    check("a refused connection is TransportException.Unreachable") {
        val port = closedPort()
        assertThrows<TransportException.Unreachable>("closed port") {
            direct.send(HttpRequest("GET", "http://127.0.0.1:$port/v1/info", emptyList(), ByteArray(0)))
        }
    }

    check("a URL that is not http(s) is a transport failure, not a crash") {
        assertThrows<TransportException.Failed>("file URL") {
            direct.send(HttpRequest("GET", "file:///etc/hostname", emptyList(), ByteArray(0)))
        }
        assertThrows<TransportException.Failed>("not a URL") {
            direct.send(HttpRequest("GET", "::nope::", emptyList(), ByteArray(0)))
        }
    }

    check("a server that accepts and never answers is TransportException.Timeout") {
        ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { silent ->
            val quick = HttpUrlConnectionTransport(connectTimeoutMs = 2_000, readTimeoutMs = 300, proxy = Proxy.NO_PROXY)
            assertThrows<TransportException.Timeout>("silent server") {
                quick.send(HttpRequest("GET", "http://127.0.0.1:${silent.localPort}/", emptyList(), ByteArray(0)))
            }
        }
    }
}

/** A loopback server answering every request with [status] and [body], to see what the transport returns. */
private fun <T> answering(status: Int, body: ByteArray, extra: Map<String, String> = emptyMap(), run: (String) -> T): T {
    val server = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0)
    server.createContext("/") { ex ->
        ex.requestBody.readBytes()
        for ((k, v) in extra) ex.responseHeaders.add(k, v)
        ex.sendResponseHeaders(status, if (body.isEmpty()) -1 else body.size.toLong())
        if (body.isNotEmpty()) ex.responseBody.use { it.write(body) } else ex.close()
    }
    server.start()
    try {
        return run("http://127.0.0.1:${server.address.port}")
    } finally {
        server.stop(0)
    }
}

private fun statusChecks() {
    for (status in listOf(400, 401, 403, 404, 407, 409, 413, 429, 500, 503)) {
        check("status $status comes back as an answer with its body") {
            val body = "jawaban $status".toByteArray()
            answering(status, body) { base ->
                val r = direct.send(HttpRequest("POST", "$base/v1/sync", emptyList(), byteArrayOf(9)))
                assertEquals(status, r.status.toInt(), "status")
                assertTrue(r.body.contentEquals(body), "body")
            }
        }
    }
    check("a redirect is an answer, not followed") {
        answering(307, ByteArray(0), mapOf("Location" to "http://127.0.0.1:9/elsewhere")) { base ->
            val r = direct.send(HttpRequest("GET", "$base/v1/info", emptyList(), ByteArray(0)))
            assertEquals(307, r.status.toInt(), "status")
        }
    }
    check("an answer over the size bound is a transport failure") {
        val small = HttpUrlConnectionTransport(proxy = Proxy.NO_PROXY, maxBodyBytes = 1024)
        answering(200, ByteArray(4096) { 7 }) { base ->
            assertThrows<TransportException.Failed>("too large") {
                small.send(HttpRequest("GET", "$base/", emptyList(), ByteArray(0)))
            }
        }
    }
}

private fun keyStoreChecks(tmp: File) {
    check("the wrapped key store round-trips the vault's master key (JVM AES key standing in for the Keystore)") {
        val key = aesKey()
        val dir = File(tmp, "keys-a")
        val path = File(tmp, "wrapped.db").path
        val id = Vault.openWithKeyStore(path, WrappedKeyStore({ key }, FileBlobStore(dir)), "vault").use { v ->
            v.journal().use { it.add("kunci terbungkus", 3, emptyList()) }
        }
        // A fresh store object over the same folder and key: the vault opens and keeps its entry.
        Vault.openWithKeyStore(path, WrappedKeyStore({ key }, FileBlobStore(dir)), "vault").use { v ->
            assertEquals("kunci terbungkus", v.journal().use { it.get(id) }?.text, "entry after reopen")
        }
        val blobs = dir.listFiles().orEmpty().filter { it.isFile }
        assertEquals(1, blobs.size, "one blob file")
        val stored = WrappedKeyStore({ key }, FileBlobStore(dir)).get("vault")
        assertEquals(32, stored?.size, "the master key is 32 bytes")
        val raw = blobs[0].readBytes()
        assertTrue(raw.asList().windowed(32).none { it.toByteArray().contentEquals(stored!!) }, "the key is in the blob in clear")
    }

    check("put, get and delete behave as the core's KeyStore contract says") {
        val key = aesKey()
        val s = WrappedKeyStore({ key }, FileBlobStore(File(tmp, "keys-b")))
        assertEquals(null, s.get("nothing"), "absent name")
        s.put("a/../b", byteArrayOf(1, 2, 3))
        assertTrue(s.get("a/../b")!!.contentEquals(byteArrayOf(1, 2, 3)), "value back")
        s.put("a/../b", byteArrayOf(4))
        assertTrue(s.get("a/../b")!!.contentEquals(byteArrayOf(4)), "replaced")
        s.delete("a/../b")
        assertEquals(null, s.get("a/../b"), "deleted")
        s.delete("a/../b") // deleting nothing is not an error
        assertTrue(File(tmp, "keys-b").listFiles().orEmpty().all { it.parentFile == File(tmp, "keys-b") }, "stays in its folder")
    }

    check("a changed blob is refused with KeyStoreException, and open reports KeyStore without touching the vault") {
        val key = aesKey()
        val dir = File(tmp, "keys-c")
        val path = File(tmp, "tampered.db").path
        Vault.openWithKeyStore(path, WrappedKeyStore({ key }, FileBlobStore(dir)), "vault").use { v ->
            v.journal().use { it.add("jangan hilang", 2, emptyList()) }
        }
        val blob = dir.listFiles()!!.single { it.isFile }
        val good = blob.readBytes()
        val bad = good.copyOf().also { it[it.size - 5] = (it[it.size - 5].toInt() xor 1).toByte() }
        blob.writeBytes(bad)
        val dbBefore = File(path).readBytes()
        assertThrows<KeyStoreException.Unavailable>("get of a changed blob") {
            WrappedKeyStore({ key }, FileBlobStore(dir)).get("vault")
        }
        assertThrows<SebayaException.KeyStore>("open with a changed blob") {
            Vault.openWithKeyStore(path, WrappedKeyStore({ key }, FileBlobStore(dir)), "vault")
        }
        assertTrue(blob.readBytes().contentEquals(bad), "the store was rewritten")
        assertTrue(File(path).readBytes().contentEquals(dbBefore), "the vault changed")
        blob.writeBytes(good.copyOf(good.size - 3))
        assertThrows<KeyStoreException.Unavailable>("truncated blob") { WrappedKeyStore({ key }, FileBlobStore(dir)).get("vault") }
        blob.writeBytes(good)
        assertThrows<KeyStoreException.Unavailable>("another wrapping key") { WrappedKeyStore({ aesKey() }, FileBlobStore(dir)).get("vault") }
        assertEquals(32, WrappedKeyStore({ key }, FileBlobStore(dir)).get("vault")?.size, "the restored blob opens again")
    }

    check("a blob moved to another name is refused (the name is authenticated)") {
        val key = aesKey()
        val s = WrappedKeyStore({ key }, FileBlobStore(File(tmp, "keys-d")))
        val blob = WrappedKeyStore.wrap(key, "vault-a", ByteArray(32) { it.toByte() })
        assertTrue(WrappedKeyStore.unwrap(key, "vault-a", blob).contentEquals(ByteArray(32) { it.toByte() }), "same name")
        FileBlobStore(File(tmp, "keys-d")).write("vault-b", blob)
        assertThrows<KeyStoreException.Unavailable>("moved blob") { s.get("vault-b") }
    }

    check("a wrapping key that cannot be had is KeyStoreException.Unavailable, not a crash") {
        val s = WrappedKeyStore({ throw java.security.KeyStoreException("keystore locked") }, FileBlobStore(File(tmp, "keys-e")))
        assertThrows<KeyStoreException.Unavailable>("put") { s.put("vault", ByteArray(32)) }
        assertThrows<SebayaException.KeyStore>("open") { Vault.openWithKeyStore(File(tmp, "nokey.db").path, s, "vault") }
    }
}

private fun lifecycleChecks(tmp: File) {
    fun opener(path: String, key: SecretKey, counter: IntArray): () -> Vault = {
        counter[0]++
        Vault.openWithKeyStore(path, WrappedKeyStore({ key }, FileBlobStore(File("$path.keys"))), "vault")
    }

    check("locking on background: the vault is locked when the app leaves, and a background sync reopens it") {
        val key = aesKey()
        val opens = IntArray(1)
        val life = VaultLifecycle(lockInBackground = true, open = opener(File(tmp, "life.db").path, key, opens))
        life.onForeground()
        val id = life.use { v -> v.journal().use { it.add("hidup", 3, emptyList()) } }
        assertTrue(life.isOpen, "open in the foreground")
        val held = life.use { it } // a reference kept past use{} sees the lock
        life.onBackground()
        assertTrue(!life.isOpen, "still open in the background")
        assertThrows<SebayaException.Locked>("old reference after lock") { held.deviceId() }
        // What a WorkManager worker does: use{} opens from the key store, and it is locked again after.
        val text = life.use { v -> v.journal().use { it.get(id) }?.text }
        assertEquals("hidup", text, "read in the background")
        assertTrue(!life.isOpen, "left open after background work")
        assertEquals(2, opens[0], "opens")
    }

    check("going to the background during a use locks when that use ends, not in its middle") {
        val key = aesKey()
        val life = VaultLifecycle(lockInBackground = true, open = opener(File(tmp, "life2.db").path, key, IntArray(1)))
        life.onForeground()
        val inside = CountDownLatch(1)
        val goOn = CountDownLatch(1)
        var wrote = false
        val worker = Thread {
            life.use { v ->
                inside.countDown()
                goOn.await(10, TimeUnit.SECONDS)
                v.journal().use { it.add("di tengah", 3, emptyList()) }
                wrote = true
            }
        }
        worker.start()
        assertTrue(inside.await(10, TimeUnit.SECONDS), "the worker did not start")
        life.onBackground()
        assertTrue(life.isOpen, "locked in the middle of a use")
        goOn.countDown()
        worker.join(10_000)
        assertTrue(wrote, "the write in the middle did not happen")
        assertTrue(!life.isOpen, "not locked after the use ended")
    }

    check("without lockInBackground the vault stays open in the background; lock() locks it on demand") {
        val key = aesKey()
        val life = VaultLifecycle(lockInBackground = false, open = opener(File(tmp, "life3.db").path, key, IntArray(1)))
        life.use { v -> v.spaceStatus().any { it.kind == SpaceKind.Journal } }
        life.onBackground()
        assertTrue(life.isOpen, "locked although not asked to")
        life.lock()
        assertTrue(!life.isOpen, "lock() did not lock")
        life.use { } // reopens
        assertTrue(life.isOpen, "not reopened")
    }

    check("a slow open does not hold the lifecycle's lock: onBackground, lock and isOpen return; two users open once") {
        val key = aesKey()
        val opens = IntArray(1)
        val real = opener(File(tmp, "life4.db").path, key, opens)
        val started = CountDownLatch(1)
        val goOn = CountDownLatch(1)
        val life = VaultLifecycle(lockInBackground = true) {
            started.countDown()
            goOn.await(10, TimeUnit.SECONDS) // the Keystore or a disk taking its time
            real()
        }
        life.onForeground()
        val first = Thread { life.use { v -> v.deviceId() } }
        first.start()
        assertTrue(started.await(10, TimeUnit.SECONDS), "the open did not start")
        val second = Thread { life.use { v -> v.deviceId() } }
        second.start()
        // Only once the second user waits for the first one's open (its only wait) is the open let go.
        assertTrue(waitUntilWaiting(second), "the second user never waited for the open")
        // While the open waits, the main thread's calls must not wait for it.
        val calls = Thread {
            life.isOpen
            life.onBackground()
            life.lock()
            life.onForeground()
        }
        calls.start()
        calls.join(2_000)
        val returned = !calls.isAlive
        goOn.countDown()
        first.join(10_000)
        second.join(10_000)
        calls.join(10_000)
        assertTrue(returned, "isOpen/onBackground/lock waited for a slow open")
        assertEquals(1, opens[0], "two users at once open the vault once")
        assertTrue(!life.isOpen, "lock() during the open locks once the uses end")
    }

    check("an opener may ask the lifecycle for its state without deadlock") {
        val key = aesKey()
        val real = opener(File(tmp, "life5.db").path, key, IntArray(1))
        lateinit var life: VaultLifecycle
        life = VaultLifecycle(lockInBackground = false) {
            if (life.isOpen) throw IllegalStateException("open during the open")
            real()
        }
        val t = Thread { life.use { v -> v.deviceId() } }
        t.start()
        t.join(5_000)
        assertTrue(!t.isAlive, "the opener's call deadlocked")
        assertTrue(life.isOpen, "opened")
    }

    check("a user interrupted while waiting for another's open still locks when it is the last one (background)") {
        val key = aesKey()
        val real = opener(File(tmp, "life6.db").path, key, IntArray(1))
        var leftOpen = 0
        val rounds = 150
        repeat(rounds) {
            val started = CountDownLatch(1)
            val goOn = CountDownLatch(1)
            val life = VaultLifecycle(lockInBackground = true) {
                started.countDown()
                goOn.await(10, TimeUnit.SECONDS)
                real()
            }
            val a = Thread { life.use { } }
            a.start()
            assertTrue(started.await(10, TimeUnit.SECONDS), "the open did not start")
            val b = Thread {
                try {
                    life.use { }
                } catch (e: InterruptedException) {
                    // expected
                }
            }
            b.start()
            assertTrue(waitUntilWaiting(b), "the second user never waited for the open")
            // Holding the lifecycle's monitor, interrupt the waiter and let the open finish, so both
            // the waiter (to handle its interrupt) and the opener (to publish the vault) queue for it;
            // whichever the JVM lets in first, the vault must end locked.
            synchronized(monitorOf(life)) {
                b.interrupt()
                assertTrue(waitUntil(b, Thread.State.BLOCKED), "the interrupted waiter never queued")
                goOn.countDown()
                assertTrue(waitUntil(a, Thread.State.BLOCKED), "the opener never queued")
            }
            a.join(10_000)
            b.join(10_000)
            if (life.isOpen) leftOpen++
            life.lock()
        }
        assertEquals(0, leftOpen, "rounds (of $rounds) that left the vault open in the background")
    }

    check("an opener that fails reaches the caller and leaves nothing open") {
        val life = VaultLifecycle(lockInBackground = true) { throw IllegalStateException("no key store") }
        assertThrows<IllegalStateException>("failing open") { life.use { } }
        assertTrue(!life.isOpen, "open after a failed open")
    }
}

/** Waits (at most 10 s) until [t] waits on a monitor without a timeout (the lifecycle's only wait). */
private fun waitUntilWaiting(t: Thread): Boolean = waitUntil(t, Thread.State.WAITING)

/** Waits (at most 10 s) until [t] is in [state]. */
private fun waitUntil(t: Thread, state: Thread.State): Boolean {
    val end = System.nanoTime() + 10_000_000_000L
    while (t.state != state) {
        if (System.nanoTime() > end) return false
        Thread.sleep(1)
    }
    return true
}

/** The lifecycle's private monitor (a test reaching in, to order two threads that queue for it). */
private fun monitorOf(life: VaultLifecycle): Any =
    VaultLifecycle::class.java.getDeclaredField("mutex").apply { isAccessible = true }.get(life)
