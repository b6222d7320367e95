import LeadRouting
import LeadStore
import Logging

/// The routing loop's periodic work: the systemd watchdog, a stats line, and rate-limited
/// logs of rejections and storage failures (so a flood of bad input cannot make logging
/// the bottleneck).
struct LoopDuties {
    let notifier: SystemdNotifier
    let logger: Logger
    private let watchdogEvery: Duration?
    private var lastWatchdog = ContinuousClock.now
    private var lastStats = ContinuousClock.now
    private var lastStatsCounters = PipelineCounters()
    private var logWindowStart = ContinuousClock.now
    private var logsInWindow = 0
    private var suppressedLogs = 0

    static let statsEvery = Duration.seconds(60)
    static let logsPerSecond = 20

    init(notifier: SystemdNotifier, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
        // systemd's advice: ping at half the watchdog interval.
        self.watchdogEvery = notifier.watchdogInterval.map { $0 / 2 }
    }

    func pollTimeoutMilliseconds(heartbeatEvery: Int) -> Int {
        var timeout = min(1000, max(10, heartbeatEvery / 4))
        if let watchdogEvery { timeout = min(timeout, max(10, Int(watchdogEvery / .milliseconds(1)))) }
        return timeout
    }

    /// - Parameter healthy: when false (a log sync hangs), the systemd watchdog is not pinged,
    ///   so systemd restarts a daemon that can no longer acknowledge anything.
    mutating func tick(counters: PipelineCounters, healthy: Bool = true) {
        let now = ContinuousClock.now
        if healthy, let watchdogEvery, now - lastWatchdog >= watchdogEvery {
            notifier.notify("WATCHDOG=1")
            lastWatchdog = now
        }
        if suppressedLogs > 0, now - logWindowStart >= .seconds(1) {
            logger.warning("more rejections or storage failures not logged individually", metadata: ["suppressed": "\(suppressedLogs)"])
            suppressedLogs = 0
        }
        if now - lastStats >= LoopDuties.statsEvery {
            lastStats = now
            if counters != lastStatsCounters {
                lastStatsCounters = counters
                logger.info("stats", metadata: LoopDuties.metadata(counters, storageFailures: nil))
            }
        }
    }

    /// Whether another line may be logged in this second.
    private mutating func mayLog() -> Bool {
        let now = ContinuousClock.now
        if now - logWindowStart >= .seconds(1) {
            logWindowStart = now
            logsInWindow = 0
        }
        logsInWindow += 1
        if logsInWindow <= LoopDuties.logsPerSecond { return true }
        suppressedLogs += 1
        return false
    }

    mutating func logRejection(_ rejection: LeadRejection) {
        guard mayLog() else { return }
        logger.warning("input rejected", metadata: [
            "code": "\(rejection.code.rawValue)", "field": "\(rejection.field ?? "-")", "reason": "\(rejection.message)",
        ])
    }

    mutating func logStorageFailure(error: StoreError, ingestLeadIDs: [String], intakeCount: Int) {
        guard mayLog() else { return }
        logger.error("the store refused a batch: nothing in it was acknowledged or published", metadata: [
            "error": "\(error)",
            "ingest_leads_not_routed": "\(ingestLeadIDs.prefix(50).joined(separator: ","))\(ingestLeadIDs.count > 50 ? ",…" : "")",
            "ingest_count": "\(ingestLeadIDs.count)",
            "intake_rejected": "\(intakeCount)",
        ])
    }

    static func metadata(_ c: PipelineCounters, storageFailures: Int?) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "received": "\(c.received)", "routed": "\(c.routed)", "to_partner": "\(c.routedToPartner)",
            "unmatched": "\(c.unmatched)", "duplicates": "\(c.duplicates)", "rejected": "\(c.rejectedTotal)",
            "published": "\(c.published)",
        ]
        for (code, n) in c.rejected { m["rejected_\(code.rawValue)"] = "\(n)" }
        if let storageFailures { m["storage_failures"] = "\(storageFailures)" }
        return m
    }
}
