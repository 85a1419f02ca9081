// Shipped glue (hand-written, not generated). Platform-only: needs the Android SDK (android.net.nsd).
// UNVERIFIED: not compiled and never run here (the machine it was written on has no Android SDK);
// the interface it implements (PeerDiscovery, NearbyTcp.kt) is tested on a JVM with InMemoryDiscovery.
package org.sebaya.glue

import android.content.Context
import android.net.nsd.NsdManager
import android.net.nsd.NsdServiceInfo
import java.io.IOException
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.sebaya.isNearbyAdvertName
import org.sebaya.nearbyServiceType

/**
 * [PeerDiscovery] on Android's Network Service Discovery (NsdManager: DNS-SD over mDNS, run by the
 * system), with the core's service type (`nearbyServiceType()`, `_sebaya._tcp`), the core's random name
 * and no TXT records, as `sebaya nearby listen` does (protocol 25.1). Not only the random name is seen:
 * the system's mDNS responder also announces the phone's own host name (and addresses) with the record,
 * which this class cannot change (docs/threat-model.md, "Nearby sync"). Permissions: docs/nearby.md.
 * [browse] returns the address NSD resolves, IPv4 or IPv6 (the listener is dual-stack).
 * Both calls block for at most [timeoutMillis] (advertise) or the browse timeout: call them off the
 * main thread.
 */
public class NsdDiscovery(
    context: Context,
    private val timeoutMillis: Long = 10_000,
) : PeerDiscovery {
    private val nsd = context.applicationContext.getSystemService(Context.NSD_SERVICE) as NsdManager
    private val type = nearbyServiceType()

    override fun advertise(name: String, port: Int): Advertisement {
        val info = NsdServiceInfo().apply {
            serviceName = name
            serviceType = type
            setPort(port)
        }
        val done = CountDownLatch(1)
        var failed: Int? = null
        val listener = object : NsdManager.RegistrationListener {
            override fun onServiceRegistered(registered: NsdServiceInfo) = done.countDown()
            override fun onRegistrationFailed(s: NsdServiceInfo, errorCode: Int) {
                failed = errorCode
                done.countDown()
            }
            override fun onServiceUnregistered(s: NsdServiceInfo) = Unit
            override fun onUnregistrationFailed(s: NsdServiceInfo, errorCode: Int) = Unit
        }
        nsd.registerService(info, NsdManager.PROTOCOL_DNS_SD, listener)
        if (!done.await(timeoutMillis, TimeUnit.MILLISECONDS) || failed != null) {
            runCatching { nsd.unregisterService(listener) }
            throw IOException("the local network advertisement did not start")
        }
        return object : Advertisement {
            private var closed = false

            override fun close() {
                synchronized(this) {
                    if (closed) return
                    closed = true
                }
                runCatching { nsd.unregisterService(listener) }
            }
        }
    }

    override fun browse(timeoutMillis: Long): List<PeerAddress> {
        val end = System.nanoTime() + timeoutMillis * 1_000_000
        val found = java.util.concurrent.LinkedBlockingQueue<NsdServiceInfo>()
        val listener = object : NsdManager.DiscoveryListener {
            override fun onDiscoveryStarted(serviceType: String) = Unit
            override fun onDiscoveryStopped(serviceType: String) = Unit
            override fun onStartDiscoveryFailed(serviceType: String, errorCode: Int) = Unit
            override fun onStopDiscoveryFailed(serviceType: String, errorCode: Int) = Unit
            override fun onServiceLost(s: NsdServiceInfo) = Unit
            override fun onServiceFound(s: NsdServiceInfo) {
                // Only names made by the core's rule: other services of the type are not Sebaya's.
                if (isNearbyAdvertName(s.serviceName)) found.add(s)
            }
        }
        nsd.discoverServices(type, NsdManager.PROTOCOL_DNS_SD, listener)
        val out = mutableListOf<PeerAddress>()
        try {
            while (out.isEmpty()) {
                val left = (end - System.nanoTime()) / 1_000_000
                if (left <= 0) break
                val s = found.poll(left, TimeUnit.MILLISECONDS) ?: break
                resolve(s, left)?.let { out.add(it) }
            }
        } finally {
            runCatching { nsd.stopServiceDiscovery(listener) }
        }
        return out
    }

    /** One service's address (IPv4 first where the system gives several), or null. */
    @Suppress("DEPRECATION") // resolveService and host: the callbacks of API 34+ need an Executor and SDK extension checks
    private fun resolve(s: NsdServiceInfo, waitMillis: Long): PeerAddress? {
        val done = CountDownLatch(1)
        var address: PeerAddress? = null
        nsd.resolveService(
            s,
            object : NsdManager.ResolveListener {
                override fun onResolveFailed(info: NsdServiceInfo, errorCode: Int) = done.countDown()
                override fun onServiceResolved(info: NsdServiceInfo) {
                    val host = info.host
                    if (host != null) address = PeerAddress(info.serviceName, host.hostAddress ?: "", info.port)
                    done.countDown()
                }
            },
        )
        done.await(waitMillis, TimeUnit.MILLISECONDS)
        return address?.takeIf { it.host.isNotEmpty() }
    }
}
