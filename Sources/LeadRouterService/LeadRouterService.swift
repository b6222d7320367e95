public import Foundation
public import LeadRouting
public import LeadStore
public import Logging
public import ServiceLifecycle

/// The daemon as a swift-service-lifecycle `Service`: runs the ``RoutingLoop`` on its own
/// thread and stops it gracefully when the service group shuts down (SIGTERM, SIGINT).
public struct LeadRouterService: Service {
    private let loop: RoutingLoop

    public init(config: RouterConfig, store: LeadStore, logger: Logger, notifier: SystemdNotifier) throws {
        self.loop = try RoutingLoop(config: config, store: store, logger: logger, notifier: notifier)
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
public struct CheckpointService: Service {
    private let store: LeadStore
    private let logger: Logger
    private let every: Duration

    public init(store: LeadStore, logger: Logger, every: Duration = .milliseconds(200)) {
        self.store = store
        self.logger = logger
        self.every = every
    }

    public func run() async throws {
        let (store, logger, every) = (self.store, self.logger, self.every)
        try? await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                try await Task.sleep(for: every)
                do {
                    try store.checkpoint()
                    failing = false
                } catch {
                    if !failing { logger.warning("checkpoint failed; will retry", metadata: ["error": "\(error)"]) }
                    failing = true
                }
            }
        }
        _ = try? store.checkpoint()
    }
}
