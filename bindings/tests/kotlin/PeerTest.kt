// Peer-to-peer sessions through the Kotlin bindings (protocol section 25): two vaults in one JVM pass
// bytes between their sessions as a Bluetooth socket would. Members converge both ways; a stranger is
// refused with a typed error and told nothing; an altered frame ends the session and the next one
// converges. Run by `scripts/test.sh kotlin` as its own JVM (class PeerTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.PeerSession
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SyncPath
import org.sebaya.Vault
import org.sebaya.generateMasterKey

/** Drives two sessions until neither has anything to send; returns the errors by side ("a", "b"). */
private fun drive(a: PeerSession, b: PeerSession, spoilToB: Int = 0): Map<String, SebayaException> {
    val errors = mutableMapOf<String, SebayaException>()
    var toB = 0
    var moved = true
    while (moved) {
        moved = false
        for ((name, src, dst) in listOf(Triple("b", a, b), Triple("a", b, a))) {
            for (f in src.takeOutgoing()) {
                moved = true
                var frame = f
                if (name == "b") {
                    toB += 1
                    if (toB == spoilToB) {
                        frame = f.copyOf()
                        frame[frame.size - 1] = (frame[frame.size - 1].toInt() xor 1).toByte()
                    }
                }
                if (name in errors) continue
                try {
                    dst.receive(frame)
                } catch (e: SebayaException) {
                    errors[name] = e
                }
            }
        }
    }
    return errors
}

private fun texts(v: Vault): List<String> = v.journal().use { j -> j.list().map { it.text }.sorted() }

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-peer").toFile()
    try {
        val phone = Vault.open(File(tmp, "phone.db").path, generateMasterKey())
        phone.createPerson()
        phone.journal().use { it.add("Dari ponsel.", 4, emptyList()) }
        val tablet = Vault.open(File(tmp, "tablet.db").path, generateMasterKey())
        tablet.completeLink(phone.approveLink(tablet.linkRequest()))
        tablet.journal().use { it.add("Dari tablet.", 3, emptyList()) }

        check("two devices of one person converge face to face") {
            val a = phone.nearby().startSession(true)
            val b = tablet.nearby().startSession(false)
            val errors = drive(a, b)
            assertTrue(errors.isEmpty(), "no errors: $errors")
            assertTrue(a.isFinished() && b.isFinished(), "both finished")
            assertEquals(listOf("Dari ponsel.", "Dari tablet."), texts(phone), "phone")
            assertEquals(texts(phone), texts(tablet), "tablet")
            val r = a.report()
            assertEquals(tablet.deviceId(), r.remoteDeviceId, "remote")
            assertEquals(r.sent, r.acked, "all acknowledged")
            assertEquals(SyncPath.Peer, phone.spaceStatus().single { it.kind == SpaceKind.Journal }.lastPath, "path")
            a.close()
            b.close()
        }
        check("a stranger is refused and told nothing") {
            val stranger = Vault.open(File(tmp, "s.db").path, generateMasterKey())
            stranger.createPerson()
            val a = phone.nearby().startSession(false)
            val b = stranger.nearby().startSession(true)
            val errors = drive(a, b)
            assertTrue(errors["a"] is SebayaException.PeerNotMember, "phone refuses: $errors")
            assertTrue(errors["b"] is SebayaException.PeerNotMember, "stranger refused: $errors")
            val rb = b.report()
            assertEquals(0u, rb.spaces, "no space")
            assertEquals(0u, rb.received, "no envelope")
            assertEquals(0u, a.report().sent, "nothing sent")
            assertEquals(0, stranger.journal().use { it.list().size }, "stranger has nothing")
            a.close()
            b.close()
            stranger.close()
        }
        check("an altered frame ends the session; the next one converges") {
            phone.journal().use { it.add("Kedua.", 3, emptyList()) }
            val before = texts(tablet)
            val a = phone.nearby().startSession(true)
            val b = tablet.nearby().startSession(false)
            val errors = drive(a, b, spoilToB = 4)
            assertTrue(errors["b"] is SebayaException.BadPeerMessage, "typed error: $errors")
            assertEquals(before, texts(tablet), "nothing kept")
            assertThrows<SebayaException.BadPeerMessage>("a failed session stays failed") { b.receive(byteArrayOf(0, 1, 0)) }
            val a2 = phone.nearby().startSession(false)
            val b2 = tablet.nearby().startSession(true)
            assertTrue(drive(a2, b2).isEmpty(), "clean session")
            assertEquals(texts(phone), texts(tablet), "converged")
            listOf(a, b, a2, b2).forEach { it.close() }
        }
        check("a carrier hands a participant's check-in to its supporter with no relay") {
            // Protocol 25.2: the carrier took the participant's sealed envelopes from a bundle and
            // hands the supporter those of the pairing the supporter holds. The supporter's Ack is
            // not authoritative: everything stays carried until the relay answers for it.
            fun person(name: String): Vault =
                Vault.open(File(tmp, name).path, generateMasterKey()).also { it.createPerson() }
            val supporter = person("sup.db")
            val participant = person("par.db")
            val carrier = person("car.db")
            val programme = trainedProgramme(supporter)
            val pair = supporter.pairings().create(participant.linkRequest(), programme)
            participant.spaces().join(pair.response)
            val p1 = participant.nearby().startSession(true)
            val s1 = supporter.nearby().startSession(false)
            assertTrue(drive(p1, s1).isEmpty(), "the pairing synced")
            carrier.spaces().join(supporter.pairings().create(carrier.linkRequest(), programme).response)
            participant.pairings().addCheckin(pair.spaceId, 2, "Minggu berat.")
            participant.journal().use { it.add("Hanya untuk saya.", 2, emptyList()) }
            carrier.nearby().setCarryQuota(1uL shl 20)
            assertTrue(carrier.nearby().importBundle(participant.nearby().exportBundle(emptyList(), null)).carried > 0u, "carried")
            val before = carrier.nearby().carryStatus()
            val c = carrier.nearby().startSession(true)
            val s = supporter.nearby().startSession(false)
            val errors = drive(c, s)
            assertTrue(errors.isEmpty(), "no errors: $errors")
            assertTrue(c.isFinished() && s.isFinished(), "both finished")
            assertEquals(listOf("Minggu berat."), supporter.pairings().checkins(pair.spaceId).map { it.note }, "check-in arrived")
            val rc = c.report()
            val rs = s.report()
            assertTrue(rc.carriedSent > 0u, "handed on")
            assertEquals(rc.carriedSent, rc.carriedAnswered, "all answered")
            assertEquals(rc.carriedSent, rs.carriedReceived, "all received")
            assertEquals(0u, rs.carriedRefused, "none refused")
            assertEquals(before, carrier.nearby().carryStatus(), "a peer's Ack drops nothing")
            assertTrue("Hanya untuk saya." !in texts(supporter), "the journal did not travel")
            Relay(File(tmp, "carry-relay-data"), File(tmp, "carry-relay.log")).use { relay ->
                carrier.sync(relay.url)
            }
            val after = carrier.nearby().carryStatus()
            assertEquals(0u, after.envelopes, "the relay's answer drops them")
            assertEquals(0u, after.spaces, "no space left carried")
            listOf(p1, s1, c, s).forEach { it.close() }
            listOf(supporter, participant, carrier).forEach { it.close() }
        }
        phone.close()
        tablet.close()
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}
