// A remote invite through the Swift bindings and the relay on loopback: ask, approve, join; the spent
// code is refused by the relay; a revoked invite, a damaged code, and the messages people see. The same
// flow and assertions as test_a_remote_invite_through_the_relay in bindings/tests/python/test_sebaya.py.
// main.swift runs invitesTests().

import Foundation

func inviteSpent(_ e: SebayaError) -> String? { if case .InviteSpent(let m, _) = e { return m }; return nil }
func badInvite(_ e: SebayaError) -> String? { if case .BadInvite(let m, _) = e { return m }; return nil }

func invitesTests() {
    check("invites: a remote invite through the relay") {
        let url = try relayURL()
        let fac = try Vault.open(path: tmpPath("invite-f.db"), masterKey: try generateMasterKey())
        let joiner = try Vault.open(path: tmpPath("invite-j.db"), masterKey: try generateMasterKey())
        let late = try Vault.open(path: tmpPath("invite-l.db"), masterKey: try generateMasterKey())
        _ = try joiner.createPerson()
        let gid = try fac.groups().create(name: "Kelompok Sabtu")
        _ = try fac.groups().addNote(groupId: gid, text: "Sebelum undangan.")
        let invite = try fac.invites().create(spaceId: gid, validForSecs: 3600, shareHistory: true)
        try assertEqual(gid, invite.spaceId, "invite space")
        try assertTrue(invite.code.count < 200 && invite.code.hasPrefix("SBYI1"), "invite code: \(invite.code)")
        let open = try fac.invites().list(spaceId: gid)
        try assertEqual([invite.id], open.map { $0.id }, "invite ids")
        try assertEqual([InviteStatus.open], open.map { $0.status }, "invite open")
        _ = try fac.sync(relayUrl: url)

        let pending = try joiner.invites().accept(code: invite.code, name: "Rina")
        try assertEqual(gid, pending.spaceId, "pending space")
        try assertEqual(SpaceKind.group, pending.kind, "pending kind")
        try assertEqual(JoinStatus.waiting, pending.status, "pending status")
        _ = try joiner.sync(relayUrl: url)
        try assertEqual([SharedSpace](), try joiner.spaces().list(), "not joined before approval")

        try assertEqual(UInt32(1), try fac.sync(relayUrl: url).joinRequests, "one join request")
        let request = try single(try fac.invites().joinRequests(), "join requests")
        try assertEqual("Rina", request.name, "requester's name")
        try assertEqual(try joiner.deviceId(), request.deviceId, "requester's device")
        try assertEqual(try joiner.personId(), request.personId, "requester's person")
        try assertEqual(try joiner.deviceId(), try fac.invites().approveJoinRequest(requestId: request.id), "approved device")
        _ = try fac.sync(relayUrl: url)
        try assertEqual(UInt32(1), try joiner.sync(relayUrl: url).joined, "joined")
        try assertEqual([PendingJoin](), try joiner.invites().pendingJoins(), "no pending join left")
        try assertTrue(try joiner.groups().notes(groupId: gid).map { $0.text }.contains("Sebelum undangan."), "history shared")
        let spent = try fac.invites().list(spaceId: gid)
        try assertEqual([InviteStatus.spent], spent.map { $0.status }, "invite spent")
        try assertEqual([try joiner.deviceId()], spent.map { $0.admitted }, "admitted device")

        // The spent code again, from someone else: refused by the relay, nothing joined.
        _ = try late.invites().accept(code: invite.code, name: "Lain")
        _ = try late.sync(relayUrl: url)
        let p = try single(try late.invites().pendingJoins(), "late's pending joins")
        try assertEqual(JoinStatus.refused, p.status, "refused")
        try assertEqual("invite-spent", p.refusedReason, "refused reason")
        try assertEqual([SharedSpace](), try late.spaces().list(), "late joined nothing")
        try assertThrows("revoking a spent invite", inviteSpent) { try fac.invites().revoke(spaceId: gid, inviteId: invite.id) }

        // A revoked invite, a damaged code, and the messages people see.
        let second = try fac.invites().create(spaceId: gid, shareHistory: true)
        try fac.invites().revoke(spaceId: gid, inviteId: second.id)
        try assertEqual([InviteStatus.revoked], try fac.invites().list(spaceId: gid).filter { $0.id == second.id }.map { $0.status }, "revoked")
        try assertThrows("a damaged code", badInvite) { _ = try late.invites().accept(code: String(second.code.dropLast()), name: "Lain") }
        try assertThrows("valid for no time", invalidInput) { _ = try fac.invites().create(spaceId: gid, validForSecs: 0) }
        try assertThrows("a member invites", notAllowed) { _ = try joiner.invites().create(spaceId: gid) }
        for locale in ["id", "en"] {
            for mid in ["error-invite-spent", "error-invite-expired", "error-invite-revoked", "error-bad-invite"] {
                try assertTrue(localizedMessage(messageId: mid, locale: locale) != mid, "\(mid) in \(locale)")
            }
        }
    }
}
