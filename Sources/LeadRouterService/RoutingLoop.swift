import Foundation
public import LeadRouting
public import LeadStore
public import Logging
import Synchronization
public import ZeroMQ

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

/// The thread that owns every LeadRouter socket: ``run(onReady:)`` recovers state from the
/// store, binds the sockets, then turns a ``RoutingEngine`` until ``requestStop()``: poll,
/// take a batch, route it, commit it, and release it once durable (docs/architecture.md).
///
/// ZeroMQ sockets are not thread-safe, so they are created, used and closed on this one
/// thread. Other threads talk to it only through ``requestStop()``, which sets a flag and
/// signals the eventfd the loop polls alongside its sockets.
public final class RoutingLoop: Sendable {
    public let config: RouterConfig
    /// The CURVE keys resolved from the config's certificates (empty with `mode: none`).
    public let keyRing: KeyRing
    let store: any RoutingStore
    let logger: Logger
    let notifier: SystemdNotifier
    let clock: any LoopClock
    let wakeup: Wakeup
    /// The ZeroMQ context the sockets are made in; `nil`: one of the loop's own.
    private let context: Context?
    private let stopRequested = Atomic<Bool>(false)
    /// The keys in force: the ZAP handler, replay and the engine read them; a reload replaces them.
    let liveKeys: LiveKeys
    /// A reload asked for and not yet applied (the newest wins).
    private let pendingReload = Mutex<ReloadRequest?>(nil)

    /// Most messages in one group commit.
    public static let batchLimit = 2048
    /// A batch this large (a full one: more was waiting, a backlog) commits on a thread of
    /// its own while the next one is routed; a smaller one commits on the routing thread,
    /// which then has nothing else to do. Pipelining smaller batches (256 or more) was
    /// measured to raise latency at a steady 10,000 leads/s on two cores: once a hiccup
    /// made one batch that large, the extra CPU per lead kept batches large (docs/benchmarks.md).
    public static let defaultPipelineBatch = batchLimit
    /// `store.pipeline_batch` (see ``defaultPipelineBatch``), or another for tests.
    let pipelineBatch: Int
    /// The instruments the loop folds its counts into (`nil`: metrics off).
    let metrics: RouterMetrics?

    /// - Parameters:
    ///   - keyRing: the server's secret key and the client keys, read from the certificates
    ///     the config names (`ConfigFile.keyRing`); empty with `security.mode: none`.
    ///   - context: the ZeroMQ context to make sockets in (tests pass theirs to use
    ///     `inproc://`); by default the loop makes and ends one of its own.
    ///   - clock: the time as the loop sees it (tests pass a manual one).
    ///   - pipelineBatch: the smallest batch that commits beside routing; by default
    ///     `store.pipeline_batch` (see ``defaultPipelineBatch``).
    ///   - metrics: the instruments to fold the loop's counts into; `nil`: metrics off.
    public init(config: RouterConfig, store: any RoutingStore, logger: Logger, notifier: SystemdNotifier,
                keyRing: KeyRing = KeyRing(), context: Context? = nil, clock: any LoopClock = SystemLoopClock(),
                pipelineBatch: Int? = nil, metrics: RouterMetrics? = nil) throws {
        self.pipelineBatch = max(1, pipelineBatch ?? config.store.pipelineBatch)
        self.metrics = metrics
        self.config = config
        self.keyRing = keyRing
        self.liveKeys = LiveKeys(keyRing)
        self.store = store
        self.logger = logger
        self.notifier = notifier
        self.context = context
        self.clock = clock
        self.wakeup = try Wakeup()
    }

    /// Asks the loop to stop: it stops taking messages, routes and commits those already
    /// received, flushes the feed and returns from ``run(onReady:)``. Safe from any thread.
    public func requestStop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
    }

    /// Asks the loop to apply `update` between batches (a SIGHUP reload: the caller has read
    /// and validated the whole file). The loop logs what changed, or why nothing did, and
    /// tells systemd `READY=1`. Safe from any thread.
    public func reload(_ update: ConfigUpdate) {
        pendingReload.withLock { $0 = .apply(update) }
        wakeup.signal()
    }

    /// Reports a reload whose config was not valid: the loop logs each problem, counts the
    /// failure and tells systemd `READY=1`; nothing changes. Safe from any thread.
    public func reloadFailed(problems: [String]) {
        pendingReload.withLock { $0 = .invalid(problems) }
        wakeup.signal()
    }

    /// The reload waiting to be applied, if any.
    func takeReload() -> ReloadRequest? {
        pendingReload.withLock { request in
            defer { request = nil }
            return request
        }
    }

    /// Wakes the loop to look at its deadlines again (after a manual clock moved). Safe from any thread.
    public func wake() { wakeup.signal() }

    var stopping: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// Runs the loop on the calling thread until ``requestStop()``.
    ///
    /// - Parameters:
    ///   - metricsEndpoint: where the metrics endpoint listens (`HOST:PORT`, its port
    ///     resolved), for `endpoints.json` and the ready line; `nil`: metrics off.
    ///   - onReady: called once state is recovered and every socket is bound (after
    ///     `READY=1` went to systemd).
    /// - Throws: ``StartupError`` when the store or a socket cannot be set up;
    ///   ``LogSyncFailure`` when a log sync failed (nothing it covered was released).
    public func run(metricsEndpoint: String? = nil, onReady: () -> Void = {}) throws {
        var recovered = try RecoveredState(store: store, config: config, logger: logger)
        let ownContext = context == nil ? try Context(ioThreads: 1) : nil
        defer { ownContext?.shutdown() }
        let context = self.context ?? ownContext!
        let (serverKey, zap) = try startAuthentication(context)
        defer { zap?.stop() }
        let sockets = try DaemonSockets(config: config, context: context, logger: logger, serverKey: serverKey, metrics: metrics)
        let watermarks = FeedWatermarks(published: recovered.topicStates.mapValues(\.publishedSeq), topics: recovered.feedTopics(config))
        let engine = RoutingEngine(loop: self, sockets: sockets, recovered: &recovered, watermarks: watermarks)
        var replay: ReplayServer?
        var bound = sockets.bound
        bound.metrics = metricsEndpoint
        do {
            try engine.republishUnpublished(recovered.topicStates)
            if let endpoint = config.replay.bind {
                let server = try ReplayServer(context: context, endpoint: endpoint, store: store, watermarks: watermarks,
                                              maxLimit: config.replay.maxLimit, logger: logger, serverKey: serverKey, keys: liveKeys,
                                              metrics: metrics)
                bound.replay = try server.start()
                replay = server
            }
        } catch {
            engine.stopWorkers()
            sockets.close(lingerMilliseconds: 0)
            throw error
        }
        defer { replay?.stop() }

        announceReady(bound)
        notifier.notify("READY=1\nSTATUS=routing leads")
        onReady()

        func makePoller() -> Poller {
            var poller = Poller()
            for socket in sockets.polled { poller.add(socket) }
            poller.add(fileDescriptor: wakeup.fileDescriptor)
            return poller
        }
        var poller = makePoller()
        while !stopping && !engine.hasFailed {
            do {
                _ = try poller.poll(timeoutMilliseconds: engine.pollTimeoutMilliseconds())
            } catch {
                logger.error("poll failed; retrying", metadata: ["error": "\(error)"])
            }
            wakeup.drain()
            sockets.connections.report(now: clock.now)
            if let reload = takeReload() { engine.applyReload(reload) }
            engine.turn()
            if engine.socketsChanged {
                engine.socketsChanged = false
                poller = makePoller()
            }
        }
        try engine.stop()
    }

    /// With CURVE: the server's key, and the ZAP handler, started before any server socket
    /// binds (libzmq 4.3.4 admits any key on a socket with no handler to ask).
    private func startAuthentication(_ context: Context) throws -> (CurveKey?, ZAPServer?) {
        let serverKey = try keyRing.serverSecretKey.map { text in
            do { return try CurveKey(z85: text) } catch { throw StartupError("security.server_key: \(error)") }
        }
        let zap = serverKey == nil ? nil : ZAPServer(keys: liveKeys, logger: logger, metrics: metrics)
        try zap?.start(context: context)
        return (serverKey, zap)
    }

    /// What an operator should hear about the config at start-up.
    private func warnAboutConfig() {
        if config.security.mode == .none && config.security.allowPlaintextNetwork {
            logger.warning("SECURITY: security.mode is none and allow_plaintext_network is true: leads travel unencrypted and ANY client that reaches an endpoint may submit leads, read every partner's feed and act as any partner; use security.mode: curve")
        } else if config.security.mode == .none {
            logger.notice("security.mode is none: no encryption or authentication; endpoints are bound on loopback or ipc only")
        }
        if config.rules.offersLeads && config.control.bind == nil {
            logger.warning("offers are on but control.bind is not set: partners cannot accept, so every offer expires and moves on")
        }
    }

    /// Writes `endpoints.json` and logs the ready line with the endpoints really bound.
    private func announceReady(_ bound: BoundEndpoints) {
        bound.record(stateDir: config.stateDir, logger: logger)
        defer { warnAboutConfig() }
        logger.info("leadrouterd ready", metadata: [
            "ingest": "\(bound.ingest + config.ingest.connect.map(\.description))",
            "intake": "\(bound.intake ?? "-")",
            "publish": "\(bound.publish)",
            "replay": "\(bound.replay ?? "-")",
            "control": "\(bound.control ?? "-")",
            "metrics": "\(bound.metrics ?? "-")",
            "partners": "\(config.partners.count)",
            "store": "\(store.path)",
            "durability": "\(store.durability.rawValue)",
        ])
    }
}

/// What the loop starts from, read from the store before any socket is bound.
struct RecoveredState {
    var topicStates: [String: TopicState]
    var partnerStates: [String: PartnerState]
    var registrations: [Registration]
    var registrationsVersion: Int64
    /// The store's id for the configured partner list, which decision records index into.
    /// Cases waiting on a deadline (open offers, pools, follow-ups), until the offer book
    /// takes them (``takeOpenCases()``).
    var openCases: [LeadCase]

    /// The open cases, handed over once: a million of them are not kept twice.
    mutating func takeOpenCases() -> [LeadCase] {
        var taken: [LeadCase] = []
        swap(&taken, &openCases)
        return taken
    }

    /// Every topic the feed serves at start: the configured partners', the fixed ones, and
    /// any the store has numbered.
    func feedTopics(_ config: RouterConfig) -> [String] {
        RecoveredState.configuredTopics(config) + topicStates.keys.sorted()
    }

    /// The topics `config` makes the feed serve: its partners', the fixed ones, and
    /// `outcomes/` when leads may be offered or partners may act (a reload adds those new).
    static func configuredTopics(_ config: RouterConfig) -> [String] {
        config.partners.map(\.topic) + [FeedTopic.vendorSales, FeedTopic.nurture, FeedTopic.rejected]
            + (config.rules.offersLeads || config.control.bind != nil ? [FeedTopic.outcomes] : [])
    }

    init(store: any RoutingStore, config: RouterConfig, logger: Logger) throws {
        do {
            topicStates = try store.topicStates()
            partnerStates = try store.partnerStates()
            registrations = try store.registrations()
            registrationsVersion = try store.registrationsVersion()
            let started = ContinuousClock.now
            openCases = try store.openCases()
            if !openCases.isEmpty {
                logger.notice("open offers read back", metadata: [
                    "count": "\(openCases.count)", "ms": "\((ContinuousClock.now - started) / .milliseconds(1))",
                ])
            }
        } catch {
            throw StartupError("\(error)")
        }
    }
}
