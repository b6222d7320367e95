import Foundation
import GRDB
import LeadRouting
import LeadStore
import Testing

// A topic's row in `topics` is written when the topic is new; later commits leave its
// `last_seq` to the envelopes stored, and pruning saves it before they go.

/// The `last_seq` column of each row of `topics`, read straight from the file.
private func storedLastSeqColumn(_ directory: String) throws -> [String: Int] {
    let queue = try DatabaseQueue(path: storeFile(directory))
    return try queue.read { db in
        var rows: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT topic, last_seq FROM topics") { rows[row["topic"]] = row["last_seq"] }
        return rows
    }
}

@Test func aTopicRowIsWrittenOnlyWhenTheTopicIsNew() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: messages("t", 1...3)))
            try store.commit(batch(envelopes: messages("t", 4...6) + [message("u", 1)]))
            try store.commit(batch(envelopes: [message("t", 7), message("u", 2)]))
            #expect(try numbering(store) == ["t": state(7), "u": state(2)])
        }
        // The rows kept the numbers they were created with: no commit rewrote them.
        #expect(try storedLastSeqColumn(directory) == ["t": 3, "u": 1])
        // A restart numbers on from the envelopes.
        try withStore(directory) { store throws in
            #expect(try numbering(store) == ["t": state(7), "u": state(2)])
            try store.commit(batch(envelopes: [message("t", 8), message("v", 1)]))
            #expect(try numbering(store) == ["t": state(8), "u": state(2), "v": state(1)])
        }
        #expect(try storedLastSeqColumn(directory) == ["t": 3, "u": 1, "v": 1])
    }
}

@Test func aRolledBackCommitLeavesItsNewTopicToTheNextCommit() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("t", 1)], leadIDs: ["web-1"]))
            // The lead is there already: the whole transaction, with topic `n`'s new row, rolls back.
            #expect(throws: StoreError.self) {
                try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("n", 1)], leadIDs: ["web-1"]))
            }
            #expect(try numbering(store) == ["t": state(1)])
            // So the next commit on `n` still writes its row.
            try store.commit(batch(envelopes: [message("n", 1), message("n", 2)]))
            #expect(try numbering(store) == ["t": state(1), "n": state(2)])
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store) == ["t": state(1), "n": state(2)])
        }
    }
}

@Test func pruningEveryEnvelopeOfATopicKeepsItsNumbering() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: messages("t", 1...2), createdAt: 1000))
            try store.commit(batch(envelopes: messages("t", 3...9), createdAt: 1000))
            try store.markPublished(["t": 9])
            // The row still says 2; the envelopes say 9.
            #expect(try storedLastSeqColumn(directory) == ["t": 2])
            #expect(try store.prune(olderThan: 5000) == 9)
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 100).isEmpty)
            #expect(try storedLastSeqColumn(directory) == ["t": 9])
            #expect(try numbering(store) == ["t": state(9, 9)])
        }
        try withStore(directory) { store throws in
            #expect(try numbering(store) == ["t": state(9, 9)])
        }
    }
}

// MARK: - The envelope index, a topic at a time

// The expected envelopes come from a function, not a closure at each use: with Swift 6.2, a
// closure inside `#expect` and a look-alike one outside it in the same test can end up as the
// same symbol, so one runs the other's body (a test saw `message("u", $0)` give topic `t`).
private func messages(_ topic: String, _ seqs: some Sequence<Int>) -> [OutgoingMessage] {
    var out: [OutgoingMessage] = []
    for seq in seqs { out.append(message(topic, seq)) }
    return out
}

private func busyEnvelopes() -> [OutgoingMessage] {
    var out: [OutgoingMessage] = []
    for i in 1...131_070 { out.append(message("busy-\(i % 500)", i / 500 + 1)) }
    return out
}

/// How many envelopes `envelope_index` holds for `topic`.
private func indexedCount(_ directory: String, _ topic: String) throws -> Int {
    try DatabaseQueue(path: storeFile(directory)).read { db in
        try Int.fetchOne(db, sql: "SELECT count(*) FROM envelope_index WHERE topic = ?", arguments: [topic]) ?? 0
    }
}

@Test func envelopesAreIndexedATopicAtATimeAndFoundWhilePending() throws {
    let group = 128  // LeadStore.indexGroup
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            // 127 envelopes of `t` wait; the 128th indexes them all in one go. `u` never gets there.
            for first in stride(from: 1, through: group - 1, by: 10) {
                try store.commit(batch(envelopes: messages("t", first..<min(first + 10, group)) + [message("u", first)]))
            }
            #expect(try indexedCount(directory, "t") == 0)
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 200) == messages("t", 1..<group))
            try store.commit(batch(envelopes: messages("t", group...group + 9)))
            #expect(try indexedCount(directory, "t") == group + 9)
            #expect(try indexedCount(directory, "u") == 0)
            try store.commit(batch(envelopes: messages("t", group + 10...group + 14), createdAt: 2), published: ["t": group + 14])
            // Indexed and pending together, in order, within `limit` and `throughSeq`.
            #expect(try store.envelopes(topic: "t", fromSeq: 70, limit: 100) == messages("t", 70...group + 14))
            #expect(try store.envelopes(topic: "t", fromSeq: 60, limit: 5, throughSeq: 200) == messages("t", 60...64))
            #expect(try store.envelopes(topic: "t", fromSeq: 72, limit: 100, throughSeq: 75) == messages("t", 72...75))
            #expect(try store.envelopes(topic: "u", fromSeq: 0, limit: 100) == messages("u", stride(from: 1, through: 121, by: 10)))
            #expect(try numbering(store) == ["t": state(group + 14, group + 14), "u": state(121)])
        }
        // After a restart, the pending ones are found again among the envelopes since the bound.
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 200) == messages("t", 1...group + 14))
            #expect(try store.envelopes(topic: "u", fromSeq: 0, limit: 100).count == 13)
            #expect(try numbering(store) == ["t": state(group + 14, group + 14), "u": state(121)])
            try store.commit(batch(envelopes: messages("u", 122...236)))
        }
        #expect(try indexedCount(directory, "u") == 13 + 115)
        // A reader that never writes (leadctl) finds pending ones too.
        let reader = try LeadStore(readingDirectory: directory)
        #expect(try reader.envelopes(topic: "t", fromSeq: 75, limit: 100) == messages("t", 75...group + 14))
        #expect(try reader.numberingOfT() == group + 14)
    }
}

private extension LeadStore {
    func numberingOfT() throws -> Int? { try topicStates()["t"]?.lastSeq }
}

@Test func aTopicWaitingLongIsIndexedWithoutWaitingForItsGroup() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: [message("slow", 1), message("slow", 2)]))
            // 131,072 envelopes of other topics later, `slow`'s two are indexed with the next commit.
            try store.commit(batch(envelopes: busyEnvelopes()))
            #expect(try indexedCount(directory, "slow") == 0)
            try store.commit(batch(envelopes: [message("other", 1)]))
            #expect(try indexedCount(directory, "slow") == 2)
            #expect(try store.envelopes(topic: "slow", fromSeq: 0, limit: 10) == [message("slow", 1), message("slow", 2)])
        }
    }
}

@Test func aSeqUsedAlreadyOrGoingBackFailsTheCommit() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: [message("t", 1), message("t", 2)]))
            for clash in [[message("t", 2)], [message("t", 1)], [message("t", 3), message("t", 3)]] {
                let error = try #require(throws: StoreError.self) { try store.commit(batch(envelopes: [message("v", 1)] + clash)) }
                #expect(error.description.contains("seq") && error.description.contains("t"), "\(error)")
            }
            #expect(try numbering(store) == ["t": state(2)])
            #expect(try store.envelopes(topic: "v", fromSeq: 0, limit: 10).isEmpty)
            try store.commit(batch(envelopes: [message("t", 3), message("v", 1)]))
            #expect(try numbering(store) == ["t": state(3), "v": state(1)])
        }
    }
}

@Test("a store written before schema v5 (each envelope indexed as committed) migrates: replay and numbering as before")
func storeFromBeforeV5Migrates() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("old-1")], envelopes: messages("t", 1...100) + [message("u", 1)], leadIDs: ["old-1"]))
            try store.markPublished(["t": 100, "u": 1])
        }
        try DatabaseQueue(path: storeFile(directory)).write { try rewindToV4($0) }
        // leadctl, newer than the store, reads it as it is.
        let reader = try LeadStore(readingDirectory: directory)
        #expect(try reader.envelopes(topic: "t", fromSeq: 99, limit: 10) == [message("t", 99), message("t", 100)])
        #expect(try numbering(reader) == ["t": state(100, 100), "u": state(1, 1)])
        try withStore(directory) { store throws in
            #expect(try indexedCount(directory, "t") == 100)
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 1000) == messages("t", 1...100))
            #expect(try numbering(store) == ["t": state(100, 100), "u": state(1, 1)])
            #expect(throws: StoreError.self) { try store.commit(batch(envelopes: [message("t", 100)])) }
            try store.commit(batch(envelopes: [message("t", 101)]))
            #expect(try store.envelopes(topic: "t", fromSeq: 100, limit: 10) == [message("t", 100), message("t", 101)])
        }
    }
}

@Test func envelopesPrunedWhilePendingAreNeverIndexed() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: messages("t", 1...10), createdAt: 1000))
            #expect(try store.prune(olderThan: 2000) == 10)
            try store.commit(batch(envelopes: messages("t", 11...150), createdAt: 5000))
            // Only the 140 still stored were indexed: none points at a pruned envelope.
            #expect(try indexedCount(directory, "t") == 140)
            #expect(try store.envelopes(topic: "t", fromSeq: 0, limit: 200) == messages("t", 11...150))
            #expect(try numbering(store) == ["t": state(150)])
        }
    }
}

@Test("a wall clock stepped back: pruning takes only the oldest rows up to the first one still kept, and replay finds every envelope left")
func pruningAfterTheClockSteppedBack() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            // Committed at 5,000 ms, then, after the clock stepped back, at 1,000: both wait
            // to be indexed (fewer than a group).
            try store.commit(batch(envelopes: messages("t", 1...5), createdAt: 5000))
            try store.commit(batch(envelopes: messages("u", 1...5), createdAt: 1000))
            // The later rows look old, but the earlier ones are not: nothing goes yet.
            #expect(try store.prune(olderThan: 2000) == 0)
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 10) == messages("t", 1...5))
            #expect(try store.envelopes(topic: "u", fromSeq: 1, limit: 10) == messages("u", 1...5))
            try store.commit(batch(envelopes: messages("t", 6...6), createdAt: 9000))
            #expect(try store.prune(olderThan: 6000) == 10)
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 10) == [message("t", 6)])
            #expect(try store.envelopes(topic: "u", fromSeq: 1, limit: 10).isEmpty)
            #expect(try numbering(store) == ["t": state(6), "u": state(5)])
        }
    }
}

@Test("once every envelope is pruned, row ids start again from 1: after a crash, envelopes not yet indexed are still found")
func pendingEnvelopesNumberedAgainSurviveACrash() throws {
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory)
        // 200 envelopes are indexed at once; the 201st waits, and its row is the bound saved
        // with the watermarks.
        try store.commit(batch(envelopes: messages("t", 1...200), createdAt: 1000))
        try store.commit(batch(envelopes: messages("t", 201...201), createdAt: 1000), published: ["t": 201])
        #expect(try storedBound(directory, "index_pending_from") == 201)
        #expect(try store.prune(olderThan: 2000) == 201)
        #expect(try storedBound(directory, "index_pending_from") == 1)
        // Rows 1 to 5 again, waiting to be indexed when the process dies.
        try store.commit(batch(envelopes: messages("t", 202...206), createdAt: 5000))
        let copy = try crashCopy(directory)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let recovered = try LeadStore(directory: copy)
        #expect(try recovered.envelopes(topic: "t", fromSeq: 1, limit: 100) == messages("t", 202...206))
        #expect(try numbering(recovered)["t"]?.lastSeq == 206)
        _ = store
    }
}

