import Foundation
import LeadRouting
import LeadStore
import Synchronization
import Testing

// Replay reading while commits index topics a group at a time; and the bound a restart
// searches pending entries from, when a commit stores a topic's envelopes out of order.
@Test("replay through a published watermark is gapless while commits index topics")
func replayRacingCommitsIsGapless() throws {
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory, durability: .off)
        let topics = ["a/", "b/", "c/"]
        let published = Mutex<[String: Int]>([:])
        let done = Atomic(false)
        let failures = Mutex<[String]>([])
        let reads = Atomic(0)
        let finished = DispatchSemaphore(value: 0)
        let reader = Thread {
            defer { finished.signal() }
            while !done.load(ordering: .acquiring) {
                for topic in topics {
                    let through = published.withLock { $0[topic] ?? 0 }
                    guard through > 0 else { continue }
                    do {
                        let seqs = try store.envelopes(topic: topic, fromSeq: 1, limit: 1_000_000, throughSeq: through).map(\.seq)
                        if seqs != Array(1...through) {
                            failures.withLock { $0.append("\(topic) through \(through): got \(seqs.count) \(seqs.prefix(3))…\(seqs.suffix(3))") }
                        }
                    } catch { failures.withLock { $0.append("\(error)") } }
                    reads.add(1, ordering: .relaxed)
                }
            }
        }
        reader.start()
        var next: [String: Int] = [:]
        for round in 0..<400 {
            if round == 200 {
                // Half-way, the reader has read: what follows races it for sure.
                let deadline = Date().addingTimeInterval(10)
                while reads.load(ordering: .relaxed) == 0 && Date() < deadline { sched_yield() }
            }
            var envelopes: [OutgoingMessage] = []
            for k in 0..<(1 + round % 7) {
                let topic = topics[(round + k) % topics.count]
                let seq = (next[topic] ?? 0) + 1
                next[topic] = seq
                envelopes.append(message(topic, seq))
            }
            try store.commit(batch(envelopes: envelopes))
            published.withLock { for (t, s) in next { $0[t] = s } }
        }
        done.store(true, ordering: .releasing)
        #expect(finished.wait(timeout: .now() + 30) == .success, "the reader never finished")
        let found = failures.withLock { $0 }
        #expect(found.isEmpty, "\(found.prefix(5))")
        #expect(reads.load(ordering: .relaxed) > 0, "replay never read while commits went on")
    }
}

// `index_pending_from` was is taken from the first entry *by seq* of each topic, but a
// commit may store a topic's envelopes in any order (`checkSequence`, `loadPendingIndex`):
// an envelope whose row id is below its topic's lowest-seq one is then below the bound, and
// after a crash it is found neither in the index nor among the pending entries.
@Test("after a crash, an envelope committed before a lower seq of its topic in the same commit is still replayed")
func outOfOrderCommitSurvivesACrash() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            // Seq 2 is inserted first (lower row id), seq 1 second; watermarks ride along, so
            // `index_pending_from` is written.
            try store.commit(batch(envelopes: [message("t", 2), message("t", 1)]), published: ["t": 0])
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 10).map(\.seq) == [1, 2])
            let crashed = try crashCopy(directory)
            defer { try? FileManager.default.removeItem(atPath: crashed) }
            try withStore(crashed) { reopened throws in
                #expect(try reopened.topicStates()["t"]?.lastSeq == 2)
                #expect(try reopened.envelopes(topic: "t", fromSeq: 1, limit: 10).map(\.seq) == [1, 2])
            }
        }
    }
}

@Test("after a crash, an envelope pending out of order from an earlier commit, when the watermarks came, is still replayed")
func outOfOrderPendingSurvivesACrash() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(envelopes: [message("u", 2), message("u", 1)]))
            try store.commit(batch(envelopes: [message("v", 1)]), published: ["u": 0])
            let crashed = try crashCopy(directory)
            defer { try? FileManager.default.removeItem(atPath: crashed) }
            try withStore(crashed) { reopened throws in
                #expect(try reopened.envelopes(topic: "u", fromSeq: 1, limit: 10).map(\.seq) == [1, 2])
            }
        }
    }
}
