import Dispatch
import Foundation
import LeadRouting
import LeadStore
import Synchronization

/// Rows (e) and (f): the daemon's two halves measured apart, in process, on the same leads.
///
/// (f) **Routing alone.** The leads go through the real ``LeadPipeline`` on one thread, as the
/// routing loop does (validate, route, decision record, the batch the store takes), with no
/// socket and no store look-up: the routing core's cost per lead.
///
/// (e) **The durable store alone.** Those batches are then committed to a fresh store in the
/// directory the daemon's runs use, as the daemon commits them: `durability: full`, batches
/// of ``batchSize`` (the daemon's largest), the log synced on a second thread while the next
/// batch commits, a background checkpoint every 200 ms (``LeadStore/checkpointInterval``). Nothing else runs meanwhile, so this
/// is the most leads per second the durable store takes on this machine, whatever routing
/// costs: the daemon, which also routes and moves every lead through ZeroMQ on the same
/// cores, cannot beat it.
enum StoreAlone {
    struct Result {
        /// (f) Routing's CPU per lead, on one thread: the median of ``routingRuns``.
        var routingMicrosecondsPerLead: Double
        /// (f) Each pass's CPU per lead, in the order they ran (the first is the one whose
        /// mallocs and instructions are counted).
        var routingRuns: [Double]
        /// (f) Mallocs per lead while routing (`nil` when malloc is not interposed).
        var routingMallocsPerLead: Double?
        /// (f) and (e) instructions per lead, counted by callgrind (`--instructions`).
        var routingInstructionsPerLead: Double?
        var storeInstructionsPerLead: Double?
        /// (e) Leads per second committed and synced.
        var storeLeadsPerSecond: Double
        /// (e) CPU (every thread of the bench) per lead while committing.
        var storeCPUMicrosecondsPerLead: Double
        var leads: Int
        var envelopes: Int
        var commits: Int
        var syncs: Int

        var json: [String: Any] {
            ["routing_alone_us_per_lead": round1(routingMicrosecondsPerLead),
             "routing_alone_us_per_lead_runs": routingRuns.map(round1),
             "routing_alone_mallocs_per_lead": routingMallocsPerLead.map { round1($0) as Any } ?? NSNull(),
             "routing_alone_instructions_per_lead": routingInstructionsPerLead.map { $0.rounded() as Any } ?? NSNull(),
             "store_alone_instructions_per_lead": storeInstructionsPerLead.map { $0.rounded() as Any } ?? NSNull(),
             "store_alone_leads_per_s": round1(storeLeadsPerSecond),
             "store_alone_cpu_us_per_lead": round1(storeCPUMicrosecondsPerLead),
             "leads": leads, "envelopes": envelopes, "commits": commits, "log_syncs": syncs]
        }
    }

    static let batchSize = 2048

    static func measure(directory: String, leads: LeadSet, partners: [Partner], batchSize: Int = StoreAlone.batchSize) throws -> Result {
        // (f) Route every lead in the daemon's batches, timing only that. Each batch is dropped
        // once made, as the daemon drops one once committed: keeping them all would make the
        // figure grow with --leads (a heap of hundreds of MB, cold caches).
        let store = try LeadStore(directory: directory, durability: .full, syncLogOnRequest: true)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var timed = LeadPipeline(config: RouterConfig(partners: partners), seed: 0x5EED)
        let partnerList = try store.partnerListID(for: timed.router)
        let cpuBeforeRouting = ownCPUSeconds()
        let (_, mallocs) = try Instructions.measure("routing_alone") {
            try Allocations.counting { try route(leads, pipeline: &timed, partnerList: partnerList, now: now, batchSize: batchSize, keep: false) }
        }
        var routingRuns = [ownCPUSeconds() - cpuBeforeRouting]
        // Timed twice more, each by a fresh pipeline, and the median kept, as (c) keeps its
        // forwarder's: one pass of one thread takes a busy spell of the shared machine whole.
        // (Not under callgrind, which counts the first pass only.)
        if !Instructions.onValgrind {
            for _ in 0..<2 {
                var again = LeadPipeline(config: RouterConfig(partners: partners), seed: 0x5EED)
                let before = ownCPUSeconds()
                _ = try route(leads, pipeline: &again, partnerList: partnerList, now: now, batchSize: batchSize, keep: false)
                routingRuns.append(ownCPUSeconds() - before)
            }
        }
        let perLead = routingRuns.map { $0 / Double(max(leads.count, 1)) * 1e6 }
        // The batches (e) commits: the same leads routed again by a fresh pipeline, untimed.
        var pipeline = LeadPipeline(config: RouterConfig(partners: partners), seed: 0x5EED)
        let batches = try route(leads, pipeline: &pipeline, partnerList: partnerList, now: now, batchSize: batchSize)
        let envelopes = batches.reduce(0) { $0 + $1.envelopes.count }

        // (e) Commit them as the daemon does, timing from the first commit to the last sync.
        let syncer = LogSyncer(store)
        let checkpoints = Checkpointer(store)
        checkpoints.start()
        let started = Clock.now
        let cpuBefore = ownCPUSeconds()
        try Instructions.measure("store_alone") {
            for batch in batches {
                try store.commit(batch)
                try syncer.request()
            }
            try syncer.finish()
        }
        let seconds = Double(Clock.now - started) / 1e9
        let cpu = ownCPUSeconds() - cpuBefore
        checkpoints.stop()
        return Result(
            routingMicrosecondsPerLead: perLead.sorted()[perLead.count / 2],
            routingRuns: perLead,
            routingMallocsPerLead: mallocs.map { Double($0) / Double(max(leads.count, 1)) },
            storeLeadsPerSecond: Double(leads.count) / max(seconds, 1e-9),
            storeCPUMicrosecondsPerLead: cpu / Double(max(leads.count, 1)) * 1e6,
            leads: leads.count, envelopes: envelopes, commits: batches.count, syncs: syncer.syncs)
    }

    /// Routes `leads` through `pipeline` in the daemon's batches, as the routing loop does
    /// (the frames copied out of the socket's message, owners that change, the store's rows),
    /// with no socket and no store look-up.
    /// With `snapshots`, each batch first keeps a copy of the pipeline as it was, as the
    /// daemon does to undo a batch whose commit fails. Without `keep`, each batch is dropped
    /// once made and none is returned.
    static func route(_ leads: LeadSet, pipeline: inout LeadPipeline, partnerList: Int64, now: Int64,
                      batchSize: Int = StoreAlone.batchSize, snapshots: Bool = false, keep: Bool = true) throws -> [StoreBatch] {
        let topic = SharedBytes(Array("lead".utf8))
        // As the daemon's receiver: each lead copied into a block shared with others.
        var frames = ByteArena()
        var batches: [StoreBatch] = []
        var before: LeadPipeline?
        for start in stride(from: 0, to: leads.count, by: batchSize) {
            if snapshots {
                // As the daemon: the batch before is committed by now, so its ids are forgotten.
                pipeline.forgetRecent(through: pipeline.generation)
                before = pipeline
            }
            defer { withExtendedLifetime(before) {} }
            _ = pipeline.beginBatch()
            var batch = StoreBatch(reservingFor: min(batchSize, leads.count - start))
            batch.createdAt = now
            // One decision serves the batch's leads in turn, as in the daemon.
            var decision = RoutingDecision()
            for i in start..<min(start + batchSize, leads.count) {
                var message = InboundMessage()
                message.append(topic)
                message.append(leads.bytes.withUnsafeBufferPointer { frames.copy(UnsafeBufferPointer(rebasing: $0[leads.starts[i]..<leads.starts[i + 1]])) })
                message.totalSize = topic.count + leads.starts[i + 1] - leads.starts[i]
                guard case .success(let lead) = pipeline.accept(message, from: .ingest) else {
                    throw BenchError("a bench lead was rejected")
                }
                guard case .routed(_, let out) = pipeline.route(lead, now: now, appendingTo: &batch.envelopes, decision: &decision) else {
                    throw BenchError("a bench lead was not routed")
                }
                if let partnerID = decision.partnerID {
                    // As the daemon: only owners that change (here every later lead of an
                    // account is remembered, so this writes no more owners than the daemon).
                    pipeline.forEachOwnerKey(of: lead.facts.account, as: decision.recentOwners) { k, key in
                        if decision.recentOwners.isSame(at: k) != true { batch.accountOwners.append(OwnerChange(key, partnerID)) }
                    }
                }
                batch.add(routed: lead, channel: .ingest, receivedAt: now, decision: decision, envelopes: out, partnerList: partnerList)
            }
            if keep { batches.append(batch) }
        }
        return batches
    }

    /// Syncs the log on a thread of its own: a sync asked for while one runs starts when it
    /// ends and covers every commit since, as the daemon's syncer does.
    final class LogSyncer: Sendable {
        private let store: LeadStore
        private let queue = DispatchQueue(label: "bench-log-sync")
        private struct State {
            var inFlight = false
            var again = false
            var failure: StoreError?
            var syncs = 0
        }
        private let state = Mutex(State())

        init(_ store: LeadStore) { self.store = store }

        var syncs: Int { state.withLock { $0.syncs } }

        func request() throws(StoreError) {
            let start = try state.withLock { (s: inout State) throws(StoreError) -> Bool in
                if let failure = s.failure { throw failure }
                if s.inFlight { s.again = true; return false }
                s.inFlight = true
                return true
            }
            guard start else { return }
            queue.async { [self] in
                while true {
                    var failure: StoreError?
                    do throws(StoreError) { try store.syncLog() } catch { failure = error }
                    let more = state.withLock { s in
                        s.syncs += 1
                        if let failure { s.failure = failure }
                        s.inFlight = s.again && failure == nil
                        s.again = false
                        return s.inFlight
                    }
                    if !more { return }
                }
            }
        }

        /// Waits for the syncs asked for, then syncs once more so every commit is covered.
        func finish() throws(StoreError) {
            queue.sync {}
            if let failure = state.withLock({ $0.failure }) { throw failure }
            try store.syncLog()
            state.withLock { $0.syncs += 1 }
        }
    }

    /// Passive checkpoints every ``LeadStore/checkpointInterval``, as the daemon's checkpoint thread runs them.
    final class Checkpointer: Sendable {
        private let store: LeadStore
        private let stopped = DispatchSemaphore(value: 0)
        private let ended = DispatchSemaphore(value: 0)

        init(_ store: LeadStore) { self.store = store }

        func start() {
            let thread = Thread { [self] in
                let interval = LeadStore.checkpointInterval / .seconds(1)
                while stopped.wait(timeout: .now() + interval) == .timedOut {
                    _ = try? store.checkpoint()
                }
                ended.signal()
            }
            thread.start()
        }

        func stop() {
            stopped.signal()
            ended.wait()
        }
    }
}
