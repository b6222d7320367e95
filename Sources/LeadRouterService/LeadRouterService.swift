import Foundation
public import LeadRouting
public import LeadStore
public import Logging
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// The config file could not be read again, or is not valid: each problem as `--check`
/// prints it.
public struct ConfigReadFailure: Error, Sendable {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
}

/// The daemon as a swift-service-lifecycle `Service`: runs the ``RoutingLoop`` on its own
/// thread and stops it gracefully when the service group shuts down (SIGTERM, SIGINT).
///
/// With a `readConfig` function, SIGHUP reloads the config: it tells systemd `RELOADING=1`,
/// reads and validates the whole file off the routing thread, and hands the result to the
/// loop, which applies it between batches (or logs why not) and tells systemd `READY=1`.
public struct LeadRouterService: Service {
    private let loop: RoutingLoop
    private let readConfig: (@Sendable () -> Result<ConfigUpdate, ConfigReadFailure>)?
    private let notifier: SystemdNotifier
    /// With metrics on: waits until the metrics endpoint listens and returns where (its
    /// port resolved), so `endpoints.json` names it before `READY=1`.
    private let metricsListening: (@Sendable () async throws -> String)?

    public init(loop: RoutingLoop, notifier: SystemdNotifier = SystemdNotifier(environment: [:]),
                readConfig: (@Sendable () -> Result<ConfigUpdate, ConfigReadFailure>)? = nil,
                metricsListening: (@Sendable () async throws -> String)? = nil) {
        self.loop = loop
        self.notifier = notifier
        self.readConfig = readConfig
        self.metricsListening = metricsListening
    }

    /// - Parameters:
    ///   - keyRing: the CURVE keys read from the config's certificates (empty with
    ///     `security.mode: none`).
    ///   - readConfig: reads and validates the config file again, for SIGHUP; `nil`: SIGHUP
    ///     is not handled.
    ///   - metrics: the instruments the loop folds its counts into (`nil`: metrics off), and
    ///     `metricsListening` where they are served (see ``init(loop:notifier:readConfig:metricsListening:)``).
    public init(config: RouterConfig, store: any RoutingStore, logger: Logger, notifier: SystemdNotifier,
                keyRing: KeyRing = KeyRing(), metrics: RouterMetrics? = nil,
                readConfig: (@Sendable () -> Result<ConfigUpdate, ConfigReadFailure>)? = nil,
                metricsListening: (@Sendable () async throws -> String)? = nil) throws {
        self.loop = try RoutingLoop(config: config, store: store, logger: logger, notifier: notifier, keyRing: keyRing,
                                    metrics: metrics)
        self.notifier = notifier
        self.readConfig = readConfig
        self.metricsListening = metricsListening
    }

    public func run() async throws {
        let loop = self.loop
        let metricsEndpoint = try await metricsListening?()
        let reloader = readConfig.map { read in
            let notifier = self.notifier
            return Task {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    // MONOTONIC_USEC: systemd 253 and later match it with the reload they asked for.
                    var now = timespec()
                    clock_gettime(CLOCK_MONOTONIC, &now)
                    let microseconds = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
                    notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=reloading the config")
                    switch read() {
                    case .success(let update): loop.reload(update)
                    case .failure(let failure): loop.reloadFailed(problems: failure.problems)
                    }
                }
            }
        }
        defer { reloader?.cancel() }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        CurrentThread.name("lr-route")
                        continuation.resume(with: Result { try loop.run(metricsEndpoint: metricsEndpoint) })
                    }
                    thread.start()
                }
            } onGracefulShutdown: {
                loop.requestStop()
            }
        } onCancel: {
            loop.requestStop()
        }
    }
}

/// Prunes leads and envelopes older than `store.retention_days`, in small transactions
/// so routing never waits long behind it. Runs shortly after start and then hourly, on a
/// thread of its own (SQLite blocks; Swift's cooperative pool must not).
public struct RetentionService: Service {
    private let store: any RoutingStore
    private let retentionDays: Int
    private let logger: Logger
    private let every: Duration
    private let batchPause: Duration

    public init(store: any RoutingStore, retentionDays: Int, logger: Logger, every: Duration = .seconds(3600), batchPause: Duration = .milliseconds(20)) {
        self.store = store
        self.retentionDays = retentionDays
        self.logger = logger
        self.every = every
        self.batchPause = batchPause
    }

    public func run() async throws {
        let worker = WorkerThread(label: "lr-retention")
        let pruner = Pruner(store: store, retentionDays: retentionDays, logger: logger, batchPause: batchPause)
        let first = Mutex(true)
        let every = self.every / .seconds(1)
        worker.runPeriodically(every: { first.withLock { f in defer { f = false }; return f ? 5 : every } }) {
            pruner.pruneAll(now: Date(), stopping: { worker.isStopping })
        }
        try? await gracefulShutdown()
        worker.stop()
        await worker.ended()
    }
}

/// Deletes everything past retention, a batch at a time, on the calling thread.
struct Pruner: Sendable {
    let store: any RoutingStore
    let retentionDays: Int
    let logger: Logger
    let batchPause: Duration

    /// Returns the rows deleted.
    @discardableResult
    func pruneAll(now: Date, stopping: () -> Bool) -> Int {
        let cutoff = Int64((now.timeIntervalSince1970 - Double(retentionDays) * 86_400) * 1000)
        var total = 0
        while !stopping() {
            do {
                let deleted = try store.prune(olderThan: cutoff, limit: 1000, expiredBefore: Int64(now.timeIntervalSince1970 * 1000))
                total += deleted
                if deleted == 0 { break }
            } catch {
                logger.warning("pruning failed; will retry", metadata: ["error": "\(error)"])
                break
            }
            Thread.sleep(forTimeInterval: batchPause / .seconds(1))
        }
        if total > 0 { logger.info("pruned leads and envelopes past retention", metadata: ["rows": "\(total)", "retention_days": "\(retentionDays)"]) }
        return total
    }
}

/// Checkpoints the store's write-ahead log five times a second (``LeadStore/checkpointInterval``)
/// from its own connection, so the routing thread's commits never stop to do it (SQLite's
/// auto-checkpoint is off).
///
/// It runs on a thread of its own at a lower CPU priority (nice 10): copying the log into the
/// database is a burst of work at each pass, and at normal priority it took the core the
/// routing thread was about to use, which showed as the tail of lead latency. At nice 10 it
/// still gets about a tenth of a contended core, about what it needs at full load.
///
/// A second thread starts the database file's writeback every 20 ms while a checkpoint has
/// run for over 50 ms (``LeadStore/startWriteback(duringCheckpointsLongerThan:)``), so what
/// a long one copies reaches the disk as it copies it, not in one long sync at its end that
/// the log's syncs queue behind.
public struct CheckpointService: Service {
    private let store: any RoutingStore
    private let logger: Logger
    private let every: Duration

    /// The checkpoint thread's nice value.
    static let niceness: Int32 = 10

    public init(store: any RoutingStore, logger: Logger, every: Duration = LeadStore.checkpointInterval) {
        self.store = store
        self.logger = logger
        self.every = every
    }

    public func run() async throws {
        let store = self.store, logger = self.logger
        let worker = WorkerThread(label: "lr-checkpoint", niceness: CheckpointService.niceness)
        let interval = every / .seconds(1)
        // Nearing the length at which the routing thread finishes a checkpoint under load, run
        // back to back: each pass then copies only what the last one left, so what the routing
        // thread has to copy itself (while commits wait) is a few milliseconds' worth.
        // (Only while commits keep adding to it: a long log that is all copied back, waiting
        // for the next commit to rewind it, needs no more passes.)
        let hurryPages = StoreUpkeep.walFinishPagesUnderLoad / 4 * 3
        let failing = Mutex(false)
        worker.runPeriodically(every: {
            store.lastKnownWALPages > hurryPages && store.lastKnownWALBacklog > 0 ? 0.005 : interval
        }) {
            do {
                try store.checkpoint()
                failing.withLock { $0 = false }
            } catch {
                if !failing.withLock({ f in defer { f = true }; return f }) {
                    logger.warning("checkpoint failed; will retry", metadata: ["error": "\(error)"])
                }
            }
        } finally: {
            _ = try? store.checkpoint()
        }
        // Beside it, a thread that starts writing out what checkpoints copy as they copy it,
        // so the sync that ends each one is short.
        let writeback = CheckpointService.startingWriteback(store, logger: logger)
        try? await gracefulShutdown()
        worker.stop()
        writeback.stop()
        await worker.ended()
        await writeback.ended()
    }

    /// How often the database file's writeback is started…
    static let writebackInterval: TimeInterval = 0.02
    /// …once a checkpoint has run this long: those of steady traffic take less.
    static let writebackAfter = Duration.milliseconds(50)

    /// A thread that starts `store`'s writeback (``LeadStore/startWriteback(duringCheckpointsLongerThan:)``)
    /// every `every` seconds until it is stopped, during checkpoints longer than `after`
    /// (`nil`: always); a failure is logged once, until it succeeds again.
    static func startingWriteback(_ store: any RoutingStore, logger: Logger, every: TimeInterval = writebackInterval,
                                  after: Duration? = writebackAfter) -> WorkerThread {
        let thread = WorkerThread(label: "lr-writeback")
        let failing = Mutex(false)
        thread.runPeriodically(every: { every }) {
            let started = store.startWriteback(duringCheckpointsLongerThan: after)
            if failing.withLock({ f in defer { f = !started }; return !started && !f }) {
                logger.warning("could not start writing the database file out early; checkpoints will sync it all at once", metadata: ["path": "\(store.path)"])
            }
        }
        return thread
    }
}
