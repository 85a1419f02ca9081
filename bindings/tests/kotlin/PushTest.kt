// Registering for wake-ups through the Kotlin bindings (issue 16, item 4; protocol 28.9), against a
// real relay started with a push key: the device registers the subscription its push library made
// (here a real P-256 key from java.security, as an app's UnifiedPush connector or KeyPairGenerator
// makes one; the library makes no key) and gets the relay's VAPID key; the vault remembers it, so
// pushRegistrationDue tells the app when to register again; each refusal is a PushRefused with its
// reason. Own JVM, run by `scripts/test.sh kotlin`.

import java.io.File
import java.nio.file.Files
import java.security.KeyPairGenerator
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import org.sebaya.PushRefusal
import org.sebaya.SebayaException
import org.sebaya.Vault
import org.sebaya.generateMasterKey

/** A fresh P-256 public key, uncompressed (`04 ‖ x ‖ y`), as a push library makes one. */
private fun p256dh(): ByteArray {
    val gen = KeyPairGenerator.getInstance("EC")
    gen.initialize(ECGenParameterSpec("secp256r1"))
    val pub = gen.generateKeyPair().public as ECPublicKey
    fun fixed(n: java.math.BigInteger): ByteArray {
        val b = n.toByteArray()
        return when {
            b.size == 32 -> b
            b.size > 32 -> b.copyOfRange(b.size - 32, b.size)
            else -> ByteArray(32 - b.size) + b
        }
    }
    return byteArrayOf(4) + fixed(pub.w.affineX) + fixed(pub.w.affineY)
}

private val AUTH = ByteArray(16) { it.toByte() }

fun main() {
    val tmp = Files.createTempDirectory("sebaya-kotlin-push").toFile()
    // Endpoints on a loopback port nothing listens on (the relay takes them with its tests' switch): a
    // wake-up the relay might send goes nowhere off this machine, not even a name lookup.
    val pushArgs = listOf(
        "--push-key", File(tmp, "vapid.p8").path, "--push-contact", "mailto:ops@example.org",
        "--push-allow-loopback", "true",
    )
    Relay(File(tmp, "push-data"), File(tmp, "push.log"), pushArgs).use { relay ->
        Relay(File(tmp, "plain-data"), File(tmp, "plain.log")).use { plainRelay ->
            val url = relay.url
            fun pair(tag: String): Pair<Vault, Vault> {
                val a = Vault.open(File(tmp, "a$tag.db").path, generateMasterKey())
                val b = Vault.open(File(tmp, "b$tag.db").path, generateMasterKey())
                val gid = a.groups().create("Kelompok Kamis", null)
                b.groups().join(a.spaces().approveMember(gid, b.linkRequest(), true, false))
                a.sync(url)
                b.sync(url)
                return a to b
            }

            check("a device registers, gets the key, and knows when to register again") {
                val (_, b) = pair("1")
                val pk = p256dh()
                val endpoint = "http://127.0.0.1:9/wake/k1"
                assertEquals(null, b.pushServerKey(url), "no key yet")
                assertTrue(b.pushRegistrationDue(url, endpoint, pk, AUTH), "due before")
                val key = b.unregisterPush(url)
                assertTrue(key.size == 65 && key[0] == 4.toByte(), "an uncompressed point")
                assertTrue(b.pushServerKey(url)!!.contentEquals(key), "remembered")
                assertTrue(b.registerPush(url, endpoint, pk, AUTH).contentEquals(key), "the same key")
                assertTrue(!b.pushRegistrationDue(url, endpoint, pk, AUTH), "not due after")
                assertTrue(b.pushRegistrationDue(url, endpoint + "2", pk, AUTH), "another endpoint")
                assertTrue(b.pushRegistrationDue(url, endpoint, p256dh(), AUTH), "another key")
                b.unregisterPush(url)
                assertTrue(b.pushRegistrationDue(url, endpoint, pk, AUTH), "due after removal")
            }

            check("refusals are typed") {
                val endpoint = "http://127.0.0.1:9/wake/k2"
                val fresh = Vault.open(File(tmp, "fresh.db").path, generateMasterKey())
                val first = assertThrows<SebayaException.PushRefused>("never synced") {
                    fresh.registerPush(url, endpoint, p256dh(), AUTH)
                }
                assertEquals(PushRefusal.SYNC_FIRST, first.reason, "sync first")
                assertEquals("error-push-sync-first", first.messageId, "its text")
                val (a, _) = pair("2")
                val bad = assertThrows<SebayaException.PushRefused>("off the curve") {
                    a.registerPush(url, endpoint, byteArrayOf(4) + ByteArray(64) { 0x11 }, AUTH)
                }
                assertEquals(PushRefusal.MALFORMED, bad.reason, "the relay's 400")
                assertThrows<SebayaException.InvalidInput>("a short auth") {
                    a.registerPush(url, endpoint, p256dh(), AUTH.copyOf(8))
                }
                val plain = Vault.open(File(tmp, "plain.db").path, generateMasterKey())
                plain.groups().create("Kelompok", null)
                plain.sync(plainRelay.url)
                val none = assertThrows<SebayaException.PushRefused>("no wake-ups there") {
                    plain.registerPush(plainRelay.url, endpoint, p256dh(), AUTH)
                }
                assertEquals(PushRefusal.NOT_SERVED, none.reason, "not served")
            }
            assertTrue(relay.alive && plainRelay.alive, "the relays are alive")
        }
    }
    tmp.deleteRecursively()
    finish()
}
