import CSQLiteSetup
import Foundation
import GRDB
import GRDBSQLite
import LeadRouting
import LeadStore
import Testing

// SQLite's process-wide options and the VFS that gathers the log's writes (CSQLiteSetup).

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


/// The gathering VFS (wal_writes.c): a commit's frames reach the write-ahead log in a few
/// writes of whole blocks, all of them before the commit returns.
@Suite("The write-ahead log's writes gathered")
struct GatheredLogWriteTests {
    @Test("a commit of many pages writes its frames in pieces of up to 64 KB, not two calls a frame, and another connection reads it at once")
    func framesGatheredAndWrittenBeforeTheCommitReturns() throws {
        try withStateDirectory { directory in
            // The store's first connection in the process registers the VFS for all of them.
            try withStore(directory) { store in try store.commit(StoreBatch(), published: [:]) }
            let path = (directory as NSString).appendingPathComponent("gathered.sqlite")
            let writer = try DatabaseQueue(path: path)
            try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            let reader = try DatabaseQueue(path: path)
            try writer.write { db in try db.execute(sql: "CREATE TABLE leads (id INTEGER PRIMARY KEY, lead BLOB NOT NULL)") }
            for round in 1...3 {
                let (calls, bytes, logSize) = try writer.writeWithoutTransaction { db in
                    let before = Self.counts(db)
                    try db.inTransaction {
                        let insert = try db.makeStatement(sql: "INSERT INTO leads (lead) VALUES (randomblob(3000))")
                        for _ in 0..<200 { try insert.execute() }
                        return .commit
                    }
                    let after = Self.counts(db)
                    // Before anything else touches the file: the commit's frames are in it.
                    var info = stat()
                    #expect(stat(path + "-wal", &info) == 0)
                    return (after.calls - before.calls, after.bytes - before.bytes, Int64(info.st_size))
                }
                // 200 rows of 3 KB: over 150 frames of 4,120 bytes, which SQLite writes with two
                // calls each.
                let frames = Int(bytes / 4_120)
                #expect(frames > 150, "round \(round): \(bytes) bytes")
                #expect(calls <= bytes / 65_536 + 2, "round \(round): \(calls) writes for \(frames) frames")
                #expect(logSize >= Int64(bytes), "round \(round): the log holds \(logSize) bytes after a commit of \(bytes)")
                #expect(try reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM leads") } == 200 * round)
            }
        }
    }

    static func counts(_ db: Database) -> (calls: UInt64, bytes: UInt64) {
        var calls: UInt64 = 0, bytes: UInt64 = 0
        // No log yet: nothing written.
        guard lr_log_file_write_counts(db.sqliteConnection, &calls, &bytes) == 1 else { return (0, 0) }
        return (calls, bytes)
    }
}
