// Snapshots through the Kotlin bindings (protocol section 26): the policy is kept and checked, and a
// device linked after a snapshot syncs the snapshot plus the tail through a real relay and reads the
// same journal. Run by `scripts/test.sh kotlin` as its own JVM (class SnapshotTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.LinkKind
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-snapshot").toFile()
    try {
        Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay ->
            val phone = Vault.open(File(tmp, "phone.db").path, generateMasterKey())
            phone.createPerson()
            check("the snapshot policy is kept and checked") {
                assertEquals(1000u, phone.snapshotEvery(), "default")
                assertThrows<SebayaException.InvalidInput>("too few changes") { phone.setSnapshotEvery(3u) }
                phone.setSnapshotEvery(0u)
                assertEquals(0u, phone.snapshotEvery(), "off")
            }
            check("a new device syncs the snapshot and the tail") {
                for (i in 0 until 30) {
                    phone.journal().use { it.add("Catatan $i.", 3, emptyList()) }
                    phone.sync(relay.url)
                }
                val size = phone.snapshotNow(null)
                assertTrue(size != null && size > 0uL, "snapshot sealed ($size bytes)")
                phone.sync(relay.url)
                phone.journal().use { it.add("Sesudah snapshot.", 4, emptyList()) }
                phone.sync(relay.url)
                val tablet = Vault.open(File(tmp, "tablet.db").path, generateMasterKey())
                tablet.completeLink(phone.approveLink(tablet.linkRequest()))
                val r = tablet.sync(relay.url)
                assertTrue(r.pulled <= 4u, "snapshot and tail only (pulled ${r.pulled})")
                assertEquals(0u, r.quarantined, "nothing quarantined")
                val mine = tablet.journal().use { j -> j.list().map { it.text }.sorted() }
                val theirs = phone.journal().use { j -> j.list().map { it.text }.sorted() }
                assertEquals(theirs, mine, "same journal")
                assertEquals(31, mine.size, "entries")
                tablet.close()
            }
            check("a snapshot due waits for an unmetered link") {
                val p = Vault.open(File(tmp, "p2.db").path, generateMasterKey())
                p.createPerson()
                p.setSnapshotEvery(16u)
                var pushed = 0u
                for (round in 0 until 5) {
                    for (i in 0 until 4) p.journal().use { it.add("Catatan $round.$i", 3, emptyList()) }
                    pushed += p.syncOn(relay.url, LinkKind.METERED).report.pushed
                }
                assertTrue(pushed >= 5u, "the changes went ($pushed)")
                assertEquals(0u, p.syncOn(relay.url, LinkKind.METERED).report.pushed, "no snapshot on mobile data")
                assertEquals(1u, p.syncOn(relay.url, LinkKind.UNMETERED).report.pushed, "the snapshot on Wi-Fi")
                assertEquals(0u, p.syncOn(relay.url, LinkKind.UNMETERED).report.pushed, "only once")
                p.close()
            }
            phone.close()
        }
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}
