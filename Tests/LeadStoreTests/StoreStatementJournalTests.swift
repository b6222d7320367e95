import Foundation
@testable import LeadStore
import Testing

/// The store's inserts of several rows a statement (``RawSQL/insertSQL(_:_:then:)``) keep no
/// statement journal: `INSERT OR FAIL`, not `INSERT`. In the daemon the journals stay in
/// memory (`SQLITE_CONFIG_STMTJRNL_SPILL`), where they cannot be seen, so the statements run
/// in a `python3` of their own under SQLite's defaults, where a journal over 64 KB goes to a
/// file, on pages of 64 KB: a statement that journals a page it changes makes a file.
@Suite("Statement journals: the store's inserts keep none")
struct StoreStatementJournalTests {
    static let python3Available = (try? Self.python(["-c", "import sqlite3"]))?.status == 0

    /// Copies the store's tables into a database of 64 KB pages and fills each through `sql`
    /// (16 rows a statement), nine statements in one transaction.
    static let script = #"""
        import random, sqlite3, string, sys
        store, path, sql = sys.argv[1], sys.argv[2], sys.argv[3]
        schema = [r[0] for r in sqlite3.connect(store).execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'")]
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA page_size = 65536")
        db.execute("PRAGMA journal_mode = WAL")
        for statement in schema: db.execute(statement)
        def values(n):
            return [''.join(random.choice(string.ascii_letters) for _ in range(200)) for _ in range(n)]
        db.execute("BEGIN IMMEDIATE")
        for _ in range(9): db.execute(sql, values(sql.count('?')))
        db.execute("COMMIT")
        """#

    static func python(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The statement journals SQLite made while `sql` filled a copy of the store's tables: the
    /// temporary files created in a directory of their own (inotify, as
    /// ``StatementJournalTests/filesCreated(in:during:)`` watches them).
    static func journalsMade(by sql: String, store: String, in directory: String) throws -> [String] {
        let temporary = (directory as NSString).appendingPathComponent("sqlite-tmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let copy = (directory as NSString).appendingPathComponent("copy-\(UUID().uuidString).sqlite")
        var result: (status: Int32, output: String) = (0, "")
        let created = try StatementJournalTests.filesCreated(in: temporary) {
            result = try python(["-c", script, store, copy, sql], environment: ["SQLITE_TMPDIR": temporary])
        }
        try #require(result.status == 0, "python3 failed: \(result.output)")
        return created.filter { $0.hasPrefix("etilqs_") }
    }

    @Test("the leads', envelopes' and envelope index's inserts of 16 rows make no statement journal; the same statements as plain INSERT do",
          .enabled(if: python3Available, "python3 with its sqlite3 module is needed"))
    func insertsKeepNoStatementJournal() throws {
        try withStateDirectory { directory in
            try withStore(directory) { store in try store.commit(StoreBatch(), published: [:]) }
            let store = storeFile(directory)
            for (name, sql) in [("leads", LeadStore.leadInsertSQL), ("envelopes", LeadStore.envelopeInsertSQL),
                                ("envelope_index", LeadStore.indexInsertSQL)] {
                let sixteen = try #require(sql[16])
                #expect(sixteen.hasPrefix("INSERT OR FAIL INTO \(name) "), "\(sixteen.prefix(60))")
                #expect(try Self.journalsMade(by: sixteen, store: store, in: directory).isEmpty, "\(name): a statement journal was made")
                // The check can fail: as a plain INSERT, the same statement journals its pages.
                let plain = sixteen.replacingOccurrences(of: "INSERT OR FAIL INTO", with: "INSERT INTO")
                #expect(try !Self.journalsMade(by: plain, store: store, in: directory).isEmpty, "\(name): no journal from a plain INSERT either")
            }
        }
    }

    @Test("an insert that fails in the middle of a statement fails its commit, and the commit leaves nothing behind")
    func failedRowRollsTheCommitBack() throws {
        try withStateDirectory { directory in
            try withStore(directory) { store in
                try store.commit(batch(leads: [storedLead("taken")]))
                // Sixteen leads, one statement: the tenth is a lead_id already stored.
                let leads = (0..<16).map { storedLead($0 == 9 ? "taken" : "fresh-\($0)") }
                let envelopes = leads.enumerated().map { message("partner/acme", $0.offset + 1) }
                #expect(throws: StoreError.self) {
                    try store.commit(batch(leads: leads, envelopes: envelopes, leadIDs: leads.map(\.leadID)))
                }
                #expect(try store.leadCount() == 1)
                #expect(try store.lead("fresh-0") == nil)
                #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 100).isEmpty)
                // The numbering was rolled back too: the next commit starts where it left off.
                try store.commit(batch(leads: [storedLead("fresh-0")], envelopes: [message("partner/acme", 1)], leadIDs: ["fresh-0"]))
                #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 100).map(\.seq) == [1])
            }
        }
    }
}
