import Foundation
import GRDB
import GRDBSQLite
public import LeadRouting

/// Offers and partner actions: each lead's case (its state, and its history as JSON lines),
/// written with the batch that changed it. Open cases (those with a deadline) are read
/// back at start-up from a partial index on `deadline` that holds their records too.
extension LeadStore {
    static func writeCases(_ cases: [CaseWrite], _ db: Database) throws {
        guard !cases.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO lead_cases (lead_id, state, partner_id, deadline, record, history, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (lead_id) DO UPDATE SET
                state = excluded.state, partner_id = excluded.partner_id, deadline = excluded.deadline,
                record = excluded.record, history = lead_cases.history || excluded.history,
                updated_at = excluded.updated_at
            """)
        for write in cases {
            let lead = write.lead
            try RawSQL.run(upsert, db) { s in
                RawSQL.text(s, 1, lead.leadID)
                RawSQL.text(s, 2, lead.state.rawValue)
                if let partner = lead.partnerID { RawSQL.text(s, 3, partner) } else { sqlite3_bind_null(s, 3) }
                if let deadline = lead.deadline { sqlite3_bind_int64(s, 4, deadline) } else { sqlite3_bind_null(s, 4) }
                RawSQL.text(s, 5, lead.encoded)
                RawSQL.text(s, 6, bytes: write.history)
                sqlite3_bind_int64(s, 7, write.updatedAt)
            }
        }
    }

    /// Every case waiting on a deadline, for the loop to hold at start-up.
    public func openCases() throws(StoreError) -> [LeadCase] {
        // Straight through SQLite's C API, the record parsed from its bytes, and from the
        // partial index alone (schema v13: it holds the records, so no case's row is looked
        // up by its lead_id): a million open offers are read back in a few hundred ms.
        try reading("reading open offers") { db in
            var cases: [LeadCase] = []
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM lead_cases WHERE deadline IS NOT NULL") ?? 0
            cases.reserveCapacity(count)
            let select = try db.makeStatement(
                sql: "SELECT lead_id, record FROM lead_cases WHERE deadline IS NOT NULL")
            try RawSQL.each(select, db) { s in
                let leadID = RawSQL.bytes(s, 0) { String(decoding: $0, as: UTF8.self) }
                if let lead = RawSQL.bytes(s, 1, { LeadCase(leadID: leadID, encodedBytes: $0) }) { cases.append(lead) }
            }
            return cases
        }
    }

    /// What the store holds of each of `leadIDs` that it routed: the lead, its partner, and
    /// its case if it has one. Read on the writer's connection, after the last commit.
    public func caseRecords(leadIDs: [String]) throws(StoreError) -> [String: CaseRecord] {
        guard !leadIDs.isEmpty else { return [:] }
        return try onWriter("reading leads for partner actions") { db in
            let select = try db.cachedStatement(sql: """
                SELECT l.lead_id, l.lead, l.partner_id, l.assignment_id, c.record, l.decision
                FROM leads l LEFT JOIN lead_cases c ON c.lead_id = l.lead_id WHERE l.lead_id = ?
                """)
            var records: [String: CaseRecord] = [:]
            for leadID in Set(leadIDs) {
                guard let row = try Row.fetchOne(select, arguments: [leadID]) else { continue }
                let record: String? = row[4]
                let partnerID: String? = row[2], assignmentID: String = row[3]
                let stored = record.flatMap { LeadCase(leadID: leadID, encoded: $0) }
                // Only a lead without a case needs the engagement it was published under.
                let engagement = stored != nil || partnerID == nil ? nil : CaseRecord.engagement(
                    decision: LeadStore.decisionRecord(row[5], assignmentID: assignmentID, partnerID: partnerID),
                    assignmentID: assignmentID, partnerID: partnerID)
                records[leadID] = CaseRecord(
                    lead: [UInt8](row[1] as Data), partnerID: partnerID, assignmentID: assignmentID, stored: stored,
                    engagement: engagement)
            }
            return records
        }
    }

    /// A lead's case and its history (JSON lines), for `leadctl explain`; `nil` without one.
    public func caseHistory(leadID: String) throws(StoreError) -> (lead: LeadCase, history: String)? {
        try reading("reading the history of \(leadID)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT record, history FROM lead_cases WHERE lead_id = ?", arguments: [leadID]),
                  let lead = LeadCase(leadID: leadID, encoded: row[0]) else { return nil }
            return (lead, row[1])
        }
    }

    /// Deletes up to `limit` cases with nothing left to wait for, last changed before `cutoff`,
    /// whose lead is gone: a lead kept without its case would be taken for one assigned
    /// without an offer (to the first partner offered it) by the next partner action.
    static func pruneCases(olderThan cutoff: Int64, limit: Int, _ db: Database) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM lead_cases WHERE lead_id IN (SELECT c.lead_id FROM lead_cases c
                    WHERE c.deadline IS NULL AND c.updated_at < ?
                      AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.lead_id = c.lead_id) LIMIT ?)
                """,
            arguments: [cutoff, limit])
        return db.changesCount
    }
}
