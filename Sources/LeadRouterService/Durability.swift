import LeadStore

/// When committed batches become durable, and so may be answered and published: the
/// routing loop's durability pipeline as a state machine with no I/O. Its methods take
/// what happened (a commit ended, a sync ended, time passed) and return what the loop must
/// do next; the loop performs it (starts a sync on the syncer thread, releases batches,
/// stops). `Committed` is whatever the loop releases: in tests, plain numbers.
///
/// With `durability: full` the store's log is synced on a thread of its own: each sync
/// covers every batch committed before it started, and those are released, in commit order,
/// only when it has succeeded. A failed sync is the end: nothing it covered, nor anything
/// after, is released (after a failed `fdatasync`, Linux may report the next one as a
/// success without the lost pages), and the loop stops. Without log syncs, a commit is as
/// durable as it will be when it returns, and its batch is released at once.
struct Durability<Committed> {
    /// What the loop does next.
    enum Action {
        /// Answer and publish these batches, in this order.
        case release([Committed])
        /// Start a sync of the store's log, for the batches now waiting.
        case startSync
        /// A sync failed: stop; `held` were committed but never released.
        case stop(StoreError, held: [Committed])
    }

    /// Whether commits are made durable by syncs (see the type's description).
    let syncsLog: Bool
    /// Most committed batches held behind one sync before the loop waits for it.
    let heldBatchLimit: Int
    /// While a sync is in flight, a batch of fewer messages than this waits for it (and grows
    /// meanwhile); a larger one, a backlog, is routed and committed beside it.
    let overlapBatch: Int
    /// A sync in flight this long counts as hung.
    let hungAfter: Duration

    /// Committed batches waiting for the next sync, oldest first.
    private(set) var unsynced: [Committed] = []
    /// The batches the sync in flight covers.
    private(set) var syncing: [Committed] = []
    /// When the sync in flight started; `nil` when none is.
    private(set) var syncStarted: ContinuousClock.Instant?
    /// Set once a sync failed.
    private(set) var failure: StoreError?
    private var hangReported = false

    init(syncsLog: Bool, heldBatchLimit: Int = 64, overlapBatch: Int = 256, hungAfter: Duration = .seconds(10)) {
        self.syncsLog = syncsLog
        self.heldBatchLimit = heldBatchLimit
        self.overlapBatch = overlapBatch
        self.hungAfter = hungAfter
    }

    var syncInFlight: Bool { syncStarted != nil }
    /// Batches committed and not yet released.
    var heldBatches: Int { unsynced.count + syncing.count }
    /// Whether nothing committed waits to be released.
    var isSettled: Bool { !syncInFlight && unsynced.isEmpty }

    /// Whether a batch of `count` messages just taken should wait for the sync in flight
    /// instead of being routed now: it would wait for the next sync all the same.
    func shouldHold(batchOf count: Int) -> Bool {
        syncInFlight && count > 0 && count < overlapBatch
    }

    /// Whether the loop must wait for the sync in flight before it goes on: too many batches
    /// are held behind it, and routing further ahead of the disk gains nothing.
    var mustWaitForSync: Bool { syncInFlight && unsynced.count >= heldBatchLimit }

    /// A batch was committed.
    mutating func committed(_ batch: Committed, now: ContinuousClock.Instant) -> [Action] {
        guard syncsLog else { return [.release([batch])] }
        unsynced.append(batch)
        return startSyncIfDue(now: now)
    }

    /// The sync in flight ended.
    mutating func syncEnded(_ result: Result<Void, StoreError>, now: ContinuousClock.Instant) -> [Action] {
        precondition(syncInFlight, "no sync in flight")
        syncStarted = nil
        hangReported = false
        let covered = syncing
        syncing.removeAll()
        switch result {
        case .success:
            return [.release(covered)] + startSyncIfDue(now: now)
        case .failure(let error):
            failure = error
            let held = covered + unsynced
            unsynced.removeAll()
            return [.stop(error, held: held)]
        }
    }

    /// Starts a sync of every batch committed since the last one began, unless one is in
    /// flight (they wait for the next) or a sync failed.
    mutating func startSyncIfDue(now: ContinuousClock.Instant) -> [Action] {
        guard syncsLog, !syncInFlight, !unsynced.isEmpty, failure == nil else { return [] }
        syncing = unsynced
        unsynced.removeAll()
        syncStarted = now
        return [.startSync]
    }

    /// How the pipeline stands at `now`.
    enum Health: Equatable {
        case healthy
        /// A sync has not returned for ``hungAfter``; `firstReport` is true the first time
        /// this is said of it (to log it once).
        case syncHung(firstReport: Bool)
    }

    mutating func health(now: ContinuousClock.Instant) -> Health {
        guard let started = syncStarted, now - started >= hungAfter else { return .healthy }
        defer { hangReported = true }
        return .syncHung(firstReport: !hangReported)
    }

    /// When ``health(now:)`` would next change to hung, for the loop's deadlines.
    var hangDeadline: ContinuousClock.Instant? {
        guard let started = syncStarted, !hangReported else { return nil }
        return started + hungAfter
    }
}
