public import LeadRouting

/// What the routing loop needs of a store: recovery at start-up, look-ups while routing,
/// group commits, log syncs, published watermarks, and the write-ahead log's upkeep.
///
/// ``LeadStore`` is the real one (SQLite through GRDB); ``MemoryRoutingStore`` keeps the
/// same state in memory, for tests of the service layer that need no disk. Every method
/// may be called from any thread (the loop commits and syncs on worker threads), so an
/// implementation is `Sendable` and does its own locking.
public protocol RoutingStore: AnyObject, Sendable {
    /// Where the store lives, for logs.
    var path: String { get }
    var durability: Durability { get }
    /// Whether commits leave the log to ``syncLog()`` (`durability: full` with a sync thread).
    var syncsLogOnRequest: Bool { get }

    // MARK: Recovery

    /// The store's id for a partner list and the router's candidate lists
    /// (``Router/candidateLists``), which decision records index into.
    func partnerListID(_ partnerIDs: [String], candidateLists: [[Int]]) throws(StoreError) -> Int64
    func topicStates() throws(StoreError) -> [String: TopicState]
    func partnerStates() throws(StoreError) -> [String: PartnerState]
    /// Registrations added at run time (`leadctl register`).
    func registrations() throws(StoreError) -> [Registration]
    /// Changes whenever ``registrations()`` would return something new.
    func registrationsVersion() throws(StoreError) -> Int64

    /// Every case waiting on a deadline (open offers, pools, follow-ups).
    func openCases() throws(StoreError) -> [LeadCase]

    // MARK: Routing

    /// What the store holds of each of `leadIDs` it routed, for partner actions (read after
    /// the last commit: the caller waits for a commit in flight).
    func caseRecords(leadIDs: [String]) throws(StoreError) -> [String: CaseRecord]

    /// Which of `leadIDs` are stored, and who owns each of `accountKeys`. `besideCommit`:
    /// a commit is in flight on another thread, so read beside it.
    func lookUp(leadIDs: [String], accountKeys: [String], besideCommit: Bool) throws(StoreError)
        -> (known: Set<String>, owners: StringTable<AccountOwner>)
    /// Writes one batch in one transaction, with the published watermarks given.
    func commit(_ batch: StoreBatch, published: [String: Int]) throws(StoreError)
    /// Makes every commit that returned before it durable (see ``syncsLogOnRequest``).
    func syncLog() throws(StoreError)
    /// Records the last `seq` published per topic.
    func markPublished(_ published: [String: Int]) throws(StoreError)
    /// Writes account owners still held in memory (at a clean stop).
    func flushAccountOwners() throws(StoreError)
    /// Envelopes of `topic` from `fromSeq` through `throughSeq`, in `seq` order, at most `limit`.
    func envelopes(topic: String, fromSeq: Int, limit: Int, throughSeq: Int) throws(StoreError) -> [OutgoingMessage]

    // MARK: Upkeep

    /// How many background checkpoints have completed.
    var completedCheckpoints: Int { get }
    /// The write-ahead log's length in pages, as last seen.
    var lastKnownWALPages: Int { get }
    /// Pages of the log not yet copied back, as last seen.
    var lastKnownWALBacklog: Int { get }
    /// A background checkpoint, from a connection of its own.
    @discardableResult
    func checkpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int)
    /// Starts writing out what a background checkpoint running for at least `threshold` (any
    /// time: `nil`) copies into the database file, without waiting; `false` when that could
    /// not be started.
    @discardableResult
    func startWriteback(duringCheckpointsLongerThan threshold: Duration?) -> Bool
    /// Finishes a checkpoint from the writer, between commits; `nil` when there was nothing to do.
    func finishCheckpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int)?
    /// Deletes up to `limit` rows past retention; returns how many.
    func prune(olderThan cutoff: Int64, limit: Int, expiredBefore: Int64?) throws(StoreError) -> Int
}

extension RoutingStore {
    /// The store's id for a partner list alone (records then pack their candidates' positions).
    public func partnerListID(_ partnerIDs: [String]) throws(StoreError) -> Int64 {
        try partnerListID(partnerIDs, candidateLists: [])
    }

    /// The store's id for `router`'s partner ids and candidate lists together: the records
    /// `router` writes index into both, so both come from it.
    public func partnerListID(for router: Router) throws(StoreError) -> Int64 {
        try partnerListID(router.partnerIDs, candidateLists: router.candidateLists)
    }
}

extension LeadStore: RoutingStore {}
