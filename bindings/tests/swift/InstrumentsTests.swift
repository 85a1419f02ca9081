// Programme-defined instruments and SRQ-20's cut-off through the Swift bindings (issue 14, item 8): the
// same flows as bindings/tests/python/test_programme_instruments.py. main.swift runs
// instrumentsTests(). "TEST-3" is FICTIONAL: placeholder items, no real instrument's wording.

import Foundation

/// TEST-3 (fictional) as a JSON object, to change before encoding.
func test3Object() -> [String: Any] {
    return [
        "schema": "sebaya-instrument/1",
        "id": "x-test3",
        "name": "TEST-3 (fictional)",
        "version": "1.0",
        "citation": [
            "authors": "Sebaya test fixture", "year": 2026,
            "title": "TEST-3, a fictional three-item instrument for tests",
            "published_in": "not published: a test fixture",
        ] as [String: Any],
        "licence": "fictional, for tests only",
        "age": ["min": 12, "max": 17],
        "scoring": ["reverse_items": [2], "multiplier": 1] as [String: Any],
        "bands": [
            ["id": "low", "min": 0, "max": 2, "positive": false] as [String: Any],
            ["id": "high", "min": 3, "max": 6, "positive": true] as [String: Any],
        ],
        "risk_items": [["item": 3, "values": [1, 2]] as [String: Any]],
        "languages": [[
            "language": "en",
            "items": ["Placeholder item one", "Placeholder item two", "Placeholder item three"],
            "options": [
                ["label": "Placeholder answer A", "value": 0] as [String: Any],
                ["label": "Placeholder answer B", "value": 1] as [String: Any],
                ["label": "Placeholder answer C", "value": 2] as [String: Any],
            ],
            "bands": ["low": "Placeholder low", "high": "Placeholder high"],
        ] as [String: Any]],
    ]
}

func encoded(_ o: [String: Any]) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: o)
    return String(decoding: data, as: UTF8.self)
}

func instrumentsTests() {
    check("instruments: bad definitions are refused with a typed fault") {
        try assertEqual(nil, checkProgrammeInstrument(json: try encoded(test3Object())), "a good one")
        var o = test3Object()
        var bands = o["bands"] as! [[String: Any]]
        bands[1]["min"] = 2
        o["bands"] = bands
        try assertEqual(InstrumentProblem.bandsOverlap(at: 2), checkProgrammeInstrument(json: try encoded(o)), "overlap")
        bands[1]["min"] = 4
        o["bands"] = bands
        try assertEqual(InstrumentProblem.bandsGap(at: 3), checkProgrammeInstrument(json: try encoded(o)), "gap")
        o = test3Object()
        o["risk_items"] = [["item": 4, "values": [1]] as [String: Any]]
        try assertEqual(InstrumentProblem.riskItemOutOfRange(item: 4), checkProgrammeInstrument(json: try encoded(o)), "risk item")
        o = test3Object()
        o.removeValue(forKey: "citation")
        try assertEqual(InstrumentProblem.missingCitation, checkProgrammeInstrument(json: try encoded(o)), "citation")
        o = test3Object()
        var langs = o["languages"] as! [[String: Any]]
        langs[0]["options"] = [["label": "A", "value": 0], ["label": "B"], ["label": "C", "value": 2]] as [[String: Any]]
        o["languages"] = langs
        try assertEqual(InstrumentProblem.labelWithoutValue, checkProgrammeInstrument(json: try encoded(o)), "label without value")
        o = test3Object()
        o["id"] = "phq9"
        try assertEqual(InstrumentProblem.reservedId, checkProgrammeInstrument(json: try encoded(o)), "built-in id")
    }

    check("instruments: a programme instrument screens and a risk answer refers") {
        let url = try relayURL()
        let (coord, sup, part, care, pid) = try threeDevices("instruments", url)
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        for v in [part, coord, sup] { _ = try v.sync(relayUrl: url) }
        let json = try encoded(test3Object())
        try assertThrows("a supporter adds one", notAllowed) {
            _ = try sup.care().setProgrammeInstrument(programmeId: pid, json: json)
        }
        var bad = test3Object()
        bad["id"] = "srq20"
        let badJson = try encoded(bad)
        try assertThrows("a built-in's id", invalidInput) {
            _ = try coord.care().setProgrammeInstrument(programmeId: pid, json: badJson)
        }
        let added = try coord.care().setProgrammeInstrument(programmeId: pid, json: json)
        try assertEqual("x-test3-item3", try single(added.riskItems, "risk rules").flag, "flag")
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        let got = try single(try part.care().programmeInstruments(), "instruments")
        try assertEqual(UInt32(3), got.items, "items")
        try assertTrue(try part.care().programmeInstrumentOffered(id: "x-test3", language: "en"), "offered in English")
        try assertTrue(!(try part.care().programmeInstrumentOffered(id: "x-test3", language: "id")), "not in Indonesian")

        let calm = try part.care().submitProgrammeScreening(id: "x-test3", language: "en", answers: Data([1, 1, 0]), country: "ID")
        try assertEqual("low", calm.programmeScore?.band, "band")
        try assertTrue(calm.referrals.isEmpty && !calm.resources.isEmpty, "no referral, numbers")
        try assertThrows("an answer out of range", invalidInput) {
            _ = try part.care().submitProgrammeScreening(id: "x-test3", language: "en", answers: Data([0, 0, 3]), country: "ID")
        }
        let esc = try part.care().submitProgrammeScreening(id: "x-test3", language: "en", answers: Data([0, 2, 2]), country: "ID")
        try assertEqual([RiskFlag.unknown(raw: "x-test3-item3")], esc.rules, "rules")
        try assertEqual(1, esc.referrals.count, "referred")
        try assertTrue(esc.showSafetyPlan && !esc.resources.isEmpty, "numbers and plan")
        let kept = try part.care().screenings().last
        try assertEqual("x-test3@1.0/en", kept?.wording, "wording")
        try assertEqual("1.0", kept?.instrumentVersion, "version")
        _ = try part.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let inbox = try single(try coord.care().referralInbox(), "inbox")
        try assertEqual(ReferralReason.unknown(raw: "x-test3-item3"), inbox.reason, "the coordinator's reason")

        try assertEqual(UInt32(6), try part.care().srq20Settings().cutoff, "SRQ-20 default")
        try assertThrows("a supporter sets the cut-off", notAllowed) {
            _ = try sup.care().setSrq20Settings(programmeId: pid, cutoff: 8, minAge: 18, maxAge: nil, citation: "A study")
        }
        _ = try coord.care().setSrq20Settings(programmeId: pid, cutoff: 8, minAge: 18, maxAge: nil, citation: "Fictional validation study, for tests only")
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        let s = try part.care().srq20Settings()
        try assertEqual(UInt32(8), s.cutoff, "cutoff")
        try assertTrue(!s.isDefault && !(try part.care().srq20SuitsAge(age: 17)), "age limit")
    }
}
