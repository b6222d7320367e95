import Foundation
public import LeadRouting
public import Logging
import Synchronization
import ZeroMQ

/// A failure that keeps the daemon from starting, naming the config key involved.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The thread that owns every LeadRouter socket: it receives leads on the ingest SUB,
/// runs them through the pure ``LeadPipeline`` and publishes the envelopes on the PUB.
///
/// ZeroMQ sockets are not thread-safe, so they are created, used and closed on this one
/// thread. Other threads talk to it only through ``requestStop()``, which sets a flag and
/// signals an eventfd the loop polls alongside its sockets.
public final class RoutingLoop: Sendable {
    public let config: RouterConfig
    private let logger: Logger
    private let notifier: SystemdNotifier
    private let wakeup: Wakeup
    private let stopRequested = Atomic<Bool>(false)

    /// Most messages handled per pass before the loop looks at its other duties.
    static let batchLimit = 1024
    /// How long the PUB socket keeps flushing to subscribers once the loop stops.
    static let publishLingerMilliseconds = 3000

    public init(config: RouterConfig, logger: Logger, notifier: SystemdNotifier) throws {
        self.config = config
        self.logger = logger
        self.notifier = notifier
        self.wakeup = try Wakeup()
    }

    /// Asks the loop to stop: it stops taking messages, routes those already received,
    /// flushes the feed and returns from ``run(onReady:)``. Safe from any thread.
    public func requestStop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
    }

    /// Runs the loop on the calling thread until ``requestStop()``.
    ///
    /// - Parameter onReady: called once every socket is bound (after `READY=1` went to systemd).
    /// - Throws: ``StartupError`` when a socket cannot be set up.
    public func run(onReady: () -> Void = {}) throws {
        let context = try Context(ioThreads: 1)
        defer { context.shutdown() }
        let ingest = try openIngest(context)
        let publish = try openPublish(context)
        var pipeline = LeadPipeline(config: config, seed: UInt64.random(in: .min ... .max))

        logger.info("leadrouterd ready", metadata: [
            "ingest": "\(config.ingest.bind.map(\.description) + config.ingest.connect.map(\.description))",
            "publish": "\(config.publish.bind)",
            "partners": "\(config.partners.count)",
        ])
        notifier.notify("READY=1\nSTATUS=routing leads")
        onReady()

        var poller = Poller()
        poller.add(ingest)
        poller.add(fileDescriptor: wakeup.fileDescriptor)
        var duties = LoopDuties(notifier: notifier, logger: logger)

        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            do {
                _ = try poller.poll(timeoutMilliseconds: duties.pollTimeoutMilliseconds)
            } catch {
                logger.error("poll failed; retrying", metadata: ["error": "\(error)"])
            }
            wakeup.drain()
            drain(ingest, into: publish, pipeline: &pipeline, limit: RoutingLoop.batchLimit, duties: &duties)
            duties.tick(counters: pipeline.counters)
        }

        // Graceful stop: take no new messages, route what was already received, flush.
        notifier.notify("STOPPING=1\nSTATUS=stopping: finishing in-flight leads")
        for endpoint in config.ingest.bind { try? ingest.unbind(endpoint.description) }
        for endpoint in config.ingest.connect { try? ingest.disconnect(endpoint.description) }
        drain(ingest, into: publish, pipeline: &pipeline, limit: .max, duties: &duties)
        ingest.close()
        try? publish.set(.linger, RoutingLoop.publishLingerMilliseconds)
        publish.close()
        logger.info("leadrouterd stopped", metadata: LoopDuties.metadata(pipeline.counters))
    }

    private func openIngest(_ context: Context) throws -> Socket {
        let ingest = try Socket(context, type: .sub)
        try ingest.set(.receiveHighWaterMark, config.ingest.receiveHighWaterMark)
        try ingest.set(.linger, 0)
        // A hard cap far above max_message_bytes: messages between the two are received and
        // rejected as too_large; beyond it libzmq drops the sending peer to protect memory.
        try ingest.setMaximumMessageSize(Int64(RoutingLoop.hardMessageCap(config.ingest.maxMessageBytes)))
        for topic in config.ingest.topics { try ingest.subscribe(topic) }
        for (i, endpoint) in config.ingest.bind.enumerated() {
            do { try ingest.bind(endpoint.description) } catch {
                throw StartupError("cannot bind ingest.bind[\(i)] \(endpoint): \(error.message)")
            }
        }
        for (i, endpoint) in config.ingest.connect.enumerated() {
            do { try ingest.connect(endpoint.description) } catch {
                throw StartupError("cannot connect ingest.connect[\(i)] \(endpoint): \(error.message)")
            }
        }
        return ingest
    }

    private func openPublish(_ context: Context) throws -> Socket {
        let publish = try Socket(context, type: .pub)
        try publish.set(.sendHighWaterMark, config.publish.sendHighWaterMark)
        try publish.set(.linger, 0)
        do { try publish.bind(config.publish.bind.description) } catch {
            throw StartupError("cannot bind publish.bind \(config.publish.bind): \(error.message)")
        }
        return publish
    }

    /// libzmq's own limit on inbound messages: 16 times `max_message_bytes`, at least 16 MiB.
    static func hardMessageCap(_ maxMessageBytes: Int) -> Int {
        max(16 << 20, maxMessageBytes.multipliedReportingOverflow(by: 16).partialValue)
    }

    /// Handles up to `limit` messages already waiting on `ingest`, without blocking.
    private func drain(_ ingest: Socket, into publish: Socket, pipeline: inout LeadPipeline, limit: Int, duties: inout LoopDuties) {
        let copyLimit = max(config.ingest.maxMessageBytes, LeadPipeline.quotedInputBytes)
        var handled = 0
        while handled < limit {
            let received: ReceivedMessage?
            do {
                received = try ingest.receiveMessage(wait: false, copyLimit: copyLimit)
            } catch {
                logger.error("ingest receive failed", metadata: ["error": "\(error)"])
                return
            }
            guard let received else { return }
            handled += 1
            let inbound = InboundMessage(frames: received.frames.map(\.bytes), totalSize: received.totalSize)
            let outcome = pipeline.process(inbound, from: .ingest, now: RoutingLoop.nowMilliseconds())
            switch outcome {
            case .routed(let leadID, let decision, let messages):
                logger.debug("routed", metadata: ["lead_id": "\(leadID)", "partner_id": "\(decision.partnerID ?? "-")"])
                send(messages, on: publish)
            case .duplicate(let leadID):
                logger.info("duplicate lead ignored", metadata: ["lead_id": "\(leadID)"])
            case .rejected(let rejection, let message):
                duties.logRejection(rejection)
                send([message], on: publish)
            }
        }
    }

    private func send(_ messages: [OutgoingMessage], on publish: Socket) {
        for message in messages {
            do {
                try publish.send([Array(message.topic.utf8), message.envelope], wait: false)
            } catch {
                logger.error("publish failed", metadata: ["topic": "\(message.topic)", "seq": "\(message.seq)", "error": "\(error)"])
            }
        }
    }

    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// The loop's periodic work: the systemd watchdog, a stats line, and rate-limited
/// rejection logs (so a flood of bad input cannot make logging the bottleneck).
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
    static let rejectionLogsPerSecond = 20

    init(notifier: SystemdNotifier, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
        // systemd's advice: ping at half the watchdog interval.
        self.watchdogEvery = notifier.watchdogInterval.map { $0 / 2 }
    }

    var pollTimeoutMilliseconds: Int {
        guard let watchdogEvery else { return 1000 }
        let ms = Int(watchdogEvery.components.seconds * 1000 + watchdogEvery.components.attoseconds / 1_000_000_000_000_000)
        return max(10, min(1000, ms))
    }

    mutating func tick(counters: PipelineCounters) {
        let now = ContinuousClock.now
        if let watchdogEvery, now - lastWatchdog >= watchdogEvery {
            notifier.notify("WATCHDOG=1")
            lastWatchdog = now
        }
        if suppressedLogs > 0, now - logWindowStart >= .seconds(1) {
            logger.warning("more rejections not logged individually", metadata: ["suppressed": "\(suppressedLogs)"])
            suppressedLogs = 0
        }
        if now - lastStats >= LoopDuties.statsEvery {
            lastStats = now
            if counters != lastStatsCounters {
                lastStatsCounters = counters
                logger.info("stats", metadata: LoopDuties.metadata(counters))
            }
        }
    }

    mutating func logRejection(_ rejection: LeadRejection) {
        let now = ContinuousClock.now
        if now - logWindowStart >= .seconds(1) {
            logWindowStart = now
            logsInWindow = 0
        }
        logsInWindow += 1
        if logsInWindow <= LoopDuties.rejectionLogsPerSecond {
            logger.warning("input rejected", metadata: [
                "code": "\(rejection.code.rawValue)", "field": "\(rejection.field ?? "-")", "reason": "\(rejection.message)",
            ])
        } else {
            suppressedLogs += 1
        }
    }

    static func metadata(_ c: PipelineCounters) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "received": "\(c.received)", "routed": "\(c.routed)", "to_partner": "\(c.routedToPartner)",
            "unmatched": "\(c.unmatched)", "duplicates": "\(c.duplicates)", "rejected": "\(c.rejectedTotal)",
            "published": "\(c.published)",
        ]
        for (code, n) in c.rejected { m["rejected_\(code.rawValue)"] = "\(n)" }
        return m
    }
}
