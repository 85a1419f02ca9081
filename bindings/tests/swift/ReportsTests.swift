// A programme report through the Swift bindings: a supporter publishes activity counts into the
// programme's report space, the coordinator builds the report, and small cells are suppressed. The same
// flow and assertions as test_a_programme_report_from_published_counts_with_small_cells_suppressed in
// bindings/tests/python/test_care.py. main.swift runs reportsTests().

import Foundation

func reportsTests() {
    check("reports: a programme report from published counts, with small cells suppressed") {
        let url = try relayURL()
        let (coord, sup, part, _, pid) = try threeDevices("report", url)
        let report = try coord.programmes().createReportSpace(programmeId: pid)
        _ = try sup.spaces().join(response: try coord.spaces().approveMember(spaceId: report, request: try sup.linkRequest()))
        _ = try coord.sync(relayUrl: url)
        let gid = try sup.groups().create(name: "Kelompok Kamis", programmeId: pid)
        _ = try part.groups().join(response: try sup.spaces().approveMember(spaceId: gid, request: try part.linkRequest()))
        try certifyFacilitation(coord, sup, pid)
        let start: Int64 = 1_767_225_600_000
        let week: Int64 = 7 * 86_400_000
        for i in 0..<5 {
            let sid = try sup.groups().addSession(groupId: gid, dateMs: start + Int64(i) * week, topic: "Sesi")
            try sup.groups().setAttendance(groupId: gid, sessionId: sid, memberDeviceId: try part.deviceId(), attendance: .present)
        }
        _ = try sup.sync(relayUrl: url)
        try assertEqual(UInt32(5), try sup.programmes().publishActivity(reportId: report, startMs: start, endMs: start + 10 * week), "published")
        _ = try part.care().askForHelp(country: "id")
        for v in [sup, part, coord] { _ = try v.sync(relayUrl: url) }
        let r = try coord.programmes().report(programmeId: pid, startMs: start, endMs: start + 10 * week, locale: "id")
        guard let held = r.metrics.first(where: { $0.id == "sessions.held" }) else {
            throw CheckFailure(description: "no sessions.held metric: \(r.metrics.map { $0.id })")
        }
        try assertEqual(5.0, held.value, "sessions held")
        guard let referrals = r.metrics.first(where: { $0.id == "referrals.total" }) else {
            throw CheckFailure(description: "no referrals.total metric: \(r.metrics.map { $0.id })")
        }
        try assertEqual(nil, referrals.value, "one referral is below the cell size")
        try assertTrue(r.suppressed.contains("referrals.total"), "suppressed: \(r.suppressed)")
        try assertTrue(r.csv.contains("<5"), "the CSV marks suppressed cells")
        try assertTrue(r.json.contains("\"sebaya-report/1\""), "the JSON names its schema")
        try assertTrue(r.metrics.allSatisfy { !$0.label.isEmpty && $0.label != $0.id }, "every metric has a label")
    }
}
