// Instrument wordings and the safety plan through the Swift bindings (issue 4), against the real
// library (and the relay on loopback for the two linked devices). The same cases and assertions as
// bindings/tests/python/test_wordings_safety.py; each parametrized Python case is a check of its own.
// main.swift runs wordingsSafetyTests().

import Foundation

func alreadyLinked(_ e: SebayaError) -> String? { if case .AlreadyLinked(let m, _) = e { return m }; return nil }

let safetyStepIds = [
    "warning-signs", "coping-alone", "distractions", "help-people", "professionals", "safer-surroundings", "what-matters",
]
let safetyStepEnums: [SafetyStep] = [
    .warningSigns, .copingAlone, .distractions, .helpPeople, .professionals, .saferSurroundings, .whatMatters,
]
let safetyStep = Dictionary(uniqueKeysWithValues: zip(safetyStepIds, safetyStepEnums))
/// Items and answer options of each instrument.
let wordingCounts: [String: (Int, Int)] = ["phq9": (9, 4), "gad7": (7, 4), "who5": (5, 6), "srq20": (20, 2)]
/// The API takes and returns enums; the ids are what the wording JSON holds.
let instrumentById: [String: Instrument] = ["phq9": .phq9, "gad7": .gad7, "who5": .who5, "srq20": .srq20]

/// A programme wording document (schema sebaya-wording/1); `extra` adds or overrides fields.
func wordingJson(
    instrument: String = "phq9", language: String = "id", items: Int? = nil, options: Int? = nil,
    source: String? = nil, extra: [String: Any] = [:]
) -> String {
    let (nItems, nOptions) = wordingCounts[instrument] ?? (9, 4)
    var doc: [String: Any] = [
        "schema": "sebaya-wording/1",
        "instrument": instrument,
        "language": language,
        "instructions": "Petunjuk dari program",
        "items": (0..<(items ?? nItems)).map { "butir \($0 + 1)" },
        "options": (0..<(options ?? nOptions)).map { "pilihan \($0)" },
        "source": source.map { $0 as Any } ?? NSNull(),
    ]
    for (k, v) in extra { doc[k] = v }
    // JSONSerialization cannot fail on these plain strings, numbers, arrays and null.
    let data = (try? JSONSerialization.data(withJSONObject: doc)) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

private var wordingVaults = 0

/// A fresh vault of its own (pytest's `vault` fixture).
func freshVault() throws -> Vault {
    wordingVaults += 1
    return try Vault.open(path: tmpPath("wording-\(wordingVaults).db"), masterKey: try generateMasterKey())
}

func wordingsSafetyTests() {
    // --- wordings ---------------------------------------------------------------------------------

    for id in wordingCounts.keys.sorted() {
        check("wordings: the built-in English wording of \(id) is cited and complete") {
            let inst = instrumentById[id]!
            let w = try freshVault().care().instrumentWording(instrument: inst, language: "en")
            let (nItems, nOptions) = wordingCounts[id]!
            try assertEqual(inst, w.instrument, "instrument")
            try assertEqual("en", w.language, "language")
            try assertEqual(nItems, w.items.count, "items")
            try assertEqual(nOptions, w.options.count, "options")
            try assertTrue(w.validated && w.builtin && !w.fallbackLanguage, "validated, built in, no fallback: \(w)")
            try assertTrue((w.source ?? "").count > 20, "cited: \(String(describing: w.source))")
        }
    }

    check("wordings: specific built-in texts") {
        let v = try freshVault()
        let phq = try v.care().instrumentWording(instrument: .phq9, language: "en")
        try assertEqual("Little interest or pleasure in doing things", phq.items.first, "PHQ-9 item 1")
        try assertTrue(phq.items.count == 9 && phq.items[8].contains("better off dead"), "PHQ-9 item 9")
        try assertEqual(["Not at all", "Several days", "More than half the days", "Nearly every day"], phq.options, "PHQ-9 options")
        try assertTrue((phq.source ?? "").contains("Pfizer"), "PHQ-9 source")
        let who = try v.care().instrumentWording(instrument: .who5, language: "en")
        try assertEqual("At no time", who.options.first, "WHO-5 first option")
        try assertTrue(who.options.count == 6 && who.options[5] == "All of the time", "WHO-5 last option: \(who.options)")
        let srq = try v.care().instrumentWording(instrument: .srq20, language: "en")
        try assertEqual(["No", "Yes"], srq.options, "SRQ-20 options")
        try assertTrue(srq.items.count == 20 && srq.items[16].contains("ending your life"), "SRQ-20 item 17")
    }

    check("wordings: Indonesian without a programme wording falls back to English") {
        let w = try freshVault().care().instrumentWording(instrument: .gad7, language: "id-ID")
        try assertEqual("en", w.language, "language")
        try assertTrue(w.fallbackLanguage && w.builtin && w.validated, "fallback, built in, validated: \(w)")
    }

    check("wordings: a programme wording, unvalidated, then replaced with a cited one") {
        let key = try generateMasterKey()
        let path = tmpPath("wording-programme.db")
        do {
            let v = try Vault.open(path: path, masterKey: key)
            let got = try v.care().importInstrumentWording(json: wordingJson())
            try assertEqual("id", got.language, "language")
            try assertEqual(false, got.validated, "validated")
            try assertEqual(nil, got.source, "source")
            try assertEqual(false, got.builtin, "built in")
        }
        let v = try Vault.open(path: path, masterKey: key) // kept in the vault across a reopen
        var w = try v.care().instrumentWording(instrument: .phq9, language: "id")
        try assertEqual("butir 1", w.items.first, "first item")
        try assertTrue(!w.validated && w.source == nil && !w.fallbackLanguage, "unvalidated, no source, no fallback: \(w)")
        try assertEqual("Petunjuk dari program", w.instructions, "instructions")
        _ = try v.care().importInstrumentWording(json: wordingJson(source: "Terjemahan tervalidasi, Program X 2025"))
        w = try v.care().instrumentWording(instrument: .phq9, language: "id-ID")
        try assertTrue(w.validated, "validated once cited")
        try assertEqual("Terjemahan tervalidasi, Program X 2025", w.source, "source")
        // Other instruments still fall back.
        try assertTrue(try v.care().instrumentWording(instrument: .who5, language: "id").fallbackLanguage, "WHO-5 falls back")
    }

    let bad: [(String, String)] = [
        ("items=8", wordingJson(items: 8)),
        ("items=10", wordingJson(items: 10)),
        ("options=3", wordingJson(options: 3)),
        ("who5 with 4 options", wordingJson(instrument: "who5", options: 4)),
        ("instrument phq10", wordingJson(instrument: "phq10")),
        ("schema sebaya-wording/9", wordingJson(extra: ["schema": "sebaya-wording/9"])),
        ("language 'bahasa indonesia'", wordingJson(language: "bahasa indonesia")),
        ("empty source", wordingJson(source: "")),
        ("an extra field", wordingJson(extra: ["extra_field": 1])),
        ("instructions of 2,001 characters", wordingJson(extra: ["instructions": String(repeating: "x", count: 2001)])),
        ("a bell in the instructions", wordingJson(extra: ["instructions": "bell \u{7}"])),
        ("not JSON", "{not json"),
        ("empty", ""),
        ("70,000 characters", String(repeating: "x", count: 70_000)),
    ]
    for (name, json) in bad {
        check("wordings: bad wording JSON is refused (\(name))") {
            let v = try freshVault()
            try assertThrows("import", invalidInput) { _ = try v.care().importInstrumentWording(json: json) }
            try assertTrue(try v.care().instrumentWording(instrument: .phq9, language: "id").builtin, "still the built-in wording")
        }
    }

    check("wordings: an unknown instrument or language is refused") {
        let v = try freshVault()
        try assertThrows("an unknown instrument", invalidInput) {
            _ = try v.care().instrumentWording(instrument: .unknown(raw: "phq10"), language: "en")
        }
        try assertThrows("an empty language", invalidInput) {
            _ = try v.care().instrumentWording(instrument: .phq9, language: "")
        }
    }

    // --- safety plan ------------------------------------------------------------------------------

    check("safety plan: steps, titles and prompts are localized") {
        let v = try freshVault()
        try assertEqual(safetyStepEnums, safetyPlanSteps(), "steps")
        let en = try v.care().safetyPlan(locale: "en")
        let id = try v.care().safetyPlan(locale: "id")
        try assertEqual(safetyStepEnums, en.map { $0.step }, "sections")
        try assertTrue(en.allSatisfy { $0.items.isEmpty }, "every section empty")
        for ((e, i), stepId) in zip(zip(en, id), safetyStepIds) {
            try assertTrue(!e.title.isEmpty && !e.prompt.isEmpty, "\(stepId): title and prompt")
            try assertTrue(e.title != i.title && e.prompt != i.prompt, "\(stepId): translated")
            try assertEqual(localizedMessage(messageId: "safety-step-\(stepId)-title", locale: "en", detail: nil), e.title, "\(stepId) title")
        }
    }

    check("safety plan: add, edit, remove and reopen") {
        let key = try generateMasterKey()
        let path = tmpPath("plan-edit.db")
        var a = "", b = "", c = ""
        do {
            let v = try Vault.open(path: path, masterKey: key)
            a = try v.care().addSafetyPlanItem(step: safetyStep["warning-signs"]!, text: "Tidak bisa tidur")
            b = try v.care().addSafetyPlanItem(step: safetyStep["help-people"]!, text: "Kak Rina")
            c = try v.care().addSafetyPlanItem(step: safetyStep["help-people"]!, text: "Pak Budi, guru BK")
            try assertEqual(3, Set([a, b, c]).count, "three ids")
            try assertTrue([a, b, c].allSatisfy { $0.count == 16 }, "16-character ids")
            try v.care().editSafetyPlanItem(id: b, text: "Kak Rina 0812", step: nil, order: nil)
            try v.care().editSafetyPlanItem(id: c, text: nil, step: nil, order: -1) // move first within its step
            try v.care().editSafetyPlanItem(id: a, text: nil, step: safetyStep["what-matters"]!, order: nil)
        }
        let v = try Vault.open(path: path, masterKey: key)
        let sections = try v.care().safetyPlan(locale: "id")
        try assertEqual(safetyStepEnums, sections.map { $0.step }, "sections")
        let plan = Dictionary(uniqueKeysWithValues: zip(safetyStepIds, sections))
        func section(_ id: String) throws -> SafetyPlanSection {
            guard let s = plan[id] else { throw CheckFailure(description: "no section \(id)") }
            return s
        }
        try assertEqual(["Pak Budi, guru BK", "Kak Rina 0812"], try section("help-people").items.map { $0.text }, "help people")
        try assertEqual([SafetyPlanItem](), try section("warning-signs").items, "warning signs emptied")
        try assertEqual([a], try section("what-matters").items.map { $0.id }, "moved to what matters")
        let item = try element(try section("help-people").items, 1, "help people")
        try assertTrue(item.editedMs >= item.addedMs && item.addedMs > 0, "times: \(item)")
        try assertEqual(SafetyStep.helpPeople, item.step, "step")
        try v.care().removeSafetyPlanItem(id: b)
        try assertEqual([c], try element(try v.care().safetyPlan(locale: "en"), 3, "sections").items.map { $0.id }, "after removal")
        try assertThrows("removing it again", notFound) { try v.care().removeSafetyPlanItem(id: b) }
        try assertThrows("editing an unknown item", notFound) {
            try v.care().editSafetyPlanItem(id: "0123456789abcdef", text: "x", step: nil, order: nil)
        }
        // Plan items never appear as journal entries.
        try assertEqual([JournalEntry](), try v.journal().list(), "no journal entries")
    }

    let badItems: [(String, String, String)] = [
        ("an unknown step", "no-such-step", "x"),
        ("empty text", "coping-alone", ""),
        ("blank text", "coping-alone", "   "),
        ("2,001 characters", "coping-alone", String(repeating: "x", count: 2001)),
        ("a NUL character", "coping-alone", "a\u{0}b"),
    ]
    for (name, step, text) in badItems {
        check("safety plan: a bad item is refused (\(name))") {
            let v = try freshVault()
            try assertThrows("add", invalidInput) {
                _ = try v.care().addSafetyPlanItem(step: safetyStep[step] ?? .unknown(raw: step), text: text)
            }
            try assertTrue(try v.care().safetyPlan(locale: "en").allSatisfy { $0.items.isEmpty }, "nothing kept")
        }
    }

    check("safety plan: summary and JSON snapshot") {
        let v = try freshVault()
        _ = try v.care().addSafetyPlanItem(step: safetyStep["professionals"]!, text: "SEJIWA 119 ext. 8")
        _ = try v.care().addSafetyPlanItem(step: safetyStep["coping-alone"]!, text: "Jalan sore\ndengar musik")
        let en = try v.care().safetyPlanSummary(locale: "en")
        let id = try v.care().safetyPlanSummary(locale: "id")
        try assertTrue(en != id, "the summaries differ by language")
        try assertTrue(en.contains("SEJIWA 119 ext. 8") && id.contains("SEJIWA 119 ext. 8"), "the item in both")
        for s in try v.care().safetyPlan(locale: "id") {
            try assertTrue(id.contains(s.title), "the Indonesian summary has \(s.title)")
        }
        let snap = try jsonObject(try v.care().safetyPlanJson(), "plan JSON")
        let sections = snap["sections"] as? [[String: Any]] ?? []
        try assertEqual(safetyStepIds, sections.map { $0["step"] as? String ?? "" }, "snapshot steps")
        let items = sections.count > 1 ? sections[1]["items"] as? [[String: Any]] ?? [] : []
        try assertEqual("Jalan sore\ndengar musik", items.first?["text"] as? String, "snapshot text")
    }

    check("safety plan: items added offline on two linked devices both arrive") {
        let url = try relayURL()
        let a = try Vault.open(path: tmpPath("plan-a.db"), masterKey: try generateMasterKey())
        let b = try Vault.open(path: tmpPath("plan-b.db"), masterKey: try generateMasterKey())
        try b.completeLink(response: try a.approveLink(request: try b.linkRequest()))
        // Both write before either has synced: one item each, same step.
        let ia = try a.care().addSafetyPlanItem(step: safetyStep["coping-alone"]!, text: "Ditulis di ponsel A")
        let ib = try b.care().addSafetyPlanItem(step: safetyStep["coping-alone"]!, text: "Ditulis di ponsel B")
        _ = try a.sync(relayUrl: url)
        _ = try b.sync(relayUrl: url)
        _ = try a.sync(relayUrl: url)
        for (name, v) in [("A", a), ("B", b)] {
            let items = try element(try v.care().safetyPlan(locale: "id"), 1, "sections on \(name)").items
            try assertEqual(Set([ia, ib]), Set(items.map { $0.id }), "ids on \(name)")
            try assertEqual(Set(["Ditulis di ponsel A", "Ditulis di ponsel B"]), Set(items.map { $0.text }), "texts on \(name)")
        }
        try assertEqual(try a.care().safetyPlanJson(), try b.care().safetyPlanJson(), "the same plan")
    }

    check("safety plan: a device with its own plan is not linked over it") {
        let a = try Vault.open(path: tmpPath("plan-own-a.db"), masterKey: try generateMasterKey())
        let b = try Vault.open(path: tmpPath("plan-own-b.db"), masterKey: try generateMasterKey())
        _ = try b.care().addSafetyPlanItem(step: safetyStep["what-matters"]!, text: "Adikku")
        try assertThrows("linking over a plan", alreadyLinked) {
            try b.completeLink(response: try a.approveLink(request: try b.linkRequest()))
        }
        try assertEqual("Adikku", try element(try b.care().safetyPlan(locale: "en"), 6, "sections").items.first?.text, "the plan kept")
    }
}
