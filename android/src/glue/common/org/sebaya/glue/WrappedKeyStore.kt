// Shipped glue (hand-written, not generated). Plain JVM + Android: the wrapping format and the file
// storage are compiled and tested on a desktop JVM by `scripts/test.sh kotlin` (GlueTest.kt), with a
// software AES key standing in for the Android Keystore key. The Keystore key itself is made in
// AndroidKeystoreKeyStore.kt (platform-only, not compiled here).
package org.sebaya.glue

import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.sebaya.KeyStore
import org.sebaya.KeyStoreException

/**
 * Where wrapped (encrypted) values are kept. Only ciphertext ever reaches it, so it needs to be
 * private to the app, not secret.
 */
public interface BlobStore {
    /** The blob stored under [name], or null when there is none. */
    public fun read(name: String): ByteArray?

    /** Stores [blob] under [name], replacing what was there, all or nothing. */
    public fun write(name: String, blob: ByteArray)

    /** Removes what is stored under [name]; nothing stored is not an error. */
    public fun remove(name: String)
}

/**
 * A [BlobStore] of one file per name in [dir] (on Android: a folder under `noBackupFilesDir`, which
 * no backup or device transfer copies: the blob is useless on another device anyway, since the key
 * that unwraps it never leaves this one). File names are the hex of the name, so any name is safe.
 * Writes go to a temporary file that is then renamed, so a crash leaves the old blob or the new one.
 */
public class FileBlobStore(private val dir: File) : BlobStore {
    private fun fileOf(name: String): File =
        File(dir, name.toByteArray(Charsets.UTF_8).joinToString("") { "%02x".format(it) } + ".key")

    override fun read(name: String): ByteArray? {
        val f = fileOf(name)
        return if (f.isFile) f.readBytes() else null
    }

    override fun write(name: String, blob: ByteArray) {
        if (!dir.isDirectory && !dir.mkdirs() && !dir.isDirectory) throw IOException("cannot create the key folder")
        val target = fileOf(name)
        val tmp = File(dir, target.name + ".tmp")
        tmp.outputStream().use {
            it.write(blob)
            it.fd.sync()
        }
        // Owner only, where the platform lets us say so (Android app folders are private already).
        tmp.setReadable(false, false)
        tmp.setReadable(true, true)
        tmp.setWritable(false, false)
        tmp.setWritable(true, true)
        if (!tmp.renameTo(target)) {
            tmp.delete()
            throw IOException("cannot replace the stored key blob")
        }
    }

    override fun remove(name: String) {
        val f = fileOf(name)
        if (f.exists() && !f.delete()) throw IOException("cannot delete the stored key blob")
    }
}

/**
 * A [KeyStore] for `Vault.openWithKeyStore` that keeps each value encrypted with AES-256-GCM under a
 * wrapping key the app's platform protects (on Android, a non-exportable key in the Android
 * Keystore: AndroidKeystoreKeyStore), and the ciphertext in a [BlobStore]. This replaces
 * EncryptedSharedPreferences (deprecated) with a format small enough to read in full:
 *
 *     blob = 0x01 (format version) || iv length (1 byte) || iv || AES-GCM ciphertext and 16-byte tag
 *     associated data = "org.sebaya.glue.WrappedKeyStore/1" || 0x00 || UTF-8 name
 *
 * The name is authenticated, so a blob copied to another name is refused, and a changed or truncated
 * blob, or one wrapped by another key, is refused too: `get` throws [KeyStoreException] rather than
 * answering "nothing stored", because "nothing stored" would let the core make a new key and lose the
 * vault's data. The IV is chosen by the cipher (the Android Keystore insists on that) and kept in the
 * blob.
 *
 * [wrappingKey] is asked for the key at every call (it may be created on first use); any failure
 * there or in the cipher becomes [KeyStoreException.Unavailable] with a reason that never holds
 * key material.
 */
public class WrappedKeyStore(
    private val wrappingKey: () -> SecretKey,
    private val blobs: BlobStore,
) : KeyStore {

    override fun get(name: String): ByteArray? {
        val blob = guarded("read") { blobs.read(name) } ?: return null
        return guarded("unwrap") { unwrap(wrappingKey(), name, blob) }
    }

    override fun put(name: String, value: ByteArray) {
        guarded("wrap") {
            val blob = wrap(wrappingKey(), name, value)
            blobs.write(name, blob)
        }
    }

    override fun delete(name: String) {
        guarded("delete") { blobs.remove(name) }
    }

    private inline fun <T> guarded(what: String, body: () -> T): T =
        try {
            body()
        } catch (e: KeyStoreException) {
            throw e
        } catch (e: AEADBadTagException) {
            throw KeyStoreException.Unavailable(
                "the stored blob does not authenticate (changed, moved to another name, or wrapped by another key)",
            )
        } catch (e: GeneralSecurityException) {
            throw KeyStoreException.Unavailable("$what: ${e.javaClass.simpleName}: ${e.message ?: ""}".take(300))
        } catch (e: IOException) {
            throw KeyStoreException.Unavailable("$what: ${e.javaClass.simpleName}: ${e.message ?: ""}".take(300))
        } catch (e: RuntimeException) {
            // Android's Keystore throws unchecked exceptions too (e.g. a key invalidated by the OS).
            throw KeyStoreException.Unavailable("$what: ${e.javaClass.simpleName}".take(300))
        }

    public companion object {
        private const val VERSION: Byte = 1
        private const val TAG_BITS = 128
        private const val AAD_LABEL = "org.sebaya.glue.WrappedKeyStore/1"

        private fun aad(name: String): ByteArray =
            AAD_LABEL.toByteArray(Charsets.UTF_8) + byteArrayOf(0) + name.toByteArray(Charsets.UTF_8)

        /** Encrypts [value] under [key] for [name]; the format is in the class comment. */
        @JvmStatic
        public fun wrap(key: SecretKey, name: String, value: ByteArray): ByteArray {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.ENCRYPT_MODE, key)
            cipher.updateAAD(aad(name))
            val sealed = cipher.doFinal(value)
            val iv = cipher.iv ?: throw GeneralSecurityException("the cipher chose no IV")
            if (iv.size !in 12..32) throw GeneralSecurityException("unexpected IV length ${iv.size}")
            return byteArrayOf(VERSION, iv.size.toByte()) + iv + sealed
        }

        /** Decrypts a blob made by [wrap] for the same [name]; throws if anything about it is off. */
        @JvmStatic
        public fun unwrap(key: SecretKey, name: String, blob: ByteArray): ByteArray {
            if (blob.size < 2 || blob[0] != VERSION) throw AEADBadTagException("unknown blob format")
            val ivLen = blob[1].toInt() and 0xff
            if (ivLen !in 12..32 || blob.size < 2 + ivLen + TAG_BITS / 8) throw AEADBadTagException("blob too short")
            val iv = blob.copyOfRange(2, 2 + ivLen)
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BITS, iv))
            cipher.updateAAD(aad(name))
            return cipher.doFinal(blob, 2 + ivLen, blob.size - 2 - ivLen)
        }
    }
}
