// Reminders through the Swift bindings (issue 18, item 4): a weekly check-in cadence and a task
// reach whom they are for with the neutral text; a phone that crosses time zones keeps "Monday
// 16:00" local under the same keys; a clock set back neither repeats a completed occurrence nor
// loses the next; a one-off in the past is ReminderInPast. The same flows as
// bindings/tests/python/test_reminders.py. main.swift runs remindersTests().

import Foundation

func reminderInPast(_ e: SebayaError) -> String? { if case .ReminderInPast(let m, _) = e { return m }; return nil }
func waitingForUpdates(_ e: SebayaError) -> String? { if case .WaitingForUpdates(let m, _) = e { return m }; return nil }

private let day: Int64 = 86_400
private let jakarta: Int32 = 7 * 60
private let jayapura: Int32 = 9 * 60

private func floorMod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }

/// The UTC instant of the next Monday 16:00 in UTC+7 (1970-01-05 was a Monday).
private func nextMonday16(_ now: Int64) -> Int64 {
    var d = (now + Int64(jakarta) * 60) / day + 1
    while floorMod(d - 4, 7) != 0 { d += 1 }
    return d * day + 16 * 3600 - Int64(jakarta) * 60
}

func remindersTests() {
    check("reminders: whom they are for, a zone change, a clock set back, a one-off in the past") {
        let url = try relayURL()
        let sup = try personVault("rem-s.db")
        let part = try personVault("rem-p.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        let pid = pairing.spaceId
        let now = Int64(Date().timeIntervalSince1970)
        let cadence = try sup.reminders().add(spaceId: pid, kind: .cadence, forWhom: .everyone, text: "", firstAtSecs: nextMonday16(now), offsetMinutes: jakarta, everyDays: 7)
        let task = try part.reminders().add(spaceId: pid, kind: .task, forWhom: .participant, text: "latihan napas", firstAtSecs: now + 2 * day, offsetMinutes: jakarta, everyDays: 0)
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        try assertEqual(Set([cadence, task]), Set(try sup.reminders().list(spaceId: pid).map { $0.id }), "both see both")

        let mine = try part.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id")
        try assertTrue(mine.upcoming.contains { $0.reminderId == task }, "the task is the participant's")
        try assertTrue(!(try sup.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "en").upcoming.contains { $0.reminderId == task }), "not the supporter's")
        for n in mine.upcoming {
            try assertEqual(localizedMessage(messageId: n.messageId, locale: "id", detail: nil), n.text, "neutral text")
            try assertTrue(!n.text.contains("latihan") && !n.key.contains("latihan"), "never the task's words")
        }

        // The phone flies from Jakarta to Jayapura: 16:00 stays 16:00 local, the keys stay.
        let west = try part.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id").upcoming.filter { $0.reminderId == cadence }
        let east = try part.reminders().due(nowSecs: now, offsetMinutes: jayapura, locale: "id").upcoming.filter { $0.reminderId == cadence }
        try assertEqual(west.map { $0.key }, east.map { $0.key }, "same keys")
        for (a, b) in zip(west, east) {
            try assertEqual(2 * 3600, a.atSecs - b.atSecs, "two hours earlier in UTC")
            try assertEqual(16 * 3600, floorMod(b.atSecs + Int64(jayapura) * 60, day), "16:00 local")
        }

        // Missed, completed, then the clock is set back a day before it.
        guard let first = west.first else { throw CheckFailure(description: "no occurrence") }
        let later = first.atSecs + 3600
        try assertTrue(try part.reminders().due(nowSecs: later, offsetMinutes: jakarta, locale: "id").overdue.contains { $0.key == first.key }, "overdue")
        try part.reminders().complete(spaceId: pid, reminderId: cadence, occurrence: first.occurrence)
        let back = try part.reminders().due(nowSecs: first.atSecs - day, offsetMinutes: jakarta, locale: "id").upcoming.filter { $0.reminderId == cadence }
        try assertTrue(!back.contains { $0.key == first.key }, "not due again")
        try assertEqual([first.occurrence + 1], back.map { $0.occurrence }, "the next one, once")

        let m = try assertThrows("a one-off in the past", reminderInPast) {
            _ = try part.reminders().add(spaceId: pid, kind: .task, forWhom: .participant, text: "x", firstAtSecs: now - 60, offsetMinutes: jakarta, everyDays: 0)
        }
        try assertEqual("error-reminder-in-past", m, "message id")
        try assertThrows("a cadence of 0 days", invalidInput) {
            _ = try sup.reminders().add(spaceId: pid, kind: .cadence, forWhom: .everyone, text: "", firstAtSecs: now + 60, offsetMinutes: jakarta, everyDays: 0)
        }
        try assertThrows("a participant's follow-up", notAllowed) {
            _ = try part.reminders().add(spaceId: pid, kind: .followUp, forWhom: .supporter, text: "", firstAtSecs: now + 60, offsetMinutes: jakarta, everyDays: 0)
        }
    }

    check("reminders: a lead time, an unknown occurrence, a huge cadence and a huge lead") {
        let url = try relayURL()
        let sup = try personVault("rem-s2.db")
        let part = try personVault("rem-p2.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        let pid = pairing.spaceId
        let now = Int64(Date().timeIntervalSince1970)
        let at = now + 2 * day
        let session = try sup.reminders().add(spaceId: pid, kind: .session, forWhom: .everyone, text: "", firstAtSecs: at, offsetMinutes: jakarta, everyDays: 0, leadMinutes: 60)
        for v in [sup, part] { _ = try v.sync(relayUrl: url) }
        try assertEqual([60], try part.reminders().list(spaceId: pid).map { $0.leadMinutes }, "the lead travels")
        let ns = try part.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id").upcoming.filter { $0.reminderId == session }
        try assertEqual([at], ns.map { $0.atSecs }, "the occurrence")
        try assertEqual([at - 3600], ns.map { $0.notifyAtSecs }, "noticed an hour before")
        let between = try part.reminders().due(nowSecs: at - 1800, offsetMinutes: jakarta, locale: "id")
        try assertTrue(!(between.upcoming + between.overdue).contains { $0.reminderId == session }, "nothing once the notice passed")
        try assertThrows("a lead over a week", invalidInput) {
            _ = try sup.reminders().add(spaceId: pid, kind: .session, forWhom: .everyone, text: "", firstAtSecs: at, offsetMinutes: jakarta, everyDays: 0, leadMinutes: 7 * 24 * 60 + 1)
        }
        let cadence = try sup.reminders().add(spaceId: pid, kind: .cadence, forWhom: .everyone, text: "", firstAtSecs: now + day, offsetMinutes: jakarta, everyDays: 7)
        try assertThrows("occurrence 1 of a one-off", invalidInput) {
            try sup.reminders().complete(spaceId: pid, reminderId: session, occurrence: 1)
        }
        try assertThrows("an occurrence past any date", invalidInput) {
            try sup.reminders().complete(spaceId: pid, reminderId: cadence, occurrence: UInt64.max)
        }
        try assertThrows("an unknown reminder", notFound) {
            try sup.reminders().complete(spaceId: pid, reminderId: "00000000000000ff", occurrence: 0)
        }
        try assertThrows("a huge cadence", invalidInput) {
            _ = try sup.reminders().add(spaceId: pid, kind: .cadence, forWhom: .everyone, text: "", firstAtSecs: now + 60, offsetMinutes: jakarta, everyDays: UInt32.max)
        }
        try assertTrue(try sup.reminders().list(spaceId: pid).allSatisfy { $0.done.isEmpty }, "nothing marked")

        // The zone moves an hour ahead after the first weekly occurrence: later ones keep local time.
        let plain = try sup.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id").upcoming.filter { $0.reminderId == cadence }
        guard let first = plain.first else { throw CheckFailure(description: "no occurrence") }
        let change = OffsetChange(fromSecs: first.atSecs + day, offsetMinutes: jakarta + 60)
        let moved = try sup.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id", offsetChanges: [change]).upcoming.filter { $0.reminderId == cadence }
        try assertEqual(plain.map { $0.key }, moved.map { $0.key }, "same keys")
        try assertEqual(plain.dropFirst().map { $0.atSecs - 3600 }, moved.dropFirst().map { $0.atSecs }, "an hour earlier in UTC")
        try assertThrows("an offset of Int32.min", invalidInput) {
            _ = try sup.reminders().due(nowSecs: now, offsetMinutes: Int32.min, locale: "id")
        }
        try assertThrows("a change out of order", invalidInput) {
            _ = try sup.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id", offsetChanges: [OffsetChange(fromSecs: now + day, offsetMinutes: 60), OffsetChange(fromSecs: now, offsetMinutes: 60)])
        }
        try assertThrows("a one-off at offset Int32.min", invalidInput) {
            _ = try sup.reminders().add(spaceId: pid, kind: .task, forWhom: .everyone, text: "x", firstAtSecs: now + day, offsetMinutes: Int32.min, everyDays: 0)
        }
    }

    check("reminders: a removed facilitator's is refused on receipt; a new period carries the open ones") {
        let url = try relayURL()
        let fac = try personVault("rem-f3.db")
        let co = try personVault("rem-c3.db")
        let par = try personVault("rem-p3.db")
        let gid = try fac.groups().create(name: "Kelompok Kamis")
        _ = try co.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try co.linkRequest(), asAdmin: true))
        _ = try par.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try par.linkRequest()))
        for v in [fac, co, par, fac, co, par] { _ = try v.sync(relayUrl: url) }
        let now = Int64(Date().timeIntervalSince1970)
        let before = try co.reminders().add(spaceId: gid, kind: .task, forWhom: .everyone, text: "sebelum", firstAtSecs: now + day, offsetMinutes: jakarta, everyDays: 0)
        _ = try co.sync(relayUrl: url)
        _ = try fac.sync(relayUrl: url) // the facilitator holds it before the removal: it stays
        _ = try fac.spaces().removeMember(spaceId: gid, deviceId: try co.deviceId())
        _ = try fac.sync(relayUrl: url)
        let after = try co.reminders().add(spaceId: gid, kind: .task, forWhom: .everyone, text: "sesudah", firstAtSecs: now + day, offsetMinutes: jakarta, everyDays: 0)
        _ = try? co.sync(relayUrl: url)
        for v in [fac, par, fac, par] { _ = try v.sync(relayUrl: url) }
        for v in [fac, par] {
            let ids = try v.reminders().list(spaceId: gid).map { $0.id }
            try assertTrue(ids.contains(before) && !ids.contains(after), "only the member's reminder stands")
        }
        try assertTrue(try par.exportAll().contains("sebelum"), "in the participant's export")
        let next = try fac.groups().startPeriod(groupId: gid)
        for v in [fac, par, fac, par] { _ = try v.sync(relayUrl: url) }
        try assertEqual([before], try par.reminders().list(spaceId: next).map { $0.id }, "carried")
        try assertEqual([next], try par.reminders().due(nowSecs: now, offsetMinutes: jakarta, locale: "id").upcoming.filter { $0.reminderId == before }.map { $0.spaceId }, "once")
    }

    check("reminders: a participant's waits until the supporter's device has said its rules (12.2)") {
        let url = try relayURL()
        let sup = try personVault("rem-w-s.db")
        let part = try personVault("rem-w-p.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        let pid = pairing.spaceId
        let st = try part.spaces().rulesStatus(spaceId: pid)
        try assertTrue(st.thisDevice >= 8, "this release takes reminders")
        try assertEqual(UInt32(0), st.floor, "the supporter's device has not said")
        try assertEqual([try sup.deviceId()], st.behind, "who is behind")
        let now = Int64(Date().timeIntervalSince1970)
        let m = try assertThrows("waits", waitingForUpdates) {
            _ = try part.reminders().add(spaceId: pid, kind: .task, forWhom: .participant, text: "latihan", firstAtSecs: now + day, offsetMinutes: jakarta, everyDays: 0)
        }
        try assertEqual("error-waiting-for-updates", m, "message id")
        try assertTrue(localizedMessage(messageId: m, locale: "en", detail: nil).contains("update"), "English")
        try assertTrue(localizedMessage(messageId: m, locale: "id", detail: nil).contains("memperbarui"), "Indonesian")
        try assertTrue(try part.reminders().list(spaceId: pid).isEmpty, "nothing written")
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        for v in [sup, part] {
            let s = try v.spaces().rulesStatus(spaceId: pid)
            try assertEqual(s.thisDevice, s.floor, "everyone said")
            try assertTrue(s.behind.isEmpty, "nobody behind")
        }
        let r = try part.reminders().add(spaceId: pid, kind: .task, forWhom: .participant, text: "latihan", firstAtSecs: now + day, offsetMinutes: jakarta, everyDays: 0)
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        try assertTrue(try sup.reminders().list(spaceId: pid).contains { $0.id == r }, "it goes")
    }
}
