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
        for endpoint in sockets.inbound { endpoint.stopTaking() }
        while true {
            let batch = takeBatch()
            if batch.isEmpty { break }
            process(batch)
        }
        settleSyncs()
        try stopIfSyncFailed()
        saveAtCleanStop()
        sockets.close(lingerMilliseconds: RoutingEngine.publishLingerMilliseconds)
        logger.info("leadrouterd stopped", metadata: LoopDuties.metadata(counters, storageFailures: storageFailures))
    }

    private func stopIfSyncFailed() throws {
        guard let failure = durability.failure else { return }
        sockets.close(lingerMilliseconds: 0)
        throw LogSyncFailure("\(failure)")
    }

    /// Watermarks, every changed rotation counter, pending account owners, and a last sync.
    private func saveAtCleanStop() {
        persistPublished(now: clock.now)
        let rotation = pipeline.takeChangedPartnerStates()
        if !rotation.isEmpty {
            var final = StoreBatch()
            final.partnerStates = rotation
            do { try store.commit(final, published: [:]) } catch {
                logger.warning("could not save rotation state; fairness resumes from the last save", metadata: ["error": "\(error)"])
            }
        }
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
