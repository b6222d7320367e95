import Foundation
import GRDB
import Synchronization
import LeadRouting
import LeadStore
import Testing

// MARK: - Opening and reading back

@Test func freshDirectoryGetsAnEmptyStoreInWALMode() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            #expect(store.path == storeFile(directory))
            #expect(store.durability == .full)
            #expect(FileManager.default.fileExists(atPath: store.path))
            #expect(try store.leadCount() == 0)
            #expect(try numbering(store).isEmpty)
            #expect(try store.knownLeads(["web-1"]).isEmpty)
            #expect(try store.knownLeads([]).isEmpty)
            #expect(try store.lead("web-1") == nil)
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10).isEmpty)
            #expect(try store.prune(olderThan: .max) == 0)
        }
        // Bytes 18 and 19 of a SQLite header are 2 in WAL mode (1 for a rollback journal).
        let header = try #require(FileManager.default.contents(atPath: storeFile(directory)))
        try #require(header.count >= 100)
        #expect(header.prefix(16) == Data("SQLite format 3\0".utf8))
        #expect(header[18] == 2 && header[19] == 2, "the store is not in WAL mode")
        // Opening the same store again is not an error.
        try withStore(directory) { store throws in
            #expect(try store.leadCount() == 0)
        }
    }
}

@Test func committedBatchIsThereAfterReopening() throws {
    let leads = [
        storedLead("web-1"),
        storedLead("web-2", partner: nil),
        storedLead("web-3", partner: "beta", bytes: [0x7B, 0x00, 0xFF, 0xFE, 0x7D]),
    ]
    // Interleaved topics, as the routing loop commits them: publish order, not topic order.
    let envelopes = [
        message("partner/acme", 1), message("partner/beta", 1), message("partner/acme", 2),
        message("unmatched", 1), message("partner/acme", 3), message("partner/beta", 2),
        message("rejected/invalid", 1),
    ]
    // The last envelope (a rejection) has no lead: envelopeLeadIDs is shorter.
    let leadIDs: [String?] = ["web-1", "web-3", "web-1", "web-2", "web-1", "web-3"]
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: leads, envelopes: envelopes, leadIDs: leadIDs))
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store) == [
                "partner/acme": state(3), "partner/beta": state(2), "unmatched": state(1), "rejected/invalid": state(1),
            ])
            #expect(try store.leadCount() == 3)
            #expect(try store.knownLeads(["web-0", "web-1", "web-2", "web-3", "web-4", "WEB-1", ""]) == ["web-1", "web-2", "web-3"])
            #expect(try store.knownLeads(["web-4"]).isEmpty)
            for expected in leads {
                #expect(try store.lead(expected.leadID) == expected)
            }
            #expect(try store.lead("web-4") == nil)

            let acme = (1...3).map { message("partner/acme", $0) }
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 100) == acme)
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 0, limit: 100) == acme)
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 2, limit: 100) == Array(acme[1...]))
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 2) == Array(acme[..<2]))
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 2, limit: 1) == [acme[1]])
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 4, limit: 100).isEmpty)
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 0).isEmpty)
            #expect(try store.envelopes(topic: "partner/beta", fromSeq: 1, limit: 100) == [message("partner/beta", 1), message("partner/beta", 2)])
            #expect(try store.envelopes(topic: "unmatched", fromSeq: 1, limit: 100) == [message("unmatched", 1)])
            #expect(try store.envelopes(topic: "rejected/invalid", fromSeq: 1, limit: 100) == [message("rejected/invalid", 1)])
            #expect(try store.envelopes(topic: "partner/gamma", fromSeq: 1, limit: 100).isEmpty)
            // A topic name is matched exactly, not as a prefix.
            #expect(try store.envelopes(topic: "partner/", fromSeq: 1, limit: 100).isEmpty)

            // A later batch carries the numbering on.
            try store.commit(batch(leads: [storedLead("web-4")], envelopes: [message("partner/acme", 4)], leadIDs: ["web-4"]))
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store)["partner/acme"] == state(4))
            #expect(try numbering(store)["partner/beta"] == state(2))
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 3, limit: 100) == [message("partner/acme", 3), message("partner/acme", 4)])
            #expect(try store.knownLeads(["web-1", "web-4", "web-5"]) == ["web-1", "web-4"])
            #expect(try store.leadCount() == 4)
        }
    }
}

@Test("a routed lead added to a batch keeps what routing gave it: id, channel, times, assignment and partner (none when unmatched); a lead made by either initialiser keeps its partner")
func routedLeadAddedToABatchKeepsItsFields() throws {
    var pipeline = LeadPipeline(config: RouterConfig(partners: [Partner(id: "acme", territories: [Territory(country: "US")])]), seed: 5)
    var batch = StoreBatch(reservingFor: 2)
    var decision = RoutingDecision()
    for (i, country) in ["US", "DE"].enumerated() {
        let json = #"{"lead_id":"web-\#(i)","source":"webform","kind":"lead","received_at":"2026-11-22T10:00:00Z","company":{"name":"Acme \#(i)","domain":"acme\#(i).example","country":"\#(country)","employees":250},"contact":{"name":"Dana","email":"dana@acme\#(i).example"}}"#
        let lead = try LeadParser.parse(Array(json.utf8)).get()
        let receivedAt = 1_700_000_000_000 + Int64(i)
        guard case .routed(_, let range) = pipeline.route(lead, now: receivedAt, appendingTo: &batch.envelopes, decision: &decision) else {
            Issue.record("lead \(i) was not routed")
            return
        }
        batch.add(routed: lead, channel: .intake, receivedAt: receivedAt, decision: decision, envelopes: range, partnerList: nil)
        let stored = batch.leads[i]
        #expect(stored.leadID == "web-\(i)" && stored.channel == "intake")
        #expect(stored.receivedAt == receivedAt && stored.routedAt == receivedAt)
        #expect(stored.assignment == decision.assignment && stored.assignmentID.hasPrefix("a-"))
        #expect(stored.partnerID == (i == 0 ? "acme" : nil))
        // The record and the bytes are read in place, from the batch's runs.
        #expect(stored.decision.isEmpty && stored.lead.isEmpty && batch.storedLead(i).lead == Array(json.utf8))
    }
    #expect(batch.envelopeLeadIDs == ["web-0", "web-1"])
    for partner in ["acme", nil] as [String?] {
        #expect(storedLead("web-9", partner: partner).partnerID == partner)
        let lead = StoredLead(leadID: "web-9", channel: "ingest", receivedAt: 1, routedAt: 2, assignment: "a-9", partnerID: partner,
                              decision: [1], lead: [2])
        #expect(lead.partnerID == partner && lead.assignmentID == "a-9" && lead.decision == [1] && lead.lead == [2])
    }
}

@Test func envelopesComeBackInSeqOrderWhateverTheCommitOrder() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: [message("t", 3), message("t", 1), message("t", 2)]))
            try store.commit(batch(envelopes: [message("t", 10)]))
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 10) == [1, 2, 3, 10].map { message("t", $0) })
            #expect(try store.envelopes(topic: "t", fromSeq: 3, limit: 10) == [3, 10].map { message("t", $0) })
            // last_seq is the highest seq committed, not the last one in the batch.
            #expect(try numbering(store) == ["t": state(10)])
        }
    }
}

// MARK: - Published watermarks

@Test func publishedSeqOnlyRises() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: (1...5).map { message("a", $0) } + (1...3).map { message("b", $0) }))
            #expect(try numbering(store) == ["a": state(5), "b": state(3)])

            try store.markPublished(["a": 3])
            #expect(try numbering(store) == ["a": state(5, 3), "b": state(3)])
            // A smaller watermark leaves it alone.
            try store.markPublished(["a": 2])
            #expect(try numbering(store) == ["a": state(5, 3), "b": state(3)])
            try store.markPublished(["a": 0, "b": 2])
            #expect(try numbering(store) == ["a": state(5, 3), "b": state(3, 2)])
            // Nothing to record, and a topic the store has never seen: no change, no new topic.
            try store.markPublished([:])
            try store.markPublished(["never-seen": 7])
            #expect(try numbering(store) == ["a": state(5, 3), "b": state(3, 2)])

            // commit(_:published:) raises it in the same transaction, and never lowers it.
            try store.commit(batch(envelopes: [message("a", 6)]), published: ["a": 1, "b": 3])
            #expect(try numbering(store) == ["a": state(6, 3), "b": state(3, 3)])
            try store.commit(batch(), published: ["a": 6])
            #expect(try numbering(store) == ["a": state(6, 6), "b": state(3, 3)])
            // A topic first seen in a batch can be marked published by that same commit.
            try store.commit(batch(envelopes: [message("c", 1), message("c", 2)]), published: ["c": 2])
            #expect(try numbering(store) == ["a": state(6, 6), "b": state(3, 3), "c": state(2, 2)])
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store) == ["a": state(6, 6), "b": state(3, 3), "c": state(2, 2)])
            try store.markPublished(["c": 1])
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store)["c"] == state(2, 2))
        }
    }
}

// MARK: - Failed commits roll back

@Test func duplicateLeadFailsAndRollsBackTheWholeBatch() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("t", 1)], leadIDs: ["web-1"]))
            try store.markPublished(["t": 1])
            let before = try numbering(store)

            // A new lead ahead of the duplicate: it must go too.
            let bad = batch(
                leads: [storedLead("web-2"), storedLead("web-1", partner: "other")],
                envelopes: [message("t", 2), message("u", 1)], leadIDs: ["web-2", "web-2"])
            let error = try #require(throws: StoreError.self) {
                try store.commit(bad, published: ["t": 2])
            }
            #expect(error.kind == .other)
            #expect(error.description.contains(store.path), "\(error)")
            #expect(error.description.contains("lead_id"), "\(error)")

            #expect(try store.leadCount() == 1)
            #expect(try store.knownLeads(["web-1", "web-2"]) == ["web-1"])
            #expect(try store.lead("web-2") == nil)
            #expect(try store.lead("web-1") == storedLead("web-1"), "the original record was overwritten")
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 100) == [message("t", 1)])
            #expect(try store.envelopes(topic: "u", fromSeq: 0, limit: 100).isEmpty)
            #expect(try numbering(store) == before)

            // The store still works: the corrected batch goes in.
            try store.commit(batch(leads: [storedLead("web-2")], envelopes: [message("t", 2), message("u", 1)], leadIDs: ["web-2", "web-2"]))
            #expect(try numbering(store) == ["t": state(2, 1), "u": state(1)])
        }
        try withStore(directory) { store throws in
            #expect(try store.leadCount() == 2)
            #expect(try store.knownLeads(["web-1", "web-2"]) == ["web-1", "web-2"])
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 100) == [message("t", 1), message("t", 2)])
        }
    }
}

@Test func duplicateLeadWithinOneBatchFailsAndRollsBack() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            let error = try #require(throws: StoreError.self) {
                try store.commit(batch(leads: [storedLead("web-1"), storedLead("web-1")], envelopes: [message("t", 1)]))
            }
            #expect(error.kind == .other)
            #expect(try store.leadCount() == 0)
            #expect(try numbering(store).isEmpty)
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10).isEmpty)
        }
    }
}

/// A clash on (topic, seq) comes after the leads and some envelopes are written: the leads
/// and those envelopes are rolled back with it.
@Test func duplicateEnvelopeSeqFailsAndRollsBackTheLeadsToo() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("t", 1), message("t", 2)]))
            let before = try numbering(store)
            let error = try #require(throws: StoreError.self) {
                try store.commit(batch(leads: [storedLead("web-2")], envelopes: [message("u", 1), message("t", 3), message("t", 2)]))
            }
            #expect(error.kind == .other)
            #expect(try store.knownLeads(["web-1", "web-2"]) == ["web-1"])
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10) == [message("t", 1), message("t", 2)])
            #expect(try store.envelopes(topic: "u", fromSeq: 0, limit: 10).isEmpty)
            #expect(try numbering(store) == before)
            // The writer's connection is left clean: the next commit goes through.
            try store.commit(batch(leads: [storedLead("web-3")], envelopes: [message("t", 3)]))
            #expect(try store.lookUp(leadIDs: ["web-1", "web-2", "web-3"], accountKeys: []).known == ["web-1", "web-3"])
        }
        try withStore(directory) { store throws in
            #expect(try store.leadCount() == 2)
            #expect(try numbering(store) == ["t": state(3)])
        }
    }
}

// MARK: - Damaged and unavailable stores

private func expectCorrupt(_ directory: String, _ error: StoreError, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(error.kind == .corrupt, "\(error)", sourceLocation: sourceLocation)
    #expect(error.description.contains("damaged"), "\(error)", sourceLocation: sourceLocation)
    #expect(error.description.contains(storeFile(directory)), "\(error)", sourceLocation: sourceLocation)
}

@Test(arguments: ["random bytes", "text"])
func garbageStoreFileFailsToOpenAndIsLeftAlone(_ kind: String) throws {
    try withStateDirectory { directory throws in
        var garbage: [UInt8]
        if kind == "random bytes" {
            garbage = (0..<6144).map { _ in UInt8.random(in: 0...255) }
            garbage[0] = 0x00  // never, by chance, the SQLite magic
        } else {
            garbage = Array(String(repeating: "this is not a database, it is a log line\n", count: 100).utf8)
        }
        let original = Data(garbage)
        try original.write(to: URL(fileURLWithPath: storeFile(directory)))

        let error = try #require(throws: StoreError.self) {
            _ = try LeadStore(directory: directory)
        }
        expectCorrupt(directory, error)
        // Never a silent fresh start: the file is still there, byte for byte, and still fails.
        #expect(FileManager.default.contents(atPath: storeFile(directory)) == original)
        let again = try #require(throws: StoreError.self) {
            _ = try LeadStore(directory: directory, durability: .off)
        }
        #expect(again.kind == .corrupt)
        #expect(FileManager.default.contents(atPath: storeFile(directory)) == original)
    }
}

@Test func storeWithDamagedPagesFailsToOpen() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("t", 1)]))
        }
        // Keep the 100-byte header, which says "SQLite format 3", and wreck the rest of the
        // first page, where the schema lives.
        let path = storeFile(directory)
        var bytes = try #require(FileManager.default.contents(atPath: path))
        try #require(bytes.count >= 4096)
        for i in 100..<4096 { bytes[i] = UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
        try bytes.write(to: URL(fileURLWithPath: path))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }

        let error = try #require(throws: StoreError.self) {
            _ = try LeadStore(directory: directory)
        }
        expectCorrupt(directory, error)
        #expect(FileManager.default.contents(atPath: path) == bytes)
    }
}

@Test func missingStateDirectoryIsUnavailable() throws {
    try withStateDirectory { parent throws in
        let directory = (parent as NSString).appendingPathComponent("no-such-dir")
        let error = try #require(throws: StoreError.self) {
            _ = try LeadStore(directory: directory)
        }
        #expect(error.kind == .unavailable)
        #expect(error.description.contains(directory), "\(error)")
        // Nothing was created in its place.
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}

@Test func stateDirectoryThatIsAFileIsUnavailable() throws {
    try withStateDirectory { parent throws in
        let file = (parent as NSString).appendingPathComponent("state")
        let content = Data("not a directory\n".utf8)
        try content.write(to: URL(fileURLWithPath: file))
        let error = try #require(throws: StoreError.self) {
            _ = try LeadStore(directory: file)
        }
        #expect(error.kind == .unavailable)
        #expect(error.description.contains(file), "\(error)")
        #expect(FileManager.default.contents(atPath: file) == content)
    }
}

// MARK: - Retention

@Test func pruneDeletesOnlyOldRowsAFewAtATimeAndKeepsTheNumbering() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            // Old: three leads and four envelopes, all before the cutoff.
            try store.commit(batch(
                leads: [storedLead("old-1", routedAt: 1000), storedLead("old-2", routedAt: 1001), storedLead("old-3", routedAt: 1002)],
                envelopes: (1...4).map { message("t", $0) }, createdAt: 1000))
            try store.markPublished(["t": 4])
            // Exactly at the cutoff: kept ("older than" is strict).
            try store.commit(batch(leads: [storedLead("edge", routedAt: 2000)], envelopes: [message("t", 5)], createdAt: 2000))
            // New.
            try store.commit(batch(leads: [storedLead("new-1", routedAt: 5000)], envelopes: [message("u", 1)], createdAt: 5000))
            let states = try numbering(store)
            #expect(states == ["t": state(5, 4), "u": state(1)])

            // At most 2 leads and 2 envelopes per call, oldest first.
            #expect(try store.prune(olderThan: 2000, limit: 2) == 4)
            #expect(try store.knownLeads(["old-1", "old-2", "old-3", "edge", "new-1"]) == ["old-3", "edge", "new-1"])
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10) == [3, 4, 5].map { message("t", $0) })
            #expect(try numbering(store) == states)

            #expect(try store.prune(olderThan: 2000, limit: 2) == 3)
            #expect(try store.knownLeads(["old-1", "old-2", "old-3", "edge", "new-1"]) == ["edge", "new-1"])
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10) == [message("t", 5)])
            #expect(try store.envelopes(topic: "u", fromSeq: 0, limit: 10) == [message("u", 1)])
            #expect(try store.lead("edge") == storedLead("edge", routedAt: 2000))

            #expect(try store.prune(olderThan: 2000, limit: 2) == 0)
            #expect(try store.leadCount() == 2)
            #expect(try numbering(store) == states)
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store) == ["t": state(5, 4), "u": state(1)])
            // Everything goes; the counters stay, and seq keeps counting.
            #expect(try store.prune(olderThan: .max) == 4)
            #expect(try store.leadCount() == 0)
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10).isEmpty)
            #expect(try numbering(store) == ["t": state(5, 4), "u": state(1)])
            try store.commit(batch(envelopes: [message("t", 6)], createdAt: 9000))
            #expect(try numbering(store) == ["t": state(6, 4), "u": state(1)])
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store) == ["t": state(6, 4), "u": state(1)])
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10) == [message("t", 6)])
        }
    }
}

@Test func pruneUsesTheDefaultLimitAndCanBeRepeatedUntilZero() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            let leads = (0..<1200).map { storedLead("old-\($0)", routedAt: 10) }
            try store.commit(batch(leads: leads, envelopes: (1...1100).map { message("t", $0) }, createdAt: 10))
            #expect(try store.prune(olderThan: 11) == 2000)
            #expect(try store.leadCount() == 200)
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 10_000).map(\.seq) == Array(1001...1100))
            #expect(try store.prune(olderThan: 11) == 300)
            #expect(try store.prune(olderThan: 11) == 0)
            #expect(try numbering(store) == ["t": state(1100)])
        }
    }
}

// MARK: - knownLeads in chunks

@Test func knownLeadsAcrossManyChunks() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            let committed = (0..<1234).map { String(format: "lead-%05d", $0) }
            try store.commit(batch(leads: committed.map { storedLead($0) }))
            #expect(try store.leadCount() == 1234)

            // Known and unknown ids interleaved, 2034 in all: five chunks.
            var asked: [String] = []
            for (i, id) in committed.enumerated() {
                asked.append(id)
                if i < 800 { asked.append("unknown-\(i)") }
            }
            #expect(asked.count == 2034)
            #expect(try store.knownLeads(asked) == Set(committed))

            // Chunk boundaries.
            for count in [499, 500, 501, 1000, 1001] {
                #expect(try store.knownLeads(Array(committed.prefix(count))).count == count, "\(count)")
            }
            // Only the last chunk holds a known id.
            let unknown = (0..<1500).map { "unknown-\($0)" }
            #expect(try store.knownLeads(unknown + ["lead-01233"]) == ["lead-01233"])
            #expect(try store.knownLeads(unknown).isEmpty)
            // The same id many times over.
            #expect(try store.knownLeads(Array(repeating: "lead-00007", count: 1200)) == ["lead-00007"])
        }
    }
}
