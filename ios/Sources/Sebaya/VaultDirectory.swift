// Shipped glue (hand-written, not generated). Compiled and run on Linux by `scripts/test.sh swift`
// (GlueTests.swift: the folder is made, private, idempotent, and a file in its place is an error).
// The iOS-only parts are marked below and UNVERIFIED: the data protection class (`#if os(iOS)`) and the
// backup exclusion (`#if canImport(Darwin)`) are not compiled on Linux and have never run on a device.

import Foundation

/// The vault's folder, made ready before the vault is opened in it.
public enum VaultDirectory {
    /// Creates `directory` (and its parents) if needed, owner-only (0700), and returns the vault file's
    /// path inside it (`vault.db`). On iOS it also:
    /// - sets data protection "complete until first user authentication" on the folder and on every
    ///   file already in it (the vault and SQLite's -wal/-shm files; new files inherit the folder's
    ///   class): readable by background sync while the phone is locked, never before the first unlock
    ///   after a reboot. Not `.complete`, which would make background sync fail while locked.
    /// - excludes the folder from iCloud and computer backups: a vault is useless without its
    ///   Keychain key, which never leaves the device, and a copy would only be a target.
    /// Call it at every start (it is cheap and repairs a folder an older version made).
    @discardableResult
    public static func prepare(_ directory: URL, fileName: String = "vault.db") throws -> URL {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: directory.path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: directory.path])
            }
        } else {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: nil)
        }
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        #if os(iOS)
        let protection: [FileAttributeKey: Any] = [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication]
        try fm.setAttributes(protection, ofItemAtPath: directory.path)
        for name in try fm.contentsOfDirectory(atPath: directory.path) {
            try fm.setAttributes(protection, ofItemAtPath: directory.appendingPathComponent(name).path)
        }
        #endif
        #if canImport(Darwin)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        var dir = directory
        try dir.setResourceValues(values)
        #endif
        return directory.appendingPathComponent(fileName)
    }
}
