// Shipped glue (hand-written, not generated). PLATFORM-ONLY and UNVERIFIED: it uses androidx.lifecycle
// (ProcessLifecycleOwner, from androidx.lifecycle:lifecycle-process), so it is not compiled on the Linux
// machine it was written on (no Android SDK there) and has never run on a device. The state machine it
// drives, VaultLifecycle, is compiled and tested on a JVM (scripts/test.sh kotlin, GlueTest.kt).
package org.sebaya.glue

import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner

/**
 * Tells [this] when the whole app (not one screen) comes to the foreground or goes to the background:
 * ProcessLifecycleOwner's start and stop, which come a moment after the last screen stops, so turning
 * the phone or moving between screens does not lock and reopen the vault. Call once, on the main
 * thread, in `Application.onCreate()`:
 *
 *     val vaults = VaultLifecycle(lockInBackground = true) { Vault.openWithKeyStore(path, store, "vault") }
 *     vaults.bindToProcessLifecycle()
 */
public fun VaultLifecycle.bindToProcessLifecycle(owner: LifecycleOwner = ProcessLifecycleOwner.get()) {
    val lifecycle = this
    owner.lifecycle.addObserver(object : DefaultLifecycleObserver {
        override fun onStart(owner: LifecycleOwner) = lifecycle.onForeground()
        override fun onStop(owner: LifecycleOwner) = lifecycle.onBackground()
    })
}
