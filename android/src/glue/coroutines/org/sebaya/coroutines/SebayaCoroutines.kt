// PLATFORM-ONLY. UNVERIFIED: written against kotlinx-coroutines 1.10 (suspend functions, callbackFlow),
// which cannot be had on the Linux machine this was written on (its registries do not serve Maven
// artefacts), so this file has never been compiled. It lives in src/glue/coroutines, which the JVM
// host JAR leaves out (scripts/release.sh takes src/glue/common only); the AAR compiles it with the
// dependency in android/build.gradle.kts. The same design is
// compiled and tested in Swift (ios/Sources/Sebaya/SebayaAsync.swift, bindings/tests/swift/AsyncTests.swift).
//
// Coroutines over Sebaya's blocking calls (issue 17, item 2). The core's calls block on disk and on
// the app's HttpTransport, so they run on Dispatchers.IO; cancellation reaches the core's
// SyncControl, which stops a sync before its next request or during a retry's wait, losing nothing.
// Wrappers rather than uniffi's async support: that would add an executor to the library for no
// gain, and uniffi's async has had known problems with cancelled coroutines (docs/android.md).
package org.sebaya.coroutines

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.merge
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.mapNotNull
import kotlinx.coroutines.flow.onStart
import org.sebaya.LinkKind
import org.sebaya.LiveFailure
import org.sebaya.LiveListener
import org.sebaya.PolicySync
import org.sebaya.SpaceKind
import org.sebaya.SpaceListener
import org.sebaya.SpaceStatus
import org.sebaya.SyncControl
import org.sebaya.SyncReport
import org.sebaya.Vault
import java.util.Collections
import java.util.WeakHashMap

/** A space whose content changed, as [changes] hands it on. */
data class SpaceChange(val spaceId: String, val kind: SpaceKind)

/** What a live session did, as [liveUpdates] hands it on. */
sealed class LiveUpdate {
    /** These spaces changed at the relay and were synced; empty for the sync of every space. */
    data class Synced(val spaceIds: List<String>, val report: SyncReport) : LiveUpdate()

    /** A step failed; the session pauses and goes on. */
    data class Failed(val failure: LiveFailure) : LiveUpdate()
}

/** Syncs that ended, per vault, for [statusUpdates]: a sync that only sends changes no content. */
private val syncEnded: MutableMap<Vault, MutableSharedFlow<Unit>> =
    Collections.synchronizedMap(WeakHashMap())

private fun ended(vault: Vault): MutableSharedFlow<Unit> =
    syncEnded.getOrPut(vault) { MutableSharedFlow(extraBufferCapacity = 1, onBufferOverflow = BufferOverflow.DROP_OLDEST) }

/** Runs a blocking sync on Dispatchers.IO; cancelling the caller cancels the sync at its next step. */
private suspend fun <T> cancellable(vault: Vault, run: (SyncControl) -> T): T = coroutineScope {
    val control = SyncControl()
    val work = async(Dispatchers.IO) {
        try {
            run(control)
        } finally {
            ended(vault).tryEmit(Unit)
        }
    }
    try {
        work.await()
    } catch (e: CancellationException) {
        // The blocking call notices at its next step; the scope then waits for it to return.
        control.cancel()
        throw e
    }
}

/**
 * Syncs with the relay at [relayUrl] without blocking the caller's thread. Cancelling the coroutine
 * (WorkManager's onStopped, a closed screen) throws CancellationException here and stops the sync
 * before its next request; what the relay took stays taken, and the next sync resumes.
 */
suspend fun Vault.syncSuspending(relayUrl: String, timeoutMs: ULong? = null): SyncReport =
    cancellable(this) { syncUntil(relayUrl, it, timeoutMs) }

/** [syncSuspending] with the link's kind: on a metered link a snapshot due waits. */
suspend fun Vault.syncOnSuspending(relayUrl: String, link: LinkKind, timeoutMs: ULong? = null): PolicySync =
    cancellable(this) { syncOnUntil(relayUrl, link, it, timeoutMs) }

/** Every change to this vault's spaces while collected; the subscription stops with the collector. */
fun Vault.changes(): Flow<SpaceChange> = callbackFlow {
    val subscription = subscribe(object : SpaceListener {
        override fun spaceChanged(spaceId: String, kind: SpaceKind) {
            trySend(SpaceChange(spaceId, kind))
        }
    })
    awaitClose { subscription.stop() }
}.buffer(256, BufferOverflow.DROP_OLDEST)

/**
 * Each space's sync status now, after every change, and after every sync run through these
 * functions or a [liveUpdates] session (a plain blocking `sync` is not seen). Only the newest status
 * is kept for a slow collector.
 */
fun Vault.statusUpdates(): Flow<List<SpaceStatus>> =
    merge(changes().map { }, ended(this))
        .onStart { emit(Unit) }
        .mapNotNull { runCatching { spaceStatus() }.getOrNull() } // a failed read is skipped
        .flowOn(Dispatchers.IO) // the read touches disk: never on the collector's (main) thread
        .conflate()

/** A live session while collected: started at collection, stopped when the collector goes. */
fun Vault.liveUpdates(relayUrl: String, waitMs: ULong? = null): Flow<LiveUpdate> = callbackFlow {
    val vault = this@liveUpdates
    val session = startLive(relayUrl, object : LiveListener {
        override fun synced(spaceIds: List<String>, report: SyncReport) {
            trySend(LiveUpdate.Synced(spaceIds, report))
            ended(vault).tryEmit(Unit)
        }

        override fun failed(failure: LiveFailure) {
            trySend(LiveUpdate.Failed(failure))
        }
    }, SyncControl(), waitMs)
    // stop() waits for the session's loop, which may be inside a request: never on the collector's
    // (main) thread, where that wait could freeze the app (review finding).
    awaitClose { Thread { session.stop() }.start() }
}.buffer(64, BufferOverflow.DROP_OLDEST)
