// The training register through the Swift bindings, against the real library and the relay on
// loopback: a coordinator certifies modules, a supporter keeps and lists them, a programme pairing opens
// only once every required module is current (NotCertified before, nothing created), damaged, foreign
// and expired records are refused, and a leaving supporter hands a pairing over to a certified
// successor. The same flows and assertions as bindings/tests/python/test_training.py; the programme
// roles check is test_programme_roles_gate_sessions_and_reviews of test_sebaya.py. main.swift runs
// trainingTests().

import Foundation

func notCertified(_ e: SebayaError) -> String? { if case .NotCertified(let m, _) = e { return m }; return nil }
func notCertifiedDetail(_ e: SebayaError) -> String? { if case .NotCertified(_, let d) = e { return d }; return nil }
func badCredential(_ e: SebayaError) -> String? { if case .BadCredential(let m, _) = e { return m }; return nil }

/// The ids name the modules in the catalogues and in NotCertified's detail; the enum is the API.
let trainingModuleIds = ["pfa", "active-listening", "boundaries", "risk-referral", "self-care"]
let trainingModules: [TrainingModule] = [.pfa, .activeListening, .boundaries, .riskReferral, .selfCare]

func nowSecs() -> UInt64 { UInt64(Date().timeIntervalSince1970) }

/// Grants `sup` the peer supporter role in `pid` and keeps a record of each of `modules`.
func certifiedSupporter(_ coord: Vault, _ sup: Vault, _ pid: String, _ modules: [TrainingModule]) throws {
    let grant = try coord.programmes().grantRole(programmeId: pid, personId: try personIdOf(sup), role: .peerSupporter)
    try assertEqual(ProgrammeRole.peerSupporter, try sup.programmes().addCredential(credential: grant.credential), "role kept")
    for m in modules {
        _ = try sup.programmes().addTrainingRecord(credential: try coord.programmes().certifyTraining(
            programmeId: pid, personId: try personIdOf(sup), module: m, completed: nowSecs() - 86400))
    }
}

func trainingTests() {
    check("training: the required modules have names in both languages") {
        try assertEqual(trainingModules, requiredTrainingModules(), "required modules")
        for m in trainingModuleIds {
            let en = localizedMessage(messageId: "training-module-" + m, locale: "en")
            let id = localizedMessage(messageId: "training-module-" + m, locale: "id")
            try assertTrue(en != "training-module-" + m && id != "training-module-" + m, "\(m) is named")
            try assertTrue(en != id, "\(m) is translated")
        }
        try assertEqual("Pertolongan pertama psikologis", localizedMessage(messageId: "training-module-pfa", locale: "id"), "PFA in Indonesian")
    }

    check("training: certify, keep, list, and the pairing gate") {
        let url = try relayURL()
        let coord = try personVault("train-c.db")
        let sup = try personVault("train-s.db")
        let part = try personVault("train-p.db")
        let other = try personVault("train-o.db")
        let pid = try coord.programmes().create(name: "PIK-R SMA 1")
        try certifiedSupporter(coord, sup, pid, [])
        let request = try part.linkRequest()
        var e = try caught("a pairing before any training") {
            _ = try sup.pairings().create(participantRequest: request, programmeId: pid)
        }
        guard case .NotCertified(let mid, let detail) = e else { throw CheckFailure(description: "expected NotCertified, got \(e)") }
        try assertEqual("error-not-certified", mid, "messageId")
        try assertTrue(detail.contains(trainingModuleIds.joined(separator: ",")), "detail names every module: \(detail)")
        try assertEqual([SharedSpace](), try sup.spaces().list(), "nothing created")
        let shortfalls = try sup.programmes().trainingShortfalls(programmeId: pid)
        try assertEqual(trainingModules, shortfalls.map { $0.module }, "shortfall modules")
        try assertEqual([ShortfallReason](repeating: .missing, count: trainingModules.count), shortfalls.map { $0.reason }, "shortfall reasons")

        let spid = try personIdOf(sup)
        let credentials = try trainingModules.map {
            try coord.programmes().certifyTraining(programmeId: pid, personId: spid, module: $0, completed: nowSecs() - 86400)
        }
        // Made for someone else, damaged, cut short: refused, nothing kept.
        try assertThrows("a record made for someone else", badCredential) {
            _ = try other.programmes().addTrainingRecord(credential: credentials[0])
        }
        var damaged = [UInt8](credentials[0])
        damaged[damaged.count - 1] ^= 1
        try assertThrows("a damaged record", badCredential) {
            _ = try sup.programmes().addTrainingRecord(credential: Data(damaged))
        }
        try assertThrows("a record cut short", badCredential) {
            _ = try sup.programmes().addTrainingRecord(credential: Data(credentials[0].prefix(40)))
        }
        try assertEqual([TrainingRecord](), try sup.programmes().training(programmeId: pid), "nothing kept")

        for c in credentials.prefix(4) {
            let rec = try sup.programmes().addTrainingRecord(credential: c)
            try assertTrue(rec.status == .current && rec.byProgrammeKey && rec.issuer == pid, "record: \(rec)")
        }
        e = try caught("a pairing with one module missing") {
            _ = try sup.pairings().create(participantRequest: request, programmeId: pid)
        }
        guard case .NotCertified(_, let detail2) = e else { throw CheckFailure(description: "expected NotCertified, got \(e)") }
        try assertTrue(detail2.hasSuffix("self-care"), "detail names the missing module: \(detail2)")
        try assertEqual([SharedSpace](), try sup.spaces().list(), "still nothing created")
        _ = try sup.programmes().addTrainingRecord(credential: credentials[4])
        // Keeping a record twice keeps it once.
        _ = try sup.programmes().addTrainingRecord(credential: credentials[4])
        let records = try sup.programmes().training(programmeId: pid)
        let kept = records.map { $0.module }
        try assertEqual(trainingModules.count, kept.count, "one record per module: \(kept)")
        for m in trainingModules {
            try assertEqual(1, kept.filter { $0 == m }.count, "records of \(m)")
        }
        let now = nowSecs()
        try assertTrue(records.allSatisfy { $0.status == .current && $0.expires > now && now > $0.completed }, "all current: \(records)")
        try assertEqual([TrainingShortfall](), try sup.programmes().trainingShortfalls(programmeId: pid), "no shortfall")

        let created = try sup.pairings().create(participantRequest: request, programmeId: pid)
        try assertEqual(SpaceKind.pairing, try part.spaces().join(response: created.response).kind, "joined a pairing")
        _ = try sup.pairings().sendMessage(pairingId: created.spaceId, text: "Halo, apa kabar?")
        _ = try sup.sync(relayUrl: url)
        let report = try part.sync(relayUrl: url)
        try assertEqual(UInt32(0), report.quarantined, "nothing quarantined")
        try assertEqual(["Halo, apa kabar?"], try part.pairings().messages(pairingId: created.spaceId).map { $0.text }, "message arrived")
    }

    check("training: expired, forged and unauthorised certifications are refused") {
        let coord = try personVault("train2-c.db")
        let sup = try personVault("train2-s.db")
        let pid = try coord.programmes().create(name: "Layanan Psikososial")
        try certifiedSupporter(coord, sup, pid, [])
        let spid = try personIdOf(sup)
        // Valid for one day from a completion one day ago, less two seconds: over in two seconds.
        let short = try coord.programmes().certifyTraining(
            programmeId: pid, personId: spid, module: .pfa, completed: nowSecs() - 86400 + 2, validDays: 1)
        Thread.sleep(forTimeInterval: 3)
        try assertThrows("an expired record", badCredential) { _ = try sup.programmes().addTrainingRecord(credential: short) }
        // A peer supporter certifies nobody; unknown modules and certifications already over are refused.
        try assertThrows("a peer supporter certifies", notAllowed) {
            _ = try sup.programmes().certifyTraining(programmeId: pid, personId: try personIdOf(coord), module: .pfa, completed: nowSecs())
        }
        try assertThrows("an unknown module", invalidInput) {
            _ = try coord.programmes().certifyTraining(programmeId: pid, personId: spid, module: .unknown(raw: "juggling"), completed: nowSecs())
        }
        try assertThrows("a certification already over", invalidInput) {
            _ = try coord.programmes().certifyTraining(
                programmeId: pid, personId: spid, module: .pfa, completed: nowSecs() - 40 * 86400, validDays: 30)
        }
        try assertThrows("a bad person id", invalidInput) {
            _ = try coord.programmes().certifyTraining(programmeId: pid, personId: "zz", module: .pfa, completed: nowSecs())
        }
        // A credential with its signature bytes swapped for another record's is forged.
        let a = try coord.programmes().certifyTraining(programmeId: pid, personId: spid, module: .pfa, completed: nowSecs())
        let b = try coord.programmes().certifyTraining(programmeId: pid, personId: spid, module: .boundaries, completed: nowSecs())
        let forged = Data(a.prefix(a.count - 64)) + Data(b.suffix(64))
        try assertThrows("a forged record", badCredential) { _ = try sup.programmes().addTrainingRecord(credential: forged) }
        try assertEqual([TrainingRecord](), try sup.programmes().training(programmeId: pid), "nothing kept")
    }

    check("training: a leaving supporter hands a pairing to a certified successor") {
        let url = try relayURL()
        let coord = try personVault("hand-c.db")
        let leaver = try personVault("hand-a.db")
        let successor = try personVault("hand-b.db")
        let untrained = try personVault("hand-u.db")
        let part = try personVault("hand-p.db")
        let pid = try coord.programmes().create(name: "PIK-R SMA 2")
        try certifiedSupporter(coord, leaver, pid, trainingModules)
        try certifiedSupporter(coord, successor, pid, trainingModules)
        try certifiedSupporter(coord, untrained, pid, Array(trainingModules.prefix(2)))
        let created = try leaver.pairings().create(participantRequest: try part.linkRequest(), programmeId: pid)
        _ = try part.spaces().join(response: created.response)
        let sid = created.spaceId
        _ = try leaver.pairings().sendMessage(pairingId: sid, text: "Sebelum serah terima")
        _ = try leaver.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)

        try assertThrows("a hand-over to an untrained supporter", notCertified) {
            _ = try leaver.pairings().handOver(
                spaceId: sid, successorRequest: try untrained.linkRequest(),
                presentation: try untrained.programmes().certificationPresentation(programmeId: pid))
        }
        try assertThrows("a participant presents a certification", notAllowed) {
            _ = try part.programmes().certificationPresentation(programmeId: pid)
        }

        let response = try leaver.pairings().handOver(
            spaceId: sid, successorRequest: try successor.linkRequest(),
            presentation: try successor.programmes().certificationPresentation(programmeId: pid))
        _ = try leaver.sync(relayUrl: url)
        _ = try successor.spaces().join(response: response)
        _ = try successor.sync(relayUrl: url)
        try assertEqual(["Sebelum serah terima"], try successor.pairings().messages(pairingId: sid).map { $0.text }, "history for the successor")
        _ = try successor.pairings().sendMessage(pairingId: sid, text: "Saya pendamping baru.")
        _ = try successor.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        try assertEqual(["Sebelum serah terima", "Saya pendamping baru."], try part.pairings().messages(pairingId: sid).map { $0.text }, "the participant's messages")
        _ = try leaver.sync(relayUrl: url)
        try assertEqual(["Sebelum serah terima"], try leaver.pairings().messages(pairingId: sid).map { $0.text }, "the leaver reads nothing new")
        try assertEqual([nil], try leaver.spaces().list().filter { $0.id == sid }.map { $0.role }, "the leaver has no role left")
        try assertThrows("the leaver writes", notAllowed) { _ = try leaver.pairings().sendMessage(pairingId: sid, text: "Masih di sini?") }
    }

    check("programmes: roles gate sessions and reviews") {
        let url = try relayURL()
        let coord = try personVault("roles-c.db")
        let sup = try personVault("roles-s.db")
        let other = try personVault("roles-o.db")
        let pid = try coord.programmes().create(name: "PIK-R SMA 1")
        let p = try single(try coord.programmes().list(), "programmes")
        try assertEqual(pid, p.id, "programme id")
        try assertEqual("PIK-R SMA 1", p.name, "programme name")
        try assertEqual(true, p.holdsKey, "holds the key")
        try assertEqual(ProgrammeRole.coordinator, p.role, "coordinator")
        try assertThrows("a group in a programme without a role", notAllowed) {
            _ = try sup.groups().create(name: "Kelompok", programmeId: pid)
        }
        let grant = try coord.programmes().grantRole(programmeId: pid, personId: try personIdOf(sup), role: .peerSupporter, validDays: 90)
        try assertThrows("another person's credential", badCredential) {
            _ = try other.programmes().addCredential(credential: grant.credential)
        }
        try assertThrows("a role this version does not know", invalidInput) {
            _ = try coord.programmes().grantRole(programmeId: pid, personId: try personIdOf(sup), role: .unknown(raw: "therapist"))
        }
        try assertEqual(ProgrammeRole.peerSupporter, try sup.programmes().addCredential(credential: grant.credential), "role kept")
        let gid = try sup.groups().create(name: "Kelompok PIK-R", programmeId: pid)
        _ = try other.groups().join(response: try sup.spaces().approveMember(spaceId: gid, request: try other.linkRequest(), asAdmin: true))
        // The role alone runs no session: group facilitation is a module of its own.
        let noFacilitation = try caught("a session without group facilitation") {
            _ = try sup.groups().addSession(groupId: gid, dateMs: 1_767_225_600_000, topic: "Sesi 1")
        }
        try assertTrue(notCertifiedDetail(noFacilitation)?.hasSuffix("group-facilitation") == true, "named: \(noFacilitation)")
        try assertEqual(0, try sup.groups().sessions(groupId: gid).count, "nothing written")
        try certifyFacilitation(coord, sup, pid)
        _ = try sup.groups().addSession(groupId: gid, dateMs: 1_767_225_600_000, topic: "Sesi 1")
        _ = try sup.sync(relayUrl: url)
        _ = try other.sync(relayUrl: url)
        try assertEqual(["Sesi 1"], try other.groups().sessions(groupId: gid).map { $0.topic }, "sessions")
        // A co-facilitator without a programme role does not run sessions.
        try assertThrows("a co-facilitator without a role adds a session", notAllowed) {
            _ = try other.groups().addSession(groupId: gid, dateMs: 1_767_225_600_000, topic: "Sesi 2")
        }
        for locale in ["id", "en"] {
            try assertTrue(localizedMessage(messageId: "error-bad-credential", locale: locale) != "error-bad-credential", "bad credential in \(locale)")
        }
    }

    check("pairings: one opens only under a programme whose training the supporter holds") {
        let url = try relayURL()
        let sup = try personVault("prog-s.db"), part = try personVault("prog-p.db")
        let request = try part.linkRequest()
        try assertThrows("a programme without a role there", notAllowed) {
            _ = try sup.pairings().create(participantRequest: request, programmeId: String(repeating: "42", count: 32))
        }
        let pid = try sup.programmes().create(name: "PIK-R SMA 1")
        let e = try caught("a role, no training") {
            _ = try sup.pairings().create(participantRequest: request, programmeId: pid)
        }
        try assertTrue(notCertifiedDetail(e)?.hasSuffix(trainingModuleIds.joined(separator: ",")) == true, "every module named: \(e)")
        try assertEqual([SharedSpace](), try sup.spaces().list(), "nothing created")
        for m in trainingModules {
            _ = try sup.programmes().addTrainingRecord(credential: try sup.programmes().certifyTraining(
                programmeId: pid, personId: try personIdOf(sup), module: m, completed: nowSecs() - 86400))
        }
        let created = try sup.pairings().create(participantRequest: request, programmeId: pid)
        _ = try part.spaces().join(response: created.response)
        _ = try sup.sync(relayUrl: url)
        try assertEqual(UInt32(0), try part.sync(relayUrl: url).quarantined, "accepted on receipt")
        for v in [sup, part] {
            try assertEqual(PairingStanding(programmeId: pid, outsideProgramme: false), try v.pairings().standing(pairingId: created.spaceId), "under the programme")
        }
        try assertTrue(!requiredTrainingModules().contains(.groupFacilitation), "not a one-to-one module")
        let en = localizedMessage(messageId: "training-module-group-facilitation", locale: "en")
        try assertTrue(en != "training-module-group-facilitation" && en != localizedMessage(messageId: "training-module-group-facilitation", locale: "id"), "named in both")
    }

    check("pairings: one from before programmes (v1 fixture) is kept and shown outside one") {
        guard let dir = ProcessInfo.processInfo.environment["SEBAYA_V1_FIXTURES"] else {
            throw CheckFailure(description: "SEBAYA_V1_FIXTURES is not set")
        }
        let copy = tmpPath("v1-participant.db")
        try FileManager.default.copyItem(atPath: dir + "/participant.db", toPath: copy)
        let v = try Vault.open(path: copy, masterKey: Data(repeating: 1, count: 32))
        let pairing = "50082106b68c9f6a19547568dca7d77e"
        try assertTrue(try v.spaces().list().contains { $0.id == pairing }, "still held")
        try assertEqual(PairingStanding(programmeId: nil, outsideProgramme: true), try v.pairings().standing(pairingId: pairing), "outside a programme")
        try assertEqual(["Aku di sini."], try v.pairings().messages(pairingId: pairing).map { $0.text }, "still read")
        try assertThrows("a group is no pairing", invalidInput) {
            _ = try v.pairings().standing(pairingId: "054d6816c76f088681c5a5a92dffd5fd")
        }
        for key in ["pairing-outside-programme", "pairing-under-programme"] {
            let en = localizedMessage(messageId: key, locale: "en"), id = localizedMessage(messageId: key, locale: "id")
            try assertTrue(en != key && id != key && en != id, "\(key) in both languages")
        }
    }

    check("case notes: a coordinator supervises; a non-coordinator and a third person are refused") {
        let url = try relayURL()
        let sup = try personVault("cn-s.db")
        let svr = try personVault("cn-v.db")
        let other = try personVault("cn-o.db")
        let third = try personVault("cn-t.db")
        let pid = try svr.programmes().create(name: "Supervisi")
        try certifiedSupporter(svr, sup, pid, [])
        try certifiedSupporter(svr, other, pid, [])
        let refused = try caught("a peer supporter as supervisor") {
            _ = try sup.pairings().createCaseNotes(
                about: "pairing-2", supervisorRequest: try other.linkRequest(),
                supervisorPresentation: try other.programmes().certificationPresentation(programmeId: pid), programmeId: pid)
        }
        guard case .NotSupervisor(let mid, _) = refused else { throw CheckFailure(description: "expected NotSupervisor, got \(refused)") }
        try assertEqual("error-not-supervisor", mid, "messageId")
        try assertEqual([SharedSpace](), try sup.spaces().list(), "nothing created")
        let notes = try sup.pairings().createCaseNotes(
            about: "pairing-7f3a", supervisorRequest: try svr.linkRequest(),
            supervisorPresentation: try svr.programmes().certificationPresentation(programmeId: pid), programmeId: pid)
        _ = try svr.spaces().join(response: notes.response)
        var standings: [String: CaseNotesStanding] = [:]
        for m in try sup.pairings().caseNotesMembers(spaceId: notes.spaceId) { standings[m.deviceId] = m.standing }
        try assertEqual([try sup.deviceId(): CaseNotesStanding.supporter, try svr.deviceId(): CaseNotesStanding.supervisor], standings, "supporter and supervisor")
        let nid = try sup.pairings().addCaseNote(spaceId: notes.spaceId, text: "Rujukan dibahas.")
        _ = try sup.sync(relayUrl: url)
        _ = try svr.sync(relayUrl: url)
        _ = try svr.pairings().reviewCaseNote(spaceId: notes.spaceId, noteId: nid, text: "Baik.")
        _ = try svr.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        try assertEqual(["Baik."], try single(try sup.pairings().caseNotes(spaceId: notes.spaceId), "one note").reviews, "review reached the supporter")
        let full = try caught("a third person") {
            _ = try sup.spaces().approveMember(spaceId: notes.spaceId, request: try third.linkRequest())
        }
        guard case .CaseNotesFull(let fid, _) = full else { throw CheckFailure(description: "expected CaseNotesFull, got \(full)") }
        try assertEqual("error-case-notes-full", fid, "messageId")
        try assertEqual(2, try sup.pairings().caseNotesMembers(spaceId: notes.spaceId).count, "membership unchanged")
        for key in ["error-not-supervisor", "error-case-notes-full"] {
            let en = localizedMessage(messageId: key, locale: "en")
            let id = localizedMessage(messageId: key, locale: "id")
            try assertTrue(en != key && id != key && en != id, "\(key) in both languages")
        }
    }
}
