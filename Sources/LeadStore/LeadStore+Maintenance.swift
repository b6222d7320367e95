import CSQLiteSetup
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints of the write-ahead log, and retention.
extension LeadStore {
    // MARK: - Syncing on request

    /// Makes every commit that returned before this call durable: syncs the write-ahead
    /// log's file (`fdatasync`), which holds them. Safe from any thread; only meaningful with
    /// ``syncsLogOnRequest`` (otherwise commits are synced, or not, as they go).
    public func syncLog() throws(StoreError) {
        let logPath = path + "-wal"
        try logFile.withLock { (fd: inout Int32) throws(StoreError) in
            // SQLite keeps the log's file while the store is open; should it be gone or
            // replaced all the same, sync the one at the path now.
            var open = stat(), atPath = stat()
            if fd >= 0, fstat(fd, &open) != 0 || stat(logPath, &atPath) != 0 || open.st_ino != atPath.st_ino || open.st_nlink == 0 {
                close(fd)
                fd = -1
            }
            if fd < 0 {
                fd = Glibc.open(logPath, O_RDWR | O_CLOEXEC)
                if fd < 0 { throw StoreError(.unavailable, "cannot open the write-ahead log \(logPath) to sync it: \(String(cString: strerror(errno)))") }
            }
            var result: Int32
            var code: Int32 = 0
            repeat {
                result = fdatasync(fd)
                code = result == 0 ? 0 : errno
            } while code == EINTR
            if result != 0 {
                throw StoreError(code == ENOSPC ? .full : .unavailable, "syncing the write-ahead log \(logPath) to disk failed: \(String(cString: strerror(code)))")
            }
        }
        logSyncCount.add(1, ordering: .relaxed)
    }

    /// How many ``syncLog()`` calls have succeeded.
    public var logSyncs: Int { logSyncCount.load(ordering: .relaxed) }

    /// Starts writing out the database file's pages that a long background checkpoint is
    /// copying into it, without waiting for them.
    ///
    /// SQLite syncs the file once, at the end of each checkpoint. After a burst a checkpoint
    /// copies hundreds of megabytes, and left to that sync they reached the disk in one flush
    /// of over a second, which the log's own syncs (what every acknowledgement waits for)
    /// queued behind. Started every few milliseconds once a checkpoint has run for
    /// `threshold` (``CheckpointService`` does), the pages go out as they come, and the final
    /// sync finds few left. Short checkpoints, those of steady traffic, are left alone:
    /// started during them too, the writes kept the disk busy and the log's syncs waited for
    /// them. `nil`: whether a checkpoint runs or not. It changes nothing that is synced, or
    /// when. Returns `false` when the file could not be opened or its writeback not started
    /// (nothing is lost: the checkpoint's sync still writes everything, as before).
    @discardableResult
    public func startWriteback(duringCheckpointsLongerThan threshold: Duration? = nil) -> Bool {
        if let threshold {
            let started = checkpointStarted.load(ordering: .relaxed)
            let now = DispatchTime.now().uptimeNanoseconds
            guard started != 0, now > started, Duration.nanoseconds(now - started) >= threshold else { return true }
        }
        return databaseFile.withLock { fd in
            if fd < 0 { fd = Glibc.open(path, O_RDONLY | O_CLOEXEC) }
            return fd >= 0 && lr_start_writeback(fd) == 0
        }
    }

    /// Syncs a directory, so that files created in it survive a power loss.
    static func syncDirectory(_ directory: String) throws(StoreError) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError(.unavailable, "cannot open \(directory) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw StoreError(.unavailable, "syncing the directory \(directory) failed: \(String(cString: strerror(errno)))") }
    }

    // MARK: - Checkpoints

    /// Copies committed pages from the write-ahead log into the database file (a passive
    /// checkpoint: it never blocks a commit). Called periodically from a background task so
    /// the routing thread's commits never pay for it.
    @discardableResult
    public func checkpoint() throws(StoreError) -> (walPages: Int, checkpointed: Int) {
        do {
            checkpointStarted.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
            defer { checkpointStarted.store(0, ordering: .relaxed) }
            // In slices, unless the last checkpoint left a backlog (see checkpointSliceBacklog).
            let slicePages = walBacklog.load(ordering: .relaxed) < LeadStore.checkpointSliceBacklog ? LeadStore.checkpointSlicePages : 0
            // A checkpoint cannot run inside a transaction: no `write`, which opens one.
            let result = try checkpointer.writeWithoutTransaction { db in
                // In slices, on the thread SQLite copies on: copying a few hundred pages in
                // one go took a core for milliseconds while leads waited for it
                // (docs/benchmarks.md, "Assignment envelopes without their end; owners by bucket;
                // the checkpoint in slices").
                let pausesBefore = lr_database_write_pauses()
                lr_slice_database_writes(Int32(slicePages), Int32(LeadStore.checkpointSlicePause / .microseconds(1)))
                defer {
                    lr_slice_database_writes(0, 0)
                    lastCheckpointPauses.store(Int(lr_database_write_pauses() - pausesBefore), ordering: .relaxed)
                }
                return try LeadStore.passiveCheckpoint(db)
            }
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

    /// ``checkpoint()`` copies this many pages into the database file, then sleeps for
    /// ``checkpointSlicePause`` before the next: a checkpoint of a few hundred pages becomes
    /// slices of about a tenth of a millisecond with the core given up between them. Its
    /// copying is nice 10 on the daemon's checkpoint thread, but the scheduler still let a
    /// burst of it hold a core the routing thread or ZeroMQ's were waiting for. A writer
    /// finishing a checkpoint between commits (``finishCheckpoint()``) copies at full speed.
    public static let checkpointSlicePages = 16
    public static let checkpointSlicePause = Duration.microseconds(100)
    /// …unless the checkpoint before left this many frames of the log or more uncopied (added
    /// while it ran, under a burst or a backlog; or held by a reader): then it copies at full
    /// speed. Slices at most halve how fast a checkpoint copies, and the log must not outgrow
    /// that under load; at 10,000 leads/s a checkpoint leaves a few hundred frames.
    public static let checkpointSliceBacklog = 8_192

    /// How many pauses between slices the last ``checkpoint()`` took.
    public var lastCheckpointSlicePauses: Int { lastCheckpointPauses.load(ordering: .relaxed) }

    /// The write-ahead log's length in pages when it was last checkpointed.
    public var lastKnownWALPages: Int { walPages.load(ordering: .relaxed) }

    /// The pages the last checkpoint found in the log but could not copy back (added while it
    /// ran, or held by a reader).
    public var lastKnownWALBacklog: Int { walBacklog.load(ordering: .relaxed) }

    /// How often the daemon's checkpoint thread (and the bench's row (e), which commits as the
    /// daemon does) runs ``checkpoint()``. Every 50 ms was tried: a lower p99 after bursts of
    /// 60,000 leads, but a stall of 40-60 ms in a third of the scale rows' latency runs after
    /// 100,000 (docs/benchmarks.md, "Key filters and the undo copy; checkpoints every 50 ms, not kept").
    public static let checkpointInterval = Duration.milliseconds(200)

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
        let result = try onWriter("checkpointing the write-ahead log from the writer") { try LeadStore.passiveCheckpoint($0) }
        return result.busy ? nil : (result.walPages, result.checkpointed)
    }

    /// Busy is true when another checkpoint held the lock and nothing was done.
    static func passiveCheckpoint(_ db: Database) throws -> (busy: Bool, walPages: Int, checkpointed: Int) {
        let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
        return ((row?[0] ?? 0) == 1, row?[1] ?? 0, row?[2] ?? 0)
    }

    // MARK: - Retention

    /// The row id SQLite gives the next row of `table` (`leads`, `envelopes`): one past the
    /// largest left, so 1 again once every row is deleted.
    static func nextRowID(_ table: String, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) + 1 FROM \(table)") ?? 1
    }

    /// Brings the stored bound `key` down to `next` when it is above it.
    static func lowerBound(_ key: String, to next: Int64, _ db: Database) throws {
        try db.execute(sql: "UPDATE store_state SET value = ? WHERE key = ? AND value > ?", arguments: [next, key, next])
    }

    /// Deletes up to `limit` leads and up to `limit` envelopes older than `cutoff`
    /// (milliseconds since 1970). Returns how many rows went; call again until 0.
    /// Each call is one short transaction, so routing never waits long behind it.
    /// Topic sequence counters are never pruned: `seq` keeps counting.
    /// Registrations that expired before `expiredBefore` (default: `cutoff`) go too, and the
    /// retired partner lists no lead left can name.
    public func prune(olderThan cutoff: Int64, limit: Int = 1000, expiredBefore: Int64? = nil) throws(StoreError) -> Int {
        do {
            return try pool.writeWithoutTransaction { db in
                var deleted = 0
                var lastPruned: Int64?
                var nextLeadRow: Int64?
                try db.inTransaction {
                    // Envelopes go first, and a lead only once no stored envelope splices it in.
                    (deleted, lastPruned) = try LeadStore.pruneEnvelopes(olderThan: cutoff, limit: limit, db)
                    try db.execute(
                        sql: """
                            DELETE FROM leads WHERE id IN (SELECT id FROM (SELECT id, routed_at FROM leads ORDER BY id LIMIT ?)
                                WHERE routed_at < ?
                                  AND id < coalesce((SELECT lead_row FROM envelopes WHERE lead_row IS NOT NULL ORDER BY id LIMIT 1), 9223372036854775807))
                            """,
                        arguments: [limit, cutoff])
                    deleted += db.changesCount
                    // Account ownership learnt from routing lapses when the account has had no lead for as long.
                    // Found through the index by day (up to the cutoff's), then by the millisecond.
                    try db.execute(
                        sql: """
                            DELETE FROM account_owners WHERE (bucket, account_key) IN (SELECT bucket, account_key FROM account_owners
                                WHERE \(LeadStore.ownerDayExpression) <= ? AND routed_at < ? LIMIT ?)
                            """,
                        arguments: [cutoff / LeadStore.ownerDayMilliseconds, cutoff, limit])
                    deleted += db.changesCount
                    try db.execute(sql: "DELETE FROM registrations WHERE expires < ?", arguments: [expiredBefore ?? cutoff])
                    deleted += db.changesCount
                    deleted += try LeadStore.pruneCases(olderThan: cutoff, limit: limit, db)
                    deleted += try LeadStore.prunePartnerLists(db)
                    // Once the newest rows are pruned (every envelope, or every lead), SQLite numbers
                    // new rows from 1 again. A stored lower bound past the next row id would then make
                    // a restart after a crash look for pending rows above the ones numbered again
                    // (and miss them): it comes down to the next row id.
                    try LeadStore.lowerBound(LeadStore.pendingFromKey, to: LeadStore.nextRowID("envelopes", db), db)
                    let next = try LeadStore.nextRowID("leads", db)
                    try LeadStore.lowerBound(LeadStore.ownersPendingFromKey, to: next, db)
                    nextLeadRow = next
                    return .commit
                }
                // Committed, and still before any other commit: pending index entries of pruned
                // envelopes go too, so none is indexed after its envelope is gone.
                if let lastPruned { pendingEnvelopes.withLock { $0?.drop(through: lastPruned) } }
                pendingOwners.withLock { pending in
                    if let nextLeadRow { pending.lowerCycleStart(to: nextLeadRow) }
                    pending.forgetStored { $0.routedAt < cutoff }
                }
                return deleted
            }
        } catch {
            throw StoreError.wrap(error, "pruning old leads", path: path)
        }
    }

    /// Deletes up to `limit` envelopes older than `cutoff` with their index entries, once
    /// each topic's last `seq` is saved in `topics`. Returns how many went and the newest
    /// row id among them.
    static func pruneEnvelopes(olderThan cutoff: Int64, limit: Int, _ db: Database) throws -> (deleted: Int, lastPruned: Int64?) {
        // Rows are appended in time order, so the oldest are the first ids: look only at
        // the first `limit` rows, never scan the whole table for old ones. Only those before
        // the first row still kept go, so what is pruned is always the first ids: after the
        // wall clock stepped back, later rows can look older than earlier ones, and the pending
        // index entries are forgotten up to the last id pruned (`drop(through:)`).
        let first = "SELECT id, created_at FROM envelopes ORDER BY id LIMIT ?1"
        let old = """
            SELECT id FROM (\(first)) WHERE id < coalesce((SELECT min(id) FROM (\(first)) WHERE created_at >= ?2), 9223372036854775807)
            """
        // Commits leave a topic's last `seq` to its envelopes: before they go, it is saved
        // in `topics`, so a topic whose envelopes are all pruned never numbers from 1 again.
        try db.execute(
            sql: """
                INSERT INTO topics (topic, last_seq, published_seq)
                SELECT topic, max(seq), 0 FROM envelopes WHERE id IN (\(old)) GROUP BY topic
                ON CONFLICT (topic) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)
                """,
            arguments: [limit, cutoff])
        try db.execute(
            sql: "DELETE FROM envelope_index WHERE (topic, seq) IN (SELECT topic, seq FROM envelopes WHERE id IN (\(old)))",
            arguments: [limit, cutoff])
        let lastPruned = try Int64.fetchOne(db, sql: "SELECT max(id) FROM (\(old))", arguments: [limit, cutoff])
        try db.execute(sql: "DELETE FROM envelopes WHERE id IN (\(old))", arguments: [limit, cutoff])
        return (db.changesCount, lastPruned)
    }
}
