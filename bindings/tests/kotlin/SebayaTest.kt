// End-to-end checks of the generated Kotlin bindings (desktop JVM + JNA) against the real library and a
// real sebaya-relay on loopback. Built and run by `scripts/test.sh kotlin`; prints "N passed, M failed"
// and exits non-zero if anything failed.
//
// Needs: -Djna.library.path=<dir of libsebaya.so>, and the relay binary in $SEBAYA_RELAY_BIN (default
// target/debug/sebaya-relay relative to the working directory).

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.InetAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import org.sebaya.Attendance
import org.sebaya.Instrument
import org.sebaya.JoinStatus
import org.sebaya.JournalEntry
import org.sebaya.ProgrammeRole
import org.sebaya.RiskFlag
import org.sebaya.ScreeningBand
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SpaceRole
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage
import org.sebaya.use
import org.sebaya.verifyDeviceCertificate

private fun snapshot(dir: File): Map<String, List<Byte>> =
    dir.listFiles()!!.filter { it.isFile }.associate { it.name to it.readBytes().toList() }

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-test").toFile()
    var relay: Relay? = null
    try {
        check("relay starts on loopback") {
            relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
            assertTrue(relay!!.url.startsWith("http://127.0.0.1:"), "relay url ${relay!!.url}")
        }
        runChecks(tmp, relay)
        relay?.let { r -> check("relay still alive at the end") { assertTrue(r.alive, "relay died: ${File(tmp, "relay.log").readText().takeLast(2000)}") } }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}

private fun runChecks(tmp: File, relay: Relay?) {
    check("generateMasterKey gives 32 fresh bytes") {
        val a = generateMasterKey()
        val b = generateMasterKey()
        assertEquals(32, a.size, "key size")
        assertTrue(!a.contentEquals(b), "two keys are equal")
    }

    check("localizedMessage differs between id and en") {
        val en = localizedMessage("error-wrong-key", "en", null)
        val id = localizedMessage("error-wrong-key", "id", null)
        assertTrue(en.isNotBlank() && id.isNotBlank(), "blank message")
        assertTrue(en != id, "id and en are the same: $en")
        assertTrue(id.contains("Kunci"), "Indonesian text: $id")
    }

    val key = generateMasterKey()
    val vaultDir = File(tmp, "local").apply { mkdirs() }
    val path = File(vaultDir, "vault.db")
    var firstId = ""
    var deviceId = ""

    check("open, add, list, edit, delete; close") {
        Vault.open(path.path, key).use { v ->
            deviceId = v.deviceId()
            assertEquals(64, deviceId.length, "device id length")
            v.journal().use { j ->
                assertEquals(emptyList<JournalEntry>(), j.list(), "fresh journal")
                firstId = j.add("Hari ini berat, tapi aku bertahan.", mood(2), listOf("kerja"))
                Thread.sleep(5) // list() is oldest first by millisecond; ties go by id
                val second = j.add("Sore yang tenang.", mood(4), emptyList())
                val all = j.list()
                assertEquals(listOf(firstId, second), all.map { it.id }, "ids oldest first")
                assertEquals("Hari ini berat, tapi aku bertahan.", all[0].text, "text")
                assertEquals(mood(2), all[0].mood, "mood")
                assertEquals(listOf("kerja"), all[0].tags, "tags")
                j.edit(firstId, mood = mood(3))
                val edited = j.get(firstId)!!
                assertEquals(mood(3), edited.mood, "edited mood")
                assertEquals("Hari ini berat, tapi aku bertahan.", edited.text, "text untouched by a mood edit")
                j.delete(second)
                assertEquals(null, j.get(second), "deleted entry")
                assertThrows<SebayaException.NotFound>("edit of a missing entry") {
                    j.edit("0123456789abcdef", "x", null, null)
                }
            }
        }
    }

    check("reopen with the same key sees the entries") {
        Vault.open(path.path, key).use { v ->
            assertEquals(deviceId, v.deviceId(), "device id after reopen")
            v.journal().use { j ->
                val all = j.list()
                assertEquals(listOf(firstId), all.map { it.id }, "entries after reopen")
                assertEquals(mood(3), all[0].mood, "mood after reopen")
            }
        }
    }

    check("wrong key throws SebayaException.WrongKey and changes nothing") {
        val before = snapshot(vaultDir)
        val e = assertThrows<SebayaException.WrongKey>("open with another key") {
            Vault.open(path.path, generateMasterKey()).use { }
        }
        assertEquals("error-wrong-key", e.messageId, "messageId")
        assertEquals(before, snapshot(vaultDir), "files after a wrong-key open")
    }

    check("invalid mood throws SebayaException.InvalidInput") {
        Vault.open(File(tmp, "mood.db").path, generateMasterKey()).use { v ->
            v.journal().use { j ->
                val e = assertThrows<SebayaException.InvalidInput>("mood 6") { j.add("x", mood(6), emptyList()) }
                assertEquals("error-invalid-input", e.messageId, "messageId")
                assertThrows<SebayaException.InvalidInput>("mood 0") { j.add("x", mood(0), emptyList()) }
                assertThrows<SebayaException.InvalidInput>("mood 300") { j.add("x", 300, emptyList()) }
                assertEquals(0, j.list().size, "nothing was added")
            }
        }
    }

    check("lock() locks the vault and the journals taken from it") {
        val v = Vault.open(File(tmp, "close.db").path, generateMasterKey())
        val j = v.journal()
        j.add("before lock", mood(3), emptyList())
        v.lock()
        val e = assertThrows<SebayaException.Locked>("journal after lock") { j.edit(id = "0123456789abcdef", mood = 4) }
        assertEquals("error-locked", e.messageId, "messageId")
        j.destroy()
        v.destroy()
    }

    check("lock() locks every domain object, taken before the lock or after it") {
        val file = File(tmp, "lock-all.db").path
        val key2 = generateMasterKey()
        val v = Vault.open(file, key2)
        v.createPerson() // a peer session needs a person (its certificate)
        val gid = v.groups().create("Kelompok Kamis")
        v.groups().addNote(gid, "sebelum dikunci")
        val spaces = v.spaces()
        val groups = v.groups()
        val care = v.care()
        val session = v.nearby().startSession(true)
        v.lock()
        val calls: List<Pair<String, () -> Unit>> = listOf(
            "spaces.list" to { spaces.list() },
            "groups.list" to { groups.list() },
            "groups.notes" to { groups.notes(gid) },
            "care.records" to { care.records() },
            "care.referralInbox" to { care.referralInbox() },
            "care.safetyPlan" to { care.safetyPlan("en") },
            "pairings.checkins" to { v.pairings().checkins(gid) },
            "programmes.list" to { v.programmes().list() },
            "invites.list" to { v.invites().list(gid) },
            "nearby.carryStatus" to { v.nearby().carryStatus() },
            "journal.members" to { v.journal().members() },
            "session.takeOutgoing" to { session.takeOutgoing() },
            "session.isFinished" to { session.isFinished() },
            "session.report" to { session.report() },
            "session.receive" to { session.receive(byteArrayOf(0)) },
        )
        for ((name, call) in calls) {
            val e = assertThrows<SebayaException.Locked>(name) { call() }
            assertEquals("error-locked", e.messageId, "$name messageId")
        }
        listOf(spaces, groups, care, session).forEach { it.close() }
        v.close()
        Vault.open(file, key2).use { again ->
            assertEquals(listOf("sebelum dikunci"), again.groups().notes(gid).map { it.text }, "kept")
        }
    }

    check("link two devices and sync through the relay") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "a.db").path, generateMasterKey()).use { a ->
            Vault.open(File(tmp, "b.db").path, generateMasterKey()).use { b ->
                val request = b.linkRequest()
                val bad = assertThrows<SebayaException.BadLinkCode>("a damaged link response") {
                    b.completeLink("SBYA1" + "00".repeat(8))
                }
                assertEquals("error-bad-link-code", bad.messageId, "messageId")
                b.completeLink(a.approveLink(request))

                val id = a.journal().use { it.add("Ditulis di perangkat A.", mood(4), listOf("pagi")) }
                val ra = a.sync(url)
                assertTrue(ra.pushed >= 1u && ra.rejected == 0u, "A's sync report: $ra")
                val rb = b.sync(url)
                assertTrue(rb.pulled >= 1u && rb.applied >= 1u, "B's sync report: $rb")
                b.journal().use { j ->
                    val got = j.get(id) ?: throw AssertionError("B does not have A's entry")
                    assertEquals("Ditulis di perangkat A.", got.text, "text on B")
                    assertEquals(listOf("pagi"), got.tags, "tags on B")
                }

                // Offline edits of one entry on both devices: separate parts merge; the same
                // words keep both versions until the next edit.
                a.journal().use { it.edit(id, "Pagi ini: ditulis di perangkat A.", null, null) }
                b.journal().use { it.edit(id, "Ditulis di perangkat A. Lalu B.", null, null) }
                a.sync(url); b.sync(url); a.sync(url)
                val merged = "Pagi ini: ditulis di perangkat A. Lalu B."
                a.journal().use { assertEquals(merged, it.get(id)?.text, "merged on A") }
                b.journal().use { assertEquals(emptyList<String>(), it.get(id)?.conflicts, "nothing left over on B") }
                a.journal().use { it.edit(id, "Pagi ini: ditulis di perangkat A. Lalu C.", null, null) }
                b.journal().use { it.edit(id, "Pagi ini: ditulis di perangkat A. Lalu D.", null, null) }
                a.sync(url); b.sync(url); a.sync(url)
                val onA = a.journal().use { it.get(id) } ?: throw AssertionError("entry gone on A")
                val onB = b.journal().use { it.get(id) } ?: throw AssertionError("entry gone on B")
                assertEquals(onA, onB, "both devices show the same entry")
                assertEquals(
                    listOf("Pagi ini: ditulis di perangkat A. Lalu C.", "Pagi ini: ditulis di perangkat A. Lalu D."),
                    (onA.conflicts + onA.text).sorted(),
                    "both versions kept",
                )
                b.journal().use { it.edit(id, onA.conflicts[0], null, null) }
                b.sync(url); a.sync(url)
                a.journal().use { assertEquals(emptyList<String>(), it.get(id)?.conflicts, "settled on A") }
            }
        }
    }

    check("removing a lost device rotates the journal key") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "ra.db").path, generateMasterKey()).use { a ->
            Vault.open(File(tmp, "rb.db").path, generateMasterKey()).use { b ->
                Vault.open(File(tmp, "rlost.db").path, generateMasterKey()).use { lost ->
                    b.completeLink(a.approveLink(b.linkRequest()))
                    lost.completeLink(a.approveLink(lost.linkRequest()))
                    assertEquals(3, a.journal().use { it.members() }.size, "three devices")
                    listOf(a, b, lost).forEach { it.sync(url) }
                    val report = a.removeDevice(lost.deviceId())
                    assertEquals(1u, report.wrapped, "wrapped for b only")
                    val after = a.journal().use { it.add("sesudah", mood(4)) }
                    a.sync(url)
                    b.sync(url)
                    assertEquals("sesudah", b.journal().use { it.get(after)?.text }, "b reads the new epoch")
                    try { lost.sync(url) } catch (e: SebayaException.Relay) { }
                    assertEquals(null, lost.journal().use { it.get(after) }, "the lost device reads nothing new")
                }
            }
        }
    }

    check("a support group: join, shared note, attendance, removal") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "gf.db").path, generateMasterKey()).use { fac ->
            Vault.open(File(tmp, "gp.db").path, generateMasterKey()).use { par ->
                val gid = fac.groups().create("Kelompok Kamis")
                par.groups().join(fac.spaces().approveMember(gid, par.linkRequest()))
                fac.groups().addNote(gid, "Kita mulai dengan check-in.", title = "Rencana")
                val sid = fac.groups().addSession(gid, 1767225600000L, "Mengelola cemas")
                fac.groups().setAttendance(gid, sid, par.deviceId(), Attendance.Present)
                fac.sync(url)
                par.sync(url)
                assertEquals("Kita mulai dengan check-in.", par.groups().notes(gid).single().text, "note reached the member")
                assertEquals(Attendance.Present, par.groups().sessions(gid).single().attendance.single().attendance, "attendance")
                assertEquals(SpaceRole.Member, par.groups().list().single().role, "role")
                assertThrows<SebayaException.NotAllowed>("a member cannot remove the facilitator") {
                    par.spaces().removeMember(gid, fac.deviceId())
                }
                fac.spaces().removeMember(gid, par.deviceId())
                fac.sync(url)
                assertEquals(1u, par.sync(url).refusedSpaces, "the relay no longer serves the group")
            }
        }
    }

    check("a co-facilitator stepped back while offline writes as a member everywhere") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "dmf.db").path, generateMasterKey()).use { fac ->
            Vault.open(File(tmp, "dmc.db").path, generateMasterKey()).use { co ->
                Vault.open(File(tmp, "dmp.db").path, generateMasterKey()).use { par ->
                    val gid = fac.groups().create("Kelompok Kamis")
                    co.groups().join(fac.spaces().approveMember(gid, co.linkRequest(), asAdmin = true))
                    par.groups().join(fac.spaces().approveMember(gid, par.linkRequest()))
                    listOf(fac, co, par).forEach { it.sync(url) }
                    assertThrows<SebayaException.NotAllowed>("a member cannot change roles") {
                        par.spaces().setMemberRole(gid, co.deviceId(), false)
                    }
                    fac.spaces().setMemberRole(gid, co.deviceId(), false)
                    co.groups().addSession(gid, 1767225600000L, "Sesi dari co")
                    co.sync(url)
                    par.sync(url)
                    assertEquals(1, par.groups().sessions(gid).size, "taken before the demotion arrived")
                    listOf(fac, par, co).forEach { it.sync(url) }
                    listOf(fac, co, par).forEach {
                        assertEquals(0, it.groups().sessions(gid).size, "refused on every device")
                    }
                    assertEquals(SpaceRole.Member, co.groups().list().single().role, "stepped back")
                    assertThrows<SebayaException.NotAllowed>("a member's client refuses a session") {
                        co.groups().addSession(gid, 1767225600000L, "Lagi")
                    }
                }
            }
        }
    }

    check("a pairing with case notes the participant cannot open") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "ps.db").path, generateMasterKey()).use { sup ->
            Vault.open(File(tmp, "pp.db").path, generateMasterKey()).use { par ->
                Vault.open(File(tmp, "pv.db").path, generateMasterKey()).use { svr ->
                    val pairing = sup.pairings().create(par.linkRequest(), trainedProgramme(sup))
                    assertEquals(SpaceKind.Pairing, par.spaces().join(pairing.response).kind, "kind")
                    sup.sync(url)
                    par.sync(url)
                    par.pairings().addCheckin(pairing.spaceId, 3, note = "lumayan")
                    par.sync(url)
                    sup.sync(url)
                    assertEquals(3, sup.pairings().checkins(pairing.spaceId).single().mood, "check-in reached the supporter")
                    val cpid = supervisingProgramme(sup, svr)
                    val notes = sup.pairings().createCaseNotes(
                        "pairing-7f3a", svr.linkRequest(), svr.programmes().certificationPresentation(cpid), cpid,
                    )
                    assertThrows<SebayaException.BadLinkCode>("the participant cannot open the supervisor's response") {
                        par.spaces().join(notes.response)
                    }
                    svr.spaces().join(notes.response)
                    sup.pairings().addCaseNote(notes.spaceId, "Rujukan dibahas.")
                    sup.sync(url)
                    svr.sync(url)
                    assertEquals("Rujukan dibahas.", svr.pairings().caseNotes(notes.spaceId).single().text, "supervisor reads")
                }
            }
        }
    }

    check("a device linked elsewhere is announced") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "na.db").path, generateMasterKey()).use { a ->
            Vault.open(File(tmp, "nb.db").path, generateMasterKey()).use { b ->
                Vault.open(File(tmp, "nc.db").path, generateMasterKey()).use { c ->
                    b.completeLink(a.approveLink(b.linkRequest()))
                    c.completeLink(a.approveLink(c.linkRequest()))
                    a.sync(url)
                    b.sync(url)
                    assertEquals(listOf(c.deviceId()), b.newLinkedDevices(), "b is told about c")
                    b.acknowledgeLinkedDevices()
                    assertEquals(0, b.newLinkedDevices().size, "acknowledged")
                }
            }
        }
    }

    check("a remote invite: ask, approve, join; the spent code is refused") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "if.db").path, generateMasterKey()).use { fac ->
            Vault.open(File(tmp, "ij.db").path, generateMasterKey()).use { joiner ->
                Vault.open(File(tmp, "il.db").path, generateMasterKey()).use { late ->
                    val gid = fac.groups().create("Kelompok Sabtu")
                    fac.groups().addNote(gid, "Sebelum undangan.")
                    val invite = fac.invites().create(gid, validForSecs = 3600uL, shareHistory = true)
                    assertTrue(invite.code.length < 200, "the code fits a small QR code")
                    fac.sync(url)
                    assertEquals(JoinStatus.WAITING, joiner.invites().accept(invite.code, "Rina").status, "waiting")
                    joiner.sync(url)
                    assertEquals(1u, fac.sync(url).joinRequests, "the request arrived")
                    val request = fac.invites().joinRequests().single()
                    assertEquals("Rina", request.name, "name")
                    assertEquals(joiner.deviceId(), fac.invites().approveJoinRequest(request.id), "admitted")
                    fac.sync(url)
                    assertEquals(1u, joiner.sync(url).joined, "joined")
                    assertEquals("Sebelum undangan.", joiner.groups().notes(gid).single().text, "reads the group")
                    late.invites().accept(invite.code, "Lain")
                    late.sync(url)
                    assertEquals("invite-spent", late.invites().pendingJoins().single().refusedReason, "spent")
                    assertThrows<SebayaException.InviteSpent>("a spent invite cannot be revoked") {
                        fac.invites().revoke(gid, invite.id)
                    }
                    assertThrows<SebayaException.BadInvite>("a damaged code") {
                        late.invites().accept(invite.code.dropLast(1), "Lain")
                    }
                }
            }
        }
    }

    check("restore from the phrase on an empty vault: journal and group come back") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "rp.db").path, generateMasterKey()).use { phone ->
            Vault.open(File(tmp, "rr.db").path, generateMasterKey()).use { restored ->
                val phrase = phone.createPerson()
                phone.journal().use { it.add("Hari ini cukup baik.", 4) }
                val gid = phone.groups().create("Kelompok Rina")
                phone.groups().addNote(gid, "Catatan Rina")
                phone.sync(url)
                restored.restorePerson(phrase)
                assertTrue(restored.deviceId() != phone.deviceId(), "a new device")
                assertTrue(restored.sync(url).fromIndex >= 2u, "spaces found in the index")
                restored.sync(url)
                assertEquals("Hari ini cukup baik.", restored.journal().use { it.list().single().text }, "journal")
                assertEquals("Catatan Rina", restored.groups().notes(gid).single().text, "group note")
                assertEquals(SpaceRole.Admin, restored.groups().list().single().role, "still the facilitator")
            }
        }
    }

    check("programme roles: a certified supporter runs sessions, an uncertified one cannot") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "pc.db").path, generateMasterKey()).use { coord ->
            Vault.open(File(tmp, "ps2.db").path, generateMasterKey()).use { sup ->
                Vault.open(File(tmp, "po.db").path, generateMasterKey()).use { other ->
                    coord.createPerson(); sup.createPerson(); other.createPerson()
                    val pid = coord.programmes().create("PIK-R SMA 1")
                    val grant = coord.programmes().grantRole(pid, sup.personId()!!, ProgrammeRole.PeerSupporter, validDays = 90u)
                    assertThrows<SebayaException.BadCredential>("a credential for someone else") {
                        other.programmes().addCredential(grant.credential)
                    }
                    assertEquals(ProgrammeRole.PeerSupporter, sup.programmes().addCredential(grant.credential), "kept")
                    val gid = sup.groups().create("Kelompok PIK-R", programmeId = pid)
                    other.groups().join(sup.spaces().approveMember(gid, other.linkRequest(), asAdmin = true))
                    // The role alone runs no session: group facilitation is a module of its own.
                    val e = assertThrows<SebayaException.NotCertified>("no group facilitation") {
                        sup.groups().addSession(gid, 1767225600000L, "Sesi 1")
                    }
                    assertTrue(e.detail.endsWith("group-facilitation"), "named: ${e.detail}")
                    assertEquals(0, sup.groups().sessions(gid).size, "nothing written")
                    certifyFacilitation(coord, sup, pid)
                    sup.groups().addSession(gid, 1767225600000L, "Sesi 1")
                    sup.sync(url)
                    other.sync(url)
                    assertEquals("Sesi 1", other.groups().sessions(gid).single().topic, "session reached")
                    assertThrows<SebayaException.NotAllowed>("uncertified co-facilitator") {
                        other.groups().addSession(gid, 1767225600000L, "Sesi 2")
                    }
                }
            }
        }
    }

    check("a newcomer without history joins a new period; members follow it") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "nf.db").path, generateMasterKey()).use { fac ->
            Vault.open(File(tmp, "nm.db").path, generateMasterKey()).use { member ->
                Vault.open(File(tmp, "nn.db").path, generateMasterKey()).use { newcomer ->
                    val gid = fac.groups().create("Kelompok Senin")
                    member.groups().join(fac.spaces().approveMember(gid, member.linkRequest()))
                    fac.groups().addNote(gid, "Cerita minggu lalu.")
                    fac.sync(url)
                    member.sync(url)
                    val newGid = newcomer.groups().join(fac.spaces().approveMember(gid, newcomer.linkRequest()))
                    assertTrue(newGid != gid, "a new period")
                    assertEquals(newGid, fac.groups().list().single { it.id == gid }.nextId, "next")
                    fac.sync(url)
                    newcomer.sync(url)
                    assertEquals(0, newcomer.groups().notes(newGid).size, "no history")
                    assertEquals(1u, member.sync(url).newPeriods, "the member follows")
                }
            }
        }
    }

    check("replacing the recovery phrase: the old one restores nothing") {
        val url = relay?.url ?: throw IllegalStateException("no relay")
        Vault.open(File(tmp, "xp.db").path, generateMasterKey()).use { phone ->
            Vault.open(File(tmp, "xt.db").path, generateMasterKey()).use { thief ->
                val old = phone.createPerson()
                phone.groups().create("Kelompok Rina")
                phone.sync(url)
                val fresh = phone.replaceRecoveryPhrase()
                assertTrue(fresh != old, "a new phrase")
                phone.sync(url)
                thief.restorePerson(old)
                assertEquals(0u, thief.sync(url).fromIndex, "nothing from the old phrase")
                assertEquals(0, thief.groups().list().size, "no group")
            }
        }
    }

    check("PHQ-9 is scored on the device and item 9 raises a risk flag, only through the escalation") {
        Vault.open(File(tmp, "score.db").path, generateMasterKey()).use { v ->
            val esc = v.care().submitScreening(Instrument.Phq9, byteArrayOf(3, 3, 3, 3, 3, 0, 0, 0, 1), "id")
            val s = esc.score!!
            assertEquals(16u, s.total, "total")
            assertEquals(ScreeningBand.MODERATELY_SEVERE, s.band, "band")
            assertEquals(listOf(RiskFlag.Phq9Item9), s.riskFlags, "risk")
            assertEquals(s.riskFlags, esc.rules, "the flag escalates")
            assertTrue(esc.resources.isNotEmpty(), "with the crisis lines")
            assertThrows<SebayaException.InvalidInput>("out of range") {
                v.care().submitScreening(Instrument.Phq9, byteArrayOf(4, 0, 0, 0, 0, 0, 0, 0, 0), "id")
            }
        }
    }

    check("mood trends are computed on the device") {
        Vault.open(File(tmp, "mt.db").path, generateMasterKey()).use { v ->
            v.journal().use { j ->
                j.add("pagi", 2)
                j.add("sore", 4)
            }
            val t = v.journal().use { it.moodTrends(420) }
            assertEquals(2u, t.weeks.single().count, "two check-ins this week")
            assertEquals(1u, t.currentStreak, "streak")
        }
    }

    check("sync to a closed port throws SebayaException.Network") {
        Vault.open(File(tmp, "net.db").path, generateMasterKey()).use { v ->
            v.journal().use { it.add("tetap di sini", mood(3), emptyList()) }
            val e = assertThrows<SebayaException.Network>("sync to a closed port") {
                v.sync("http://127.0.0.1:${closedPort()}")
            }
            assertEquals("error-network", e.messageId, "messageId")
            v.journal().use { assertEquals(1, it.list().size, "local data kept") }
        }
    }

    check("two threads add to one vault") {
        Vault.open(File(tmp, "threads.db").path, generateMasterKey()).use { v ->
            val perThread = 20
            val barrier = CyclicBarrier(2)
            val errors = java.util.Collections.synchronizedList(mutableListOf<Throwable>())
            val threads = (0..1).map { n ->
                Thread {
                    try {
                        v.journal().use { j ->
                            barrier.await(10, TimeUnit.SECONDS)
                            repeat(perThread) { i -> j.add("thread $n entry $i", mood(1 + i % 5), listOf("t$n")) }
                        }
                    } catch (t: Throwable) {
                        errors.add(t)
                    }
                }.apply { start() }
            }
            threads.forEach { it.join(120_000) }
            assertTrue(threads.none { it.isAlive }, "a thread hung")
            assertEquals(emptyList<Throwable>(), errors.toList(), "errors in threads")
            v.journal().use { assertEquals(2 * perThread, it.list().size, "entries") }
        }
    }

    check("create a person, restore it on a fresh vault, certificates name the same person") {
        Vault.open(File(tmp, "person-a.db").path, generateMasterKey()).use { a ->
            Vault.open(File(tmp, "person-b.db").path, generateMasterKey()).use { b ->
                assertEquals(null, a.personId(), "no person before create")
                val none = assertThrows<SebayaException.NoPerson>("certificate before a person exists") {
                    a.deviceCertificate()
                }
                assertEquals("error-no-person", none.messageId, "messageId")

                val phrase = a.createPerson()
                val words = phrase.split(" ")
                assertEquals(12, words.size, "words in the phrase")
                assertTrue(words.all { w -> w.isNotEmpty() && w.all { it in 'a'..'z' } }, "lowercase words")
                val person = a.personId() ?: throw AssertionError("no person id after create")
                assertEquals(64, person.length, "person id length")
                val again = assertThrows<SebayaException.AlreadyHasPerson>("second create") { a.createPerson() }
                assertEquals("error-already-has-person", again.messageId, "messageId")

                b.restorePerson(phrase)
                assertEquals(person, b.personId(), "restored person id")
                assertTrue(a.deviceId() != b.deviceId(), "a restored vault is a new device")

                val infoA = verifyDeviceCertificate(a.deviceCertificate())
                val infoB = verifyDeviceCertificate(b.deviceCertificate())
                assertEquals(person, infoA.person, "person in A's certificate")
                assertEquals(person, infoB.person, "person in B's certificate")
                assertEquals(a.deviceId(), infoA.device, "device in A's certificate")
                assertEquals(b.deviceId(), infoB.device, "device in B's certificate")
                assertTrue(infoA.x25519 != infoB.x25519, "each device has its own X25519 key")
                assertTrue(infoA.created > 1_700_000_000uL, "created: ${infoA.created}")
            }
        }
    }

    check("a flipped byte in a certificate throws SebayaException.BadCertificate") {
        Vault.open(File(tmp, "cert.db").path, generateMasterKey()).use { v ->
            v.createPerson()
            val cert = v.deviceCertificate()
            for (i in listOf(0, cert.size / 2, cert.size - 1)) {
                val flipped = cert.copyOf()
                flipped[i] = (flipped[i].toInt() xor 1).toByte()
                val e = assertThrows<SebayaException.BadCertificate>("byte $i flipped") {
                    verifyDeviceCertificate(flipped)
                }
                assertEquals("error-bad-certificate", e.messageId, "messageId")
            }
            assertThrows<SebayaException.BadCertificate>("empty certificate") { verifyDeviceCertificate(ByteArray(0)) }
            assertEquals(v.personId(), verifyDeviceCertificate(cert).person, "the unaltered certificate verifies")
        }
    }

    check("a wrong recovery phrase throws SebayaException.BadRecoveryPhrase and changes nothing") {
        Vault.open(File(tmp, "phrase.db").path, generateMasterKey()).use { v ->
            val device = v.deviceId()
            val wrongChecksum = List(12) { "abandon" }.joinToString(" ")
            val unknownWord = (List(11) { "abandon" } + "sebaya").joinToString(" ")
            for (bad in listOf(wrongChecksum, unknownWord, "abandon abandon")) {
                val e = assertThrows<SebayaException.BadRecoveryPhrase>("restore with '$bad'") { v.restorePerson(bad) }
                assertEquals("error-bad-recovery-phrase", e.messageId, "messageId")
                assertEquals(null, v.personId(), "person after a refused phrase")
            }
            assertEquals(device, v.deviceId(), "device id unchanged")
            // Still free to restore: BIP-39's all-zero phrase gives the documented person id.
            v.restorePerson((List(11) { "abandon" } + "about").joinToString(" "))
            assertEquals(
                "40f784350b02365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d",
                v.personId(),
                "person of the all-zero phrase",
            )
        }
        Vault.open(File(tmp, "phrase2.db").path, generateMasterKey()).use { v ->
            assertThrows<SebayaException.BadRecoveryPhrase>("wrong phrase") { v.restorePerson("nonsense") }
            assertEquals(12, v.createPerson().split(" ").size, "create after a refused restore")
        }
    }
}
