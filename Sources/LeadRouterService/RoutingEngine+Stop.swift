import LeadRouting
import LeadStore
import Logging

/// The end of the loop: a graceful stop, or the stop after a failed log sync.
extension RoutingEngine {
    /// How long the feed keeps flushing to subscribers once the loop stops.
    static let publishLingerMilliseconds = 3000

    /// Takes no new messages, routes and commits what was already received (answering intake
    /// before it is unbound, which closes its connections), saves what is saved at a clean
    /// stop, and closes the sockets. After a failed log sync, throws ``LogSyncFailure``
    /// instead: nothing more is answered or published.
    func stop() throws {
        defer { stopWorkers() }
        try stopIfSyncFailed()
        notifier.notify("STOPPING=1\nSTATUS=stopping: finishing in-flight leads")
        if !held.isEmpty {
            let batch = held
            held.removeAll()
            process(batch)
        }
        settleSyncs()
        drainForStop()
        try stopIfSyncFailed()
        saveAtCleanStop()
        sockets.close(lingerMilliseconds: RoutingEngine.publishLingerMilliseconds)
        logger.notice("routing thread pauses of 1 ms or more since start, and the longest, by part: \(pauses.summary)")
        logger.info("leadrouterd stopped", metadata: LoopDuties.metadata(counters, storageFailures: storageFailures))
    }

    /// How long a stop keeps taking intake messages that are already waiting.
    static let intakeDrain = Duration.seconds(2)

    /// Ingest stops first; intake (and control) stay bound while what waits there is routed and answered
    /// (for at most ``intakeDrain``, so a client that keeps sending cannot hold the stop up),
    /// then stops too. What ingest still queued is routed last: no one is answered for it.
    /// Intake messages that arrive after that are never taken, so never acknowledged: their
    /// clients send them again to the next daemon.
    private func drainForStop() {
        sockets.ingest.stopTaking()
        let deadline = clock.now + RoutingEngine.intakeDrain
        while clock.now < deadline {
            let batch = takeBatch()
            if batch.isEmpty { break }
            process(batch)
        }
        settleSyncs()
        sockets.intake?.stopTaking()
        sockets.control?.stopTaking()
        while !hasFailed {
            let batch = takeBatch(from: [sockets.ingest])
            if batch.isEmpty { break }
            process(batch)
        }
        settleSyncs()
    }

    private func stopIfSyncFailed() throws {
        guard let failure = durability.failure else { return }
        sockets.close(lingerMilliseconds: 0)
        throw LogSyncFailure("\(failure)")
    }

    /// Watermarks, every changed rotation counter, pending account owners, and a last sync.
    private func saveAtCleanStop() {
        persistPublished(now: clock.now)
        saveChangedRotation()
        do { try store.flushAccountOwners() } catch {
            logger.warning("could not write pending account owners; the next start finds them again from the leads", metadata: ["error": "\(error)"])
        }
        if store.syncsLogOnRequest {
            do { try store.syncLog() } catch {
                logger.warning("could not sync the store at shutdown", metadata: ["error": "\(error)"])
            }
        }
    }
}
