// Reminders through the Kotlin bindings (issue 18, item 4), against the real library and a real
// relay on loopback: a weekly check-in cadence and a task reach whom they are for with the neutral
// text; a phone that crosses time zones keeps "Monday 16:00" local under the same keys; a clock set
// back neither repeats a completed occurrence nor loses the next; a one-off in the past is
// ReminderInPast. Run by `scripts/test.sh kotlin` as its own JVM (class RemindersTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.OffsetChange
import org.sebaya.ReminderFor
import org.sebaya.ReminderKind
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage

private const val DAY = 86_400L
private const val JAKARTA = 7 * 60
private const val JAYAPURA = 9 * 60

private fun person(dir: File, name: String): Vault {
    val v = Vault.open(File(dir, name).path, generateMasterKey())
    v.createPerson()
    return v
}

/** The UTC instant of the next Monday 16:00 in UTC+7 (1970-01-05 was a Monday). */
private fun nextMonday16(now: Long): Long {
    var day = Math.floorDiv(now + JAKARTA * 60L, DAY) + 1
    while (Math.floorMod(day - 4, 7L) != 0L) day++
    return day * DAY + 16 * 3600 - JAKARTA * 60L
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-reminders").toFile()
    var relay: Relay? = null
    try {
        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url

        check("reminders reach whom they are for, across a zone change and a clock set back") {
            val sup = person(tmp, "s.db")
            val part = person(tmp, "p.db")
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            part.spaces().join(pairing.response)
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            val pid = pairing.spaceId
            val now = System.currentTimeMillis() / 1000
            val cadence = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", nextMonday16(now), JAKARTA, 7u)
            val task = part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "latihan napas", now + 2 * DAY, JAKARTA, 0u)
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            assertEquals(setOf(cadence, task), sup.reminders().list(pid).map { it.id }.toSet(), "both see both")

            val mine = part.reminders().due(now, JAKARTA, "id")
            assertTrue(mine.upcoming.any { it.reminderId == task }, "the task is the participant's")
            assertTrue(sup.reminders().due(now, JAKARTA, "en").upcoming.none { it.reminderId == task }, "not the supporter's")
            for (n in mine.upcoming) {
                assertEquals(localizedMessage(n.messageId, "id", null), n.text, "neutral text")
                assertTrue(!n.text.contains("latihan") && !n.key.contains("latihan"), "never the task's words")
            }

            // The phone flies from Jakarta to Jayapura: 16:00 stays 16:00 local, the keys stay.
            val west = part.reminders().due(now, JAKARTA, "id").upcoming.filter { it.reminderId == cadence }
            val east = part.reminders().due(now, JAYAPURA, "id").upcoming.filter { it.reminderId == cadence }
            assertEquals(west.map { it.key }, east.map { it.key }, "same keys")
            for ((a, b) in west.zip(east)) {
                assertEquals(2L * 3600, a.atSecs - b.atSecs, "two hours earlier in UTC")
                assertEquals(16L * 3600, Math.floorMod(b.atSecs + JAYAPURA * 60L, DAY), "16:00 local")
            }

            // Missed, completed, then the clock is set back a day before it.
            val first = west.first()
            val later = first.atSecs + 3600
            assertTrue(part.reminders().due(later, JAKARTA, "id").overdue.any { it.key == first.key }, "overdue")
            part.reminders().complete(pid, cadence, first.occurrence)
            val back = part.reminders().due(first.atSecs - DAY, JAKARTA, "id").upcoming.filter { it.reminderId == cadence }
            assertTrue(back.none { it.key == first.key }, "not due again")
            assertEquals(listOf(first.occurrence + 1uL), back.map { it.occurrence }, "the next one, once")

            val past = assertThrows<SebayaException.ReminderInPast>("a one-off in the past") {
                part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "x", now - 60, JAKARTA, 0u)
            }
            assertEquals("error-reminder-in-past", past.messageId, "message id")
            assertThrows<SebayaException.InvalidInput>("a cadence of 0 days") {
                sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + 60, JAKARTA, 0u)
            }
            assertThrows<SebayaException.NotAllowed>("a participant's follow-up") {
                part.reminders().add(pid, ReminderKind.FOLLOW_UP, ReminderFor.SUPPORTER, "", now + 60, JAKARTA, 0u)
            }
            sup.close()
            part.close()
        }

        check("a lead time, an unknown occurrence, a huge cadence and a huge lead") {
            val sup = person(tmp, "s2.db")
            val part = person(tmp, "p2.db")
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            part.spaces().join(pairing.response)
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            val pid = pairing.spaceId
            val now = System.currentTimeMillis() / 1000
            val at = now + 2 * DAY
            val session = sup.reminders().add(pid, ReminderKind.SESSION, ReminderFor.EVERYONE, "", at, JAKARTA, 0u, 60u)
            for (v in listOf(sup, part)) v.sync(url)
            assertEquals(listOf(60u), part.reminders().list(pid).map { it.leadMinutes }, "the lead travels")
            val n = part.reminders().due(now, JAKARTA, "id").upcoming.single { it.reminderId == session }
            assertEquals(at to at - 3600, n.atSecs to n.notifyAtSecs, "noticed an hour before")
            val between = part.reminders().due(at - 1800, JAKARTA, "id")
            assertTrue((between.upcoming + between.overdue).none { it.reminderId == session }, "nothing once the notice passed")
            assertThrows<SebayaException.InvalidInput>("a lead over a week") {
                sup.reminders().add(pid, ReminderKind.SESSION, ReminderFor.EVERYONE, "", at, JAKARTA, 0u, 7u * 24u * 60u + 1u)
            }
            val cadence = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + DAY, JAKARTA, 7u)
            assertThrows<SebayaException.InvalidInput>("occurrence 1 of a one-off") {
                sup.reminders().complete(pid, session, 1uL)
            }
            assertThrows<SebayaException.InvalidInput>("an occurrence past any date") {
                sup.reminders().complete(pid, cadence, ULong.MAX_VALUE)
            }
            assertThrows<SebayaException.NotFound>("an unknown reminder") {
                sup.reminders().complete(pid, "00000000000000ff", 0uL)
            }
            assertThrows<SebayaException.InvalidInput>("a huge cadence") {
                sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + 60, JAKARTA, UInt.MAX_VALUE)
            }
            assertTrue(sup.reminders().list(pid).all { it.done.isEmpty() }, "nothing marked")

            // The zone moves an hour ahead after the first weekly occurrence: later ones keep local time.
            val plain = sup.reminders().due(now, JAKARTA, "id").upcoming.filter { it.reminderId == cadence }
            val change = OffsetChange(plain[0].atSecs + DAY, JAKARTA + 60)
            val moved = sup.reminders().due(now, JAKARTA, "id", listOf(change)).upcoming.filter { it.reminderId == cadence }
            assertEquals(plain.map { it.key }, moved.map { it.key }, "same keys")
            assertEquals(plain.drop(1).map { it.atSecs - 3600 }, moved.drop(1).map { it.atSecs }, "an hour earlier in UTC")
            assertThrows<SebayaException.InvalidInput>("an offset of Int.MIN_VALUE") {
                sup.reminders().due(now, Int.MIN_VALUE, "id")
            }
            assertThrows<SebayaException.InvalidInput>("a change out of order") {
                sup.reminders().due(now, JAKARTA, "id", listOf(OffsetChange(now + DAY, 60), OffsetChange(now, 60)))
            }
            assertThrows<SebayaException.InvalidInput>("a one-off at offset Int.MIN_VALUE") {
                sup.reminders().add(pid, ReminderKind.TASK, ReminderFor.EVERYONE, "x", now + DAY, Int.MIN_VALUE, 0u)
            }
            sup.close()
            part.close()
        }

        check("a removed facilitator's reminder is refused on receipt; a new period carries the open ones") {
            val fac = person(tmp, "f3.db")
            val co = person(tmp, "c3.db")
            val par = person(tmp, "p3.db")
            val gid = fac.groups().create("Kelompok Kamis", null)
            co.groups().join(fac.spaces().approveMember(gid, co.linkRequest(), asAdmin = true))
            par.groups().join(fac.spaces().approveMember(gid, par.linkRequest()))
            for (v in listOf(fac, co, par, fac, co, par)) v.sync(url)
            val now = System.currentTimeMillis() / 1000
            val before = co.reminders().add(gid, ReminderKind.TASK, ReminderFor.EVERYONE, "sebelum", now + DAY, JAKARTA, 0u)
            co.sync(url)
            fac.sync(url) // the facilitator holds it before the removal: it stays
            fac.spaces().removeMember(gid, co.deviceId())
            fac.sync(url)
            val after = co.reminders().add(gid, ReminderKind.TASK, ReminderFor.EVERYONE, "sesudah", now + DAY, JAKARTA, 0u)
            try { co.sync(url) } catch (e: SebayaException) { }
            for (v in listOf(fac, par, fac, par)) v.sync(url)
            for (v in listOf(fac, par)) {
                val ids = v.reminders().list(gid).map { it.id }
                assertTrue(before in ids && after !in ids, "only the member's reminder stands")
            }
            assertTrue(par.exportAll().contains("sebelum"), "in the participant's export")

            val next = fac.groups().startPeriod(gid)
            for (v in listOf(fac, par, fac, par)) v.sync(url)
            assertEquals(listOf(before), par.reminders().list(next).map { it.id }, "carried")
            assertEquals(listOf(next), par.reminders().due(now, JAKARTA, "id").upcoming.filter { it.reminderId == before }.map { it.spaceId }, "once")
            for (v in listOf(fac, co, par)) v.close()
        }

        check("a participant's reminder waits until the supporter's device has said its rules (12.2)") {
            val sup = person(tmp, "w-s.db")
            val part = person(tmp, "w-p.db")
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            part.spaces().join(pairing.response)
            val pid = pairing.spaceId
            val st = part.spaces().rulesStatus(pid)
            assertTrue(st.thisDevice >= 8u, "this release takes reminders")
            assertEquals(0u, st.floor, "the supporter's device has not said")
            assertEquals(listOf(sup.deviceId()), st.behind, "who is behind")
            val now = System.currentTimeMillis() / 1000
            val e = assertThrows<SebayaException.WaitingForUpdates>("waits") {
                part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "latihan", now + DAY, JAKARTA, 0u)
            }
            assertEquals("error-waiting-for-updates", e.messageId, "message id")
            assertTrue(localizedMessage(e.messageId, "en", null).contains("update"), "English")
            assertTrue(localizedMessage(e.messageId, "id", null).contains("memperbarui"), "Indonesian")
            assertTrue(part.reminders().list(pid).isEmpty(), "nothing written")
            for (v in listOf(sup, part, sup, part)) v.sync(url)
            for (v in listOf(sup, part)) {
                val now2 = v.spaces().rulesStatus(pid)
                assertEquals(now2.thisDevice, now2.floor, "everyone said")
                assertTrue(now2.behind.isEmpty(), "nobody behind")
            }
            val r = part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "latihan", now + DAY, JAKARTA, 0u)
            part.sync(url)
            sup.sync(url)
            assertTrue(sup.reminders().list(pid).any { it.id == r }, "it goes")
            for (v in listOf(sup, part)) v.close()
        }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
