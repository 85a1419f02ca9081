// Care records through the Swift bindings: enrolment, consent, the risk escalation ladder across three
// devices through the relay on loopback, sharing with a supporter, erasure, export and "lock now", and
// the texts people see, in both languages. The same flows and assertions as
// bindings/tests/python/test_care.py (its programme report is in ReportsTests.swift). main.swift runs
// careTests().

import Foundation

/// A coordinator, a certified peer supporter and an enrolled participant, all synced once. Returns
/// (coordinator, supporter, participant, care record id, programme id).
func threeDevices(_ prefix: String, _ url: String) throws -> (Vault, Vault, Vault, String, String) {
    let coord = try personVault(prefix + "-c.db")
    let sup = try personVault(prefix + "-s.db")
    let part = try personVault(prefix + "-p.db")
    let pid = try coord.programmes().create(name: "PIK-R SMA 1")
    let grant = try coord.programmes().grantRole(
        programmeId: pid, personId: try personIdOf(sup), role: .peerSupporter, validDays: 90)
    _ = try sup.programmes().addCredential(credential: grant.credential)
    let enrol = try coord.care().enrol(request: try part.linkRequest(), programmeId: pid)
    _ = try part.spaces().join(response: enrol.response)
    _ = try sup.spaces().join(response: try coord.spaces().approveMember(spaceId: enrol.careId, request: try sup.linkRequest()))
    for v in [coord, part, sup] { _ = try v.sync(relayUrl: url) }
    return (coord, sup, part, enrol.careId, pid)
}

func dutyOfCareRequired(_ e: SebayaError) -> String? { if case .DutyOfCareRequired(let m, _) = e { return m }; return nil }

func careTests() {
    check("care: a risk answer reaches the coordinator and the acknowledgement comes back") {
        let url = try relayURL()
        let (coord, sup, part, care, _) = try threeDevices("care-ladder", url)
        let text = try consentText(purpose: .dutyOfCare, locale: "id")
        try assertEqual("1", text.version, "consent text version")
        try assertTrue(!text.text.isEmpty && !text.title.isEmpty, "consent text and title: \(text)")
        try assertEqual(ConsentPurpose.dutyOfCare, text.purpose, "consent text purpose")
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        _ = try part.sync(relayUrl: url)
        try assertEqual([CareViewer.participant], try part.care().records().map { $0.viewer }, "participant's view")
        try assertEqual([CareViewer.coordinator], try coord.care().records().map { $0.viewer }, "coordinator's view")

        let esc = try part.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 1]), country: "ID")
        try assertEqual([RiskFlag.phq9Item9], esc.rules, "rules")
        try assertTrue(esc.showSafetyPlan, "show the safety plan")
        try assertEqual(["119", "", "129", "+628111129129", "119", "110", "112"], esc.resources.map { $0.number }, "crisis numbers")
        try assertEqual(["8", nil, nil, nil, nil, nil, nil], esc.resources.map { $0.`extension` }, "extensions")
        try assertEqual(1, esc.referrals.count, "one referral")
        let mine = try single(try part.care().referrals(careId: care), "the participant's referrals")
        try assertEqual(ReferralState.queued, mine.state, "queued offline")
        try assertEqual(false, mine.told, "not told yet")
        try assertEqual([CareNotice.notToldYet], esc.notices, "waiting to be sent, said plainly")
        try assertEqual(CareNotice.notToldYet, mine.notice, "not told yet")
        try assertTrue(mine.verified, "the participant's own, verified")
        _ = try part.sync(relayUrl: url)
        try assertEqual(ReferralState.sent, try part.care().referrals(careId: care).first?.state, "sent after the sync")
        try assertEqual(CareNotice.sentNoAnswer, try part.care().referrals(careId: care).first?.notice, "sent is not told")

        _ = try sup.sync(relayUrl: url)
        let seen = try single(try sup.care().referrals(careId: care), "the supporter's referrals")
        try assertEqual(nil, seen.reason, "a supporter does not see the rule")
        try assertEqual(ReferralOrigin.participant, seen.origin, "one origin, never rule")
        try assertTrue(!seen.told, "the supporter sees it untold")
        try assertThrows("a supporter acknowledges", notAllowed) {
            try sup.care().updateReferral(careId: care, referralId: seen.id, state: .acknowledged)
        }

        _ = try coord.sync(relayUrl: url)
        let inbox = try single(try coord.care().referralInbox(), "the coordinator's inbox")
        try assertEqual(ReferralReason.phq9Item9, inbox.reason, "the coordinator sees the rule")
        try coord.care().updateReferral(careId: care, referralId: inbox.id, state: .acknowledged)
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        let back = try single(try part.care().referrals(careId: care), "the participant's referrals afterwards")
        try assertTrue(back.told, "told")
        try assertEqual(CareNotice.told, back.notice, "the notice says told")
        try assertEqual(ReferralState.acknowledged, back.state, "acknowledged")
        guard let tta = back.timeToAcknowledgeMs else { throw CheckFailure(description: "no time to acknowledge") }
        try assertTrue(tta >= 0, "time to acknowledge: \(tta)")
        try assertEqual([UInt32(1)], try part.care().screenings().map { $0.total }, "the participant's screenings")
        try assertEqual([Screening](), try sup.care().screenings(), "the supporter holds no screening")
    }

    check("care: consent is the participant's and withdrawal stops automatic referrals") {
        let url = try relayURL()
        let (coord, sup, part, care, pid) = try threeDevices("care-consent", url)
        try assertThrows("a supporter consents", notAllowed) {
            _ = try sup.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        }
        try assertThrows("a purpose this version does not know", invalidInput) {
            _ = try part.care().giveConsent(careId: care, purpose: .unknown(raw: "marketing"), agreed: true)
        }
        _ = try coord.care().recordGuardianConsent(careId: care, purpose: .dataProcessing, relation: "ibu", formReference: nil, agreed: true)
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: false)
        try assertTrue(!(try part.care().hasConsent(careId: care, purpose: .dutyOfCare)), "consent withdrawn")
        var answers = [UInt8](repeating: 0, count: 20)
        answers[16] = 1
        let esc = try part.care().submitScreening(instrument: .srq20, answers: Data(answers), country: "id")
        try assertEqual([RiskFlag.srq20Item17], esc.rules, "rules")
        try assertEqual([String](), esc.referrals, "no automatic referral")
        try assertEqual([care], esc.notReferred, "not referred")
        try assertEqual(1, try part.care().askForHelp(country: "id").referrals.count, "help now still refers")
        _ = try part.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let ledger = try coord.care().consentLedger(careId: care)
        try assertEqual([ConsentPurpose.dutyOfCare, .dutyOfCare, .dataProcessing], ledger.map { $0.purpose }, "ledger purposes")
        try assertEqual([true, false, true], ledger.map { $0.agreed }, "ledger agreed")
        try assertEqual([nil, nil, "ibu"], ledger.map { $0.guardianRelation }, "ledger guardian relation")
        try assertEqual([ReferralReason.helpNow], try coord.care().referralInbox().map { $0.reason }, "the coordinator's inbox")
        try assertThrows("answers out of range", invalidInput) {
            _ = try part.care().submitScreening(instrument: .phq9, answers: Data(repeating: 4, count: 9), country: "id")
        }
        try assertThrows("a supporter sets crisis numbers", notAllowed) {
            _ = try sup.care().setCrisisResources(
                programmeId: pid, country: "id", json: #"[{"kind":"other","name":"x","number":"1"}]"#)
        }
    }

    check("care: the texts exist in both languages and notifications are neutral") {
        for locale in ["id", "en"] {
            for key in ["care-not-told-yet", "referral-refer-now", "crisis-kind-crisis-line", "notify-neutral"] {
                try assertTrue(localizedMessage(messageId: key, locale: locale) != key, "\(key) in \(locale)")
            }
            let neutral = localizedMessage(messageId: "notify-neutral", locale: locale).lowercased()
            try assertTrue(!neutral.contains("mental"), "neutral in \(locale): \(neutral)")
        }
        try assertTrue(
            localizedMessage(messageId: "care-told", locale: "id") != localizedMessage(messageId: "care-told", locale: "en"),
            "care-told is translated")
    }

    check("care: sharing needs the participant's consent and withdrawal takes it back") {
        let url = try relayURL()
        let sup = try personVault("share-s.db"), part = try personVault("share-p.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        _ = try sup.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        let j = part.journal()
        _ = try j.add(text: "Rahasia.", mood: 2, tags: [])
        let chosen = try j.add(text: "Aku berani bicara.", mood: 4, tags: [])
        try assertThrows("sharing without consent", notAllowed) {
            _ = try part.pairings().shareJournalEntry(pairingId: pairing.spaceId, entryId: chosen)
        }
        try assertThrows("the supporter consents", notAllowed) {
            _ = try sup.pairings().consentToSharing(pairingId: pairing.spaceId, agreed: true)
        }
        _ = try part.pairings().consentToSharing(pairingId: pairing.spaceId, agreed: true)
        _ = try part.pairings().shareJournalEntry(pairingId: pairing.spaceId, entryId: chosen)
        _ = try part.pairings().shareCheckinSummary(pairingId: pairing.spaceId, utcOffsetMin: 420, locale: "en")
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        let seen = try sup.pairings().sharedItems(pairingId: pairing.spaceId)
        let kinds = seen.map { $0.kind }
        try assertEqual(2, kinds.count, "two shared items")
        try assertTrue(kinds.contains(.checkinSummary) && kinds.contains(.journalEntry), "kinds: \(kinds)")
        try assertEqual(["Aku berani bicara."], seen.filter { $0.kind == .journalEntry }.map { $0.text }, "the chosen entry")
        try assertTrue(!String(describing: seen).contains("Rahasia"), "the other entry was not shared")
        _ = try part.pairings().consentToSharing(pairingId: pairing.spaceId, agreed: false)
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        try assertEqual([SharedItem](), try sup.pairings().sharedItems(pairingId: pairing.spaceId), "taken back")
    }

    check("care: the safety plan is shared as its summary") {
        let url = try relayURL()
        let sup = try personVault("plan-share-s.db"), part = try personVault("plan-share-p.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        _ = try sup.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        _ = try part.pairings().consentToSharing(pairingId: pairing.spaceId, agreed: true)
        try assertThrows("sharing an empty plan", invalidInput) {
            _ = try part.pairings().shareSafetyPlan(pairingId: pairing.spaceId, locale: "en")
        }
        _ = try part.care().addSafetyPlanItem(step: .warningSigns, text: "Susah tidur")
        _ = try part.pairings().shareSafetyPlan(pairingId: pairing.spaceId, locale: "en")
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        let item = try single(try sup.pairings().sharedItems(pairingId: pairing.spaceId), "shared items")
        try assertEqual(SharedItemKind.safetyPlan, item.kind, "kind")
        try assertTrue(item.text.contains("Susah tidur"), "summary text: \(item.text)")
    }

    check("care: erasing an entry destroys the key on every device") {
        let url = try relayURL()
        let phone = try Vault.open(path: tmpPath("erase-phone.db"), masterKey: try generateMasterKey())
        let phrase = try phone.createPerson()
        let tablet = try Vault.open(path: tmpPath("erase-tablet.db"), masterKey: try generateMasterKey())
        try tablet.completeLink(response: try phone.approveLink(request: try tablet.linkRequest()))
        let j = phone.journal()
        _ = try j.add(text: "Tetap.", mood: 4, tags: [])
        let secret = try j.add(text: "Hapus aku.", mood: 1, tags: [])
        _ = try phone.sync(relayUrl: url)
        _ = try tablet.sync(relayUrl: url)
        try assertEqual(2, try tablet.journal().list().count, "both entries on the tablet")
        try assertThrows("erasing an unknown id", notFound) { _ = try phone.journal().erase(entryIds: ["0000000000000000"]) }
        _ = try phone.journal().erase(entryIds: [secret])
        try assertEqual(["Tetap."], try phone.journal().list().map { $0.text }, "phone after erasure")
        _ = try phone.sync(relayUrl: url)
        _ = try tablet.sync(relayUrl: url)
        _ = try tablet.sync(relayUrl: url)
        try assertEqual(["Tetap."], try tablet.journal().list().map { $0.text }, "tablet after erasure")
        let restored = try Vault.open(path: tmpPath("erase-restored.db"), masterKey: try generateMasterKey())
        try restored.restorePerson(phrase: phrase)
        _ = try restored.sync(relayUrl: url)
        _ = try restored.sync(relayUrl: url)
        try assertEqual(["Tetap."], try restored.journal().list().map { $0.text }, "restored from the phrase")
    }

    check("care: no one told is said plainly, and every notice is worded in both languages") {
        let alone = try personVault("care-alone.db")
        let esc = try alone.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 1]), country: "id")
        try assertEqual([CareNotice.noOneToldNoProgramme], esc.notices, "no programme")
        try assertTrue(!esc.resources.isEmpty, "with the crisis lines")
        try assertEqual([CareNotice.noOneToldNoProgramme], try alone.care().askForHelp(country: "id").notices, "help asked, no programme")
        let all: [CareNotice] = [.notToldYet, .sentNoAnswer, .told, .referralFailed, .noOneToldNoConsent, .noOneToldNoProgramme,
                                 .noCoordinatorYet, .overdue, .overdueCallCoordinator]
        for n in all {
            for locale in ["id", "en"] {
                try assertTrue(localizedMessage(messageId: noticeMessageId(notice: n), locale: locale) != noticeMessageId(notice: n), "\(n) in \(locale)")
            }
        }
    }

    check("care: no coordinator never blocks help; the deadline travels; the caseload shows what waits") {
        let url = try relayURL()
        let c2 = try personVault("care-oncall-c.db")
        let s2 = try personVault("care-oncall-s.db")
        let p2 = try personVault("care-oncall-p.db")
        let pid2 = try c2.programmes().create(name: "PIK-R SMA 3")
        _ = try s2.programmes().addCredential(credential: try c2.programmes().grantRole(
            programmeId: pid2, personId: try personIdOf(s2), role: .peerSupporter, validDays: 90).credential)
        let enrol = try s2.care().enrol(request: try p2.linkRequest(), programmeId: pid2)
        _ = try p2.spaces().join(response: enrol.response)
        _ = try s2.sync(relayUrl: url)
        _ = try p2.sync(relayUrl: url)
        _ = try p2.care().giveConsent(careId: enrol.careId, purpose: .dutyOfCare, agreed: true)
        let esc = try p2.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 1]), country: "id")
        try assertEqual(1, esc.referrals.count, "help is never blocked")
        try assertEqual([UInt32(0)], esc.coordinators.map { $0.count }, "no coordinator to tell")
        try assertEqual([CareNotice.noCoordinatorYet, .notToldYet], esc.notices, "said plainly")
        _ = try p2.sync(relayUrl: url)
        _ = try s2.sync(relayUrl: url)
        try assertEqual(CareNotice.noCoordinatorYet, try s2.care().referrals(careId: enrol.careId).first?.notice, "the supporter is alerted")
        _ = try c2.spaces().join(response: try s2.spaces().approveMember(spaceId: enrol.careId, request: try c2.linkRequest()))
        _ = try s2.sync(relayUrl: url)
        _ = try c2.sync(relayUrl: url)
        let waiting = try single(try c2.care().caseload(), "the caseload")
        try assertEqual(ReferralOrigin.rule, waiting.origin, "the first coordinator added finds it")
        try assertTrue(waiting.reason == nil && waiting.reasonSealed, "sealed while no coordinator was there: for no one")
        try assertTrue(!waiting.overdue && waiting.acknowledgedBy == nil, "open, in time")
        _ = try assertThrows("zero hours", invalidInput) { _ = try c2.care().setAckDeadline(programmeId: pid2, hours: 0) }
        try assertEqual(UInt32(1), try c2.care().setAckDeadline(programmeId: pid2, hours: 4), "deadline set")
        _ = try c2.sync(relayUrl: url)
        _ = try p2.sync(relayUrl: url)
        try assertEqual(UInt32(4), try p2.care().ackDeadlineHours(careId: enrol.careId), "the deadline travels")
        try assertTrue(localizedMessage(messageId: "care-response-time", locale: "id", detail: String(try p2.care().ackDeadlineHours(careId: enrol.careId))).contains("4"), "the response time, stated")
        try assertTrue(try p2.care().caseload().isEmpty, "no caseload for a participant")
    }

    check("care: on call: two named, fewer warns at enrolment, counted per programme; the reason sealed for coordinators") {
        let url = try relayURL()
        let (coord, sup, part, care, pid) = try threeDevices("care-rota", url)
        let none = try sup.care().onCallStatus(careId: care)
        try assertEqual(OnCallState.notDeclared, none.state, "nothing declared")
        try assertTrue(none.warning, "a warning")
        _ = try assertThrows("a supporter names no one", notAllowed) {
            _ = try sup.care().setOnCall(programmeId: pid, personIds: [try personIdOf(coord)])
        }
        try assertEqual(UInt32(1), try coord.care().setOnCall(programmeId: pid, personIds: [try personIdOf(coord)]), "one record")
        let one = try coord.care().onCallStatus(careId: care)
        try assertEqual(OnCallState.fewerThanTwoOnCall, one.state, "one person is no rota")
        try assertEqual(UInt32(1), one.onCall, "one on call")
        for st in [OnCallState.ready, .notDeclared, .fewerThanTwoOnCall, .fewerThanTwoReached] {
            for locale in ["id", "en"] {
                try assertTrue(localizedMessage(messageId: onCallMessageId(state: st), locale: locale) != onCallMessageId(state: st), "\(st) in \(locale)")
            }
        }
        let c2 = try personVault("care-rota-c2.db")
        _ = try c2.programmes().addCredential(credential: try coord.programmes().grantRole(
            programmeId: pid, personId: try personIdOf(c2), role: .coordinator, validDays: 90).credential)
        _ = try c2.spaces().join(response: try coord.spaces().approveMember(spaceId: care, request: try c2.linkRequest()))
        _ = try coord.sync(relayUrl: url)
        _ = try c2.sync(relayUrl: url)
        _ = try c2.sync(relayUrl: url)
        try assertEqual(UInt32(1), try coord.care().setOnCall(programmeId: pid, personIds: [try personIdOf(coord), try personIdOf(c2)]), "two on call")
        for v in [coord, c2, sup, part] { _ = try v.sync(relayUrl: url) }
        let ready = try sup.care().onCallStatus(careId: care)
        try assertEqual(OnCallState.ready, ready.state, "two on call, both in the record")
        try assertTrue(!ready.warning && ready.coordinators == 2, "no warning")
        let p2 = try personVault("care-rota-p2.db")
        let enrol = try sup.care().enrol(request: try p2.linkRequest(), programmeId: pid)
        try assertEqual(OnCallState.fewerThanTwoReached, enrol.onCall.state, "a new record reaches no one yet: warned at enrolment")
        try assertTrue(enrol.onCall.warning && enrol.onCall.declared == 2, "the programme's list is known")
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        _ = try part.sync(relayUrl: url)
        let esc = try part.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 1]), country: "id")
        try assertEqual([pid], esc.programmes.map { $0.programmeId }, "the programme")
        try assertEqual([UInt32(2)], esc.programmes.map { $0.count }, "two coordinators told")
        _ = try part.sync(relayUrl: url)
        for v in [sup, coord, c2] { _ = try v.sync(relayUrl: url) }
        let seen = try single(try sup.care().referrals(careId: care), "the supporter's referrals")
        try assertTrue(seen.reason == nil && !seen.reasonSealed, "the supporter holds ciphertext only, and is not told it is a rule's")
        try assertEqual(ReferralOrigin.participant, seen.origin, "one origin for the supporter")
        let own = try single(try part.care().referrals(careId: care), "the participant's referrals")
        try assertTrue(own.reason == nil && own.reasonSealed, "so does the participant's phone")
        for v in [coord, c2] {
            let r = try single(try v.care().referralInbox(), "a coordinator's inbox")
            try assertEqual(ReferralReason.phq9Item9, r.reason, "a coordinator opens it")
            try assertTrue(r.reasonSealed, "sealed")
        }
    }

    check("care: a screening given by the supporter escalates by the same rules and shows no score") {
        let url = try relayURL()
        let (coord, sup, part, care, _) = try threeDevices("care-administered", url)
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        _ = try assertThrows("the participant uses submitScreening", notAllowed) {
            _ = try part.care().submitScreeningFor(careId: care, instrument: .phq9, answers: Data(repeating: 0, count: 9), country: "id")
        }
        let esc = try sup.care().submitScreeningFor(careId: care, instrument: .phq9, answers: Data([1, 1, 2, 1, 0, 0, 1, 0, 2]), country: "id")
        try assertTrue(esc.score == nil, "no score or band")
        try assertEqual([RiskFlag.phq9Item9], esc.rules, "the rule fired")
        try assertEqual(1, esc.referrals.count, "referred")
        _ = try sup.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let r = try single(try coord.care().referralInbox(), "the coordinator's inbox")
        try assertEqual(ReferralOrigin.administered, r.origin, "given by the supporter")
        try assertEqual(ReferralReason.phq9Item9, r.reason, "the coordinator sees the rule")
        try assertTrue(r.verified, "verified")
    }

    check("care: a minor's sharing and reporting wait for a guardian; help never does") {
        let url = try relayURL()
        let (coord, sup, part, care, _) = try threeDevices("care-minor", url)
        _ = try assertThrows("the supporter marks a minor", notAllowed) { try sup.care().markMinor(careId: care) }
        try coord.care().markMinor(careId: care)
        for v in [coord, part, sup] { _ = try v.sync(relayUrl: url) }
        try assertEqual([true], try part.care().records().map { $0.minor }, "a minor")
        try assertEqual(1, try part.care().askForHelp(country: "id").referrals.count, "help never waits")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        _ = try sup.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        _ = try assertThrows("sharing waits for a guardian", notAllowed) {
            _ = try part.pairings().consentToSharing(pairingId: pairing.spaceId, agreed: true)
        }
        _ = try coord.care().recordGuardianConsent(careId: care, purpose: .shareWithSupporter, relation: "ibu", formReference: "formulir 2026/041", agreed: true)
        _ = try coord.care().recordGuardianConsent(careId: care, purpose: .pairing, relation: "ibu", formReference: "formulir 2026/041", agreed: true)
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        _ = try part.pairings().consentToSharing(pairingId: pairing.spaceId, agreed: true)
        _ = try coord.care().recordBestInterestsException(careId: care, purpose: .reportOutcomes, reason: "wali tidak dapat dihubungi")
        let ledger = try coord.care().consentLedger(careId: care)
        try assertEqual(["formulir 2026/041", "formulir 2026/041"], ledger.compactMap { $0.formReference }, "the form reference is kept (sharing, the pairing)")
    }

    check("care: a minor's pairing waits for a guardian's consent to pairing; help never does") {
        let url = try relayURL()
        let (coord, sup, part, care, _) = try threeDevices("care-minor-pairing", url)
        try coord.care().markMinor(careId: care)
        for v in [coord, part, sup] { _ = try v.sync(relayUrl: url) }
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        _ = try sup.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        for v in [sup, part] {
            try assertTrue(try v.pairings().standing(pairingId: pairing.spaceId).waitingForGuardian, "waits")
        }
        _ = try assertThrows("nothing is written", notAllowed) {
            _ = try part.pairings().sendMessage(pairingId: pairing.spaceId, text: "halo")
        }
        try assertEqual(1, try part.care().askForHelp(country: "id").referrals.count, "help never waits")
        _ = try coord.care().recordGuardianConsent(careId: care, purpose: .pairing, relation: "ibu", formReference: "formulir 2026/052", agreed: true)
        _ = try coord.sync(relayUrl: url)
        for v in [sup, part] {
            _ = try v.sync(relayUrl: url)
            try assertTrue(!(try v.pairings().standing(pairingId: pairing.spaceId).waitingForGuardian), "open")
        }
        _ = try part.pairings().sendMessage(pairingId: pairing.spaceId, text: "halo")
    }

    check("care: duty of care may be a condition of joining, with the limits of confidentiality told first") {
        let url = try relayURL()
        let coord = try Vault.open(path: tmpPath("care-duty-c.db"), masterKey: try generateMasterKey())
        let part = try Vault.open(path: tmpPath("care-duty-p.db"), masterKey: try generateMasterKey())
        _ = try coord.createPerson()
        _ = try part.createPerson()
        let pid = try coord.programmes().create(name: "PIK-R SMA 7")
        try assertTrue(!(try coord.care().dutyOfCareRequired(programmeId: pid)), "not by default")
        try assertEqual(0, try coord.care().setDutyOfCareRequired(programmeId: pid, required: true), "kept here")
        // A missing text falls back to English, then to its key: check words of each language.
        for (locale, word) in [("id", "layanan darurat"), ("en", "emergency services")] {
            let limits = dutyOfCareLimits(locale: locale)
            try assertTrue(limits.title != "consent-duty-of-care-limits-title", "title in \(locale)")
            try assertTrue(limits.text.contains(word), "text in \(locale) says who else may be told")
            try assertEqual(ConsentPurpose.dutyOfCare, limits.purpose, "the duty-of-care purpose")
        }
        try assertTrue(dutyOfCareLimits(locale: "id").text != dutyOfCareLimits(locale: "en").text, "translated")
        try assertTrue(dutyOfCareLimits(locale: "id").title != dutyOfCareLimits(locale: "en").title, "title translated")
        let mid = try assertThrows("refused without agreement", dutyOfCareRequired) {
            _ = try coord.care().enrol(request: try part.linkRequest(), programmeId: pid)
        }
        try assertEqual("error-duty-of-care-required", mid, "message id")
        let enrol = try coord.care().enrolWithDutyOfCare(request: try part.linkRequest(), programmeId: pid, minor: false)
        _ = try part.spaces().join(response: enrol.response)
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        try assertEqual([true], try part.care().records().map { $0.dutyOfCareRequired }, "the record says so")
    }

    check("care: a programme's own lines come first and the national numbers stay") {
        let url = try relayURL()
        let (coord, _, part, _, pid) = try threeDevices("care-own-lines", url)
        let own = #"[{"kind":"crisis-line","name":"Konseling Sekolah","channel":"whatsapp","number":"+62811000111","hours":"07:00-15:00","verified_on":"2026-11-30","source":"surat sekolah"}]"#
        _ = try assertThrows("a web line needs an https address", invalidInput) {
            _ = try coord.care().setCrisisResources(programmeId: pid, country: "id", json: #"[{"kind":"other","name":"x","channel":"web","url":"http://x"}]"#)
        }
        try assertEqual(1, try coord.care().setCrisisResources(programmeId: pid, country: "id", json: own), "one record written")
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        let got = try part.care().crisisResources(country: "id")
        try assertEqual("Konseling Sekolah", got.first?.name, "the programme's line first")
        try assertEqual(CrisisChannel.whatsapp, got.first?.channel, "on WhatsApp")
        try assertEqual("07:00-15:00", got.first?.hours, "with its hours")
        try assertEqual(["119", "110", "112"], got.dropFirst().map { $0.number }, "the national numbers stay")
    }

    check("care: emergency help needs no vault and speaks both languages") {
        let ind = emergencyHelp(country: "ID", locale: "in") // old Android's code for Indonesian
        try assertEqual(["119", "", "129", "+628111129129", "119", "110", "112"], ind.resources.map { $0.number }, "numbers")
        try assertEqual(["8", nil, nil, nil, nil, nil, nil], ind.resources.map { $0.`extension` }, "extensions")
        try assertEqual([CrisisChannel.phone, .web, .phone, .whatsapp], ind.resources.prefix(4).map { $0.channel }, "channels")
        try assertEqual(CrisisResourceKind.protection, ind.resources[2].kind, "SAPA 129")
        try assertTrue(ind.resources.allSatisfy { $0.verifiedOn != nil && $0.source != nil }, "dated and sourced")
        try assertTrue(!ind.countryUnknown, "a known country")
        try assertEqual(localizedMessage(messageId: "help-now-title", locale: "id"), ind.title, "Indonesian title")
        try assertEqual(localizedMessage(messageId: "help-now-call", locale: "id"), ind.steps.first, "first step")
        try assertEqual(4, ind.steps.count, "four steps")
        let en = emergencyHelp(country: "id", locale: "en")
        try assertEqual(ind.resources, en.resources, "the same numbers in English")
        try assertTrue(en.title != ind.title, "English title differs")
        let bad = emergencyHelp(country: "Indonesia", locale: "en")
        try assertTrue(bad.countryUnknown, "a bad code is flagged")
        try assertEqual(ind.resources, bad.resources, "numbers all the same")
        let elsewhere = emergencyHelp(country: "ke", locale: "en")
        try assertEqual([CrisisResource](), elsewhere.resources, "no built-in numbers elsewhere")
        try assertEqual(localizedMessage(messageId: "crisis-none", locale: "en"), elsewhere.steps.first, "call the local number")
    }

    check("care: a risk answer shows the crisis lines whatever else fails") {
        let url = try relayURL()
        let (coord, _, part, care, _) = try threeDevices("care-blocked", url)
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        // A country code the app got wrong: the numbers are shown all the same, and it is flagged.
        let first = try part.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 3]), country: "Indonesia")
        try assertTrue(first.countryUnknown && !first.resources.isEmpty && first.saved, "flagged, numbers, saved: \(first)")
        try assertTrue(first.referrals.count == 1 && first.failed.isEmpty, "referred, nothing failed: \(first)")
        // Nothing can be written (another process holds the vault file's write lock): still scored,
        // still the numbers, and the record that could not be told is named.
        let holder = try WriteLockHolder(path: tmpPath("care-blocked-p.db"))
        var esc: Escalation? = nil
        var helpNow: Escalation? = nil
        var error: Error? = nil
        do {
            esc = try part.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 1]), country: "id")
            helpNow = try part.care().askForHelp(country: "id")
        } catch let e {
            error = e
        }
        holder.release()
        if let error = error { throw error }
        guard let esc = esc, let helpNow = helpNow else { throw CheckFailure(description: "no escalation") }
        try assertEqual(UInt32(1), esc.score?.total, "scored")
        try assertEqual([RiskFlag.phq9Item9], esc.rules, "rules")
        try assertTrue(!esc.resources.isEmpty && !esc.saved, "numbers shown, not saved: \(esc)")
        try assertEqual([String](), esc.referrals, "no referral written")
        try assertEqual([care], esc.failed, "the record that could not be told")
        try assertTrue(!helpNow.resources.isEmpty, "help now shows the numbers")
        try assertEqual([care], helpNow.failed, "help now names the record")
        // Once the file can be written again, a call for help goes through.
        let again = try part.care().askForHelp(country: "id")
        try assertTrue(again.referrals.count == 1 && again.failed.isEmpty, "help now afterwards: \(again)")
        _ = try part.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        // What could not be saved stayed in memory and went out once the file could be written.
        let reasons = try coord.care().referralInbox().map { $0.reason }
        try assertEqual(4, reasons.count, "four referrals: \(reasons)")
        try assertEqual(2, reasons.filter { $0 == .helpNow }.count, "two help-now referrals")
        try assertEqual(2, reasons.filter { $0 == .phq9Item9 }.count, "two item-9 referrals")
        try assertTrue(
            localizedMessage(messageId: "care-referral-failed", locale: "id")
                != localizedMessage(messageId: "care-referral-failed", locale: "en"),
            "care-referral-failed is translated")
    }

    // Last: lockNow() locks every vault open in this process.
    check("care: export everything and lock now") {
        let url = try relayURL()
        let (coord, sup, part, care, _) = try threeDevices("care-export", url)
        _ = try part.journal().add(text: "Catatan pribadiku.", mood: 3, tags: [])
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        let exported = try jsonObject(try part.exportAll(), "export")
        try assertEqual("sebaya-export/1", exported["schema"] as? String, "schema")
        let journal = exported["journal"] as? [[String: Any]] ?? []
        try assertEqual(["Catatan pribadiku."], journal.map { $0["text"] as? String ?? "" }, "exported journal")
        let records = exported["care_records"] as? [[String: Any]] ?? []
        let consents = records.first?["consents"] as? [[String: Any]] ?? []
        try assertEqual("duty-of-care", consents.first?["purpose"] as? String, "exported consent purpose")
        try assertTrue(!(try sup.exportAll().contains("Catatan")), "not in the supporter's export")
        // Lock now: every open vault at once, its journals too.
        let j = part.journal()
        let session = try part.nearby().startSession(initiator: false)
        let n = lockNow()
        try assertTrue(n >= 3, "vaults locked: \(n)")
        let calls: [(String, () throws -> Void)] = [
            ("part.deviceId", { _ = try part.deviceId() }),
            ("coord.care().records", { _ = try coord.care().records() }),
            ("sup.exportAll", { _ = try sup.exportAll() }),
            ("journal.list", { _ = try j.list() }),
            ("session.takeOutgoing", { _ = try session.takeOutgoing() }),
            ("session.isFinished", { _ = try session.isFinished() }),
            ("session.report", { _ = try session.report() }),
        ]
        for (name, call) in calls {
            try assertThrows(name, locked) { try call() }
        }
    }
}
