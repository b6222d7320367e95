import Foundation
import LeadRouting
import LeadStore
import Logging
import Synchronization
import ZeroMQ

/// The replay endpoint, on a thread of its own so that reading the store never delays
/// routing: it owns the replay ROUTER (created, bound, polled and closed on that thread),
/// reads envelopes from the store, and serves each topic only through what the feed has
/// published (``FeedWatermarks``).
///
/// Fair between clients: every waiting request is taken into a queue per client (by ROUTER
/// identity), and each round answers one request per client, in turn, so a client that
/// pipelines many requests cannot starve the others. A client's requests are answered in
/// the order it sent them; one that has ``queueLimit`` waiting gets `busy` for the next.
final class ReplayServer: Sendable {
    private let worker: WorkerThread
    private let wakeup: Wakeup
    private let stopping = Atomic(false)
    private let endpoint: Endpoint
    private let context: Context
    private let state: ReplayState

    /// Most requests waiting per client.
    static let queueLimit = 64

    private let serverKey: CurveKey?
    private let metrics: RouterMetrics?
    private let logger: Logger

    /// - Parameter serverKey: with CURVE, the server's secret key: the socket is a CURVE
    ///   server (ZAP domain `replay`) and each request is answered only for a topic its
    ///   sender may read (``Grants/mayRead(_:topic:)``), else `unauthorized`.
    init(context: Context, endpoint: Endpoint, store: any RoutingStore, watermarks: FeedWatermarks,
         maxLimit: Int, logger: Logger, serverKey: CurveKey? = nil, keys: LiveKeys? = nil, metrics: RouterMetrics? = nil) throws {
        self.context = context
        self.endpoint = endpoint
        self.serverKey = serverKey
        self.metrics = metrics
        self.logger = logger
        wakeup = try Wakeup()
        worker = WorkerThread(label: "lr-replay")
        state = ReplayState(store: store, watermarks: watermarks, maxLimit: maxLimit, logger: logger, authorizing: serverKey != nil, keys: keys)
    }

    /// Creates and binds the socket on the replay thread, then serves on it until ``stop()``.
    /// Returns the endpoint it bound (a port of 0 or * resolved) once bound; throws a
    /// ``StartupError`` naming `replay.bind` when it cannot be.
    func start() throws -> String {
        let context = self.context, endpoint = self.endpoint, state = self.state, serverKey = self.serverKey
        let logger = self.logger, metrics = self.metrics
        worker.start {
            do throws(ZMQError) {
                let socket = try Socket(context, type: .router)
                if let serverKey { try socket.makeCurveServer(secretKey: serverKey, zapDomain: Grants.Endpoint.replay.rawValue) }
                try socket.set(.linger, 0)
                try socket.setMaximumMessageSize(1 << 20)
                // Its handshake refusals are logged (and with CURVE counted); its clients' ends are not.
                let connections = ConnectionWatch(logger: logger, curve: serverKey != nil, metrics: metrics)
                try connections.watch(socket, .replay, maxMessageBytes: nil, context: context)
                state.connections = connections
                try socket.bind(endpoint.description)
                state.bound = try socket.lastEndpoint
                state.socket = socket
                return .success(())
            } catch {
                return .failure(StoreError(.other, "cannot bind replay.bind \(endpoint): \(error.message)"))
            }
        }
        if case .failure(let error) = worker.waitForResult() {
            worker.stop()
            throw StartupError(error.description)
        }
        let bound = state.bound
        worker.start { [self] in
            state.serve(wakeup: wakeup, stopping: { self.stopping.load(ordering: .acquiring) })
            return .success(())
        }
        return bound
    }

    /// Ends the thread: the request being answered is finished, the rest are dropped (their
    /// clients retry), and the socket is closed.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        _ = worker.waitForResult()
        worker.stop()
    }
}

/// The replay thread's own state: used only on that thread (hence unchecked).
private final class ReplayState: @unchecked Sendable {
    let store: any RoutingStore
    let watermarks: FeedWatermarks
    let maxLimit: Int
    let logger: Logger
    /// With CURVE: each request is checked against its sender's grants.
    let authorizing: Bool
    /// The keys in force: a key a reload revoked may no longer replay.
    let keys: LiveKeys?
    var socket: Socket?
    /// The socket's handshake refusals.
    var connections: ConnectionWatch?
    var bound = ""
    private var queues = ReplayQueues<(route: [[UInt8]], payload: [[UInt8]], peer: String?)>(limit: ReplayServer.queueLimit)

    init(store: any RoutingStore, watermarks: FeedWatermarks, maxLimit: Int, logger: Logger, authorizing: Bool, keys: LiveKeys?) {
        self.keys = keys
        self.store = store
        self.watermarks = watermarks
        self.maxLimit = maxLimit
        self.logger = logger
        self.authorizing = authorizing
    }

    func serve(wakeup: Wakeup, stopping: () -> Bool) {
        guard let socket else { return }
        defer { socket.close() }
        // Before the socket: its events stop before their reader closes.
        defer { connections?.close() }
        var poller = Poller()
        poller.add(socket)
        for monitor in connections?.polled ?? [] { poller.add(monitor) }
        poller.add(fileDescriptor: wakeup.fileDescriptor)
        while !stopping() {
            do { _ = try poller.poll(timeoutMilliseconds: queues.isEmpty ? -1 : 0) } catch {
                logger.error("replay poll failed; retrying", metadata: ["error": "\(error)"])
            }
            wakeup.drain()
            connections?.report(now: .now)
            takeWaiting(socket)
            answerOneRound(socket, stopping: stopping)
        }
    }

    /// Queues every waiting request by client.
    private func takeWaiting(_ socket: Socket) {
        while true {
            var frames: [[UInt8]] = []
            var peer: String?
            let received = try? socket.receiveFrames(wait: false) { index, frame in
                // Any frame's: after zmq_poll, the routing-id frame lacks it (see InboundEndpoint).
                if peer == nil { peer = frame.userID }
                frames.append(frame.copyBytes(limit: 4096))
            }
            guard received != nil else { return }
            let (route, payload) = RouterFrames.split(frames)
            guard let client = route.first else { continue }
            if !queues.add((route, payload, peer), from: client) {
                let busy = ReplayError(code: "busy", message: "\(ReplayServer.queueLimit) replay requests from this client are waiting; wait for their replies before sending more")
                RouterFrames.reply(route, [busy.json], on: socket, logger: logger)
            }
        }
    }

    /// Answers the oldest request of each client with one waiting, in turn.
    private func answerOneRound(_ socket: Socket, stopping: () -> Bool) {
        for request in queues.nextRound() {
            if stopping() { return }
            RouterFrames.reply(request.route, answer(request.payload, peer: request.peer), on: socket, logger: logger)
        }
    }

    private func answer(_ frames: [[UInt8]], peer: String?) -> [[UInt8]] {
        let request: ReplayRequest
        switch ReplayRequest.parse(frames, maxLimit: maxLimit) {
        case .failure(let error): return [error.json]
        case .success(let value): request = value
        }
        if authorizing {
            guard keys?.admits(userID: peer) ?? true else {
                logger.warning("replay refused: the client's key is no longer configured", metadata: ["peer": "\(peer ?? "-")"])
                return [ReplayError(code: "unauthorized", message: "this key is no longer configured").json]
            }
            guard let principal = peer.flatMap(Principal.init(userID:)), Grants.mayRead(principal, topic: request.topic) else {
                logger.warning("replay refused: outside the client's grants", metadata: ["peer": "\(peer ?? "-")", "topic": "\(request.topic)"])
                return [ReplayError(code: "unauthorized", message: "this key may not replay \(request.topic)").json]
            }
        }
        let (served, last) = watermarks.lookUp(request.topic)
        guard served else {
            return [ReplayError(code: "unknown_topic", message: "no feed topic \(request.topic); topics look like partner/<id>/, vendor-sales/, nurture/, rejected/").json]
        }
        do {
            let envelopes = try store.envelopes(topic: request.topic, fromSeq: request.fromSeq, limit: request.limit, throughSeq: last)
            return [ReplayRequest.header(request, envelopes: envelopes, topicLastSeq: last)] + envelopes.map(\.envelope.array)
        } catch {
            return [ReplayError(code: "storage_unavailable", message: error.description).json]
        }
    }
}

/// Requests waiting per client, served a round at a time: each round takes the oldest
/// request of every client that has one, clients in the order they first had one waiting.
/// A client's requests keep their order; one with `limit` waiting has the next refused.
struct ReplayQueues<Request> {
    let limit: Int
    private var waiting: [[UInt8]: [Request]] = [:]
    private var order: [[UInt8]] = []

    init(limit: Int) { self.limit = limit }

    var isEmpty: Bool { order.isEmpty }

    /// Queues `request` from `client`; false when that client already has `limit` waiting.
    mutating func add(_ request: Request, from client: [UInt8]) -> Bool {
        let queue = waiting[client, default: []]
        guard queue.count < limit else { return false }
        if queue.isEmpty { order.append(client) }
        waiting[client] = queue + [request]
        return true
    }

    /// One request from each client with one waiting, oldest first; clients with more go
    /// to the back of the line.
    mutating func nextRound() -> [Request] {
        let clients = order
        order.removeAll(keepingCapacity: true)
        var round: [Request] = []
        for client in clients {
            guard var queue = waiting[client], !queue.isEmpty else { continue }
            round.append(queue.removeFirst())
            waiting[client] = queue.isEmpty ? nil : queue
            if !queue.isEmpty { order.append(client) }
        }
        return round
    }
}
