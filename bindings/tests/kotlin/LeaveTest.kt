// Leaving a group and ending a pairing through the Kotlin bindings (issue 18, item 1), against the
// real library and a real relay on loopback: the leaver's notes stay, shown as from a former
// member; a remaining facilitator's device rotates the key; the leaver writes nothing more. Either
// party ends a pairing: each device writes nothing past its own end (the other party's device signs
// its own when it learns, and what it wrote until then stands), its history stays, it leaves the
// supporter's active pairings. Bad input: a group one is not in, the only facilitator leaving, a
// stranger's leave, ending twice. Run by `scripts/test.sh kotlin` as its own JVM (class
// LeaveTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey

private fun person(dir: File, name: String): Vault {
    val v = Vault.open(File(dir, name).path, generateMasterKey())
    v.createPerson()
    return v
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-leave").toFile()
    var relay: Relay? = null
    try {
        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url

        check("a member leaves a group; its note stays, from a former member") {
            val fac = person(tmp, "f.db")
            val co = person(tmp, "c.db")
            val mem = person(tmp, "m.db")
            val stranger = person(tmp, "x.db")
            val gid = fac.groups().create("Kelompok Jumat", null)
            co.groups().join(fac.spaces().approveMember(gid, co.linkRequest(), true, false))
            mem.groups().join(fac.spaces().approveMember(gid, mem.linkRequest(), false, false))
            for (v in listOf(fac, co, mem)) v.sync(url)
            mem.groups().addNote(gid, "Terima kasih semua.", "")
            mem.sync(url)
            assertThrows<SebayaException.NotFound>("a stranger's leave") { stranger.groups().leave(gid) }
            mem.groups().leave(gid)
            assertThrows<SebayaException.NotFound>("leaving twice") { mem.groups().leave(gid) }
            assertThrows<SebayaException.NotAllowed>("a write after leaving") { mem.groups().addNote(gid, "x", "") }
            mem.sync(url)
            for (v in listOf(co, fac, co)) v.sync(url)
            for (v in listOf(fac, co)) {
                val note = v.groups().notes(gid).single()
                assertEquals("Terima kasih semua.", note.text, "the note stays")
                assertTrue(note.fromFormerMember, "from a former member")
                assertTrue(v.spaces().members(gid).none { it.deviceId == mem.deviceId() }, "no longer a member")
            }
            fac.groups().addNote(gid, "Sesudahnya.", "")
            fac.sync(url)
            mem.sync(url)
            assertEquals(listOf("Terima kasih semua."), mem.groups().notes(gid).map { it.text }, "nothing new")
            for (v in listOf(fac, co, mem, stranger)) v.close()
        }

        check("the only facilitator cannot leave; a group one is not in") {
            val fac = person(tmp, "f2.db")
            val gid = fac.groups().create("Sendiri", null)
            assertThrows<SebayaException.NotAllowed>("the only facilitator") { fac.groups().leave(gid) }
            assertThrows<SebayaException.NotFound>("not in it") { fac.groups().leave("00".repeat(16)) }
            fac.close()
        }

        check("either party ends a pairing; each side writes nothing past its own end") {
            val sup = person(tmp, "s.db")
            val part = person(tmp, "p.db")
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            val pid = pairing.spaceId
            part.spaces().join(pairing.response)
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            part.pairings().addCheckin(pid, 3, "lumayan")
            part.sync(url)
            sup.sync(url)
            assertEquals(listOf(pid), sup.pairings().active(), "active")
            part.pairings().end(pid)
            assertThrows<SebayaException.NotAllowed>("ending twice") { part.pairings().end(pid) }
            part.sync(url)
            sup.sync(url)
            assertTrue(sup.pairings().active().isEmpty(), "no longer active")
            assertThrows<SebayaException.NotAllowed>("a write after the end") { sup.pairings().sendMessage(pid, "halo") }
            assertThrows<SebayaException.NotAllowed>("the other party ends it again") { sup.pairings().end(pid) }
            for (v in listOf(sup, part)) assertEquals(1, v.pairings().checkins(pid).size, "history stays")
            sup.close()
            part.close()
        }

        check("a check-in sent just before the other party ends stays; the participant's device ends its side") {
            val sup = person(tmp, "s2.db")
            val part = person(tmp, "p2.db")
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            val pid = pairing.spaceId
            part.spaces().join(pairing.response)
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            assertEquals(listOf(pid), part.pairings().active(), "active for the participant")
            part.pairings().addCheckin(pid, 1, "berat sekali")
            part.sync(url)
            sup.pairings().end(pid)
            for (v in listOf(sup, part, sup)) v.sync(url)
            for (v in listOf(sup, part)) {
                assertEquals(listOf("berat sekali"), v.pairings().checkins(pid).map { it.note }, "the check-in in flight stays")
            }
            assertTrue(part.pairings().active().isEmpty(), "ended for the participant too")
            assertThrows<SebayaException.NotAllowed>("the participant writes no more") { part.pairings().addCheckin(pid, 2, "") }
            assertThrows<SebayaException.NotAllowed>("its own end went out") { part.pairings().end(pid) }
            sup.close()
            part.close()
        }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
