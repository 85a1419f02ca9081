// A group's note is its author's (issue 18, item 2; rules version 6), through the Kotlin bindings and a
// real relay on loopback: another member's and the facilitator's edit or delete is refused (NotAllowed),
// the author edits its own, a member cannot hide, and once the facilitator hides the note the other
// member no longer sees it while the facilitator and the author see it marked hidden. The same flow as
// bindings/tests/python/test_notes.py. Run by `scripts/test.sh kotlin` as its own JVM (class NotesTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-notes").toFile()
    var relay: Relay? = null
    try {
        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url

        check("a note is its author's; the facilitator hides it from the other members") {
            val fac = Vault.open(File(tmp, "f.db").path, generateMasterKey())
            val a = Vault.open(File(tmp, "a.db").path, generateMasterKey())
            val b = Vault.open(File(tmp, "b.db").path, generateMasterKey())
            val gid = fac.groups().create("Kelompok Rabu", null)
            for (v in listOf(a, b)) v.groups().join(fac.spaces().approveMember(gid, v.linkRequest(), false, false))
            for (v in listOf(fac, a, b)) v.sync(url)
            val nid = a.groups().addNote(gid, "Catatan Ani.", "")
            for (v in listOf(a, b, fac)) v.sync(url)
            for (v in listOf(b, fac)) {
                assertThrows<SebayaException.NotAllowed>("another's edit") { v.groups().editNote(gid, nid, null, "diubah") }
                assertThrows<SebayaException.NotAllowed>("another's delete") { v.groups().deleteNote(gid, nid) }
            }
            a.groups().editNote(gid, nid, null, "Catatan Ani, diperbaiki.")
            assertThrows<SebayaException.NotAllowed>("a member hides") { b.groups().hideNote(gid, nid) }
            a.sync(url)
            fac.sync(url)
            fac.groups().hideNote(gid, nid)
            for (v in listOf(fac, b, a)) v.sync(url)
            assertTrue(b.groups().notes(gid).isEmpty(), "hidden from the other member")
            for (v in listOf(fac, a)) {
                val notes = v.groups().notes(gid)
                assertEquals(listOf(Triple(nid, "Catatan Ani, diperbaiki.", true)), notes.map { Triple(it.id, it.text, it.hidden) }, "marked hidden")
            }
            assertThrows<SebayaException.NotAllowed>("a member unhides") { a.groups().unhideNote(gid, nid) }
            for (v in listOf(fac, a, b)) v.close()
        }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
