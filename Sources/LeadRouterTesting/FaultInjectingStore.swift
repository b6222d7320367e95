import Foundation
public import LeadRouting
public import LeadStore
import Synchronization

/// A ``RoutingStore`` that passes everything to another and fails or stalls what a test asks
/// it to: refused commits (a full disk), failed or hung log syncs, failed look-ups. It is how
/// the service layer's failure paths are tested in process, in milliseconds, with no failpoint
/// in the daemon itself.
public final class FaultInjectingStore: RoutingStore {
    private struct Faults {
        var commitFailures = 0
        var syncsBeforeFailing: Int?
        var lookUpFailures = 0
        var syncsStarted = 0
        var readsStarted = 0
        var commitsStarted = 0
        var writebacksStarted = 0
        var watermarkSaves: [Int] = []
        var finishesStarted = 0
        var pretendedLog: (pages: Int, backlog: Int, completedCheckpoints: Int)?
    }

    public let base: any RoutingStore
    private let faults = Mutex(Faults())
    private let syncGate = Gate()
    private let readGate = Gate()
    private let commitGate = Gate()

    public init(_ base: any RoutingStore) { self.base = base }

    // MARK: What a test asks for

    /// The next `count` commits fail as on a full disk, writing nothing.
    public func failCommits(_ count: Int = 1) { faults.withLock { $0.commitFailures = count } }
    /// Syncs succeed `successes` more times, then every one fails as an I/O error.
    public func failSyncs(after successes: Int) { faults.withLock { $0.syncsBeforeFailing = successes } }
    /// The next `count` look-ups fail.
    public func failLookUps(_ count: Int = 1) { faults.withLock { $0.lookUpFailures = count } }
    /// Syncs block until ``releaseSyncs()``.
    public func hangSyncs() { syncGate.close() }
    public func releaseSyncs() { syncGate.open() }
    /// Syncs started so far (hung ones included).
    public var syncsStarted: Int { faults.withLock { $0.syncsStarted } }
    /// Commits block until ``releaseCommits()``.
    public func hangCommits() { commitGate.close() }
    public func releaseCommits() { commitGate.open() }
    /// Commits started so far (hung ones included).
    public var commitsStarted: Int { faults.withLock { $0.commitsStarted } }
    /// Database-file writebacks asked for so far (``RoutingStore/startWriteback(duringCheckpointsLongerThan:)``).
    public var writebacksStarted: Int { faults.withLock { $0.writebacksStarted } }

    /// From now on the store reports a log of `pages` pages, `backlog` of them left uncopied
    /// by the last of `completedCheckpoints` background checkpoints, whatever its own log is
    /// (until ``stopPretendingLog()``): how a test brings the routing loop to finish a checkpoint.
    public func pretendLog(pages: Int, backlog: Int = 0, completedCheckpoints: Int) {
        faults.withLock { $0.pretendedLog = (pages, backlog, completedCheckpoints) }
    }
    public func stopPretendingLog() { faults.withLock { $0.pretendedLog = nil } }
    /// Checkpoints the routing loop finished between commits (``RoutingStore/finishCheckpoint()``).
    public var finishesStarted: Int { faults.withLock { $0.finishesStarted } }

    /// How many topics' published watermarks each save took (with a commit, or alone), in order.
    public var watermarkSaves: [Int] { faults.withLock { $0.watermarkSaves } }
    /// Envelope reads (replay) block until ``releaseEnvelopeReads()``.
    public func hangEnvelopeReads() { readGate.close() }
    public func releaseEnvelopeReads() { readGate.open() }
    /// Envelope reads started so far (hung ones included).
    public var envelopeReadsStarted: Int { faults.withLock { $0.readsStarted } }

    // MARK: RoutingStore

    public var path: String { base.path }
    public var durability: Durability { base.durability }
    public var syncsLogOnRequest: Bool { base.syncsLogOnRequest }
    public func partnerListID(_ partnerIDs: [String], candidateLists: [[Int]]) throws(StoreError) -> Int64 {
        try base.partnerListID(partnerIDs, candidateLists: candidateLists)
    }
    public func topicStates() throws(StoreError) -> [String: TopicState] { try base.topicStates() }
    public func partnerStates() throws(StoreError) -> [String: PartnerState] { try base.partnerStates() }
    public func registrations() throws(StoreError) -> [Registration] { try base.registrations() }
    public func registrationsVersion() throws(StoreError) -> Int64 { try base.registrationsVersion() }
    public func openCases() throws(StoreError) -> [LeadCase] { try base.openCases() }
    public func caseRecords(leadIDs: [String]) throws(StoreError) -> [String: CaseRecord] { try base.caseRecords(leadIDs: leadIDs) }

    public func lookUp(leadIDs: [String], accountKeys: [String], besideCommit: Bool) throws(StoreError)
        -> (known: Set<String>, owners: StringTable<AccountOwner>) {
        let fail = faults.withLock { f in
            defer { f.lookUpFailures = max(0, f.lookUpFailures - 1) }
            return f.lookUpFailures > 0
        }
        if fail { throw StoreError(.unavailable, "looking up leads: cannot read \(path) (injected fault)") }
        return try base.lookUp(leadIDs: leadIDs, accountKeys: accountKeys, besideCommit: besideCommit)
    }

    public func commit(_ batch: StoreBatch, published: [String: Int]) throws(StoreError) {
        faults.withLock { $0.commitsStarted += 1 }
        commitGate.pass()
        let fail = faults.withLock { f in
            defer { f.commitFailures = max(0, f.commitFailures - 1) }
            return f.commitFailures > 0
        }
        if fail { throw StoreError(.full, "committing a batch: the disk holding \(path) is full (injected fault)") }
        try base.commit(batch, published: published)
        if !published.isEmpty { faults.withLock { $0.watermarkSaves.append(published.count) } }
    }

    public func syncLog() throws(StoreError) {
        let fail = faults.withLock { f in
            f.syncsStarted += 1
            if let left = f.syncsBeforeFailing {
                if left <= 0 { return true }
                f.syncsBeforeFailing = left - 1
            }
            return false
        }
        syncGate.pass()
        if fail { throw StoreError(.unavailable, "syncing the write-ahead log \(path)-wal to disk failed: Input/output error (injected fault)") }
        try base.syncLog()
    }

    public func markPublished(_ published: [String: Int]) throws(StoreError) {
        try base.markPublished(published)
        if !published.isEmpty { faults.withLock { $0.watermarkSaves.append(published.count) } }
    }
    public func flushAccountOwners() throws(StoreError) { try base.flushAccountOwners() }
    public func envelopes(topic: String, fromSeq: Int, limit: Int, throughSeq: Int) throws(StoreError) -> [OutgoingMessage] {
        faults.withLock { $0.readsStarted += 1 }
        readGate.pass()
        return try base.envelopes(topic: topic, fromSeq: fromSeq, limit: limit, throughSeq: throughSeq)
    }
    public var completedCheckpoints: Int { faults.withLock { $0.pretendedLog?.completedCheckpoints } ?? base.completedCheckpoints }
    public var lastKnownWALPages: Int { faults.withLock { $0.pretendedLog?.pages } ?? base.lastKnownWALPages }
    public var lastKnownWALBacklog: Int { faults.withLock { $0.pretendedLog?.backlog } ?? base.lastKnownWALBacklog }
    public func checkpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int) { try base.checkpoint() }
    public func finishCheckpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int)? {
        faults.withLock { $0.finishesStarted += 1 }
        return try base.finishCheckpoint()
    }
    public func startWriteback(duringCheckpointsLongerThan threshold: Duration?) -> Bool {
        faults.withLock { $0.writebacksStarted += 1 }
        return base.startWriteback(duringCheckpointsLongerThan: threshold)
    }
    public func prune(olderThan cutoff: Int64, limit: Int, expiredBefore: Int64?) throws(StoreError) -> Int {
        try base.prune(olderThan: cutoff, limit: limit, expiredBefore: expiredBefore)
    }
}

/// Where a caller waits while a test holds it closed.
private final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = true  // guarded by `condition`

    func close() {
        condition.lock()
        isOpen = false
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    /// Returns at once when open; otherwise once opened.
    func pass() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }
}
