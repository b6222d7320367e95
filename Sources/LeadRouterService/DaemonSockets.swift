import LeadRouting
import Logging
import ZeroMQ

/// The routing thread's sockets, opened and bound per the config on that thread, which
/// alone uses and closes them (replay has a thread of its own: ``ReplayServer``). Each is wrapped in the handler that knows what to do with it.
final class DaemonSockets {
    let ingest: InboundEndpoint
    let intake: InboundEndpoint?
    /// Partners' actions on their leads (`control.bind`).
    let control: InboundEndpoint?
    let feed: FeedEndpoint
    /// Where each socket really bound (a port of 0 or * resolved), read right after its bind.
    private(set) var bound = BoundEndpoints()
    /// Where leads come in, in the order a batch takes from them.
    var inbound: [InboundEndpoint] { [ingest] + [intake, control].compactMap { $0 } }
    /// Every socket the loop polls for input.
    var polled: [Socket] { inbound.map(\.socket) + [feed.socket] + connections.polled }
    /// The server sockets' connections: each refused at its handshake is logged (and with
    /// CURVE counted), and each inbound one that ends (an oversized message ends one).
    let connections: ConnectionWatch

    /// - Parameter serverKey: with `security.mode: curve`, the server's secret key: every
    ///   socket is a CURVE server with its endpoint's ZAP domain (``Grants/Endpoint``), and
    ///   the feed applies subscriptions itself (XPUB_MANUAL).
    init(config: RouterConfig, context: Context, logger: Logger, serverKey: CurveKey? = nil, metrics: RouterMetrics? = nil) throws {
        let cap = Int64(DaemonSockets.hardMessageCap(config.ingest.maxMessageBytes))
        let connections = ConnectionWatch(logger: logger, curve: serverKey != nil, metrics: metrics)
        self.connections = connections
        func secure(_ socket: Socket, _ endpoint: Grants.Endpoint) throws {
            guard let serverKey else { return }
            try socket.makeCurveServer(secretKey: serverKey, zapDomain: endpoint.rawValue)
        }
        let ingestSocket = try Socket(context, type: .sub)
        try secure(ingestSocket, .ingest)
        try ingestSocket.set(.receiveHighWaterMark, config.ingest.receiveHighWaterMark)
        try ingestSocket.set(.linger, 0)
        // A hard cap far above max_message_bytes: messages between the two are received and
        // rejected as too_large; beyond it libzmq drops the sending peer to protect memory.
        try ingestSocket.setMaximumMessageSize(cap)
        for topic in config.ingest.topics { try ingestSocket.subscribe(topic) }
        try connections.watch(ingestSocket, .ingest, maxMessageBytes: Int(cap), context: context)
        for (i, endpoint) in config.ingest.bind.enumerated() {
            bound.ingest.append(try DaemonSockets.bind(ingestSocket, endpoint, key: "ingest.bind[\(i)]"))
        }
        for (i, endpoint) in config.ingest.connect.enumerated() {
            do { try ingestSocket.connect(endpoint.description) } catch {
                throw StartupError("cannot connect ingest.connect[\(i)] \(endpoint): \(error.message)")
            }
        }
        ingest = InboundEndpoint(channel: .ingest, socket: ingestSocket, bound: bound.ingest,
                                 connected: config.ingest.connect, logger: logger)

        let server = ServerSockets(context: context, serverKey: serverKey, connections: connections, logger: logger)
        if let endpoint = config.intake.bind {
            let made = try server.router(.intake, endpoint, key: "intake.bind", highWaterMark: config.ingest.receiveHighWaterMark, cap: cap)
            (intake, bound.intake) = (made.endpoint, made.bound)
        } else {
            intake = nil
        }
        if let endpoint = config.control.bind {
            // A control request is a few hundred bytes: anything far larger drops its sender.
            let made = try server.router(.control, endpoint, key: "control.bind", highWaterMark: 10_000, cap: 1 << 20)
            (control, bound.control) = (made.endpoint, made.bound)
        } else {
            control = nil
        }

        let sendHighWaterMark = config.publish.sendHighWaterMark
        let makeFeed = { () throws -> Socket in
            let publish = try Socket(context, type: .xpub)
            try secure(publish, .publish)
            // Manual with CURVE (each subscription applied by its grants); otherwise every
            // subscription and unsubscription is still passed up, duplicates included, so
            // that each subscriber's is logged (at debug), not only a prefix's first.
            try publish.set(serverKey != nil ? .xpubManual : .xpubVerboser, 1)
            try publish.set(.sendHighWaterMark, sendHighWaterMark)
            try publish.set(.linger, 0)
            // Its handshake refusals are logged; subscribers that leave are not.
            try connections.watch(publish, .publish, maxMessageBytes: nil, context: context)
            return publish
        }
        let publish = try makeFeed()
        bound.publish = try DaemonSockets.bind(publish, config.publish.bind, key: "publish.bind")
        feed = FeedEndpoint(socket: publish, logger: logger, manual: serverKey != nil, endpoint: bound.publish, make: makeFeed)
    }

    /// What every server socket shares: the context, CURVE, the connection watch.
    private struct ServerSockets {
        let context: Context
        let serverKey: CurveKey?
        let connections: ConnectionWatch
        let logger: Logger

        /// A bound ROUTER endpoint taking `channel`'s requests.
        func router(_ channel: InboundChannel, _ endpoint: Endpoint, key: String, highWaterMark: Int,
                    cap: Int64) throws -> (endpoint: InboundEndpoint, bound: String) {
            let grant: Grants.Endpoint = channel == .control ? .control : .intake
            let socket = try Socket(context, type: .router)
            if let serverKey { try socket.makeCurveServer(secretKey: serverKey, zapDomain: grant.rawValue) }
            try socket.set(.linger, 0)
            try socket.set(.receiveHighWaterMark, highWaterMark)
            // A ROUTER drops silently what it sends past its send high-water mark, and one
            // batch answers up to `RoutingLoop.batchLimit` requests at once: with libzmq's
            // default (1,000) a client pipelining more lost replies to leads that were stored.
            try socket.set(.sendHighWaterMark, DaemonSockets.replyHighWaterMark)
            try socket.setMaximumMessageSize(cap)
            try connections.watch(socket, grant, maxMessageBytes: Int(cap), context: context)
            let bound = try DaemonSockets.bind(socket, endpoint, key: key)
            return (InboundEndpoint(channel: channel, socket: socket, bound: [bound], logger: logger), bound)
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

    /// Replies queued per intake or control client before the ROUTER drops them: far above
    /// what one batch answers, so only a client that stops reading its replies loses any.
    static let replyHighWaterMark = 1_000_000

    /// libzmq's own limit on inbound messages: 16 times `max_message_bytes`, at least 16 MiB.
    static func hardMessageCap(_ maxMessageBytes: Int) -> Int {
        max(16 << 20, maxMessageBytes.multipliedReportingOverflow(by: 16).partialValue)
    }

    func close(lingerMilliseconds: Int) {
        connections.close()
        for endpoint in inbound { endpoint.socket.close() }
        try? feed.socket.set(.linger, lingerMilliseconds)
        feed.socket.close()
    }
}
