public import LeadRouterService
public import LeadRouting
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// The metrics endpoint (`metrics.bind`): `GET /metrics` serves the registry's Prometheus
/// text (``MetricsRoute``), over swift-nio's HTTP/1 codec on one event loop thread of its own,
/// never the routing thread. A scrape reads the registry, which the routing thread updates
/// once per turn.
///
/// Bad input never reaches further than this server, and each limit is enforced here
/// (`MetricsChannelHandlers.swift`): a request past ``maxHeaderBytes`` (its request line and
/// headers, and any body, which nothing reads) ends the connection; more than
/// ``maxHeaderFields`` header fields is answered 431 and the connection closed; a request
/// that does not arrive whole within ``idleTimeout`` of its first byte, or a connection idle
/// for ``idleTimeout``, is closed; at most ``maxConnections`` are open at once (more wait in
/// the listen backlog until one closes).
///
/// A `Service`: it runs until the service group shuts down (or its task is cancelled), then
/// closes its connections and stops its thread. ``listening()`` returns where it listens (a
/// port of 0 resolved), or throws ``StartupError`` when it could not bind.
public final class MetricsServer: Service, Sendable {
    public let address: MetricsAddress
    private let registry: PrometheusCollectorRegistry
    private let metrics: RouterMetrics
    private let logger: Logger
    private let state = Mutex(ListenState())

    /// The longest request head (request line and headers) read; past it the request is
    /// answered 431 or the connection closed unanswered.
    public static let maxHeaderBytes = 16 * 1024
    public static let maxHeaderFields = 100
    public static let idleTimeout = Duration.seconds(30)
    public static let maxConnections = 32
    /// Connections the kernel completes and holds while ``maxConnections`` are served.
    static let listenBacklog: Int32 = 128

    /// - Parameters:
    ///   - registry: what a scrape serves: the registry `metrics` records into.
    ///   - metrics: measured again before each scrape (``RouterMetrics/updateBeforeScrape()``).
    public init(address: MetricsAddress, registry: PrometheusCollectorRegistry, metrics: RouterMetrics, logger: Logger) {
        self.address = address
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
    }

    /// Where the server listens (`HOST:PORT`, its port resolved), once it does.
    /// - Throws: ``StartupError`` when it could not bind, or stopped before it listened.
    public func listening() async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<String, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.waiting.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    public func run() async throws {
        // One thread, owned here: every connection, parse and scrape runs on it.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel: any Channel
        do {
            channel = try await bootstrap(group).bind(to: SocketAddress(ipAddress: address.host, port: address.port)).get()
        } catch {
            try? await group.shutdownGracefully()
            let failure = StartupError("cannot bind metrics.bind \(address): \(error)")
            resolve(.failure(failure))
            throw failure
        }
        let port = channel.localAddress?.port ?? address.port
        resolve(.success(MetricsAddress(host: address.host, port: port).description))

        // Serves until the service group shuts down or the task is cancelled; closing the
        // listening socket ends the wait. Shutting the group down closes every connection.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
        do {
            try await group.shutdownGracefully()
        } catch {
            logger.warning("metrics endpoint: stopping its event loop failed: \(error)")
        }
        resolve(.failure(StartupError("the metrics endpoint stopped before it listened")))
    }

    /// The listening socket's and each connection's handlers and options.
    private func bootstrap(_ group: MultiThreadedEventLoopGroup) -> ServerBootstrap {
        let limits = RequestLimits(maxBytes: MetricsServer.maxHeaderBytes, maxHeaderFields: MetricsServer.maxHeaderFields,
                                   timeout: TimeAmount.nanoseconds(Int64(MetricsServer.idleTimeout / .nanoseconds(1))))
        let logger = logger
        let respond: @Sendable (String, String) -> MetricsAnswer = { [self] method, target in
            answer(method: method, target: target)
        }
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: MetricsServer.listenBacklog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // One connection accepted per wake-up, so the cap below is never overshot.
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionCap(limit: MetricsServer.maxConnections))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try MetricsServer.addHandlers(to: channel.pipeline.syncOperations, limits: limits,
                                                  logger: logger, respond: respond)
                }
            }
    }

    /// A connection's pipeline, from the socket in: the idle timer, the request size and time
    /// limits, swift-nio's HTTP/1 codec (header fields counted and sized), then the answers.
    static func addHandlers(to pipeline: ChannelPipeline.SynchronousOperations, limits: RequestLimits, logger: Logger,
                            respond: @escaping @Sendable (String, String) -> MetricsAnswer) throws {
        let requestLimit = RequestLimitHandler(limits: limits, logger: logger)
        try pipeline.addHandler(IdleStateHandler(readTimeout: limits.timeout))
        try pipeline.addHandler(requestLimit)
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxBytes
        decoderLimits.maxHeaderListSize = limits.maxBytes
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderFields
        // No pipelining assistance (the answer handler holds reads while it writes) and no
        // stock error handling (the answer handler tells 431 from 400).
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                 withOutboundHeaderValidation: true,
                                                 withEncoderConfiguration: .init(),
                                                 withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(MetricsAnswerHandler(requestLimit: requestLimit, logger: logger, respond: respond))
    }

    /// The answer to one request: the scrape is measured and read only for a `GET /metrics`.
    private func answer(method: String, target: String) -> MetricsAnswer {
        MetricsRoute.answer(method: method, target: target) {
            metrics.updateBeforeScrape()
            return MetricName.withHelp(registry.emitToBuffer())
        }
    }

    /// Settles ``listening()`` the first time; returns whether this call did.
    @discardableResult
    private func resolve(_ outcome: Result<String, any Error>) -> Bool {
        let waiting = state.withLock { state -> [CheckedContinuation<String, any Error>]? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        guard let waiting else { return false }
        for continuation in waiting { continuation.resume(with: outcome) }
        return true
    }
}

/// Whether the server listens yet, and who waits to hear it.
private struct ListenState {
    var outcome: Result<String, any Error>?
    var waiting: [CheckedContinuation<String, any Error>] = []
}
