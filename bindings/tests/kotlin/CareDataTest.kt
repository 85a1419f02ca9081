// Instrument wordings and the safety plan through the generated Kotlin bindings (issue 4), against the
// real library. Run by `scripts/test.sh kotlin` in its own JVM; uses Harness.kt's helpers.

import java.io.File
import java.nio.file.Files
import org.sebaya.Instrument
import org.sebaya.RiskFlag
import org.sebaya.SafetyStep
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage
import org.sebaya.previewInstrumentWording
import org.sebaya.safetyPlanSteps
import org.sebaya.use

private val STEPS = listOf(
    "warning-signs", "coping-alone", "distractions", "help-people",
    "professionals", "safer-surroundings", "what-matters",
)

// The API takes and returns enums; the ids are what the catalogues and the plan's JSON use.
private val STEP_ENUMS = listOf(
    SafetyStep.WarningSigns, SafetyStep.CopingAlone, SafetyStep.Distractions, SafetyStep.HelpPeople,
    SafetyStep.Professionals, SafetyStep.SaferSurroundings, SafetyStep.WhatMatters,
)
private val STEP = STEPS.zip(STEP_ENUMS).toMap()
private val INSTRUMENT = mapOf(
    "phq9" to Instrument.Phq9, "gad7" to Instrument.Gad7, "who5" to Instrument.Who5, "srq20" to Instrument.Srq20,
)

private fun jsonString(s: String): String =
    "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""

private val RISK_ITEMS = mapOf("phq9" to "[9]", "srq20" to "[17]", "gad7" to "[]", "who5" to "[]")

/** One answer of a wording JSON: a label with its value. */
private fun answer(label: String, value: Int): String = """{"label":${jsonString(label)},"value":$value}"""

/**
 * A programme wording JSON (schema sebaya-wording/2) with `items` items and `options` answers listed
 * value 0 first (or the answers given in `answers`, in their printed order), and the risk items of
 * the instrument's rule (or `risk`, raw JSON; null leaves the field out).
 */
private fun wordingJson(
    instrument: String = "phq9",
    items: Int = 9,
    options: Int = 4,
    source: String? = null,
    language: String = "id",
    answers: String? = null,
    risk: String? = RISK_ITEMS[instrument] ?: "[9]",
    schema: String = "sebaya-wording/2",
    itemText: String = "butir",
): String {
    val its = (1..items).joinToString(",") { jsonString("$itemText $it") }
    val ops = answers ?: (0 until options).joinToString(",") { answer("pilihan $it", it) }
    val src = source?.let { jsonString(it) } ?: "null"
    val riskField = risk?.let { ""","risk_items":$it""" } ?: ""
    return """{"schema":"$schema","instrument":"$instrument","language":"$language",""" +
        """"instructions":"Petunjuk","items":[$its],"options":[$ops]$riskField,"source":$src}"""
}

/** An SRQ-20 form as an Indonesian programme prints it: "Ya" before "Tidak". */
private fun srq20YaFirst(
    answers: String = answer("Ya", 1) + "," + answer("Tidak", 0),
    risk: String? = "[17]",
    language: String = "id",
): String = wordingJson(
    "srq20", items = 20, source = "Program X, 2025", answers = answers, risk = risk,
    language = language, itemText = "pertanyaan",
)

private val V1_SRQ20 = """{"schema":"sebaya-wording/1","instrument":"srq20","language":"id",""" +
    """"items":[${(1..20).joinToString(",") { jsonString("pertanyaan $it") }}],"options":["Ya","Tidak"],"source":null}"""

fun main() {
    val tmp = Files.createTempDirectory("sebaya-caredata-test").toFile()
    try {
        runChecks(tmp)
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}

private fun runChecks(tmp: File) {
    check("built-in English wordings are cited, complete and validated") {
        Vault.open(File(tmp, "b.db").path, generateMasterKey()).use { v ->
            for ((inst, counts) in mapOf("phq9" to (9 to 4), "gad7" to (7 to 4), "who5" to (5 to 6), "srq20" to (20 to 2))) {
                val w = v.care().instrumentWording(INSTRUMENT.getValue(inst), "en")
                assertEquals(counts.first, w.items.size, "$inst items")
                assertEquals(counts.second, w.options.size, "$inst options")
                assertTrue(w.validated && w.builtin, "$inst flags")
                assertTrue((w.source ?: "").length > 20, "$inst source")
                assertEquals((0 until counts.second).toList(), w.displayOrder.map { it.toInt() }.sorted(), "$inst printed order")
                assertEquals(RISK_ITEMS.getValue(inst), w.riskItems.joinToString(",", "[", "]"), "$inst risk items")
                assertTrue(v.care().instrumentOffered(INSTRUMENT.getValue(inst), "en"), "$inst offered in English")
            }
            val phq = v.care().instrumentWording(INSTRUMENT.getValue("phq9"), "en")
            assertTrue(phq.items[8].contains("better off dead"), "PHQ-9 item 9")
            assertEquals("Nearly every day", phq.options[3], "PHQ-9 answer 3")
            assertEquals(listOf(0, 1, 2, 3), phq.displayOrder.map { it.toInt() }, "PHQ-9 printed order")
            val who = v.care().instrumentWording(INSTRUMENT.getValue("who5"), "en")
            assertEquals(listOf(5, 4, 3, 2, 1, 0), who.displayOrder.map { it.toInt() }, "WHO-5 printed order")
        }
    }

    check("Indonesian without a programme wording is not offered (never English instead)") {
        Vault.open(File(tmp, "f.db").path, generateMasterKey()).use { v ->
            for (inst in INSTRUMENT.values) {
                for (tag in listOf("id", "id-ID", "in", "in_ID")) {
                    assertTrue(!v.care().instrumentOffered(inst, tag), "$inst not offered in $tag")
                    assertThrows<SebayaException.NotFound>("$inst wording in $tag") { v.care().instrumentWording(inst, tag) }
                }
                assertTrue(v.care().instrumentOffered(inst, "en-GB"), "$inst offered in en-GB")
            }
        }
    }

    check("old Android's 'in' reads as 'id'") {
        Vault.open(File(tmp, "in.db").path, generateMasterKey()).use { v ->
            assertEquals("id", v.care().importInstrumentWording(srq20YaFirst(language = "in")).language, "stored as id")
            for (tag in listOf("in", "in-ID", "id", "id_ID")) {
                assertTrue(v.care().instrumentOffered(Instrument.Srq20, tag), "offered in $tag")
                assertEquals("id", v.care().instrumentWording(Instrument.Srq20, tag).language, "wording for $tag")
            }
            assertTrue(!v.care().instrumentOffered(Instrument.Phq9, "in"), "PHQ-9 still not offered")
        }
    }

    check("a programme wording is kept, unvalidated without a source, replaced by a cited one") {
        val key = generateMasterKey()
        val path = File(tmp, "p.db").path
        Vault.open(path, key).use { v ->
            val got = v.care().importInstrumentWording(wordingJson())
            assertTrue(!got.validated && got.source == null && !got.builtin, "unvalidated import")
        }
        Vault.open(path, key).use { v ->
            val w = v.care().instrumentWording(INSTRUMENT.getValue("phq9"), "id")
            assertEquals("butir 1", w.items[0], "first item after reopen")
            assertTrue(!w.validated, "unvalidated")
            assertEquals(listOf(9u), w.riskItems, "risk items")
            v.care().importInstrumentWording(wordingJson(source = "Program X, terjemahan tervalidasi"))
            val again = v.care().instrumentWording(INSTRUMENT.getValue("phq9"), "id-ID")
            assertTrue(again.validated, "validated after a cited import")
            assertEquals("Program X, terjemahan tervalidasi", again.source, "source")
            assertTrue(!v.care().instrumentOffered(Instrument.Who5, "id"), "WHO-5 still not offered")
        }
    }

    check("a form printed 'Ya' before 'Tidak' scores 'Ya' as 1 and keeps SRQ-20 item 17's rule") {
        Vault.open(File(tmp, "srq.db").path, generateMasterKey()).use { v ->
            v.createPerson()
            val w = v.care().importInstrumentWording(srq20YaFirst())
            assertEquals(listOf("Tidak", "Ya"), w.options, "labels by value")
            assertEquals(listOf(1, 0), w.displayOrder.map { it.toInt() }, "printed order")
            // What the app does: show the labels in the printed order, record the value of the one tapped.
            val shown = w.displayOrder.map { w.options[it.toInt()] to it }
            assertEquals(listOf("Ya", "Tidak"), shown.map { it.first }, "shown")
            val value = shown.toMap()
            val answers = ByteArray(20) { value.getValue("Tidak") }
            answers[16] = value.getValue("Ya")
            val esc = v.care().submitScreening(Instrument.Srq20, answers, "id")
            assertEquals(1u, esc.score?.total, "total")
            assertEquals(listOf(RiskFlag.Srq20Item17), esc.rules, "rule fired")
            val none = v.care().submitScreening(Instrument.Srq20, ByteArray(20) { value.getValue("Tidak") }, "id")
            assertEquals(listOf<RiskFlag>(), none.rules, "all 'Tidak': no rule")
        }
    }

    check("the preview shows each label with its value and the risk items, keeping nothing") {
        val p = previewInstrumentWording(srq20YaFirst())
        assertEquals(listOf("Ya" to 1, "Tidak" to 0), p.answers.map { it.label to it.value.toInt() }, "answers")
        assertEquals(1, p.riskItems.size, "one risk item")
        val r = p.riskItems[0]
        assertEquals(17u, r.item, "item 17")
        assertEquals("pertanyaan 17", r.text, "its text")
        assertEquals(RiskFlag.Srq20Item17, r.flag, "its flag")
        assertEquals(listOf("Ya"), r.raisedBy.map { it.label }, "raised by 'Ya'")
        val phq = previewInstrumentWording(
            wordingJson(answers = listOf(3, 2, 1, 0).joinToString(",") { answer("p$it", it) }),
        )
        assertEquals(listOf(3, 2, 1, 0), phq.answers.map { it.value.toInt() }, "PHQ-9 printed order")
        assertEquals(listOf("p3", "p2", "p1"), phq.riskItems.single().raisedBy.map { it.label }, "PHQ-9 item 9 above 0")
        assertTrue(previewInstrumentWording(wordingJson("gad7", items = 7)).riskItems.isEmpty(), "GAD-7 none")
        Vault.open(File(tmp, "pv.db").path, generateMasterKey()).use { v ->
            assertTrue(!v.care().instrumentOffered(Instrument.Srq20, "id"), "a preview keeps nothing")
        }
    }

    check("v1 is refused pointing to v2; a risk_items mismatch names the expected items") {
        Vault.open(File(tmp, "v1.db").path, generateMasterKey()).use { v ->
            val e = assertThrows<SebayaException.InvalidInput>("v1 import") { v.care().importInstrumentWording(V1_SRQ20) }
            assertTrue(e.detail.contains("sebaya-wording/2"), "points to v2: ${e.detail}")
            assertThrows<SebayaException.InvalidInput>("v1 preview") { previewInstrumentWording(V1_SRQ20) }
            val m = assertThrows<SebayaException.InvalidInput>("risk [16]") { v.care().importInstrumentWording(srq20YaFirst(risk = "[16]")) }
            assertTrue(m.detail.contains("[17]"), "names [17]: ${m.detail}")
            assertTrue(!v.care().instrumentOffered(Instrument.Srq20, "id"), "nothing kept")
        }
    }

    check("bad wording JSON throws InvalidInput and keeps nothing") {
        Vault.open(File(tmp, "x.db").path, generateMasterKey()).use { v ->
            val bad = listOf(
                wordingJson(items = 8),
                wordingJson(options = 5),
                wordingJson(instrument = "who5", items = 5, options = 4),
                wordingJson(instrument = "srq21"),
                wordingJson(source = ""),
                wordingJson(language = "bahasa"),
                wordingJson(schema = "sebaya-wording/9"),
                srq20YaFirst(answers = answer("Ya", 1) + "," + answer("Tidak", 1)),
                srq20YaFirst(answers = answer("Ya", 2) + "," + answer("Tidak", 0)),
                srq20YaFirst(answers = "\"Ya\",\"Tidak\""),
                srq20YaFirst(answers = answer("Ya", 1) + "," + answer("Ya", 0)),
                srq20YaFirst(risk = "[]"),
                srq20YaFirst(risk = null),
                wordingJson("gad7", items = 7, risk = "[9]"),
                V1_SRQ20,
                "{nope",
                "x".repeat(70_000),
            )
            for (b in bad) {
                assertThrows<SebayaException.InvalidInput>("import ${b.take(60)}") { v.care().importInstrumentWording(b) }
                assertThrows<SebayaException.InvalidInput>("preview ${b.take(60)}") { previewInstrumentWording(b) }
            }
            assertThrows<SebayaException.InvalidInput>("unknown instrument") { v.care().instrumentWording(Instrument.Unknown("phq10"), "en") }
            assertThrows<SebayaException.InvalidInput>("unknown instrument offered") { v.care().instrumentOffered(Instrument.Unknown("phq10"), "en") }
            assertThrows<SebayaException.InvalidInput>("a malformed language") { v.care().instrumentOffered(Instrument.Phq9, "??") }
            assertTrue(!v.care().instrumentOffered(INSTRUMENT.getValue("phq9"), "id"), "still nothing in Indonesian")
            assertTrue(!v.care().instrumentOffered(INSTRUMENT.getValue("srq20"), "id"), "still nothing in Indonesian")
        }
    }

    check("safety plan: seven sections in order with localized titles and prompts") {
        assertEquals(STEP_ENUMS, safetyPlanSteps(), "steps")
        Vault.open(File(tmp, "s0.db").path, generateMasterKey()).use { v ->
            val en = v.care().safetyPlan("en")
            val id = v.care().safetyPlan("id")
            assertEquals(STEP_ENUMS, en.map { it.step }, "section order")
            for ((pair, stepId) in en.zip(id).zip(STEPS)) {
                val (e, i) = pair
                assertTrue(e.items.isEmpty(), "empty at first")
                assertTrue(e.title != i.title && e.prompt != i.prompt, "$stepId translated")
                assertEquals(localizedMessage("safety-step-$stepId-title", "en", null), e.title, "title")
            }
        }
    }

    check("safety plan: add, edit, reorder, remove, durable across reopen") {
        val key = generateMasterKey()
        val path = File(tmp, "s1.db").path
        var a = ""
        var b = ""
        var c = ""
        Vault.open(path, key).use { v ->
            a = v.care().addSafetyPlanItem(STEP.getValue("warning-signs"), "Tidak bisa tidur")
            b = v.care().addSafetyPlanItem(STEP.getValue("help-people"), "Kak Rina")
            c = v.care().addSafetyPlanItem(STEP.getValue("help-people"), "Pak Budi")
            assertEquals(3, setOf(a, b, c).size, "distinct ids")
            v.care().editSafetyPlanItem(b, text = "Kak Rina 0812")
            v.care().editSafetyPlanItem(c, order = -1L)
            v.care().editSafetyPlanItem(a, step = SafetyStep.WhatMatters)
        }
        Vault.open(path, key).use { v ->
            val sections = v.care().safetyPlan("id")
            assertEquals(STEP_ENUMS, sections.map { it.step }, "section order")
            val plan = STEPS.zip(sections).toMap()
            assertEquals(listOf("Pak Budi", "Kak Rina 0812"), plan.getValue("help-people").items.map { it.text }, "help-people")
            assertEquals(listOf(a), plan.getValue("what-matters").items.map { it.id }, "moved step")
            assertTrue(plan.getValue("warning-signs").items.isEmpty(), "moved away")
            v.care().removeSafetyPlanItem(b)
            assertEquals(listOf(c), v.care().safetyPlan("en")[3].items.map { it.id }, "after remove")
            assertThrows<SebayaException.NotFound>("remove twice") { v.care().removeSafetyPlanItem(b) }
            assertThrows<SebayaException.InvalidInput>("unknown step") { v.care().addSafetyPlanItem(SafetyStep.Unknown("nope"), "x") }
            assertThrows<SebayaException.InvalidInput>("empty text") { v.care().addSafetyPlanItem(STEP.getValue("coping-alone"), " ") }
            assertThrows<SebayaException.InvalidInput>("oversized text") { v.care().addSafetyPlanItem(STEP.getValue("coping-alone"), "x".repeat(2001)) }
            v.journal().use { j -> assertTrue(j.list().isEmpty(), "plan items are not journal entries") }
        }
    }

    check("safety plan: summary localized and JSON snapshot") {
        Vault.open(File(tmp, "s2.db").path, generateMasterKey()).use { v ->
            v.care().addSafetyPlanItem(STEP.getValue("professionals"), "SEJIWA 119 ext. 8")
            val en = v.care().safetyPlanSummary("en")
            val id = v.care().safetyPlanSummary("id")
            assertTrue(en != id, "localized")
            assertTrue(en.contains("SEJIWA 119 ext. 8") && id.contains("SEJIWA 119 ext. 8"), "item in both")
            for (s in v.care().safetyPlan("id")) assertTrue(id.contains(s.title), "title ${s.step} in summary")
            val json = v.care().safetyPlanJson()
            assertTrue(json.contains("\"professionals\"") && json.contains("SEJIWA 119 ext. 8"), "snapshot")
        }
    }
}
