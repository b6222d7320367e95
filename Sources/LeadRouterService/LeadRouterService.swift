public import Foundation
public import LeadRouting
public import LeadStore
public import Logging
public import ServiceLifecycle
import Synchronization

/// The daemon as a swift-service-lifecycle `Service`: runs the ``RoutingLoop`` on its own
/// thread and stops it gracefully when the service group shuts down (SIGTERM, SIGINT).
public struct LeadRouterService: Service {
    private let loop: RoutingLoop

    public init(config: RouterConfig, store: LeadStore, logger: Logger, notifier: SystemdNotifier,
                pipelineBatch: Int = RoutingLoop.defaultPipelineBatch) throws {
        self.loop = try RoutingLoop(config: config, store: store, logger: logger, notifier: notifier, pipelineBatch: pipelineBatch)
    }

    public func run() async throws {
        let loop = self.loop
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        do {
                            try loop.run()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = "leadrouter-sockets"
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
/// so routing never waits long behind it. Runs shortly after start and then hourly.
public struct RetentionService: Service {
    private let store: LeadStore
    private let retentionDays: Int
    private let logger: Logger
    private let every: Duration
    private let batchPause: Duration

    public init(store: LeadStore, retentionDays: Int, logger: Logger, every: Duration = .seconds(3600), batchPause: Duration = .milliseconds(20)) {
        self.store = store
        self.retentionDays = retentionDays
        self.logger = logger
        self.every = every
        self.batchPause = batchPause
    }

    public func run() async throws {
        // Sleeping must end at once on SIGTERM, so the whole loop is cancelled on graceful shutdown.
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .seconds(5))
            while !Task.isCancelled {
                await pruneOnce()
                try await Task.sleep(for: every)
            }
        }
    }

    /// Deletes everything past retention, a batch at a time. Returns the rows deleted.
    @discardableResult
    public func pruneOnce(now: Date = Date()) async -> Int {
        let cutoff = Int64((now.timeIntervalSince1970 - Double(retentionDays) * 86_400) * 1000)
        var total = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let deleted = try store.prune(olderThan: cutoff, expiredBefore: Int64(now.timeIntervalSince1970 * 1000))
                total += deleted
                if deleted == 0 { break }
            } catch {
                logger.warning("pruning failed; will retry", metadata: ["error": "\(error)"])
                break
            }
            try? await Task.sleep(for: batchPause)
        }
        if total > 0 { logger.info("pruned leads and envelopes past retention", metadata: ["rows": "\(total)", "retention_days": "\(retentionDays)"]) }
        return total
    }
}

/// Checkpoints the store's write-ahead log five times a second from its own connection, so the
/// routing thread's commits never stop to do it (SQLite's auto-checkpoint is off).
///
/// It runs on a thread of its own at a lower CPU priority (nice 10): copying the log into the
/// database is a burst of work every 200 ms, and at normal priority it took the core the
/// routing thread was about to use, which showed as the tail of lead latency. At nice 10 it
/// still gets about a tenth of a contended core, about what it needs at full load.
public struct CheckpointService: Service {
    private let store: LeadStore
    private let logger: Logger
    private let every: Duration

    /// The checkpoint thread's nice value.
    static let niceness: Int32 = 10

    public init(store: LeadStore, logger: Logger, every: Duration = .milliseconds(200)) {
        self.store = store
        self.logger = logger
        self.every = every
    }

    public func run() async throws {
        let worker = CheckpointThread(store: store, logger: logger, every: every)
        worker.start()
        try? await gracefulShutdown()
        await worker.stop()
        _ = try? store.checkpoint()
    }
}

/// The checkpoint loop's own thread; ``stop()`` wakes it and waits for it to end.
private final class CheckpointThread: Sendable {
    private let store: LeadStore
    private let logger: Logger
    private let every: Duration
    private let wake = DispatchSemaphore(value: 0)
    /// Whether the thread has ended, or who waits for it to.
    private let ending = Mutex<(ended: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init(store: LeadStore, logger: Logger, every: Duration) {
        self.store = store
        self.logger = logger
        self.every = every
    }

    func start() {
        let thread = Thread { [self] in
            loop()
            let waiter = ending.withLock { state in
                state.ended = true
                return state.waiter
            }
            waiter?.resume()
        }
        thread.name = "checkpoint"
        thread.start()
    }

    /// Wakes the thread to end and waits, without blocking a thread of the async pool, for a
    /// checkpoint in progress to finish.
    func stop() async {
        wake.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = ending.withLock { state in
                if !state.ended { state.waiter = continuation }
                return state.ended
            }
            if ended { continuation.resume() }
        }
    }

    private func loop() {
        // On Linux the nice value is per thread, and `who` 0 is the calling thread: only this
        // thread's priority changes.
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, CheckpointService.niceness) != 0 {
            logger.debug("could not lower the checkpoint thread's priority", metadata: ["errno": "\(errno)"])
        }
        let interval = every / .seconds(1)
        var failing = false
        // Nearing the length at which the routing thread finishes a checkpoint under load, run
        // back to back: each pass then copies only what the last one left, so what the routing
        // thread has to copy itself (while commits wait) is a few milliseconds' worth.
        // (Only while commits keep adding to it: a long log that is all copied back, waiting
        // for the next commit to rewind it, needs no more passes.)
        let hurryPages = RoutingLoop.walFinishPagesUnderLoad / 4 * 3
        func hurry() -> Bool { store.lastKnownWALPages > hurryPages && store.lastKnownWALBacklog > 0 }
        while wake.wait(timeout: .now() + (hurry() ? 0.005 : interval)) == .timedOut {
            do {
                try store.checkpoint()
                failing = false
            } catch {
                if !failing { logger.warning("checkpoint failed; will retry", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }
}
