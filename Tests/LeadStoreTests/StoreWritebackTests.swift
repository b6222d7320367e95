import Foundation
import LeadStore
import Testing

// MARK: - Writing the database file out early

@Test("starting the database file's writeback succeeds on a store whose checkpoint copied pages into it, and changes nothing stored")
func writebackStartsAndChangesNothing() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            for i in 0..<50 {
                try store.commit(batch(leads: [storedLead("w\(i)")], envelopes: [message("partner/acme/", i + 1)], leadIDs: ["w\(i)"]))
            }
            store.waitForKeyFilters()  // a filling key filter's read would hold the log back
            #expect(try store.checkpoint().checkpointed > 0)
            #expect(store.startWriteback(duringCheckpointsLongerThan: nil))
            // Again, with the file already open, and beside more commits.
            try store.commit(batch(leads: [storedLead("w50")], envelopes: [message("partner/acme/", 51)], leadIDs: ["w50"]))
            #expect(store.startWriteback(duringCheckpointsLongerThan: nil))
            #expect(try store.leadCount() == 51)
        }
        try withStore(directory) { reopened throws in
            #expect(try reopened.leadCount() == 51)
            #expect(try reopened.envelopes(topic: "partner/acme/", fromSeq: 1, limit: 100).count == 51)
        }
    }
}

@Test("starting the writeback reports a database file it cannot open, tries nothing when no long checkpoint runs, and the store goes on working")
func writebackReportsAFileItCannotOpen() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("x1")], envelopes: [message("partner/acme/", 1)], leadIDs: ["x1"]))
            // SQLite keeps its own descriptor; the path no longer leads to the file.
            let moved = store.path + ".moved"
            try FileManager.default.moveItem(atPath: store.path, toPath: moved)
            #expect(!store.startWriteback(duringCheckpointsLongerThan: nil))
            // Asked for during long checkpoints only, with none running: nothing is tried.
            #expect(store.startWriteback(duringCheckpointsLongerThan: .milliseconds(50)))
            try store.commit(batch(leads: [storedLead("x2")], envelopes: [message("partner/acme/", 2)], leadIDs: ["x2"]))
            #expect(try store.leadCount() == 2)
            try FileManager.default.moveItem(atPath: moved, toPath: store.path)
            #expect(store.startWriteback(duringCheckpointsLongerThan: nil))
        }
    }
}
