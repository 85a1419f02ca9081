// A relay that stores only for one programme's people (protocol 9.8), through the generated Kotlin
// bindings against a real sebaya-relay started with --admission credential: without a role nothing is
// stored and the report says so (notAdmitted); with the coordinator's credential the journal syncs; a
// phone restored from the phrase gets it back on its certificate alone. Run by `scripts/test.sh kotlin`.

import java.io.File
import java.nio.file.Files
import org.sebaya.ProgrammeRole
import org.sebaya.Vault
import org.sebaya.generateMasterKey
import org.sebaya.use

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-admission").toFile()
    try {
        check("admission: only a programme's people store at a credential relay") {
            Vault.open(File(tmp, "c.db").path, generateMasterKey()).use { coord ->
                coord.createPerson()
                val pid = coord.programmes().create("PIK-R SMA 1")
                Relay(File(tmp, "relay-data"), File(tmp, "relay.log"), listOf("--admission", "credential", "--programme", pid)).use { relay ->
                    Vault.open(File(tmp, "p.db").path, generateMasterKey()).use { par ->
                        val phrase = par.createPerson()
                        par.journal().use { it.add("Hari ini cukup baik.", mood(4), emptyList()) }
                        var r = par.sync(relay.url)
                        assertTrue(r.notAdmitted > 0u && r.pushed == 0u, "refused before a role: $r")
                        val grant = coord.programmes().grantRole(pid, par.personId()!!, ProgrammeRole.Participant, validDays = 180u)
                        assertEquals(ProgrammeRole.Participant, par.programmes().addCredential(grant.credential), "role kept")
                        r = par.sync(relay.url)
                        assertTrue(r.notAdmitted == 0u && r.pushed > 0u, "stored with a role: $r")
                        Vault.open(File(tmp, "r.db").path, generateMasterKey()).use { restored ->
                            restored.restorePerson(phrase)
                            restored.sync(relay.url)
                            r = restored.sync(relay.url)
                            assertEquals(0u, r.notAdmitted, "restored phone admitted: $r")
                            assertEquals(listOf("Hari ini cukup baik."), restored.journal().use { j -> j.list().map { it.text } }, "journal back")
                        }
                    }
                }
            }
        }
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}
