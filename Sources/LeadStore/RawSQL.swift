import GRDB
import GRDBSQLite

/// Binding and stepping a cached statement through SQLite's C API.
enum RawSQL {
    /// SQLite copies the bound bytes (SQLITE_TRANSIENT).
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func text(_ s: OpaquePointer, _ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { buffer in
            _ = sqlite3_bind_text(s, index, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(buffer.count), transient)
        }
    }

    static func text(_ s: OpaquePointer, _ index: Int32, bytes value: [UInt8]) {
        value.withUnsafeBytes { buffer in
            _ = sqlite3_bind_text(s, index, (buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self), Int32(buffer.count), transient)
        }
    }

    static func blob(_ s: OpaquePointer, _ index: Int32, _ value: [UInt8]) {
        value.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob(s, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Int32(buffer.count), transient)
        }
    }

    /// Binds `key` to the statement's one parameter and returns the first column of the first
    /// row as text (`""` when NULL), or `nil` when there is no row.
    static func first(_ statement: Statement, _ db: Database, _ key: String) throws -> String? {
        try firstRow(statement, db, bind: { text($0, 1, key) }) { s in
            sqlite3_column_text(s, 0).map { String(cString: $0) } ?? ""
        }
    }

    /// Binds with `bind`, steps once and reads the first row with `read`; `nil` when there is
    /// no row. A failure becomes GRDB's DatabaseError.
    static func firstRow<T>(_ statement: Statement, _ db: Database, bind: (OpaquePointer) -> Void, read: (OpaquePointer) -> T) throws -> T? {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        bind(s)
        defer { sqlite3_reset(s) }
        switch sqlite3_step(s) {
        case SQLITE_ROW:
            return read(s)
        case SQLITE_DONE:
            return nil
        case let rc:
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message, sql: statement.sql)
        }
    }

    /// Steps through every row, calling `read` on each; a failure becomes GRDB's DatabaseError.
    static func each(_ statement: Statement, _ db: Database, read: (OpaquePointer) -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        defer { sqlite3_reset(s) }
        while true {
            switch sqlite3_step(s) {
            case SQLITE_ROW: read(s)
            case SQLITE_DONE: return
            case let rc:
                let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message, sql: statement.sql)
            }
        }
    }

    /// The bytes of a text or blob column, lent for the duration of `body`.
    static func bytes<T>(_ s: OpaquePointer, _ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let count = Int(sqlite3_column_bytes(s, column))
        guard let base = sqlite3_column_blob(s, column) else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count))
    }

    /// Binds `bytes` as a blob (or text) that SQLite reads in place, without copying it
    /// (`SQLITE_STATIC`): only inside ``insert(rows:_:sql:columns:lend:inserted:)``, which
    /// steps while `bytes` is lent and clears the binding before returning.
    static func lent(_ s: OpaquePointer, _ index: Int32, _ bytes: UnsafeRawBufferPointer, text: Bool = false) {
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        if text {
            _ = sqlite3_bind_text(s, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
        } else {
            _ = sqlite3_bind_blob(s, index, base, Int32(bytes.count), nil)
        }
    }

    /// Lends the UTF-8 of up to four strings (`nil` stays `nil`) to `body`, for
    /// ``lent(_:_:_:)``: binding them so inside ``insert(rows:_:sql:columns:lend:inserted:)``
    /// spares SQLite a copy of each (`SQLITE_TRANSIENT` allocates one per value).
    static func withUTF8<R>(_ a: String, _ b: String, _ c: String?, _ d: String?,
                            _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>?, UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        var a = a, b = b
        return try a.withUTF8 { a in
            try b.withUTF8 { b in
                try withUTF8(c) { c in try withUTF8(d) { d in try body(a, b, c, d) } }
            }
        }
    }

    private static func withUTF8<R>(_ text: String?, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        guard var text else { return try body(nil) }
        return try text.withUTF8 { try body($0) }
    }

    /// Binds lent UTF-8 as text, read in place (`nil`: NULL); only inside
    /// ``insert(rows:_:sql:columns:lend:inserted:)``, which clears the bindings before the
    /// bytes go.
    static func lent(_ s: OpaquePointer, _ index: Int32, text: UnsafeBufferPointer<UInt8>?) {
        guard let text else {
            _ = sqlite3_bind_null(s, index)
            return
        }
        let base = UnsafeRawPointer(text.baseAddress ?? UnsafePointer(bitPattern: 1)!)
        _ = sqlite3_bind_text(s, index, base.assumingMemoryBound(to: CChar.self), Int32(text.count), nil)
    }

    /// Inserts `count` rows through the statements of `sql` (``insertSQL(_:_:then:)``), by
    /// width (``rowWidths``): 16 rows a statement where there are that many, then 4, then 1.
    /// A statement's fixed cost
    /// (stepping in, opening and closing its cursors, ending it) was about a fifth of a lead's
    /// insert, one row at a time (docs/benchmarks.md). `lend(row, s, firstParameter, next)`
    /// binds row `row` from `firstParameter` on and calls `next` while what it lent is still
    /// valid: the statement steps inside the last row's `next`, and its bindings are cleared
    /// before any of them returns. `inserted(row, rowID)` then gets each row's id, in a
    /// table with row ids: one statement's rows get consecutive ids, as the store's tables
    /// are only appended to (no row is inserted with an id of its own) inside the writer's
    /// transaction. An upsert clause applies to each row in turn, as to rows inserted one
    /// statement each.
    static func insert(rows count: Int, _ db: Database, sql: [Int: String], columns: Int,
                       lend: (_ row: Int, _ s: OpaquePointer, _ firstParameter: Int32, _ next: () throws -> Void) throws -> Void,
                       inserted: (_ row: Int, _ rowID: Int64) -> Void = { _, _ in }) throws {
        // `lend` is called from inside itself (a row's `next` binds the next row), which a
        // non-escaping closure may not be; it still never outlives this call.
        try withoutActuallyEscaping(lend) { lend in try insertRows(count, db, sql: sql, columns: columns, lend: lend, inserted: inserted) }
    }

    private static func insertRows(_ count: Int, _ db: Database, sql: [Int: String], columns: Int,
                                   lend: @escaping (_ row: Int, _ s: OpaquePointer, _ firstParameter: Int32, _ next: () throws -> Void) throws -> Void,
                                   inserted: (_ row: Int, _ rowID: Int64) -> Void) throws {
        var row = 0
        for width in rowWidths where count - row >= width {
            let statement = try db.cachedStatement(sql: sql[width]!)
            let s = statement.sqliteStatement
            while count - row >= width {
                let first = row
                func bind(_ i: Int) throws {
                    guard i < first + width else {
                        defer { sqlite3_clear_bindings(s) }
                        let rc = sqlite3_step(s)
                        sqlite3_reset(s)
                        guard rc == SQLITE_DONE else {
                            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
                            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message, sql: "inserting \(width) rows")
                        }
                        return
                    }
                    try lend(i, s, Int32((i - first) * columns), { try bind(i + 1) })
                }
                try bind(first)
                let last = db.lastInsertedRowID
                for i in first..<(first + width) { inserted(i, last - Int64(first + width - 1 - i)) }
                row += width
            }
        }
    }

    /// The rows a multi-row insert takes at a time, widest first; the last must be 1.
    static let rowWidths = [16, 4, 1]

    /// `INSERT OR FAIL INTO table (columns) VALUES (?, …), …` for each of ``rowWidths``, by
    /// width; with `then` (an upsert clause), `INSERT INTO … then`.
    ///
    /// `OR FAIL`: a statement of several rows that a constraint may abort (`NOT NULL`,
    /// `UNIQUE`) keeps a statement journal, a copy of every page it changes, so that it
    /// alone can be undone; one that fails instead keeps the rows it inserted before the
    /// failing one and needs none. The store never undoes a statement alone: a failed
    /// insert fails its commit, which rolls the whole transaction back, so the two end the
    /// same. An upsert journals either way (measured: docs/benchmarks.md).
    static func insertSQL(_ table: String, _ columns: [String], then: String = "") -> [Int: String] {
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let head = (then.isEmpty ? "INSERT OR FAIL INTO " : "INSERT INTO ") + "\(table) (\(columns.joined(separator: ", "))) VALUES "
        return Dictionary(uniqueKeysWithValues: rowWidths.map { width in
            (width, head + Array(repeating: row, count: width).joined(separator: ", ") + then)
        })
    }

    /// Runs `body` in one transaction, begun and ended through cached statements: GRDB's
    /// `write` and `inTransaction` prepare `BEGIN` and `COMMIT` anew each time, which at the
    /// small batches of a steady stream cost about as much as the batch's own inserts. A
    /// failure rolls back and is rethrown.
    static func transaction<T>(_ db: Database, immediate: Bool, _ body: () throws -> T) throws -> T {
        try run(db.cachedStatement(sql: immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"), db) { _ in }
        do {
            let result = try body()
            try run(db.cachedStatement(sql: "COMMIT"), db) { _ in }
            return result
        } catch {
            // SQLite may have rolled back already (a full disk, for one).
            if let connection = db.sqliteConnection, sqlite3_get_autocommit(connection) == 0 {
                try? run(db.cachedStatement(sql: "ROLLBACK"), db) { _ in }
            }
            throw error
        }
    }

    /// Binds with `bind`, steps once, resets; a failure becomes GRDB's DatabaseError.
    static func run(_ statement: Statement, _ db: Database, bind: (OpaquePointer) -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        bind(s)
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message, sql: statement.sql)
        }
    }
}
