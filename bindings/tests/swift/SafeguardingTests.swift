// Safeguarding concerns through the Swift bindings (issue 14, item 14): a supporter's concern about a
// child waits on the supporter's phone until the programme has a safeguarding space, reaches the
// coordinator there, is acknowledged through the caseload, and never reaches the child's phone.

import Foundation

func safeguardingTests() {
    check("safeguarding: a concern waits, reaches the coordinator, is acknowledged, and never the child's phone") {
        let url = try relayURL()
        let (coord, sup, part, care, pid) = try threeDevices("safeguarding", url)
        // The programme's deadline, which the concern carries sealed (review M6).
        try assertEqual(UInt32(1), try coord.care().setAckDeadline(programmeId: pid, hours: 6), "deadline set")
        for v in [coord, sup] { _ = try v.sync(relayUrl: url) }
        let concern = try sup.care().referNow(careId: care, safeguardingMinor: true)
        let waiting = try single(try sup.care().concerns(), "the supporter's concerns")
        try assertEqual(concern, waiting.id, "the concern")
        try assertEqual(UInt32(6), waiting.deadlineHours, "raised with the record's deadline")
        try assertTrue(waiting.spaceId == nil && waiting.state == ReferralState.queued, "waits on the supporter's phone")
        try assertEqual(CareNotice.concernNotDelivered, waiting.notice, "and tells the supporter what to do")
        try assertTrue(!(try coord.programmes().list().first { $0.id == pid }?.safeguardingSpace ?? true), "the coordinator is warned")
        _ = try assertThrows("a supporter makes the space", notAllowed) { _ = try sup.care().createSafeguardingSpace(programmeId: pid) }
        let space = try coord.care().createSafeguardingSpace(programmeId: pid)
        try assertTrue(try coord.programmes().list().first { $0.id == pid }?.safeguardingSpace ?? false, "no longer warned")
        _ = try assertThrows("the child's phone is added", notAllowed) {
            _ = try coord.spaces().approveMember(spaceId: space, request: try part.linkRequest())
        }
        let joined = try sup.spaces().join(response: try coord.spaces().approveMember(spaceId: space, request: try sup.linkRequest()))
        try assertEqual(SpaceKind.safeguarding, joined.kind, "the safeguarding space")
        // The supporter's first sync brings the space's document; the concern leaves with its next.
        for v in [coord, sup, sup, coord, part] { _ = try v.sync(relayUrl: url) }
        let seen = try single(try coord.care().concerns(), "the coordinator's concerns")
        try assertEqual([concern, space, care], [seen.id, seen.spaceId ?? "", seen.careId ?? ""], "the coordinator opens it")
        try assertEqual(try personIdOf(part), seen.participant ?? "", "about whom")
        _ = try coord.care().setAckDeadline(programmeId: pid, hours: 48)
        try assertEqual(UInt32(6), try single(try coord.care().concerns(), "again").deadlineHours, "the deadline came with the concern")
        let item = try single(try coord.care().caseload().filter { $0.id == concern }, "in the caseload")
        try assertEqual(ReferralReason.safeguardingMinor, item.reason, "as a safeguarding concern")
        _ = try assertThrows("a supporter acknowledges", notAllowed) {
            try sup.care().updateReferral(careId: space, referralId: concern, state: .acknowledged)
        }
        try coord.care().updateReferral(careId: item.careId, referralId: concern, state: .acknowledged)
        _ = try coord.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        let mine = try single(try sup.care().concerns(), "the supporter's concern")
        try assertTrue(mine.state == ReferralState.acknowledged && mine.notice == CareNotice.told, "told")
        // The programme's report counts it (review M5): one concern, suppressed; nothing names the child.
        let report = try coord.programmes().report(programmeId: pid, startMs: seen.createdMs - 1, endMs: seen.createdMs + 3_600_000, locale: "en")
        let row = try single(report.metrics.filter { $0.id == "concerns.raised" }, "the concerns row")
        try assertTrue(row.value == nil && report.suppressed.contains("concerns.raised"), "a small count is suppressed")
        try assertEqual("Safeguarding concerns raised", row.label, "labelled in English")
        try assertTrue(!report.json.contains(care) && !report.json.contains(try personIdOf(part)) && !report.csv.contains(concern), "nothing names the child")
        _ = try part.sync(relayUrl: url)
        try assertTrue(try part.spaces().list().allSatisfy { $0.id != space }, "the child's phone holds no such space")
        try assertTrue(try part.care().concerns().isEmpty, "nor lists it")
        try assertTrue(try part.care().referrals(careId: care).allSatisfy { $0.id != concern }, "nor in the record")
        let export = try part.exportAll()
        try assertTrue(!export.contains(concern) && !export.contains("safeguarding"), "nor exports it")
    }
}
