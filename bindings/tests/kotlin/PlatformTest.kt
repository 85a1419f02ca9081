// Host capabilities through the Kotlin bindings (issue 6): the app's HTTP transport, the app's key
// store, "this space changed" listeners with a Subscription that stops them (AutoCloseable: `use {}`),
// and a panic inside a call that arrives as an exception. Own JVM, run by `scripts/test.sh kotlin`.

import java.io.File
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.sebaya.HttpHeader
import org.sebaya.HttpRequest
import org.sebaya.HttpResponse
import org.sebaya.HttpTransport
import org.sebaya.KeyStore
import org.sebaya.KeyStoreException
import org.sebaya.LinkKind
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SpaceListener
import org.sebaya.SyncControl
import org.sebaya.TransportException
import org.sebaya.Vault
import org.sebaya.clearHttpTransport
import org.sebaya.generateMasterKey
import org.sebaya.setHttpTransport
import org.sebaya.use

private class MemoryStore : KeyStore {
    val items = HashMap<String, ByteArray>()
    var puts = 0
    override fun get(name: String): ByteArray? = items[name]?.copyOf()
    override fun put(name: String, value: ByteArray) {
        puts++
        items[name] = value.copyOf()
    }
    override fun delete(name: String) {
        items.remove(name)
    }
}

private class BrokenStore(private val error: Exception) : KeyStore {
    override fun get(name: String): ByteArray? {
        throw error
    }
    override fun put(name: String, value: ByteArray) {
        throw error
    }
    override fun delete(name: String) {
        throw error
    }
}

private class Recorder : SpaceListener {
    val calls: MutableList<Pair<String, SpaceKind>> = Collections.synchronizedList(ArrayList())
    override fun spaceChanged(spaceId: String, kind: SpaceKind) {
        calls.add(spaceId to kind)
    }
}

private class Recording : HttpTransport {
    val inner = UrlConnectionTransport()
    val requests: MutableList<HttpRequest> = Collections.synchronizedList(ArrayList())
    override fun send(request: HttpRequest): HttpResponse {
        requests.add(request)
        return inner.send(request)
    }
}

private fun journalSpace(v: Vault): String = v.spaceStatus().first { it.kind == SpaceKind.Journal }.spaceId

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-platform").toFile()
    try {
        Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay ->
            httpChecks(tmp, relay)
            syncAfterThrowingListener(tmp, relay)
        }
        keyStoreChecks(tmp)
        listenerChecks(tmp)
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}

private fun httpChecks(tmp: File, relay: Relay) {
    check("sync without a transport throws NoHttpTransport and changes nothing") {
        Vault.open(File(tmp, "none.db").path, generateMasterKey()).use { v ->
            v.journal().use { it.add("sebelum sinkron", 3, emptyList()) }
            clearHttpTransport()
            try {
                val e = assertThrows<SebayaException.NoHttpTransport>("sync") { v.sync(relay.url) }
                assertEquals("error-no-http-transport", e.messageId, "message id")
                assertThrows<SebayaException.NoHttpTransport>("syncOn") { v.syncOn(relay.url, LinkKind.METERED) }
            } finally {
                setHttpTransport(UrlConnectionTransport())
            }
            assertTrue(v.spaceStatus().all { it.waiting }, "nothing was sent")
            assertEquals(1, v.journal().use { it.list() }.size, "entries")
        }
    }

    check("sync goes through the app's transport") {
        val rec = Recording()
        setHttpTransport(rec)
        try {
            Vault.open(File(tmp, "rec.db").path, generateMasterKey()).use { v ->
                v.journal().use { it.add("lewat transport aplikasi", 4, emptyList()) }
                val r = v.sync(relay.url)
                assertTrue(r.pushed >= 1u, "pushed ${r.pushed}")
                assertEquals(r.roundTrips.toInt(), rec.requests.size, "one request per round trip")
                val posts = rec.requests.filter { it.method == "POST" }
                assertTrue(posts.isNotEmpty(), "no POST")
                assertTrue(posts.all { HttpHeader("content-type", "application/cbor") in it.headers }, "content type")
                assertTrue(v.spaceStatus().none { it.waiting }, "still waiting")
            }
        } finally {
            setHttpTransport(UrlConnectionTransport())
        }
    }

    check("a sync after the first is one request: the relay's id and clock are kept") {
        val rec = Recording()
        setHttpTransport(rec)
        try {
            Vault.open(File(tmp, "once.db").path, generateMasterKey()).use { v ->
                v.journal().use { it.add("pertama", 3, emptyList()) }
                v.sync(relay.url)
                assertEquals(listOf("GET", "POST"), rec.requests.map { it.method }, "first sync")
                rec.requests.clear()
                v.journal().use { it.add("kedua", 4, emptyList()) }
                val r = v.sync(relay.url)
                assertEquals(listOf("POST"), rec.requests.map { it.method }, "second sync")
                assertTrue(rec.requests.single().url.endsWith("/v1/sync"), "to /v1/sync")
                assertEquals(1u, r.roundTrips, "round trips")
                assertEquals(1u, r.pushed, "pushed")
            }
        } finally {
            setHttpTransport(UrlConnectionTransport())
        }
    }

    check("a sync stopped after its first request keeps what it took, and the next one finishes") {
        val control = SyncControl()
        var calls = 0
        setHttpTransport(object : HttpTransport {
            val inner = UrlConnectionTransport()
            override fun send(request: HttpRequest): HttpResponse {
                calls++
                val r = inner.send(request)
                control.cancel()
                return r
            }
        })
        try {
            Vault.open(File(tmp, "stop.db").path, generateMasterKey()).use { v ->
                v.journal().use { it.add("berhenti di tengah", 3, emptyList()) }
                val e = assertThrows<SebayaException.Cancelled>("syncUntil") { v.syncUntil(relay.url, control, null) }
                assertEquals("error-sync-cancelled", e.messageId, "message id")
                assertEquals(1, calls, "stopped before the second request")
                assertTrue(control.isCancelled(), "cancelled")
                setHttpTransport(UrlConnectionTransport())
                assertTrue(v.sync(relay.url).pushed >= 1u, "the next sync finishes")
                assertTrue(v.spaceStatus().none { it.waiting }, "nothing left waiting")
            }
        } finally {
            setHttpTransport(UrlConnectionTransport())
        }
    }

    check("a cancel ends the wait before a retry; a sync out of time sends nothing") {
        val control = SyncControl()
        var calls = 0
        setHttpTransport(object : HttpTransport {
            override fun send(request: HttpRequest): HttpResponse {
                calls++
                control.cancel()
                throw TransportException.Unreachable("airplane mode")
            }
        })
        try {
            Vault.open(File(tmp, "stopwait.db").path, generateMasterKey()).use { v ->
                v.journal().use { it.add("menunggu jaringan", 3, emptyList()) }
                val e = assertThrows<SebayaException.Cancelled>("syncUntil") { v.syncUntil(relay.url, control, null) }
                assertEquals("error-sync-cancelled", e.messageId, "message id")
                assertEquals(1, calls, "no retry after the cancel")
                val d = assertThrows<SebayaException.Cancelled>("out of time") {
                    v.syncOnUntil(relay.url, LinkKind.METERED, SyncControl(), 0uL)
                }
                assertEquals("error-sync-deadline", d.messageId, "message id")
                assertEquals(1, calls, "nothing sent out of time")
                setHttpTransport(UrlConnectionTransport())
                assertTrue(v.sync(relay.url).pushed >= 1u, "syncs once the network is back")
            }
        } finally {
            setHttpTransport(UrlConnectionTransport())
        }
    }

    for ((name, error) in listOf(
        "unreachable" to TransportException.Unreachable("airplane mode"),
        "timeout" to TransportException.Timeout("no answer"),
        "tls" to TransportException.Tls("certificate not trusted"),
        "undeclared" to IllegalStateException("a bug in the app's transport"),
    )) {
        check("a transport that throws ($name) is SebayaException.Network and keeps data") {
            var calls = 0
            setHttpTransport(object : HttpTransport {
                override fun send(request: HttpRequest): HttpResponse {
                    calls++
                    throw error
                }
            })
            try {
                Vault.open(File(tmp, "fail-$name.db").path, generateMasterKey()).use { v ->
                    v.journal().use { it.add("tetap di perangkat", 2, emptyList()) }
                    val e = assertThrows<SebayaException.Network>("sync") { v.sync(relay.url) }
                    assertEquals("error-network", e.messageId, "message id")
                    assertEquals(4, calls, "calls: the first try and three retries")
                    assertEquals(1, v.journal().use { it.list() }.size, "entries")
                    setHttpTransport(UrlConnectionTransport())
                    assertTrue(v.sync(relay.url).pushed >= 1u, "syncs once the network is back")
                }
            } finally {
                setHttpTransport(UrlConnectionTransport())
            }
        }
    }

    check("changes pulled from the relay reach a listener") {
        val a = Vault.open(File(tmp, "a.db").path, generateMasterKey())
        val b = Vault.open(File(tmp, "b.db").path, generateMasterKey())
        b.completeLink(a.approveLink(b.linkRequest()))
        a.sync(relay.url)
        b.sync(relay.url)
        val rec = Recorder()
        b.subscribe(rec).use {
            a.journal().use { it.add("dari ponsel A", 4, emptyList()) }
            a.sync(relay.url)
            assertTrue(rec.calls.isEmpty(), "told before pulling: ${rec.calls}")
            assertTrue(b.sync(relay.url).applied >= 1u, "nothing applied")
            assertTrue((journalSpace(b) to SpaceKind.Journal) in rec.calls, "calls ${rec.calls}")
        }
        a.close()
        b.close()
    }
}

private class Throws(private val text: String) : SpaceListener {
    @Volatile var calls = 0
    override fun spaceChanged(spaceId: String, kind: SpaceKind) {
        calls++
        throw IllegalStateException(text)
    }
}

/** Runs [body] on a daemon thread and fails (instead of hanging) when it does not return in time. */
private fun <T> withDeadline(what: String, seconds: Long = 60, body: () -> T): T {
    val done = CountDownLatch(1)
    var value: T? = null
    var error: Throwable? = null
    val t = Thread {
        try {
            value = body()
        } catch (e: Throwable) {
            error = e
        }
        done.countDown()
    }
    t.isDaemon = true
    t.start()
    assertTrue(done.await(seconds, TimeUnit.SECONDS), "deadlocked: $what did not return")
    error?.let { throw it }
    @Suppress("UNCHECKED_CAST")
    return value as T
}

private fun syncAfterThrowingListener(tmp: File, relay: Relay) {
    check("a listener that throws during sync never fails the sync") {
        val a = Vault.open(File(tmp, "ta.db").path, generateMasterKey())
        val b = Vault.open(File(tmp, "tb.db").path, generateMasterKey())
        b.completeLink(a.approveLink(b.linkRequest()))
        a.sync(relay.url)
        b.sync(relay.url)
        val thrower = Throws("listener bug during sync")
        val bad = b.subscribe(thrower)
        val rec = Recorder()
        val keep = b.subscribe(rec)
        a.journal().use { it.add("pertama", 3, emptyList()) }
        a.sync(relay.url)
        assertTrue(b.sync(relay.url).applied >= 1u, "nothing applied")
        assertTrue(thrower.calls >= 1, "the throwing listener was not called")
        assertTrue((journalSpace(b) to SpaceKind.Journal) in rec.calls, "later listener told: ${rec.calls}")
        assertEquals(listOf("pertama"), b.journal().use { j -> j.list().map { it.text } }, "kept")
        a.journal().use { it.add("kedua", 4, emptyList()) }
        a.sync(relay.url)
        b.sync(relay.url)
        assertEquals(listOf("pertama", "kedua"), b.journal().use { j -> j.list().map { it.text } }, "after")
        bad.close()
        keep.close()
        a.close()
        b.close()
    }

    check("a listener may start a sync from its callback without deadlock") {
        val a = Vault.open(File(tmp, "sa.db").path, generateMasterKey())
        val b = Vault.open(File(tmp, "sb.db").path, generateMasterKey())
        b.completeLink(a.approveLink(b.linkRequest()))
        a.sync(relay.url)
        b.sync(relay.url)
        val inner = Collections.synchronizedList(ArrayList<org.sebaya.SyncReport>())
        val started = java.util.concurrent.atomic.AtomicBoolean(false)
        val sub = b.subscribe(object : SpaceListener {
            override fun spaceChanged(spaceId: String, kind: SpaceKind) {
                // Once per check: the listener's own sync may change a space and tell it again, nested.
                if (started.compareAndSet(false, true)) inner.add(b.sync(relay.url))
            }
        })
        a.journal().use { it.add("dari A", 3, emptyList()) }
        a.sync(relay.url)
        val outer = withDeadline("a sync whose listener syncs") { b.sync(relay.url) }
        assertTrue(outer.applied >= 1u, "nothing applied")
        assertEquals(1, inner.size, "the listener's sync")
        inner.clear()
        started.set(false)
        withDeadline("a write whose listener syncs") { b.journal().use { it.add("dari B", 4, emptyList()) } }
        assertTrue(inner.size == 1 && inner[0].pushed >= 1u, "the listener's sync pushed: $inner")
        sub.close()
        a.close()
        b.close()
    }
}

private fun keyStoreChecks(tmp: File) {
    check("the key store makes the key once and reopens with it") {
        val store = MemoryStore()
        val path = File(tmp, "ks.db").path
        val (device, id) = Vault.openWithKeyStore(path, store, "sebaya.master").use { v ->
            v.deviceId() to v.journal().use { it.add("kunci di keystore", 5, emptyList()) }
        }
        val key = store.items["sebaya.master"]!!
        assertEquals(32, key.size, "key size")
        assertEquals(1, store.puts, "puts")
        Vault.openWithKeyStore(path, store, "sebaya.master").use { v ->
            assertEquals(device, v.deviceId(), "device")
            assertEquals("kunci di keystore", v.journal().use { it.get(id) }?.text, "entry")
        }
        assertEquals(1, store.puts, "no second key")
        Vault.open(path, key).use { assertEquals(device, it.deviceId(), "plain open with the stored key") }
    }

    check("a wrong key in the store throws WrongKey and changes nothing") {
        val store = MemoryStore()
        val file = File(tmp, "wrong.db")
        Vault.openWithKeyStore(file.path, store, "k").use { v -> v.journal().use { it.add("rahasia", 1, emptyList()) } }
        val good = store.items["k"]!!
        store.items["k"] = generateMasterKey()
        val before = file.readBytes()
        assertThrows<SebayaException.WrongKey>("wrong key") { Vault.openWithKeyStore(file.path, store, "k") }
        assertTrue(before.contentEquals(file.readBytes()), "vault changed")
        store.items["k"] = good
        Vault.openWithKeyStore(file.path, store, "k").use { v -> assertEquals(1, v.journal().use { it.list() }.size, "entries") }
    }

    check("a missing key for an existing vault throws KeyMissing and makes no key") {
        val store = MemoryStore()
        val file = File(tmp, "missing.db")
        Vault.openWithKeyStore(file.path, store, "k").use { v -> v.journal().use { it.add("x", 3, emptyList()) } }
        store.items.clear()
        val e = assertThrows<SebayaException.KeyMissing>("missing key") { Vault.openWithKeyStore(file.path, store, "k") }
        assertEquals("error-key-missing", e.messageId, "message id")
        assertTrue(store.items.isEmpty(), "a key was made: ${store.items.keys}")
        assertEquals(1, store.puts, "puts")
    }

    check("a key of the wrong length throws KeyStore") {
        val store = MemoryStore()
        store.items["k"] = ByteArray(16) { 1 }
        val file = File(tmp, "short.db")
        val e = assertThrows<SebayaException.KeyStore>("short key") { Vault.openWithKeyStore(file.path, store, "k") }
        assertTrue(e.detail.contains("16 bytes"), e.detail)
        assertTrue(!file.exists(), "a vault was created")
    }

    for ((name, error) in listOf(
        "declared" to KeyStoreException.Unavailable("device locked"),
        "undeclared" to IllegalStateException("a bug in the store"),
    )) {
        check("a failing key store ($name) throws KeyStore") {
            val file = File(tmp, "broken-$name.db")
            val e = assertThrows<SebayaException.KeyStore>("broken store") {
                Vault.openWithKeyStore(file.path, BrokenStore(error), "k")
            }
            assertEquals("error-key-store", e.messageId, "message id")
            assertTrue(!file.exists(), "a vault was created")
        }
    }
}

private fun listenerChecks(tmp: File) {
    check("a local write is announced, a read is not; after stop() nothing is") {
        Vault.open(File(tmp, "l1.db").path, generateMasterKey()).use { v ->
            v.journal().use { it.add("pertama", 3, emptyList()) }
            val rec = Recorder()
            val sub = v.subscribe(rec)
            v.journal().use { it.list() }
            assertTrue(rec.calls.isEmpty(), "a read was announced")
            v.journal().use { it.add("kedua", 4, emptyList()) }
            assertEquals(listOf(journalSpace(v) to SpaceKind.Journal), rec.calls.toList(), "calls")
            val g = v.groups().create("Kelompok Kamis", null)
            assertTrue((g to SpaceKind.Group) in rec.calls, "group not announced")
            sub.stop()
            sub.stop()
            assertTrue(!sub.isActive(), "still active")
            val n = rec.calls.size
            v.journal().use { it.add("ketiga", 3, emptyList()) }
            v.groups().addNote(g, "catatan", "")
            assertEquals(n, rec.calls.size, "called after stop")
            sub.close()
        }
    }

    check("an imported bundle is announced, a refused one is not") {
        val phone = Vault.open(File(tmp, "phone.db").path, generateMasterKey())
        phone.createPerson()
        phone.journal().use { it.add("Dari ponsel.", 4, emptyList()) }
        val tablet = Vault.open(File(tmp, "tablet.db").path, generateMasterKey())
        tablet.completeLink(phone.approveLink(tablet.linkRequest()))
        tablet.journal().use { it.add("Dari tablet.", 3, emptyList()) }
        val bundle = tablet.nearby().exportBundle(emptyList(), null)
        val rec = Recorder()
        phone.subscribe(rec).use {
            assertThrows<SebayaException.BadBundle>("truncated") { phone.nearby().importBundle(bundle.copyOfRange(0, bundle.size - 1)) }
            assertTrue(rec.calls.isEmpty(), "a refused bundle was announced")
            assertTrue(phone.nearby().importBundle(bundle).applied > 0u, "nothing applied")
            assertTrue((journalSpace(phone) to SpaceKind.Journal) in rec.calls, "calls ${rec.calls}")
        }
        phone.close()
        tablet.close()
    }

    check("closing the Subscription (use {}) stops it") {
        Vault.open(File(tmp, "l2.db").path, generateMasterKey()).use { v ->
            val rec = Recorder()
            v.subscribe(rec).use { v.journal().use { it.add("a", 3, emptyList()) } }
            v.journal().use { it.add("b", 3, emptyList()) }
            assertEquals(1, rec.calls.size, "calls")
        }
    }

    check("a listener may call back into the vault without deadlock") {
        Vault.open(File(tmp, "l3.db").path, generateMasterKey()).use { v ->
            val seen = Collections.synchronizedList(ArrayList<List<String>>())
            val sub = v.subscribe(object : SpaceListener {
                override fun spaceChanged(spaceId: String, kind: SpaceKind) {
                    seen.add(v.journal().use { j -> j.list().map { it.text } })
                    if (seen.size == 1) v.journal().use { it.add("ditulis oleh listener", 3, emptyList()) }
                }
            })
            val done = CountDownLatch(1)
            val worker = Thread {
                v.journal().use { it.add("satu", 3, emptyList()) }
                done.countDown()
            }
            worker.isDaemon = true
            worker.start()
            assertTrue(done.await(30, TimeUnit.SECONDS), "deadlocked")
            assertEquals(listOf(listOf("satu"), listOf("satu", "ditulis oleh listener")), seen.toList(), "seen")
            sub.close()
        }
    }

    check("a listener that throws never fails the write; listeners after it are still told") {
        Vault.open(File(tmp, "l4.db").path, generateMasterKey()).use { v ->
            val before = Recorder()
            val first = v.subscribe(before)
            val thrower = Throws("listener bug")
            val bad = v.subscribe(thrower)
            val after = Recorder()
            val last = v.subscribe(after)
            v.journal().use { it.add("tetap tersimpan", 3, emptyList()) }
            assertEquals(1, thrower.calls, "throwing listener called")
            assertEquals(1, before.calls.size, "earlier listener told")
            assertEquals(1, after.calls.size, "later listener told")
            v.journal().use { it.add("sesudahnya", 4, emptyList()) }
            assertEquals(listOf("tetap tersimpan", "sesudahnya"), v.journal().use { j -> j.list().map { it.text } }, "entries")
            assertEquals(2, after.calls.size, "calls")
            first.close()
            bad.close()
            last.close()
        }
    }
}
