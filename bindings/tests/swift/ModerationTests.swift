// Reports and blocks through the Swift bindings (issue 18, item 2; protocol 31): a member's report
// reaches the programme's coordinators, sealed in the reporter's care record, never the reported
// member; a report about the facilitator goes to the coordinators alone. Bad input: a non-member,
// content of another space, a reason no person gives, oneself. A block hides a member's notes on
// the blocker's devices only, never a coordinator (refused) nor a referral; the facilitator's notice
// names the blocked member, not the blocker. The same flows as
// bindings/tests/python/test_moderation.py. main.swift runs moderationTests().

import Foundation

func tooManyReports(_ e: SebayaError) -> String? { if case .TooManyReports(let m, _) = e { return m }; return nil }
func reportSeenByReported(_ e: SebayaError) -> String? { if case .ReportSeenByReported(let m, _) = e { return m }; return nil }

private func moderationWorld(_ tag: String, _ url: String) throws -> (Vault, Vault, Vault, Vault, String, String) {
    let coord = try personVault("mod-c\(tag).db")
    let fac = try personVault("mod-f\(tag).db")
    let p1 = try personVault("mod-p1\(tag).db")
    let p2 = try personVault("mod-p2\(tag).db")
    let pid = try coord.programmes().create(name: "Kelompok Sebaya")
    let grant = try coord.programmes().grantRole(
        programmeId: pid, personId: try personIdOf(fac), role: .peerSupporter, validDays: 90)
    _ = try fac.programmes().addCredential(credential: grant.credential)
    let enrol = try coord.care().enrol(request: try p1.linkRequest(), programmeId: pid)
    _ = try p1.spaces().join(response: enrol.response)
    let group = try fac.groups().create(name: "Kelompok", programmeId: pid)
    for p in [p1, p2] {
        _ = try p.spaces().join(response: try fac.spaces().approveMember(spaceId: group, request: try p.linkRequest()))
    }
    // The programme's safeguarding space, where a coordinator's device passes reports on to the facilitator.
    let sg = try coord.care().createSafeguardingSpace(programmeId: pid)
    _ = try fac.spaces().join(response: try coord.spaces().approveMember(spaceId: sg, request: try fac.linkRequest()))
    for v in [coord, fac, p1, p2, fac, p1, p2, coord] { _ = try v.sync(relayUrl: url) }
    return (coord, fac, p1, p2, group, enrol.careId)
}

func moderationTests() {
    check("moderation: a report reaches the coordinators and never the reported member") {
        let url = try relayURL()
        let (coord, fac, p1, p2, group, care) = try moderationWorld("a", url)
        let note = try p2.groups().addNote(groupId: group, text: "kamu tidak berguna", title: "judul")
        _ = try p2.sync(relayUrl: url)
        _ = try p1.sync(relayUrl: url)
        let rid = try p1.moderation().report(
            spaceId: group, target: .note, record: note, reason: .harassment, text: "sudah dua kali")
        _ = try p1.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let r = try single(try coord.moderation().reports(), "the coordinator's reports")
        try assertEqual([rid, care, note], [r.id, r.careId, r.record], "the report, in the reporter's care record")
        try assertEqual(ReportRoute.facilitatorAndCoordinators, r.route, "route")
        try assertEqual([try fac.deviceId()], r.facilitators, "the facilitator named")
        try assertEqual(try p2.deviceId(), r.about, "about")
        try assertEqual(try personIdOf(p1), r.reporter ?? "", "the reporter, for the coordinator")
        try assertEqual("judul\nkamu tidak berguna", r.copy, "the copy")
        _ = try coord.sync(relayUrl: url)
        _ = try fac.sync(relayUrl: url)
        let copy = try single(try fac.moderation().reports(), "passed on to the facilitator")
        try assertTrue(copy.id != rid && copy.facilitators.isEmpty, "passed on under an id of its own")
        try assertTrue(copy.passedOn && copy.reporter == nil, "without the reporter")
        try assertEqual(try p2.deviceId(), copy.about, "about whom")
        _ = try p2.sync(relayUrl: url)
        try assertTrue(try p2.moderation().reports().isEmpty, "nothing for the reported member")
        for v in [p2, fac] {
            try assertTrue(try v.spaces().list().allSatisfy { $0.id != care }, "no care record of the reporter's")
        }
        let fnote = try fac.groups().addNote(groupId: group, text: "catatan")
        _ = try fac.sync(relayUrl: url)
        _ = try p1.sync(relayUrl: url)
        _ = try p1.moderation().report(spaceId: group, target: .note, record: fnote, reason: .unsafeAdvice, text: "")
        _ = try p1.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let facId = try fac.deviceId()
        let aboutFac = try single(try coord.moderation().reports().filter { $0.about == facId }, "about the facilitator")
        try assertEqual(ReportRoute.coordinators, aboutFac.route, "the coordinators alone")
        try assertTrue(aboutFac.facilitators.isEmpty, "no facilitator named")
        _ = try coord.sync(relayUrl: url)
        _ = try fac.sync(relayUrl: url)
        try assertEqual([copy.id], try fac.moderation().reports().map { $0.id }, "never passed on to the facilitator")
    }

    check("moderation: bad reports are refused") {
        let url = try relayURL()
        let (coord, fac, p1, p2, group, care) = try moderationWorld("b", url)
        let note = try p2.groups().addNote(groupId: group, text: "x")
        _ = try p2.sync(relayUrl: url)
        _ = try p1.sync(relayUrl: url)
        _ = try assertThrows("a non-member", notFound) {
            _ = try coord.moderation().report(spaceId: group, target: .note, record: note, reason: .other, text: "")
        }
        _ = try assertThrows("content of another space", invalidInput) {
            _ = try p1.moderation().report(spaceId: care, target: .note, record: note, reason: .other, text: "")
        }
        _ = try assertThrows("a note as a message", notFound) {
            _ = try p1.moderation().report(spaceId: group, target: .message, record: note, reason: .other, text: "")
        }
        for reason in [ReportReason.blocked, ReportReason.unknown(raw: "spam")] {
            _ = try assertThrows("a reason no person gives", invalidInput) {
                _ = try p1.moderation().report(spaceId: group, target: .note, record: note, reason: reason, text: "")
            }
        }
        let me = try p1.deviceId()
        _ = try assertThrows("oneself", invalidInput) {
            _ = try p1.moderation().report(spaceId: group, target: .member, record: me, reason: .other, text: "")
        }
        _ = try coord.spaces().join(response: try fac.spaces().approveMember(spaceId: group, request: try coord.linkRequest()))
        for v in [fac, coord, fac, p1] { _ = try v.sync(relayUrl: url) }
        let coordId = try coord.deviceId()
        let seen = try assertThrows("about someone holding the care record", reportSeenByReported) {
            _ = try p1.moderation().report(spaceId: group, target: .member, record: coordId, reason: .other, text: "")
        }
        try assertEqual("error-report-seen-by-reported", seen, "message id")
        try assertTrue(try p1.moderation().reports().isEmpty, "nothing written")
        for _ in 0..<10 {
            _ = try p1.moderation().report(spaceId: group, target: .note, record: note, reason: .other, text: "")
        }
        let many = try assertThrows("the eleventh report today", tooManyReports) {
            _ = try p1.moderation().report(spaceId: group, target: .note, record: note, reason: .other, text: "")
        }
        try assertEqual("error-too-many-reports", many, "message id")
        try assertEqual(10, try p1.moderation().reports().count, "ten written")
    }

    check("moderation: a block hides a member here only; never oneself, a coordinator or a referral") {
        let url = try relayURL()
        let (coord, fac, p1, p2, group, care) = try moderationWorld("c", url)
        let note = try p2.groups().addNote(groupId: group, text: "dari p2")
        let fnote = try fac.groups().addNote(groupId: group, text: "dari fasilitator")
        for v in [p2, fac, p1] { _ = try v.sync(relayUrl: url) }
        let me = try p1.deviceId()
        let coordId = try coord.deviceId()
        let p2Id = try p2.deviceId()
        _ = try assertThrows("oneself", invalidInput) { try p1.moderation().block(spaceId: group, device: me) }
        _ = try assertThrows("a coordinator", notAllowed) { try p1.moderation().block(spaceId: care, device: coordId) }
        try p1.moderation().block(spaceId: group, device: p2Id)
        try assertEqual([fnote], try p1.groups().notes(groupId: group).map { $0.id }, "hidden here")
        try assertEqual(Set([note, fnote]), Set(try fac.groups().notes(groupId: group).map { $0.id }), "not for others")
        _ = try p1.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let notice = try single(try coord.moderation().reports(), "the facilitator's notice")
        try assertEqual(ReportReason.blocked, notice.reason, "a block's notice")
        try assertEqual(p2Id, notice.about, "about the blocked member")
        try assertEqual([group], try p1.moderation().blocked().map { $0.spaceId }, "in that space")
        try p1.moderation().unblock(spaceId: group, device: p2Id)
        try assertEqual(2, try p1.groups().notes(groupId: group).count, "shown again")
        _ = try assertThrows("a facilitator moderates", notAllowed) { try fac.moderation().block(spaceId: group, device: me) }
        _ = try assertThrows("a coordinator moderates", notAllowed) { try coord.moderation().block(spaceId: care, device: me) }
        _ = try p1.care().askForHelp(country: "id")
        _ = try p1.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        try assertTrue(try coord.care().referralInbox().contains { $0.reason == ReferralReason.helpNow }, "a referral is never hidden")
    }
}
