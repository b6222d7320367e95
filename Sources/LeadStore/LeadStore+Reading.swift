import Foundation
import GRDB
import GRDBSQLite
public import LeadRouting

/// Look-ups for routing, replay and `leadctl explain`.
extension LeadStore {
    // MARK: - Reading

    /// Which of `leadIDs` the store holds already.
    public func knownLeads(_ leadIDs: [String]) throws(StoreError) -> Set<String> {
        guard !leadIDs.isEmpty else { return [] }
        return try reading("looking up lead ids") { db in try LeadStore.known(leadIDs, db) }
    }

    // One prepared probe per key, bound through the C API: an `IN (?, …)` list is a new
    // statement to prepare for every batch size, which cost more than the probes.
    static func known(_ leadIDs: [String], _ db: Database) throws -> Set<String> {
        var known = Set<String>()
        let probe = try db.cachedStatement(sql: "SELECT 1 FROM leads WHERE lead_id = ?")
        for id in leadIDs where try RawSQL.first(probe, db, id) != nil { known.insert(id) }
        return known
    }

    /// Every topic's numbering.
    public func topicStates() throws(StoreError) -> [String: TopicState] {
        let pending: PendingIndex
        // A store older than v5 (read as it is) rewrote `last_seq` in every commit; a newer one
        // holds it in its index and pending entries too (``PendingIndex/lastSeq``).
        do { pending = hasEnvelopeIndex ? try pendingSnapshot() : PendingIndex() } catch { throw StoreError.wrap(error, "reading topic sequences", path: path) }
        return try reading("reading topic sequences") { db in
            var states: [String: TopicState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT topic, last_seq, published_seq FROM topics") {
                let topic: String = row["topic"]
                states[topic] = TopicState(lastSeq: pending.lastSeq[topic] ?? row["last_seq"], publishedSeq: row["published_seq"])
            }
            return states
        }
    }

    /// Envelopes of `topic` from `fromSeq` (through `throughSeq`, when given), in `seq`
    /// order, at most `limit`.
    public func envelopes(topic: String, fromSeq: Int, limit: Int, throughSeq: Int = .max) throws(StoreError) -> [OutgoingMessage] {
        guard hasEnvelopeIndex else { return try unindexedEnvelopes(topic: topic, fromSeq: fromSeq, limit: limit, throughSeq: throughSeq) }
        // Pending entries are taken before the read begins (see ``pendingSnapshot()``).
        let waiting: [PendingIndex.Entry]
        do {
            waiting = try pendingSnapshot().entries[topic]?.filter { $0.seq >= fromSeq && $0.seq <= throughSeq } ?? []
        } catch {
            throw StoreError.wrap(error, "reading envelopes of \(topic)", path: path)
        }
        return try reading("reading envelopes of \(topic)") { db in
            // An envelope stored without its lead gets the lead's bytes back at `lead_at`, from
            // its own lead's row; one whose lead was pruned a moment before it is left out, as
            // if pruned too (in SQL, so that LIMIT counts only envelopes returned).
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT e.seq, e.envelope, e.lead_at, l.lead, \(self.cutStartColumns) FROM envelope_index i
                    JOIN envelopes e ON e.id = i.envelope_id
                    LEFT JOIN leads l ON e.lead_at IS NOT NULL AND l.id = e.lead_row AND l.lead_id = e.lead_id
                    WHERE i.topic = ? AND i.seq >= ? AND i.seq <= ? AND (e.lead_at IS NULL OR l.id IS NOT NULL)
                    ORDER BY i.seq LIMIT ?
                    """,
                arguments: [topic, fromSeq, throughSeq, limit])
            var messages = rows.compactMap { LeadStore.envelope(topic, $0) }
            guard messages.count < limit, !waiting.isEmpty else { return messages }
            // Then the pending ones, all later than the indexed (one indexed since the
            // snapshot is found both ways: shown once).
            let shown = Set(messages.map(\.seq))
            let byID = try db.cachedStatement(sql: """
                SELECT e.seq, e.envelope, e.lead_at, l.lead, \(self.cutStartColumns) FROM envelopes e
                LEFT JOIN leads l ON e.lead_at IS NOT NULL AND l.id = e.lead_row AND l.lead_id = e.lead_id
                WHERE e.id = ? AND (e.lead_at IS NULL OR l.id IS NOT NULL)
                """)
            for entry in waiting where !shown.contains(entry.seq) {
                guard messages.count < limit else { break }
                if let row = try Row.fetchOne(byID, arguments: [entry.id]), let message = LeadStore.envelope(topic, row) {
                    messages.append(message)
                }
            }
            return messages
        }
    }

    /// A store of schema v4 or older, read as it is: its envelopes are indexed by `(topic, seq)`.
    private func unindexedEnvelopes(topic: String, fromSeq: Int, limit: Int, throughSeq: Int) throws(StoreError) -> [OutgoingMessage] {
        try reading("reading envelopes of \(topic)") { db in
            try Row.fetchAll(
                db, sql: """
                    SELECT e.seq, e.envelope, e.lead_at, l.lead, \(self.cutStartColumns) FROM envelopes e
                    LEFT JOIN leads l ON e.lead_at IS NOT NULL AND l.id = e.lead_row AND l.lead_id = e.lead_id
                    WHERE e.topic = ? AND e.seq >= ? AND e.seq <= ? AND (e.lead_at IS NULL OR l.id IS NOT NULL)
                    ORDER BY e.seq LIMIT ?
                    """,
                arguments: [topic, fromSeq, throughSeq, limit]
            ).compactMap { LeadStore.envelope(topic, $0) }
        }
    }

    /// What ``envelope(_:_:)`` reads beside the envelope and its lead, for an assignment
    /// envelope stored without its start or its end (a store of schema v13 or older has no
    /// `cut_start`, one of v14 no `cut_end`).
    var cutStartColumns: String {
        let start = hasCutStart
            ? "e.cut_start, e.lead_id AS cut_lead_id, l.assignment_id AS cut_assignment_id, l.partner_id AS cut_partner_id" : "NULL AS cut_start"
        return start + (hasCutEnd ? ", e.cut_end, l.routed_at AS cut_routed_at" : ", NULL AS cut_end")
    }

    /// An envelope as published, its lead spliced back in (and its start and end written
    /// again, when it was stored without them: ``AssignmentEnvelope``); `nil` when its lead is
    /// gone.
    static func envelope(_ topic: String, _ row: Row) -> OutgoingMessage? {
        let stored: Data = row["envelope"]
        let seq: Int = row["seq"]
        guard let at: Int = row["lead_at"] else {
            return OutgoingMessage(topic: topic, seq: seq, envelope: [UInt8](stored))
        }
        guard let lead: Data = row["lead"], at >= 0, at <= stored.count else { return nil }
        var envelope: [UInt8] = []
        if let code: Int = row["cut_start"] {
            guard let leadID: String = row["cut_lead_id"], let assignmentID: String = row["cut_assignment_id"],
                  let start = AssignmentEnvelope.start(code: code, seq: seq, topic: topic, assignmentID: assignmentID,
                                                       leadID: leadID, partnerID: row["cut_partner_id"]) else { return nil }
            envelope = start
        }
        var end: [UInt8] = []
        if let code: Int = row["cut_end"] {
            guard let routedAt: Int64 = row["cut_routed_at"], let written = AssignmentEnvelope.end(code: code, routedAt: routedAt) else { return nil }
            end = written
        }
        envelope.reserveCapacity(envelope.count + stored.count + lead.count + end.count)
        envelope.append(contentsOf: stored.prefix(at))
        envelope.append(contentsOf: lead)
        envelope.append(contentsOf: stored.dropFirst(at))
        envelope.append(contentsOf: end)
        return OutgoingMessage(topic: topic, seq: seq, envelope: envelope)
    }

    /// The stored record of a lead, when present.
    public func lead(_ leadID: String) throws(StoreError) -> StoredLead? {
        try reading("reading lead \(leadID)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM leads WHERE lead_id = ?", arguments: [leadID]) else { return nil }
            let data: Data = row["lead"]
            return StoredLead(
                leadID: row["lead_id"], channel: row["channel"], receivedAt: row["received_at"], routedAt: row["routed_at"],
                assignmentID: row["assignment_id"], partnerID: row["partner_id"],
                decision: LeadStore.decisionRecord(row["decision"], assignmentID: row["assignment_id"], partnerID: row["partner_id"]),
                lead: [UInt8](data))
        }
    }

    /// A stored decision record as JSON: a JSON record (text) as it is, a binary one (a blob,
    /// ``BinaryRecord``) decoded, with its lead row's `assignment_id` and `partner_id`.
    static func decisionRecord(_ value: DatabaseValue, assignmentID: String, partnerID: String?) -> [UInt8] {
        switch value.storage {
        case .string(let text): Array(text.utf8)
        case .blob(let data): BinaryRecord.json([UInt8](data), assignmentID: assignmentID, partnerID: partnerID)
        default: []
        }
    }

    /// The `rejected/` envelopes of inputs that carried `leadID`, oldest first, whole (for
    /// `leadctl explain`). Rejections whose `lead_id` could not be read are not found.
    public func rejections(leadID: String) throws(StoreError) -> [OutgoingMessage] {
        try reading("reading the rejections of \(leadID)") { db in
            // A store read as it is, from before v9, has no index for this: nothing to find.
            guard try db.indexes(on: "envelopes").contains(where: { $0.name == "envelopes_rejected_lead_id" }) else { return [] }
            return try Row.fetchAll(
                db, sql: """
                    SELECT seq, envelope FROM envelopes
                    WHERE topic = 'rejected/' AND lead_id IS NOT NULL AND lead_id = ? ORDER BY id
                    """,
                arguments: [leadID]
            ).map { OutgoingMessage(topic: "rejected/", seq: $0["seq"], envelope: [UInt8]($0["envelope"] as Data)) }
        }
    }

    /// How many leads the store holds.
    public func leadCount() throws(StoreError) -> Int {
        try reading("counting leads") { try Int.fetchOne($0, sql: "SELECT count(*) FROM leads") ?? 0 }
    }

    /// Every partner's saved rotation and capacity state.
    public func partnerStates() throws(StoreError) -> [String: PartnerState] {
        try reading("reading partner state") { db in
            var states: [String: PartnerState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT partner_id, current_weight, recent FROM partner_state") {
                let recent: String = row["recent"]
                states[row["partner_id"]] = PartnerState(
                    currentWeight: row["current_weight"], recentAssignments: recent.split(separator: ",").compactMap { Int64($0) })
            }
            return states
        }
    }

    /// SQLite's `synchronous` level on the writer's connection (0 off, 1 normal, 2 full), the
    /// one every commit runs under.
    public func writerSynchronousLevel() throws(StoreError) -> Int {
        try onWriter("reading the synchronous level") { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Runs `body` in a read transaction; a failure becomes a ``StoreError`` saying `what` failed.
    func reading<T>(_ what: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw StoreError.wrap(error, what, path: path)
        }
    }

    /// Runs `body` on the writer's connection, outside any transaction; a failure becomes a
    /// ``StoreError`` saying `what` failed.
    func onWriter<T>(_ what: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.writeWithoutTransaction(body)
        } catch {
            throw StoreError.wrap(error, what, path: path)
        }
    }

    /// In one read: which of `leadIDs` the store holds, and who owns each of `accountKeys` (and since when).
    ///
    /// - Parameter besideCommit: a commit is running on another thread: read from a pooled
    ///   reader, beside it, instead of waiting for the writer's connection. The reader sees
    ///   what was committed before that commit began.
    public func lookUp(leadIDs: [String], accountKeys: [String], besideCommit: Bool = false) throws(StoreError) -> (known: Set<String>, owners: StringTable<AccountOwner>) {
        guard !leadIDs.isEmpty || !accountKeys.isEmpty else { return ([], StringTable()) }
        // Owners still in memory first; then only the keys the filters cannot rule out.
        var (pending, rest, epoch) = pendingOwners(accountKeys)
        rest = ownerKeys.mayHold(rest)
        let ids = leadKeys.mayHold(leadIDs)
        guard !ids.isEmpty || !rest.isEmpty else { return ([], pending) }
        let what = "looking up lead ids and account owners"
        let found: (known: Set<String>, owners: StringTable<AccountOwner>)
        if besideCommit {
            found = try reading(what) { db in (try LeadStore.known(ids, db), try storedOwners(rest, db, adding: pending)) }
        } else {
            // On the writer's connection, whose page cache the last commit left warm (a reader's
            // is invalidated by every commit), in one snapshot without a pooled read's set-up.
            found = try onWriter(what) { db in
                try RawSQL.transaction(db, immediate: false) {
                    (try LeadStore.known(ids, db), try storedOwners(rest, db, adding: pending))
                }
            }
        }
        rememberStoredOwners(rest, in: found.owners, readAt: epoch)
        return found
    }
}
