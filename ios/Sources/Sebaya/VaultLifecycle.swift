// Shipped glue (hand-written, not generated). The state machine is compiled and run on Linux by
// `scripts/test.sh swift` (GlueTests.swift). The part that listens to UIApplication's notifications is
// iOS-only (`#if canImport(UIKit)`), not compiled on Linux, and UNVERIFIED: never run on a device.

import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Holds the app's one open `Vault` and, if the app asks (`lockInBackground`), locks it when the app
/// goes to the background, so a phone left with the app in the switcher holds no vault keys in memory.
/// Why a helper: "lock in the background" and "sync in the background" pull against each other, and
/// getting it wrong either leaves keys in memory or breaks a sync half-way.
///
/// - All vault work goes through `use`. The vault is opened on first use with `open` (typically
///   `Vault.openWithKeyStore(path:keyStore: KeychainKeyStore(), keyName:)` after
///   `VaultDirectory.prepare`) and kept open.
/// - `enteredBackground()` locks it at once (`Vault.lock()`: keys wiped, database closed; a reference
///   kept elsewhere then throws `.Locked`), or, if a `use` is running (a sync), when the last one ends.
/// - A background task or push calls `use` like anything else: while the app is in the background the
///   vault is reopened from the Keychain (readable once the phone has been unlocked since it started)
///   and locked again when the work ends. Locking costs a reopen, never a lost sync.
/// - `enteredForeground()` only records the state; the next `use` reopens the vault.
///
/// The state starts as background: an app launched for a background task locks after its work.
/// With `lockInBackground` false this class only keeps the vault open. Thread-safe; `use` blocks
/// (call it off the main thread, as every vault call).
public final class VaultLifecycle {
    private let mutex = NSCondition()
    private let lockInBackground: Bool
    private let open: () throws -> Vault
    private var vault: Vault?
    private var inForeground = false
    private var users = 0
    private var lockWhenIdle = false
    private var opening = false

    public init(lockInBackground: Bool, open: @escaping () throws -> Vault) {
        self.lockInBackground = lockInBackground
        self.open = open
    }

    /// Whether a vault is open now (keys in memory).
    public var isOpen: Bool {
        mutex.lock(); defer { mutex.unlock() }
        return vault != nil
    }

    /// How many `use`s are running or waiting for an open (for tests: a second user is waiting once
    /// this is 2 while the first one opens).
    var currentUsers: Int {
        mutex.lock(); defer { mutex.unlock() }
        return users
    }

    /// Runs `body` with the open vault, opening it first if needed; errors from `open` or `body` reach
    /// the caller, and the state stays consistent either way. `open` runs without this object's lock
    /// held (the Keychain may take its time, and `open` may ask `isOpen`): meanwhile
    /// `enteredBackground()`, `lock()` and `isOpen` return at once, and another `use` waits for that one
    /// open instead of making its own.
    public func use<T>(_ body: (Vault) throws -> T) throws -> T {
        let v = try acquire()
        defer {
            mutex.lock()
            users -= 1
            if users == 0 && shouldLock { lockHeld() }
            mutex.unlock()
        }
        return try body(v)
    }

    /// The open vault for one more user (counted from the start, so no lock falls between).
    private func acquire() throws -> Vault {
        mutex.lock()
        users += 1
        while vault == nil && opening { mutex.wait() }
        if let current = vault {
            mutex.unlock()
            return current
        }
        opening = true
        mutex.unlock()
        let opened: Vault
        do {
            opened = try open()
        } catch {
            mutex.lock()
            opening = false
            users -= 1
            if users == 0 { lockWhenIdle = false } // nothing was open to lock
            mutex.broadcast()
            mutex.unlock()
            throw error
        }
        mutex.lock()
        vault = opened
        opening = false
        mutex.broadcast()
        mutex.unlock()
        return opened
    }

    /// The app came to the foreground.
    public func enteredForeground() {
        mutex.lock(); inForeground = true; mutex.unlock()
    }

    /// The app went to the background: locks now, or when the running work ends, if asked to.
    public func enteredBackground() {
        mutex.lock()
        inForeground = false
        if users == 0 && shouldLock { lockHeld() }
        mutex.unlock()
    }

    /// Locks the vault now whatever the state (a "lock" button); the next `use` reopens it.
    public func lock() {
        mutex.lock()
        if users == 0 { lockHeld() } else { lockWhenIdle = true }
        mutex.unlock()
    }

    private var shouldLock: Bool { lockWhenIdle || (lockInBackground && !inForeground) }

    private func lockHeld() {
        guard let v = vault else { return }
        vault = nil
        lockWhenIdle = false
        do {
            try v.lock()
        } catch {
            // Only a poisoned vault refuses; the process-wide lock takes its keys all the same.
            _ = lockNow()
        }
    }

    #if canImport(UIKit) && !os(watchOS)
    /// Follows the app's state through UIApplication's notifications (active → foreground, entered
    /// background → background). Keep the returned tokens for as long as the app runs. UNVERIFIED:
    /// not compiled or run here (Linux).
    public func observeApplicationState(center: NotificationCenter = .default) -> [NSObjectProtocol] {
        [
            center.addObserver(forName: UIApplication.didBecomeActiveNotification, object: nil, queue: nil) { [weak self] _ in
                self?.enteredForeground()
            },
            center.addObserver(forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: nil) { [weak self] _ in
                self?.enteredBackground()
            },
        ]
    }
    #endif
}
