import Foundation
import LeadRouting
import LeadStore
import Logging
import Synchronization
import ZeroMQ

/// What makes a batch durable before it is released: log syncs (`durability: full`) and
/// finishing checkpoints between commits.
extension RoutingLoop {
    /// What a committed batch answers and publishes once it is durable.
    struct CommittedBatch {
        var replies: [(route: [[UInt8]], body: [UInt8])]
        var rejections: [LeadRejection]
        var envelopes: [OutgoingMessage]
        /// The leads in it that came by SUB: no one can be answered about them, so a failed
        /// sync lists them by id.
        var ingestLeadIDs: [String]
    }

    func release(_ batch: CommittedBatch, sockets: Sockets, state: inout LoopState) {
        for rejection in batch.rejections { state.duties.logRejection(rejection) }
        if let intake = sockets.intake {
            for reply in batch.replies { sendReply(reply.route, [reply.body], on: intake) }
        }
        send(batch.envelopes, on: sockets.publish, state: &state)
    }

    // MARK: - Log syncs (durability: full)

    /// Releases the batches of a sync that has ended, and starts the next one. With many
    /// batches held behind a slow sync, waits for it: held batches are memory, and routing
    /// further ahead of the disk gains nothing.
    func collectSync(sockets: Sockets, state: inout LoopState) {
        guard let syncer = state.syncer else { return }
        if state.syncInFlight {
            if state.unsynced.count >= RoutingLoop.heldBatchLimit {
                syncEnded(syncer.waitForResult(), sockets: sockets, state: &state)
            } else if let result = syncer.result() {
                syncEnded(result, sockets: sockets, state: &state)
            }
        }
        startSyncIfDue(state: &state)
    }

    /// False once a sync has been in flight for ``hungSyncAfter``: nothing can be acknowledged
    /// while it hangs, so the systemd watchdog is no longer pinged (and it is logged once).
    func syncIsHealthy(state: inout LoopState) -> Bool {
        guard state.syncInFlight, ContinuousClock.now - state.syncStarted >= RoutingLoop.hungSyncAfter else {
            state.syncHangLogged = false
            return true
        }
        if !state.syncHangLogged {
            state.syncHangLogged = true
            notifier.notify("STATUS=the store's log sync has not returned for \(RoutingLoop.hungSyncAfter)")
            logger.error("a sync of the store's log has not returned; nothing is acknowledged meanwhile, and the systemd watchdog is no longer pinged", metadata: [
                "held_batches": "\(state.syncing.count + state.unsynced.count)",
            ])
        }
        return false
    }

    /// Starts a sync of every batch committed since the last one began, unless one is in
    /// flight (the batches wait for the next).
    func startSyncIfDue(state: inout LoopState) {
        guard let syncer = state.syncer, !state.syncInFlight, !state.unsynced.isEmpty, state.syncFailure == nil else { return }
        state.syncing = state.unsynced
        state.unsynced.removeAll()
        state.syncInFlight = true
        state.syncStarted = ContinuousClock.now
        let store = self.store
        syncer.start { () throws(StoreError) in try store.syncLog() }
    }

    /// Waits until the commit in flight has ended and every committed batch is synced and
    /// released (or a sync failed): before a failed batch is answered, so replies keep their
    /// order, and at shutdown.
    func settleSyncs(sockets: Sockets, state: inout LoopState) {
        collectCommit(waiting: true, sockets: sockets, state: &state)
        guard let syncer = state.syncer else { return }
        while state.syncFailure == nil && (state.syncInFlight || !state.unsynced.isEmpty) {
            startSyncIfDue(state: &state)
            syncEnded(syncer.waitForResult(), sockets: sockets, state: &state)
        }
    }

    /// Releases the batches a successful sync covered, in commit order. A failed sync is
    /// the end: nothing it covered, nor anything after, is released, and the loop stops.
    func syncEnded(_ result: Result<Void, StoreError>, sockets: Sockets, state: inout LoopState) {
        state.syncInFlight = false
        let batches = state.syncing
        state.syncing.removeAll()
        switch result {
        case .success:
            for batch in batches { release(batch, sockets: sockets, state: &state) }
        case .failure(let error):
            state.syncFailure = error
            notifier.notify("STATUS=stopping: the store's log could not be synced to disk")
            // Intake clients get no answer and retry; SUB sources cannot be told, so their
            // leads are named (a resend of one the disk kept is then a duplicate).
            let ingestIDs = (batches + state.unsynced).flatMap(\.ingestLeadIDs) + state.held.compactMap { item in
                item.channel == .ingest && item.message.frames.count == 2 ? LeadParser.readableLeadID(item.message.frames[1]) : nil
            }
            logger.critical("could not sync the store's log to disk: stopping; held leads were neither acknowledged nor published, and the next start recovers what the disk has; SUB leads held are listed by id, for their sources to resend", metadata: [
                "error": "\(error)", "held_batches": "\(batches.count + state.unsynced.count)",
                "held_messages": "\(state.held.count)",
                "ingest_leads_held": "\(ingestIDs.prefix(50).joined(separator: ","))\(ingestIDs.count > 50 ? ",…" : "")",
                "ingest_held_count": "\(ingestIDs.count)",
            ])
        }
    }

    /// Bounds the write-ahead log under a steady stream of commits (see
    /// ``LeadStore/finishCheckpoint()``): the background checkpoint copies most of it, and this
    /// copies the rest with no commit racing it, so the next commit starts the log afresh.
    /// Right after a background checkpoint completed, so little is left to copy; when idle,
    /// or under load once the log is very long; at most once a second.
    func finishCheckpointIfLogIsLong(idle: Bool, state: inout LoopState) {
        // It needs the writer's connection, which a commit in flight holds.
        guard state.committing == nil else { return }
        let now = ContinuousClock.now
        let completed = store.completedCheckpoints
        let limit = idle ? RoutingLoop.walFinishPagesWhenIdle : RoutingLoop.walFinishPagesUnderLoad
        guard completed != state.checkpointsSeen, store.lastKnownWALPages > limit,
              now - state.lastCheckpointFinish >= .seconds(1) else { return }
        state.checkpointsSeen = completed
        state.lastCheckpointFinish = now
        do {
            let started = ContinuousClock.now
            if let result = try store.finishCheckpoint() {
                logger.debug("finished a checkpoint between commits", metadata: [
                    "wal_pages": "\(result.walPages)", "checkpointed": "\(result.checkpointed)",
                    "idle": "\(idle)", "took": "\(ContinuousClock.now - started)",
                ])
            }
        } catch {
            logger.warning("could not checkpoint between commits; will retry", metadata: ["error": "\(error)"])
        }
    }
}
