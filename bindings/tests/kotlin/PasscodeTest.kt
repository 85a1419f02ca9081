// The app passcode, duress code, quick wipe and auto-lock through the Kotlin bindings (issue 18,
// item 6). Own JVM, run by `scripts/test.sh kotlin`.

import java.io.File
import java.nio.file.Files
import org.sebaya.KeyStore
import org.sebaya.LinkKind
import org.sebaya.PasscodeParams
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.VaultLock
import org.sebaya.emergencyHelp
import org.sebaya.use

private class PasscodeStore : KeyStore {
    val items = HashMap<String, ByteArray>()
    override fun get(name: String): ByteArray? = items[name]?.copyOf()
    override fun put(name: String, value: ByteArray) {
        items[name] = value.copyOf()
    }
    override fun delete(name: String) {
        items.remove(name)
    }
}

// The least the core accepts: the checks run argon2id many times.
private val FAST = PasscodeParams(8192u, 1u, 1u)

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-passcode").toFile()
    try {
        passcodeChecks(tmp)
    } finally {
        tmp.deleteRecursively()
    }
    finish()
}

private fun passcodeChecks(tmp: File) {
    check("the right passcode opens; a wrong one is typed and delayed; too soon is refused") {
        val path = File(tmp, "pc.db").path
        val store = PasscodeStore()
        val id = Vault.openWithKeyStore(path, store, "k").use { v -> v.journal().use { it.add("rahasia", 2, emptyList()) } }
        val lock = VaultLock.withParams(path, store, "k", FAST)
        lock.setPasscode("2468")
        assertTrue(lock.hasPasscode(), "has a passcode")
        assertThrows<SebayaException.PasscodeRequired>("key store alone") { Vault.openWithKeyStore(path, store, "k") }
        lock.unlock("2468").use { v -> assertEquals("rahasia", v.journal().use { it.get(id) }?.text, "entry") }
        val wrong = assertThrows<SebayaException.PasscodeWrong>("wrong passcode") { lock.unlock("0000") }
        assertEquals(2uL, wrong.retryAfterSecs, "first delay")
        assertEquals("error-passcode-wrong", wrong.messageId, "message id")
        val soon = assertThrows<SebayaException.PasscodeTooSoon>("too soon") { lock.unlock("2468") }
        assertTrue(soon.retryAfterSecs in 1uL..2uL, "wait left")
        Thread.sleep(2100)
        lock.unlock("2468").use { }
    }

    check("the duress code opens an empty vault that does not sync; the real one is untouched") {
        val path = File(tmp, "duress.db").path
        val lock = VaultLock.withParams(path, PasscodeStore(), "k", FAST)
        lock.setPasscode("2468")
        lock.unlock("2468").use { v -> v.journal().use { it.add("jurnal asli", 3, emptyList()) } }
        lock.setDuressCode("2468", "1357")
        lock.unlock("1357").use { d ->
            assertEquals(0, d.journal().use { it.list() }.size, "empty")
            // No transport and a closed port: a real vault would fail; this one reports nothing.
            val r = d.sync("http://127.0.0.1:${closedPort()}")
            assertEquals(0u, r.roundTrips, "no round trips")
            assertEquals(0u, d.syncOn("http://127.0.0.1:${closedPort()}", LinkKind.METERED).report.pushed, "nothing pushed")
            assertTrue(d.care().use { it.crisisResources("ID") }.isNotEmpty(), "crisis lines")
            // Nor face to face (review M2).
            assertThrows<SebayaException.PeerNotMember>("no nearby session") { d.nearby().startSession(true) }
        }
        assertTrue(emergencyHelp("ID", "id").resources.isNotEmpty(), "I need help now")
        // The duress code changes nothing: a counted wrong code (review H2).
        assertThrows<SebayaException.PasscodeWrong>("duress code changing the passcode") { lock.changePasscode("1357", "2468") }
        Thread.sleep(2100)
        lock.unlock("2468").use { v ->
            assertEquals(listOf("jurnal asli"), v.journal().use { j -> j.list().map { it.text } }, "real untouched")
        }
    }

    check("change the passcode, then remove it") {
        val path = File(tmp, "change.db").path
        val store = PasscodeStore()
        val lock = VaultLock.withParams(path, store, "k", FAST)
        lock.setPasscode("2468")
        lock.changePasscode("2468", "97531")
        assertThrows<SebayaException.PasscodeWrong>("old passcode") { lock.unlock("2468") }
        Thread.sleep(2100)
        lock.unlock("97531").use { }
        lock.removePasscode("97531")
        assertTrue(!lock.hasPasscode(), "no passcode")
        Vault.openWithKeyStore(path, store, "k").use { }
    }

    check("wipe makes the vault unopenable") {
        val file = File(tmp, "wipe.db")
        val store = PasscodeStore()
        val lock = VaultLock.withParams(file.path, store, "k", FAST)
        lock.setPasscode("2468")
        lock.unlock("2468").use { v -> v.journal().use { it.add("harus hilang", 1, emptyList()) } }
        val copy = file.readBytes()
        lock.wipe()
        assertTrue(store.items.isEmpty(), "keys gone")
        assertTrue(!file.exists(), "file gone")
        assertTrue(!String(copy, Charsets.ISO_8859_1).contains("harus hilang"), "no readable content")
        assertThrows<SebayaException>("no passcode opens it") { lock.unlock("2468") }
    }

    check("auto-lock after the timeout") {
        val lock = VaultLock(File(tmp, "idle.db").path, PasscodeStore(), "k")
        lock.setAutoLockSecs(60u)
        lock.noteActivity(1_000)
        assertTrue(!lock.shouldLock(60_999), "not yet")
        assertTrue(lock.shouldLock(61_000), "after the timeout")
    }
}
