// End-to-end checks of the generated Swift bindings against the real library (built on the host) and a
// real sebaya-relay on loopback. Run by `scripts/test.sh swift` inside a Debian 13 chroot with Debian's
// Swift toolchain; prints "N passed, M failed" and exits non-zero if anything failed or nothing ran.

import Foundation

// Started again as the holder of a vault file's write lock (Harness.swift, for CareTests.swift): hold it, exit.
holdWriteLockIfAsked()

func wrongKey(_ e: SebayaError) -> String? { if case .WrongKey(let m, _) = e { return m }; return nil }
func invalidInput(_ e: SebayaError) -> String? { if case .InvalidInput(let m, _) = e { return m }; return nil }
func notFound(_ e: SebayaError) -> String? { if case .NotFound(let m, _) = e { return m }; return nil }
func badLinkCode(_ e: SebayaError) -> String? { if case .BadLinkCode(let m, _) = e { return m }; return nil }
func network(_ e: SebayaError) -> String? { if case .Network(let m, _) = e { return m }; return nil }
func locked(_ e: SebayaError) -> String? { if case .Locked(let m, _) = e { return m }; return nil }
func notAllowed(_ e: SebayaError) -> String? { if case .NotAllowed(let m, _) = e { return m }; return nil }

func noHttpTransport(_ e: SebayaError) -> String? { if case .NoHttpTransport(let m, _) = e { return m }; return nil }
func keyMissing(_ e: SebayaError) -> String? { if case .KeyMissing(let m, _) = e { return m }; return nil }
func keyStoreError(_ e: SebayaError) -> String? { if case .KeyStore(let m, _) = e { return m }; return nil }

check("sync without an HTTP transport throws NoHttpTransport and keeps the entry") {
    clearHttpTransport()
    let v = try Vault.open(path: tmpPath("no-transport.db"), masterKey: try generateMasterKey())
    let id = try v.journal().add(text: "menunggu jaringan", mood: 3)
    let m = try assertThrows("sync with no transport", noHttpTransport) { _ = try v.sync(relayUrl: "http://127.0.0.1:9") }
    try assertEqual("error-no-http-transport", m, "messageId")
    try assertEqual("menunggu jaringan", try v.journal().get(id: id)?.text, "entry kept")
}

// Every later sync goes through the app's own HTTP stack (URLSession), counted.
let transport = CountingTransport(URLSessionTransport())
setHttpTransport(transport: transport)

check("generateMasterKey gives 32 fresh bytes") {
    let a = try generateMasterKey()
    let b = try generateMasterKey()
    try assertEqual(32, a.count, "key size")
    try assertTrue(a != b, "two keys are equal")
}

check("localizedMessage differs between id and en") {
    let en = localizedMessage(messageId: "error-wrong-key", locale: "en")
    let id = localizedMessage(messageId: "error-wrong-key", locale: "id")
    try assertTrue(!en.isEmpty && !id.isEmpty, "blank message")
    try assertTrue(en != id, "id and en are the same: \(en)")
    try assertTrue(id.contains("Kunci"), "Indonesian text: \(id)")
}

let journalKey = (try? generateMasterKey()) ?? Data()
let journalDir = tmpPath("local")
let journalPath = journalDir + "/vault.db"
var firstId = ""
var firstDevice = ""

check("open a vault, write a journal entry, read it back") {
    try FileManager.default.createDirectory(atPath: journalDir, withIntermediateDirectories: true)
    let v = try Vault.open(path: journalPath, masterKey: journalKey)
    firstDevice = try v.deviceId()
    try assertEqual(64, firstDevice.count, "device id length")
    let j = v.journal()
    try assertEqual([JournalEntry](), try j.list(), "fresh journal")
    firstId = try j.add(text: "Hari ini berat, tapi aku bertahan.", mood: 2, tags: ["kerja"])
    let all = try j.list()
    try assertEqual([firstId], all.map { $0.id }, "ids")
    try assertEqual("Hari ini berat, tapi aku bertahan.", all[0].text, "text")
    try assertEqual(Int32(2), all[0].mood, "mood")
    try assertEqual(["kerja"], all[0].tags, "tags")
    try j.edit(id: firstId, mood: 3)
    try assertEqual(Int32(3), try j.get(id: firstId)?.mood, "edited mood")
    try v.lock()
}

check("reopen with the same key sees the entry") {
    let v = try Vault.open(path: journalPath, masterKey: journalKey)
    try assertEqual(firstDevice, try v.deviceId(), "device id after reopen")
    let all = try v.journal().list()
    try assertEqual([firstId], all.map { $0.id }, "entries after reopen")
    try assertEqual(Int32(3), all[0].mood, "mood after reopen")
    try v.lock()
}

check("a wrong key throws SebayaError.WrongKey and changes nothing") {
    let before = snapshot(journalDir)
    try assertTrue(!before.isEmpty, "the vault has files")
    let id = try assertThrows("open with another key", wrongKey) {
        _ = try Vault.open(path: journalPath, masterKey: try generateMasterKey())
    }
    try assertEqual("error-wrong-key", id, "messageId")
    try assertEqual(before, snapshot(journalDir), "files after a wrong-key open")
}

check("bad input throws InvalidInput / NotFound and adds nothing") {
    let v = try Vault.open(path: tmpPath("mood.db"), masterKey: try generateMasterKey())
    let j = v.journal()
    let id = try assertThrows("mood 6", invalidInput) { _ = try j.add(text: "x", mood: 6, tags: []) }
    try assertEqual("error-invalid-input", id, "messageId")
    try assertThrows("mood 0", invalidInput) { _ = try j.add(text: "x", mood: 0) }
    try assertThrows("a short master key", invalidInput) {
        _ = try Vault.open(path: tmpPath("short.db"), masterKey: Data(count: 16))
    }
    try assertThrows("edit of a missing entry", notFound) { try j.edit(id: "0123456789abcdef", text: "x") }
    try assertEqual(0, try j.list().count, "nothing was added")
}

check("lock() locks the vault and the journals taken from it") {
    let v = try Vault.open(path: tmpPath("lock.db"), masterKey: try generateMasterKey())
    let j = v.journal()
    _ = try j.add(text: "before lock", mood: 3)
    try v.lock()
    let id = try assertThrows("journal after lock", locked) { _ = try j.list() }
    try assertEqual("error-locked", id, "messageId")
}

check("lock() locks every domain object, taken before the lock or after it") {
    let path = tmpPath("lock-all.db")
    let key = try generateMasterKey()
    let v = try Vault.open(path: path, masterKey: key)
    _ = try v.createPerson() // a peer session needs a person (its certificate)
    let gid = try v.groups().create(name: "Kelompok Kamis")
    _ = try v.groups().addNote(groupId: gid, text: "sebelum dikunci")
    let spaces = v.spaces(), groups = v.groups(), care = v.care()
    let session = try v.nearby().startSession(initiator: true)
    try v.lock()
    let calls: [(String, () throws -> Void)] = [
        ("spaces.list", { _ = try spaces.list() }),
        ("groups.list", { _ = try groups.list() }),
        ("groups.notes", { _ = try groups.notes(groupId: gid) }),
        ("care.records", { _ = try care.records() }),
        ("care.referralInbox", { _ = try care.referralInbox() }),
        ("care.safetyPlan", { _ = try care.safetyPlan(locale: "en") }),
        ("pairings.checkins", { _ = try v.pairings().checkins(pairingId: gid) }),
        ("programmes.list", { _ = try v.programmes().list() }),
        ("invites.list", { _ = try v.invites().list(spaceId: gid) }),
        ("nearby.carryStatus", { _ = try v.nearby().carryStatus() }),
        ("journal.members", { _ = try v.journal().members() }),
        ("session.takeOutgoing", { _ = try session.takeOutgoing() }),
        ("session.isFinished", { _ = try session.isFinished() }),
        ("session.report", { _ = try session.report() }),
        ("session.receive", { try session.receive(bytes: Data([0])) }),
    ]
    for (name, call) in calls {
        let id = try assertThrows(name, locked) { try call() }
        try assertEqual("error-locked", id, "\(name) messageId")
    }
    let again = try Vault.open(path: path, masterKey: key)
    try assertEqual(["sebelum dikunci"], try again.groups().notes(groupId: gid).map { $0.text }, "kept")
    try again.lock()
}

check("link two devices and sync a journal entry through the relay") {
    let url = try relayURL()
    let a = try Vault.open(path: tmpPath("a.db"), masterKey: try generateMasterKey())
    let b = try Vault.open(path: tmpPath("b.db"), masterKey: try generateMasterKey())
    let request = try b.linkRequest()
    let bad = try assertThrows("a damaged link response", badLinkCode) {
        try b.completeLink(response: "SBYA1" + String(repeating: "00", count: 8))
    }
    try assertEqual("error-bad-link-code", bad, "messageId")
    try b.completeLink(response: try a.approveLink(request: request))
    let id = try a.journal().add(text: "Ditulis di perangkat A.", mood: 4, tags: ["pagi"])
    let ra = try a.sync(relayUrl: url)
    try assertTrue(ra.pushed >= 1 && ra.rejected == 0, "A's sync report: \(ra)")
    let rb = try b.sync(relayUrl: url)
    try assertTrue(rb.pulled >= 1 && rb.applied >= 1, "B's sync report: \(rb)")
    guard let got = try b.journal().get(id: id) else { throw CheckFailure(description: "B lacks A's entry") }
    try assertEqual("Ditulis di perangkat A.", got.text, "text on B")
    try assertEqual(["pagi"], got.tags, "tags on B")
    // The same words edited offline on both devices: both versions are kept until the next edit.
    try a.journal().edit(id: id, text: "Ditulis di perangkat A, pagi.")
    try b.journal().edit(id: id, text: "Ditulis di perangkat A, malam.")
    _ = try a.sync(relayUrl: url); _ = try b.sync(relayUrl: url); _ = try a.sync(relayUrl: url)
    guard let onA = try a.journal().get(id: id) else { throw CheckFailure(description: "entry gone on A") }
    try assertEqual(onA, try b.journal().get(id: id), "both devices show the same entry")
    try assertEqual(["Ditulis di perangkat A, malam.", "Ditulis di perangkat A, pagi."],
                    (onA.conflicts + [onA.text]).sorted(), "both versions kept")
}

check("join a support group in person and read its note after a sync") {
    let url = try relayURL()
    let fac = try Vault.open(path: tmpPath("gf.db"), masterKey: try generateMasterKey())
    let par = try Vault.open(path: tmpPath("gp.db"), masterKey: try generateMasterKey())
    let gid = try fac.groups().create(name: "Kelompok Kamis")
    // In person: the participant shows its request code, the facilitator answers with a response code.
    let joined = try par.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try par.linkRequest()))
    try assertEqual(gid, joined, "joined group id")
    try assertThrows("a forged group response", badLinkCode) { _ = try par.groups().join(response: "SBYA1zz") }
    _ = try fac.groups().addNote(groupId: gid, text: "Kita mulai dengan check-in.", title: "Rencana")
    let sid = try fac.groups().addSession(groupId: gid, dateMs: 1_767_225_600_000, topic: "Mengelola cemas")
    try fac.groups().setAttendance(groupId: gid, sessionId: sid, memberDeviceId: try par.deviceId(), attendance: .present)
    _ = try fac.sync(relayUrl: url)
    _ = try par.sync(relayUrl: url)
    let notes = try par.groups().notes(groupId: gid)
    try assertEqual(["Kita mulai dengan check-in."], notes.map { $0.text }, "note reached the member")
    try assertEqual(["Rencana"], notes.map { $0.title }, "title")
    let sessions = try par.groups().sessions(groupId: gid)
    try assertEqual([Attendance.present], sessions.flatMap { $0.attendance.map { $0.attendance } }, "attendance")
    try assertEqual([SpaceRole.member], try par.groups().list().map { $0.role }, "role")
    try assertThrows("a member cannot remove the facilitator", notAllowed) {
        _ = try par.spaces().removeMember(spaceId: gid, deviceId: try fac.deviceId())
    }
    _ = try fac.spaces().removeMember(spaceId: gid, deviceId: try par.deviceId())
    _ = try fac.sync(relayUrl: url)
    try assertEqual(UInt32(1), try par.sync(relayUrl: url).refusedSpaces, "the relay no longer serves the group")
}

check("a co-facilitator stepped back while offline writes as a member everywhere") {
    let url = try relayURL()
    let fac = try Vault.open(path: tmpPath("dmf.db"), masterKey: try generateMasterKey())
    let co = try Vault.open(path: tmpPath("dmc.db"), masterKey: try generateMasterKey())
    let par = try Vault.open(path: tmpPath("dmp.db"), masterKey: try generateMasterKey())
    let gid = try fac.groups().create(name: "Kelompok Kamis")
    _ = try co.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try co.linkRequest(), asAdmin: true))
    _ = try par.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try par.linkRequest()))
    for v in [fac, co, par] { _ = try v.sync(relayUrl: url) }
    try assertThrows("a member cannot change roles", notAllowed) {
        try par.spaces().setMemberRole(spaceId: gid, deviceId: try co.deviceId(), asAdmin: false)
    }
    try fac.spaces().setMemberRole(spaceId: gid, deviceId: try co.deviceId(), asAdmin: false)
    _ = try co.groups().addSession(groupId: gid, dateMs: 1_767_225_600_000, topic: "Sesi dari co")
    _ = try co.sync(relayUrl: url)
    _ = try par.sync(relayUrl: url)
    try assertEqual(1, try par.groups().sessions(groupId: gid).count, "taken before the demotion arrived")
    for v in [fac, par, co] { _ = try v.sync(relayUrl: url) }
    for v in [fac, co, par] {
        try assertEqual(0, try v.groups().sessions(groupId: gid).count, "refused on every device")
    }
    try assertEqual([SpaceRole.member], try co.groups().list().map { $0.role }, "stepped back")
    try assertThrows("a member's client refuses a session", notAllowed) {
        _ = try co.groups().addSession(groupId: gid, dateMs: 1_767_225_600_000, topic: "Lagi")
    }
}

check("one vault is usable from many threads at once") {
    let v = try Vault.open(path: tmpPath("threads.db"), masterKey: try generateMasterKey())
    let lock = NSLock()
    var errors: [Error] = []
    var ids: [String] = []
    DispatchQueue.concurrentPerform(iterations: 16) { i in
        do {
            let id = try v.journal().add(text: "entri \(i)", mood: Int32(i % 5 + 1))
            lock.lock(); ids.append(id); lock.unlock()
        } catch {
            lock.lock(); errors.append(error); lock.unlock()
        }
    }
    try assertEqual(0, errors.count, "errors from concurrent adds: \(errors)")
    try assertEqual(16, Set(ids).count, "distinct ids")
    try assertEqual(Set(ids), Set(try v.journal().list().map { $0.id }), "every entry was kept")
}

check("sync to a closed port throws SebayaError.Network and keeps local data") {
    let v = try Vault.open(path: tmpPath("net.db"), masterKey: try generateMasterKey())
    let id = try v.journal().add(text: "tetap di sini", mood: 3)
    let port = try closedPort()
    let m = try assertThrows("sync to a closed port", network) { _ = try v.sync(relayUrl: "http://127.0.0.1:\(port)") }
    try assertEqual("error-network", m, "messageId")
    try assertEqual("tetap di sini", try v.journal().get(id: id)?.text, "entry after a failed sync")
}

func peerNotMember(_ e: SebayaError) -> String? { if case .PeerNotMember(let m, _) = e { return m }; return nil }
func badPeerMessage(_ e: SebayaError) -> String? { if case .BadPeerMessage(let m, _) = e { return m }; return nil }
func badBundle(_ e: SebayaError) -> String? { if case .BadBundle(let m, _) = e { return m }; return nil }
func bundleReplayed(_ e: SebayaError) -> String? { if case .BundleReplayed(let m, _) = e { return m }; return nil }
func strangerBundle(_ e: SebayaError) -> String? { if case .StrangerBundle(let m, _) = e { return m }; return nil }

/// Two linked devices of one person (no relay involved).
func linkedPair(_ name: String) throws -> (Vault, Vault) {
    let phone = try Vault.open(path: tmpPath(name + "-phone.db"), masterKey: try generateMasterKey())
    _ = try phone.createPerson()
    _ = try phone.journal().add(text: "Dari ponsel.", mood: 4)
    let tablet = try Vault.open(path: tmpPath(name + "-tablet.db"), masterKey: try generateMasterKey())
    try tablet.completeLink(response: try phone.approveLink(request: try tablet.linkRequest()))
    return (phone, tablet)
}

/// Passes frames between two peer sessions as a Bluetooth or TCP stream would, until both are quiet.
/// `spoil` flips one bit of the n-th frame the initiator sends. Returns the first error on each side.
func runPeers(_ a: PeerSession, _ b: PeerSession, spoil: Int? = nil) -> (Error?, Error?) {
    var errA: Error? = nil
    var errB: Error? = nil
    var sentByA = 0
    var moved = true
    while moved {
        moved = false
        for frame in (try? a.takeOutgoing()) ?? [] {
            moved = true
            sentByA += 1
            var f = frame
            if sentByA == spoil, let last = f.last { f[f.count - 1] = last ^ 1 }
            if errB == nil { do { try b.receive(bytes: f) } catch { errB = error } }
        }
        for frame in (try? b.takeOutgoing()) ?? [] {
            moved = true
            if errA == nil { do { try a.receive(bytes: frame) } catch { errA = error } }
        }
    }
    return (errA, errB)
}

check("peer session: two devices converge face to face, with no relay") {
    let (phone, tablet) = try linkedPair("peer")
    _ = try tablet.journal().add(text: "Dari tablet.", mood: 3)
    let a = try phone.nearby().startSession(initiator: true)
    let b = try tablet.nearby().startSession(initiator: false)
    let (ea, eb) = runPeers(a, b)
    try assertTrue(ea == nil && eb == nil, "errors: \(String(describing: ea)) \(String(describing: eb))")
    try assertTrue(try a.isFinished() && b.isFinished(), "both sessions finished")
    let texts = { (v: Vault) in try v.journal().list().map { $0.text }.sorted() }
    try assertEqual(["Dari ponsel.", "Dari tablet."], try texts(phone), "phone")
    try assertEqual(["Dari ponsel.", "Dari tablet."], try texts(tablet), "tablet")
    let r = try a.report()
    try assertEqual(try tablet.deviceId(), r.remoteDeviceId ?? "", "remote device")
    try assertTrue(r.sent > 0 && r.acked == r.sent, "every envelope acknowledged: \(r)")
    try assertTrue(try phone.spaceStatus().contains { $0.lastPath == .peer }, "space status path")
}

check("peer session: a stranger gets PeerNotMember and learns nothing; an altered frame gets BadPeerMessage") {
    let (phone, tablet) = try linkedPair("peer2")
    let stranger = try Vault.open(path: tmpPath("peer2-stranger.db"), masterKey: try generateMasterKey())
    _ = try stranger.createPerson()
    let a = try phone.nearby().startSession(initiator: true)
    let s = try stranger.nearby().startSession(initiator: false)
    let (ea, es) = runPeers(a, s)
    guard let ea1 = ea as? SebayaError, let es1 = es as? SebayaError else {
        throw CheckFailure(description: "both sides should fail: \(String(describing: ea)) \(String(describing: es))")
    }
    try assertEqual("error-peer-not-member", peerNotMember(ea1) ?? "", "phone side")
    try assertEqual("error-peer-not-member", peerNotMember(es1) ?? "", "stranger side")
    let rs = try s.report()
    try assertTrue(rs.spaces == 0 && rs.received == 0 && rs.chunksReceived == 0, "stranger learned nothing: \(rs)")
    _ = try phone.journal().add(text: "Kedua.", mood: 3)
    let (_, eb) = runPeers(try phone.nearby().startSession(initiator: true), try tablet.nearby().startSession(initiator: false), spoil: 2)
    guard let eb1 = eb as? SebayaError else { throw CheckFailure(description: "an altered frame was accepted") }
    try assertEqual("error-bad-peer-message", badPeerMessage(eb1) ?? "", "altered frame")
    let (e1, e2) = runPeers(try phone.nearby().startSession(initiator: true), try tablet.nearby().startSession(initiator: false))
    try assertTrue(e1 == nil && e2 == nil, "a clean session after the altered one")
    try assertTrue(try tablet.journal().list().contains { $0.text == "Kedua." }, "converged afterwards")
}

check("peer session: a carrier hands a participant's check-in to its supporter, with no relay") {
    func person(_ name: String) throws -> Vault {
        let v = try Vault.open(path: tmpPath(name), masterKey: try generateMasterKey())
        _ = try v.createPerson()
        return v
    }
    let supporter = try person("carry-s.db"), participant = try person("carry-p.db"), carrier = try person("carry-c.db")
    let programme = try trainedProgramme(supporter)
    let pair = try supporter.pairings().create(participantRequest: try participant.linkRequest(), programmeId: programme)
    _ = try participant.spaces().join(response: pair.response)
    let (e1, e2) = runPeers(try participant.nearby().startSession(initiator: true), try supporter.nearby().startSession(initiator: false))
    try assertTrue(e1 == nil && e2 == nil, "pairing synced face to face")
    _ = try carrier.spaces().join(response: try supporter.pairings().create(participantRequest: try carrier.linkRequest(), programmeId: programme).response)
    _ = try participant.pairings().addCheckin(pairingId: pair.spaceId, mood: 2, note: "Minggu berat.")
    try carrier.nearby().setCarryQuota(bytes: 1 << 20)
    let took = try carrier.nearby().importBundle(bundle: try participant.nearby().exportBundle(spaceIds: [], peerDeviceId: nil))
    try assertTrue(took.carried > 0, "the carrier holds sealed envelopes: \(took)")
    let before = try carrier.nearby().carryStatus()
    let c = try carrier.nearby().startSession(initiator: true)
    let s = try supporter.nearby().startSession(initiator: false)
    let (ec, es) = runPeers(c, s)
    try assertTrue(ec == nil && es == nil, "errors: \(String(describing: ec)) \(String(describing: es))")
    try assertEqual(["Minggu berat."], try supporter.pairings().checkins(pairingId: pair.spaceId).map { $0.note }, "check-in arrived")
    let rc = try c.report(), rs = try s.report()
    try assertTrue(rc.carriedSent > 0 && rc.carriedAnswered == rc.carriedSent, "handed on and answered: \(rc)")
    try assertEqual(rc.carriedSent, rs.carriedReceived, "received what was sent")
    try assertEqual(UInt32(0), rs.carriedRefused, "nothing refused")
    // A peer's Ack is not authoritative: everything stays carried until the relay answers for it.
    try assertEqual(before, try carrier.nearby().carryStatus(), "a peer's Ack drops nothing")
    _ = try carrier.sync(relayUrl: try relayURL())
    let after = try carrier.nearby().carryStatus()
    try assertEqual(UInt32(0), after.envelopes, "the relay's answer drops them")
    try assertEqual(UInt32(0), after.spaces, "no space left carried")
}

check("bundles: a file carries what a device lacks; damaged, replayed and strangers' files change nothing") {
    let (phone, tablet) = try linkedPair("bundle")
    _ = try tablet.journal().add(text: "Lewat kartu SD.", mood: 4)
    let file = try tablet.nearby().exportBundle(spaceIds: [], peerDeviceId: nil)
    try assertThrows("half a file", badBundle) { _ = try phone.nearby().importBundle(bundle: file.prefix(file.count / 2)) }
    try assertTrue(!(try phone.journal().list().contains { $0.text == "Lewat kartu SD." }), "nothing from half a file")
    let r = try phone.nearby().importBundle(bundle: file)
    try assertTrue(r.stored > 0, "stored: \(r)")
    try assertTrue(try phone.journal().list().contains { $0.text == "Lewat kartu SD." }, "entry arrived")
    try assertThrows("the same file again", bundleReplayed) { _ = try phone.nearby().importBundle(bundle: file) }
    let stranger = try Vault.open(path: tmpPath("bundle-stranger.db"), masterKey: try generateMasterKey())
    _ = try stranger.createPerson()
    try assertThrows("a stranger's file", strangerBundle) {
        _ = try phone.nearby().importBundle(bundle: try stranger.nearby().exportBundle(spaceIds: [], peerDeviceId: nil))
    }
}

check("snapshots: a device linked later syncs the snapshot plus the tail and reads the same journal") {
    let url = try relayURL()
    let phone = try Vault.open(path: tmpPath("snap-phone.db"), masterKey: try generateMasterKey())
    _ = try phone.createPerson()
    try assertEqual(UInt32(1000), try phone.snapshotEvery(), "default N")
    try assertThrows("N below 16", invalidInput) { try phone.setSnapshotEvery(every: 3) }
    try phone.setSnapshotEvery(every: 0)
    for i in 0..<20 {
        _ = try phone.journal().add(text: "Catatan \(i).", mood: 3)
        _ = try phone.sync(relayUrl: url)
    }
    let size = try phone.snapshotNow(spaceId: nil)
    try assertTrue((size ?? 0) > 0, "a snapshot was sealed: \(String(describing: size))")
    _ = try phone.sync(relayUrl: url)
    _ = try phone.journal().add(text: "Sesudah snapshot.", mood: 4)
    _ = try phone.sync(relayUrl: url)
    let tablet = try Vault.open(path: tmpPath("snap-tablet.db"), masterKey: try generateMasterKey())
    try tablet.completeLink(response: try phone.approveLink(request: try tablet.linkRequest()))
    let r = try tablet.sync(relayUrl: url)
    try assertTrue(r.pulled <= 4 && r.quarantined == 0, "snapshot and tail, not twenty envelopes: \(r)")
    let texts = { (v: Vault) in try v.journal().list().map { $0.text }.sorted() }
    try assertEqual(21, try texts(tablet).count, "entries on the new device")
    try assertEqual(try texts(phone), try texts(tablet), "same journal")
}

check("a metered link syncs in the policy's chunks; a dead link throws Network and keeps the data") {
    let url = try relayURL()
    let phone = try Vault.open(path: tmpPath("chunk-phone.db"), masterKey: try generateMasterKey())
    _ = try phone.createPerson()
    let tablet = try Vault.open(path: tmpPath("chunk-tablet.db"), masterKey: try generateMasterKey())
    try tablet.completeLink(response: try phone.approveLink(request: try tablet.linkRequest()))
    for i in 0..<8 {
        // About 2 kB each after compression: random hex does not deflate much.
        let noise = (0..<2000).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        _ = try phone.journal().add(text: "Catatan \(i): " + noise, mood: 3)
        _ = try phone.sync(relayUrl: url)
    }
    try tablet.setSyncPolicy(policy: SyncPolicy(wifiOnly: false, meteredDailyBudget: 0, meteredChunkBytes: 4096))
    try assertEqual(UInt64(4096), try tablet.syncPolicy().meteredChunkBytes, "chunk size kept")
    let r = try tablet.syncOn(relayUrl: url, link: .metered)
    try assertEqual(SyncScope.all, r.scope, "scope")
    try assertTrue(r.report.roundTrips >= 3, "several chunks: \(r.report)")
    try assertTrue(r.report.retries == 0 && r.report.resent == 0, "no retries on a good link")
    try assertEqual(8, try tablet.journal().list().count, "every entry arrived")
    let port = try closedPort()
    _ = try tablet.journal().add(text: "Tetap di sini.", mood: 3)
    try assertThrows("a dead link", network) { _ = try tablet.syncOn(relayUrl: "http://127.0.0.1:\(port)", link: .metered) }
    try assertTrue(try tablet.spaceStatus().contains { $0.waiting }, "the entry still waits to go out")
}

check("the vault's key lives in the app's key store; a lost key is KeyMissing, a bad one KeyStore") {
    let store = MemoryKeyStore()
    let path = tmpPath("keystore.db")
    let v = try Vault.openWithKeyStore(path: path, keyStore: store, keyName: "sebaya-main")
    try assertEqual(32, store.items["sebaya-main"]?.count ?? 0, "a 32-byte key was stored")
    let id = try v.journal().add(text: "kunci di Keychain", mood: 4)
    try v.lock()
    let again = try Vault.openWithKeyStore(path: path, keyStore: store, keyName: "sebaya-main")
    try assertEqual("kunci di Keychain", try again.journal().get(id: id)?.text, "reopened with the stored key")
    try again.lock()
    let before = snapshot(tmpDir.path)
    try assertThrows("the store lost the key", keyMissing) {
        _ = try Vault.openWithKeyStore(path: path, keyStore: MemoryKeyStore(), keyName: "sebaya-main")
    }
    let short = MemoryKeyStore()
    short.items["sebaya-main"] = Data(count: 16)
    try assertThrows("a 16-byte key in the store", keyStoreError) {
        _ = try Vault.openWithKeyStore(path: path, keyStore: short, keyName: "sebaya-main")
    }
    try assertEqual(before, snapshot(tmpDir.path), "refused opens changed no file")
}

check("a sync after the first is one request: the relay's id and clock are kept") {
    let url = try relayURL()
    let v = try Vault.open(path: tmpPath("once.db"), masterKey: try generateMasterKey())
    _ = try v.journal().add(text: "pertama", mood: 3)
    _ = try v.sync(relayUrl: url)
    _ = try v.journal().add(text: "kedua", mood: 4)
    let before = transport.count
    let r = try v.sync(relayUrl: url)
    try assertEqual(1, transport.count - before, "requests of the second sync")
    try assertEqual(UInt32(1), r.roundTrips, "round trips")
    try assertEqual(UInt32(1), r.pushed, "pushed")
}

/// Answers through `inner` and cancels `control` after each answer (or fails when `inner` is nil).
final class CancellingTransport: HttpTransport {
    let inner: HttpTransport?
    let control: SyncControl
    private let lock = NSLock()
    private var n = 0
    init(_ inner: HttpTransport?, _ control: SyncControl) { self.inner = inner; self.control = control }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock(); n += 1; lock.unlock()
        defer { control.cancel() }
        guard let inner = inner else { throw TransportError.Unreachable(reason: "airplane mode") }
        return try inner.send(request: request)
    }
}

func cancelledId(_ e: SebayaError) -> String? { if case .Cancelled(let m, _) = e { return m }; return nil }

check("a sync stopped after its first request keeps what it took; a cancel ends a retry's wait") {
    let url = try relayURL()
    let v = try Vault.open(path: tmpPath("stop.db"), masterKey: try generateMasterKey())
    _ = try v.journal().add(text: "berhenti di tengah", mood: 3)
    let control = SyncControl()
    let stopping = CancellingTransport(URLSessionTransport(), control)
    setHttpTransport(transport: stopping)
    defer { setHttpTransport(transport: transport) }
    let m = try assertThrows("stopped", cancelledId) { _ = try v.syncUntil(relayUrl: url, control: control, timeoutMs: nil) }
    try assertEqual("error-sync-cancelled", m, "message id")
    try assertEqual(1, stopping.count, "stopped before the second request")
    try assertTrue(control.isCancelled(), "cancelled")

    let waiting = SyncControl()
    let failing = CancellingTransport(nil, waiting)
    setHttpTransport(transport: failing)
    let w = try assertThrows("no retry", cancelledId) { _ = try v.syncUntil(relayUrl: url, control: waiting, timeoutMs: nil) }
    try assertEqual("error-sync-cancelled", w, "message id")
    try assertEqual(1, failing.count, "no retry after the cancel")
    let d = try assertThrows("out of time", cancelledId) {
        _ = try v.syncOnUntil(relayUrl: url, link: .metered, control: SyncControl(), timeoutMs: 0)
    }
    try assertEqual("error-sync-deadline", d, "message id")
    try assertEqual(1, failing.count, "nothing sent out of time")

    setHttpTransport(transport: transport)
    let r = try v.sync(relayUrl: url)
    try assertTrue(r.pushed >= 1, "the next sync finishes")
    try assertTrue(try v.spaceStatus().allSatisfy { !$0.waiting }, "nothing left waiting")
}

check("a listener hears of the space a sync changed, and nothing after stop()") {
    let url = try relayURL()
    let a = try Vault.open(path: tmpPath("la.db"), masterKey: try generateMasterKey())
    let b = try Vault.open(path: tmpPath("lb.db"), masterKey: try generateMasterKey())
    try b.completeLink(response: try a.approveLink(request: try b.linkRequest()))
    _ = try a.sync(relayUrl: url)
    _ = try b.sync(relayUrl: url)
    let rec = RecordingListener()
    let sub = b.subscribe(listener: rec)
    try assertTrue(sub.isActive(), "active after subscribe")
    _ = try a.journal().add(text: "Kabar dari A.", mood: 4)
    let sent = transport.count
    _ = try a.sync(relayUrl: url)
    try assertTrue(transport.count > sent, "the sync went through the app's transport")
    try assertEqual(0, rec.spaces.count, "B's listener is not told of A's local write")
    _ = try b.sync(relayUrl: url)
    guard let journal = try b.spaceStatus().first(where: { $0.kind == .journal })?.spaceId else {
        throw CheckFailure(description: "B has no journal")
    }
    try assertTrue(rec.spaces.contains(journal), "told of B's journal: \(rec.spaces)")
    try assertTrue(rec.kinds.contains(.journal), "kind: \(rec.kinds)")
    sub.stop()
    try assertTrue(!sub.isActive(), "inactive after stop")
    rec.clear()
    _ = try a.journal().add(text: "Setelah berhenti.", mood: 3)
    _ = try a.sync(relayUrl: url)
    _ = try b.sync(relayUrl: url)
    try assertTrue(try b.journal().list().contains { $0.text == "Setelah berhenti." }, "the change still arrived")
    try assertEqual(0, rec.spaces.count, "no call after stop()")
}

check("enums: scores come back as cases; an Unknown value passed in is refused, never guessed") {
    let scored = try Vault.open(path: tmpPath("enums-score.db"), masterKey: try generateMasterKey())
    let esc = try scored.care().submitScreening(instrument: .phq9, answers: Data([3, 3, 3, 3, 3, 0, 0, 0, 1]), country: "id")
    guard let s = esc.score else { throw CheckFailure(description: "a screening returns its score") }
    try assertEqual(s.riskFlags, esc.rules, "the flag escalates")
    try assertEqual(Instrument.phq9, s.instrument, "instrument")
    try assertEqual(ScreeningBand.moderatelySevere, s.band, "band")
    try assertEqual([RiskFlag.phq9Item9], s.riskFlags, "risk flags")
    try assertThrows("an instrument this version does not know", invalidInput) {
        _ = try scored.care().submitScreening(instrument: .unknown(raw: "bdi"), answers: Data([0]), country: "id")
    }
    try assertThrows("a purpose this version does not know", invalidInput) {
        _ = try consentText(purpose: .unknown(raw: "marketing"), locale: "en")
    }
    try assertEqual(ConsentPurpose.dutyOfCare, try consentText(purpose: .dutyOfCare, locale: "id").purpose, "purpose")
    try assertEqual(SafetyStep.warningSigns, safetyPlanSteps().first, "first step")
}

check("emergency help needs no vault: numbers and steps in both languages") {
    let id = emergencyHelp(country: "ID", locale: "in")
    try assertEqual(["119", "", "129", "+628111129129", "119", "110", "112"], id.resources.map { $0.number }, "built-in numbers")
    try assertEqual(CrisisChannel.web, id.resources[1].channel, "healing119.id is a web service")
    try assertEqual("https://healing119.id", id.resources[1].url, "its address")
    try assertEqual(CrisisChannel.whatsapp, id.resources[3].channel, "SAPA 129 on WhatsApp")
    try assertEqual(CrisisResourceKind.protection, id.resources[2].kind, "SAPA 129 protects")
    try assertTrue(id.resources.allSatisfy { $0.verifiedOn != nil && $0.source != nil }, "dated and sourced")
    try assertEqual(["112"], id.resources.filter { $0.partialCoverage }.map { $0.number }, "112 not everywhere")
    try assertEqual(localizedMessage(messageId: "help-now-title", locale: "id"), id.title, "Indonesian title")
    try assertEqual(4, id.steps.count, "four steps")
    try assertTrue(emergencyHelp(country: "id", locale: "en").title != id.title, "English differs")
    try assertTrue(emergencyHelp(country: "Indonesia", locale: "en").countryUnknown, "bad code flagged")
    try assertEqual(
        localizedMessage(messageId: "crisis-none", locale: "en"),
        emergencyHelp(country: "ke", locale: "en").steps.first, "no numbers: call the local emergency number")
}

check("a risk answer with a bad country code still shows the crisis lines and reaches the coordinator") {
    let url = try relayURL()
    let coord = try Vault.open(path: tmpPath("care-c.db"), masterKey: try generateMasterKey())
    let part = try Vault.open(path: tmpPath("care-p.db"), masterKey: try generateMasterKey())
    _ = try coord.createPerson()
    _ = try part.createPerson()
    let programme = try coord.programmes().create(name: "PIK-R SMA 1")
    let enrol = try coord.care().enrol(request: try part.linkRequest(), programmeId: programme)
    _ = try part.spaces().join(response: enrol.response)
    _ = try coord.sync(relayUrl: url)
    _ = try part.sync(relayUrl: url)
    _ = try part.care().giveConsent(careId: enrol.careId, purpose: .dutyOfCare, agreed: true)
    let esc = try part.care().submitScreening(instrument: .phq9, answers: Data([0, 0, 0, 0, 0, 0, 0, 0, 2]), country: "Indonesia")
    try assertTrue(esc.countryUnknown, "flagged")
    try assertEqual(["119", "", "129", "+628111129129", "119", "110", "112"], esc.resources.map { $0.number }, "numbers all the same")
    try assertEqual(1, esc.referrals.count, "referred")
    try assertTrue(esc.saved && esc.failed.isEmpty, "nothing failed")
    _ = try part.sync(relayUrl: url)
    _ = try coord.sync(relayUrl: url)
    try assertEqual([ReferralReason.phq9Item9], try coord.care().referralInbox().map { $0.reason }, "the coordinator sees the rule")
}

// The flows of the Python tests in the other files here (issue 14); careTests() ends with lockNow().
screeningTests()
wordingsSafetyTests()
trainingTests()
admissionTests()
invitesTests()
reportsTests()
liveTests()
asyncTests()
listenerTests()
logTests()
instrumentsTests()
// The package's shipped glue (issue 17): transport, key store contract, vault folder.
glueTests()
// Face-to-face sync over TCP with discovery (issue 17 item 9).
nearbyTcpTests()
eraseTests()
leaveTests()
safeguardingTests()
careTests()
// The app passcode, duress code, quick wipe and auto-lock (issue 18, item 6).
passcodeTests()
remindersTests()
// Registering for wake-ups (issue 16, item 4).
pushTests()
// Reports and blocks (issue 18, item 2).
moderationTests()

finish()
