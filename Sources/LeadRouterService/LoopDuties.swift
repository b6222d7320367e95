import LeadRouting
import LeadStore
import Logging

/// The routing loop's periodic duties and its logs: the systemd watchdog, a stats line, and
/// rate-limited logs of rejections and storage failures (so a flood of bad input cannot make
/// logging the bottleneck). Times come from the loop's clock.
struct LoopDuties {
    let notifier: SystemdNotifier
    let logger: Logger
    /// How often to ping the systemd watchdog: half its interval, systemd's advice.
    let watchdogEvery: Duration?
    private var lastStatsCounters = PipelineCounters()
    private var logWindowStart: ContinuousClock.Instant
    private var logsInWindow = 0
    private(set) var suppressedLogs = 0

    static let statsEvery = Duration.seconds(60)
    static let logsPerSecond = 20

    init(notifier: SystemdNotifier, logger: Logger, now: ContinuousClock.Instant) {
        self.notifier = notifier
        self.logger = logger
        self.watchdogEvery = notifier.watchdogInterval.map { $0 / 2 }
        self.logWindowStart = now
    }

    /// Pings the watchdog, unless the loop is unhealthy (a log sync hangs): then systemd
    /// restarts a daemon that can no longer acknowledge anything.
    func pingWatchdog(healthy: Bool) {
        if healthy { notifier.notify("WATCHDOG=1") }
    }

    /// Logs the count of lines the rate limit held back in the last window.
    mutating func reportSuppressed() {
        guard suppressedLogs > 0 else { return }
        logger.warning("more rejections or storage failures not logged individually", metadata: ["suppressed": "\(suppressedLogs)"])
        suppressedLogs = 0
    }

    /// Logs the counters when they changed since the last stats line.
    mutating func logStats(_ counters: PipelineCounters) {
        guard counters != lastStatsCounters else { return }
        lastStatsCounters = counters
        logger.info("stats", metadata: LoopDuties.metadata(counters, storageFailures: nil))
    }

    /// Whether another line may be logged in this second.
    private mutating func mayLog(now: ContinuousClock.Instant) -> Bool {
        if now - logWindowStart >= .seconds(1) {
            logWindowStart = now
            logsInWindow = 0
        }
        logsInWindow += 1
        if logsInWindow <= LoopDuties.logsPerSecond { return true }
        suppressedLogs += 1
        return false
    }

    /// One rejection: its code, field and reason, the channel it came on and, when it can be
    /// read, its `lead_id`.
    mutating func logRejection(_ rejected: RejectedInput, now: ContinuousClock.Instant) {
        guard mayLog(now: now) else { return }
        var metadata: Logger.Metadata = [
            "channel": "\(rejected.channel.rawValue)", "code": "\(rejected.rejection.code.rawValue)",
            "field": "\(rejected.rejection.field ?? "-")", "reason": "\(rejected.rejection.message)",
        ]
        if let leadID = rejected.leadID { metadata["lead_id"] = "\(leadID)" }
        logger.warning("input rejected", metadata: metadata)
    }

    /// A control request refused (bad input, or an action the lead's state does not allow).
    mutating func logControlRefusal(_ error: ControlError, now: ContinuousClock.Instant) {
        guard mayLog(now: now) else { return }
        logger.info("control request refused", metadata: [
            "code": "\(error.code.rawValue)", "lead_id": "\(error.leadID ?? "-")", "reason": "\(error.message)",
        ])
    }

    /// Messages dropped because their connection's key was revoked by a reload.
    mutating func logRevokedMessages(_ count: Int, now: ContinuousClock.Instant) {
        guard mayLog(now: now) else { return }
        logger.warning("messages dropped: their connection's CURVE key was revoked by a reload; the client must reconnect with a configured key", metadata: [
            "count": "\(count)",
        ])
    }

    mutating func logStorageFailure(error: StoreError, ingestLeadIDs: [String], intakeCount: Int, now: ContinuousClock.Instant) {
        guard mayLog(now: now) else { return }
        logger.error("the store refused a batch: nothing in it was acknowledged or published", metadata: [
            "error": "\(error)",
            "ingest_leads_not_routed": "\(LoopDuties.idList(ingestLeadIDs))",
            "ingest_count": "\(ingestLeadIDs.count)",
            "intake_rejected": "\(intakeCount)",
        ])
    }

    /// The first 50 ids, comma-separated, with `,…` when there were more.
    static func idList(_ ids: [String]) -> String {
        "\(ids.prefix(50).joined(separator: ","))\(ids.count > 50 ? ",…" : "")"
    }

    static func metadata(_ c: PipelineCounters, storageFailures: Int?) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "received": "\(c.received)", "routed": "\(c.routed)", "to_partner": "\(c.routedToPartner)",
            "unmatched": "\(c.unmatched)", "duplicates": "\(c.duplicates)", "rejected": "\(c.rejectedTotal)",
            "published": "\(c.published)",
        ]
        for (code, n) in c.rejected { m["rejected_\(code.rawValue)"] = "\(n)" }
        for (event, n) in c.offerEvents { m["offers_\(event)"] = "\(n)" }
        if c.controlRequests > 0 { m["control_requests"] = "\(c.controlRequests)" }
        if let storageFailures { m["storage_failures"] = "\(storageFailures)" }
        return m
    }
}

/// An input that was not accepted, as the log names it: why, where it came in, and its
/// `lead_id` when that can be read (``LeadParser/rejectedLeadID(_:from:code:)``).
struct RejectedInput {
    var rejection: LeadRejection
    var channel: InboundChannel
    var leadID: String?

    init(_ rejection: LeadRejection, of message: InboundMessage, from channel: InboundChannel) {
        self.rejection = rejection
        self.channel = channel
        leadID = LeadParser.rejectedLeadID(message, from: channel, code: rejection.code)
    }
}
