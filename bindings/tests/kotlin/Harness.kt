// The shared harness of the Kotlin binding tests: check/assert helpers, a per-process pass/fail count
// and a real relay process on loopback. Every other file in this directory that has a `main` is run
// as its own JVM by `scripts/test.sh kotlin`, so the counts are per file. The harness also gives the
// library its HTTP stack, once per JVM, as an app does at start (`setHttpTransport`).

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.InetAddress
import java.net.Proxy
import java.net.ServerSocket
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import org.sebaya.HttpTransport
import org.sebaya.ProgrammeRole
import org.sebaya.TrainingModule
import org.sebaya.Vault
import org.sebaya.glue.HttpUrlConnectionTransport
import org.sebaya.requiredTrainingModules
import org.sebaya.setHttpTransport

internal var passed = 0
internal var failed = 0

/**
 * The app's HTTP stack as the library asks for it: the Android module's shipped
 * `HttpUrlConnectionTransport` (android/src/glue/common), with no proxy: the tests talk to loopback only.
 */
@Suppress("FunctionName")
internal fun UrlConnectionTransport(): HttpTransport = HttpUrlConnectionTransport(proxy = Proxy.NO_PROXY)

/** Set once per JVM, when this file's class loads (the first check(), or the first Relay). */
internal val httpTransportInstalled: Boolean = run {
    setHttpTransport(UrlConnectionTransport())
    true
}

internal fun check(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("PASS  $name")
    } catch (t: Throwable) {
        failed++
        println("FAIL  $name: $t")
        t.printStackTrace(System.out)
    }
}

internal fun assertTrue(cond: Boolean, what: String) {
    if (!cond) throw AssertionError(what)
}

internal fun <T> assertEquals(expected: T, actual: T, what: String) {
    if (expected != actual) throw AssertionError("$what: expected <$expected>, got <$actual>")
}

internal inline fun <reified E : Throwable> assertThrows(what: String, body: () -> Unit): E {
    try {
        body()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("$what: expected ${E::class.simpleName}, got $e", e)
    }
    throw AssertionError("$what: expected ${E::class.simpleName}, nothing was thrown")
}

internal fun mood(n: Int): Int = n

/** A real relay process with its own data directory; [close] stops exactly that process. */
internal class Relay(dataDir: File, private val log: File, extraArgs: List<String> = emptyList()) : AutoCloseable {
    private val process: Process
    val url: String

    init {
        if (!httpTransportInstalled) throw IllegalStateException("no HTTP transport")
        val bin = System.getenv("SEBAYA_RELAY_BIN") ?: "target/debug/sebaya-relay"
        process = ProcessBuilder(listOf(bin, "--port", "0", "--data-dir", dataDir.path) + extraArgs)
            .redirectError(ProcessBuilder.Redirect.to(log))
            .redirectInput(ProcessBuilder.Redirect.from(File("/dev/null")))
            .start()
        val lines = LinkedBlockingQueue<String>()
        Thread {
            val r = BufferedReader(InputStreamReader(process.inputStream, Charsets.UTF_8))
            lines.put(r.readLine() ?: "")
            // Keep draining so the relay can never block on a full pipe.
            while (r.readLine() != null) { /* discard */ }
        }.apply { isDaemon = true }.start()
        val line = lines.poll(30, TimeUnit.SECONDS)
        val m = line?.let { Regex("""^sebaya-relay listening on (http://127\.0\.0\.1:\d+) \(data: .*\)$""").find(it) }
        if (m == null) {
            close()
            throw IllegalStateException("relay printed no URL line (got ${line?.let { "'$it'" }}); stderr: ${log.readText().takeLast(2000)}")
        }
        url = m.groupValues[1]
    }

    val alive: Boolean get() = process.isAlive

    override fun close() {
        if (process.isAlive) {
            process.destroy() // SIGTERM to this PID only
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly()
                process.waitFor(10, TimeUnit.SECONDS)
            }
        }
    }
}

internal fun closedPort(): Int = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }

/** Prints the count and exits: non-zero when anything failed or nothing ran. */
internal fun finish(): Nothing {
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}

/**
 * A programme in which [v]'s person may open pairings (issue 14, item 11: a pairing opens only under
 * a programme, by a supporter certified there): made on [v] (its person coordinates it), every
 * required module certified by the programme key. Makes the person if [v] has none.
 */
internal fun trainedProgramme(v: Vault): String {
    if (v.personId() == null) v.createPerson()
    val pid = v.programmes().create("Program uji")
    val completed = (System.currentTimeMillis() / 1000 - 86_400).toULong()
    for (m in requiredTrainingModules()) {
        v.programmes().addTrainingRecord(v.programmes().certifyTraining(pid, v.personId()!!, m, completed, validDays = 365u))
    }
    return pid
}

/**
 * A programme in which [svr]'s person is a coordinator (it makes it) and [sup]'s a peer supporter,
 * so [svr] may supervise [sup]'s case notes (issue 14, item 12). Makes either person if missing.
 */
internal fun supervisingProgramme(sup: Vault, svr: Vault): String {
    for (v in listOf(sup, svr)) if (v.personId() == null) v.createPerson()
    val pid = svr.programmes().create("Supervisi")
    val grant = svr.programmes().grantRole(pid, sup.personId()!!, ProgrammeRole.PeerSupporter, validDays = 365u)
    sup.programmes().addCredential(grant.credential)
    return pid
}

/** [coord] certifies [sup] in group facilitation, which running a programme group's sessions takes. */
internal fun certifyFacilitation(coord: Vault, sup: Vault, pid: String) {
    val completed = (System.currentTimeMillis() / 1000 - 86_400).toULong()
    sup.programmes().addTrainingRecord(
        coord.programmes().certifyTraining(pid, sup.personId()!!, TrainingModule.GroupFacilitation, completed, validDays = 365u),
    )
}

/** Where the v1 fixtures are (`tests/fixtures/v1`): `SEBAYA_V1_FIXTURES`, set by `scripts/test.sh`. */
internal fun v1Fixtures(): File =
    File(System.getenv("SEBAYA_V1_FIXTURES") ?: throw IllegalStateException("SEBAYA_V1_FIXTURES is not set"))
