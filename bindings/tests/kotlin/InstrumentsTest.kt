// Programme-defined instruments and SRQ-20's cut-off through the Kotlin bindings (issue 14, item 8),
// against the real library and a real relay on loopback. Run by `scripts/test.sh kotlin` in its own
// JVM (class InstrumentsTestKt). "TEST-3" is FICTIONAL: placeholder items, no real instrument.

import java.io.File
import java.nio.file.Files
import org.sebaya.ConsentPurpose
import org.sebaya.Instrument
import org.sebaya.InstrumentProblem
import org.sebaya.ProgrammeRole
import org.sebaya.ReferralReason
import org.sebaya.RiskFlag
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.checkProgrammeInstrument
import org.sebaya.generateMasterKey

private fun person(dir: File, name: String): Vault {
    val v = Vault.open(File(dir, name).path, generateMasterKey())
    v.createPerson()
    return v
}

private const val LABELS =
    """[{"label":"Placeholder answer A","value":0},{"label":"Placeholder answer B","value":1},""" +
        """{"label":"Placeholder answer C","value":2}]"""

/** TEST-3 (fictional), with parts replaceable to make each fault. */
private fun test3(
    id: String = "x-test3",
    bands: String = """[{"id":"low","min":0,"max":2,"positive":false},{"id":"high","min":3,"max":6,"positive":true}]""",
    risk: String = """[{"item":3,"values":[1,2]}]""",
    citation: String? = """{"authors":"Sebaya test fixture","year":2026,"title":"TEST-3, a fictional three-item instrument for tests","published_in":"not published: a test fixture"}""",
    options: String = LABELS,
): String {
    val cite = citation?.let { """"citation":$it,""" } ?: ""
    return """{"schema":"sebaya-instrument/1","id":"$id","name":"TEST-3 (fictional)","version":"1.0",$cite""" +
        """"licence":"fictional, for tests only","age":{"min":12,"max":17},""" +
        """"scoring":{"reverse_items":[2],"multiplier":1},"bands":$bands,"risk_items":$risk,""" +
        """"languages":[{"language":"en","items":["Placeholder item one","Placeholder item two","Placeholder item three"],""" +
        """"options":$options,"bands":{"low":"Placeholder low","high":"Placeholder high"}}]}"""
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-instruments").toFile()
    var relay: Relay? = null
    try {
        check("bad definitions are refused with a typed fault") {
            assertEquals(null, checkProgrammeInstrument(test3()), "a good one")
            assertEquals(
                InstrumentProblem.BandsOverlap(2u),
                checkProgrammeInstrument(test3(bands = """[{"id":"low","min":0,"max":2,"positive":false},{"id":"high","min":2,"max":6,"positive":true}]""")),
                "overlap",
            )
            assertEquals(
                InstrumentProblem.BandsGap(3u),
                checkProgrammeInstrument(test3(bands = """[{"id":"low","min":0,"max":2,"positive":false},{"id":"high","min":4,"max":6,"positive":true}]""")),
                "gap",
            )
            assertEquals(InstrumentProblem.RiskItemOutOfRange(4u), checkProgrammeInstrument(test3(risk = """[{"item":4,"values":[1]}]""")), "risk item")
            assertEquals(InstrumentProblem.MissingCitation, checkProgrammeInstrument(test3(citation = null)), "citation")
            assertEquals(
                InstrumentProblem.LabelWithoutValue,
                checkProgrammeInstrument(test3(options = """[{"label":"A","value":0},{"label":"B"},{"label":"C","value":2}]""")),
                "label without value",
            )
            assertEquals(InstrumentProblem.ReservedId, checkProgrammeInstrument(test3(id = "phq9")), "built-in id")
        }

        relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        val url = relay.url
        val coord = person(tmp, "c.db")
        val sup = person(tmp, "s.db")
        val part = person(tmp, "p.db")
        val pid = coord.programmes().create("PIK-R SMA 8")
        val grant = coord.programmes().grantRole(pid, sup.personId()!!, ProgrammeRole.PeerSupporter, 90u)
        sup.programmes().addCredential(grant.credential)
        val enrol = coord.care().enrol(part.linkRequest(), pid)
        part.spaces().join(enrol.response)
        sup.spaces().join(coord.spaces().approveMember(enrol.careId, sup.linkRequest(), false, false))
        for (v in listOf(coord, part, sup)) v.sync(url)
        part.care().giveConsent(enrol.careId, ConsentPurpose.DutyOfCare, true)
        for (v in listOf(part, coord, sup)) v.sync(url)

        check("only a coordinator adds one; it reaches the participant") {
            assertThrows<SebayaException.NotAllowed>("supporter") { sup.care().setProgrammeInstrument(pid, test3()) }
            assertThrows<SebayaException.InvalidInput>("bad one") { coord.care().setProgrammeInstrument(pid, test3(id = "srq20")) }
            val added = coord.care().setProgrammeInstrument(pid, test3())
            assertEquals("x-test3-item3", added.riskItems.single().flag, "flag")
            coord.sync(url)
            part.sync(url)
            val got = part.care().programmeInstruments().single()
            assertEquals(3u, got.items, "items")
            assertEquals(12u, got.minAge, "min age")
            assertTrue(part.care().programmeInstrumentOffered("x-test3", "en"), "offered in English")
            assertTrue(!part.care().programmeInstrumentOffered("x-test3", "id"), "not in Indonesian")
            assertEquals(2.toUByte(), part.care().programmeInstrumentForm("x-test3", "en").options[2].value, "value")
        }

        check("a screening with it is scored; a risk answer refers and keeps its version") {
            val calm = part.care().submitProgrammeScreening("x-test3", "en", byteArrayOf(1, 1, 0), "ID")
            assertEquals("low", calm.programmeScore!!.band, "band")
            assertTrue(calm.referrals.isEmpty() && calm.resources.isNotEmpty(), "no referral, numbers")
            assertThrows<SebayaException.InvalidInput>("out of range") {
                part.care().submitProgrammeScreening("x-test3", "en", byteArrayOf(0, 0, 3), "ID")
            }
            val esc = part.care().submitProgrammeScreening("x-test3", "en", byteArrayOf(0, 2, 2), "ID")
            assertEquals(listOf<RiskFlag>(RiskFlag.Unknown("x-test3-item3")), esc.rules, "rules")
            assertEquals(1, esc.referrals.size, "referred")
            assertTrue(esc.showSafetyPlan && esc.resources.isNotEmpty(), "numbers and plan")
            val kept = part.care().screenings().last()
            assertEquals("x-test3@1.0/en", kept.wording, "wording")
            assertEquals("1.0", kept.instrumentVersion, "version")
            assertEquals(Instrument.Unknown("x-test3"), kept.instrument, "instrument")
            part.sync(url)
            coord.sync(url)
            assertEquals(ReferralReason.Unknown("x-test3-item3"), coord.care().referralInbox().single().reason, "coordinator's reason")
        }

        check("SRQ-20's cut-off is the programme's, with a citation") {
            assertEquals(6u, part.care().srq20Settings().cutoff, "default")
            assertThrows<SebayaException.NotAllowed>("supporter") { sup.care().setSrq20Settings(pid, 8u, 18u, null, "A study") }
            assertThrows<SebayaException.InvalidInput>("no citation") { coord.care().setSrq20Settings(pid, 8u, 18u, null, "") }
            coord.care().setSrq20Settings(pid, 8u, 18u, null, "Fictional validation study, for tests only")
            coord.sync(url)
            part.sync(url)
            val s = part.care().srq20Settings()
            assertEquals(8u, s.cutoff, "cutoff")
            assertTrue(!s.isDefault && !part.care().srq20SuitsAge(17u), "age")
            val seven = ByteArray(20) { if (it < 7) 1 else 0 }
            assertTrue(!part.care().submitScreening(Instrument.Srq20, seven, "ID").score!!.positiveScreen, "below 8")
        }
        for (v in listOf(coord, sup, part)) v.close()
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
