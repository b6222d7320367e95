import Foundation
import LeadRouting
import LeadStore
import Logging
import Synchronization
import ZeroMQ

/// The loop's mutable state, owned by its thread.
struct LoopState {
    var pipeline: LeadPipeline
    /// The last `seq` handed to the PUB socket, per topic.
    var published: [String: Int]
    /// Published `seq`s not yet recorded in the store.
    var unsavedPublished: [String: Int] = [:]
    var lastPublishedSave = ContinuousClock.now
    /// Every topic the feed serves: heartbeats go to these, replay answers for these.
    private(set) var feedTopics: Set<String> = []
    /// ``feedTopics`` in the order they became known, which heartbeats go through in turn.
    private(set) var topicOrder: [String] = []
    var heartbeatCursor = 0
    var lastHeartbeatPass = ContinuousClock.now - .seconds(3600)
    var lastActivity: [String: ContinuousClock.Instant] = [:]
    var storageFailing = false
    var publishedSaveFailing = false
    var storageFailures = 0
    var registrationsVersion: Int64 = 0
    var lastRotationSave = ContinuousClock.now
    /// The current rotation-save window: when it began, and how many changes were waiting then.
    var rotationWindowStart = ContinuousClock.now - .seconds(3600)
    var rotationWindowPending = 0
    var lastCheckpointFinish = ContinuousClock.now
    /// When a message was last received.
    var lastTraffic = ContinuousClock.now
    /// ``LeadStore/completedCheckpoints`` when the loop last finished one.
    var checkpointsSeen = 0
    /// The store's id for the configured partner list, which decision records index into.
    var partnerList: Int64?
    var lastRegistrationsCheck = ContinuousClock.now
    var duties: LoopDuties
    /// With ``LeadStore/syncsLogOnRequest``: committed batches that wait for the log sync in
    /// flight (`syncing`) or for the next one (`unsynced`), oldest first.
    var syncer: StoreWorker?
    var syncing: [RoutingLoop.CommittedBatch] = []
    var unsynced: [RoutingLoop.CommittedBatch] = []
    var syncInFlight = false
    var syncStarted = ContinuousClock.now
    var syncHangLogged = false
    /// Commits batches of ``RoutingLoop/pipelineBatch`` or more while the next is routed;
    /// `committing` is the batch whose commit is in flight.
    var committer: StoreWorker?
    var committing: RoutingLoop.PreparedBatch?
    /// Messages received while a sync was in flight, waiting for it to end.
    var held: [RoutingLoop.Received] = []
    /// Set when a sync failed: the loop stops.
    var syncFailure: StoreError?

    mutating func addFeedTopic(_ topic: String) {
        if feedTopics.insert(topic).inserted { topicOrder.append(topic) }
    }

    init(pipeline: LeadPipeline, published: [String: Int], notifier: SystemdNotifier, logger: Logger) {
        self.pipeline = pipeline
        self.published = published
        self.duties = LoopDuties(notifier: notifier, logger: logger)
    }
}

/// The daemon's sockets, opened and bound per the config.
final class Sockets {
    let ingest: Socket
    let intake: Socket?
    let publish: Socket
    let replay: Socket?
    /// Where each socket really bound (a port of 0 or * resolved), read right after its bind.
    private(set) var bound = BoundEndpoints()

    init(config: RouterConfig, context: Context) throws {
        ingest = try Socket(context, type: .sub)
        try ingest.set(.receiveHighWaterMark, config.ingest.receiveHighWaterMark)
        try ingest.set(.linger, 0)
        // A hard cap far above max_message_bytes: messages between the two are received and
        // rejected as too_large; beyond it libzmq drops the sending peer to protect memory.
        try ingest.setMaximumMessageSize(Int64(Sockets.hardMessageCap(config.ingest.maxMessageBytes)))
        for topic in config.ingest.topics { try ingest.subscribe(topic) }
        for (i, endpoint) in config.ingest.bind.enumerated() {
            bound.ingest.append(try Sockets.bind(ingest, endpoint, key: "ingest.bind[\(i)]"))
        }
        for (i, endpoint) in config.ingest.connect.enumerated() {
            do { try ingest.connect(endpoint.description) } catch {
                throw StartupError("cannot connect ingest.connect[\(i)] \(endpoint): \(error.message)")
            }
        }

        if let endpoint = config.intake.bind {
            let intake = try Socket(context, type: .router)
            try intake.set(.linger, 0)
            try intake.set(.receiveHighWaterMark, config.ingest.receiveHighWaterMark)
            try intake.setMaximumMessageSize(Int64(Sockets.hardMessageCap(config.ingest.maxMessageBytes)))
            bound.intake = try Sockets.bind(intake, endpoint, key: "intake.bind")
            self.intake = intake
        } else {
            intake = nil
        }

        publish = try Socket(context, type: .pub)
        try publish.set(.sendHighWaterMark, config.publish.sendHighWaterMark)
        try publish.set(.linger, 0)
        bound.publish = try Sockets.bind(publish, config.publish.bind, key: "publish.bind")

        if let endpoint = config.replay.bind {
            let replay = try Socket(context, type: .router)
            try replay.set(.linger, 0)
            try replay.setMaximumMessageSize(1 << 20)
            bound.replay = try Sockets.bind(replay, endpoint, key: "replay.bind")
            self.replay = replay
        } else {
            replay = nil
        }
    }

    /// Binds `socket` and returns the endpoint it bound (`ZMQ_LAST_ENDPOINT`).
    static func bind(_ socket: Socket, _ endpoint: Endpoint, key: String) throws -> String {
        do {
            try socket.bind(endpoint.description)
            return try socket.lastEndpoint
        } catch {
            throw StartupError("cannot bind \(key) \(endpoint): \(error.message)")
        }
    }

    /// libzmq's own limit on inbound messages: 16 times `max_message_bytes`, at least 16 MiB.
    static func hardMessageCap(_ maxMessageBytes: Int) -> Int {
        max(16 << 20, maxMessageBytes.multipliedReportingOverflow(by: 16).partialValue)
    }

    func close(lingerMilliseconds: Int) {
        ingest.close()
        intake?.close()
        replay?.close()
        try? publish.set(.linger, lingerMilliseconds)
        publish.close()
    }
}
