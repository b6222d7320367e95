import Foundation
import GRDB
import LeadRouting

/// Partner lists: decision records name their candidates by position in the list of the
/// daemon that routed them (`partner_lists`). The list a daemon starts (or reloads) with is
/// the current one; the others are retired then, and pruned once no stored lead can name them.
extension LeadStore {
    /// The id under which this list of partner ids (in this order) is kept, adding it when
    /// the store does not have it yet, and makes it the current list: every other list is
    /// retired as of now (see ``prunePartnerLists(_:)``). Decision records name candidates by
    /// their index in it.
    ///
    /// With `candidateLists` (the router's, ``Router/candidateLists``), the id stands for the
    /// partner ids and those lists together: records that name a `candidate_list` give its
    /// candidates as bit sets over that list's positions (``candidateLists(_:)``).
    public func partnerListID(_ partnerIDs: [String], candidateLists: [[Int]]) throws(StoreError) -> Int64 {
        try partnerListID(partnerIDs, candidateLists: candidateLists, now: Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// ``partnerListID(_:candidateLists:)`` at `now` (milliseconds since 1970), the time its
    /// predecessors are retired at.
    public func partnerListID(_ partnerIDs: [String], candidateLists: [[Int]] = [], now: Int64) throws(StoreError) -> Int64 {
        do {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: partnerIDs), as: UTF8.self)
            let lists = LeadStore.encodeCandidateLists(candidateLists)
            let digest = LeadStore.digest(lists.isEmpty ? text : text + "\n" + lists)
            return try pool.write { db in
                var id = try Int64.fetchOne(
                    db, sql: """
                        SELECT id FROM partner_lists WHERE digest = ? AND partners = ? AND coalesce(candidate_lists, '') = ?
                        ORDER BY id LIMIT 1
                        """,
                    arguments: [digest, text, lists])
                if id == nil {
                    try db.execute(sql: "INSERT INTO partner_lists (digest, partners, candidate_lists) VALUES (?, ?, ?)",
                                   arguments: [digest, text, lists.isEmpty ? nil : lists])
                    id = db.lastInsertedRowID
                }
                let current = id ?? db.lastInsertedRowID
                // Every lead routed with a list retired now is stored already, or routed before
                // `now`: the routing loop asks for its list before it routes with it.
                try db.execute(
                    sql: """
                        UPDATE partner_lists SET retired_at = ?, retired_row = (SELECT coalesce(max(id), 0) FROM leads)
                        WHERE id != ? AND retired_at IS NULL
                        """,
                    arguments: [now, current])
                try db.execute(sql: "UPDATE partner_lists SET retired_at = NULL, retired_row = NULL WHERE id = ?", arguments: [current])
                return current
            }
        } catch {
            throw StoreError.wrap(error, "recording the partner list", path: path)
        }
    }

    /// The partner ids kept under `id` by ``partnerListID(_:)``, in order.
    public func partnerList(_ id: Int64) throws(StoreError) -> [String]? {
        do {
            guard let text = try pool.read({ try String.fetchOne($0, sql: "SELECT partners FROM partner_lists WHERE id = ?", arguments: [id]) })
            else { return nil }
            return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String]
        } catch {
            throw StoreError.wrap(error, "reading partner list \(id)", path: path)
        }
    }

    /// The candidate lists kept under `id` with its partner list (``partnerListID(_:candidateLists:)``):
    /// each list's partners as positions in the partner list, by list number; `nil` when the
    /// store has no such id, `[]` when it was kept without lists.
    public func candidateLists(_ id: Int64) throws(StoreError) -> [[Int]]? {
        let found = try reading("reading the candidate lists of partner list \(id)") { db -> (Bool, String?) in
            // A store older than v10, read as it is, has no such column: no lists.
            let column = try db.columns(in: "partner_lists").contains { $0.name == "candidate_lists" }
            let row = try Row.fetchOne(
                db, sql: "SELECT \(column ? "candidate_lists" : "NULL") FROM partner_lists WHERE id = ?", arguments: [id])
            return (row != nil, row.flatMap { $0[0] as String? })
        }
        guard found.0 else { return nil }
        guard let text = found.1, !text.isEmpty else { return [] }
        return text.split(separator: ",", omittingEmptySubsequences: false).map { PackedPositions.decode(String($0)) ?? [] }
    }

    /// The lists as ``candidateLists(_:)`` reads them back: each packed, comma-separated.
    static func encodeCandidateLists(_ lists: [[Int]]) -> String {
        guard !lists.isEmpty else { return "" }
        var bytes: [UInt8] = []
        for (i, list) in lists.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            PackedPositions.encode(list, into: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The partner ids of the list the daemon last started with (``partnerListID(_:)``), in
    /// config order; `nil` when no daemon ever started on this store.
    public func currentPartnerList() throws(StoreError) -> [String]? {
        let id = try reading("reading the current partner list") { db -> Int64? in
            // A store older than v8, read as it is, does not mark it: its newest list.
            let marked = try db.columns(in: "partner_lists").contains { $0.name == "retired_at" }
            return try Int64.fetchOne(
                db, sql: "SELECT id FROM partner_lists \(marked ? "WHERE retired_at IS NULL" : "") ORDER BY id DESC LIMIT 1")
        }
        guard let id else { return nil }
        return try partnerList(id)
    }

    /// How many partner lists the store keeps, current and retired.
    public func partnerListCount() throws(StoreError) -> Int {
        try reading("counting partner lists") { try Int.fetchOne($0, sql: "SELECT count(*) FROM partner_lists") ?? 0 }
    }

    /// Deletes the retired partner lists that no stored lead can name any more; returns how
    /// many went. Leads are pruned oldest first (by row), so a list can go once the oldest
    /// lead left was both stored after the list was retired (its row is past `retired_row`)
    /// and routed after it (`routed_at` past `retired_at`, for leads routed with it but
    /// committed just after); with no lead left, every retired list goes. The current list
    /// always stays. Call after the leads past retention are deleted, in the same transaction.
    static func prunePartnerLists(_ db: Database) throws -> Int {
        try db.execute(sql: """
            DELETE FROM partner_lists WHERE retired_at IS NOT NULL AND (
                NOT EXISTS (SELECT 1 FROM leads)
                OR (retired_row < (SELECT id FROM leads ORDER BY id LIMIT 1)
                    AND retired_at < (SELECT routed_at FROM leads ORDER BY id LIMIT 1)))
            """)
        return db.changesCount
    }
}
