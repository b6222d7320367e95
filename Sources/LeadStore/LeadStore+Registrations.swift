import Foundation
import GRDB
public import LeadRouting

/// Deal registrations added and withdrawn at run time (`leadctl register`), which a running
/// daemon picks up by polling ``registrationsVersion()``.
extension LeadStore {
    /// The `store_state` key counting additions and withdrawals, so that the version changes
    /// with each even when a withdrawal removes the newest row.
    static let registrationChangesKey = "registration_changes"

    /// Adds a deal registration; a running daemon picks it up within a second.
    public func addRegistration(_ registration: Registration, now: Int64) throws(StoreError) {
        do {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO registrations (partner_id, domain, expires, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [registration.partnerID, registration.domain, registration.expires, now])
                try LeadStore.countRegistrationChange(db)
            }
        } catch {
            throw StoreError.wrap(error, "adding a registration", path: path)
        }
    }

    /// Withdraws every run-time registration of `domain` (normalised) to `partnerID`, expired
    /// or not, and returns them, oldest first (none: nothing matched, nothing changed). A
    /// running daemon stops applying them within a second. Registrations in the config file
    /// are not in the store and are not touched.
    public func withdrawRegistrations(partnerID: String, domain: String) throws(StoreError) -> [Registration] {
        do {
            return try pool.write { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT partner_id, domain, expires FROM registrations WHERE partner_id = ? AND domain = ? ORDER BY id",
                    arguments: [partnerID, domain])
                guard !rows.isEmpty else { return [] }
                try db.execute(sql: "DELETE FROM registrations WHERE partner_id = ? AND domain = ?", arguments: [partnerID, domain])
                try LeadStore.countRegistrationChange(db)
                return rows.map { Registration(partnerID: $0["partner_id"], domain: $0["domain"], expires: $0["expires"]) }
            }
        } catch {
            throw StoreError.wrap(error, "withdrawing a registration", path: path)
        }
    }

    static func countRegistrationChange(_ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO store_state (key, value) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET value = value + 1",
            arguments: [registrationChangesKey])
    }

    /// Deal registrations added at run time (`leadctl register`), oldest first.
    public func registrations() throws(StoreError) -> [Registration] {
        try reading("reading registrations") { db in
            try Row.fetchAll(db, sql: "SELECT partner_id, domain, expires FROM registrations ORDER BY id").map {
                Registration(partnerID: $0["partner_id"], domain: $0["domain"], expires: $0["expires"])
            }
        }
    }

    /// Changes whenever a registration is added or withdrawn: the daemon polls it to reload.
    /// The count of additions and withdrawals (stores written before it was kept count from
    /// 0) above the newest row id.
    public func registrationsVersion() throws(StoreError) -> Int64 {
        try reading("reading registrations") { db in
            try Int64.fetchOne(db, sql: """
                SELECT coalesce((SELECT value FROM store_state WHERE key = ?), 0) * 4294967296
                     + coalesce((SELECT max(id) FROM registrations), 0)
                """, arguments: [LeadStore.registrationChangesKey]) ?? 0
        }
    }
}
