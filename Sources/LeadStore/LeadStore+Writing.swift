import Foundation
import GRDB
import GRDBSQLite
import LeadRouting

/// Group commits and published watermarks.
extension LeadStore {
    // MARK: - Writing

    /// Commits `batch` in one transaction, together with the published watermarks.
    public func commit(_ batch: StoreBatch, published: [String: Int] = [:]) throws(StoreError) {
        let result: (added: PendingIndex.Topics, indexed: PendingIndex.Topics, owners: PendingOwners.Plan, leadHashes: [UInt64], otherCommitted: Bool)
        do {
            result = try pool.writeWithoutTransaction { db in try RawSQL.transaction(db, immediate: true) {
                let otherCommitted = try otherConnectionCommitted(db)
                let leadRows = try LeadStore.insertLeads(batch, db)
                let added = try LeadStore.insertEnvelopes(batch, leadRows: leadRows, db)
                // Their index entries wait, and go in a topic at a time (LeadStore+EnvelopeIndex.swift).
                let pending = try pendingIndex { try LeadStore.loadPendingIndex(db) }
                try LeadStore.checkSequence(added, pending)
                // The newest envelope of this commit (none: nothing to index by age now; SQLite's
                // last insert rowid may be a rolled-back commit's).
                let newest = added.entries.lazy.compactMap { $0.value.lazy.map(\.id).max() }.max()
                let indexed = newest.map { pending.plan(
                    adding: added, newestID: $0, group: LeadStore.indexGroup, age: LeadStore.indexAge) } ?? PendingIndex.Topics()
                try LeadStore.writeIndex(indexed, db)
                try LeadStore.insertNewTopics(added, known: pending.lastSeq, db)
                // Owners wait, and go in a bucket range at a time (LeadStore+AccountOwners.swift).
                let owners = try pendingOwners.withLock { pending in
                    // Owners kept from the table may be another connection's to change: the
                    // plan must not trust them to skip a write.
                    if otherCommitted { pending.forgetStored() }
                    return try pending.plan(
                        adding: batch.accountOwners, leads: batch.leads.count, firstLeadRow: leadRows.entries.lazy.map(\.value).min(), at: batch.createdAt,
                        nextLeadRow: { try LeadStore.nextRowID("leads", db) })
                }
                try LeadStore.writeOwners(owners, db)
                try LeadStore.writePartnerStates(batch.partnerStates, db)
                try LeadStore.writeCases(batch.cases, db)
                try LeadStore.writePublished(published, db)
                // The lowest row id, not the first by `seq`: a commit may store a topic's envelopes in any order.
                if !published.isEmpty, let from = pending.oldestID ?? added.entries.lazy.compactMap({ PendingIndex.lowestID($0.value) }).min() {
                    // With the watermarks (about once a second): where a restart looks for
                    // pending entries. An older bound only means looking a little further.
                    try LeadStore.writePendingFrom(from, db)
                }
                return (added, indexed, owners, leadRows.entries.map(\.hash), otherCommitted)
            } }
        } catch {
            // Rolled back: no topic rows, no index entries, no owners, nothing pending. The
            // writer's `data_version` it noted is forgotten, so that the next commit refills
            // the key filters if this one was the first to see another connection's commit.
            dataVersion.store(-1, ordering: .relaxed)
            throw StoreError.wrap(error, "committing \(batch.leads.count) leads and \(batch.envelopes.count) envelopes", path: path)
        }
        if !result.added.isEmpty || !result.indexed.isEmpty {
            pendingEnvelopes.withLock { $0?.apply(adding: result.added, indexed: result.indexed) }
        }
        pendingOwners.withLock { $0.apply(result.owners) }
        hasCommitted.store(true, ordering: .relaxed)
        // Once committed, the keys are in the filters before this returns; a refill that began
        // before the commit ended gets them here, one that begins later from the tables
        // (StoredKeys). A look-up running beside the commit may miss them, as one whose
        // snapshot began before the commit would: the routing loop remembers the batch in
        // flight until its commit has returned (LeadPipeline.forgetRecent).
        leadKeys.insert(result.leadHashes)
        ownerKeys.insert(result.owners.hashes, holding: pendingOwnerHashes)
        if result.otherCommitted {
            pendingOwners.withLock { $0.forgetStored() }
            refillKeyFilters()
        }
    }

    static let leadInsertSQL = RawSQL.insertSQL(
        "leads", ["lead_id", "channel", "received_at", "routed_at", "assignment_id", "partner_id", "decision", "lead"])
    static let envelopeInsertSQL = RawSQL.insertSQL(
        "envelopes", ["topic", "seq", "lead_id", "created_at", "envelope", "lead_at", "lead_row", "cut_start", "cut_end"])

    /// Inserts the batch's leads (one row each, up to 16 rows a statement); returns each
    /// one's row id, for its envelopes to point at.
    static func insertLeads(_ batch: StoreBatch, _ db: Database) throws -> StringTable<Int64> {
        // The hot inserts bind straight through SQLite's C API: GRDB's argument
        // boxing cost more than the inserts themselves (see docs/benchmarks.md).
        let leads = batch.leads
        var leadRows = StringTable<Int64>(minimumCapacity: leads.count)
        try RawSQL.insert(
            rows: leads.count, db, sql: leadInsertSQL, columns: 8,
            lend: { i, s, p, next in
                let lead = leads[i]
                try lead.assignment.withUTF8 { assignmentID in
                    try RawSQL.withUTF8(lead.leadID, lead.channel, nil, lead.partnerID) { leadID, channel, _, partnerID in
                        try batch.withRecordBytes(of: i) { record in
                            try batch.withLeadBytes(of: i) { bytes in
                                RawSQL.lent(s, p + 1, text: leadID)
                                RawSQL.lent(s, p + 2, text: channel)
                                sqlite3_bind_int64(s, p + 3, lead.receivedAt)
                                sqlite3_bind_int64(s, p + 4, lead.routedAt)
                                RawSQL.lent(s, p + 5, text: assignmentID)
                                RawSQL.lent(s, p + 6, text: partnerID)
                                // A binary record (``BinaryRecord``) is a blob: TEXT must be UTF-8.
                                RawSQL.lent(s, p + 7, record, text: !BinaryRecord.isBinary(record))
                                RawSQL.lent(s, p + 8, bytes)
                                try next()
                            }
                        }
                    }
                }
            },
            inserted: { i, rowID in leadRows.set(rowID, forKey: leads[i].leadID) })
        return leadRows
    }

    /// Inserts the batch's envelopes, each without its lead when the lead is in `leadRows`;
    /// returns their index entries per topic, in `seq` order.
    static func insertEnvelopes(_ batch: StoreBatch, leadRows: StringTable<Int64>, _ db: Database) throws -> PendingIndex.Topics {
        // The lead is stored once, in `leads`: an envelope of a lead of this batch goes
        // without it, pointing at the lead's row (else it is stored whole). The envelopes so
        // cut sit side by side in `trimmed`, lent to SQLite a statement's rows at a time.
        var trimmed: [UInt8] = []
        // Room for every envelope whole, so that the buffer is never copied as it grows.
        trimmed.reserveCapacity(batch.envelopes.reduce(0) { $0 + $1.envelope.count })
        // An assignment envelope's start and end go too: their fields are this row's and the
        // lead's, and two numbers.
        var cuts: [(leadAt: Int, leadRow: Int64, range: Range<Int>, cutStart: Int, cutEnd: Int)?] = []
        cuts.reserveCapacity(batch.envelopes.count)
        for (i, envelope) in batch.envelopes.enumerated() {
            let leadID = i < batch.envelopeLeadIDs.count ? batch.envelopeLeadIDs[i] : nil
            guard let leadRow = leadID.flatMap({ leadRows[$0] }), let leadRange = envelope.leadRange else {
                cuts.append(nil)
                continue
            }
            let cut = envelope.assignmentCode > 0 && envelope.assignmentStart <= leadRange.lowerBound ? envelope.assignmentStart : 0
            let start = trimmed.count
            let count = envelope.envelope.count
            let end = envelope.assignmentEndCode != 0 && envelope.assignmentEnd >= leadRange.upperBound && envelope.assignmentEnd <= count
                ? envelope.assignmentEnd : count
            envelope.envelope.withUnsafeBufferPointer { whole in
                trimmed.append(contentsOf: UnsafeBufferPointer(rebasing: whole[cut..<leadRange.lowerBound]))
                trimmed.append(contentsOf: UnsafeBufferPointer(rebasing: whole[leadRange.upperBound..<end]))
            }
            cuts.append((leadRange.lowerBound - cut, leadRow, start..<trimmed.count, cut > 0 ? envelope.assignmentCode : 0,
                         end < count ? envelope.assignmentEndCode : 0))
        }
        var added = PendingIndex.Topics()
        try trimmed.withUnsafeBytes { trimmed in
            try RawSQL.insert(
                rows: batch.envelopes.count, db, sql: envelopeInsertSQL, columns: 9,
                lend: { i, s, p, next in
                    let envelope = batch.envelopes[i]
                    let leadID = i < batch.envelopeLeadIDs.count ? batch.envelopeLeadIDs[i] : nil
                    try RawSQL.withUTF8(envelope.topic, "", leadID, nil) { topic, _, leadID, _ in
                        try envelope.envelope.withUnsafeBytes { whole in
                            RawSQL.lent(s, p + 1, text: topic)
                            sqlite3_bind_int64(s, p + 2, Int64(envelope.seq))
                            RawSQL.lent(s, p + 3, text: leadID)
                            sqlite3_bind_int64(s, p + 4, batch.createdAt)
                            if let cut = cuts[i] {
                                RawSQL.lent(s, p + 5, UnsafeRawBufferPointer(rebasing: trimmed[cut.range]))
                                sqlite3_bind_int64(s, p + 6, Int64(cut.leadAt))
                                sqlite3_bind_int64(s, p + 7, cut.leadRow)
                                if cut.cutStart > 0 { sqlite3_bind_int64(s, p + 8, Int64(cut.cutStart)) } else { sqlite3_bind_null(s, p + 8) }
                                if cut.cutEnd != 0 { sqlite3_bind_int64(s, p + 9, Int64(cut.cutEnd)) } else { sqlite3_bind_null(s, p + 9) }
                            } else {
                                RawSQL.lent(s, p + 5, whole)
                                sqlite3_bind_null(s, p + 6)
                                sqlite3_bind_null(s, p + 7)
                                sqlite3_bind_null(s, p + 8)
                                sqlite3_bind_null(s, p + 9)
                            }
                            try next()
                        }
                    }
                },
                inserted: { i, id in
                    let envelope = batch.envelopes[i]
                    let at = added.position(of: envelope.topic, default: [])
                    added[position: at].append(PendingIndex.Entry(seq: envelope.seq, id: id))
                })
        }
        for at in added.entries.indices { added[position: at].sort { $0.seq < $1.seq } }
        return added
    }

    /// Writes the row of each topic in `added` that is not `known` yet. A topic's row is
    /// written once, when it is new: rewriting `last_seq` in every commit dirtied a page of
    /// `topics` for each topic in the batch. The envelopes hold the last `seq`
    /// (``PendingIndex/lastSeq``, loaded from them at start-up).
    static func insertNewTopics(_ added: PendingIndex.Topics, known: StringTable<Int>, _ db: Database) throws {
        // The statement is looked up only for a new topic: GRDB's cache hashes its SQL, about a
        // thousand instructions a commit that adds none (most of them).
        var upsert: Statement?
        for entry in added.entries where known[entry.key] == nil {
            let statement = try upsert ?? db.cachedStatement(sql: """
                INSERT INTO topics (topic, last_seq, published_seq) VALUES (?, ?, 0)
                ON CONFLICT (topic) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)
                """)
            upsert = statement
            try RawSQL.run(statement, db) { s in
                RawSQL.text(s, 1, entry.key)
                sqlite3_bind_int64(s, 2, Int64(entry.value.last?.seq ?? 0))
            }
        }
    }

    /// Saves the rotation and capacity state of the partners a batch changed.
    static func writePartnerStates(_ partnerStates: [String: PartnerState], _ db: Database) throws {
        guard !partnerStates.isEmpty else { return }
        let state = try db.cachedStatement(sql: """
            INSERT INTO partner_state (partner_id, current_weight, recent) VALUES (?, ?, ?)
            ON CONFLICT (partner_id) DO UPDATE SET current_weight = excluded.current_weight, recent = excluded.recent
            """)
        for (partnerID, value) in partnerStates {
            let recent = value.recentAssignments.map(String.init).joined(separator: ",")
            try RawSQL.run(state, db) { s in
                RawSQL.text(s, 1, partnerID)
                sqlite3_bind_int64(s, 2, Int64(value.currentWeight))
                RawSQL.text(s, 3, recent)
            }
        }
    }

    /// Records that envelopes up to these `seq`s were handed to the publish socket.
    public func markPublished(_ published: [String: Int]) throws(StoreError) {
        guard !published.isEmpty else { return }
        do {
            try pool.write { db in try LeadStore.writePublished(published, db) }
        } catch {
            throw StoreError.wrap(error, "recording published envelopes", path: path)
        }
    }

    static func writePublished(_ published: [String: Int], _ db: Database) throws {
        guard !published.isEmpty else { return }
        let update = try db.cachedStatement(sql: "UPDATE topics SET published_seq = max(published_seq, ?) WHERE topic = ?")
        for (topic, seq) in published {
            try RawSQL.run(update, db) { s in
                sqlite3_bind_int64(s, 1, Int64(seq))
                RawSQL.text(s, 2, topic)
            }
        }
    }

    /// FNV-1a, 64 bits, as a signed SQLite integer.
    static func digest(_ text: String) -> Int64 {
        var text = text
        // Over the bytes in place (the UTF-8 view's iterator cost about 300 instructions a key).
        return text.withUTF8 { bytes in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            return Int64(bitPattern: hash)
        }
    }
}
