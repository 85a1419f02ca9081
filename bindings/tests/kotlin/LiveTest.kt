// Live sync through the Kotlin bindings (issue 16, item 2): a device's live session is told that the
// group another device wrote to changed and was synced, the note is readable, and stop() ends the
// session, also from inside the listener. No assertion is about timing: each event is awaited far
// longer than loopback needs. Own JVM, run by `scripts/test.sh kotlin`.

import java.io.File
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import org.sebaya.LiveFailure
import org.sebaya.LiveListener
import org.sebaya.LiveSession
import org.sebaya.SyncControl
import org.sebaya.SyncReport
import org.sebaya.Vault
import org.sebaya.generateMasterKey

private const val PATIENCE_S = 60L

private class Events(private val onSynced: () -> Unit = {}) : LiveListener {
    val synced = LinkedBlockingQueue<Pair<List<String>, UInt>>()
    val failures = LinkedBlockingQueue<LiveFailure>()
    override fun synced(spaceIds: List<String>, report: SyncReport) {
        synced.put(spaceIds to report.pulled)
        onSynced()
    }
    override fun failed(failure: LiveFailure) {
        failures.put(failure)
    }
    fun next(): Pair<List<String>, UInt> =
        synced.poll(PATIENCE_S, TimeUnit.SECONDS) ?: throw AssertionError("no sync reported")
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-live").toFile()
    Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay ->
        val url = relay.url
        fun pair(tag: String): Triple<Vault, Vault, String> {
            val fac = Vault.open(File(tmp, "f$tag.db").path, generateMasterKey())
            val sup = Vault.open(File(tmp, "s$tag.db").path, generateMasterKey())
            val gid = fac.groups().create("Kelompok Kamis", null)
            sup.groups().join(fac.spaces().approveMember(gid, sup.linkRequest(), true, false))
            fac.sync(url)
            sup.sync(url)
            return Triple(fac, sup, gid)
        }

        check("a live session is told of a write elsewhere, syncs it, and stops") {
            val (fac, sup, gid) = pair("1")
            val events = Events()
            val control = SyncControl()
            val session = sup.startLive(url, events, control, 20_000uL)
            assertTrue(session.isRunning(), "running")
            assertEquals(emptyList<String>(), events.next().first, "the first sync is of every space")
            fac.groups().addNote(gid, "Kita mulai dengan check-in.", "Rencana")
            fac.sync(url)
            val (spaces, pulled) = events.next()
            assertEquals(listOf(gid), spaces, "exactly the group")
            assertTrue(pulled > 0u, "something pulled")
            assertEquals(listOf("Kita mulai dengan check-in."), sup.groups().notes(gid).map { it.text }, "readable")
            session.stop()
            assertTrue(!session.isRunning(), "stopped")
            assertTrue(control.isCancelled(), "the control is cancelled")
        }

        check("stop from inside the listener does not deadlock") {
            val (_, sup, _) = pair("2")
            val started = CountDownLatch(1)
            val stoppedInside = CountDownLatch(1)
            val holder = AtomicReference<LiveSession?>(null)
            val events = Events {
                started.await(PATIENCE_S, TimeUnit.SECONDS)
                holder.get()?.stop()
                stoppedInside.countDown()
            }
            val session = sup.startLive(url, events, SyncControl(), 20_000uL)
            holder.set(session)
            started.countDown()
            assertTrue(stoppedInside.await(PATIENCE_S, TimeUnit.SECONDS), "stop returned inside the listener")
            session.stop()
            assertTrue(!session.isRunning(), "stopped")
        }

        check("a relay out of reach is a typed failure; the session goes on until stopped") {
            val v = Vault.open(File(tmp, "alone.db").path, generateMasterKey())
            val events = Events()
            val session = v.startLive("http://127.0.0.1:${closedPort()}", events, SyncControl(), 20_000uL)
            val failure = events.failures.poll(PATIENCE_S, TimeUnit.SECONDS)
            assertTrue(failure is LiveFailure.Network, "a network failure: $failure")
            assertTrue(session.isRunning(), "it goes on")
            session.stop()
            assertTrue(!session.isRunning(), "stopped")
        }
    }
    finish()
}
