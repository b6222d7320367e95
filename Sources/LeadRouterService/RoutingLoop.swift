import Foundation
public import LeadRouting
public import LeadStore
public import Logging
import Synchronization
import ZeroMQ

/// A failure that keeps the daemon from starting, naming the config key involved.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The store's log could not be synced to disk: the daemon stops rather than acknowledge
/// or publish what may not be on disk (after a failed `fdatasync`, Linux may report the
/// next one as a success without the lost pages). A restart recovers from what the disk has.
public struct LogSyncFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The thread that owns every LeadRouter socket. Each turn it:
///
/// 1. answers replay requests;
/// 2. takes every message waiting on the ingest SUB and the intake ROUTER (up to
///    ``batchLimit``): a batch is whatever arrived while the previous commit ran;
/// 3. validates, de-duplicates and routes them with the pure ``LeadPipeline``;
/// 4. commits the batch to the ``LeadStore`` in one transaction (group commit); under a
///    backlog, on a ``StoreWorker`` of its own while the next batch is routed;
/// 5. only once it is durable acknowledges intake clients and publishes the envelopes:
///    with `durability: full` a ``StoreWorker`` flushes the log to disk while the next batch
///    is routed and committed, and the batches a sync covered are released when it ends;
/// 6. sends heartbeats on idle topics, pings the systemd watchdog.
///
/// ZeroMQ sockets are not thread-safe, so they are created, used and closed on this one
/// thread. Other threads talk to it only through ``requestStop()``, which sets a flag and
/// signals an eventfd the loop polls alongside its sockets.
public final class RoutingLoop: Sendable {
    public let config: RouterConfig
    let store: LeadStore
    let logger: Logger
    let notifier: SystemdNotifier
    let wakeup: Wakeup
    private let stopRequested = Atomic<Bool>(false)

    /// Most messages in one group commit.
    public static let batchLimit = 2048
    /// When the write-ahead log holds more than this many pages (16 MB of 4 KB pages) and no
    /// lead is waiting, the routing thread finishes a checkpoint itself, so the next commit
    /// starts the log afresh (see ``LeadStore/finishCheckpoint()``).
    static let walFinishPagesWhenIdle = 4_096
    /// How long without a message before the loop counts as idle: a loop pass that finds
    /// nothing between two leads of a steady stream is not.
    static let quietBeforeFinish = Duration.milliseconds(250)
    /// Past this many pages (1 GB), it does so between commits even under load: finishing
    /// makes that commit wait for the rest of the log to be copied and synced (tens of
    /// milliseconds), so it is kept for when the log would otherwise grow without bound.
    static let walFinishPagesUnderLoad = 262_144
    /// Changed rotation counters are saved within about this long (and all at shutdown),
    /// a share with each commit, so no commit stalls to write every partner's at once.
    static let rotationSaveInterval = Duration.seconds(5)
    /// While a log sync is in flight, a batch smaller than this waits for it to end (and
    /// grows meanwhile); a larger one, a backlog, is routed and committed beside it.
    static let overlapBatch = 256
    /// A batch this large (a full one: more was waiting, a backlog) commits on a thread of
    /// its own while the next one is routed; a smaller one commits on the routing thread,
    /// which then has nothing else to do. Pipelining smaller batches (256 or more) was
    /// measured to raise latency at a steady 10,000 leads/s on two cores: once a hiccup
    /// made one batch that large, the extra CPU per lead kept batches large (docs/benchmarks.md).
    public static let defaultPipelineBatch = batchLimit
    /// ``defaultPipelineBatch``, or another for tests.
    let pipelineBatch: Int
    /// A log sync in flight this long counts as hung (see ``syncIsHealthy(state:)``).
    static let hungSyncAfter = Duration.seconds(10)
    /// Most committed batches held behind one sync before the loop waits for it.
    static let heldBatchLimit = 64
    /// How often the published watermarks (what start-up publishes again) are saved.
    static let publishedSaveInterval = Duration.seconds(1)
    /// How long the PUB socket keeps flushing to subscribers once the loop stops.
    static let publishLingerMilliseconds = 3000

    /// - Parameter pipelineBatch: the smallest batch that commits beside routing (see
    ///   ``defaultPipelineBatch``); tests use 1 to pipeline every batch.
    public init(config: RouterConfig, store: LeadStore, logger: Logger, notifier: SystemdNotifier,
                pipelineBatch: Int = RoutingLoop.defaultPipelineBatch) throws {
        self.pipelineBatch = max(1, pipelineBatch)
        self.config = config
        self.store = store
        self.logger = logger
        self.notifier = notifier
        self.wakeup = try Wakeup()
    }

    /// Asks the loop to stop: it stops taking messages, routes and commits those already
    /// received, flushes the feed and returns from ``run(onReady:)``. Safe from any thread.
    public func requestStop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
    }

    var stopping: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// Runs the loop on the calling thread until ``requestStop()``.
    ///
    /// - Parameter onReady: called once state is recovered and every socket is bound
    ///   (after `READY=1` went to systemd).
    /// - Throws: ``StartupError`` when the store or a socket cannot be set up.
    public func run(onReady: () -> Void = {}) throws {
        let topicStates: [String: TopicState]
        let partnerStates: [String: PartnerState]
        let registrations: [Registration]
        let registrationsVersion: Int64
        // Decision records index the stored partner list; a store that cannot take it now (a
        // full disk) does not stop start-up: records then name the partners.
        var partnerList: Int64?
        do {
            partnerList = try store.partnerListID(config.partners.map(\.id))
        } catch {
            logger.warning("could not record the partner list; decision records name partners in full", metadata: ["error": "\(error)"])
        }
        do {
            topicStates = try store.topicStates()
            partnerStates = try store.partnerStates()
            registrations = try store.registrations()
            registrationsVersion = try store.registrationsVersion()
        } catch {
            throw StartupError("\(error)")
        }

        let context = try Context(ioThreads: 1)
        defer { context.shutdown() }
        let sockets = try Sockets(config: config, context: context)
        var state = LoopState(
            pipeline: LeadPipeline(
                config: config, lastSeq: topicStates.mapValues(\.lastSeq), seed: UInt64.random(in: .min ... .max),
                partnerStates: partnerStates, registrations: registrations),
            published: topicStates.mapValues(\.publishedSeq),
            notifier: notifier, logger: logger)
        state.registrationsVersion = registrationsVersion
        state.partnerList = partnerList
        if store.syncsLogOnRequest { state.syncer = StoreWorker(label: "leadrouter-log-sync", wakeup: wakeup) }
        state.committer = StoreWorker(label: "leadrouter-commit", wakeup: wakeup)
        for topic in config.partners.map(\.topic) + [FeedTopic.vendorSales, FeedTopic.nurture, FeedTopic.rejected]
            + topicStates.keys.sorted() {
            state.addFeedTopic(topic)
        }

        try republishUnpublished(topicStates, sockets: sockets, state: &state)

        sockets.bound.record(stateDir: config.stateDir, logger: logger)
        logger.info("leadrouterd ready", metadata: [
            "ingest": "\(sockets.bound.ingest + config.ingest.connect.map(\.description))",
            "intake": "\(sockets.bound.intake ?? "-")",
            "publish": "\(sockets.bound.publish)",
            "replay": "\(sockets.bound.replay ?? "-")",
            "partners": "\(config.partners.count)",
            "store": "\(store.path)",
            "durability": "\(store.durability.rawValue)",
        ])
        notifier.notify("READY=1\nSTATUS=routing leads")
        onReady()

        var poller = Poller()
        poller.add(sockets.ingest)
        if let intake = sockets.intake { poller.add(intake) }
        if let replay = sockets.replay { poller.add(replay) }
        poller.add(fileDescriptor: wakeup.fileDescriptor)

        while !stopping && state.syncFailure == nil {
            do {
                _ = try poller.poll(timeoutMilliseconds: state.duties.pollTimeoutMilliseconds(heartbeatEvery: config.publish.heartbeatMilliseconds))
            } catch {
                logger.error("poll failed; retrying", metadata: ["error": "\(error)"])
            }
            wakeup.drain()
            collectCommit(waiting: false, sockets: sockets, state: &state)
            collectSync(sockets: sockets, state: &state)
            if state.syncFailure != nil { break }
            if let replay = sockets.replay { answerReplays(replay, state: &state) }
            let batch = takeBatch(sockets, state: &state)
            if state.syncInFlight && !batch.isEmpty && batch.count < RoutingLoop.overlapBatch {
                // A batch committed now would wait for the next sync all the same: hold it
                // until this one ends, and commit what arrived meanwhile with it. Under a
                // backlog, commit beside the sync instead.
                state.held = batch
            } else if !batch.isEmpty {
                process(batch, sockets: sockets, state: &state)
            }
            sendHeartbeats(sockets.publish, state: &state)
            persistPublishedIfIdle(batch.isEmpty, state: &state)
            if !batch.isEmpty || !state.held.isEmpty {
                state.lastTraffic = ContinuousClock.now
            } else if ContinuousClock.now - state.lastTraffic >= RoutingLoop.quietBeforeFinish {
                finishCheckpointIfLogIsLong(idle: true, state: &state)
            }
            reloadRegistrationsIfChanged(state: &state)
            state.duties.tick(counters: state.pipeline.counters, healthy: syncIsHealthy(state: &state))
        }

        try stopIfSyncFailed(sockets, state: state)
        // Graceful stop: take no new messages, route what was already received, flush.
        notifier.notify("STOPPING=1\nSTATUS=stopping: finishing in-flight leads")
        // Answer what was received and committed before intake is unbound, which closes
        // its connections.
        if !state.held.isEmpty {
            let held = state.held
            state.held.removeAll()
            process(held, sockets: sockets, state: &state)
        }
        settleSyncs(sockets: sockets, state: &state)
        // The bound endpoints: libzmq unbinds a port of 0 or * only by the port it chose.
        for endpoint in sockets.bound.ingest { try? sockets.ingest.unbind(endpoint) }
        for endpoint in config.ingest.connect { try? sockets.ingest.disconnect(endpoint.description) }
        if let intake = sockets.intake, let endpoint = sockets.bound.intake { try? intake.unbind(endpoint) }
        while true {
            let batch = takeBatch(sockets, state: &state)
            if batch.isEmpty { break }
            process(batch, sockets: sockets, state: &state)
        }
        settleSyncs(sockets: sockets, state: &state)
        try stopIfSyncFailed(sockets, state: state)
        persistPublished(state: &state)
        let rotation = state.pipeline.takeChangedPartnerStates()
        if !rotation.isEmpty {
            var final = StoreBatch()
            final.partnerStates = rotation
            do { try store.commit(final) } catch {
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
        sockets.close(lingerMilliseconds: RoutingLoop.publishLingerMilliseconds)
        logger.info("leadrouterd stopped", metadata: LoopDuties.metadata(state.pipeline.counters, storageFailures: state.storageFailures))
    }

    /// After a failed log sync: nothing more is answered or published.
    private func stopIfSyncFailed(_ sockets: Sockets, state: LoopState) throws {
        guard let failure = state.syncFailure else { return }
        sockets.close(lingerMilliseconds: 0)
        throw LogSyncFailure("\(failure)")
    }

    // MARK: - Recovery

    /// Publishes what was committed but not yet published before the last stop or crash.
    func republishUnpublished(_ states: [String: TopicState], sockets: Sockets, state: inout LoopState) throws {
        var republished = 0
        for (topic, topicState) in states.sorted(by: { $0.key < $1.key }) where topicState.lastSeq > topicState.publishedSeq {
            var next = topicState.publishedSeq + 1
            while next <= topicState.lastSeq {
                let messages: [OutgoingMessage]
                do { messages = try store.envelopes(topic: topic, fromSeq: next, limit: 10_000) } catch {
                    throw StartupError("\(error)")
                }
                guard let last = messages.last else { break }
                send(messages, on: sockets.publish, state: &state)
                republished += messages.count
                next = last.seq + 1
            }
        }
        if republished > 0 {
            logger.notice("published envelopes committed before the last stop", metadata: ["count": "\(republished)"])
            persistPublished(state: &state)
        }
    }

    // MARK: - Batches

    /// A message taken off a socket, with what is needed to answer it.
    struct Received {
        var channel: InboundChannel
        /// For intake: the ROUTER's routing frames (identity, and the empty delimiter of a REQ client).
        var replyRoute: [[UInt8]]
        var message: InboundMessage
        var receivedAt: Int64
    }

    /// The messages held for a log sync, then what waits on the sockets, up to a batch.
    func takeBatch(_ sockets: Sockets, state: inout LoopState) -> [Received] {
        let held = state.held
        state.held.removeAll()
        return held + collect(sockets, limit: RoutingLoop.batchLimit - held.count)
    }

    func collect(_ sockets: Sockets, limit: Int) -> [Received] {
        var batch: [Received] = []
        let copyLimit = max(config.ingest.maxMessageBytes, LeadPipeline.quotedInputBytes)
        var ingestOpen = true
        var intakeOpen = sockets.intake != nil
        while batch.count < limit && (ingestOpen || intakeOpen) {
            if ingestOpen {
                if let received = receive(sockets.ingest, copyLimit: copyLimit, name: "ingest") {
                    batch.append(Received(
                        channel: .ingest, replyRoute: [],
                        message: InboundMessage(frames: received.frames.map(\.bytes), totalSize: received.totalSize),
                        receivedAt: RoutingLoop.nowMilliseconds()))
                } else {
                    ingestOpen = false
                }
            }
            if intakeOpen, let intake = sockets.intake {
                if let received = receive(intake, copyLimit: copyLimit, name: "intake") {
                    let (route, payload) = RoutingLoop.splitRoute(received.frames)
                    let size = payload.reduce(0) { $0 + $1.size }
                    batch.append(Received(
                        channel: .intake, replyRoute: route,
                        message: InboundMessage(frames: payload.map(\.bytes), totalSize: size),
                        receivedAt: RoutingLoop.nowMilliseconds()))
                } else {
                    intakeOpen = false
                }
            }
        }
        return batch
    }

    func receive(_ socket: Socket, copyLimit: Int, name: String) -> ReceivedMessage? {
        do {
            return try socket.receiveMessage(wait: false, copyLimit: copyLimit)
        } catch {
            logger.error("\(name) receive failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Splits a ROUTER message into its routing frames and payload: `[identity][payload]`
    /// from a DEALER, `[identity][empty][payload]` from a REQ.
    static func splitRoute(_ frames: [Frame]) -> (route: [[UInt8]], payload: [Frame]) {
        guard let identity = frames.first else { return ([], []) }
        if frames.count >= 2 && frames[1].size == 0 {
            return ([identity.bytes, []], Array(frames.dropFirst(2)))
        }
        return ([identity.bytes], Array(frames.dropFirst()))
    }

    func sendReply(_ route: [[UInt8]], _ body: [[UInt8]], on socket: Socket) {
        do {
            try socket.send(route + body, wait: false)
        } catch {
            logger.warning("reply could not be sent", metadata: ["error": "\(error)"])
        }
    }

    func send(_ messages: [OutgoingMessage], on publish: Socket, state: inout LoopState) {
        let now = ContinuousClock.now
        for message in messages {
            do {
                try publish.send(topic: message.topic, body: message.envelope, wait: false)
            } catch {
                logger.error("publish failed", metadata: ["topic": "\(message.topic)", "seq": "\(message.seq)", "error": "\(error)"])
            }
            state.published[message.topic] = max(state.published[message.topic] ?? 0, message.seq)
            state.unsavedPublished[message.topic] = message.seq
            state.lastActivity[message.topic] = now
            state.addFeedTopic(message.topic)
        }
    }

    func persistPublishedIfIdle(_ idle: Bool, state: inout LoopState) {
        guard idle, state.committing == nil, !state.unsavedPublished.isEmpty, ContinuousClock.now - state.lastPublishedSave >= RoutingLoop.publishedSaveInterval else { return }
        persistPublished(state: &state)
    }

    func persistPublished(state: inout LoopState) {
        guard !state.unsavedPublished.isEmpty else { return }
        do {
            try store.markPublished(state.unsavedPublished)
            state.unsavedPublished.removeAll(keepingCapacity: true)
            state.publishedSaveFailing = false
        } catch {
            if !state.publishedSaveFailing {
                logger.warning("could not record published envelopes; they will be published again after a restart", metadata: ["error": "\(error)"])
            }
            state.publishedSaveFailing = true
        }
        state.lastPublishedSave = ContinuousClock.now
    }

    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
