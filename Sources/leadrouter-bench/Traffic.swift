import Dispatch
import Foundation
import Synchronization
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A thread whose result the caller collects: each ZeroMQ socket is created, used and
/// closed on the one thread that owns it, and only plain values come back.
final class Worker<T: Sendable>: Sendable {
    private let result = Mutex<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(name: String, _ body: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// The thread's result, or nil if it did not finish within `timeout` seconds.
    func join(timeout: Double) -> T? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        done.signal()  // a later join returns at once
        return result.withLock { $0 }
    }
}

/// One measured run against one endpoint pair: a lead source (XPUB connected to `ingest`)
/// and a subscriber (SUB connected to `publish`), each on its own thread and context.
/// CURVE keys for a phase's source and subscriber, against a daemon with `security.mode: curve`.
struct BenchCurve: Sendable {
    var server: CurveKey
    /// A `source` client's key (ingest).
    var source: CurveKeyPair
    /// An `operator` client's key (the feed: every topic).
    var reader: CurveKeyPair
}

struct PhasePlan: Sendable {
    var name: String
    /// With CURVE on the daemon: the clients' keys.
    var curve: BenchCurve?
    var ingest: String
    var publish: String
    /// The SUB's subscriptions: the daemon's feed topics, or `lead` for the raw forwarder.
    var subscriptions: [String]
    /// Sent as fast as possible and waited for before the measured part (not measured).
    var warmup: LeadSet?
    var leads: LeadSet
    /// As fast as possible only: send `leads` this many times (the raw forwarder does not
    /// care about repeated ids; a daemon would drop them as duplicates).
    var repeats: Int = 1
    /// As fast as possible only: when the warm-up shows that all the leads would take longer
    /// than this many seconds, send only as many as fit (at least 1,000).
    var budgetSeconds: Double?
    /// Leads per second on a fixed schedule; nil: as fast as possible.
    var rate: Double?
    /// On a schedule: stop sending once the backlog (sent, not yet out) exceeds both one
    /// second of offered load and what the daemon, at the pace it has shown, would take this
    /// long to clear. The run is then
    /// "saturated": the offered load is beyond what the daemon sustains.
    var maxBacklogSeconds: Double = 5
    /// On a schedule: the daemon's leads/s as measured just before. When the offered rate is
    /// above it, the run counts as saturated, and is cut short (to at least 500 leads) if
    /// the backlog it builds would take more than about ``maxBacklogSeconds`` to clear.
    var knownCapacity: Double?
    /// Seconds to wait for subscriptions (the daemon's on ingest, ours on the feed).
    var readyTimeout: Double = 15
    /// Seconds without a new assignment before giving up on the rest (the daemon publishes
    /// in batches of up to 2,048 leads, so a slow one is silent for a while).
    var idleTimeout: Double = 60
    /// Reads the daemon's CPU seconds; sampled when the measured part starts and ends.
    var cpuSeconds: (@Sendable () -> Double?)?
    /// Reads the CPU seconds of each of the daemon's threads, by name; sampled with ``cpuSeconds``.
    var threadCPUSeconds: (@Sendable () -> [String: DaemonProcess.ThreadCPU])?
    /// Hard limit for the whole phase, in seconds.
    var deadline: Double = 900
}

struct PhaseResult: Sendable {
    var name: String
    /// Leads the plan offered (all repeats included).
    var planned: Int
    var sent: Int
    /// The offered load was above what the daemon sustains (see ``PhasePlan/knownCapacity``
    /// and ``PhasePlan/maxBacklogSeconds``); `sent` may then be below `planned`.
    var saturated: Bool
    /// Assignments (or forwarded messages) received for the measured leads.
    var received: Int
    var firstSend: UInt64
    var lastSend: UInt64
    var lastReceive: UInt64
    /// Receive time minus send time (the scheduled one, at a fixed rate), ns, in receive order.
    var latencies: [Int64]
    /// At a fixed rate: how late each send was against its schedule, ns.
    var sendLag: [Int64]
    var messagesIgnored: Int
    /// The daemon's CPU seconds over the measured part, when ``PhasePlan/cpuSeconds`` was given.
    var cpuSeconds: Double?
    /// The same per thread, by name (``PhasePlan/threadCPUSeconds``).
    var threadCPUSeconds: [String: Double]?

    /// Leads/s from the first send to the last assignment received.
    var rate: Double {
        guard received > 0, lastReceive > firstSend else { return 0 }
        return Double(received) / (Double(lastReceive - firstSend) / 1e9)
    }
    var complete: Bool { received == sent }
    var sendSeconds: Double { lastSend > firstSend ? Double(lastSend - firstSend) / 1e9 : 0 }
}

/// Flags and counters the two threads of a phase share.
final class PhaseShared: Sendable {
    let subscriberReady = Atomic<Bool>(false)
    let received = Atomic<Int>(0)
    /// Messages the subscriber waits for (warm-up included); lowered when the source sends fewer.
    let expected = Atomic<Int>(Int.max)
    let sourceDone = Atomic<Bool>(false)
    let subscriberDone = Atomic<Bool>(false)
    let abort = Atomic<Bool>(false)
    let error = Mutex<String?>(nil)

    func fail(_ message: String) {
        error.withLock { if $0 == nil { $0 = message } }
        abort.store(true, ordering: .sequentiallyConsistent)
    }
    var aborted: Bool { abort.load(ordering: .relaxed) }
}

struct SourceOutcome: Sendable {
    var cpuAtStart: Double?
    var threadCPUAtStart: [String: DaemonProcess.ThreadCPU]?
    var sent = 0
    var saturated = false
    var firstSend: UInt64 = 0
    var lastSend: UInt64 = 0
    var sendLag: [Int64] = []
}

private struct SubscriberOutcome: Sendable {
    var cpuAtEnd: Double?
    var threadCPUAtEnd: [String: DaemonProcess.ThreadCPU]?
    var received = 0
    var lastReceive: UInt64 = 0
    var latencies: [Int64] = []
    var ignored = 0
}

/// Runs one phase and returns what the subscriber measured.
func runPhase(_ plan: PhasePlan) throws -> PhaseResult {
    let shared = PhaseShared()
    let warmupCount = plan.warmup?.count ?? 0
    let planned = plan.leads.count * (plan.rate == nil ? plan.repeats : 1)
    shared.expected.store(warmupCount + planned, ordering: .sequentiallyConsistent)
    let subscriber = Worker<SubscriberOutcome>(name: "bench-sub") {
        subscriberLoop(plan, warmupCount: warmupCount, shared: shared)
    }
    let source = Worker<SourceOutcome>(name: "bench-source") {
        sourceLoop(plan, warmupCount: warmupCount, shared: shared)
    }
    guard let sub = subscriber.join(timeout: plan.deadline + 60),
          let src = source.join(timeout: 60) else {
        shared.fail("phase \(plan.name) did not finish within \(Int(plan.deadline)) s")
        throw BenchError("phase \(plan.name) hung")
    }
    if let error = shared.error.withLock({ $0 }) { throw BenchError("\(plan.name): \(error)") }
    return PhaseResult(
        name: plan.name, planned: planned, sent: src.sent, saturated: src.saturated, received: sub.received - warmupCount,
        firstSend: src.firstSend, lastSend: src.lastSend, lastReceive: sub.lastReceive,
        latencies: sub.latencies, sendLag: src.sendLag, messagesIgnored: sub.ignored,
        cpuSeconds: src.cpuAtStart.flatMap { start in sub.cpuAtEnd.map { $0 - start } },
        threadCPUSeconds: src.threadCPUAtStart.flatMap { start in
            sub.threadCPUAtEnd.map { DaemonProcess.ThreadCPU.spent(from: start, to: $0) }
        })
}

private func subscriberLoop(_ plan: PhasePlan, warmupCount: Int, shared: PhaseShared) -> SubscriberOutcome {
    var outcome = SubscriberOutcome()
    defer { shared.subscriberDone.store(true, ordering: .releasing) }
    do {
        let context = try Context(ioThreads: 1)
        let socket = try Socket(context, type: .sub)
        defer { socket.close() }
        try socket.set(.receiveHighWaterMark, 0)  // no limit: never drop on our side
        try socket.set(.linger, 0)
        for topic in plan.subscriptions { try socket.subscribe(topic) }
        if let curve = plan.curve { try socket.makeCurveClient(serverKey: curve.server, keyPair: curve.reader) }
        try socket.connect(plan.publish)
        try socket.set(.receiveTimeout, 100)
        outcome.latencies.reserveCapacity(min(plan.leads.count * plan.repeats, 4_000_000))

        let phaseDeadline = Clock.now + UInt64(plan.deadline * 1e9)
        let idle = UInt64(plan.idleTimeout * 1e9)
        var lastProgress = Clock.now
        var sourceFinished = false
        var received = 0
        while received < shared.expected.load(ordering: .acquiring) {
            var stampValue: UInt64? = nil
            let frames = try socket.inspectMessage { index, bytes in
                if index == 1 { stampValue = findStamp(bytes) }
            }
            let now = Clock.now
            if frames != nil {
                if let sent = stampValue {
                    if received >= warmupCount { outcome.latencies.append(Int64(now) - Int64(sent)) }
                    received += 1
                    outcome.lastReceive = now
                    lastProgress = now
                    shared.received.store(received, ordering: .releasing)
                } else {
                    outcome.ignored += 1  // a probe's assignment (or a heartbeat)
                    if !shared.subscriberReady.load(ordering: .relaxed) { shared.subscriberReady.store(true, ordering: .releasing) }
                }
            }
            if shared.aborted { break }
            if now > phaseDeadline { break }
            // Idleness counts only once the source has sent everything.
            if !sourceFinished {
                if shared.sourceDone.load(ordering: .acquiring) {
                    sourceFinished = true
                    lastProgress = max(lastProgress, now)
                }
            } else if now > lastProgress && now - lastProgress > idle {
                break
            }
        }
        outcome.received = received
        outcome.cpuAtEnd = plan.cpuSeconds?()
        outcome.threadCPUAtEnd = plan.threadCPUSeconds?()
    } catch {
        shared.fail("subscriber: \(error)")
    }
    return outcome
}

private let stampNeedle: [UInt8] = LeadFactory.stampKey

/// The send time in an envelope or forwarded lead: the digits after `"bench_t":"`.
/// Searched from the end, since the lead (which ends with the stamp) comes late in an envelope.
@inline(__always)
func findStamp(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
    let needleCount = stampNeedle.count
    let digits = LeadFactory.stampDigits
    guard bytes.count >= needleCount + digits else { return nil }
    return stampNeedle.withUnsafeBytes { needle -> UInt64? in
        var i = bytes.count - needleCount - digits
        while i >= 0 {
            if bytes[i] == 0x22 && bytes[i + 1] == 0x62 && memcmp(bytes.baseAddress! + i, needle.baseAddress!, needleCount) == 0 {
                var value: UInt64 = 0
                for j in (i + needleCount)..<(i + needleCount + digits) {
                    let d = bytes[j] &- 0x30
                    guard d < 10 else { return nil }
                    value = value &* 10 &+ UInt64(d)
                }
                return value
            }
            i -= 1
        }
        return nil
    }
}

/// The raw transport limit: a forwarder that does nothing, SUB bound where the daemon's
/// ingest would be, PUB bound where its feed would be, moving each message on without
/// copying (as `zbench fwd`), on its own thread with its own context.
final class RawForwarder {
    let ingest: String
    let publish: String
    private let context: Context
    private let worker: Worker<String?>

    init() throws {
        let endpoints = try freeEndpoints(2)
        ingest = endpoints[0]
        publish = endpoints[1]
        let context = try Context(ioThreads: 1)
        self.context = context
        let (ingest, publish) = (ingest, publish)
        let bound = DispatchSemaphore(value: 0)
        worker = Worker(name: "raw-forwarder") {
            var failure: String?
            do {
                let input = try Socket(context, type: .sub)
                let output = try Socket(context, type: .pub)
                defer {
                    input.close()
                    output.close()
                }
                try input.set(.linger, 0)
                try input.set(.receiveHighWaterMark, 10_000)  // as the daemon's ingest.receive_hwm default
                try output.set(.linger, 0)
                try output.set(.sendHighWaterMark, 1_000_000)  // the daemon's publish.send_hwm
                try output.set(.xpubNoDrop, 1)
                try input.subscribe("lead")
                try input.bind(ingest)
                try output.bind(publish)
                bound.signal()
                while true {
                    do {
                        try input.forwardMessage(to: output)
                    } catch let error as ZMQError {
                        if error.isContextTerminated { break }
                        throw error
                    }
                }
            } catch {
                failure = "\(error)"
                bound.signal()
            }
            return failure
        }
        if bound.wait(timeout: .now() + 10) != .success { throw BenchError("the raw forwarder did not start") }
    }

    func stop() {
        context.shutdown()
        if let failure = worker.join(timeout: 10), let failure { FileHandle.standardError.write(Data("raw forwarder: \(failure)\n".utf8)) }
    }
}
