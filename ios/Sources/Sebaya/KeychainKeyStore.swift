// Shipped glue (hand-written, not generated). APPLE-ONLY and UNVERIFIED: everything below is inside
// `#if canImport(Security)`, so on the Linux machine this was written on (no Security framework, no
// macOS) it compiles to nothing and has never run. The contract it fulfils (the core's `KeyStore`:
// get / put / delete of named bytes) is exercised on Linux through a file-based test double that
// lives only in the tests (bindings/tests/swift/GlueTests.swift). An app team's first run is its test.

#if canImport(Security)
import Foundation
import Security

/// The app's key store for `Vault.openWithKeyStore` on iOS: each value (the vault's master key) is a
/// generic-password Keychain item, readable after the phone's first unlock since boot (so background
/// sync and pushes work while the phone is locked) and only on this device: never in iCloud Keychain,
/// never restored to another phone (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`,
/// not synchronizable). A new phone gets the person's data by linking or the recovery phrase.
///
/// Usage: `Vault.openWithKeyStore(path: path, keyStore: KeychainKeyStore(), keyName: "vault")`.
public final class KeychainKeyStore: KeyStore {
    private let service: String
    private let accessGroup: String?

    /// `service` names this app's Sebaya items; `accessGroup` shares them with an app extension
    /// (a notification service extension that syncs on a push), nil for the app alone.
    public init(service: String = "org.sebaya.vault-key", accessGroup: String? = nil) {
        self.service = service
        self.accessGroup = accessGroup
    }

    private func base(_ name: String) -> [String: Any] {
        var q: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: name,
            kSecAttrSynchronizable as String: false,
        ]
        if let group = accessGroup { q[kSecAttrAccessGroup as String] = group }
        if #available(macOS 10.15, iOS 13.0, *) { q[kSecUseDataProtectionKeychain as String] = true }
        return q
    }

    public func get(name: String) throws -> Data? {
        var q = base(name)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else { throw KeyStoreError.Unavailable(reason: "the Keychain item holds no data") }
            return data
        case errSecItemNotFound:
            return nil
        default:
            // errSecInteractionNotAllowed: the phone has not been unlocked since it started.
            throw KeyStoreError.Unavailable(reason: "Keychain read failed (OSStatus \(status))")
        }
    }

    public func put(name: String, value: Data) throws {
        let attrs: [String: Any] = [
            kSecValueData as String: value,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        let updated = SecItemUpdate(base(name) as CFDictionary, attrs as CFDictionary)
        if updated == errSecSuccess { return }
        guard updated == errSecItemNotFound else {
            throw KeyStoreError.Unavailable(reason: "Keychain update failed (OSStatus \(updated))")
        }
        var add = base(name)
        add.merge(attrs) { _, new in new }
        let added = SecItemAdd(add as CFDictionary, nil)
        guard added == errSecSuccess else {
            throw KeyStoreError.Unavailable(reason: "Keychain add failed (OSStatus \(added))")
        }
    }

    public func delete(name: String) throws {
        let status = SecItemDelete(base(name) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeyStoreError.Unavailable(reason: "Keychain delete failed (OSStatus \(status))")
        }
    }
}
#endif
