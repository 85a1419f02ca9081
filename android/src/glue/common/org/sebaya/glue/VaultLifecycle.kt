// Shipped glue (hand-written, not generated). Plain JVM + Android: compiled and tested on a desktop JVM
// by `scripts/test.sh kotlin` (GlueTest.kt). What tells it that the app went to the background on a
// device is ProcessLifecycleBinding.kt (platform-only, not compiled here).
package org.sebaya.glue

import org.sebaya.Vault
import org.sebaya.lockNow

/**
 * Holds the app's one open [Vault] and, if the app asks ([lockInBackground]), locks it when the app
 * goes to the background, so a phone left unattended with the app in the task list holds no vault
 * keys in memory. Why a helper: "lock on background" and "sync in the background" pull against each
 * other, and getting it wrong either leaves keys in memory or breaks a sync half-way.
 *
 * - All vault work goes through [use]. The vault is opened on first use with [open] (typically
 *   `Vault.openWithKeyStore(path, AndroidKeystoreKeyStore(context), "vault")`), and kept open.
 * - [onBackground] locks it at once ([Vault.lock]: keys wiped, database closed; a reference kept
 *   elsewhere then throws `Locked`) — or, if some [use]
 *   is running (a sync), as soon as the last one ends, never in the middle of one.
 * - A background sync (WorkManager) calls [use] like anything else: while the app is in the
 *   background the vault is reopened from the key store for that work (the Keystore key and the
 *   app's files are usable once the phone has been unlocked since it started) and locked again when
 *   the work ends. So locking costs a reopen (milliseconds), never a lost sync.
 * - [onForeground] only records the state; the next [use] reopens the vault.
 *
 * The process starts in the background state: a process started by WorkManager with no screen shown
 * locks after its work. With [lockInBackground] false this class only keeps the vault open.
 * Thread-safe; [use] blocks (call it off the main thread, as every vault call).
 */
public class VaultLifecycle(
    private val lockInBackground: Boolean,
    private val open: () -> Vault,
) {
    private val mutex = Object()
    private var vault: Vault? = null
    private var inForeground = false
    private var users = 0
    private var lockWhenIdle = false
    private var opening = false

    /** Whether a vault is open now (keys in memory). */
    public val isOpen: Boolean get() = synchronized(mutex) { vault != null }

    /**
     * Runs [block] with the open vault, opening it first if needed. Exceptions from [open] or [block]
     * reach the caller; the vault's state stays consistent either way. [open] runs without this
     * object's lock held (a key store may take its time): meanwhile [onBackground], [lock] and
     * [isOpen] return at once, and another [use] waits for that one open instead of making its own.
     */
    public fun <T> use(block: (Vault) -> T): T {
        val v = acquire()
        try {
            return block(v)
        } finally {
            synchronized(mutex) { releaseHeld() }
        }
    }

    /**
     * One user gone (the end of a use, a failed open, an interrupted wait): the last one locks if it
     * is due, whatever happened meanwhile (another's open may have finished while this one waited).
     */
    private fun releaseHeld() {
        users--
        if (users == 0) {
            if (vault != null) {
                if (shouldLock()) lockNowHeld()
            } else {
                lockWhenIdle = false // nothing open to lock
            }
        }
    }

    /** The open vault for one more user (counted from the start, so no lock falls between). */
    private fun acquire(): Vault {
        synchronized(mutex) {
            users++
            try {
                while (vault == null && opening) mutex.wait()
            } catch (e: InterruptedException) {
                releaseHeld() // another's open may have ended meanwhile, with this one the last user
                throw e
            }
            vault?.let { return it }
            opening = true
        }
        val opened = try {
            open()
        } catch (e: Throwable) {
            synchronized(mutex) {
                opening = false
                releaseHeld()
                mutex.notifyAll()
            }
            throw e
        }
        synchronized(mutex) {
            vault = opened
            opening = false
            mutex.notifyAll()
        }
        return opened
    }

    /** The app came to the foreground (a screen started). */
    public fun onForeground() {
        synchronized(mutex) { inForeground = true }
    }

    /** The app went to the background: locks now, or when the running work ends, if asked to. */
    public fun onBackground() {
        synchronized(mutex) {
            inForeground = false
            if (users == 0 && shouldLock()) lockNowHeld()
        }
    }

    /** Locks the vault now whatever the state (a "lock" button); the next [use] reopens it. */
    public fun lock() {
        synchronized(mutex) {
            if (users == 0) lockNowHeld() else lockWhenIdle = true
        }
    }

    private fun shouldLock(): Boolean = lockWhenIdle || (lockInBackground && !inForeground)

    private fun lockNowHeld() {
        val v = vault ?: return
        vault = null
        lockWhenIdle = false
        // Not close(): a reference someone kept past use() must get `Locked`, not a destroyed object.
        try {
            v.lock()
        } catch (e: Exception) {
            // Only a poisoned vault refuses; the process-wide lock takes its keys all the same.
            lockNow()
        }
    }
}
