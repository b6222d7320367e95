import Foundation
import GRDB
import LeadRouting
import LeadStore
import Testing

// The background checkpoint copies the log into the database file in slices, with a pause
// between them, unless the checkpoint before it left a backlog (LeadStore.checkpoint()).

@Test("the background checkpoint copies the log into the database a slice at a time: a pause after every 16 pages written, none for fewer")
func checkpointCopiesInSlices() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            // One lead of 3 KB a commit: each commit adds a page or so of its own.
            let bytes = Array(#"{"lead_id":"x","pad":""#.utf8) + Array(repeating: UInt8(ascii: "p"), count: 3_000) + Array(#""}"#.utf8)
            // The new store's tables first; then one commit's few pages: no pause.
            _ = try store.checkpoint()
            try store.commit(batch(leads: [storedLead("s0", bytes: bytes)]))
            _ = try store.checkpoint()
            #expect(store.lastCheckpointSlicePauses == 0)
            for i in 1...200 { try store.commit(batch(leads: [storedLead("s\(i)", bytes: bytes)])) }
            store.waitForKeyFilters()  // a filling key filter's read would hold the log back
            let result = try store.checkpoint()
            #expect(result.checkpointed == result.walPages)
            let pages = try DatabaseQueue(path: storeFile(directory)).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM dbstat WHERE name = 'leads'") ?? 0
            }
            // Every lead's page was written once at least (with the tables' other pages): a
            // pause for each 16.
            #expect(pages >= 200)
            #expect(store.lastCheckpointSlicePauses >= pages / LeadStore.checkpointSlicePages)
            #expect(store.lastCheckpointSlicePauses <= result.checkpointed / LeadStore.checkpointSlicePages)
            #expect(try store.leadCount() == 201)
        }
    }
}

@Test("a checkpoint after one that left a backlog of the log uncopied copies at full speed, and the next copies in slices again")
func checkpointWithoutSlicesAfterABacklog() throws {
    try withStateDirectory { directory in
        try withStore(directory, durability: .off) { store in
            let bytes = Array(#"{"lead_id":"x","pad":""#.utf8) + Array(repeating: UInt8(ascii: "p"), count: 3_000) + Array(#""}"#.utf8)
            var next = 0
            func commitLeads(_ count: Int) throws {
                for _ in 0..<count {
                    try store.commit(batch(leads: (0..<20).map { i in storedLead("b\(next)-\(i)", bytes: bytes) }))
                    next += 1
                }
            }
            try commitLeads(1)
            _ = try store.checkpoint()
            // A reader's snapshot holds the log back: the checkpoint copies only what came
            // before it, and leaves the rest.
            var held = Configuration()
            held.allowsUnsafeTransactions = true
            let reader = try DatabaseQueue(path: storeFile(directory), configuration: held)
            try reader.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN")
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM leads")
            }
            try commitLeads(500)
            let heldBack = try store.checkpoint()
            #expect(heldBack.walPages - heldBack.checkpointed >= LeadStore.checkpointSliceBacklog)
            try reader.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
            // The backlog copied at full speed: no pause, for thousands of pages.
            store.waitForKeyFilters()  // a filling key filter's read would hold the log back
            let caughtUp = try store.checkpoint()
            #expect(caughtUp.checkpointed == caughtUp.walPages)
            #expect(store.lastCheckpointSlicePauses == 0)
            // No backlog left: slices again.
            try commitLeads(20)
            store.waitForKeyFilters()  // a filling key filter's read would hold the log back
            _ = try store.checkpoint()
            #expect(store.lastCheckpointSlicePauses > 0)
        }
    }
}
