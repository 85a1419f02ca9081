// A group's note is its author's (issue 18, item 2; rules version 6), through the Swift bindings: another
// member's and the facilitator's edit or delete is refused (NotAllowed), the author edits its own, a
// member cannot hide, and once the facilitator hides the note the other member no longer sees it while
// the facilitator and the author see it marked hidden. The same flow as
// bindings/tests/python/test_notes.py. main.swift runs notesTests().

import Foundation

func notesTests() {
    check("notes: a note is its author's; the facilitator hides it from the other members") {
        let url = try relayURL()
        let fac = try personVault("notes-f.db")
        let a = try personVault("notes-a.db")
        let b = try personVault("notes-b.db")
        let gid = try fac.groups().create(name: "Kelompok Rabu")
        for v in [a, b] {
            _ = try v.groups().join(response: try fac.spaces().approveMember(spaceId: gid, request: try v.linkRequest()))
        }
        for v in [fac, a, b] { _ = try v.sync(relayUrl: url) }
        let nid = try a.groups().addNote(groupId: gid, text: "Catatan Ani.")
        for v in [a, b, fac] { _ = try v.sync(relayUrl: url) }
        for v in [b, fac] {
            try assertThrows("another's edit", notAllowed) {
                try v.groups().editNote(groupId: gid, noteId: nid, text: "diubah")
            }
            try assertThrows("another's delete", notAllowed) { try v.groups().deleteNote(groupId: gid, noteId: nid) }
        }
        try a.groups().editNote(groupId: gid, noteId: nid, text: "Catatan Ani, diperbaiki.")
        try assertThrows("a member hides", notAllowed) { try b.groups().hideNote(groupId: gid, noteId: nid) }
        _ = try a.sync(relayUrl: url)
        _ = try fac.sync(relayUrl: url)
        try fac.groups().hideNote(groupId: gid, noteId: nid)
        for v in [fac, b, a] { _ = try v.sync(relayUrl: url) }
        try assertEqual(0, try b.groups().notes(groupId: gid).count, "hidden from the other member")
        for v in [fac, a] {
            let notes = try v.groups().notes(groupId: gid)
            try assertEqual(["\(nid):Catatan Ani, diperbaiki.:true"], notes.map { "\($0.id):\($0.text):\($0.hidden)" }, "marked hidden")
        }
        try assertThrows("a member unhides", notAllowed) { try a.groups().unhideNote(groupId: gid, noteId: nid) }
    }
}
