// Erasing a group, a pairing and a care record for good through the Kotlin bindings (issue 14,
// item 17), against the real library and a real relay on loopback: the facilitator erases a group
// and a plain member is refused; the participant erases their pairing (the supporter may not) and
// their care record once no referral waits (OpenReferrals before). Every member's device shows it
// erased. Run by `scripts/test.sh kotlin` as its own JVM (class EraseTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.ConsentPurpose
import org.sebaya.ProgrammeRole
import org.sebaya.ReferralState
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage

private fun person(dir: File, name: String): Vault {
    val v = Vault.open(File(dir, name).path, generateMasterKey())
    v.createPerson()
    return v
}

private fun erased(v: Vault): List<Pair<String, SpaceKind>> = v.spaces().erased().map { Pair(it.id, it.kind) }

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-erase").toFile()
    var relay: Relay? = null
    try {
        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url

        check("the facilitator erases a group everywhere; a plain member is refused") {
            val fac = person(tmp, "f.db")
            val mem = person(tmp, "m.db")
            val gid = fac.groups().create("Kelompok Rabu", null)
            val code = fac.spaces().approveMember(gid, mem.linkRequest(), false, false)
            mem.groups().join(code)
            for (v in listOf(fac, mem, fac, mem)) v.sync(url)
            mem.groups().addNote(gid, "Catatan anggota.", "")
            mem.sync(url)
            assertThrows<SebayaException.NotAllowed>("a plain member erases") { mem.groups().erase(gid) }
            assertEquals(listOf(gid), mem.groups().list().map { it.id }, "still there")
            fac.groups().erase(gid)
            assertEquals(listOf(Pair(gid, SpaceKind.Group)), erased(fac), "erased here")
            fac.sync(url)
            assertEquals(1u, mem.sync(url).erased, "erased on the member's device")
            assertTrue(mem.groups().list().isEmpty(), "gone there")
            assertEquals(listOf(Pair(gid, SpaceKind.Group)), erased(mem), "shown as erased")
            assertThrows<SebayaException.NotAllowed>("the old join code") { mem.groups().join(code) }
            fac.close()
            mem.close()
        }

        check("the participant erases their pairing; the supporter may not") {
            val sup = person(tmp, "s1.db")
            val part = person(tmp, "p1.db")
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            part.spaces().join(pairing.response)
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            assertThrows<SebayaException.NotAllowed>("the supporter erases") { sup.pairings().erase(pairing.spaceId) }
            part.pairings().erase(pairing.spaceId)
            part.sync(url)
            assertEquals(1u, sup.sync(url).erased, "erased on the supporter's device")
            assertEquals(listOf(Pair(pairing.spaceId, SpaceKind.Pairing)), erased(sup), "shown as erased")
            sup.close()
            part.close()
        }

        check("the participant erases their care record once no referral waits") {
            val coord = person(tmp, "c.db")
            val sup = person(tmp, "s.db")
            val part = person(tmp, "p.db")
            val pid = coord.programmes().create("PIK-R SMA 1")
            val grant = coord.programmes().grantRole(pid, sup.personId()!!, ProgrammeRole.PeerSupporter, 90u)
            sup.programmes().addCredential(grant.credential)
            val enrol = coord.care().enrol(part.linkRequest(), pid)
            val care = enrol.careId
            part.spaces().join(enrol.response)
            sup.spaces().join(coord.spaces().approveMember(care, sup.linkRequest(), false, false))
            for (v in listOf(coord, part, sup)) v.sync(url)
            part.care().giveConsent(care, ConsentPurpose.DutyOfCare, true)
            assertEquals(1, part.care().askForHelp("ID").referrals.size, "a referral")
            val refused = assertThrows<SebayaException.OpenReferrals>("a referral waits") { part.care().eraseRecord(care) }
            assertEquals("error-open-referrals", refused.messageId, "message id")
            for (locale in listOf("id", "en")) {
                assertTrue(localizedMessage(refused.messageId, locale, null) != refused.messageId, "text in $locale")
            }
            assertEquals(1, part.care().records().size, "nothing changed")
            for (v in listOf(sup, coord)) {
                assertThrows<SebayaException.NotAllowed>("someone else erases") { v.care().eraseRecord(care) }
            }
            part.sync(url)
            coord.sync(url)
            coord.care().updateReferral(care, coord.care().referralInbox().single().id, ReferralState.Acknowledged)
            coord.sync(url)
            part.sync(url)
            part.care().eraseRecord(care)
            assertTrue(part.care().records().isEmpty(), "gone here")
            part.sync(url)
            for (v in listOf(sup, coord)) {
                assertEquals(1u, v.sync(url).erased, "erased there")
                assertTrue(v.care().records().isEmpty(), "gone there")
                assertEquals(listOf(Pair(care, SpaceKind.Care)), erased(v), "shown as erased")
            }
            for (v in listOf(coord, sup, part)) v.close()
        }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
