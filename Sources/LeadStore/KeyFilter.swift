import Foundation
import GRDB
import GRDBSQLite
import LeadRouting
import Synchronization

/// A blocked Bloom filter of 64-bit key hashes (``StringTable/processHash(of:)``):
/// ``mayContain(_:)`` is false only for a hash never inserted.
///
/// Each key sets ``probes`` bits of one 512-bit block (one cache line), the block chosen by
/// the hash's upper half and the bits by its remix. At ``bitsPerKey`` bits a key and up to
/// ``capacity`` keys, about one absent key in a hundred passes.
struct KeyFilter: Sendable {
    private(set) var words: [UInt64]
    let blockMask: Int
    /// The keys it was sized for; past them, more absent keys pass.
    let capacity: Int
    /// Keys inserted (a key inserted twice counts twice).
    private(set) var count = 0

    static let bitsPerKey = 12
    static let probes = 6
    static let minimumCapacity = 1 << 16

    init(capacity: Int, minimum: Int = KeyFilter.minimumCapacity) {
        let capacity = max(capacity, minimum)
        var blocks = 1
        while blocks * 512 < capacity * KeyFilter.bitsPerKey { blocks <<= 1 }
        words = [UInt64](repeating: 0, count: blocks * 8)
        blockMask = blocks - 1
        self.capacity = capacity
    }

    /// The first word of `hash`'s block.
    @inline(__always) func block(_ hash: UInt64) -> Int {
        (Int(truncatingIfNeeded: hash >> 32) & blockMask) &* 8
    }

    /// Nine bits for each probe, from a remix of the whole hash (the block used its upper half).
    @inline(__always) static func spread(_ hash: UInt64) -> UInt64 {
        ((hash ^ (hash >> 31)) &* 0xBF58_476D_1CE4_E5B9) >> 10
    }

    mutating func insert(_ hash: UInt64) {
        let base = block(hash)
        var bits = KeyFilter.spread(hash)
        words.withUnsafeMutableBufferPointer { w in
            for _ in 0..<KeyFilter.probes {
                let bit = Int(truncatingIfNeeded: bits & 511)
                w[base + (bit >> 6)] |= 1 << UInt64(bit & 63)
                bits >>= 9
            }
        }
        count += 1
    }

    func mayContain(_ hash: UInt64) -> Bool {
        let base = block(hash)
        var bits = KeyFilter.spread(hash)
        return words.withUnsafeBufferPointer { w in
            for _ in 0..<KeyFilter.probes {
                let bit = Int(truncatingIfNeeded: bits & 511)
                if w[base + (bit >> 6)] & (1 << UInt64(bit & 63)) == 0 { return false }
                bits >>= 9
            }
            return true
        }
    }

    /// Adds every key of `other`, a filter of the same size.
    mutating func formUnion(_ other: KeyFilter) {
        precondition(other.words.count == words.count, "key filters of different sizes")
        words.withUnsafeMutableBufferPointer { w in
            other.words.withUnsafeBufferPointer { o in
                for i in w.indices { w[i] |= o[i] }
            }
        }
        count += other.count
    }
}

/// The keys of one of the store's tables (`leads.lead_id`, `account_owners.account_key`), as a
/// ``KeyFilter`` beside it: routing probes the table only for the keys the filter cannot rule
/// out, so a batch of new leads from new accounts reads nothing from SQLite.
///
/// The filter is filled from the table on a thread of its own, when the store opens and
/// whenever it must be rebuilt: until that is done every key is probed, as without a filter.
/// Meanwhile and after, the store adds each key it has committed (before the commit returns)
/// and the keys it holds in memory for the table (``rebuild(capacity:holding:keepingAnswers:)``). It is rebuilt, larger, once
/// more keys were added than it was sized for, and when the store finds that another
/// connection committed (SQLite's `data_version`); rows deleted only leave keys that pass and
/// are then probed. A filter rebuilt larger because it is full still holds every key, and
/// answers until the larger one is filled (``State/previous``): with a million stored leads
/// the scan takes seconds, and probing every key in SQLite meanwhile slowed routing each time
/// the store doubled. One rebuilt because another connection committed lacks that
/// connection's keys, and every key is probed until the new one is filled.
final class StoredKeys: Sendable {
    struct State {
        var filter = KeyFilter(capacity: 0, minimum: 1)
        /// False until the filter holds every key of the table: each key is probed meanwhile.
        var ready = false
        var generation = 0
        /// While a larger filter fills after this one grew full: this one, which holds every key
        /// so far (keys added meanwhile go into both) and answers ``mayHold(_:)`` until then.
        var previous: KeyFilter?
    }

    /// The store's file, read on a connection of the filling thread's own: the pool's two
    /// readers stay free for the daemon's start-up and replay.
    let path: String
    /// Selects the table's keys, one column.
    let sql: String
    let state = Mutex(State())
    /// Entered while a filling thread runs (``waitUntilFilled()``).
    let filling = DispatchGroup()
    let rebuilds = Atomic<Int>(0)
    /// The smallest filter made (``KeyFilter/minimumCapacity``; smaller in tests).
    let minimumCapacity: Int
    /// Set when the store closes: a filling thread stops at its next thousand keys.
    let closing = Atomic<Bool>(false)

    /// Called on the filling thread before it reads the table (tests hold a fill with it).
    let beforeScan: @Sendable () -> Void

    init(path: String, sql: String, minimumCapacity: Int = KeyFilter.minimumCapacity, beforeScan: @escaping @Sendable () -> Void = {}) {
        self.path = path
        self.sql = sql
        self.minimumCapacity = minimumCapacity
        self.beforeScan = beforeScan
    }

    /// Whether the filter holds every key of the table.
    var isReady: Bool { state.withLock { $0.ready } }

    /// Waits for a filling thread started before (for tests and the bench).
    func waitUntilFilled() { filling.wait() }

    /// Stops a filling thread and waits for it, so that the store's files are closed when the
    /// store is.
    func close() {
        closing.store(true, ordering: .relaxed)
        filling.wait()
    }

    /// The keys of `keys` the table may hold: every one while the filter fills, unless the
    /// full filter it replaces answers meanwhile (``State/previous``).
    func mayHold(_ keys: [String]) -> [String] {
        state.withLock { s in
            if s.ready { return keys.filter { s.filter.mayContain(StringTable<Int>.processHash(of: $0)) } }
            guard let previous = s.previous else { return keys }
            return keys.filter { previous.mayContain(StringTable<Int>.processHash(of: $0)) }
        }
    }

    /// Keys held in memory for the table (not in it yet), for a rebuilt filter.
    typealias Holding = @Sendable () -> [UInt64]
    static let holdingNothing: Holding = { [] }

    /// Adds keys the store has written or holds for the table; a filter past its capacity is
    /// rebuilt, twice as large, holding `holding()` too, and answers until that one is filled.
    ///
    /// `holding` is asked for only then: made for every commit, the closure that reads the
    /// pending owners (a weakly captured store) cost about 2% of the committer's time.
    func insert(_ hashes: some Sequence<UInt64>, holding: @autoclosure () -> Holding = StoredKeys.holdingNothing) {
        let full: Int? = state.withLock { s in
            for hash in hashes {
                s.filter.insert(hash)
                s.previous?.insert(hash)
            }
            return s.ready && s.filter.count > s.filter.capacity ? s.filter.count * 2 : nil
        }
        if let full { rebuild(capacity: full, holding: holding(), keepingAnswers: true) }
    }

    /// Starts a new filter for `capacity` keys, filled from the table on a thread of its own;
    /// `holding()`'s keys (held in memory for the table, not in it yet) go in first.
    /// `keepingAnswers`: the filled filter it replaces holds every key (it only grew full), and
    /// answers until the new one is filled; otherwise every key is probed meanwhile.
    func rebuild(capacity: Int, holding: @escaping @Sendable () -> [UInt64] = { [] }, keepingAnswers: Bool = false) {
        guard !closing.load(ordering: .relaxed) else { return }
        rebuilds.add(1, ordering: .relaxed)
        let generation = state.withLock { s in
            s.generation += 1
            s.previous = keepingAnswers && s.ready ? s.filter : nil
            s.ready = false
            s.filter = KeyFilter(capacity: capacity, minimum: minimumCapacity)
            return s.generation
        }
        // After the new generation began: a key leaving memory for the table from now on is
        // either still held here or in the table when the scan below reads it.
        let held = holding()
        if !held.isEmpty {
            state.withLock { s in
                guard s.generation == generation else { return }
                for hash in held { s.filter.insert(hash) }
            }
        }
        filling.enter()
        let path = path, sql = sql, minimum = minimumCapacity
        let thread = Thread { [self] in
            CurrentThread.name("lr-keys")
            defer { filling.leave() }
            // In the idle class: filling is never urgent (every key is probed meanwhile, or the
            // full filter it replaces answers); at start-up it would otherwise compete with
            // getting READY, and later, at nice 10, it held the routing thread's core for a
            // slice at a time (1.1-1.3 ms, traced at 10,000 leads/s).
            CurrentThread.runOnlyWhenIdle()
            beforeScan()
            // A failure leaves the filter unready: every key is probed, as without one (or the
            // full filter answers, which holds every key all the same).
            guard let scanned = try? StoredKeys.scan(path, sql, capacity: capacity, minimum: minimum, closing: closing) else { return }
            let again: Int? = state.withLock { s in
                guard s.generation == generation else { return nil }
                s.filter.formUnion(scanned)
                s.ready = true
                s.previous = nil
                return s.filter.count > s.filter.capacity ? s.filter.count * 2 : nil
            }
            // The table held more keys than the store guessed: once more, large enough (this
            // one, complete, answers meanwhile).
            if let again { rebuild(capacity: again, holding: holding, keepingAnswers: true) }
        }
        thread.start()
    }

    /// Every key `sql` selects, hashed from its bytes in place, in one read.
    /// `nil` when `closing` was set meanwhile.
    static func scan(_ path: String, _ sql: String, capacity: Int, minimum: Int, closing: borrowing Atomic<Bool>) throws -> KeyFilter? {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "leadrouter-keys"
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            var filter = KeyFilter(capacity: capacity, minimum: minimum)
            let statement = try db.makeStatement(sql: sql)
            let s = statement.sqliteStatement
            defer { sqlite3_reset(s) }
            while true {
                switch sqlite3_step(s) {
                case SQLITE_ROW:
                    RawSQL.bytes(s, 0) { filter.insert(StringTable<Int>.processHash(of: $0)) }
                    if filter.count & 1023 == 0, closing.load(ordering: .relaxed) { return nil }
                case SQLITE_DONE:
                    return filter
                case let rc:
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }, sql: sql)
                }
            }
        }
    }
}

// MARK: - The store's filters

extension LeadStore {
    static func keyFilters(_ path: String) -> (leads: StoredKeys, owners: StoredKeys) {
        (StoredKeys(path: path, sql: "SELECT lead_id FROM leads"),
         StoredKeys(path: path, sql: "SELECT account_key FROM account_owners"))
    }

    /// Starts filling both filters, sized from the leads stored (a lead names up to two
    /// accounts), after noting the writer's `data_version`.
    func fillKeyFilters() throws(StoreError) {
        let (version, leads) = try onWriter("sizing the store's key filters") { db in
            (try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0, try Int.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM leads") ?? 0)
        }
        dataVersion.store(version, ordering: .relaxed)
        leadKeys.rebuild(capacity: leads * 2)
        ownerKeys.rebuild(capacity: leads * 4, holding: pendingOwnerHashes)
    }

    /// The hashes of the owners waiting to be written to `account_owners`.
    var pendingOwnerHashes: @Sendable () -> [UInt64] {
        { [weak self] in self?.pendingOwners.withLock { $0.hashes } ?? [] }
    }

    /// Whether another connection committed since the writer last looked (`db` is the
    /// writer's, in a transaction): its keys are not in the filters.
    func otherConnectionCommitted(_ db: Database) throws -> Bool {
        let probe = try db.cachedStatement(sql: "PRAGMA data_version")
        let version = try RawSQL.firstRow(probe, db, bind: { _ in }, read: { Int(sqlite3_column_int64($0, 0)) }) ?? 0
        return dataVersion.exchange(version, ordering: .relaxed) != version
    }

    /// Refills both filters from their tables (after another connection committed).
    func refillKeyFilters() {
        leadKeys.rebuild(capacity: leadKeys.state.withLock { $0.filter.capacity })
        ownerKeys.rebuild(capacity: ownerKeys.state.withLock { $0.filter.capacity }, holding: pendingOwnerHashes)
    }

    /// Waits for the key filters being filled (tests and the bench: routing never waits, it
    /// probes meanwhile).
    public func waitForKeyFilters() {
        leadKeys.waitUntilFilled()
        ownerKeys.waitUntilFilled()
    }

    /// Whether both key filters hold every stored key, and how many times they were filled.
    public var keyFilterStatus: (ready: Bool, fills: Int) {
        (leadKeys.isReady && ownerKeys.isReady, leadKeys.rebuilds.load(ordering: .relaxed) + ownerKeys.rebuilds.load(ordering: .relaxed))
    }
}
