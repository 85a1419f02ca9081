// Face-to-face sync over TCP through the Android module's shipped glue (android/src/glue/common:
// NearbyTcp.kt; issue 17 item 9) on a desktop JVM: the advertisement name from the core (the CLI's
// rule), two vaults that find each other through the in-memory discovery (standing in for Android
// NSD, which needs a phone: NsdDiscovery.kt is platform-only and not compiled here) and sync over
// loopback TCP, and the listening handle whose close() ends the advertisement and the listener.
// Own JVM, run by `scripts/test.sh kotlin`.

import java.io.File
import java.io.IOException
import java.net.ConnectException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Socket
import java.nio.file.Files
import java.util.concurrent.Executors
import java.util.concurrent.Future
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.sebaya.PeerReport
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.glue.Advertisement
import org.sebaya.glue.InMemoryDiscovery
import org.sebaya.glue.NearbyListening
import org.sebaya.glue.PeerAddress
import org.sebaya.glue.PeerDiscovery
import org.sebaya.glue.boundedOutput
import org.sebaya.glue.dialPeer
import org.sebaya.isNearbyAdvertName
import org.sebaya.nearbyAdvertName
import org.sebaya.nearbyServiceType

private fun texts(v: Vault): List<String> = v.journal().use { j -> j.list().map { it.text }.sorted() }

private val loopback: InetAddress = InetAddress.getLoopbackAddress()

/** A discovery whose advertise always fails (a phone with Wi-Fi off). */
private class RefusingDiscovery : PeerDiscovery {
    override fun advertise(name: String, port: Int): Advertisement = throw IOException("no network")
    override fun browse(timeoutMillis: Long): List<PeerAddress> = emptyList()
}

private fun refused(port: Int): Boolean =
    try {
        Socket().use { it.connect(InetSocketAddress(loopback, port), 2_000) }
        false
    } catch (e: ConnectException) {
        true
    }

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-nearby-tcp").toFile()
    val pool = Executors.newCachedThreadPool()
    try {
        check("the advertisement name and service type are the CLI's (protocol 25.1)") {
            assertEquals("_sebaya._tcp", nearbyServiceType(), "service type")
            val a = nearbyAdvertName()
            val b = nearbyAdvertName()
            assertTrue(Regex("^[0-9a-f]{16}$").matches(a), "16 lowercase hex characters: $a")
            assertTrue(a != b, "fresh for each opening")
            assertTrue(isNearbyAdvertName(a), "a made name is an advert name")
            assertTrue(!isNearbyAdvertName("Ponsel Sari"), "a device name is not")
        }

        val phone = Vault.open(File(tmp, "phone.db").path, generateMasterKey())
        phone.createPerson()
        phone.journal().use { it.add("Dari ponsel.", 4, emptyList()) }
        val tablet = Vault.open(File(tmp, "tablet.db").path, generateMasterKey())
        tablet.completeLink(phone.approveLink(tablet.linkRequest()))
        tablet.journal().use { it.add("Dari tablet.", 3, emptyList()) }

        check("one device listens and advertises, the other finds it, dials over TCP, and both converge") {
            val discovery = InMemoryDiscovery()
            NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback).use { listening ->
                assertTrue(isNearbyAdvertName(listening.name), "advertised under a fresh random name")
                assertEquals(setOf(listening.name), discovery.advertised(), "advertised while listening")
                val accepted: Future<PeerReport> = pool.submit<PeerReport> { listening.acceptOne() }
                val found = discovery.browse(5_000)
                assertEquals(listOf(PeerAddress(listening.name, "127.0.0.1", listening.port)), found, "browsed")
                val dialled = dialPeer(phone.nearby(), found.single())
                val answered = accepted.get(30, TimeUnit.SECONDS)
                assertEquals(tablet.deviceId(), dialled.remoteDeviceId, "the dialler met the tablet")
                assertEquals(phone.deviceId(), answered.remoteDeviceId, "the listener met the phone")
                assertEquals(dialled.sent, dialled.acked, "all acknowledged")
                assertTrue(dialled.received > 0u && answered.received > 0u, "both ways")
                assertEquals(listOf("Dari ponsel.", "Dari tablet."), texts(phone), "phone")
                assertEquals(texts(phone), texts(tablet), "tablet")
                assertEquals(setOf(listening.name), discovery.advertised(), "still advertised until the person stops")
            }
        }

        check("a change written later arrives on the next meeting; each opening has a new name") {
            phone.journal().use { it.add("Kedua, dari ponsel.", 2, emptyList()) }
            val discovery = InMemoryDiscovery()
            val first = NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback)
            val firstName = first.name
            first.close()
            NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback).use { listening ->
                assertTrue(listening.name != firstName, "a fresh name")
                val accepted = pool.submit<PeerReport> { listening.acceptOne() }
                dialPeer(phone.nearby(), discovery.browse(5_000).single())
                accepted.get(30, TimeUnit.SECONDS)
            }
            assertTrue("Kedua, dari ponsel." in texts(tablet), "arrived: ${texts(tablet)}")
        }

        check("close() ends the advertisement and the listener; nothing outlives the handle") {
            val discovery = InMemoryDiscovery()
            val listening = NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback)
            val port = listening.port
            assertTrue(listening.isOpen, "open")
            val waiting = pool.submit<PeerReport> { listening.acceptOne() }
            Thread.sleep(100)
            listening.close()
            assertTrue(!listening.isOpen, "closed")
            assertEquals(emptySet<String>(), discovery.advertised(), "no advertisement left")
            assertEquals(emptyList<PeerAddress>(), discovery.browse(200), "nothing to find")
            try {
                waiting.get(10, TimeUnit.SECONDS)
                throw AssertionError("a waiting acceptOne ended without an error")
            } catch (e: java.util.concurrent.ExecutionException) {
                assertTrue(e.cause is IOException, "a waiting acceptOne ends with an IOException: ${e.cause}")
            }
            assertTrue(refused(port), "the port no longer accepts")
            assertThrows<IOException>("acceptOne after close") { listening.acceptOne() }
            listening.close() // twice is fine
        }

        check("an advertisement that cannot start leaves no listener; a failure inside use { } withdraws it") {
            assertThrows<IOException>("advertise fails") {
                NearbyListening.start(tablet.nearby(), RefusingDiscovery(), bindAddress = loopback)
            }
            val discovery = InMemoryDiscovery()
            var port = 0
            try {
                NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback).use {
                    port = it.port
                    throw IllegalStateException("the screen went away")
                }
            } catch (e: IllegalStateException) {
                // expected
            }
            assertEquals(emptySet<String>(), discovery.advertised(), "withdrawn")
            assertTrue(port != 0 && refused(port), "listener closed")
        }

        check("serve() goes on after a silent stranger, garbage and a dropped connection; a real peer still syncs") {
            phone.journal().use { it.add("Ketiga, dari ponsel.", 3, emptyList()) }
            val discovery = InMemoryDiscovery()
            // A short session timeout, so the silent stranger is given up on quickly (not so short that the
            // real peer's handshake and sync, on the same handle, risk it on a busy machine).
            val listening = NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback, timeoutMillis = 2_000)
            val synced = LinkedBlockingQueue<PeerReport>()
            val failed = LinkedBlockingQueue<Exception>()
            val served = pool.submit { listening.serve(onSynced = { synced.put(it) }, onFailed = { failed.put(it) }) }
            val address = InetSocketAddress(loopback, listening.port)
            Socket().use { silent ->
                silent.connect(address, 2_000)
                val e = failed.poll(10, TimeUnit.SECONDS)
                assertTrue(e is IOException, "a stranger who says nothing times out, and is reported: $e")
            }
            Socket().use { garbage ->
                garbage.connect(address, 2_000)
                garbage.getOutputStream().apply { write(ByteArray(200) { 0x5a }); flush() }
                assertTrue(failed.poll(10, TimeUnit.SECONDS) != null, "garbage fails its session, and is reported")
            }
            Socket().use { it.connect(address, 2_000) } // connects and drops at once
            assertTrue(failed.poll(10, TimeUnit.SECONDS) != null, "a dropped connection is reported")
            assertTrue(listening.isOpen, "still listening after three failed sessions")
            assertEquals(setOf(listening.name), discovery.advertised(), "still advertised")
            val dialled = dialPeer(phone.nearby(), discovery.browse(5_000).single(), timeoutMillis = 10_000)
            val answered = synced.poll(30, TimeUnit.SECONDS)
            assertTrue(answered != null, "the listener synced with the real peer")
            assertEquals(tablet.deviceId(), dialled.remoteDeviceId, "the dialler met the tablet")
            assertTrue("Ketiga, dari ponsel." in texts(tablet), "arrived: ${texts(tablet)}")
            assertTrue(!served.isDone, "serve() still accepting")
            listening.close()
            served.get(10, TimeUnit.SECONDS) // returns once the handle is closed
            assertEquals(emptySet<String>(), discovery.advertised(), "withdrawn")
        }

        check("serve() that ends closes the handle: the advertisement never outlives the loop") {
            val discovery = InMemoryDiscovery()
            val listening = NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback, timeoutMillis = 2_000)
            val served = pool.submit {
                listening.serve(onSynced = { throw IllegalStateException("the app's callback failed") })
            }
            dialPeer(phone.nearby(), discovery.browse(5_000).single(), timeoutMillis = 10_000)
            try {
                served.get(10, TimeUnit.SECONDS)
                throw AssertionError("serve() swallowed the callback's error")
            } catch (e: java.util.concurrent.ExecutionException) {
                assertTrue(e.cause is IllegalStateException, "the callback's error ends serve(): ${e.cause}")
            }
            assertTrue(!listening.isOpen, "closed when serve() ended")
            assertEquals(emptySet<String>(), discovery.advertised(), "no advertisement left")
        }

        check("a listener on every interface is dual-stack: a peer dials it over IPv6 (::1) and IPv4") {
            val hasV6 = try {
                Socket().use { s ->
                    java.net.ServerSocket(0, 1, InetAddress.getByName("::1")).use { s.connect(it.localSocketAddress, 2_000) }
                }
                true
            } catch (e: IOException) {
                println("SKIP the IPv6 part: no IPv6 loopback here (${e.javaClass.simpleName})")
                false
            }
            val discovery = InMemoryDiscovery()
            // Every interface, as on a phone (bindAddress null); only loopback addresses are dialled.
            NearbyListening.start(tablet.nearby(), discovery).use { listening ->
                val hosts = if (hasV6) listOf("::1", "127.0.0.1") else listOf("127.0.0.1")
                for (host in hosts) {
                    val accepted = pool.submit<PeerReport> { listening.acceptOne() }
                    val dialled = dialPeer(phone.nearby(), PeerAddress("", host, listening.port), timeoutMillis = 10_000)
                    accepted.get(30, TimeUnit.SECONDS)
                    assertEquals(tablet.deviceId(), dialled.remoteDeviceId, "dialled over $host")
                }
            }
        }

        check("a stranger who dials is refused on both sides and learns nothing") {
            val stranger = Vault.open(File(tmp, "stranger.db").path, generateMasterKey())
            stranger.createPerson()
            val discovery = InMemoryDiscovery()
            NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback).use { listening ->
                val accepted = pool.submit<PeerReport> { listening.acceptOne() }
                assertThrows<SebayaException.PeerNotMember>("the stranger is refused") {
                    dialPeer(stranger.nearby(), discovery.browse(5_000).single())
                }
                try {
                    accepted.get(30, TimeUnit.SECONDS)
                    throw AssertionError("the listener synced with a stranger")
                } catch (e: java.util.concurrent.ExecutionException) {
                    assertTrue(e.cause is SebayaException.PeerNotMember, "the listener refuses: ${e.cause}")
                }
            }
            assertEquals(0, stranger.journal().use { it.list().size }, "the stranger has nothing")
            stranger.close()
        }
        check("a write to a device that stopped reading ends within the write timeout (a watchdog closes the socket)") {
            java.net.ServerSocket(0, 1, loopback).use { server ->
                Socket().use { client ->
                    client.sendBufferSize = 4096
                    client.connect(server.localSocketAddress, 2_000)
                    server.accept().use { idle ->
                        // idle never reads
                        val out = boundedOutput(client, 500)
                        val start = System.nanoTime()
                        assertThrows<IOException>("the stalled write ends") {
                            repeat(1_000) { out.write(ByteArray(64 * 1024)) }
                        }
                        val took = (System.nanoTime() - start) / 1_000_000
                        assertTrue(took < 3_000, "the stalled write ended after $took ms")
                        assertTrue(idle.isConnected, "the idle side is still there")
                    }
                }
            }
        }

        check("a stranger trickling a byte within each timeout is cut off at the session deadline; a peer then syncs") {
            val discovery = InMemoryDiscovery()
            val listening = NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback, timeoutMillis = 1_500)
            val synced = LinkedBlockingQueue<PeerReport>()
            val failed = LinkedBlockingQueue<Exception>()
            val served = pool.submit { listening.serve(onSynced = { synced.put(it) }, onFailed = { failed.put(it) }) }
            Socket().use { trickler ->
                trickler.connect(InetSocketAddress(loopback, listening.port), 2_000)
                // A 32-byte first frame (the handshake's length), one byte every 0.3 s.
                val trickling = pool.submit {
                    try {
                        val out = trickler.getOutputStream()
                        for (b in byteArrayOf(0x00, 0x20) + ByteArray(32)) {
                            out.write(b.toInt())
                            out.flush()
                            Thread.sleep(300)
                        }
                    } catch (e: IOException) {
                        // cut off
                    }
                }
                val start = System.nanoTime()
                val e = failed.poll(8, TimeUnit.SECONDS)
                val took = (System.nanoTime() - start) / 1_000_000
                assertTrue(e != null, "the trickler's session is ended")
                assertTrue(took < 5_000, "within the deadline (twice the timeout: 3 s) and a margin: $took ms")
                val dialled = dialPeer(phone.nearby(), discovery.browse(5_000).single(), timeoutMillis = 10_000)
                assertEquals(tablet.deviceId(), dialled.remoteDeviceId, "the dialler met the tablet")
                assertTrue(synced.poll(10, TimeUnit.SECONDS) != null, "the listener synced with the real peer")
                trickling.cancel(true)
            }
            listening.close()
            served.get(10, TimeUnit.SECONDS)
        }

        check("close() ends a session in progress; serve() returns at once and calls nothing after") {
            val discovery = InMemoryDiscovery()
            val listening = NearbyListening.start(tablet.nearby(), discovery, bindAddress = loopback, timeoutMillis = 30_000)
            val calls = java.util.concurrent.atomic.AtomicInteger()
            val served = pool.submit { listening.serve(onSynced = { calls.incrementAndGet() }, onFailed = { calls.incrementAndGet() }) }
            Socket().use { silent ->
                silent.connect(InetSocketAddress(loopback, listening.port), 2_000)
                Thread.sleep(300) // accepted, its session waiting to read
                listening.close()
                served.get(1, TimeUnit.SECONDS)
                Thread.sleep(200)
                assertEquals(0, calls.get(), "no callback after close()")
            }
        }

        check("a locked vault ends serve() (reported as Locked) instead of staying advertised") {
            val v = Vault.open(File(tmp, "locked.db").path, generateMasterKey())
            v.createPerson()
            val discovery = InMemoryDiscovery()
            val listening = NearbyListening.start(v.nearby(), discovery, bindAddress = loopback, timeoutMillis = 5_000)
            val failed = LinkedBlockingQueue<Exception>()
            val served = pool.submit { listening.serve(onSynced = { }, onFailed = { failed.put(it) }) }
            v.lock()
            Socket().use { s ->
                s.connect(InetSocketAddress(loopback, listening.port), 2_000)
                served.get(5, TimeUnit.SECONDS)
            }
            assertEquals(1, failed.size, "reported once")
            assertTrue(failed.peek() is SebayaException.Locked, "reported as Locked: ${failed.peek()}")
            assertTrue(!listening.isOpen, "closed")
            assertEquals(emptySet<String>(), discovery.advertised(), "no advertisement left")
            v.close()
        }

        phone.close()
        tablet.close()
    } finally {
        pool.shutdownNow()
        tmp.deleteRecursively()
    }
    finish()
}
