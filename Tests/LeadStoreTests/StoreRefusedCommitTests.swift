import Foundation
import GRDB
import LeadRouting
@testable import LeadStore
import Testing

// What a refused commit leaves behind: nothing that the next commits trip over. SQLite keeps a
// rolled-back transaction's last insert row id, and the writer's `data_version` was read
// inside the transaction that failed.

@Test("a commit with no envelope after a refused one indexes nothing by a rolled-back row id: the topic's next envelopes still commit")
func envelopeLessCommitAfterARefusedOne() throws {
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory, durability: .off)
        // One envelope, waiting to be indexed (a topic at a time).
        try store.commit(batch(envelopes: [message("partner/a/", 1)]))
        // A big batch refused after its envelopes were inserted (a reused seq at its end; a full
        // disk at COMMIT rolls back the same way): SQLite's last insert row id stays past the
        // index's age bound.
        let many = (1...(Int(LeadStore.indexAge) + 30)).map { message("rejected/", $0) } + [message("partner/a/", 1)]
        #expect(throws: (any Error).self) { try store.commit(batch(envelopes: many)) }
        // The next commit stores no envelope (a batch of duplicates, a control request…).
        try store.commit(batch())
        // partner/a/ goes on: 127 more envelopes fill its group.
        try store.commit(batch(envelopes: (2...128).map { message("partner/a/", $0) }))
        #expect(try store.envelopes(topic: "partner/a/", fromSeq: 1, limit: 1000).map(\.seq) == Array(1...128))
        // And other topics' commits go on.
        for attempt in 1...3 { try store.commit(batch(envelopes: [message("partner/b/", attempt)])) }
    }
}

@Test("a refused commit that noticed another connection's commit still has the next commit refill the key filters: that connection's lead is found")
func refusedCommitKeepsTheOtherConnectionsNotice() throws {
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory, durability: .off)
        try store.commit(batch(leads: [storedLead("web-here")]))
        store.waitForKeyFilters()
        try withStore(directory, durability: .off) { other in
            try other.commit(batch(leads: [storedLead("web-elsewhere")]))
        }
        // The filter does not hold the other connection's lead, so routing stores it again: refused.
        #expect(throws: StoreError.self) { try store.commit(batch(leads: [storedLead("web-elsewhere")])) }
        try store.commit(batch(leads: [storedLead("web-later")]))
        store.waitForKeyFilters()
        #expect(try store.lookUp(leadIDs: ["web-elsewhere"], accountKeys: []).known == ["web-elsewhere"])
    }
}
