// The shared harness of the Kotlin binding tests: check/assert helpers, a per-process pass/fail count
// and a real relay process on loopback. Every other file in this directory that has a `main` is run
// as its own JVM by `scripts/test.sh kotlin`, so the counts are per file.

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.InetAddress
import java.net.ServerSocket
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

internal var passed = 0
internal var failed = 0

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
internal class Relay(dataDir: File, private val log: File) : AutoCloseable {
    private val process: Process
    val url: String

    init {
        val bin = System.getenv("SEBAYA_RELAY_BIN") ?: "target/debug/sebaya-relay"
        process = ProcessBuilder(bin, "--port", "0", "--data-dir", dataDir.path)
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
