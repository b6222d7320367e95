import Hummingbird
import HummingbirdCore
public import LeadRouterService
public import LeadRouting
public import Logging
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// The metrics endpoint (`metrics.bind`): `GET /metrics` serves the registry's Prometheus
/// text (``MetricsRoute``), over Hummingbird's HTTP/1 server on swift-nio's event loop threads,
/// never the routing thread. A scrape reads the registry, which the routing thread updates
/// once per turn.
///
/// Bad input never reaches further than this server: headers past ``maxHeaderBytes`` end
/// the connection (swift-nio's parser), connections idle for ``idleTimeout`` are closed,
/// and at most ``maxConnections`` are served at once (more wait in the listen backlog).
///
/// A `Service`: it runs until the service group shuts down. ``listening()`` returns where it
/// listens (a port of 0 resolved), or throws ``StartupError`` when it could not bind.
public final class MetricsServer: Service, Sendable {
    public let address: MetricsAddress
    private let registry: PrometheusCollectorRegistry
    private let metrics: RouterMetrics
    private let logger: Logger
    private let state = Mutex(ListenState())

    /// The longest request head (request line and headers) read; past it the connection ends.
    public static let maxHeaderBytes = 16 * 1024
    public static let maxHeaderFields = 100
    public static let idleTimeout = Duration.seconds(30)
    public static let maxConnections = 32

    /// - Parameters:
    ///   - registry: what a scrape serves: the registry `metrics` records into.
    ///   - metrics: measured again before each scrape (``RouterMetrics/updateBeforeScrape()``).
    public init(address: MetricsAddress, registry: PrometheusCollectorRegistry, metrics: RouterMetrics, logger: Logger) {
        self.address = address
        self.registry = registry
        self.metrics = metrics
        var quiet = logger
        // Hummingbird logs every request at debug and its start at info: the daemon says where
        // it listens in its own ready line.
        quiet.logLevel = max(logger.logLevel, .warning)
        self.logger = quiet
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
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { [self] request, _ in respond(to: request) },
            server: .http1(configuration: HTTP1Channel.Configuration(
                idleTimeout: .seconds(Int64(MetricsServer.idleTimeout / .seconds(1))),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: MetricsServer.maxHeaderBytes,
                                                maxHeaderListSize: MetricsServer.maxHeaderBytes,
                                                maxHeaderFieldCount: MetricsServer.maxHeaderFields))),
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port),
                availableConnectionsDelegate: .maximum(MetricsServer.maxConnections, logger: logger)),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? address.port
                resolve(.success(MetricsAddress(host: address.host, port: port).description))
            },
            logger: logger)
        do {
            try await application.run()
        } catch {
            let failure = StartupError("cannot bind metrics.bind \(address): \(error)")
            if resolve(.failure(failure)) { throw failure }
            throw error
        }
        resolve(.failure(StartupError("the metrics endpoint stopped before it listened")))
    }

    /// The answer to one request: the scrape is measured and read only for a `GET /metrics`.
    private func respond(to request: Request) -> Response {
        let answer = MetricsRoute.answer(method: request.method.rawValue, target: request.uri.description) {
            metrics.updateBeforeScrape()
            return MetricName.withHelp(registry.emitToBuffer())
        }
        var headers = HTTPFields()
        if let type = answer.headers["Content-Type"] { headers[.contentType] = type }
        if let allow = answer.headers["Allow"] { headers[.allow] = allow }
        return Response(status: .init(code: answer.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
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
