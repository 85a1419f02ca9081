// Reports and blocks through the Kotlin bindings (issue 18, item 2; protocol 31), against the real
// library and a real relay on loopback: a member's report reaches the programme's coordinators,
// sealed in the reporter's care record, never the reported member or the facilitator's phone; a
// report about the facilitator goes to the coordinators alone. Bad input: a non-member, content of
// another space, a reason no person gives, oneself. A block hides a member's notes on the blocker's
// devices only, never a coordinator (refused) nor a referral; the facilitator's notice names the
// blocked member, not the blocker. Run by `scripts/test.sh kotlin` as its own JVM (class
// ModerationTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.ProgrammeRole
import org.sebaya.ReferralReason
import org.sebaya.ReportReason
import org.sebaya.ReportRoute
import org.sebaya.ReportTarget
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey

private fun person(dir: File, name: String): Vault {
    val v = Vault.open(File(dir, name).path, generateMasterKey())
    v.createPerson()
    return v
}

private class World(val coord: Vault, val fac: Vault, val p1: Vault, val p2: Vault, val group: String, val care: String)

private fun world(tmp: File, url: String, tag: String): World {
    val coord = person(tmp, "c$tag.db")
    val fac = person(tmp, "f$tag.db")
    val p1 = person(tmp, "p1$tag.db")
    val p2 = person(tmp, "p2$tag.db")
    val pid = coord.programmes().create("Kelompok Sebaya")
    fac.programmes().addCredential(coord.programmes().grantRole(pid, fac.personId()!!, ProgrammeRole.PeerSupporter, 90u).credential)
    val enrol = coord.care().enrol(p1.linkRequest(), pid)
    p1.spaces().join(enrol.response)
    val group = fac.groups().create("Kelompok", pid)
    for (p in listOf(p1, p2)) p.spaces().join(fac.spaces().approveMember(group, p.linkRequest(), false, false))
    // The programme's safeguarding space, where a coordinator's device passes reports on to the facilitator.
    val sg = coord.care().createSafeguardingSpace(pid)
    fac.spaces().join(coord.spaces().approveMember(sg, fac.linkRequest(), false, false))
    for (v in listOf(coord, fac, p1, p2, fac, p1, p2, coord)) v.sync(url)
    return World(coord, fac, p1, p2, group, enrol.careId)
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-moderation").toFile()
    var relay: Relay? = null
    try {
        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url

        check("a report reaches the coordinators and never the reported member") {
            val w = world(tmp, url, "a")
            val note = w.p2.groups().addNote(w.group, "kamu tidak berguna", "judul")
            w.p2.sync(url)
            w.p1.sync(url)
            val rid = w.p1.moderation().report(w.group, ReportTarget.Note, note, ReportReason.Harassment, "sudah dua kali")
            w.p1.sync(url)
            w.coord.sync(url)
            val r = w.coord.moderation().reports().single()
            assertEquals(rid, r.id, "the report")
            assertEquals(w.care, r.careId, "in the reporter's care record")
            assertEquals(ReportRoute.FacilitatorAndCoordinators, r.route, "route")
            assertEquals(listOf(w.fac.deviceId()), r.facilitators, "the facilitator named")
            assertEquals(w.p2.deviceId(), r.about, "about")
            assertEquals(w.p1.personId(), r.reporter, "the reporter, for the coordinator")
            assertEquals("judul\nkamu tidak berguna", r.copy, "the copy")
            w.coord.sync(url)
            w.fac.sync(url)
            val copy = w.fac.moderation().reports().single()
            assertTrue(copy.id != rid && copy.facilitators.isEmpty(), "passed on under an id of its own")
            assertTrue(copy.passedOn && copy.reporter == null, "without the reporter")
            assertEquals(w.p2.deviceId(), copy.about, "about whom")
            w.p2.sync(url)
            assertTrue(w.p2.moderation().reports().isEmpty(), "nothing for the reported member")
            for (v in listOf(w.p2, w.fac)) {
                assertTrue(v.spaces().list().none { it.id == w.care }, "no care record of the reporter's")
            }
            val fnote = w.fac.groups().addNote(w.group, "catatan", "")
            w.fac.sync(url)
            w.p1.sync(url)
            w.p1.moderation().report(w.group, ReportTarget.Note, fnote, ReportReason.UnsafeAdvice, "")
            w.p1.sync(url)
            w.coord.sync(url)
            val aboutFac = w.coord.moderation().reports().filter { it.about == w.fac.deviceId() }.single()
            assertEquals(ReportRoute.Coordinators, aboutFac.route, "about the facilitator: coordinators alone")
            assertTrue(aboutFac.facilitators.isEmpty(), "no facilitator named")
            w.coord.sync(url)
            w.fac.sync(url)
            assertEquals(listOf(copy.id), w.fac.moderation().reports().map { it.id }, "never passed on to the facilitator")
            for (v in listOf(w.coord, w.fac, w.p1, w.p2)) v.close()
        }

        check("bad reports are refused") {
            val w = world(tmp, url, "b")
            val note = w.p2.groups().addNote(w.group, "x", "")
            w.p2.sync(url)
            w.p1.sync(url)
            assertThrows<SebayaException.NotFound>("a non-member") {
                w.coord.moderation().report(w.group, ReportTarget.Note, note, ReportReason.Other, "")
            }
            assertThrows<SebayaException.InvalidInput>("content of another space") {
                w.p1.moderation().report(w.care, ReportTarget.Note, note, ReportReason.Other, "")
            }
            assertThrows<SebayaException.NotFound>("a note as a message") {
                w.p1.moderation().report(w.group, ReportTarget.Message, note, ReportReason.Other, "")
            }
            for (reason in listOf(ReportReason.Blocked, ReportReason.Unknown("spam"))) {
                assertThrows<SebayaException.InvalidInput>("a reason no person gives") {
                    w.p1.moderation().report(w.group, ReportTarget.Note, note, reason, "")
                }
            }
            assertThrows<SebayaException.InvalidInput>("oneself") {
                w.p1.moderation().report(w.group, ReportTarget.Member, w.p1.deviceId(), ReportReason.Other, "")
            }
            w.coord.spaces().join(w.fac.spaces().approveMember(w.group, w.coord.linkRequest(), false, false))
            for (v in listOf(w.fac, w.coord, w.fac, w.p1)) v.sync(url)
            val seen = assertThrows<SebayaException.ReportSeenByReported>("about someone holding the care record") {
                w.p1.moderation().report(w.group, ReportTarget.Member, w.coord.deviceId(), ReportReason.Other, "")
            }
            assertEquals("error-report-seen-by-reported", seen.messageId, "message id")
            assertTrue(w.p1.moderation().reports().isEmpty(), "nothing written")
            repeat(10) { w.p1.moderation().report(w.group, ReportTarget.Note, note, ReportReason.Other, "") }
            val many = assertThrows<SebayaException.TooManyReports>("the eleventh report today") {
                w.p1.moderation().report(w.group, ReportTarget.Note, note, ReportReason.Other, "")
            }
            assertEquals("error-too-many-reports", many.messageId, "message id")
            assertEquals(10, w.p1.moderation().reports().size, "ten written")
            for (v in listOf(w.coord, w.fac, w.p1, w.p2)) v.close()
        }

        check("a block hides a member here only; never oneself, a coordinator or a referral") {
            val w = world(tmp, url, "c")
            val note = w.p2.groups().addNote(w.group, "dari p2", "")
            val fnote = w.fac.groups().addNote(w.group, "dari fasilitator", "")
            for (v in listOf(w.p2, w.fac, w.p1)) v.sync(url)
            assertThrows<SebayaException.InvalidInput>("oneself") { w.p1.moderation().block(w.group, w.p1.deviceId()) }
            assertThrows<SebayaException.NotAllowed>("a coordinator") { w.p1.moderation().block(w.care, w.coord.deviceId()) }
            w.p1.moderation().block(w.group, w.p2.deviceId())
            assertEquals(listOf(fnote), w.p1.groups().notes(w.group).map { it.id }, "hidden here")
            assertEquals(setOf(note, fnote), w.fac.groups().notes(w.group).map { it.id }.toSet(), "not for others")
            w.p1.sync(url)
            w.coord.sync(url)
            val notice = w.coord.moderation().reports().single()
            assertEquals(ReportReason.Blocked, notice.reason, "the facilitator's notice")
            assertEquals(w.p2.deviceId(), notice.about, "about the blocked member")
            assertEquals(listOf(w.group to w.p2.deviceId()), w.p1.moderation().blocked().map { it.spaceId to it.device }, "in that space")
            w.p1.moderation().unblock(w.group, w.p2.deviceId())
            assertEquals(2, w.p1.groups().notes(w.group).size, "shown again")
            assertThrows<SebayaException.NotAllowed>("a facilitator moderates") { w.fac.moderation().block(w.group, w.p1.deviceId()) }
            assertThrows<SebayaException.NotAllowed>("a coordinator moderates") { w.coord.moderation().block(w.care, w.p1.deviceId()) }
            w.p1.care().askForHelp("id")
            w.p1.sync(url)
            w.coord.sync(url)
            assertTrue(w.coord.care().referralInbox().any { it.reason == ReferralReason.HelpNow }, "a referral is never hidden")
            for (v in listOf(w.coord, w.fac, w.p1, w.p2)) v.close()
        }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
