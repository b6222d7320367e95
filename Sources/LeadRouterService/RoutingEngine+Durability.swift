import LeadRouting
import LeadStore
import Logging

/// Carrying out what the ``Durability`` state machine says: commits collected from the
/// committer, syncs started on and collected from the syncer, batches released.
extension RoutingEngine {
    func perform(_ actions: [Durability<CommittedBatch>.Action]) {
        for action in actions {
            switch action {
            case .release(let batches):
                for batch in batches { release(batch) }
            case .startSync:
                let store = self.store, timer = metrics?.storeSyncSeconds
                syncer?.start { Result { () throws(StoreError) in try store.syncLog(timer: timer) } }
            case .stop(let error, let heldBatches):
                reportSyncFailure(error, heldBatches: heldBatches)
            }
        }
    }

    /// Answers a durable batch's intake clients and publishes its envelopes.
    func release(_ batch: CommittedBatch) {
        let started = ContinuousClock.now
        defer { pauses.add(.publish, since: started) }
        let now = clock.now
        for rejection in batch.rejections { duties.logRejection(rejection, now: now) }
        // Durable now: replay may serve them as soon as a client hears it was accepted.
        watermarks.record(batch.lastSeqs)
        for reply in batch.replies {
            (reply.channel == .control ? sockets.control : sockets.intake)?.reply(reply.route, reply.body)
        }
        publish(batch.envelopes)
        counters.add(batch.counts)
        metricsFold?.released(batch, now: now)
    }

    /// Handles the outcome of the commit in flight once it has ended, first waiting for it
    /// when `waiting`; false when it failed.
    @discardableResult
    func collectCommit(waiting: Bool) -> Bool {
        guard let inFlight = committing, let result = waiting ? waitForCommit() : committer.result() else { return true }
        committing = nil
        committed(inFlight, result)
        return (try? result.get()) != nil
    }

    /// The commit in flight's result, once it has ended: the wait counted as a pause.
    private func waitForCommit() -> Result<Void, StoreError>? {
        let started = ContinuousClock.now
        defer { pauses.add(.waitCommit, since: started) }
        return committer.waitForResult()
    }

    /// The sync in flight's result, once it has ended: the wait counted as a pause.
    private func waitForSync(_ syncer: WorkerThread) -> Result<Void, StoreError> {
        let started = ContinuousClock.now
        defer { pauses.add(.waitSync, since: started) }
        return syncer.waitForResult()
    }

    /// Releases the batches of a sync that has ended, and starts the next one. With many
    /// batches held behind a slow sync, waits for it.
    func collectSync() {
        if let syncer, durability.syncInFlight {
            if durability.mustWaitForSync {
                perform(durability.syncEnded(waitForSync(syncer), now: clock.now))
            } else if let result = syncer.result() {
                perform(durability.syncEnded(result, now: clock.now))
            }
        }
        perform(durability.startSyncIfDue(now: clock.now))
    }

    /// Waits until the commit in flight has ended and every committed batch is synced and
    /// released (or a sync failed): before a failed batch is answered, so replies keep their
    /// order, and at shutdown.
    func settleSyncs() {
        collectCommit(waiting: true)
        guard let syncer else { return }
        while !hasFailed && !durability.isSettled {
            perform(durability.startSyncIfDue(now: clock.now))
            perform(durability.syncEnded(waitForSync(syncer), now: clock.now))
        }
    }

    /// False once a sync has been in flight too long: nothing can be acknowledged while it
    /// hangs, so the systemd watchdog is no longer pinged (and it is logged once).
    func syncIsHealthy(now: ContinuousClock.Instant) -> Bool {
        switch durability.health(now: now) {
        case .healthy:
            return true
        case .syncHung(let firstReport):
            if firstReport {
                notifier.notify("STATUS=the store's log sync has not returned for \(durability.hungAfter)")
                logger.error("a sync of the store's log has not returned; nothing is acknowledged meanwhile, and the systemd watchdog is no longer pinged", metadata: [
                    "held_batches": "\(durability.heldBatches)",
                ])
            }
            return false
        }
    }

    /// A failed sync is the end: intake clients get no answer and retry; SUB sources cannot
    /// be told, so their leads are named (a resend of one the disk kept is then a duplicate).
    private func reportSyncFailure(_ error: StoreError, heldBatches: [CommittedBatch]) {
        notifier.notify("STATUS=stopping: the store's log could not be synced to disk")
        let ingestIDs = heldBatches.flatMap(\.ingestLeadIDs) + held.compactMap { item in
            item.channel == .ingest && item.message.frameCount == 2 ? LeadParser.readableLeadID(item.message.frame(1)) : nil
        }
        logger.critical("could not sync the store's log to disk: stopping; held leads were neither acknowledged nor published, and the next start recovers what the disk has; SUB leads held are listed by id, for their sources to resend", metadata: [
            "error": "\(error)", "held_batches": "\(heldBatches.count)",
            "held_messages": "\(held.count)",
            "ingest_leads_held": "\(LoopDuties.idList(ingestIDs))",
            "ingest_held_count": "\(ingestIDs.count)",
        ])
    }
}

extension PipelineCounters {
    /// Adds what another batch counted.
    mutating func add(_ other: PipelineCounters) {
        received += other.received
        routed += other.routed
        routedToPartner += other.routedToPartner
        unmatched += other.unmatched
        duplicates += other.duplicates
        published += other.published
        rejected.merge(other.rejected, uniquingKeysWith: +)
        offerEvents.merge(other.offerEvents, uniquingKeysWith: +)
        controlRequests += other.controlRequests
    }
}
