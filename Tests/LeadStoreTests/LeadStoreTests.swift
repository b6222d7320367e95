import Foundation
import GRDB
import Synchronization
import LeadRouting
import LeadStore
import Testing

// MARK: - Helpers

/// Runs `body` with a fresh, empty directory of its own under /tmp, removed afterwards.
private func withStateDirectory(_ body: (String) throws -> Void) throws {
    let directory = "/tmp/leadstore-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory)
}

/// The store file's path inside `directory`.
private func storeFile(_ directory: String) -> String {
    (directory as NSString).appendingPathComponent(LeadStore.fileName)
}

/// Opens the store in `directory`, runs `body` with it, and lets it go (closing it), as a
/// restart of leadrouterd would.
private func withStore(
    _ directory: String, durability: Durability = .full, _ body: (LeadStore) throws -> Void
) throws {
    let store = try LeadStore(directory: directory, durability: durability)
    try body(store)
}

private func storedLead(
    _ id: String, partner: String? = "acme", routedAt: Int64 = 1_700_000_000_000, bytes: [UInt8]? = nil
) -> StoredLead {
    StoredLead(
        leadID: id, channel: "webform", receivedAt: routedAt - 5, routedAt: routedAt,
        assignmentID: "as-\(id)", partnerID: partner,
        decision: Array(#"{"reasons":["territory"],"assignments":[{"topic":"partner/acme"}]}"#.utf8),
        lead: bytes ?? Array(#"{"lead_id":"\#(id)"}"#.utf8))
}

/// An envelope whose bytes say which topic and seq it is, plus a NUL and a byte that is not UTF-8.
private func message(_ topic: String, _ seq: Int) -> OutgoingMessage {
    OutgoingMessage(topic: topic, seq: seq, envelope: Array(#"{"seq":\#(seq),"topic":"\#(topic)"}"#.utf8) + [0x00, 0xFF])
}

private func batch(
    leads: [StoredLead] = [], envelopes: [OutgoingMessage] = [], leadIDs: [String?] = [], createdAt: Int64 = 1_700_000_000_000
) -> StoreBatch {
    var batch = StoreBatch()
    batch.leads = leads
    batch.envelopes = envelopes
    batch.envelopeLeadIDs = leadIDs
    batch.createdAt = createdAt
    return batch
}

/// A topic's numbering, comparable in tests (`TopicState` has no public initializer).
private struct Numbering: Equatable, CustomStringConvertible {
    var lastSeq: Int
    var publishedSeq: Int
    var description: String { "last \(lastSeq), published \(publishedSeq)" }
}

private func state(_ lastSeq: Int, _ publishedSeq: Int = 0) -> Numbering {
    Numbering(lastSeq: lastSeq, publishedSeq: publishedSeq)
}

/// `store.topicStates()`, as `Numbering`s.
private func numbering(_ store: LeadStore) throws -> [String: Numbering] {
    try store.topicStates().mapValues { Numbering(lastSeq: $0.lastSeq, publishedSeq: $0.publishedSeq) }
}

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
        #expect(header.count >= 100)
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
        }
        try withStore(directory) { store throws in
            #expect(try store.leadCount() == 1)
            #expect(try numbering(store) == ["t": state(2)])
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
        #expect(bytes.count >= 4096)
        for i in 100..<4096 { bytes[i] = UInt8.random(in: 0...255) }
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

// MARK: - Durability

@Test(arguments: Durability.allCases)
func everyDurabilityOpensAndCommits(_ durability: Durability) throws {
    try withStateDirectory { directory throws in
        try withStore(directory, durability: durability) { store throws in
            #expect(store.durability == durability)
            // Every commit runs on the writer's connection at the configured level.
            let level: [Durability: Int] = [.full: 2, .normal: 1, .off: 0]
            #expect(try store.writerSynchronousLevel() == level[durability])
            try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("t", 1)], leadIDs: ["web-1"]), published: ["t": 1])
            #expect(try store.leadCount() == 1)
        }
        try withStore(directory, durability: durability) { store throws in
            #expect(try store.lead("web-1") == storedLead("web-1"))
            #expect(try numbering(store) == ["t": state(1, 1)])
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 10) == [message("t", 1)])
            try store.commit(batch(leads: [storedLead("web-2")], envelopes: [message("t", 2)]))
        }
        // A store is not tied to the durability it was written with.
        for other in Durability.allCases {
            try withStore(directory, durability: other) { store throws in
                #expect(try store.knownLeads(["web-1", "web-2"]) == ["web-1", "web-2"])
                #expect(try numbering(store) == ["t": state(2, 1)])
            }
        }
    }
}

@Test("syncing on request: with durability full, commits only write and syncLog makes them durable, also after the log starts afresh; other levels sync as they go")
func syncOnRequest() throws {
    for durability in Durability.allCases {
        try withStateDirectory { directory throws in
            let store = try LeadStore(directory: directory, durability: durability, syncLogOnRequest: true)
            #expect(store.syncsLogOnRequest == (durability == .full))
            // Opening syncs what a crashed process may have left unsynced in the log.
            #expect(store.logSyncs == (durability == .full ? 1 : 0))
            let level: [Durability: Int] = [.full: 1, .normal: 1, .off: 0]
            #expect(try store.writerSynchronousLevel() == level[durability])
            guard durability == .full else { return }
            for i in 0..<10 {
                try store.commit(batch(leads: [storedLead("s\(i)")], envelopes: [message("partner/acme/", i + 1)], leadIDs: ["s\(i)"]))
                try store.syncLog()
            }
            #expect(store.logSyncs == 11)
            // Once a finished checkpoint has the next commit start the log afresh.
            _ = try store.finishCheckpoint()
            try store.commit(batch(leads: [storedLead("s10")], envelopes: [message("partner/acme/", 11)], leadIDs: ["s10"]))
            try store.syncLog()
            #expect(store.logSyncs == 12)
            // Replay's bound: only through the last published seq.
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 3, limit: 20, throughSeq: 5).map(\.seq) == [3, 4, 5])
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 3, limit: 20, throughSeq: 0).isEmpty)
            try withStore(directory) { reopened throws in
                #expect(try reopened.leadCount() == 11)
                #expect(try reopened.envelopes(topic: "partner/acme/", fromSeq: 1, limit: 20).count == 11)
            }
        }
    }
}

// MARK: - Checkpoints and bounded pruning

@Test("a checkpoint from its own connection succeeds beside the writer and moves the log into the database")
func checkpointMovesTheLog() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            for i in 0..<20 {
                try store.commit(batch(leads: [storedLead("c\(i)")], envelopes: [message("partner/acme/", i + 1)], leadIDs: ["c\(i)"]))
            }
            let result = try store.checkpoint()
            #expect(result.walPages > 0)
            #expect(result.checkpointed == result.walPages)
            #expect(try store.leadCount() == 20)
        }
    }
}

@Test("pruning looks only at the oldest rows: new rows behind old ones are never touched, and a store with nothing old is left alone")
func pruningStopsAtNewRows() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let old: Int64 = 1_700_000_000_000
            let new = old + 86_400_000 * 400
            try store.commit(batch(leads: (0..<5).map { storedLead("o\($0)", routedAt: old) }, createdAt: old))
            try store.commit(batch(leads: (0..<5).map { storedLead("n\($0)", routedAt: new) }, createdAt: new))
            #expect(try store.prune(olderThan: old + 1, limit: 3) == 3)
            #expect(try store.prune(olderThan: old + 1, limit: 3) == 2)
            #expect(try store.prune(olderThan: old + 1, limit: 3) == 0)
            #expect(try store.leadCount() == 5)
            #expect(try store.knownLeads((0..<5).map { "n\($0)" }).count == 5)
        }
    }
}

@Test("an envelope is stored without its lead, which is kept once, and comes back byte for byte")
func envelopesAreStoredWithoutTheirLead() throws {
    // A lead with escapes, non-ASCII text and a NUL escape: the splice must not touch it.
    let leadBytes = Array(#"{"lead_id":"web-1","notes":"caf\u00e9 \"quoted\" ünïcode \u0000"}"#.utf8)
    let lead = storedLead("web-1", bytes: leadBytes)
    func envelope(_ topic: String, _ seq: Int) -> OutgoingMessage {
        let head = Array(#"{"seq":\#(seq),"topic":"\#(topic)","lead":"#.utf8)
        let tail = Array(#","rule":"rotation"}"#.utf8)
        return OutgoingMessage(
            topic: topic, seq: seq, envelope: head + leadBytes + tail, leadRange: head.count..<(head.count + leadBytes.count))
    }
    let owner = envelope("partner/acme", 1), coSeller = envelope("vendor-sales/", 1)
    let rejection = message("rejected/", 1)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [lead], envelopes: [owner, coSeller, rejection], leadIDs: ["web-1", "web-1", nil]))
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10).map(\.envelope) == [owner.envelope])
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 1, limit: 10).map(\.envelope) == [coSeller.envelope])
            #expect(try store.envelopes(topic: "rejected/", fromSeq: 1, limit: 10).map(\.envelope) == [rejection.envelope])
        }
        let rows = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: "SELECT topic, length(envelope) AS size, lead_at FROM envelopes ORDER BY topic")
        }
        let stored = Dictionary(uniqueKeysWithValues: rows.map { ($0["topic"] as String, ($0["size"] as Int, $0["lead_at"] as Int?)) })
        #expect(stored["partner/acme"]?.0 == owner.envelope.count - leadBytes.count)
        #expect(stored["partner/acme"]?.1 == owner.leadRange?.lowerBound)
        #expect(stored["vendor-sales/"]?.0 == coSeller.envelope.count - leadBytes.count)
        #expect(stored["rejected/"]?.0 == rejection.envelope.count)
        #expect(stored["rejected/"]?.1 == nil)
        // A lead pruned a moment before its envelopes: they are not replayed without it.
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "DELETE FROM leads") }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10).isEmpty)
            #expect(try store.envelopes(topic: "rejected/", fromSeq: 1, limit: 10).map(\.envelope) == [rejection.envelope])
        }
    }
}

@Test("a partner list is stored once and found again by its content, across restarts")
func partnerListsAreKeptByContent() throws {
    try withStateDirectory { directory throws in
        var first: Int64 = 0
        try withStore(directory) { store throws in
            first = try store.partnerListID(["acme", "beta", "gamma"])
            #expect(try store.partnerListID(["acme", "beta", "gamma"]) == first)
            let reordered = try store.partnerListID(["beta", "acme", "gamma"])
            #expect(reordered != first)
            #expect(try store.partnerList(reordered) == ["beta", "acme", "gamma"])
            #expect(try store.partnerListID([]) != first)
            #expect(try store.partnerList(9_999) == nil)
        }
        try withStore(directory) { store throws in
            #expect(try store.partnerListID(["acme", "beta", "gamma"]) == first)
            #expect(try store.partnerList(first) == ["acme", "beta", "gamma"])
        }
    }
}

@Test("account owners: the last owner in a batch wins; a returning account is rewritten only when its owner changes or its time is an hour old")
func accountOwnersAreWrittenOnlyWhenTheyChange() throws {
    let t0: Int64 = 1_700_000_000_000
    func owners(_ list: [(String, String)], at time: Int64) -> StoreBatch {
        var b = batch(createdAt: time)
        b.accountOwners = list.map { (key: $0.0, partnerID: $0.1) }
        return b
    }
    try withStateDirectory { directory throws in
        func routedAt(_ key: String) throws -> Int64? {
            try DatabaseQueue(path: storeFile(directory)).read { db in
                try Int64.fetchOne(db, sql: "SELECT routed_at FROM account_owners WHERE account_key = ?", arguments: [key])
            }
        }
        try withStore(directory) { store throws in
            try store.commit(owners([("d:a.example", "acme"), ("n:a", "acme"), ("d:a.example", "beta")], at: t0))
            let found = try store.lookUp(leadIDs: [], accountKeys: ["d:a.example", "n:a", "n:unknown"]).owners
            #expect(found == ["d:a.example": "beta", "n:a": "acme"])
            // Same owner, 10 minutes later: not rewritten.
            try store.commit(owners([("n:a", "acme")], at: t0 + 600_000))
        }
        #expect(try routedAt("n:a") == t0)
        try withStore(directory) { store throws in
            // Another owner within the hour: rewritten at once.
            try store.commit(owners([("n:a", "gamma")], at: t0 + 700_000))
            #expect(try store.lookUp(leadIDs: [], accountKeys: ["n:a"]).owners == ["n:a": "gamma"])
        }
        #expect(try routedAt("n:a") == t0 + 700_000)
        try withStore(directory) { store throws in
            // Same owner, over an hour later: its time moves on, so retention counts from there.
            try store.commit(owners([("d:a.example", "beta")], at: t0 + 2 * 3_600_000))
        }
        #expect(try routedAt("d:a.example") == t0 + 2 * 3_600_000)
        try withStore(directory) { store throws in
            _ = try store.prune(olderThan: t0 + 3_600_000)
            #expect(try store.lookUp(leadIDs: [], accountKeys: ["d:a.example", "n:a"]).owners == ["d:a.example": "beta"])
        }
    }
}

@Test("after commits raced by checkpoints from another connection, a checkpoint finished from the writer copies everything back and the next commit starts the log afresh")
func finishedCheckpointRewindsTheLog() throws {
    let payload = [UInt8](repeating: 0x61, count: 4_000)
    func leads(_ from: Int, _ count: Int) -> StoreBatch {
        batch(leads: (from..<(from + count)).map { storedLead("wal-\($0)", bytes: Array(#"{"lead_id":"wal-\#($0)","x":""#.utf8) + payload + Array(#""}"#.utf8)) })
    }
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            let walPath = store.path + "-wal"
            func walBytes() -> Int { ((try? FileManager.default.attributesOfItem(atPath: walPath))?[.size] as? Int) ?? 0 }
            // Commits with a background checkpoint racing them, as in the daemon under load.
            let stop = Atomic<Bool>(false)
            let stopped = DispatchSemaphore(value: 0)
            let checkpoints = Thread {
                while !stop.load(ordering: .relaxed) { _ = try? store.checkpoint() }
                stopped.signal()
            }
            checkpoints.start()
            var next = 0
            for _ in 0..<40 {
                try store.commit(leads(next, 50))
                next += 50
            }
            stop.store(true, ordering: .relaxed)
            stopped.wait()
            let grown = walBytes()
            #expect(grown > 4_000_000, "the log should hold several MB before it is rewound (\(grown) bytes)")
            // Finished from the writer: everything is copied back...
            let finished = try #require(try store.finishCheckpoint())
            #expect(finished.checkpointed == finished.walPages)
            // ...so the next commit writes from the start of the log again, not after its end.
            try store.commit(leads(next, 1))
            let after = try store.checkpoint()
            #expect(after.walPages < 100, "the log was not rewound: \(after.walPages) pages")
            #expect(store.lastKnownWALPages == after.walPages)
            #expect(walBytes() == grown, "the file keeps its size; only its use starts again")
        }
    }
}

private func spliced(_ topic: String, _ seq: Int, _ lead: [UInt8]) -> OutgoingMessage {
    let head = Array(#"{"seq":\#(seq),"topic":"\#(topic)","lead":"#.utf8)
    let tail = Array(#","rule":"rotation"}"#.utf8)
    return OutgoingMessage(topic: topic, seq: seq, envelope: head + lead + tail, leadRange: head.count..<(head.count + lead.count))
}

@Test("replay's limit counts only the envelopes it returns: one whose lead is gone does not use up the page")
func replayLimitSkipsEnvelopesWithoutTheirLead() throws {
    let a = Array(#"{"lead_id":"a"}"#.utf8), b = Array(#"{"lead_id":"b"}"#.utf8)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("a", bytes: a), storedLead("b", bytes: b)],
                                   envelopes: [spliced("partner/acme/", 1, a), spliced("partner/acme/", 2, b)], leadIDs: ["a", "b"]))
        }
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "DELETE FROM leads WHERE lead_id = 'a'") }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 1, limit: 1).map(\.seq) == [2])
        }
    }
}

@Test("an old envelope is never spliced with a later lead of the same lead_id, and pruning keeps a lead while an envelope needs it")
func envelopesKeepTheirOwnLead() throws {
    let old = Array(#"{"lead_id":"x","v":1}"#.utf8), new = Array(#"{"lead_id":"x","v":2}"#.utf8)
    let t0: Int64 = 1_700_000_000_000
    let owner = spliced("partner/acme/", 1, old), coSeller = spliced("vendor-sales/", 1, old)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("x", routedAt: t0, bytes: old)], envelopes: [owner, coSeller], leadIDs: ["x", "x"], createdAt: t0))
            // One small pruning step takes one envelope; the lead stays while the other needs it.
            #expect(try store.prune(olderThan: t0 + 1, limit: 1) == 1)
            #expect(try store.knownLeads(["x"]) == ["x"])
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 1, limit: 10).map(\.envelope) == [coSeller.envelope])
            // The next step takes the other envelope, then the lead.
            _ = try store.prune(olderThan: t0 + 1, limit: 1)
            _ = try store.prune(olderThan: t0 + 1, limit: 1)
            #expect(try store.knownLeads(["x"]).isEmpty)
        }
        // Even if a lead row went first (only by hand: pruning keeps it), a lead with the same id
        // routed later is not spliced into the old envelope: it is left out instead.
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("y", routedAt: t0, bytes: old)], envelopes: [spliced("vendor-sales/", 2, old)], leadIDs: ["y"], createdAt: t0))
            try store.commit(batch(leads: [storedLead("z", routedAt: t0, bytes: old)], createdAt: t0))
        }
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "DELETE FROM leads WHERE lead_id = 'y'") }
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("y", routedAt: t0 + 10, bytes: new)], envelopes: [spliced("partner/acme/", 2, new)], leadIDs: ["y"], createdAt: t0 + 10))
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 1, limit: 10).isEmpty)
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 2, limit: 10).map(\.envelope) == [spliced("partner/acme/", 2, new).envelope])
        }
    }
}

@Test("a store written before schema v4 (envelopes stored whole, records naming partners) opens, migrates and replays as before")
func storeFromBeforeV4Migrates() throws {
    let whole = message("partner/acme", 1)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("old-1")], envelopes: [whole], leadIDs: ["old-1"]))
        }
        // Take the file back to schema v3, as the previous leadrouterd left it.
        try DatabaseQueue(path: storeFile(directory)).write { db in
            try db.execute(sql: """
                ALTER TABLE envelopes DROP COLUMN lead_row;
                ALTER TABLE envelopes DROP COLUMN lead_at;
                DROP TABLE partner_lists;
                DELETE FROM grdb_migrations WHERE identifier LIKE 'v4%';
                """)
        }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10) == [whole])
            #expect(try store.lead("old-1")?.decisionText.contains("territory") == true)
            #expect(try store.partnerListID(["acme"]) > 0)
        }
        let columns = try DatabaseQueue(path: storeFile(directory)).read { db in try db.columns(in: "envelopes").map(\.name) }
        #expect(columns.contains("lead_at") && columns.contains("lead_row"))
    }
}
