// Care records through the Kotlin bindings (desktop JVM + JNA) against the real library and a real
// relay on loopback: enrolment, consent, and the risk escalation ladder across three devices.
// Run by `scripts/test.sh kotlin` as its own JVM (class CareTestKt).

import java.io.File
import java.nio.file.Files
import org.sebaya.Attendance
import org.sebaya.CareNotice
import org.sebaya.CareViewer
import org.sebaya.ConsentPurpose
import org.sebaya.CrisisChannel
import org.sebaya.CrisisResourceKind
import org.sebaya.Instrument
import org.sebaya.OnCallState
import org.sebaya.PairingStanding
import org.sebaya.ProgrammeRole
import org.sebaya.ReferralOrigin
import org.sebaya.ReferralReason
import org.sebaya.ReferralState
import org.sebaya.RiskFlag
import org.sebaya.SafetyStep
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.Vault
import org.sebaya.consentText
import org.sebaya.dutyOfCareLimits
import org.sebaya.emergencyHelp
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage
import org.sebaya.noticeMessageId
import org.sebaya.onCallMessageId
import org.sebaya.lockNow

private fun person(dir: File, name: String): Vault {
    val v = Vault.open(File(dir, name).path, generateMasterKey())
    v.createPerson()
    return v
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-care").toFile()
    var relay: Relay? = null
    try {
        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url
        val coord = person(tmp, "c.db")
        val sup = person(tmp, "s.db")
        val part = person(tmp, "p.db")
        var care = ""
        var pid = ""

        check("a coordinator enrols a participant and adds their supporter") {
            pid = coord.programmes().create("PIK-R SMA 1")
            val grant = coord.programmes().grantRole(pid, sup.personId()!!, ProgrammeRole.PeerSupporter, 90u)
            sup.programmes().addCredential(grant.credential)
            val enrol = coord.care().enrol(part.linkRequest(), pid)
            care = enrol.careId
            part.spaces().join(enrol.response)
            sup.spaces().join(coord.spaces().approveMember(care, sup.linkRequest(), false, false))
            for (v in listOf(coord, part, sup)) v.sync(url)
            assertEquals(listOf(CareViewer.Participant), part.care().records().map { it.viewer }, "participant view")
            assertEquals(listOf(CareViewer.Supporter), sup.care().records().map { it.viewer }, "supporter view")
        }

        check("only the participant consents; the text has a version in both languages") {
            assertEquals("1", consentText(ConsentPurpose.DutyOfCare, "id").version, "version")
            assertTrue(consentText(ConsentPurpose.DutyOfCare, "id").text != consentText(ConsentPurpose.DutyOfCare, "en").text, "translated")
            assertThrows<SebayaException.NotAllowed>("supporter consents") { sup.care().giveConsent(care, ConsentPurpose.DutyOfCare, true) }
            part.care().giveConsent(care, ConsentPurpose.DutyOfCare, true)
            part.sync(url)
            assertTrue(part.care().hasConsent(care, ConsentPurpose.DutyOfCare), "consent stands")
        }

        check("PHQ-9 item 9 offline: crisis numbers now, referral at the next sync, acknowledgement back") {
            val esc = part.care().submitScreening(Instrument.Phq9, byteArrayOf(0, 0, 0, 0, 0, 0, 0, 0, 1), "ID")
            assertEquals(listOf(RiskFlag.Phq9Item9), esc.rules, "rules")
            assertEquals(listOf("119", "", "129", "+628111129129", "119", "110", "112"), esc.resources.map { it.number }, "numbers")
            assertEquals("8", esc.resources[0].extension, "extension")
            assertTrue(esc.showSafetyPlan, "safety plan")
            assertEquals(ReferralState.Queued, part.care().referrals(care).single().state, "queued offline")
            assertEquals(listOf(CareNotice.NOT_TOLD_YET), esc.notices, "waiting to be sent, said plainly")
            assertEquals(CareNotice.NOT_TOLD_YET, part.care().referrals(care).single().notice, "not told yet")
            assertTrue(part.care().referrals(care).single().verified, "the participant's own, verified")
            part.sync(url)
            assertEquals(ReferralState.Sent, part.care().referrals(care).single().state, "sent")
            assertEquals(CareNotice.SENT_NO_ANSWER, part.care().referrals(care).single().notice, "sent is not told")
            sup.sync(url)
            val seen = sup.care().referrals(care).single()
            assertEquals(null, seen.reason, "a supporter sees refer now, not the rule")
            assertEquals(ReferralOrigin.Participant, seen.origin, "one origin, never rule")
            assertTrue(!seen.told, "no one told yet")
            coord.sync(url)
            val inbox = coord.care().referralInbox().single()
            assertEquals(ReferralReason.Phq9Item9, inbox.reason, "the coordinator sees the rule")
            assertThrows<SebayaException.NotAllowed>("supporter acknowledges") { sup.care().updateReferral(care, inbox.id, ReferralState.Acknowledged) }
            coord.care().updateReferral(care, inbox.id, ReferralState.Acknowledged)
            coord.sync(url)
            part.sync(url)
            val back = part.care().referrals(care).single()
            assertTrue(back.told, "told")
            assertEquals(ReferralState.Acknowledged, back.state, "state")
        }

        check("bad input is a typed error") {
            assertThrows<SebayaException.InvalidInput>("wrong answer count") { part.care().submitScreening(Instrument.Phq9, byteArrayOf(1), "id") }
            assertThrows<SebayaException.InvalidInput>("bad country") { part.care().crisisResources("indonesia") }
            assertThrows<SebayaException.InvalidInput>("bad purpose") { part.care().giveConsent(care, ConsentPurpose.Unknown("marketing"), true) }
        }

        check("a risk answer with a bad country code still shows the crisis lines and refers") {
            val esc = part.care().submitScreening(Instrument.Phq9, byteArrayOf(0, 0, 0, 0, 0, 0, 0, 0, 2), "Indonesia")
            assertTrue(esc.countryUnknown, "flagged")
            assertEquals(listOf("119", "", "129", "+628111129129", "119", "110", "112"), esc.resources.map { it.number }, "numbers all the same")
            assertEquals(1, esc.referrals.size, "referred")
            assertTrue(esc.saved && esc.failed.isEmpty(), "nothing failed")
            val help = part.care().askForHelp("")
            assertTrue(help.countryUnknown && help.resources.isNotEmpty(), "help now with a bad code")
        }

        check("no one told is said plainly: no programme, every notice worded in both languages") {
            Vault.open(File(tmp, "alone.db").path, generateMasterKey()).use { alone ->
                alone.createPerson()
                val esc = alone.care().submitScreening(Instrument.Phq9, byteArrayOf(0, 0, 0, 0, 0, 0, 0, 0, 1), "id")
                assertEquals(listOf(CareNotice.NO_ONE_TOLD_NO_PROGRAMME), esc.notices, "no programme")
                assertTrue(esc.resources.isNotEmpty(), "with the crisis lines")
            }
            for (n in CareNotice.values()) {
                for (locale in listOf("id", "en")) {
                    assertTrue(localizedMessage(noticeMessageId(n), locale, null) != noticeMessageId(n), "$n in $locale")
                }
            }
        }

        check("no coordinator never blocks help; the deadline travels; the caseload shows what waits") {
            val c2 = person(tmp, "c2.db")
            val s2 = person(tmp, "s2.db")
            val p2 = person(tmp, "p2.db")
            val pid2 = c2.programmes().create("PIK-R SMA 3")
            s2.programmes().addCredential(c2.programmes().grantRole(pid2, s2.personId()!!, ProgrammeRole.PeerSupporter, 90u).credential)
            val enrol = s2.care().enrol(p2.linkRequest(), pid2)
            p2.spaces().join(enrol.response)
            s2.sync(url)
            p2.sync(url)
            p2.care().giveConsent(enrol.careId, ConsentPurpose.DutyOfCare, true)
            val esc = p2.care().submitScreening(Instrument.Phq9, byteArrayOf(0, 0, 0, 0, 0, 0, 0, 0, 1), "id")
            assertEquals(1, esc.referrals.size, "help is never blocked")
            assertEquals(listOf(0u), esc.coordinators.map { it.count }, "no coordinator to tell")
            assertEquals(listOf(CareNotice.NO_COORDINATOR_YET, CareNotice.NOT_TOLD_YET), esc.notices, "said plainly")
            p2.sync(url)
            s2.sync(url)
            assertEquals(CareNotice.NO_COORDINATOR_YET, s2.care().referrals(enrol.careId).single().notice, "the supporter is alerted")
            c2.spaces().join(s2.spaces().approveMember(enrol.careId, c2.linkRequest(), false, false))
            s2.sync(url)
            c2.sync(url)
            val waiting = c2.care().caseload().single()
            assertEquals(ReferralOrigin.Rule, waiting.origin, "the first coordinator added finds it")
            assertTrue(waiting.reason == null && waiting.reasonSealed, "sealed while no coordinator was there: for no one")
            assertTrue(!waiting.overdue && waiting.acknowledgedBy == null, "open, in time")
            assertThrows<SebayaException.InvalidInput>("zero hours") { c2.care().setAckDeadline(pid2, 0u) }
            assertEquals(1u, c2.care().setAckDeadline(pid2, 4u), "deadline set")
            c2.sync(url)
            p2.sync(url)
            assertEquals(4u, p2.care().ackDeadlineHours(enrol.careId), "the deadline travels")
            assertTrue(localizedMessage("care-response-time", "id", p2.care().ackDeadlineHours(enrol.careId).toString()).contains("4"), "the response time, stated")
            assertTrue(p2.care().caseload().isEmpty(), "no caseload for a participant")
        }

        check("safeguarding: a concern waits, reaches the coordinator, is acknowledged, and never the child's phone") {
            val c4 = person(tmp, "sg-c.db")
            val s4 = person(tmp, "sg-s.db")
            val p4 = person(tmp, "sg-p.db")
            val pid4 = c4.programmes().create("PIK-R SMP 2")
            s4.programmes().addCredential(c4.programmes().grantRole(pid4, s4.personId()!!, ProgrammeRole.PeerSupporter, 90u).credential)
            val enrol = c4.care().enrol(p4.linkRequest(), pid4)
            val care4 = enrol.careId
            p4.spaces().join(enrol.response)
            s4.spaces().join(c4.spaces().approveMember(care4, s4.linkRequest(), false, false))
            for (v in listOf(c4, p4, s4)) v.sync(url)
            val concern = s4.care().referNow(care4, true)
            val waiting = s4.care().concerns().single()
            assertEquals(concern, waiting.id, "the concern")
            assertTrue(waiting.spaceId == null && waiting.state == ReferralState.Queued, "waits on the supporter's phone")
            assertEquals(CareNotice.CONCERN_NOT_DELIVERED, waiting.notice, "and tells the supporter what to do")
            assertTrue(!c4.programmes().list().single { it.id == pid4 }.safeguardingSpace, "the coordinator is warned")
            assertThrows<SebayaException.NotAllowed>("a supporter makes the space") { s4.care().createSafeguardingSpace(pid4) }
            val space = c4.care().createSafeguardingSpace(pid4)
            assertTrue(c4.programmes().list().single { it.id == pid4 }.safeguardingSpace, "no longer warned")
            assertThrows<SebayaException.NotAllowed>("the child's phone is added") {
                c4.spaces().approveMember(space, p4.linkRequest(), false, false)
            }
            val joined = s4.spaces().join(c4.spaces().approveMember(space, s4.linkRequest(), false, false))
            assertEquals(SpaceKind.Safeguarding, joined.kind, "the safeguarding space")
            // The supporter's first sync brings the space's document; the concern leaves with its next.
            for (v in listOf(c4, s4, s4, c4, p4)) v.sync(url)
            val seen = c4.care().concerns().single()
            assertEquals(listOf(concern, space, care4), listOf(seen.id, seen.spaceId, seen.careId), "the coordinator opens it")
            assertEquals(p4.personId(), seen.participant, "about whom")
            val item = c4.care().caseload().single { it.id == concern }
            assertEquals(ReferralReason.SafeguardingMinor, item.reason, "in the caseload")
            assertThrows<SebayaException.NotAllowed>("a supporter acknowledges") { s4.care().updateReferral(space, concern, ReferralState.Acknowledged) }
            c4.care().updateReferral(item.careId, concern, ReferralState.Acknowledged)
            c4.sync(url)
            s4.sync(url)
            val mine = s4.care().concerns().single()
            assertTrue(mine.state == ReferralState.Acknowledged && mine.notice == CareNotice.TOLD, "told")
            p4.sync(url)
            assertTrue(p4.spaces().list().none { it.id == space }, "the child's phone holds no such space")
            assertTrue(p4.care().concerns().isEmpty() && p4.care().referrals(care4).none { it.id == concern }, "nor sees it")
            val export = p4.exportAll()
            assertTrue(!export.contains(concern) && !export.contains("safeguarding"), "nor exports it")
        }

        check("on call: two coordinators named, fewer warns at enrolment, counted per programme; the reason sealed for them") {
            val c3 = person(tmp, "oncall-c.db")
            val s3 = person(tmp, "oncall-s.db")
            val p3 = person(tmp, "oncall-p.db")
            val pid3 = c3.programmes().create("PIK-R SMA 4")
            s3.programmes().addCredential(c3.programmes().grantRole(pid3, s3.personId()!!, ProgrammeRole.PeerSupporter, 90u).credential)
            val enrol = c3.care().enrol(p3.linkRequest(), pid3)
            val care3 = enrol.careId
            assertEquals(OnCallState.NOT_DECLARED, enrol.onCall.state, "nothing declared, said at enrolment")
            assertTrue(enrol.onCall.warning, "a warning")
            p3.spaces().join(enrol.response)
            s3.spaces().join(c3.spaces().approveMember(care3, s3.linkRequest(), false, false))
            for (v in listOf(c3, p3, s3)) v.sync(url)
            assertThrows<SebayaException.NotAllowed>("a supporter names no one") { s3.care().setOnCall(pid3, listOf(c3.personId()!!)) }
            assertEquals(1u, c3.care().setOnCall(pid3, listOf(c3.personId()!!)), "one record")
            val one = c3.care().onCallStatus(care3)
            assertEquals(OnCallState.FEWER_THAN_TWO_ON_CALL, one.state, "one person is no rota")
            assertEquals(1u, one.onCall, "one on call")
            for (st in OnCallState.values()) {
                for (locale in listOf("id", "en")) {
                    assertTrue(localizedMessage(onCallMessageId(st), locale, null) != onCallMessageId(st), "$st in $locale")
                }
            }
            val c4 = person(tmp, "oncall-c2.db")
            c4.programmes().addCredential(c3.programmes().grantRole(pid3, c4.personId()!!, ProgrammeRole.Coordinator, 90u).credential)
            c4.spaces().join(c3.spaces().approveMember(care3, c4.linkRequest(), false, false))
            c3.sync(url)
            c4.sync(url)
            c4.sync(url)
            assertEquals(1u, c3.care().setOnCall(pid3, listOf(c3.personId()!!, c4.personId()!!)), "two on call")
            for (v in listOf(c3, c4, s3, p3)) v.sync(url)
            val ready = s3.care().onCallStatus(care3)
            assertEquals(OnCallState.READY, ready.state, "two on call, both in the record")
            assertTrue(!ready.warning && ready.coordinators == 2u, "no warning")
            p3.care().giveConsent(care3, ConsentPurpose.DutyOfCare, true)
            p3.sync(url)
            val esc = p3.care().submitScreening(Instrument.Phq9, byteArrayOf(0, 0, 0, 0, 0, 0, 0, 0, 1), "id")
            assertEquals(listOf(pid3 to 2u), esc.programmes.map { it.programmeId to it.count }, "two coordinators told in the programme")
            p3.sync(url)
            for (v in listOf(s3, c3, c4)) v.sync(url)
            val seen = s3.care().referrals(care3).single()
            assertTrue(seen.reason == null && !seen.reasonSealed, "the supporter holds ciphertext only, and is not told it is a rule's")
            assertEquals(ReferralOrigin.Participant, seen.origin, "one origin for the supporter")
            val own = p3.care().referrals(care3).single()
            assertTrue(own.reason == null && own.reasonSealed, "so does the participant's phone")
            for (v in listOf(c3, c4)) {
                val r = v.care().referralInbox().single()
                assertEquals(ReferralReason.Phq9Item9, r.reason, "a coordinator opens it")
                assertTrue(r.reasonSealed, "sealed")
            }
        }

        check("a screening given by the supporter escalates by the same rules and shows no score") {
            assertThrows<SebayaException.NotAllowed>("the participant uses submitScreening") {
                part.care().submitScreeningFor(care, Instrument.Phq9, ByteArray(9), "id")
            }
            val esc = sup.care().submitScreeningFor(care, Instrument.Srq20, ByteArray(20) { if (it == 16) 1 else 0 }, "id")
            assertEquals(null, esc.score, "no score or band")
            assertEquals(listOf(RiskFlag.Srq20Item17), esc.rules, "the rule fired")
            assertEquals(1, esc.referrals.size, "referred")
            sup.sync(url)
            coord.sync(url)
            val r = coord.care().referralInbox().first { it.origin == ReferralOrigin.Administered }
            assertEquals(ReferralReason.Srq20Item17, r.reason, "the coordinator sees the rule")
        }

        check("a minor's sharing and reporting wait for a guardian; help never does") {
            val c3 = person(tmp, "c3.db")
            val p3 = person(tmp, "p3.db")
            val pid3 = c3.programmes().create("PIK-R SMP 4")
            val enrol = c3.care().enrolMinor(p3.linkRequest(), pid3)
            p3.spaces().join(enrol.response)
            c3.sync(url)
            p3.sync(url)
            assertEquals(listOf(true), p3.care().records().map { it.minor }, "a minor")
            assertEquals(1, p3.care().askForHelp("id").referrals.size, "help never waits")
            p3.care().giveConsent(enrol.careId, ConsentPurpose.ReportOutcomes, true)
            p3.care().submitScreening(Instrument.Who5, byteArrayOf(3, 3, 3, 3, 3), "id")
            assertEquals(0u, p3.programmes().publishOutcomes(), "reporting waits for a guardian")
            c3.care().recordGuardianConsent(enrol.careId, ConsentPurpose.ReportOutcomes, "ayah", null, true)
            c3.sync(url)
            p3.sync(url)
            assertEquals(0u, p3.programmes().publishOutcomes(), "no form reference, no effect")
            c3.care().recordGuardianConsent(enrol.careId, ConsentPurpose.ReportOutcomes, "ayah", "formulir 12", true)
            c3.sync(url)
            p3.sync(url)
            assertTrue(p3.programmes().publishOutcomes() > 0u, "the guardian's consent with its form opens it")
        }

        check("a minor's pairing waits for a guardian's consent to pairing; help never does") {
            val c4 = person(tmp, "c4.db")
            val p4 = person(tmp, "p4.db")
            val pid4 = trainedProgramme(c4)
            val enrol = c4.care().enrolMinor(p4.linkRequest(), pid4)
            p4.spaces().join(enrol.response)
            c4.sync(url)
            p4.sync(url)
            val pairing = c4.pairings().create(p4.linkRequest(), pid4)
            p4.spaces().join(pairing.response)
            c4.sync(url)
            p4.sync(url)
            assertEquals(PairingStanding(pid4, false, true), p4.pairings().standing(pairing.spaceId), "kept, waiting")
            assertTrue(c4.pairings().standing(pairing.spaceId).waitingForGuardian, "on the supporter's side too")
            assertThrows<SebayaException.NotAllowed>("nothing is written") { p4.pairings().sendMessage(pairing.spaceId, "halo") }
            assertEquals(1, p4.care().askForHelp("id").referrals.size, "help never waits")
            c4.care().recordGuardianConsent(enrol.careId, ConsentPurpose.Pairing, "ibu", "formulir 7", true)
            c4.sync(url)
            p4.sync(url)
            assertEquals(false, p4.pairings().standing(pairing.spaceId).waitingForGuardian, "open")
            p4.pairings().sendMessage(pairing.spaceId, "halo")
        }

        check("duty of care may be a condition of joining, with the limits of confidentiality told first") {
            val c5 = person(tmp, "c5.db")
            val p5 = person(tmp, "p5.db")
            val pid5 = c5.programmes().create("PIK-R SMA 6")
            assertEquals(false, c5.care().dutyOfCareRequired(pid5), "not by default")
            assertEquals(0u, c5.care().setDutyOfCareRequired(pid5, true), "kept on the coordinator's device")
            // A missing text falls back to English, then to its key: check words of each language.
            for ((locale, word) in listOf("id" to "layanan darurat", "en" to "emergency services")) {
                val limits = dutyOfCareLimits(locale)
                assertTrue(limits.title != "consent-duty-of-care-limits-title", "title in $locale")
                assertTrue(limits.text.contains(word), "text in $locale says who else may be told")
                assertEquals(ConsentPurpose.DutyOfCare, limits.purpose, "the duty-of-care purpose")
            }
            assertTrue(dutyOfCareLimits("id").text != dutyOfCareLimits("en").text, "translated")
            assertTrue(dutyOfCareLimits("id").title != dutyOfCareLimits("en").title, "title translated")
            val refused = assertThrows<SebayaException.DutyOfCareRequired>("refused without agreement") {
                c5.care().enrol(p5.linkRequest(), pid5)
            }
            assertEquals("error-duty-of-care-required", refused.messageId, "message id")
            val enrol = c5.care().enrolWithDutyOfCare(p5.linkRequest(), pid5, false)
            p5.spaces().join(enrol.response)
            c5.sync(url)
            p5.sync(url)
            assertEquals(listOf(true), p5.care().records().map { it.dutyOfCareRequired }, "the record says so")
        }

        check("emergency help needs no vault, in both languages") {
            val id = emergencyHelp("ID", "in")
            assertEquals(listOf("119", "", "129", "+628111129129", "119", "110", "112"), id.resources.map { it.number }, "built-in numbers")
            assertEquals(CrisisChannel.Web, id.resources[1].channel, "healing119.id is a web service")
            assertEquals("https://healing119.id", id.resources[1].url, "its address")
            assertEquals(CrisisChannel.Whatsapp, id.resources[3].channel, "SAPA 129 on WhatsApp")
            assertEquals(CrisisResourceKind.Protection, id.resources[2].kind, "SAPA 129 protects")
            assertTrue(id.resources.all { it.verifiedOn != null && it.source != null }, "dated and sourced")
            assertEquals(listOf("112"), id.resources.filter { it.partialCoverage }.map { it.number }, "112 not everywhere")
            assertEquals(localizedMessage("help-now-title", "id", null), id.title, "Indonesian title")
            assertEquals(4, id.steps.size, "four steps")
            assertTrue(emergencyHelp("id", "en").title != id.title, "English differs")
            assertTrue(emergencyHelp("??", "en").countryUnknown, "bad code flagged")
            assertEquals(localizedMessage("crisis-none", "en", null), emergencyHelp("ke", "en").steps[0], "no numbers: call local")
        }

        check("sharing with the supporter needs the participant's consent; withdrawal takes it back") {
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            part.spaces().join(pairing.response)
            sup.sync(url)
            part.sync(url)
            val entry = part.journal().use { j -> j.add("Aku berani bicara.", 4, emptyList()) }
            assertThrows<SebayaException.NotAllowed>("share without consent") { part.pairings().shareJournalEntry(pairing.spaceId, entry) }
            assertThrows<SebayaException.NotAllowed>("supporter consents") { sup.pairings().consentToSharing(pairing.spaceId, true) }
            part.pairings().consentToSharing(pairing.spaceId, true)
            part.pairings().shareJournalEntry(pairing.spaceId, entry)
            part.sync(url)
            sup.sync(url)
            assertEquals(listOf("Aku berani bicara."), sup.pairings().sharedItems(pairing.spaceId).map { it.text }, "shared")
            part.pairings().consentToSharing(pairing.spaceId, false)
            part.sync(url)
            sup.sync(url)
            assertEquals(0, sup.pairings().sharedItems(pairing.spaceId).size, "taken back")
        }

        check("the notification text is neutral in both languages") {
            for (l in listOf("id", "en")) {
                val t = localizedMessage("notify-neutral", l, null).lowercase()
                assertTrue(t.isNotBlank() && !t.contains("mental") && !t.contains("jiwa"), "neutral: $t")
            }
        }
        check("a programme report: counts from published records, small cells suppressed") {
            val report = coord.programmes().createReportSpace(pid)
            sup.spaces().join(coord.spaces().approveMember(report, sup.linkRequest(), false, false))
            coord.sync(url)
            val gid = sup.groups().create("Kelompok Kamis", pid)
            part.groups().join(sup.spaces().approveMember(gid, part.linkRequest(), false, false))
            certifyFacilitation(coord, sup, pid)
            val start = 1767225600000L
            val week = 7L * 86400000L
            for (i in 0 until 5) {
                val sid = sup.groups().addSession(gid, start + i * week, "Sesi")
                sup.groups().setAttendance(gid, sid, part.deviceId(), Attendance.Present)
            }
            sup.sync(url)
            assertEquals(5u, sup.programmes().publishActivity(report, start, start + 10 * week), "published")
            sup.sync(url)
            coord.sync(url)
            val r = coord.programmes().report(pid, start, start + 10 * week, "en")
            assertEquals(5.0, r.metrics.first { it.id == "sessions.held" }.value, "sessions held")
            assertTrue(r.suppressed.contains("referrals.total"), "one referral is suppressed")
            assertTrue(r.csv.contains("<5"), "csv marks suppressed cells")
        }

        check("the safety plan is shared as its summary") {
            val pairing = sup.pairings().create(part.linkRequest(), trainedProgramme(sup))
            part.spaces().join(pairing.response)
            sup.sync(url)
            part.sync(url)
            part.pairings().consentToSharing(pairing.spaceId, true)
            part.care().addSafetyPlanItem(SafetyStep.WarningSigns, "Susah tidur")
            part.pairings().shareSafetyPlan(pairing.spaceId, "en")
            part.sync(url)
            sup.sync(url)
            assertTrue(sup.pairings().sharedItems(pairing.spaceId).single().text.contains("Susah tidur"), "plan shared")
        }

        check("erasing a journal entry destroys its key; the other entries stay") {
            val (keep, secret) = part.journal().use { j -> Pair(j.add("Tetap.", 4, emptyList()), j.add("Hapus aku.", 1, emptyList())) }
            assertThrows<SebayaException.NotFound>("unknown id") { part.journal().use { it.erase(listOf("0000000000000000")) } }
            part.journal().use { it.erase(listOf(secret)) }
            val left = part.journal().use { j -> j.list().map { it.id } }
            assertTrue(keep in left && secret !in left, "erased: $left")
            part.sync(url)
        }

        check("export everything as JSON; lock now locks every vault at once") {
            val json = part.exportAll()
            assertTrue(json.contains("\"schema\": \"sebaya-export/1\""), "schema")
            assertTrue(json.contains("Aku berani bicara."), "journal entry exported")
            assertTrue(!sup.exportAll().contains("Aku berani bicara."), "not in the supporter's export")
            val session = part.nearby().startSession(false)
            assertTrue(lockNow() >= 3u, "three vaults locked")
            assertThrows<SebayaException.Locked>("participant locked") { part.deviceId() }
            assertThrows<SebayaException.Locked>("coordinator locked") { coord.care().records() }
            assertThrows<SebayaException.Locked>("peer session locked") { session.takeOutgoing() }
            assertThrows<SebayaException.Locked>("peer session report") { session.report() }
            session.close()
        }
        for (v in listOf(coord, sup, part)) v.close()
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
