// Sync by file through the Kotlin bindings, with no relay: bundles between two devices of one person,
// and typed errors for damaged, replayed and strangers' bundles. Run by `scripts/test.sh kotlin` as its
// own JVM (class BundleTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.LinkKind
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SyncPath
import org.sebaya.SyncPolicy
import org.sebaya.SyncScope
import org.sebaya.Vault
import org.sebaya.generateMasterKey

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-bundle").toFile()
    try {
        val phone = Vault.open(File(tmp, "phone.db").path, generateMasterKey())
        phone.createPerson()
        phone.journal().use { it.add("Dari ponsel.", 4, emptyList()) }
        val tablet = Vault.open(File(tmp, "tablet.db").path, generateMasterKey())
        tablet.completeLink(phone.approveLink(tablet.linkRequest()))
        tablet.journal().use { it.add("Dari tablet.", 3, emptyList()) }
        val bundle = tablet.nearby().exportBundle(emptyList(), null)

        check("a damaged bundle is refused whole") {
            assertThrows<SebayaException.BadBundle>("half a file") { phone.nearby().importBundle(bundle.copyOfRange(0, bundle.size / 2)) }
            assertEquals(1, phone.journal().use { it.list().size }, "nothing kept")
        }
        check("a bundle brings the tablet's entry; a replay is refused") {
            val r = phone.nearby().importBundle(bundle)
            assertEquals(tablet.deviceId(), r.exporter, "exporter")
            assertEquals(2, phone.journal().use { it.list().size }, "entries")
            assertThrows<SebayaException.BundleReplayed>("replay") { phone.nearby().importBundle(bundle) }
        }
        check("a stranger's bundle is refused") {
            val stranger = Vault.open(File(tmp, "s.db").path, generateMasterKey())
            stranger.createPerson()
            stranger.journal().use { it.add("Orang lain.", 2, emptyList()) }
            assertThrows<SebayaException.StrangerBundle>("stranger") { phone.nearby().importBundle(stranger.nearby().exportBundle(emptyList(), null)) }
            stranger.close()
        }
        check("a bundle for a known peer carries only what it lacks") {
            phone.journal().use { it.add("Balasan.", 5, emptyList()) }
            val delta = phone.nearby().exportBundle(emptyList(), tablet.deviceId())
            assertTrue(delta.size < phone.nearby().exportBundle(emptyList(), null).size, "delta is smaller")
            tablet.nearby().importBundle(delta)
            assertEquals(3, tablet.journal().use { it.list().size }, "tablet entries")
        }
        check("a device opted in to carrying takes others' sealed envelopes and reads nothing") {
            val carrier = Vault.open(File(tmp, "carrier.db").path, generateMasterKey())
            carrier.createPerson()
            assertThrows<SebayaException.StrangerBundle>("not opted in") { carrier.nearby().importBundle(phone.nearby().exportBundle(emptyList(), null)) }
            carrier.nearby().setCarryQuota(1uL shl 20)
            val r = carrier.nearby().importBundle(phone.nearby().exportBundle(emptyList(), null))
            assertTrue(r.carried > 0u, "carried ${r.carried}")
            assertEquals(r.carried, carrier.nearby().carryStatus().envelopes, "status")
            assertEquals(0, carrier.journal().use { it.list().size }, "reads nothing")
            carrier.close()
        }
        check("on a metered link with Wi-Fi only, the journal waits; on Wi-Fi it goes") {
            Relay(File(tmp, "relay-data"), File(tmp, "relay.log")).use { relay ->
                phone.setSyncPolicy(SyncPolicy(true, 0uL))
                val metered = phone.syncOn(relay.url, LinkKind.METERED)
                assertEquals(SyncScope.URGENT_ONLY, metered.scope, "scope")
                assertTrue(phone.spaceStatus().single { it.kind == SpaceKind.Journal }.waiting, "journal waits")
                val wifi = phone.syncOn(relay.url, LinkKind.UNMETERED)
                assertEquals(SyncScope.ALL, wifi.scope, "scope on Wi-Fi")
                assertEquals(SyncPath.Relay, phone.spaceStatus().single { it.kind == SpaceKind.Journal }.lastPath, "path")
            }
        }
        phone.close()
        tablet.close()
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}
