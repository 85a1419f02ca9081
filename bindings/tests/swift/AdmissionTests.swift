// A relay that stores only for one programme's people (protocol 9.8), through the Swift bindings. The
// test stage starts a second relay with --admission credential listing a programme nobody holds the key
// of: a person's journal is not stored there and the report says so (notAdmitted), while the same vault
// syncs at the open relay. The admitted path (a participant's credential, a phone restored from the
// phrase) is test_admission.py and AdmissionTest.kt: this stage cannot start a relay for a programme
// the test makes. main.swift runs admissionTests().

import Foundation

/// The relay that admits by credential, started by the test stage (outside the chroot, on 127.0.0.1).
func credentialRelayURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["SEBAYA_CREDENTIAL_RELAY_URL"], url.hasPrefix("http://127.0.0.1:")
    else { throw CheckFailure(description: "SEBAYA_CREDENTIAL_RELAY_URL is not set to a loopback relay") }
    return url
}

func admissionTests() {
    check("admission: a relay for one programme stores nothing for someone outside it, and says so") {
        let v = try Vault.open(path: tmpPath("admission.db"), masterKey: try generateMasterKey())
        _ = try v.createPerson()
        _ = try v.journal().add(text: "Hari ini cukup baik.", mood: 4)
        let refused = try v.sync(relayUrl: try credentialRelayURL())
        try assertTrue(refused.notAdmitted > 0, "not admitted: \(refused)")
        try assertEqual(0, refused.pushed, "nothing stored")
        let open = try v.sync(relayUrl: try relayURL())
        try assertEqual(0, open.notAdmitted, "the open relay admits everyone")
        try assertTrue(open.pushed > 0, "stored at the open relay: \(open)")
    }
}
