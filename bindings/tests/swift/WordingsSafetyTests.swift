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

/// The items each instrument's risk rule watches.
let wordingRiskItems: [String: [UInt32]] = ["phq9": [9], "srq20": [17], "gad7": [], "who5": []]

/// One answer of a wording document: a label with its value.
func wordingAnswer(_ label: String, _ value: Any) -> [String: Any] { ["label": label, "value": value] }

/// A programme wording document (schema sebaya-wording/2): answers listed value 0 first, each with its
/// value, and the risk items of the instrument's rule; `extra` adds or overrides fields, `omit` drops
/// them.
func wordingJson(
    instrument: String = "phq9", language: String = "id", items: Int? = nil, options: Int? = nil,
    source: String? = nil, extra: [String: Any] = [:], omit: [String] = []
) -> String {
    let (nItems, nOptions) = wordingCounts[instrument] ?? (9, 4)
    var doc: [String: Any] = [
        "schema": "sebaya-wording/2",
        "instrument": instrument,
        "language": language,
        "instructions": "Petunjuk dari program",
        "items": (0..<(items ?? nItems)).map { "butir \($0 + 1)" },
        "options": (0..<(options ?? nOptions)).map { wordingAnswer("pilihan \($0)", $0) },
        "risk_items": (wordingRiskItems[instrument] ?? [9]).map { Int($0) },
        "source": source.map { $0 as Any } ?? NSNull(),
    ]
    for (k, v) in extra { doc[k] = v }
    for k in omit { doc.removeValue(forKey: k) }
    // JSONSerialization cannot fail on these plain strings, numbers, arrays and null.
    let data = (try? JSONSerialization.data(withJSONObject: doc)) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

/// An SRQ-20 form as an Indonesian programme prints it: "Ya" before "Tidak".
func srq20YaFirst(extra: [String: Any] = [:], omit: [String] = []) -> String {
    var fields: [String: Any] = [
        "options": [wordingAnswer("Ya", 1), wordingAnswer("Tidak", 0)],
        "items": (1...20).map { "pertanyaan \($0)" },
    ]
    for (k, v) in extra { fields[k] = v }
    return wordingJson(instrument: "srq20", source: "Program X, 2025", extra: fields, omit: omit)
}

/// The same form in schema sebaya-wording/1 (labels only, listed as printed).
let v1Srq20: String = {
    let doc: [String: Any] = [
        "schema": "sebaya-wording/1", "instrument": "srq20", "language": "id",
        "items": (1...20).map { "pertanyaan \($0)" }, "options": ["Ya", "Tidak"], "source": NSNull(),
    ]
    let data = (try? JSONSerialization.data(withJSONObject: doc)) ?? Data()
    return String(decoding: data, as: UTF8.self)
}()

/// The English detail of an InvalidInput (nil for any other case).
func invalidInputDetail(_ e: SebayaError) -> String? { if case .InvalidInput(_, let d) = e { return d }; return nil }

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
            let v = try freshVault()
            let w = try v.care().instrumentWording(instrument: inst, language: "en")
            let (nItems, nOptions) = wordingCounts[id]!
            try assertEqual(inst, w.instrument, "instrument")
            try assertEqual("en", w.language, "language")
            try assertEqual(nItems, w.items.count, "items")
            try assertEqual(nOptions, w.options.count, "options")
            try assertTrue(w.validated && w.builtin, "validated, built in: \(w)")
            try assertTrue((w.source ?? "").count > 20, "cited: \(String(describing: w.source))")
            try assertEqual(Array(0..<UInt8(nOptions)), Array(w.displayOrder).sorted(), "printed order")
            try assertEqual(wordingRiskItems[id]!, w.riskItems, "risk items")
            try assertTrue(try v.care().instrumentOffered(instrument: inst, language: "en"), "offered in English")
        }
    }

    check("wordings: specific built-in texts") {
        let v = try freshVault()
        let phq = try v.care().instrumentWording(instrument: .phq9, language: "en")
        try assertEqual("Little interest or pleasure in doing things", phq.items.first, "PHQ-9 item 1")
        try assertTrue(phq.items.count == 9 && phq.items[8].contains("better off dead"), "PHQ-9 item 9")
        try assertEqual(["Not at all", "Several days", "More than half the days", "Nearly every day"], phq.options, "PHQ-9 options")
        try assertEqual([0, 1, 2, 3], Array(phq.displayOrder), "PHQ-9 printed order")
        try assertTrue((phq.source ?? "").contains("Pfizer"), "PHQ-9 source")
        let who = try v.care().instrumentWording(instrument: .who5, language: "en")
        try assertEqual("At no time", who.options.first, "WHO-5 first option")
        try assertTrue(who.options.count == 6 && who.options[5] == "All of the time", "WHO-5 last option: \(who.options)")
        // The WHO-5 form prints "All of the time" (5) first.
        try assertEqual([5, 4, 3, 2, 1, 0], Array(who.displayOrder), "WHO-5 printed order")
        let srq = try v.care().instrumentWording(instrument: .srq20, language: "en")
        try assertEqual(["No", "Yes"], srq.options, "SRQ-20 options")
        try assertTrue(srq.items.count == 20 && srq.items[16].contains("ending your life"), "SRQ-20 item 17")
    }

    check("wordings: Indonesian without a programme wording is not offered (never English instead)") {
        let v = try freshVault()
        for inst in instrumentById.values {
            for tag in ["id", "id-ID", "in", "in_ID"] {
                try assertTrue(!(try v.care().instrumentOffered(instrument: inst, language: tag)), "\(inst) not offered in \(tag)")
                try assertThrows("\(inst) wording in \(tag)", notFound) {
                    _ = try v.care().instrumentWording(instrument: inst, language: tag)
                }
            }
            try assertTrue(try v.care().instrumentOffered(instrument: inst, language: "en-GB"), "\(inst) offered in en-GB")
            try assertTrue(try v.care().instrumentWording(instrument: inst, language: "en-GB").builtin, "\(inst) built-in English")
        }
    }

    check("wordings: old Android's 'in' reads as 'id'") {
        let v = try freshVault()
        let got = try v.care().importInstrumentWording(json: srq20YaFirst(extra: ["language": "in"]))
        try assertEqual("id", got.language, "stored as id")
        for tag in ["in", "in-ID", "id", "id_ID"] {
            try assertTrue(try v.care().instrumentOffered(instrument: .srq20, language: tag), "offered in \(tag)")
            try assertEqual("id", try v.care().instrumentWording(instrument: .srq20, language: tag).language, "wording for \(tag)")
        }
        try assertTrue(!(try v.care().instrumentOffered(instrument: .phq9, language: "in")), "PHQ-9 still not offered")
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
        try assertTrue(!w.validated && w.source == nil, "unvalidated, no source: \(w)")
        try assertEqual("Petunjuk dari program", w.instructions, "instructions")
        try assertEqual([0, 1, 2, 3], Array(w.displayOrder), "printed order")
        try assertEqual([9], w.riskItems, "risk items")
        _ = try v.care().importInstrumentWording(json: wordingJson(source: "Terjemahan tervalidasi, Program X 2025"))
        w = try v.care().instrumentWording(instrument: .phq9, language: "id-ID")
        try assertTrue(w.validated, "validated once cited")
        try assertEqual("Terjemahan tervalidasi, Program X 2025", w.source, "source")
        // Other instruments are still not offered in Indonesian.
        try assertTrue(!(try v.care().instrumentOffered(instrument: .who5, language: "id")), "WHO-5 not offered")
        try assertThrows("WHO-5 in Indonesian", notFound) { _ = try v.care().instrumentWording(instrument: .who5, language: "id") }
    }

    check("wordings: a form printed 'Ya' before 'Tidak' scores 'Ya' as 1 and keeps SRQ-20 item 17's rule") {
        let v = try personVault("wording-srq.db")
        let w = try v.care().importInstrumentWording(json: srq20YaFirst())
        try assertEqual(["Tidak", "Ya"], w.options, "labels by value")
        try assertEqual([1, 0], Array(w.displayOrder), "printed order")
        try assertEqual([17], w.riskItems, "risk items")
        // What the app does: show the labels in the printed order, record the value of the one tapped.
        let shown = w.displayOrder.map { (w.options[Int($0)], $0) }
        try assertEqual(["Ya", "Tidak"], shown.map { $0.0 }, "shown")
        let value = Dictionary(uniqueKeysWithValues: shown)
        var answers = [UInt8](repeating: value["Tidak"]!, count: 20)
        answers[16] = value["Ya"]!
        let esc = try v.care().submitScreening(instrument: .srq20, answers: Data(answers), country: "id")
        try assertEqual(1, esc.score?.total, "total")
        try assertEqual([RiskFlag.srq20Item17], esc.rules, "rule fired")
        let none = try v.care().submitScreening(
            instrument: .srq20, answers: Data(repeating: value["Tidak"]!, count: 20), country: "id")
        try assertEqual([RiskFlag](), none.rules, "all 'Tidak': no rule")
    }

    check("wordings: the preview shows each label with its value and the risk items, keeping nothing") {
        let p = try previewInstrumentWording(json: srq20YaFirst())
        try assertEqual(["Ya", "Tidak"], p.answers.map { $0.label }, "labels in printed order")
        try assertEqual([1, 0], p.answers.map { $0.value }, "their values")
        let r = try element(p.riskItems, 0, "risk items")
        try assertEqual(1, p.riskItems.count, "one risk item")
        try assertEqual(17, r.item, "item 17")
        try assertEqual("pertanyaan 17", r.text, "its text")
        try assertEqual(RiskFlag.srq20Item17, r.flag, "its flag")
        try assertEqual([WordingAnswer(label: "Ya", value: 1)], r.raisedBy, "raised by 'Ya'")
        let phq = try previewInstrumentWording(json: wordingJson(extra: ["options": [3, 2, 1, 0].map { wordingAnswer("p\($0)", $0) }]))
        try assertEqual([3, 2, 1, 0], phq.answers.map { $0.value }, "PHQ-9 printed order")
        try assertEqual(["p3", "p2", "p1"], try element(phq.riskItems, 0, "PHQ-9 risk items").raisedBy.map { $0.label }, "item 9 above 0")
        try assertEqual(0, try previewInstrumentWording(json: wordingJson(instrument: "gad7")).riskItems.count, "GAD-7 none")
        try assertTrue(!(try freshVault().care().instrumentOffered(instrument: .srq20, language: "id")), "a preview keeps nothing")
    }

    check("wordings: v1 is refused pointing to v2; a risk_items mismatch names the expected items") {
        let v = try freshVault()
        let detail = try assertThrows("v1 import", invalidInputDetail) { _ = try v.care().importInstrumentWording(json: v1Srq20) }
        try assertTrue(detail.contains("sebaya-wording/2"), "points to v2: \(detail)")
        try assertThrows("v1 preview", invalidInput) { _ = try previewInstrumentWording(json: v1Srq20) }
        let m = try assertThrows("risk [16]", invalidInputDetail) {
            _ = try v.care().importInstrumentWording(json: srq20YaFirst(extra: ["risk_items": [16]]))
        }
        try assertTrue(m.contains("[17]"), "names [17]: \(m)")
        try assertTrue(!(try v.care().instrumentOffered(instrument: .srq20, language: "id")), "nothing kept")
    }

    check("wordings: errors never repeat the text given") {
        let cases = [
            srq20YaFirst(extra: ["options": [wordingAnswer("RAHASIA\u{7}", 1), wordingAnswer("Tidak", 0)]]),
            srq20YaFirst(extra: ["RAHASIA": 1]),
            srq20YaFirst(extra: ["options": [wordingAnswer("Ya", "RAHASIA"), wordingAnswer("Tidak", 0)]]),
            srq20YaFirst(extra: ["instrument": "RAHASIA"]),
        ]
        for json in cases {
            let detail = try assertThrows("preview", invalidInputDetail) { _ = try previewInstrumentWording(json: json) }
            try assertTrue(!detail.contains("RAHASIA"), "no text in: \(detail)")
        }
    }

    let bad: [(String, String)] = [
        ("items=8", wordingJson(items: 8)),
        ("items=10", wordingJson(items: 10)),
        ("options=3", wordingJson(options: 3)),
        ("who5 with 4 options", wordingJson(instrument: "who5", options: 4)),
        ("instrument phq10", wordingJson(instrument: "phq10")),
        ("schema sebaya-wording/9", wordingJson(extra: ["schema": "sebaya-wording/9"])),
        ("schema sebaya-wording/1", wordingJson(extra: ["schema": "sebaya-wording/1"])),
        ("language 'bahasa indonesia'", wordingJson(language: "bahasa indonesia")),
        ("empty source", wordingJson(source: "")),
        ("an extra field", wordingJson(extra: ["extra_field": 1])),
        ("instructions of 2,001 characters", wordingJson(extra: ["instructions": String(repeating: "x", count: 2001)])),
        ("a bell in the instructions", wordingJson(extra: ["instructions": "bell \u{7}"])),
        ("a value twice", srq20YaFirst(extra: ["options": [wordingAnswer("Ya", 1), wordingAnswer("Tidak", 1)]])),
        ("a value out of range", srq20YaFirst(extra: ["options": [wordingAnswer("Ya", 2), wordingAnswer("Tidak", 0)]])),
        ("a negative value", srq20YaFirst(extra: ["options": [wordingAnswer("Ya", -1), wordingAnswer("Tidak", 0)]])),
        ("bare labels", srq20YaFirst(extra: ["options": ["Ya", "Tidak"]])),
        ("an extra answer field", srq20YaFirst(extra: ["options": [["label": "Ya", "value": 1, "score": 1] as [String: Any], wordingAnswer("Tidak", 0)]])),
        ("the same label twice", srq20YaFirst(extra: ["options": [wordingAnswer("Ya", 1), wordingAnswer("Ya", 0)]])),
        ("risk_items []", srq20YaFirst(extra: ["risk_items": [Int]()])),
        ("risk_items [16]", srq20YaFirst(extra: ["risk_items": [16]])),
        ("risk_items [17, 17]", srq20YaFirst(extra: ["risk_items": [17, 17]])),
        ("risk_items missing", srq20YaFirst(omit: ["risk_items"])),
        ("gad7 with risk_items [9]", wordingJson(instrument: "gad7", extra: ["risk_items": [9]])),
        ("a v1 document", v1Srq20),
        ("not JSON", "{not json"),
        ("empty", ""),
        ("70,000 characters", String(repeating: "x", count: 70_000)),
    ]
    for (name, json) in bad {
        check("wordings: bad wording JSON is refused (\(name))") {
            let v = try freshVault()
            try assertThrows("import", invalidInput) { _ = try v.care().importInstrumentWording(json: json) }
            try assertThrows("preview", invalidInput) { _ = try previewInstrumentWording(json: json) }
            try assertTrue(!(try v.care().instrumentOffered(instrument: .phq9, language: "id")), "nothing kept (PHQ-9)")
            try assertTrue(!(try v.care().instrumentOffered(instrument: .srq20, language: "id")), "nothing kept (SRQ-20)")
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
        try assertThrows("an unknown instrument offered", invalidInput) {
            _ = try v.care().instrumentOffered(instrument: .unknown(raw: "phq10"), language: "en")
        }
        try assertThrows("a malformed language offered", invalidInput) {
            _ = try v.care().instrumentOffered(instrument: .phq9, language: "??")
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
