// Shipped glue (hand-written, not generated). PLATFORM-ONLY and UNVERIFIED: it uses android.security.keystore
// and android.content.Context, so it is not compiled on the Linux machine it was written on (no Android
// SDK there) and has never run on a device. Its logic is in WrappedKeyStore.kt and FileBlobStore, which
// are compiled and tested on a JVM (scripts/test.sh kotlin, GlueTest.kt) with a software AES key standing
// in for the Keystore key made here. An app team's first build and run is this file's first test.
package org.sebaya.glue

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.sebaya.KeyStore

/**
 * The app's key store for `Vault.openWithKeyStore` on Android: each value (the vault's master key)
 * is wrapped with AES-256-GCM by a key that lives in the Android Keystore (hardware-backed where the
 * phone has it, never exportable), and the wrapped blob is kept in `noBackupFilesDir/[folder]`, out
 * of every backup and device transfer. Not EncryptedSharedPreferences: that library is deprecated.
 *
 * Why these key settings: no user authentication and no "unlocked device" requirement, so background
 * sync (WorkManager) can open the vault while the screen is locked; the app's files themselves are
 * in credential-encrypted storage, so nothing opens before the first unlock after a reboot (like iOS's
 * AfterFirstUnlockThisDeviceOnly). If the Keystore key is lost (the user removed the screen lock on
 * some devices, a factory reset), `get` throws and the core reports `KeyStore`: restore the person from
 * the recovery phrase into a new vault.
 *
 * Usage: `Vault.openWithKeyStore(path, AndroidKeystoreKeyStore(context), "vault")`.
 */
public class AndroidKeystoreKeyStore @JvmOverloads constructor(
    context: Context,
    private val alias: String = "org.sebaya.vault-wrapping-key",
    folder: String = "sebaya-keys",
) : KeyStore by WrappedKeyStore(
    wrappingKey = { keystoreKey(alias) },
    blobs = FileBlobStore(File(context.applicationContext.noBackupFilesDir, folder)),
) {
    private companion object {
        private const val PROVIDER = "AndroidKeyStore"
        private val lock = Any()

        /** The Keystore key under [alias], made on first use (AES-256, GCM, cipher-chosen IVs). */
        fun keystoreKey(alias: String): SecretKey = synchronized(lock) {
            val ks = java.security.KeyStore.getInstance(PROVIDER).apply { load(null) }
            (ks.getKey(alias, null) as? SecretKey)?.let { return it }
            val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
            gen.init(
                KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .setRandomizedEncryptionRequired(true)
                    .setUserAuthenticationRequired(false)
                    .build(),
            )
            gen.generateKey()
        }
    }
}
