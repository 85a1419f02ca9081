// Leaving a group and ending a pairing through the Swift bindings (issue 18, item 1): the leaver's
// notes stay, shown as from a former member; a remaining facilitator's device rotates the key; the
// leaver writes nothing more. Either party ends a pairing: each device writes nothing past its own
// end (the other party's device signs its own when it learns, and what it wrote until then stands),
// its history stays, it leaves the supporter's active pairings. Bad input: a group one is not in,
// the only facilitator leaving, a stranger's leave, ending twice. The same flows as
// bindings/tests/python/test_leave.py.
// main.swift runs leaveTests().

import Foundation

func leaveTests() {
    check("leave: a member leaves a group; its note stays, from a former member") {
        let url = try relayURL()
        let fac = try personVault("leave-f.db")
        let co = try personVault("leave-c.db")
        let mem = try personVault("leave-m.db")
        let stranger = try personVault("leave-x.db")
        let gid = try fac.groups().create(name: "Kelompok Jumat")
        _ = try co.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try co.linkRequest(), asAdmin: true))
        _ = try mem.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try mem.linkRequest()))
        for v in [fac, co, mem] { _ = try v.sync(relayUrl: url) }
        _ = try mem.groups().addNote(groupId: gid, text: "Terima kasih semua.")
        _ = try mem.sync(relayUrl: url)
        try assertThrows("a stranger's leave", notFound) { try stranger.groups().leave(groupId: gid) }
        try mem.groups().leave(groupId: gid)
        try assertThrows("leaving twice", notFound) { try mem.groups().leave(groupId: gid) }
        try assertThrows("a write after leaving", notAllowed) { _ = try mem.groups().addNote(groupId: gid, text: "x") }
        _ = try mem.sync(relayUrl: url)
        for v in [co, fac, co] { _ = try v.sync(relayUrl: url) }
        let memId = try mem.deviceId()
        for v in [fac, co] {
            let notes = try v.groups().notes(groupId: gid)
            try assertEqual(["Terima kasih semua."], notes.map { $0.text }, "the note stays")
            try assertTrue(notes[0].fromFormerMember, "from a former member")
            try assertTrue(try v.spaces().members(spaceId: gid).allSatisfy { $0.deviceId != memId }, "no longer a member")
        }
        _ = try fac.groups().addNote(groupId: gid, text: "Sesudahnya.")
        _ = try fac.sync(relayUrl: url)
        _ = try mem.sync(relayUrl: url)
        try assertEqual(["Terima kasih semua."], try mem.groups().notes(groupId: gid).map { $0.text }, "nothing new")
    }

    check("leave: the only facilitator cannot leave; a group one is not in") {
        let fac = try personVault("leave-f2.db")
        let gid = try fac.groups().create(name: "Sendiri")
        try assertThrows("the only facilitator", notAllowed) { try fac.groups().leave(groupId: gid) }
        try assertThrows("not in it", notFound) { try fac.groups().leave(groupId: String(repeating: "00", count: 16)) }
    }

    check("leave: either party ends a pairing; each side writes nothing past its own end") {
        let url = try relayURL()
        let sup = try personVault("leave-s.db")
        let part = try personVault("leave-p.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        let pid = pairing.spaceId
        _ = try part.spaces().join(response: pairing.response)
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        _ = try part.pairings().addCheckin(pairingId: pid, mood: 3, note: "lumayan")
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        try assertEqual([pid], try sup.pairings().active(), "active")
        try part.pairings().end(pairingId: pid)
        try assertThrows("ending twice", notAllowed) { try part.pairings().end(pairingId: pid) }
        _ = try part.sync(relayUrl: url)
        _ = try sup.sync(relayUrl: url)
        try assertEqual(0, try sup.pairings().active().count, "no longer active")
        try assertThrows("a write after the end", notAllowed) { _ = try sup.pairings().sendMessage(pairingId: pid, text: "halo") }
        try assertThrows("the other party ends it again", notAllowed) { try sup.pairings().end(pairingId: pid) }
        for v in [sup, part] { try assertEqual(1, try v.pairings().checkins(pairingId: pid).count, "history stays") }
    }

    check("leave: a check-in sent just before the other party ends stays; the participant's device ends its side") {
        let url = try relayURL()
        let sup = try personVault("leave-s2.db")
        let part = try personVault("leave-p2.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        let pid = pairing.spaceId
        _ = try part.spaces().join(response: pairing.response)
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        try assertEqual([pid], try part.pairings().active(), "active for the participant")
        _ = try part.pairings().addCheckin(pairingId: pid, mood: 1, note: "berat sekali")
        _ = try part.sync(relayUrl: url)
        try sup.pairings().end(pairingId: pid)
        for v in [sup, part, sup] { _ = try v.sync(relayUrl: url) }
        for v in [sup, part] {
            try assertEqual(["berat sekali"], try v.pairings().checkins(pairingId: pid).map { $0.note }, "the check-in in flight stays")
        }
        try assertEqual(0, try part.pairings().active().count, "ended for the participant too")
        try assertThrows("the participant writes no more", notAllowed) { _ = try part.pairings().addCheckin(pairingId: pid, mood: 2, note: "") }
        try assertThrows("its own end went out", notAllowed) { try part.pairings().end(pairingId: pid) }
    }
}
