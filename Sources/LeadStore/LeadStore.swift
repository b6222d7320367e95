import Foundation
import CSQLiteSetup
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
    /// The assignment's id, kept inline (``AssignmentID``).
    public var assignment: AssignmentID
    /// ``assignment`` as a `String`.
    public var assignmentID: String {
        get { assignment.description }
        set { assignment = AssignmentID(newValue) }
    }
    /// Spelled `Optional<String>`, not `String?`: a `String?` variable starts as `nil`, which
    /// left each initialiser assigning over it and copying the whole lead on its way out, then
    /// destroying the original (about 360 instructions a routed lead, with the retains and releases).
    public var partnerID: Optional<String>
    /// The decision as JSON (UTF-8): reasons, candidates and the assignments published.
    public var decision: [UInt8]
    /// The lead's bytes as received.
    public var lead: [UInt8]

    /// The decision as JSON text.
    public var decisionText: String { String(decoding: decision, as: UTF8.self) }

    public init(leadID: String, channel: String, receivedAt: Int64, routedAt: Int64, assignmentID: String, partnerID: String?, decision: [UInt8], lead: [UInt8]) {
        self.init(leadID: leadID, channel: channel, receivedAt: receivedAt, routedAt: routedAt, assignment: AssignmentID(assignmentID),
                  partnerID: partnerID, decision: decision, lead: lead)
    }

    public init(leadID: String, channel: String, receivedAt: Int64, routedAt: Int64, assignment: AssignmentID, partnerID: String?, decision: [UInt8], lead: [UInt8]) {
        self.leadID = leadID
        self.channel = channel
        self.receivedAt = receivedAt
        self.routedAt = routedAt
        self.assignment = assignment
        self.partnerID = partnerID
        self.decision = decision
        self.lead = lead
    }
}

/// An account key (`d:domain`, `n:name`) routed to a partner: a row of
/// ``StoreBatch/accountOwners``. (A struct, not a tuple: a list of tuples is destroyed through
/// the runtime's generic tuple witness, about 20 instructions an owner more.)
public struct OwnerChange: Sendable, Equatable {
    public var key: String
    public var partnerID: String
    public init(_ key: String, _ partnerID: String) {
        self.key = key
        self.partnerID = partnerID
    }
}

/// Everything one group commit writes, in one transaction.
public struct StoreBatch: Sendable {
    public var leads: [StoredLead] = []
    /// The decision records of the leads added by ``add(routed:channel:receivedAt:decision:envelopes:partnerList:)``,
    /// written side by side into ``recordBlocks`` (an array of its own cost each lead an
    /// allocation; one buffer for all, zeroing and growing it): `leads[i]`'s is `recordRuns[i]`
    /// when there is one, not empty (its `decision` is then empty), else its `decision`. See
    /// ``record(of:)`` and ``withRecordBytes(of:_:)``. (Empty runs, not optionals, stand for
    /// none: a list of optionals is destroyed through the runtime's generic witness.)
    public var recordRuns: [SharedBytes] = []
    public var recordBlocks = ByteArena()
    /// The bytes of the leads added by ``add(routed:channel:receivedAt:decision:envelopes:partnerList:)``,
    /// read in place from the receiver's blocks (their `lead` is then empty): `leads[i]`'s are
    /// `leadRuns[i]` when there are some (not empty), else its `lead`. See ``withLeadBytes(of:_:)``.
    public var leadRuns: [SharedBytes] = []
    /// Envelopes in publish order; `leadIDs[i]` is the lead of `envelopes[i]`, when there is one.
    public var envelopes: [OutgoingMessage] = []
    public var envelopeLeadIDs: [String?] = []
    public var createdAt: Int64 = 0
    /// Account keys (`d:domain`, `n:name`) routed to a partner in this batch, in order.
    public var accountOwners: [OwnerChange] = []
    /// Rotation and capacity state of the partners this batch changed.
    public var partnerStates: [String: PartnerState] = [:]
    /// Cases of leads offered or acted on in this batch, in order.
    public var cases: [CaseWrite] = []
    public init() {}

    /// An empty batch with room for `leads` leads and their envelopes (about one a lead; more
    /// grow the arrays): grown from empty, a batch's arrays were copied at each doubling.
    public init(reservingFor leads: Int) {
        self.leads.reserveCapacity(leads)
        recordRuns.reserveCapacity(leads)
        leadRuns.reserveCapacity(leads)
        envelopes.reserveCapacity(leads + leads / 4)
        envelopeLeadIDs.reserveCapacity(leads + leads / 4)
    }
    public var isEmpty: Bool { leads.isEmpty && envelopes.isEmpty && cases.isEmpty }

    /// Adds a routed lead as the daemon stores it: its row, with the decision record, and its
    /// envelopes, which point at that row (the lead's bytes are stored once).
    public mutating func add(routed lead: ParsedLead, channel: InboundChannel, receivedAt: Int64,
                             decision: RoutingDecision, messages: [OutgoingMessage], partnerList: Int64?) {
        let first = envelopes.count
        envelopes.append(contentsOf: messages)
        add(routed: lead, channel: channel, receivedAt: receivedAt, decision: decision, envelopes: first..<envelopes.count,
            partnerList: partnerList)
    }

    /// The same, for a lead whose envelopes are in ``envelopes`` already, at `range` (the
    /// pipeline appended them there: ``LeadPipeline/route(_:now:previousOwner:appendingTo:decision:)``).
    public mutating func add(routed lead: ParsedLead, channel: InboundChannel, receivedAt: Int64,
                             decision: RoutingDecision, envelopes range: Range<Int>, partnerList: Int64?) {
        let leadID = lead.facts.leadID
        while recordRuns.count < leads.count { recordRuns.append(.empty) }
        recordRuns.append(decision.record(in: &recordBlocks, messages: envelopes[range], partnerList: partnerList, reasonsInEnvelope: true))
        while leadRuns.count < leads.count { leadRuns.append(.empty) }
        leadRuns.append(lead.raw)
        leads.append(StoredLead(
            leadID: leadID, channel: channel.rawValue, receivedAt: receivedAt,
            routedAt: receivedAt, assignment: decision.assignment, partnerID: decision.partnerID,
            decision: [], lead: []))
        for _ in range { envelopeLeadIDs.append(leadID) }
    }

    /// Lead `i`'s decision record as JSON: its run in ``recordBlocks`` (binary, decoded:
    /// ``BinaryRecord``), or its own `decision`.
    public func record(of i: Int) -> [UInt8] {
        if let run = run(i, of: recordRuns) { return BinaryRecord.json(run.array, assignmentID: leads[i].assignmentID, partnerID: leads[i].partnerID) }
        return leads[i].decision
    }

    /// Calls `body` with lead `i`'s decision record as stored (binary or JSON), read in place.
    public func withRecordBytes<R>(of i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let run = run(i, of: recordRuns) { return try run.withUnsafeBytes(body) }
        return try leads[i].decision.withUnsafeBytes(body)
    }

    /// Calls `body` with lead `i`'s bytes: its run, or its own `lead`.
    public func withLeadBytes<R>(of i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let run = run(i, of: leadRuns) { return try run.withUnsafeBytes(body) }
        return try leads[i].lead.withUnsafeBytes(body)
    }

    /// Lead `i` as the store keeps it, its decision record and its bytes in it.
    public func storedLead(_ i: Int) -> StoredLead {
        var lead = leads[i]
        if let run = run(i, of: recordRuns) { lead.decision = BinaryRecord.json(run.array, assignmentID: lead.assignmentID, partnerID: lead.partnerID) }
        if let run = run(i, of: leadRuns) { lead.lead = run.array }
        return lead
    }

    /// Lead `i`'s run in `runs`, when it has one (an empty run is none).
    private func run(_ i: Int, of runs: [SharedBytes]) -> SharedBytes? {
        i < runs.count && runs[i].count > 0 ? runs[i] : nil
    }
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
    let pool: DatabasePool
    /// A second connection used only for checkpoints, so they run beside the writer.
    let checkpointer: DatabaseQueue
    /// The log's length in pages at the last checkpoint, the pages it had not copied back yet,
    /// and how many ``checkpoint()`` calls have completed.
    let walPages = Atomic<Int>(0)
    /// With ``syncsLogOnRequest``: the write-ahead log's file, opened to sync it.
    let logFile = Mutex<Int32>(-1)
    let logSyncCount = Atomic<Int>(0)
    /// The database file, opened to start its writeback (``startWriteback(duringCheckpointsLongerThan:)``).
    let databaseFile = Mutex<Int32>(-1)
    /// When the background checkpoint running now began (monotonic nanoseconds), or 0.
    let checkpointStarted = Atomic<UInt64>(0)
    /// Whether commits return before they are on disk, made durable by ``syncLog()``: the
    /// routing loop's way of syncing while it routes the next batch (`durability: full`,
    /// opened with `syncLogOnRequest`). Otherwise a commit is as durable as `durability` says
    /// when it returns.
    public let syncsLogOnRequest: Bool
    let walBacklog = Atomic<Int>(0)
    let checkpoints = Atomic<Int>(0)
    /// The pauses between slices the last ``checkpoint()`` took (``lastCheckpointSlicePauses``).
    let lastCheckpointPauses = Atomic<Int>(0)
    /// Envelopes committed but not in `envelope_index` yet, and each topic's last `seq`
    /// (`nil` until loaded).
    let pendingEnvelopes = Mutex<PendingIndex?>(nil)
    /// Account owners routed but not in `account_owners` yet (loaded when a writable store
    /// opens; none, for a store opened to read).
    let pendingOwners = Mutex(PendingOwners())
    /// Whether this process committed: only then does closing the store write its pending
    /// owners. Another process's store (`leadctl register` beside the daemon) holds an old
    /// view of them, and writing it would move `owners_pending_from` past owners only the
    /// daemon holds, which a crash of the daemon would then lose.
    let hasCommitted = Atomic<Bool>(false)
    /// Whether the store has `envelope_index` (schema v5): only a store read as it is, never
    /// migrated, may be older.
    let hasEnvelopeIndex: Bool
    /// Whether `envelopes` has `cut_start` (schema v14) and `cut_end` (v15): only a store read
    /// as it is may lack them.
    let hasCutStart: Bool
    let hasCutEnd: Bool
    /// The lead ids and account keys stored, as filters that let ``lookUp(leadIDs:accountKeys:besideCommit:)``
    /// skip the probes of keys the store cannot hold (never filled for a store opened to read).
    let leadKeys: StoredKeys
    let ownerKeys: StoredKeys
    /// SQLite's `data_version` on the writer's connection when last read: it changes when
    /// another connection commits, whose keys the filters then lack.
    let dataVersion = Atomic<Int>(-1)

    public static let fileName = "leadrouter.sqlite"
    /// How stale an account owner's `routed_at` may get before a lead of the account rewrites it.
    public static let ownerRefreshMilliseconds: Int64 = 3_600_000

    /// Opens (creating when absent) the store in `directory` and brings its schema up to date.
    ///
    /// A damaged file, a file that is not a store, a newer schema or an unwritable directory
    /// is an error; the store never silently starts afresh over data it cannot read.
    ///
    /// - Parameter syncLogOnRequest: with `durability: full`, commits return once written,
    ///   before they are synced; the caller calls ``syncLog()`` (from any thread) and treats a
    ///   commit as durable only after a sync that started after it returned. Group commits then
    ///   overlap the disk's flush with routing the next batch.
    public init(directory: String, durability: Durability = .full, syncLogOnRequest: Bool = false) throws(StoreError) {
        _ = LeadStore.sqliteConfigured
        let path = (directory as NSString).appendingPathComponent(LeadStore.fileName)
        self.path = path
        self.durability = durability
        self.syncsLogOnRequest = syncLogOnRequest && durability == .full
        self.hasEnvelopeIndex = true
        self.hasCutStart = true
        self.hasCutEnd = true
        let configuration = LeadStore.poolConfiguration
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw StoreError(.unavailable, "state_dir \(directory) does not exist or is not a directory")
            }
            pool = try LeadStore.openMigrated(path, configuration)
            (leadKeys, ownerKeys) = LeadStore.keyFilters(path)
            // GRDB turns the writer to `synchronous = NORMAL` when it sets up WAL mode, after
            // `prepareDatabase`: set the level again, on the connection every commit runs on.
            let synchronous = "PRAGMA synchronous = \(durability.rawValue.uppercased())"
            // Syncing on request, commits only write (NORMAL still syncs at checkpoints).
            let writerLevel = syncsLogOnRequest ? "PRAGMA synchronous = NORMAL" : synchronous
            try pool.writeWithoutTransaction { try $0.execute(sql: writerLevel) }
            checkpointer = try LeadStore.openCheckpointer(path, synchronous: synchronous)
            try LeadStore.touchTables(pool)
            // The envelopes not yet indexed and the owners not yet written, found once, before
            // the first commit needs them.
            _ = try pendingSnapshot()
            let owners = try pool.read { try LeadStore.loadPendingOwners($0) }
            pendingOwners.withLock { $0 = owners }
        } catch {
            throw StoreError.wrap(error, "opening the store", path: path)
        }
        // Syncing on request: the directory, since the log's own syncs do not cover its entry
        // there; and what a process that crashed before its sync left in the log, before
        // anything is published again or answered from it. A bare sync is not enough after a
        // failed one (Linux may report success for pages it lost): the TRUNCATE checkpoint
        // writes the log into the database file afresh and syncs it (busy, doing nothing, only
        // if another process reads just then), and the sync covers whatever is left.
        if syncsLogOnRequest {
            try LeadStore.syncDirectory(directory)
            _ = try onWriter("copying the log into the store at start-up") { try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try syncLog()
        }
        try fillKeyFilters()
    }

    deinit {
        leadKeys.close()
        ownerKeys.close()
        // Leaves nothing for the next start to find again (a crash only makes it read more).
        if hasCommitted.load(ordering: .relaxed), pendingOwners.withLock({ !$0.isEmpty }) { try? flushAccountOwners() }
        logFile.withLock { fd in
            if fd >= 0 { close(fd) }
        }
        databaseFile.withLock { fd in
            if fd >= 0 { close(fd) }
        }
    }

    /// Opens an existing store to read it (for `leadctl explain`): never creates a file,
    /// never migrates, never writes.
    public init(readingDirectory directory: String) throws(StoreError) {
        _ = LeadStore.sqliteConfigured
        let path = (directory as NSString).appendingPathComponent(LeadStore.fileName)
        self.path = path
        self.durability = .normal
        self.syncsLogOnRequest = false
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.unavailable, "no store at \(path): is \(directory) the daemon's state_dir?")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            (leadKeys, ownerKeys) = LeadStore.keyFilters(path)
            checkpointer = try DatabaseQueue(path: path, configuration: configuration)
            (hasEnvelopeIndex, hasCutStart, hasCutEnd) = try pool.read { db in
                _ = try Row.fetchOne(db, sql: "SELECT count(*) FROM leads")
                let columns = try db.columns(in: "envelopes").map(\.name)
                return (try db.tableExists("envelope_index"), columns.contains("cut_start"), columns.contains("cut_end"))
            }
        } catch {
            throw StoreError.wrap(error, "opening the store to read", path: path)
        }
    }

    /// Whether SQLite runs with the process-wide options the store wants (`lr_sqlite_setup`):
    /// connections without a mutex of their own, no memory statistics, statement journals
    /// kept in memory (never spilled to a temporary file), the write-ahead log's writes
    /// gathered (a VFS over SQLite's own, `lr_register_gathering_vfs`). Set once, before the
    /// store's first connection; `false` when something in this process had used SQLite
    /// first (its defaults then stay: everything works, each call takes a mutex).
    public static let sqliteConfigured: Bool = lr_sqlite_setup() == 1

    /// The pool's settings: a 10 s busy timeout, two readers, room for a large group commit,
    /// no checkpoint inside a commit.
    static var poolConfiguration: Configuration {
        var configuration = Configuration()
        configuration.label = "leadrouter"
        configuration.busyMode = .timeout(10)
        // The routing loop reads from one thread; replay and explain rarely: two readers do.
        configuration.maximumReaderCount = 2
        configuration.prepareDatabase { db in
            // Room for a large group commit without spilling dirty pages mid-transaction.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Commits never stop to checkpoint: ``checkpoint()`` does it, off the routing thread.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        return configuration
    }

    /// Opens the store at `path` and brings its schema up to date; refuses one that a newer
    /// leadrouterd wrote.
    static func openMigrated(_ path: String, _ configuration: Configuration) throws -> DatabasePool {
        let pool = try DatabasePool(path: path, configuration: configuration)
        let migrator = LeadStore.migrator
        if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
            throw StoreError(.newerSchema, "the store \(path) was written by a newer leadrouterd; run that version or restore a backup")
        }
        try migrator.migrate(pool)
        return pool
    }

    /// The connection ``checkpoint()`` runs on, at the store's `synchronous` level.
    static func openCheckpointer(_ path: String, synchronous: String) throws -> DatabaseQueue {
        var checkpointConfiguration = Configuration()
        checkpointConfiguration.label = "leadrouter-checkpoint"
        checkpointConfiguration.busyMode = .timeout(10)
        checkpointConfiguration.prepareDatabase { try $0.execute(sql: synchronous) }
        return try DatabaseQueue(path: path, configuration: checkpointConfiguration)
    }

    /// Touches every table: a damaged file fails here, at start-up, not on the first lead.
    static func touchTables(_ pool: DatabasePool) throws {
        _ = try pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM topics), (SELECT max(id) FROM leads), (SELECT max(id) FROM envelopes),
                       (SELECT count(*) FROM store_state), (SELECT topic FROM envelope_index LIMIT 1)
                """)
        }
    }
}
