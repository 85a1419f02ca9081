// The opt-in log sink through the Swift bindings (issue 17, item 4): lines of a write and a sync
// arrive at the level asked for and hold none of the demo's marker strings, no id and no hex run; a
// sink that throws breaks nothing; a cleared sink gets nothing. main.swift runs logTests().

import Foundation

/// Keeps every line it gets.
final class CollectingSink: LogSink {
    private let lock = NSLock()
    private var got: [(LogLevel, String, String)] = []
    var lines: [(LogLevel, String, String)] { lock.lock(); defer { lock.unlock() }; return got }
    var text: String { lines.map { "\($0.0) \($0.1) \($0.2)" }.joined(separator: "\n") }
    func log(level: LogLevel, target: String, message: String) throws {
        lock.lock(); got.append((level, target, message)); lock.unlock()
    }
}

/// Throws on every line.
final class ThrowingSink: LogSink {
    private let lock = NSLock()
    private var n = 0
    var calls: Int { lock.lock(); defer { lock.unlock() }; return n }
    func log(level: LogLevel, target: String, message: String) throws {
        lock.lock(); n += 1; lock.unlock()
        throw ListenerBug()
    }
}

func logTests() {
    let markers = ["MARKER-kesepian-malam-ini-7f3a", "MARKER-talked-with-my-sister-91c2", "MARKER-group-name-4b1c"]

    check("log: a write and a sync log at trace level, with no content, id or secret") {
        let url = try relayURL()
        let sink = CollectingSink()
        setLogSink(sink: sink, maxLevel: .trace)
        defer { clearLogSink() }
        let a = try Vault.open(path: tmpPath("log-a.db"), masterKey: try generateMasterKey())
        let phrase = try a.createPerson()
        let b = try Vault.open(path: tmpPath("log-b.db"), masterKey: try generateMasterKey())
        try b.completeLink(response: try a.approveLink(request: try b.linkRequest()))
        let bad = b.subscribe(listener: ThrowingListener())
        for m in markers.prefix(2) { _ = try a.journal().add(text: m, mood: 3) }
        let gid = try a.groups().create(name: markers[2])
        _ = try a.sync(relayUrl: url)
        try assertTrue(try b.sync(relayUrl: url).applied >= 2, "applied")
        bad.stop()
        clearLogSink()
        let text = sink.text
        let levels = Set(sink.lines.map { "\($0.0)" })
        try assertTrue(levels.contains("\(LogLevel.debug)") && levels.contains("\(LogLevel.info)") && levels.contains("\(LogLevel.warn)"), "levels \(levels)")
        try assertTrue(text.contains("sync finished"), "no end of sync")
        try assertTrue(sink.lines.allSatisfy { $0.1.hasPrefix("sebaya::") }, "a foreign target")
        var secrets = markers + [phrase, gid, try a.deviceId(), try b.deviceId()]
        secrets += try a.spaceStatus().map { $0.spaceId }
        if let p = try a.personId() { secrets.append(p) }
        for s in secrets {
            try assertTrue(text.range(of: s, options: .caseInsensitive) == nil, "the log holds \(s)")
        }
        try assertTrue(text.range(of: "[0-9a-fA-F]{16,}", options: .regularExpression) == nil, "a hex run")
    }

    check("log: a sink that throws breaks nothing; a cleared sink gets nothing; the level filters") {
        let url = try relayURL()
        let throwing = ThrowingSink()
        setLogSink(sink: throwing, maxLevel: .trace)
        defer { clearLogSink() }
        let v = try Vault.open(path: tmpPath("log-c.db"), masterKey: try generateMasterKey())
        _ = try v.journal().add(text: "tetap", mood: 3)
        try assertTrue(try v.sync(relayUrl: url).pushed >= 1, "pushed")
        try assertTrue(throwing.calls > 0, "the sink was called")
        let info = CollectingSink()
        setLogSink(sink: info, maxLevel: .info)
        _ = try v.journal().add(text: "dua", mood: 3)
        _ = try v.sync(relayUrl: url)
        try assertTrue(!info.lines.isEmpty, "info lines arrived")
        try assertTrue(info.lines.allSatisfy { $0.0 != .debug && $0.0 != .trace }, "only info and above")
        clearLogSink()
        let n = info.lines.count
        _ = try v.journal().add(text: "tiga", mood: 3)
        _ = try v.sync(relayUrl: url)
        try assertEqual(n, info.lines.count, "nothing after clearLogSink")
    }
}
