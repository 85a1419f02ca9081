// The training register through the generated Kotlin bindings (desktop JVM + JNA), against the real
// library and a real sebaya-relay on loopback: certify, keep, list, NotCertified on a programme pairing
// without training, the pairing after certification, expired and forged records refused, and a
// hand-over to a certified successor. Run by `scripts/test.sh kotlin` in its own JVM.

import java.io.File
import java.nio.file.Files
import org.sebaya.CaseNotesStanding
import org.sebaya.PairingStanding
import org.sebaya.ProgrammeRole
import org.sebaya.SebayaException
import org.sebaya.TrainingModule
import org.sebaya.TrainingStatus
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.localizedMessage
import org.sebaya.requiredTrainingModules
import org.sebaya.use

// The ids name the modules in the catalogues and in NotCertified's detail; the enum is the API.
private val MODULE_IDS = listOf("pfa", "active-listening", "boundaries", "risk-referral", "self-care")
private val MODULES = listOf(
    TrainingModule.Pfa, TrainingModule.ActiveListening, TrainingModule.Boundaries,
    TrainingModule.RiskReferral, TrainingModule.SelfCare,
)

private fun nowSecs(): ULong = (System.currentTimeMillis() / 1000).toULong()

private fun person(dir: File, name: String): Vault =
    Vault.open(File(dir, name).path, generateMasterKey()).also { it.createPerson() }

/** Makes [sup] a peer supporter of [pid] with [modules] certified by [coord]. */
private fun certify(coord: Vault, sup: Vault, pid: String, modules: List<TrainingModule>) {
    val grant = coord.programmes().grantRole(pid, sup.personId()!!, ProgrammeRole.PeerSupporter, validDays = 365u)
    assertEquals(ProgrammeRole.PeerSupporter, sup.programmes().addCredential(grant.credential), "role kept")
    for (m in modules) {
        sup.programmes().addTrainingRecord(coord.programmes().certifyTraining(pid, sup.personId()!!, m, nowSecs() - 86_400u, validDays = 365u))
    }
}

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-training").toFile()
    var relay: Relay? = null
    try {
        check("relay starts on loopback") {
            relay = Relay(File(tmp, "relay-data"), File(tmp, "relay.log"))
        }

        check("training: the required modules, named in both languages") {
            assertEquals(MODULES, requiredTrainingModules(), "required list")
            for (m in MODULE_IDS) {
                val en = localizedMessage("training-module-$m", "en", null)
                val id = localizedMessage("training-module-$m", "id", null)
                assertTrue(en != "training-module-$m" && id != en, "$m named and translated")
            }
        }

        check("training: certify, keep, list; NotCertified until every module is current; then the pairing opens") {
            val url = relay?.url ?: throw IllegalStateException("no relay")
            person(tmp, "c.db").use { coord ->
                person(tmp, "s.db").use { sup ->
                    person(tmp, "p.db").use { part ->
                        person(tmp, "o.db").use { other ->
                            val pid = coord.programmes().create("PIK-R SMA 1")
                            certify(coord, sup, pid, emptyList())
                            val request = part.linkRequest()
                            val e = assertThrows<SebayaException.NotCertified>("no training") {
                                sup.pairings().create(request, programmeId = pid)
                            }
                            assertTrue(e.detail.contains(MODULE_IDS.joinToString(",")), "every module missing: ${e.detail}")
                            assertEquals(0, sup.spaces().list().size, "nothing created")
                            val creds = MODULES.map { coord.programmes().certifyTraining(pid, sup.personId()!!, it, nowSecs() - 86_400u, validDays = 365u) }
                            assertThrows<SebayaException.BadCredential>("made for someone else") {
                                other.programmes().addTrainingRecord(creds[0])
                            }
                            val damaged = creds[0].copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
                            assertThrows<SebayaException.BadCredential>("damaged") { sup.programmes().addTrainingRecord(damaged) }
                            for (c in creds.dropLast(1)) {
                                assertEquals(TrainingStatus.CURRENT, sup.programmes().addTrainingRecord(c).status, "kept")
                            }
                            val again = assertThrows<SebayaException.NotCertified>("self-care missing") {
                                sup.pairings().create(request, programmeId = pid)
                            }
                            assertTrue(again.detail.endsWith("self-care"), again.detail)
                            assertEquals(listOf(TrainingModule.SelfCare), sup.programmes().trainingShortfalls(pid).map { it.module }, "shortfall")
                            sup.programmes().addTrainingRecord(creds.last())
                            val list = sup.programmes().training(pid)
                            assertEquals(MODULES.toSet(), list.map { it.module }.toSet(), "listed")
                            assertEquals(MODULES.size, list.size, "listed once each")
                            assertTrue(list.all { it.status == TrainingStatus.CURRENT && it.byProgrammeKey && it.issuer == pid }, "all current")
                            val created = sup.pairings().create(request, programmeId = pid)
                            part.spaces().join(created.response)
                            sup.pairings().sendMessage(created.spaceId, "Halo")
                            sup.sync(url)
                            assertEquals(0u, part.sync(url).quarantined, "accepted on receipt")
                            assertEquals(listOf("Halo"), part.pairings().messages(created.spaceId).map { it.text }, "message")
                        }
                    }
                }
            }
        }

        check("training: expired and forged records are refused") {
            person(tmp, "c2.db").use { coord ->
                person(tmp, "s2.db").use { sup ->
                    val pid = coord.programmes().create("Layanan Psikososial")
                    certify(coord, sup, pid, emptyList())
                    val short = coord.programmes().certifyTraining(pid, sup.personId()!!, TrainingModule.Pfa, nowSecs() - 86_400u + 2u, validDays = 1u)
                    Thread.sleep(3_000)
                    assertThrows<SebayaException.BadCredential>("expired") { sup.programmes().addTrainingRecord(short) }
                    val a = coord.programmes().certifyTraining(pid, sup.personId()!!, TrainingModule.Pfa, nowSecs(), validDays = 365u)
                    val b = coord.programmes().certifyTraining(pid, sup.personId()!!, TrainingModule.Boundaries, nowSecs(), validDays = 365u)
                    val forged = a.copyOfRange(0, a.size - 64) + b.copyOfRange(b.size - 64, b.size)
                    assertThrows<SebayaException.BadCredential>("forged") { sup.programmes().addTrainingRecord(forged) }
                    assertThrows<SebayaException.NotAllowed>("a supporter certifies nobody") {
                        sup.programmes().certifyTraining(pid, coord.personId()!!, TrainingModule.Pfa, nowSecs(), validDays = 30u)
                    }
                    assertEquals(0, sup.programmes().training(pid).size, "nothing kept")
                }
            }
        }

        check("training: a leaving supporter hands a pairing to a certified successor") {
            val url = relay?.url ?: throw IllegalStateException("no relay")
            person(tmp, "hc.db").use { coord ->
                person(tmp, "ha.db").use { leaver ->
                    person(tmp, "hb.db").use { successor ->
                        person(tmp, "hp.db").use { part ->
                            val pid = coord.programmes().create("PIK-R SMA 3")
                            certify(coord, leaver, pid, MODULES)
                            certify(coord, successor, pid, MODULES)
                            val created = leaver.pairings().create(part.linkRequest(), programmeId = pid)
                            part.spaces().join(created.response)
                            val sid = created.spaceId
                            leaver.pairings().sendMessage(sid, "Sebelum")
                            leaver.sync(url)
                            part.sync(url)
                            val response = leaver.pairings().handOver(sid, successor.linkRequest(), successor.programmes().certificationPresentation(pid))
                            leaver.sync(url)
                            successor.spaces().join(response)
                            successor.sync(url)
                            assertEquals(listOf("Sebelum"), successor.pairings().messages(sid).map { it.text }, "history")
                            successor.pairings().sendMessage(sid, "Sesudah")
                            successor.sync(url)
                            part.sync(url)
                            assertEquals(listOf("Sebelum", "Sesudah"), part.pairings().messages(sid).map { it.text }, "participant")
                            leaver.sync(url)
                            assertEquals(listOf("Sebelum"), leaver.pairings().messages(sid).map { it.text }, "leaver reads nothing new")
                        }
                    }
                }
            }
        }

        check("pairings: one opens only under a programme whose training the supporter holds") {
            val url = relay?.url ?: throw IllegalStateException("no relay")
            person(tmp, "s3.db").use { sup ->
                person(tmp, "p3.db").use { part ->
                    val request = part.linkRequest()
                    assertThrows<SebayaException.NotAllowed>("a programme without a role there") {
                        sup.pairings().create(request, "42".repeat(32))
                    }
                    val pid = sup.programmes().create("PIK-R SMA 1")
                    val e = assertThrows<SebayaException.NotCertified>("a role, no training") {
                        sup.pairings().create(request, pid)
                    }
                    assertTrue(e.detail.endsWith(MODULE_IDS.joinToString(",")), "every module named: ${e.detail}")
                    assertEquals(0, sup.spaces().list().size, "nothing created")
                    for (m in MODULES) {
                        sup.programmes().addTrainingRecord(sup.programmes().certifyTraining(pid, sup.personId()!!, m, nowSecs() - 86_400u, validDays = 365u))
                    }
                    val created = sup.pairings().create(request, pid)
                    part.spaces().join(created.response)
                    sup.sync(url)
                    assertEquals(0u, part.sync(url).quarantined, "accepted on receipt")
                    for (v in listOf(sup, part)) {
                        assertEquals(PairingStanding(pid, false), v.pairings().standing(created.spaceId), "under the programme")
                    }
                    assertTrue(TrainingModule.GroupFacilitation !in requiredTrainingModules(), "not a one-to-one module")
                    val en = localizedMessage("training-module-group-facilitation", "en", null)
                    assertTrue(en != "training-module-group-facilitation" && en != localizedMessage("training-module-group-facilitation", "id", null), "named in both")
                }
            }
        }

        check("pairings: one from before programmes (v1 fixture) is kept and shown outside one") {
            val copy = File(tmp, "v1-participant.db")
            File(v1Fixtures(), "participant.db").copyTo(copy)
            Vault.open(copy.path, ByteArray(32) { 1 }).use { v ->
                val pairing = "50082106b68c9f6a19547568dca7d77e"
                assertTrue(v.spaces().list().any { it.id == pairing }, "still held")
                assertEquals(PairingStanding(null, true), v.pairings().standing(pairing), "outside a programme")
                assertEquals(listOf("Aku di sini."), v.pairings().messages(pairing).map { it.text }, "still read")
                assertThrows<SebayaException.InvalidInput>("a group is no pairing") {
                    v.pairings().standing("054d6816c76f088681c5a5a92dffd5fd")
                }
                for (key in listOf("pairing-outside-programme", "pairing-under-programme")) {
                    val en = localizedMessage(key, "en", null)
                    val id = localizedMessage(key, "id", null)
                    assertTrue(en != key && id != key && en != id, "$key in both languages")
                }
            }
        }

        check("case notes: a coordinator supervises; a non-coordinator and a third person are refused") {
            val url = relay?.url ?: throw IllegalStateException("no relay")
            person(tmp, "cs.db").use { sup ->
                person(tmp, "cv.db").use { svr ->
                    person(tmp, "co.db").use { other ->
                        person(tmp, "ct.db").use { third ->
                            val pid = supervisingProgramme(sup, svr)
                            val grant = svr.programmes().grantRole(pid, other.personId()!!, ProgrammeRole.PeerSupporter, validDays = 365u)
                            other.programmes().addCredential(grant.credential)
                            val refused = assertThrows<SebayaException.NotSupervisor>("a peer supporter is no supervisor") {
                                sup.pairings().createCaseNotes("pairing-2", other.linkRequest(), other.programmes().certificationPresentation(pid), pid)
                            }
                            assertEquals("error-not-supervisor", refused.messageId, "message id")
                            assertEquals(0, sup.spaces().list().size, "nothing created")
                            val notes = sup.pairings().createCaseNotes("pairing-7f3a", svr.linkRequest(), svr.programmes().certificationPresentation(pid), pid)
                            svr.spaces().join(notes.response)
                            assertEquals(
                                mapOf(sup.deviceId() to CaseNotesStanding.SUPPORTER, svr.deviceId() to CaseNotesStanding.SUPERVISOR),
                                sup.pairings().caseNotesMembers(notes.spaceId).associate { it.deviceId to it.standing },
                                "supporter and supervisor",
                            )
                            val nid = sup.pairings().addCaseNote(notes.spaceId, "Rujukan dibahas.")
                            sup.sync(url)
                            svr.sync(url)
                            svr.pairings().reviewCaseNote(notes.spaceId, nid, "Baik.")
                            svr.sync(url)
                            sup.sync(url)
                            assertEquals(listOf("Baik."), sup.pairings().caseNotes(notes.spaceId).single().reviews, "review reached the supporter")
                            val full = assertThrows<SebayaException.CaseNotesFull>("a third person") {
                                sup.spaces().approveMember(notes.spaceId, third.linkRequest())
                            }
                            assertEquals("error-case-notes-full", full.messageId, "message id")
                            assertEquals(2, sup.pairings().caseNotesMembers(notes.spaceId).size, "membership unchanged")
                            for (key in listOf("error-not-supervisor", "error-case-notes-full")) {
                                val en = localizedMessage(key, "en", null)
                                val id = localizedMessage(key, "id", null)
                                assertTrue(en != key && id != key && en != id, "$key in both languages")
                            }
                        }
                    }
                }
            }
        }

        relay?.let { r -> check("relay still alive at the end") { assertTrue(r.alive, "relay died") } }
    } finally {
        relay?.close()
        tmp.deleteRecursively()
    }
    finish()
}
