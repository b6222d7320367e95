import LeadRouting
import LeadStore
import Logging
import ZeroMQ

/// The daemon's sockets, opened and bound per the config on the routing thread, which
/// alone uses and closes them. Each is wrapped in the handler that knows what to do with it.
final class DaemonSockets {
    let ingest: InboundEndpoint
    let intake: InboundEndpoint?
    let feed: FeedEndpoint
    let replay: ReplayEndpoint?
    /// Where leads come in, in the order a batch takes from them.
    var inbound: [InboundEndpoint] { [ingest] + (intake.map { [$0] } ?? []) }
    /// Every socket the loop polls for input.
    var polled: [Socket] { inbound.map(\.socket) + [feed.socket] + (replay.map { [$0.socket] } ?? []) }

    init(config: RouterConfig, context: Context, store: any RoutingStore, logger: Logger) throws {
        let cap = Int64(DaemonSockets.hardMessageCap(config.ingest.maxMessageBytes))
        let ingestSocket = try Socket(context, type: .sub)
        try ingestSocket.set(.receiveHighWaterMark, config.ingest.receiveHighWaterMark)
        try ingestSocket.set(.linger, 0)
        // A hard cap far above max_message_bytes: messages between the two are received and
        // rejected as too_large; beyond it libzmq drops the sending peer to protect memory.
        try ingestSocket.setMaximumMessageSize(cap)
        for topic in config.ingest.topics { try ingestSocket.subscribe(topic) }
        for (i, endpoint) in config.ingest.bind.enumerated() {
            try DaemonSockets.bind(ingestSocket, endpoint, key: "ingest.bind[\(i)]")
        }
        for (i, endpoint) in config.ingest.connect.enumerated() {
            do { try ingestSocket.connect(endpoint.description) } catch {
                throw StartupError("cannot connect ingest.connect[\(i)] \(endpoint): \(error.message)")
            }
        }
        ingest = InboundEndpoint(channel: .ingest, socket: ingestSocket, bound: config.ingest.bind,
                                 connected: config.ingest.connect, logger: logger)

        if let endpoint = config.intake.bind {
            let socket = try Socket(context, type: .router)
            try socket.set(.linger, 0)
            try socket.set(.receiveHighWaterMark, config.ingest.receiveHighWaterMark)
            try socket.setMaximumMessageSize(cap)
            try DaemonSockets.bind(socket, endpoint, key: "intake.bind")
            intake = InboundEndpoint(channel: .intake, socket: socket, bound: [endpoint], logger: logger)
        } else {
            intake = nil
        }

        let publish = try Socket(context, type: .xpub)
        try publish.set(.sendHighWaterMark, config.publish.sendHighWaterMark)
        try publish.set(.linger, 0)
        try DaemonSockets.bind(publish, config.publish.bind, key: "publish.bind")
        feed = FeedEndpoint(socket: publish, logger: logger)

        if let endpoint = config.replay.bind {
            let socket = try Socket(context, type: .router)
            try socket.set(.linger, 0)
            try socket.setMaximumMessageSize(1 << 20)
            try DaemonSockets.bind(socket, endpoint, key: "replay.bind")
            replay = ReplayEndpoint(socket: socket, store: store, maxLimit: config.replay.maxLimit, logger: logger)
        } else {
            replay = nil
        }
    }

    static func bind(_ socket: Socket, _ endpoint: Endpoint, key: String) throws {
        do { try socket.bind(endpoint.description) } catch {
            throw StartupError("cannot bind \(key) \(endpoint): \(error.message)")
        }
    }

    /// libzmq's own limit on inbound messages: 16 times `max_message_bytes`, at least 16 MiB.
    static func hardMessageCap(_ maxMessageBytes: Int) -> Int {
        max(16 << 20, maxMessageBytes.multipliedReportingOverflow(by: 16).partialValue)
    }

    func close(lingerMilliseconds: Int) {
        for endpoint in inbound { endpoint.socket.close() }
        replay?.socket.close()
        try? feed.socket.set(.linger, lingerMilliseconds)
        feed.socket.close()
    }
}

/// The replay ROUTER: answers a bounded number of requests per turn from the store, only
/// through what the feed has published (later envelopes may not be on disk yet).
final class ReplayEndpoint {
    let socket: Socket
    private let store: any RoutingStore
    private let maxLimit: Int
    private let logger: Logger

    init(socket: Socket, store: any RoutingStore, maxLimit: Int, logger: Logger) {
        self.socket = socket
        self.store = store
        self.maxLimit = maxLimit
        self.logger = logger
    }

    func answerWaiting(feed: Feed) {
        for _ in 0..<64 {
            guard let message = try? socket.receiveMessage(wait: false, copyLimit: 4096) else { return }
            let (route, payload) = RouterFrames.split(message.frames.map(\.bytes))
            guard !route.isEmpty else { continue }
            RouterFrames.reply(route, answer(payload, feed: feed), on: socket, logger: logger)
        }
    }

    private func answer(_ frames: [[UInt8]], feed: Feed) -> [[UInt8]] {
        let request: ReplayRequest
        switch ReplayRequest.parse(frames, maxLimit: maxLimit) {
        case .failure(let error): return [error.json]
        case .success(let value): request = value
        }
        guard feed.serves(request.topic) else {
            return [ReplayError(code: "unknown_topic", message: "no feed topic \(request.topic); topics look like partner/<id>/, vendor-sales/, nurture/, rejected/").json]
        }
        let last = feed.published[request.topic] ?? 0
        do {
            let envelopes = try store.envelopes(topic: request.topic, fromSeq: request.fromSeq, limit: request.limit, throughSeq: last)
            return [ReplayRequest.header(request, envelopes: envelopes, topicLastSeq: last)] + envelopes.map(\.envelope)
        } catch {
            return [ReplayError(code: "storage_unavailable", message: error.description).json]
        }
    }
}
