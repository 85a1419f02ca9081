// Instrument wordings and the safety plan through the generated Kotlin bindings (issue 4), against the
// real library. Run by `scripts/test.sh kotlin` in its own JVM; uses Harness.kt's helpers.

import java.io.File
import java.nio.file.Files
import org.sebaya.Instrument
import org.sebaya.SafetyStep
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage
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

/** A programme wording JSON (schema sebaya-wording/1) with `items` items and `options` labels. */
private fun wordingJson(
    instrument: String = "phq9",
    items: Int = 9,
    options: Int = 4,
    source: String? = null,
    language: String = "id",
): String {
    val its = (1..items).joinToString(",") { jsonString("butir $it") }
    val ops = (0 until options).joinToString(",") { jsonString("pilihan $it") }
    val src = source?.let { jsonString(it) } ?: "null"
    return """{"schema":"sebaya-wording/1","instrument":"$instrument","language":"$language",""" +
        """"instructions":"Petunjuk","items":[$its],"options":[$ops],"source":$src}"""
}

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
                assertTrue(w.validated && w.builtin && !w.fallbackLanguage, "$inst flags")
                assertTrue((w.source ?: "").length > 20, "$inst source")
            }
            val phq = v.care().instrumentWording(INSTRUMENT.getValue("phq9"), "en")
            assertTrue(phq.items[8].contains("better off dead"), "PHQ-9 item 9")
            assertEquals("Nearly every day", phq.options[3], "PHQ-9 answer 3")
        }
    }

    check("Indonesian without a programme wording falls back to English and says so") {
        Vault.open(File(tmp, "f.db").path, generateMasterKey()).use { v ->
            val w = v.care().instrumentWording(INSTRUMENT.getValue("who5"), "id-ID")
            assertEquals("en", w.language, "language")
            assertTrue(w.fallbackLanguage && w.builtin, "fallback flag")
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
            assertTrue(!w.validated && !w.fallbackLanguage, "unvalidated, not a fallback")
            v.care().importInstrumentWording(wordingJson(source = "Program X, terjemahan tervalidasi"))
            val again = v.care().instrumentWording(INSTRUMENT.getValue("phq9"), "id-ID")
            assertTrue(again.validated, "validated after a cited import")
            assertEquals("Program X, terjemahan tervalidasi", again.source, "source")
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
                "{nope",
                "x".repeat(70_000),
            )
            for (b in bad) {
                assertThrows<SebayaException.InvalidInput>("import ${b.take(60)}") { v.care().importInstrumentWording(b) }
            }
            assertThrows<SebayaException.InvalidInput>("unknown instrument") { v.care().instrumentWording(Instrument.Unknown("phq10"), "en") }
            assertTrue(v.care().instrumentWording(INSTRUMENT.getValue("phq9"), "id").builtin, "still the built-in")
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
