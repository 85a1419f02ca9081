// Erasing a group, a pairing and a care record for good through the Swift bindings (issue 14, item
// 17): the facilitator erases a group and a plain member is refused; the participant erases their
// pairing (the supporter may not) and their care record once no referral waits (OpenReferrals
// before). Every member's device shows it erased. The same flows as
// bindings/tests/python/test_erase.py. main.swift runs eraseTests().

import Foundation

func openReferrals(_ e: SebayaError) -> String? { if case .OpenReferrals(let m, _) = e { return m }; return nil }

private func erasedOn(_ v: Vault) throws -> [String] {
    try v.spaces().erased().map { "\($0.id):\($0.kind)" }
}

func eraseTests() {
    check("erase: the facilitator erases a group everywhere; a plain member is refused") {
        let url = try relayURL()
        let fac = try personVault("erase-f.db")
        let mem = try personVault("erase-m.db")
        let gid = try fac.groups().create(name: "Kelompok Rabu")
        let code = try fac.spaces().approveMember(spaceId: gid, request: try mem.linkRequest())
        _ = try mem.groups().join(response: code)
        for v in [fac, mem, fac, mem] { _ = try v.sync(relayUrl: url) }
        _ = try mem.groups().addNote(groupId: gid, text: "Catatan anggota.")
        _ = try mem.sync(relayUrl: url)
        try assertThrows("a plain member erases", notAllowed) { try mem.groups().erase(groupId: gid) }
        try assertEqual([gid], try mem.groups().list().map { $0.id }, "still there")
        try fac.groups().erase(groupId: gid)
        try assertEqual(["\(gid):\(SpaceKind.group)"], try erasedOn(fac), "erased here")
        _ = try fac.sync(relayUrl: url)
        try assertEqual(UInt32(1), try mem.sync(relayUrl: url).erased, "erased on the member's device")
        try assertEqual(0, try mem.groups().list().count, "gone there")
        try assertEqual(["\(gid):\(SpaceKind.group)"], try erasedOn(mem), "shown as erased")
        try assertThrows("the old join code", notAllowed) { _ = try mem.groups().join(response: code) }
    }

    check("erase: the participant erases their pairing; the supporter may not") {
        let url = try relayURL()
        let sup = try personVault("erase-s1.db")
        let part = try personVault("erase-p1.db")
        let pairing = try sup.pairings().create(participantRequest: try part.linkRequest(), programmeId: try trainedProgramme(sup))
        _ = try part.spaces().join(response: pairing.response)
        for v in [sup, part, sup, part] { _ = try v.sync(relayUrl: url) }
        try assertThrows("the supporter erases", notAllowed) { try sup.pairings().erase(pairingId: pairing.spaceId) }
        try part.pairings().erase(pairingId: pairing.spaceId)
        _ = try part.sync(relayUrl: url)
        try assertEqual(UInt32(1), try sup.sync(relayUrl: url).erased, "erased on the supporter's device")
        try assertEqual(["\(pairing.spaceId):\(SpaceKind.pairing)"], try erasedOn(sup), "shown as erased")
    }

    check("erase: the participant erases their care record once no referral waits") {
        let url = try relayURL()
        let (coord, sup, part, care, _) = try threeDevices("erase-care", url)
        _ = try part.care().giveConsent(careId: care, purpose: .dutyOfCare, agreed: true)
        try assertEqual(1, try part.care().askForHelp(country: "ID").referrals.count, "a referral")
        let mid = try assertThrows("a referral waits", openReferrals) { try part.care().eraseRecord(careId: care) }
        try assertEqual("error-open-referrals", mid, "messageId")
        for locale in ["id", "en"] {
            try assertTrue(localizedMessage(messageId: mid, locale: locale) != mid, "text in \(locale)")
        }
        try assertEqual(1, try part.care().records().count, "nothing changed")
        for v in [sup, coord] {
            try assertThrows("someone else erases", notAllowed) { try v.care().eraseRecord(careId: care) }
        }
        _ = try part.sync(relayUrl: url)
        _ = try coord.sync(relayUrl: url)
        let inbox = try single(try coord.care().referralInbox(), "the coordinator's inbox")
        try coord.care().updateReferral(careId: care, referralId: inbox.id, state: .acknowledged)
        _ = try coord.sync(relayUrl: url)
        _ = try part.sync(relayUrl: url)
        try part.care().eraseRecord(careId: care)
        try assertEqual(0, try part.care().records().count, "gone here")
        _ = try part.sync(relayUrl: url)
        for v in [sup, coord] {
            try assertEqual(UInt32(1), try v.sync(relayUrl: url).erased, "erased there")
            try assertEqual(0, try v.care().records().count, "gone there")
            try assertEqual(["\(care):\(SpaceKind.care)"], try erasedOn(v), "shown as erased")
        }
    }
}
