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
        phone.close()
        tablet.close()
    } finally {
        pool.shutdownNow()
        tmp.deleteRecursively()
    }
    finish()
}
