// Instruments scored on the device through the Swift bindings (by submitScreening, the only way): totals, bands, positive screens and
// risk flags; bad answers are refused; the bands are named in both languages. The same assertions as
// test_instruments_are_scored_on_the_device_with_risk_flags in bindings/tests/python/test_sebaya.py.
// main.swift runs screeningTests().

import Foundation

func screeningTests() {
    check("screening: instruments are scored on the device with risk flags, only through the escalation") {
        // Issue 14, item 10: no call scores answers and hands back a risk flag that escalates nothing.
        let care = try Vault.open(path: tmpPath("screening-score.db"), masterKey: try generateMasterKey()).care()
        func scoreInstrument(instrument: Instrument, answers: Data) throws -> InstrumentScore {
            let esc = try care.submitScreening(instrument: instrument, answers: answers, country: "id")
            guard let s = esc.score else { throw CheckFailure(description: "a screening returns its score") }
            try assertEqual(s.riskFlags, esc.rules, "the flag escalates")
            try assertTrue(!esc.resources.isEmpty, "with the crisis lines")
            return s
        }
        var s = try scoreInstrument(instrument: .phq9, answers: Data([1, 1, 1, 1, 1, 1, 1, 1, 1]))
        try assertEqual(UInt32(9), s.total, "PHQ-9 total")
        try assertEqual(ScreeningBand.mild, s.band, "PHQ-9 band")
        try assertEqual(false, s.positiveScreen, "PHQ-9 positive screen")
        try assertEqual([RiskFlag.phq9Item9], s.riskFlags, "PHQ-9 risk flags")
        try assertEqual(Instrument.phq9, s.instrument, "instrument")
        s = try scoreInstrument(instrument: .who5, answers: Data([3, 3, 3, 3, 0]))
        try assertEqual(UInt32(12), s.total, "WHO-5 total")
        try assertEqual(UInt32(48), s.percentage, "WHO-5 percentage")
        try assertEqual(ScreeningBand.wellbeingLow, s.band, "WHO-5 band")
        try assertEqual(true, s.positiveScreen, "WHO-5 positive screen")
        var yes17 = [UInt8](repeating: 0, count: 20)
        yes17[16] = 1
        s = try scoreInstrument(instrument: .srq20, answers: Data(yes17))
        try assertEqual(ScreeningBand.belowCutoff, s.band, "SRQ-20 band")
        try assertEqual([RiskFlag.srq20Item17], s.riskFlags, "SRQ-20 risk flags")
        try assertThrows("a GAD-7 answer out of range", invalidInput) {
            _ = try scoreInstrument(instrument: .gad7, answers: Data([4, 0, 0, 0, 0, 0, 0]))
        }
        try assertThrows("eight PHQ-9 answers", invalidInput) {
            _ = try scoreInstrument(instrument: .phq9, answers: Data(repeating: 0, count: 8))
        }
        try assertThrows("an instrument this version does not know", invalidInput) {
            _ = try scoreInstrument(instrument: .unknown(raw: "bdi"), answers: Data([0]))
        }
        for band in ["minimal", "moderately-severe", "wellbeing-very-low", "above-cutoff"] {
            for locale in ["id", "en"] {
                try assertTrue(localizedMessage(messageId: "band-" + band, locale: locale) != "band-" + band, "band-\(band) in \(locale)")
            }
        }
    }
}
