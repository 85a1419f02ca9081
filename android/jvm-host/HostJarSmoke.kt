// The check that the JVM host JAR is whole: an app's unit test as an app team would write it, with
// nothing on the class path but the JAR, the Kotlin standard library and JNA, and no
// -Djna.library.path (the library must come out of the JAR itself). Run twice by
// scripts/check-release.sh: as compiled, and after ProGuard shrank it with the AAR's consumer rules
// (android/consumer-rules.pro), a stand-in for R8 in an app's release build. It touches what
// shrinking breaks first: JNA structures (records), callbacks into Kotlin (a SpaceListener) and a
// thrown error case (SebayaException).

import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess
import org.sebaya.SebayaException
import org.sebaya.SpaceKind
import org.sebaya.SpaceListener
import org.sebaya.Vault
import org.sebaya.generateMasterKey

private class Heard : SpaceListener {
    @Volatile var kinds = mutableListOf<SpaceKind>()

    override fun spaceChanged(spaceId: String, kind: SpaceKind) {
        synchronized(this) { kinds.add(kind) }
    }
}

fun main() {
    val dir = Files.createTempDirectory("sebaya-host-jar").toFile()
    try {
        val path = File(dir, "vault.db").path
        val key = generateMasterKey()
        val heard = Heard()
        val id = Vault.open(path, key).use { v ->
            v.subscribe(heard).use {
                v.journal().use { j -> j.add("host jar", 3, listOf("smoke")) }
            }
        }
        val back = Vault.open(path, key).use { v -> v.journal().use { j -> j.get(id) } }
        check(back?.text == "host jar" && back.mood == 3 && back.tags == listOf("smoke")) {
            "the entry did not come back whole"
        }
        check(synchronized(heard) { heard.kinds.toList() } == listOf<SpaceKind>(SpaceKind.Journal)) {
            "the listener was not told of the journal's change"
        }
        val wrong = try {
            Vault.open(path, generateMasterKey()).close()
            false
        } catch (e: SebayaException.WrongKey) {
            true
        }
        check(wrong) { "a wrong key did not throw SebayaException.WrongKey" }
        println("host jar smoke: ok")
    } catch (e: Throwable) {
        println("host jar smoke: FAILED: $e")
        exitProcess(1)
    } finally {
        dir.deleteRecursively()
    }
}
