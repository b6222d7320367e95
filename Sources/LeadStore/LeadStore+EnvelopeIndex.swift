import Foundation
import GRDB
import GRDBSQLite
import LeadRouting

// MARK: - The envelope index, written a topic at a time

/// Where each envelope is found by `(topic, seq)`, for replay.
///
/// Indexing every envelope as it was committed dirtied one leaf page of the index per topic in
/// each commit: with 1,000 partner topics, as many pages as leads in a small batch, and about
/// 1,000 pages for a batch of 2,048. A lead's envelope cost more to index than to store (see
/// docs/benchmarks.md). So a commit adds a topic's entries only once it has
/// ``LeadStore/indexGroup`` of them waiting (one leaf page takes them all), or once the oldest
/// has waited ``LeadStore/indexAge`` envelopes. Until then they are *pending*: held in memory
/// and found there by replay; after a restart, found again among the envelopes committed
/// since the stored lower bound `index_pending_from` (see ``LeadStore/loadPendingIndex(_:)``).
struct PendingIndex {
    struct Entry: Equatable {
        var seq: Int
        var id: Int64
    }

    /// Entries per topic (tables: a commit looks each of its envelopes' topics up several times).
    typealias Topics = StringTable<[Entry]>

    /// Per topic, its pending entries in `seq` order, all after its indexed ones.
    var entries = Topics()
    /// Topics by the row id of their oldest pending entry, oldest first. A commit may store a
    /// topic's envelopes in any order, so that is the lowest row id of its entries, not
    /// necessarily its first one's (by `seq`), which `first` holds: an item is stale once its
    /// topic's first entry is another one (the topic was indexed since).
    var order: [(id: Int64, topic: String, first: Int64)] = []
    var head = 0
    /// Per topic, the highest `seq` committed (indexed, pending, or pruned since).
    var lastSeq = StringTable<Int>()

    /// The oldest pending envelope's row id, or `nil` when none is pending. Every mutation
    /// leaves `head` at a live item (see ``skipStale()``).
    var oldestID: Int64? { head < order.count ? order[head].id : nil }

    /// Moves `head` past items whose topic was indexed since.
    private mutating func skipStale() {
        while head < order.count, entries[order[head].topic]?.first?.id != order[head].first { head += 1 }
    }

    /// Forgets the entries of envelopes up to row `id`, pruned.
    mutating func drop(through id: Int64) {
        for entry in entries.entries where entry.value.contains(where: { $0.id <= id }) {
            let kept = entry.value.filter { $0.id > id }
            if kept.isEmpty { entries.removeValue(forKey: entry.key) } else { entries.set(kept, forKey: entry.key) }
        }
        order = entries.entries.compactMap { entry in
            entry.value.first.map { (id: PendingIndex.lowestID(entry.value) ?? $0.id, topic: entry.key, first: $0.id) }
        }.sorted { $0.id < $1.id }
        head = 0
    }

    /// Which topics to index in a commit that adds `added` (`newestID` its last envelope's
    /// row id): each with every entry it would have pending, the commit's included.
    func plan(adding added: Topics, newestID: Int64, group: Int, age: Int64) -> Topics {
        var flush = Topics()
        for entry in added.entries {
            let waiting = entries[entry.key] ?? []
            if waiting.count + entry.value.count >= group { flush.set(waiting + entry.value, forKey: entry.key) }
        }
        var i = head
        while i < order.count, order[i].id <= newestID - age {
            let topic = order[i].topic
            if flush[topic] == nil, let waiting = entries[topic], waiting.first?.id == order[i].first {
                flush.set(waiting + (added[topic] ?? []), forKey: topic)
            }
            i += 1
        }
        return flush
    }

    /// The lowest row id among `entries` (which are in `seq` order, not necessarily row id order).
    static func lowestID(_ entries: [Entry]) -> Int64? { entries.lazy.map(\.id).min() }

    /// After the commit of `plan(adding: added, …)`: adds `added` and drops what was indexed.
    mutating func apply(adding added: Topics, indexed: Topics) {
        var started: [(id: Int64, topic: String, first: Int64)] = []
        for entry in added.entries {
            if let last = entry.value.last?.seq {
                let at = lastSeq.position(of: entry.key, default: 0)
                lastSeq[position: at] = max(lastSeq[position: at], last)
            }
        }
        for entry in added.entries where indexed[entry.key] == nil {
            let at = entries.position(of: entry.key, default: [])
            if entries[position: at].isEmpty, let first = entry.value.first {
                started.append((PendingIndex.lowestID(entry.value) ?? first.id, entry.key, first.id))
            }
            entries[position: at].append(contentsOf: entry.value)
        }
        // Row ids only grow from one commit to the next: sorting the commit's own keeps
        // `order` sorted, so its first live item is the oldest pending entry.
        order.append(contentsOf: started.sorted { $0.id < $1.id })
        for entry in indexed.entries { entries.removeValue(forKey: entry.key) }
        skipStale()
        if head > 4096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}

extension LeadStore {
    /// A topic's pending entries are indexed once this many wait.
    static let indexGroup = 128
    /// …or once the oldest has waited for this many later envelopes (of any topic): this
    /// bounds what a restart reads to find the pending entries again. With 1,000 partner
    /// topics most are indexed by age, not by group: at 32,768 a flush wrote a leaf page for
    /// about 32 entries, and the index was a tenth of the log's pages under load; at 131,072,
    /// 5% (docs/benchmarks.md).
    static let indexAge: Int64 = 131_072
    static let pendingFromKey = "index_pending_from"

    /// Rebuilds the pending entries from the envelopes committed since `index_pending_from`
    /// that the index does not hold (at start-up, or on a reader's first use).
    static func loadPendingIndex(_ db: Database) throws -> PendingIndex {
        let from = try Int64.fetchOne(db, sql: "SELECT value FROM store_state WHERE key = ?", arguments: [pendingFromKey]) ?? 0
        var pending = PendingIndex()
        // A topic's row holds its `seq` when it was new (and when envelopes were pruned);
        // the index and the pending entries hold the rest.
        for row in try Row.fetchAll(db, sql: """
            SELECT t.topic, max(t.last_seq, coalesce((SELECT max(i.seq) FROM envelope_index i WHERE i.topic = t.topic), 0)) FROM topics t
            """) {
            pending.lastSeq.set(row[1], forKey: row[0])
        }
        let rows = try Row.fetchCursor(
            db, sql: """
                SELECT e.id, e.topic, e.seq FROM envelopes e
                WHERE e.id >= ? AND NOT EXISTS (SELECT 1 FROM envelope_index i WHERE i.topic = e.topic AND i.seq = e.seq)
                ORDER BY e.id
                """,
            arguments: [from])
        var added = PendingIndex.Topics()
        while let row = try rows.next() {
            let at = added.position(of: row[1], default: [])
            added[position: at].append(PendingIndex.Entry(seq: row[2], id: row[0]))
        }
        // In `seq` order per topic (commits may store a topic's envelopes out of order).
        for at in added.entries.indices { added[position: at].sort { $0.seq < $1.seq } }
        pending.apply(adding: added, indexed: PendingIndex.Topics())
        return pending
    }

    /// The pending entries, loaded with `load` on first use (a writable store loads them when
    /// it opens; a reader, on its first replay). A reader takes them before its own read
    /// begins: an entry indexed meanwhile is then found twice (and shown once), never missed.
    func pendingIndex(orLoad load: () throws -> PendingIndex) throws -> PendingIndex {
        if let pending = pendingEnvelopes.withLock({ $0 }) { return pending }
        let pending = try load()
        return pendingEnvelopes.withLock { stored in
            if stored == nil { stored = pending }
            return stored!
        }
    }

    /// For a reader, outside any transaction.
    func pendingSnapshot() throws -> PendingIndex {
        try pendingIndex { try pool.read { try LeadStore.loadPendingIndex($0) } }
    }

    /// Inside a commit: a topic's `seq`s only grow from one commit to the next (within one,
    /// any order), each used once.
    static func checkSequence(_ added: PendingIndex.Topics, _ pending: PendingIndex) throws {
        for added in added.entries {
            let topic = added.key, entries = added.value
            let last = pending.lastSeq[topic] ?? 0
            var previous = last
            for entry in entries {
                guard entry.seq > previous else {
                    throw SequenceClash(topic: topic, seq: entry.seq, last: last)
                }
                previous = entry.seq
            }
        }
    }

    struct SequenceClash: Error, CustomStringConvertible {
        var topic: String
        var seq: Int
        var last: Int
        var description: String { "envelope seq \(seq) of \(topic) is used already (the topic's last committed seq is \(last))" }
    }

    /// Inside a commit: indexes the topics `plan` picked, from memory (reading each envelope
    /// back to check it is still there cost a page read each: they are long out of cache).
    static func writeIndex(_ flush: PendingIndex.Topics, _ db: Database) throws {
        guard !flush.isEmpty else { return }
        // Entries of one topic, then the next, 16 rows a statement where there are as many.
        for flushed in flush.entries {
            let entries = flushed.value
            var topic = flushed.key
            try topic.withUTF8 { topic in
                try RawSQL.insert(
                    rows: entries.count, db, sql: indexInsertSQL, columns: 3,
                    lend: { i, s, p, next in
                        RawSQL.lent(s, p + 1, text: topic)
                        sqlite3_bind_int64(s, p + 2, Int64(entries[i].seq))
                        sqlite3_bind_int64(s, p + 3, entries[i].id)
                        try next()
                    })
            }
        }
    }

    static let indexInsertSQL = RawSQL.insertSQL("envelope_index", ["topic", "seq", "envelope_id"])

    /// Inside a commit: records a lower bound of the pending entries' row ids.
    static func writePendingFrom(_ id: Int64, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO store_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            arguments: [pendingFromKey, id])
    }
}
