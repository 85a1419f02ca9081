// Chunked, resumable relay sync through the Kotlin bindings (issue 5): the metered chunk size on the
// sync policy and the report's retry counters. Run by `scripts/test.sh kotlin` as its own JVM
// (class ResumableTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.LinkKind
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SyncPolicy
import org.sebaya.SyncScope
import org.sebaya.Vault
import org.sebaya.generateMasterKey

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-resumable").toFile()
    try {
        val phone = Vault.open(File(tmp, "phone.db").path, generateMasterKey())
        val tablet = Vault.open(File(tmp, "tablet.db").path, generateMasterKey())
        tablet.completeLink(phone.approveLink(tablet.linkRequest()))
        check("a policy without a chunk size keeps the default; one with it keeps it") {
            tablet.setSyncPolicy(SyncPolicy(false, 0uL))
            assertEquals(0uL, tablet.syncPolicy().meteredChunkBytes, "default")
            tablet.setSyncPolicy(SyncPolicy(false, 0uL, 4096uL))
            assertEquals(4096uL, tablet.syncPolicy().meteredChunkBytes, "set")
        }
        check("a metered link pulls in the policy's chunks") {
            Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay ->
                // Twelve entries of 4000 characters that do not compress much, one envelope each.
                val rnd = java.util.Random(7)
                for (i in 0 until 12) {
                    val text = (0 until 2000).joinToString("") { "%02x".format(rnd.nextInt(256)) }
                    phone.journal().use { it.add("Catatan $i: $text", 3, emptyList()) }
                    phone.sync(relay.url)
                }
                val r = tablet.syncOn(relay.url, LinkKind.METERED)
                assertEquals(SyncScope.ALL, r.scope, "scope")
                assertTrue(r.report.roundTrips >= 4u, "round trips ${r.report.roundTrips}")
                assertEquals(0u, r.report.retries, "retries")
                assertEquals(0u, r.report.resent, "resent")
                assertEquals(12, tablet.journal().use { it.list().size }, "entries")
            }
        }
        check("a dead link gives up after the retries and keeps the data") {
            val port = closedPort()
            phone.journal().use { it.add("Belum terkirim.", 3, emptyList()) }
            assertThrows<SebayaException.Network>("network") { phone.syncOn("http://127.0.0.1:$port", LinkKind.METERED) }
            assertTrue(phone.spaceStatus().single { it.kind == SpaceKind.Journal }.waiting, "still waiting")
            assertEquals(13, phone.journal().use { it.list().size }, "entries kept")
        }
        phone.close()
        tablet.close()
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}
