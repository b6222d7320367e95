import Foundation
import GRDB
import Synchronization
import GRDBSQLite
public import LeadRouting

/// A store operation that failed: what was being done and SQLite's reason.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The disk or the store is full (`SQLITE_FULL`).
        case full
        /// The file is not a SQLite database, or is damaged (`SQLITE_NOTADB`, `SQLITE_CORRUPT`).
        case corrupt
        /// The file or directory cannot be opened or written (permissions, read-only mount).
        case unavailable
        /// The store was written by a newer leadrouterd.
        case newerSchema
        case other
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static func wrap(_ error: any Error, _ operation: String, path: String) -> StoreError {
        guard let db = error as? DatabaseError else {
            if let store = error as? StoreError { return store }
            return StoreError(.other, "\(operation) (\(path)): \(error)")
        }
        let kind: Kind
        switch db.resultCode {
        case .SQLITE_FULL: kind = .full
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: kind = .corrupt
        case .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_IOERR, .SQLITE_AUTH: kind = .unavailable
        default: kind = .other
        }
        let reason = db.message ?? "\(db.resultCode)"
        switch kind {
        case .corrupt:
            return StoreError(kind, "\(operation): the store \(path) is damaged or is not a LeadRouter store (\(reason)); restore it from a backup, or move it aside to start an empty store")
        case .full:
            return StoreError(kind, "\(operation): the disk holding \(path) is full (\(reason))")
        case .unavailable:
            return StoreError(kind, "\(operation): cannot read or write \(path) (\(reason)); check its permissions and that the file system is writable")
        default:
            return StoreError(kind, "\(operation) (\(path)): \(reason)")
        }
    }
}

/// One routed lead and its decision, as stored.
public struct StoredLead: Sendable, Equatable {
    public var leadID: String
    public var channel: String
    public var receivedAt: Int64
    public var routedAt: Int64
    public var assignmentID: String
    public var partnerID: String?
    /// The decision as JSON (UTF-8): reasons, candidates and the assignments published.
    public var decision: [UInt8]
    /// The lead's bytes as received.
    public var lead: [UInt8]

    /// The decision as JSON text.
    public var decisionText: String { String(decoding: decision, as: UTF8.self) }

    public init(leadID: String, channel: String, receivedAt: Int64, routedAt: Int64, assignmentID: String, partnerID: String?, decision: [UInt8], lead: [UInt8]) {
        self.leadID = leadID
        self.channel = channel
        self.receivedAt = receivedAt
        self.routedAt = routedAt
        self.assignmentID = assignmentID
        self.partnerID = partnerID
        self.decision = decision
        self.lead = lead
    }
}

/// Everything one group commit writes, in one transaction.
public struct StoreBatch: Sendable {
    public var leads: [StoredLead] = []
    /// Envelopes in publish order; `leadIDs[i]` is the lead of `envelopes[i]`, when there is one.
    public var envelopes: [OutgoingMessage] = []
    public var envelopeLeadIDs: [String?] = []
    public var createdAt: Int64 = 0
    /// Account keys (`d:domain`, `n:name`) routed to a partner in this batch, in order.
    public var accountOwners: [(key: String, partnerID: String)] = []
    /// Rotation and capacity state of the partners this batch changed.
    public var partnerStates: [String: PartnerState] = [:]
    public init() {}
    public var isEmpty: Bool { leads.isEmpty && envelopes.isEmpty }
}

/// Where each topic's numbering stands.
public struct TopicState: Sendable, Equatable {
    /// The last `seq` committed.
    public var lastSeq: Int
    /// The last `seq` known published; envelopes after it are published again at start-up.
    public var publishedSeq: Int
}

/// The embedded store: SQLite in WAL mode through GRDB, in `state_dir/leadrouter.sqlite`.
///
/// It is the source of truth: the routing loop commits leads, decisions, envelopes and
/// sequence counters in one transaction before anything is published or acknowledged.
public final class LeadStore: Sendable {
    public let path: String
    public let durability: Durability
    private let pool: DatabasePool
    /// A second connection used only for checkpoints, so they run beside the writer.
    private let checkpointer: DatabaseQueue
    /// The log's length in pages at the last checkpoint, the pages it had not copied back yet,
    /// and how many ``checkpoint()`` calls have completed.
    private let walPages = Atomic<Int>(0)
    private let walBacklog = Atomic<Int>(0)
    private let checkpoints = Atomic<Int>(0)

    public static let fileName = "leadrouter.sqlite"
    /// How stale an account owner's `routed_at` may get before a lead of the account rewrites it.
    static let ownerRefreshMilliseconds: Int64 = 3_600_000

    /// Opens (creating when absent) the store in `directory` and brings its schema up to date.
    ///
    /// A damaged file, a file that is not a store, a newer schema or an unwritable directory
    /// is an error; the store never silently starts afresh over data it cannot read.
    public init(directory: String, durability: Durability = .full) throws(StoreError) {
        let path = (directory as NSString).appendingPathComponent(LeadStore.fileName)
        self.path = path
        self.durability = durability
        var configuration = Configuration()
        configuration.label = "leadrouter"
        configuration.busyMode = .timeout(10)
        // The routing loop reads from one thread; replay and explain rarely: two readers do.
        configuration.maximumReaderCount = 2
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability.rawValue.uppercased())")
            // Room for a large group commit without spilling dirty pages mid-transaction.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Commits never stop to checkpoint: ``checkpoint()`` does it, off the routing thread.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw StoreError(.unavailable, "state_dir \(directory) does not exist or is not a directory")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            let migrator = LeadStore.migrator
            if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                throw StoreError(.newerSchema, "the store \(path) was written by a newer leadrouterd; run that version or restore a backup")
            }
            try migrator.migrate(pool)
            var checkpointConfiguration = Configuration()
            checkpointConfiguration.label = "leadrouter-checkpoint"
            checkpointConfiguration.busyMode = .timeout(10)
            checkpointer = try DatabaseQueue(path: path, configuration: checkpointConfiguration)
            // Touch every table: a damaged file fails here, at start-up, not on the first lead.
            _ = try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT (SELECT count(*) FROM topics), (SELECT max(id) FROM leads), (SELECT max(id) FROM envelopes)")
            }
        } catch {
            throw StoreError.wrap(error, "opening the store", path: path)
        }
    }

    /// Opens an existing store to read it (for `leadctl explain`): never creates a file,
    /// never migrates, never writes.
    public init(readingDirectory directory: String) throws(StoreError) {
        let path = (directory as NSString).appendingPathComponent(LeadStore.fileName)
        self.path = path
        self.durability = .normal
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.unavailable, "no store at \(path): is \(directory) the daemon's state_dir?")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            checkpointer = try DatabaseQueue(path: path, configuration: configuration)
            _ = try pool.read { try Row.fetchOne($0, sql: "SELECT count(*) FROM leads") }
        } catch {
            throw StoreError.wrap(error, "opening the store to read", path: path)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: leads, envelopes, topics") { db in
            try db.execute(sql: """
                CREATE TABLE leads (
                    id INTEGER PRIMARY KEY,
                    lead_id TEXT NOT NULL UNIQUE,
                    channel TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    routed_at INTEGER NOT NULL,
                    assignment_id TEXT NOT NULL,
                    partner_id TEXT,
                    decision TEXT NOT NULL,
                    lead BLOB NOT NULL
                );
                CREATE TABLE envelopes (
                    id INTEGER PRIMARY KEY,
                    topic TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    lead_id TEXT,
                    created_at INTEGER NOT NULL,
                    envelope BLOB NOT NULL,
                    UNIQUE (topic, seq)
                );
                CREATE TABLE topics (
                    topic TEXT PRIMARY KEY,
                    last_seq INTEGER NOT NULL,
                    published_seq INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: account owners, partner state, registrations") { db in
            try db.execute(sql: """
                CREATE TABLE account_owners (
                    account_key TEXT PRIMARY KEY,
                    partner_id TEXT NOT NULL,
                    routed_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE partner_state (
                    partner_id TEXT PRIMARY KEY,
                    current_weight INTEGER NOT NULL,
                    recent TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE registrations (
                    id INTEGER PRIMARY KEY,
                    partner_id TEXT NOT NULL,
                    domain TEXT NOT NULL,
                    expires INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3: index account owners by time, for pruning") { db in
            try db.execute(sql: "CREATE INDEX account_owners_routed_at ON account_owners (routed_at)")
        }
        migrator.registerMigration("v4: envelopes without their lead; partner lists") { db in
            // An envelope with `lead_at` is stored without the lead's bytes, which are spliced
            // back in at that offset from the `leads` row `lead_row` (its row id, never reused:
            // not its lead_id, which a lead sent again after pruning gets anew); one without
            // (rejections, older rows) is whole. Decision records name candidates by their index
            // in a stored partner list.
            try db.execute(sql: """
                ALTER TABLE envelopes ADD COLUMN lead_at INTEGER;
                ALTER TABLE envelopes ADD COLUMN lead_row INTEGER;
                CREATE TABLE partner_lists (
                    id INTEGER PRIMARY KEY,
                    digest INTEGER NOT NULL,
                    partners TEXT NOT NULL
                );
                CREATE INDEX partner_lists_digest ON partner_lists (digest);
                """)
        }
        return migrator
    }

    // MARK: - Writing

    /// Commits `batch` in one transaction, together with the published watermarks.
    public func commit(_ batch: StoreBatch, published: [String: Int] = [:]) throws(StoreError) {
        do {
            try pool.write { db in
                // The hot inserts bind straight through SQLite's C API: GRDB's argument
                // boxing cost more than the inserts themselves (see docs/benchmarks.md).
                let insertLead = try db.cachedStatement(sql: """
                    INSERT INTO leads (lead_id, channel, received_at, routed_at, assignment_id, partner_id, decision, lead)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                // Each lead's row id, for its envelopes to point at.
                var leadRows: [String: Int64] = [:]
                leadRows.reserveCapacity(batch.leads.count)
                for lead in batch.leads {
                    defer { leadRows[lead.leadID] = db.lastInsertedRowID }
                    try RawSQL.run(insertLead, db) { s in
                        RawSQL.text(s, 1, lead.leadID)
                        RawSQL.text(s, 2, lead.channel)
                        sqlite3_bind_int64(s, 3, lead.receivedAt)
                        sqlite3_bind_int64(s, 4, lead.routedAt)
                        RawSQL.text(s, 5, lead.assignmentID)
                        if let partner = lead.partnerID { RawSQL.text(s, 6, partner) } else { sqlite3_bind_null(s, 6) }
                        RawSQL.text(s, 7, bytes: lead.decision)
                        RawSQL.blob(s, 8, lead.lead)
                    }
                }
                let insertEnvelope = try db.cachedStatement(sql: """
                    INSERT INTO envelopes (topic, seq, lead_id, created_at, envelope, lead_at, lead_row) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                var lastSeq: [String: Int] = [:]
                var trimmed: [UInt8] = []
                for (i, envelope) in batch.envelopes.enumerated() {
                    let leadID = i < batch.envelopeLeadIDs.count ? batch.envelopeLeadIDs[i] : nil
                    // The lead is stored once, in `leads`: the envelope goes without it, pointing at
                    // the lead's row (a lead of this batch; else the envelope is stored whole).
                    let leadRow = leadID.flatMap { leadRows[$0] }
                    let leadRange = leadRow == nil ? nil : envelope.leadRange
                    if let leadRange {
                        trimmed.removeAll(keepingCapacity: true)
                        trimmed.append(contentsOf: envelope.envelope[..<leadRange.lowerBound])
                        trimmed.append(contentsOf: envelope.envelope[leadRange.upperBound...])
                    }
                    try RawSQL.run(insertEnvelope, db) { s in
                        RawSQL.text(s, 1, envelope.topic)
                        sqlite3_bind_int64(s, 2, Int64(envelope.seq))
                        if let leadID { RawSQL.text(s, 3, leadID) } else { sqlite3_bind_null(s, 3) }
                        sqlite3_bind_int64(s, 4, batch.createdAt)
                        if let leadRange, let leadRow {
                            RawSQL.blob(s, 5, trimmed)
                            sqlite3_bind_int64(s, 6, Int64(leadRange.lowerBound))
                            sqlite3_bind_int64(s, 7, leadRow)
                        } else {
                            RawSQL.blob(s, 5, envelope.envelope)
                            sqlite3_bind_null(s, 6)
                            sqlite3_bind_null(s, 7)
                        }
                    }
                    lastSeq[envelope.topic] = max(lastSeq[envelope.topic] ?? 0, envelope.seq)
                }
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO topics (topic, last_seq, published_seq) VALUES (?, ?, 0)
                    ON CONFLICT (topic) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)
                    """)
                for (topic, seq) in lastSeq {
                    try RawSQL.run(upsert, db) { s in
                        RawSQL.text(s, 1, topic)
                        sqlite3_bind_int64(s, 2, Int64(seq))
                    }
                }
                if !batch.accountOwners.isEmpty {
                    // A row changes only when the owner changes, or its time is over an hour
                    // old: a returning account costs no write (its ownership lapses at most an
                    // hour early, against a retention of days). The last owner in the batch wins.
                    let owner = try db.cachedStatement(sql: """
                        INSERT INTO account_owners (account_key, partner_id, routed_at) VALUES (?, ?, ?)
                        ON CONFLICT (account_key) DO UPDATE SET partner_id = excluded.partner_id, routed_at = excluded.routed_at
                        WHERE account_owners.partner_id != excluded.partner_id
                           OR account_owners.routed_at < excluded.routed_at - \(LeadStore.ownerRefreshMilliseconds)
                        """)
                    var seen = Set<String>(minimumCapacity: batch.accountOwners.count)
                    for (key, partnerID) in batch.accountOwners.reversed() where seen.insert(key).inserted {
                        try RawSQL.run(owner, db) { s in
                            RawSQL.text(s, 1, key)
                            RawSQL.text(s, 2, partnerID)
                            sqlite3_bind_int64(s, 3, batch.createdAt)
                        }
                    }
                }
                if !batch.partnerStates.isEmpty {
                    let state = try db.cachedStatement(sql: """
                        INSERT INTO partner_state (partner_id, current_weight, recent) VALUES (?, ?, ?)
                        ON CONFLICT (partner_id) DO UPDATE SET current_weight = excluded.current_weight, recent = excluded.recent
                        """)
                    for (partnerID, value) in batch.partnerStates {
                        let recent = value.recentAssignments.map(String.init).joined(separator: ",")
                        try RawSQL.run(state, db) { s in
                            RawSQL.text(s, 1, partnerID)
                            sqlite3_bind_int64(s, 2, Int64(value.currentWeight))
                            RawSQL.text(s, 3, recent)
                        }
                    }
                }
                try LeadStore.writePublished(published, db)
            }
        } catch {
            throw StoreError.wrap(error, "committing \(batch.leads.count) leads and \(batch.envelopes.count) envelopes", path: path)
        }
    }

    /// In one read: which of `leadIDs` the store holds, and who owns each of `accountKeys`.
    public func lookUp(leadIDs: [String], accountKeys: [String]) throws(StoreError) -> (known: Set<String>, owners: [String: String]) {
        guard !leadIDs.isEmpty || !accountKeys.isEmpty else { return ([], [:]) }
        do {
            return try pool.read { db in
                (try LeadStore.known(leadIDs, db), try LeadStore.owners(accountKeys, db))
            }
        } catch {
            throw StoreError.wrap(error, "looking up lead ids and account owners", path: path)
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

    private static func writePublished(_ published: [String: Int], _ db: Database) throws {
        guard !published.isEmpty else { return }
        let update = try db.cachedStatement(sql: "UPDATE topics SET published_seq = max(published_seq, ?) WHERE topic = ?")
        for (topic, seq) in published {
            try RawSQL.run(update, db) { s in
                sqlite3_bind_int64(s, 1, Int64(seq))
                RawSQL.text(s, 2, topic)
            }
        }
    }

    // MARK: - Reading

    /// Which of `leadIDs` the store holds already.
    public func knownLeads(_ leadIDs: [String]) throws(StoreError) -> Set<String> {
        guard !leadIDs.isEmpty else { return [] }
        do {
            return try pool.read { db in try LeadStore.known(leadIDs, db) }
        } catch {
            throw StoreError.wrap(error, "looking up lead ids", path: path)
        }
    }

    // One prepared probe per key, bound through the C API: an `IN (?, …)` list is a new
    // statement to prepare for every batch size, which cost more than the probes.
    private static func known(_ leadIDs: [String], _ db: Database) throws -> Set<String> {
        var known = Set<String>()
        let probe = try db.cachedStatement(sql: "SELECT 1 FROM leads WHERE lead_id = ?")
        for id in leadIDs where try RawSQL.first(probe, db, id) != nil { known.insert(id) }
        return known
    }

    private static func owners(_ keys: [String], _ db: Database) throws -> [String: String] {
        var owners: [String: String] = [:]
        let probe = try db.cachedStatement(sql: "SELECT partner_id FROM account_owners WHERE account_key = ?")
        for key in keys {
            if let owner = try RawSQL.first(probe, db, key) { owners[key] = owner }
        }
        return owners
    }

    /// Every topic's numbering.
    public func topicStates() throws(StoreError) -> [String: TopicState] {
        do {
            return try pool.read { db in
                var states: [String: TopicState] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT topic, last_seq, published_seq FROM topics") {
                    states[row["topic"]] = TopicState(lastSeq: row["last_seq"], publishedSeq: row["published_seq"])
                }
                return states
            }
        } catch {
            throw StoreError.wrap(error, "reading topic sequences", path: path)
        }
    }

    /// Envelopes of `topic` from `fromSeq`, in `seq` order, at most `limit`.
    public func envelopes(topic: String, fromSeq: Int, limit: Int) throws(StoreError) -> [OutgoingMessage] {
        do {
            return try pool.read { db in
                // An envelope stored without its lead gets the lead's bytes back at `lead_at`, from
                // its own lead's row; one whose lead was pruned a moment before it is left out, as
                // if pruned too (in SQL, so that LIMIT counts only envelopes returned).
                let rows = try Row.fetchAll(
                    db, sql: """
                        SELECT e.seq, e.envelope, e.lead_at, l.lead FROM envelopes e
                        LEFT JOIN leads l ON e.lead_at IS NOT NULL AND l.id = e.lead_row AND l.lead_id = e.lead_id
                        WHERE e.topic = ? AND e.seq >= ? AND (e.lead_at IS NULL OR l.id IS NOT NULL)
                        ORDER BY e.seq LIMIT ?
                        """,
                    arguments: [topic, fromSeq, limit])
                return rows.compactMap { row -> OutgoingMessage? in
                    let stored: Data = row["envelope"]
                    guard let at: Int = row["lead_at"] else {
                        return OutgoingMessage(topic: topic, seq: row["seq"], envelope: [UInt8](stored))
                    }
                    guard let lead: Data = row["lead"], at >= 0, at <= stored.count else { return nil }
                    var envelope: [UInt8] = []
                    envelope.reserveCapacity(stored.count + lead.count)
                    envelope.append(contentsOf: stored.prefix(at))
                    envelope.append(contentsOf: lead)
                    envelope.append(contentsOf: stored.dropFirst(at))
                    return OutgoingMessage(topic: topic, seq: row["seq"], envelope: envelope)
                }
            }
        } catch {
            throw StoreError.wrap(error, "reading envelopes of \(topic)", path: path)
        }
    }

    /// The stored record of a lead, when present.
    public func lead(_ leadID: String) throws(StoreError) -> StoredLead? {
        do {
            return try pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM leads WHERE lead_id = ?", arguments: [leadID]) else { return nil }
                let data: Data = row["lead"]
                return StoredLead(
                    leadID: row["lead_id"], channel: row["channel"], receivedAt: row["received_at"], routedAt: row["routed_at"],
                    assignmentID: row["assignment_id"], partnerID: row["partner_id"],
                    decision: Array((row["decision"] as String).utf8), lead: [UInt8](data))
            }
        } catch {
            throw StoreError.wrap(error, "reading lead \(leadID)", path: path)
        }
    }

    /// How many leads the store holds.
    public func leadCount() throws(StoreError) -> Int {
        do {
            return try pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM leads") ?? 0 }
        } catch {
            throw StoreError.wrap(error, "counting leads", path: path)
        }
    }

    /// Every partner's saved rotation and capacity state.
    public func partnerStates() throws(StoreError) -> [String: PartnerState] {
        do {
            return try pool.read { db in
                var states: [String: PartnerState] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT partner_id, current_weight, recent FROM partner_state") {
                    let recent: String = row["recent"]
                    states[row["partner_id"]] = PartnerState(
                        currentWeight: row["current_weight"], recentAssignments: recent.split(separator: ",").compactMap { Int64($0) })
                }
                return states
            }
        } catch {
            throw StoreError.wrap(error, "reading partner state", path: path)
        }
    }

    /// The id under which this list of partner ids (in this order) is kept, adding it when
    /// the store does not have it yet. Decision records name candidates by their index in it.
    public func partnerListID(_ partnerIDs: [String]) throws(StoreError) -> Int64 {
        do {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: partnerIDs), as: UTF8.self)
            let digest = LeadStore.digest(text)
            return try pool.write { db in
                if let id = try Int64.fetchOne(
                    db, sql: "SELECT id FROM partner_lists WHERE digest = ? AND partners = ? ORDER BY id LIMIT 1",
                    arguments: [digest, text]) {
                    return id
                }
                try db.execute(sql: "INSERT INTO partner_lists (digest, partners) VALUES (?, ?)", arguments: [digest, text])
                return db.lastInsertedRowID
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

    /// FNV-1a, 64 bits, as a signed SQLite integer.
    static func digest(_ text: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Deal registrations added at run time (`leadctl register`), oldest first.
    public func registrations() throws(StoreError) -> [Registration] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT partner_id, domain, expires FROM registrations ORDER BY id").map {
                    Registration(partnerID: $0["partner_id"], domain: $0["domain"], expires: $0["expires"])
                }
            }
        } catch {
            throw StoreError.wrap(error, "reading registrations", path: path)
        }
    }

    /// Changes whenever a registration is added: the daemon polls it to reload.
    public func registrationsVersion() throws(StoreError) -> Int64 {
        do {
            return try pool.read { try Int64.fetchOne($0, sql: "SELECT coalesce(max(id), 0) FROM registrations") ?? 0 }
        } catch {
            throw StoreError.wrap(error, "reading registrations", path: path)
        }
    }

    /// Adds a deal registration; a running daemon picks it up within a second.
    public func addRegistration(_ registration: Registration, now: Int64) throws(StoreError) {
        do {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO registrations (partner_id, domain, expires, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [registration.partnerID, registration.domain, registration.expires, now])
            }
        } catch {
            throw StoreError.wrap(error, "adding a registration", path: path)
        }
    }

    // MARK: - Checkpoints

    /// Copies committed pages from the write-ahead log into the database file (a passive
    /// checkpoint: it never blocks a commit). Called periodically from a background task so
    /// the routing thread's commits never pay for it.
    @discardableResult
    public func checkpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int) {
        do {
            // A checkpoint cannot run inside a transaction: no `write`, which opens one.
            let result = try checkpointer.writeWithoutTransaction { db in try LeadStore.passiveCheckpoint(db) }
            // A busy result (another checkpoint held the lock) reports nothing: -1, -1.
            if !result.busy {
                walPages.store(result.walPages, ordering: .relaxed)
                walBacklog.store(max(0, result.walPages - result.checkpointed), ordering: .relaxed)
                checkpoints.add(1, ordering: .releasing)
            }
            return (result.walPages, result.checkpointed)
        } catch {
            throw StoreError.wrap(error, "checkpointing the write-ahead log", path: path)
        }
    }

    /// The write-ahead log's length in pages when it was last checkpointed.
    public var lastKnownWALPages: Int { walPages.load(ordering: .relaxed) }

    /// The pages the last checkpoint found in the log but could not copy back (added while it
    /// ran, or held by a reader).
    public var lastKnownWALBacklog: Int { walBacklog.load(ordering: .relaxed) }

    /// How many checkpoints ``checkpoint()`` has completed: a writer finishes one
    /// (``finishCheckpoint()``) just after this changes, when little is left to copy.
    public var completedCheckpoints: Int { checkpoints.load(ordering: .acquiring) }

    /// A passive checkpoint from the writer's connection, for the writing thread to call
    /// between its commits.
    ///
    /// The log can only start again from its beginning once every frame in it has been copied
    /// back and a writer then begins. Under a steady stream of commits, ``checkpoint()`` on its
    /// own connection always finds frames added while it copied, so the log would grow without
    /// bound (it reached 2 GB in a 30-second benchmark). Called by the writer between commits,
    /// this one copies what is left with no commit racing it, and the next commit rewinds the
    /// log. It never waits: when a checkpoint is already running elsewhere it does nothing and
    /// returns `nil`.
    @discardableResult
    public func finishCheckpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int)? {
        do {
            let result = try pool.writeWithoutTransaction { db in try LeadStore.passiveCheckpoint(db) }
            return result.busy ? nil : (result.walPages, result.checkpointed)
        } catch {
            throw StoreError.wrap(error, "checkpointing the write-ahead log from the writer", path: path)
        }
    }

    /// Busy is true when another checkpoint held the lock and nothing was done.
    private static func passiveCheckpoint(_ db: Database) throws -> (busy: Bool, walPages: Int, checkpointed: Int) {
        let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
        return ((row?[0] ?? 0) == 1, row?[1] ?? 0, row?[2] ?? 0)
    }

    // MARK: - Retention

    /// Deletes up to `limit` leads and up to `limit` envelopes older than `cutoff`
    /// (milliseconds since 1970). Returns how many rows went; call again until 0.
    /// Each call is one short transaction, so routing never waits long behind it.
    /// Topic sequence counters are never pruned: `seq` keeps counting.
    /// Registrations that expired before `expiredBefore` (default: `cutoff`) go too.
    public func prune(olderThan cutoff: Int64, limit: Int = 1000, expiredBefore: Int64? = nil) throws(StoreError) -> Int {
        do {
            return try pool.write { db in
                // Rows are appended in time order, so the oldest are the first ids: look only at
                // the first `limit` rows, never scan the whole table for old ones. Envelopes go
                // first, and a lead only once no stored envelope splices it in.
                try db.execute(
                    sql: "DELETE FROM envelopes WHERE id IN (SELECT id FROM (SELECT id, created_at FROM envelopes ORDER BY id LIMIT ?) WHERE created_at < ?)",
                    arguments: [limit, cutoff])
                var deleted = db.changesCount
                try db.execute(
                    sql: """
                        DELETE FROM leads WHERE id IN (SELECT id FROM (SELECT id, routed_at FROM leads ORDER BY id LIMIT ?)
                            WHERE routed_at < ?
                              AND id < coalesce((SELECT lead_row FROM envelopes WHERE lead_row IS NOT NULL ORDER BY id LIMIT 1), 9223372036854775807))
                        """,
                    arguments: [limit, cutoff])
                deleted += db.changesCount
                // Account ownership learnt from routing lapses when the account has had no lead for as long.
                try db.execute(
                    sql: "DELETE FROM account_owners WHERE account_key IN (SELECT account_key FROM account_owners WHERE routed_at < ? LIMIT ?)",
                    arguments: [cutoff, limit])
                deleted += db.changesCount
                try db.execute(sql: "DELETE FROM registrations WHERE expires < ?", arguments: [expiredBefore ?? cutoff])
                deleted += db.changesCount
                return deleted
            }
        } catch {
            throw StoreError.wrap(error, "pruning old leads", path: path)
        }
    }
}

/// Binding and stepping a cached statement through SQLite's C API.
private enum RawSQL {
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
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        text(s, 1, key)
        defer { sqlite3_reset(s) }
        switch sqlite3_step(s) {
        case SQLITE_ROW:
            guard let text = sqlite3_column_text(s, 0) else { return "" }
            return String(cString: text)
        case SQLITE_DONE:
            return nil
        case let rc:
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message, sql: statement.sql)
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
