// The Kotlin sample (issue 17, item 8): an app's first hour with Sebaya on a JVM, using only the
// packaged library (the JVM host JAR: bindings, library and the shipped glue of src/glue/common) with
// the Kotlin standard library and JNA. Run against a real relay by scripts/check-release.sh. On a
// phone the same code runs with AndroidKeystoreKeyStore where this wraps the key with a software AES
// key, and collects `changes()` (org.sebaya.coroutines, unverified here) where this uses a listener.
//
//   1. open a vault whose master key is kept wrapped in a key store
//   2. link a second device of the same person (a tablet)
//   3. write a journal entry on the phone and sync it through the relay (HttpUrlConnectionTransport)
//   4. the tablet's first sync is cancelled mid-way (SyncControl.cancel), then resumes, losing nothing
//   5. the tablet is told of the journal change by its listener
//   6. the phone closes and opens again with the key from the key store
// Prints one line per step and exits non-zero if one fails.

import java.io.File
import java.nio.file.Files
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import javax.crypto.KeyGenerator
import kotlin.system.exitProcess
import org.sebaya.HttpRequest
import org.sebaya.HttpResponse
import org.sebaya.HttpTransport
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SpaceListener
import org.sebaya.SyncControl
import org.sebaya.Vault
import org.sebaya.glue.FileBlobStore
import org.sebaya.glue.HttpUrlConnectionTransport
import org.sebaya.glue.WrappedKeyStore
import org.sebaya.setHttpTransport

/** Passes requests on and cancels [control] while the first one is out. */
private class CancelOnFirstRequest(val inner: HttpTransport, val control: SyncControl) : HttpTransport {
    @Volatile var sent = 0
    override fun send(request: HttpRequest): HttpResponse {
        sent += 1
        if (sent == 1) control.cancel()
        return inner.send(request)
    }
}

private var failures = 0
private fun step(name: String, ok: Boolean) {
    println(if (ok) "PASS  $name" else "FAIL  $name")
    if (!ok) failures += 1
}

fun main() {
    val relay = System.getenv("SEBAYA_RELAY_URL") ?: run { println("FAIL  SEBAYA_RELAY_URL is not set"); exitProcess(1) }
    val root = Files.createTempDirectory("sebaya-sample").toFile()
    try {
        val transport = HttpUrlConnectionTransport()
        setHttpTransport(transport)
        // Stands in for the key in Android Keystore (AndroidKeystoreKeyStore on a phone).
        val wrapping = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        fun keys(name: String) = WrappedKeyStore({ wrapping }, FileBlobStore(File(root, name)))

        // 1. A vault whose key is kept wrapped in the key store.
        val phonePath = File(root, "phone/vault.db").apply { parentFile.mkdirs() }.path
        var phone = Vault.openWithKeyStore(phonePath, keys("phone-keys"), "vault")
        val phoneId = phone.deviceId()
        step("a vault opens with its key in the key store", phoneId.length == 64)

        // 2. The person's tablet is linked to the phone.
        val tabletPath = File(root, "tablet/vault.db").apply { parentFile.mkdirs() }.path
        val tablet = Vault.openWithKeyStore(tabletPath, keys("tablet-keys"), "vault")
        tablet.completeLink(phone.approveLink(tablet.linkRequest()))
        step("the tablet is linked", true)

        // 3. A journal entry, synced through the relay.
        val text = "Hari ini aku berani bercerita."
        val entry = phone.journal().use { it.add(text, 4, listOf("sample")) }
        step("the phone's entry reaches the relay", phone.sync(relay).pushed > 0u)

        // 4. The tablet's first sync is cancelled while its first request is out.
        val control = SyncControl()
        val stopping = CancelOnFirstRequest(transport, control)
        setHttpTransport(stopping)
        val cancelled = try {
            tablet.syncUntil(relay, control, null)
            false
        } catch (e: SebayaException.Cancelled) {
            e.messageId == "error-sync-cancelled"
        } finally {
            setHttpTransport(transport)
        }
        step("a cancelled sync stops after the request in flight (${stopping.sent} sent)", cancelled && stopping.sent == 1)

        // 5. It resumes; the listener hears of the journal change.
        val heard = LinkedBlockingQueue<SpaceKind>()
        val subscription = tablet.subscribe(object : SpaceListener {
            override fun spaceChanged(spaceId: String, kind: SpaceKind) { heard.add(kind) }
        })
        val resumed = tablet.sync(relay)
        var sawJournal = false
        while (!sawJournal) {
            val kind = heard.poll(60, TimeUnit.SECONDS) ?: break
            sawJournal = kind == SpaceKind.Journal
        }
        subscription.stop()
        step("the next sync resumes and the listener hears of the journal", resumed.pulled > 0u && sawJournal)
        step("the entry is on the tablet, whole", tablet.journal().use { it.get(entry)?.text } == text)

        // 6. Closed (as VaultLifecycle does in the background), then opened again from the key store.
        phone.close()
        phone = Vault.openWithKeyStore(phonePath, keys("phone-keys"), "vault")
        step("the phone opens again with the stored key",
            phone.deviceId() == phoneId && phone.journal().use { it.get(entry)?.text } == text)
        phone.close()
        tablet.close()
    } catch (e: Exception) {
        step("unexpected error: $e", false)
    } finally {
        root.deleteRecursively()
    }
    println(if (failures == 0) "sample: all steps passed" else "sample: $failures step(s) failed")
    exitProcess(if (failures == 0) 0 else 1)
}
