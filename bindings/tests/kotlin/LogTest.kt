// The opt-in log sink through the Kotlin bindings (issue 17, item 4): lines of a write and a sync
// arrive at the level asked for, hold none of the demo's marker strings, no id and no hex run; a sink
// that throws breaks nothing; a cleared sink gets nothing. Own JVM, run by `scripts/test.sh kotlin`.

import java.io.File
import java.nio.file.Files
import java.util.Collections
import org.sebaya.LogLevel
import org.sebaya.LogSink
import org.sebaya.SpaceKind
import org.sebaya.SpaceListener
import org.sebaya.Vault
import org.sebaya.clearLogSink
import org.sebaya.generateMasterKey
import org.sebaya.setLogSink

private val MARKERS = listOf("MARKER-kesepian-malam-ini-7f3a", "MARKER-talked-with-my-sister-91c2", "MARKER-group-name-4b1c")

private class Collect : LogSink {
    val lines: MutableList<Triple<LogLevel, String, String>> = Collections.synchronizedList(ArrayList())
    override fun log(level: LogLevel, target: String, message: String) {
        lines.add(Triple(level, target, message))
    }
    fun text(): String = synchronized(lines) { lines.joinToString("\n") { "${it.first} ${it.second} ${it.third}" } }
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-log").toFile()
    try {
        Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay -> logChecks(tmp, relay) }
    } finally {
        clearLogSink()
        tmp.deleteRecursively()
    }
    finish()
}

private fun logChecks(tmp: File, relay: Relay) {
    check("a write and a sync log at trace level, with no content, id or secret") {
        val sink = Collect()
        setLogSink(sink, LogLevel.TRACE)
        val a = Vault.open(File(tmp, "a.db").path, generateMasterKey())
        val phrase = a.createPerson()
        val b = Vault.open(File(tmp, "b.db").path, generateMasterKey())
        b.completeLink(a.approveLink(b.linkRequest()))
        val bad = b.subscribe(object : SpaceListener {
            override fun spaceChanged(spaceId: String, kind: SpaceKind) {
                throw IllegalStateException(MARKERS[0])
            }
        })
        a.journal().use { j -> MARKERS.take(2).forEach { j.add(it, 3, emptyList()) } }
        val gid = a.groups().create(MARKERS[2], null)
        a.sync(relay.url)
        assertTrue(b.sync(relay.url).applied >= 2u, "nothing applied")
        bad.close()
        clearLogSink()
        val text = sink.text()
        val levels = sink.lines.map { it.first }.toSet()
        assertTrue(LogLevel.DEBUG in levels && LogLevel.INFO in levels && LogLevel.WARN in levels, "levels $levels")
        assertTrue("sync finished" in text, "no end of sync in: $text")
        assertTrue(sink.lines.all { it.second.startsWith("sebaya::") }, "a foreign target")
        val ids = listOf(a.deviceId(), b.deviceId(), a.personId()!!, gid) + a.spaceStatus().map { it.spaceId }
        for (s in MARKERS + ids + listOf(phrase)) assertTrue(!text.contains(s, ignoreCase = true), "the log holds $s")
        assertTrue(Regex("[0-9a-fA-F]{16,}").find(text) == null, "a hex run in: $text")
        a.close()
        b.close()
    }

    check("a sink that throws breaks nothing; a cleared sink gets nothing; the level filters") {
        var calls = 0
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                calls++
                throw IllegalStateException("sink bug")
            }
        }, LogLevel.TRACE)
        val v = Vault.open(File(tmp, "c.db").path, generateMasterKey())
        v.journal().use { it.add("tetap", 3, emptyList()) }
        assertTrue(v.sync(relay.url).pushed >= 1u, "the sync pushed")
        assertTrue(calls > 0, "the sink was never called")
        val info = Collect()
        setLogSink(info, LogLevel.INFO)
        v.journal().use { it.add("dua", 3, emptyList()) }
        v.sync(relay.url)
        assertTrue(info.lines.isNotEmpty() && info.lines.none { it.first == LogLevel.DEBUG || it.first == LogLevel.TRACE }, "levels ${info.lines}")
        clearLogSink()
        val n = info.lines.size
        v.journal().use { it.add("tiga", 3, emptyList()) }
        v.sync(relay.url)
        assertEquals(n, info.lines.size, "lines after clearLogSink")
        v.close()
    }
}
