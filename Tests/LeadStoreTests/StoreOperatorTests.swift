import CSQLiteSetup
import Foundation
import GRDB
import GRDBSQLite
import LeadRouting
import LeadStore
import Testing

// What the store keeps for operators: run-time registrations and their withdrawal.

@Test("withdrawing a run-time registration removes it and changes the version, even when it was the newest row")
func withdrawingARegistrationChangesTheVersion() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let first = Registration(partnerID: "acme", domain: "acme.example", expires: 2_000_000_000_000)
            let second = Registration(partnerID: "globex", domain: "globex.example", expires: 2_000_000_000_000)
            try store.addRegistration(first, now: 1)
            try store.addRegistration(second, now: 2)
            let before = try store.registrationsVersion()
            // The newest row goes: the largest id falls back, and the version must still move.
            #expect(try store.withdrawRegistrations(partnerID: "globex", domain: "globex.example") == [second])
            let afterWithdrawal = try store.registrationsVersion()
            #expect(afterWithdrawal != before)
            #expect(try store.registrations() == [first])
            // Nothing matched: nothing changes, not even the version.
            #expect(try store.withdrawRegistrations(partnerID: "acme", domain: "globex.example").isEmpty)
            #expect(try store.registrationsVersion() == afterWithdrawal)
            // Adding again after the withdrawal reuses the row id: the version moves all the same.
            try store.addRegistration(second, now: 3)
            #expect(try store.registrationsVersion() != afterWithdrawal)
            #expect(try store.registrationsVersion() != before)
        }
    }
}

@Test("partner lists: the current one stays; a retired one goes once no stored lead can name it, pruned with the leads")
func retiredPartnerListsArePruned() throws {
    let day: Int64 = 86_400_000
    let t0: Int64 = 1_700_000_000_000
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let first = try store.partnerListID(["acme", "beta"], now: t0)
            try store.commit(batch(leads: [storedLead("a1", routedAt: t0 + 1), storedLead("a2", routedAt: t0 + day)]))
            // A restart with another partner list retires the first, as of then.
            let second = try store.partnerListID(["acme", "beta", "gamma"], now: t0 + 2 * day)
            #expect(second != first)
            #expect(try store.currentPartnerList() == ["acme", "beta", "gamma"])
            try store.commit(batch(leads: [storedLead("b1", routedAt: t0 + 3 * day)]))
            #expect(try store.partnerListCount() == 2)

            // a1 goes, a2 (routed with the first list) stays: so does the list.
            _ = try store.prune(olderThan: t0 + day / 2, limit: 1000, expiredBefore: nil)
            #expect(try store.leadCount() == 2)
            #expect(try store.partnerList(first) == ["acme", "beta"])
            // a2 goes too: nothing can name the first list any more; the current one stays.
            _ = try store.prune(olderThan: t0 + 2 * day + 1, limit: 1000, expiredBefore: nil)
            #expect(try store.leadCount() == 1)
            #expect(try store.partnerList(first) == nil)
            #expect(try store.partnerList(second) == ["acme", "beta", "gamma"])
            // Pruning every lead leaves the current list alone.
            _ = try store.prune(olderThan: t0 + 10 * day, limit: 1000, expiredBefore: nil)
            #expect(try store.partnerListCount() == 1)
            #expect(try store.currentPartnerList() == ["acme", "beta", "gamma"])
        }
    }
}

@Test("a lead routed with a retired list but stored just after it was retired keeps the list")
func aListStaysForLeadsCommittedAfterItsRetirement() throws {
    let t0: Int64 = 1_700_000_000_000
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let old = try store.partnerListID(["acme"], now: t0)
            try store.commit(batch(leads: [storedLead("x1", routedAt: t0 + 10)]))
            _ = try store.partnerListID(["acme", "beta"], now: t0 + 100)
            // Routed at t0 + 50 with the old list, committed once the new one was current.
            try store.commit(batch(leads: [storedLead("x2", routedAt: t0 + 50), storedLead("x3", routedAt: t0 + 200)]))
            _ = try store.prune(olderThan: t0 + 20, limit: 1000, expiredBefore: nil)
            #expect(try store.leadCount() == 2)
            #expect(try store.partnerList(old) == ["acme"])
            _ = try store.prune(olderThan: t0 + 60, limit: 1000, expiredBefore: nil)
            #expect(try store.partnerList(old) == nil)
        }
    }
}

@Test("rejections are found by the lead_id stored beside them, through their own index, oldest first")
func rejectionsAreFoundByLeadID() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let first = message("rejected/", 1), unreadable = message("rejected/", 2), second = message("rejected/", 3)
            try store.commit(batch(envelopes: [first, unreadable], leadIDs: ["web-9", nil]))
            try store.commit(batch(leads: [storedLead("web-9")], envelopes: [message("partner/acme/", 1), second],
                                   leadIDs: ["web-9", "web-9"]))
            #expect(try store.rejections(leadID: "web-9") == [first, second])
            #expect(try store.rejections(leadID: "web-10").isEmpty)
        }
        let plan = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT seq, envelope FROM envelopes
                WHERE topic = 'rejected/' AND lead_id IS NOT NULL AND lead_id = ? ORDER BY id
                """, arguments: ["web-9"]).map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
        }
        #expect(plan.contains("envelopes_rejected_lead_id"), "\(plan)")
    }
}

/// SQLite's process-wide options (`lr_sqlite_setup`): set before the store's first connection.
@Suite("SQLite's process-wide options")
struct SQLiteSetupTests {
    @Test("once SQLite is initialised they can no longer be set, and what the store reports holds: no memory statistics when configured")
    func reportedAsSet() throws {
        try withStateDirectory { directory in
            try withStore(directory) { store in
                try store.commit(StoreBatch(), published: [:])
                // Initialised by now: a second attempt is refused (SQLITE_MISUSE), whatever the first did.
                #expect(lr_sqlite_setup() == 0)
                if LeadStore.sqliteConfigured {
                    #expect(sqlite3_memory_used() == 0, "memory statistics still counted")
                } else {
                    #expect(sqlite3_memory_used() > 0, "reported not configured, yet no memory statistics")
                }
            }
        }
    }
}

/// Statement journals (`SQLITE_CONFIG_STMTJRNL_SPILL`, set by `lr_sqlite_setup`): a statement
/// that writes several rows keeps the pages it changes so that it alone can be undone. Past
/// 64 KB SQLite moved them to a temporary file, two `pwrite` calls a page, which the daemon's
/// commits paid for on every batch; configured, they stay in memory.
@Suite("Statement journals in memory")
struct StatementJournalTests {
    /// Where SQLite's unix VFS makes temporary files: the first writable directory of these.
    static var temporaryDirectory: String? {
        let candidates = [getenv("SQLITE_TMPDIR"), getenv("TMPDIR")].compactMap { $0.map { String(cString: $0) } }
            + ["/var/tmp", "/usr/tmp", "/tmp"]
        return candidates.first { path in
            var info = stat()
            return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && access(path, W_OK | X_OK) == 0
        }
    }

    /// The names of the files created in `directory` while `body` runs (inotify).
    static func filesCreated(in directory: String, during body: () throws -> Void) throws -> [String] {
        let watch = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        try #require(watch >= 0, "inotify_init1: \(String(cString: strerror(errno)))")
        defer { close(watch) }
        try #require(inotify_add_watch(watch, directory, UInt32(IN_CREATE)) >= 0, "watching \(directory): \(String(cString: strerror(errno)))")
        try body()
        var names: [String] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var at = 0
            while at + 16 <= count {
                let length = buffer.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self)) }
                let name = buffer[(at + 16)..<(at + 16 + length)].prefix { $0 != 0 }
                names.append(String(decoding: name, as: UTF8.self))
                at += 16 + length
            }
        }
        return names
    }

    @Test("a statement that changes many pages of a table makes no temporary file when the store configured SQLite")
    func statementJournalsStayInMemory() throws {
        try withStateDirectory { directory in
            // The store's first connection in the process configures SQLite for all of them.
            try withStore(directory) { store in try store.commit(StoreBatch(), published: [:]) }
            let temporary = try #require(Self.temporaryDirectory)
            let database = try DatabaseQueue(path: (directory as NSString).appendingPathComponent("journals.sqlite"))
            let key = { (i: Int) in "key-\(String(i * 7_919 % 40_000 + 100_000))" }
            // In WAL mode, as the store runs: with a rollback journal this workload kept its
            // statement journals under 64 KB.
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try database.write { db in
                try db.execute(sql: "CREATE TABLE owners (k TEXT NOT NULL PRIMARY KEY, a TEXT NOT NULL, b BLOB NOT NULL) WITHOUT ROWID")
                let insert = try db.makeStatement(sql: "INSERT INTO owners (k, a, b) VALUES (?, 'x', zeroblob(300))")
                for i in 0..<40_000 { try insert.execute(arguments: [key(i)]) }
            }
            // 32 rows spread over the table: each statement changes over 32 leaf pages, 128 KB
            // of journal, twice what SQLite keeps in memory by default.
            let rows = 32
            let upsert = "INSERT INTO owners (k, a, b) VALUES "
                + Array(repeating: "(?, 'y', zeroblob(300))", count: rows).joined(separator: ", ")
                + " ON CONFLICT (k) DO UPDATE SET a = excluded.a, b = excluded.b"
            let created = try Self.filesCreated(in: temporary) {
                try database.write { db in
                    let statement = try db.makeStatement(sql: upsert)
                    for s in 0..<20 {
                        try statement.execute(arguments: StatementArguments((0..<rows).map { key(s * rows * 37 + $0 * 1_201) }))
                    }
                }
            }
            #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM owners WHERE a = 'y'") } ?? 0 > 500)
            let journals = created.filter { $0.hasPrefix("etilqs_") }
            if LeadStore.sqliteConfigured {
                #expect(journals.isEmpty, "statement journals spilled to \(temporary): \(journals)")
            } else {
                // SQLite was set up before the store in this process: its default spills them.
                #expect(!journals.isEmpty, "reported not configured, yet no statement journal spilled")
            }
        }
    }
}
