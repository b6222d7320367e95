import Foundation
import Synchronization
import ZeroMQ

/// The lead source of a phase: an XPUB connected to the plan's ingest that waits for both
/// subscriptions, sends the warm-up and waits for it to come out, then sends the measured
/// leads (on a schedule or as fast as possible) and stays connected until the subscriber
/// is done.
func sourceLoop(_ plan: PhasePlan, warmupCount: Int, shared: PhaseShared) -> SourceOutcome {
    var outcome = SourceOutcome()
    do {
        let context = try Context(ioThreads: 1)
        let socket = try Socket(context, type: .xpub)
        defer { socket.close() }
        try socket.set(.xpubNoDrop, 1)
        try socket.set(.sendHighWaterMark, 1_000_000)
        try socket.set(.linger, 0)
        if let curve = plan.curve { try socket.makeCurveClient(serverKey: curve.server, keyPair: curve.source) }
        try socket.connect(plan.ingest)

        // 1. The daemon's (or forwarder's) subscription; 2. ours on the feed.
        let readyBy = Clock.now + UInt64(plan.readyTimeout * 1e9)
        guard try awaitIngestSubscription(socket, plan, readyBy: readyBy, shared: shared) else { return outcome }
        let topic = Array("lead".utf8)
        guard try awaitFeedSubscription(socket, plan, topic: topic, readyBy: readyBy, shared: shared) else { return outcome }

        let topicBuffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: topic.count)
        _ = topicBuffer.initialize(from: topic)
        defer { topicBuffer.deallocate() }
        let topicFrame = UnsafeBufferPointer(topicBuffer)

        // 3. Warm-up, as fast as possible, then wait until all of it came out.
        guard let warmupSeconds = try sendWarmup(socket, topicFrame, plan, warmupCount: warmupCount, shared: shared) else {
            return outcome
        }

        // 4. The measured leads.
        outcome.cpuAtStart = plan.cpuSeconds?()
        outcome.threadCPUAtStart = plan.threadCPUSeconds?()
        let leads = plan.leads
        var bytes = leads.bytes
        if plan.rate != nil { outcome.sendLag.reserveCapacity(leads.count) }
        try bytes.withUnsafeMutableBufferPointer { buffer in
            if let rate = plan.rate {
                try sendOnSchedule(socket, topicFrame, buffer, plan, rate: rate, warmupCount: warmupCount, shared: shared, outcome: &outcome)
            } else {
                try sendAsFastAsPossible(
                    socket, topicFrame, buffer, plan, warmupCount: warmupCount, warmupSeconds: warmupSeconds, shared: shared, outcome: &outcome)
            }
        }
        outcome.lastSend = Clock.now
        shared.expected.store(warmupCount + outcome.sent, ordering: .sequentiallyConsistent)
        shared.sourceDone.store(true, ordering: .releasing)

        // 5. Keep the connection until the subscriber has everything (or gives up).
        while !shared.subscriberDone.load(ordering: .acquiring) && !shared.aborted {
            Clock.sleep(seconds: 0.005)
        }
    } catch {
        shared.fail("source: \(error)")
    }
    return outcome
}

/// Waits for the daemon's (or forwarder's) subscription: 0x01 followed by a prefix of
/// "lead". False when it did not come by `readyBy` (the phase has failed) or the phase was
/// aborted.
private func awaitIngestSubscription(_ socket: Socket, _ plan: PhasePlan, readyBy: UInt64, shared: PhaseShared) throws -> Bool {
    var subscribed = false
    while !subscribed && Clock.now < readyBy && !shared.aborted {
        // A subscription message: 0x01 then the prefix. Nothing yet: wait and look again.
        guard let frame = try socket.receive(wait: false)?.first else {
            Clock.sleep(seconds: 0.005)
            continue
        }
        if frame.first == 1 { subscribed = Array("lead".utf8).starts(with: frame.dropFirst()) }
    }
    guard subscribed else {
        if !shared.aborted { shared.fail("no subscription on \(plan.ingest) within \(Int(plan.readyTimeout)) s") }
        return false
    }
    return true
}

/// Waits for our subscription on the feed: sends probes (small valid leads without a
/// stamp, each yielding one assignment the subscriber ignores) until the subscriber sees
/// one. False when the phase failed or was aborted.
private func awaitFeedSubscription(_ socket: Socket, _ plan: PhasePlan, topic: [UInt8], readyBy: UInt64, shared: PhaseShared) throws -> Bool {
    while !shared.subscriberReady.load(ordering: .acquiring) {
        if shared.aborted { return false }
        if Clock.now > readyBy {
            shared.fail("the feed subscriber saw nothing on \(plan.publish) within \(Int(plan.readyTimeout)) s")
            return false
        }
        try socket.send([topic, Probe.next()])
        Clock.sleep(seconds: 0.01)
    }
    Clock.sleep(seconds: 0.02)
    return true
}

/// Sends the warm-up as fast as possible and waits until all of it came out. Returns how
/// long that took in seconds (0 without a warm-up), or nil when the phase failed or was
/// aborted.
private func sendWarmup(_ socket: Socket, _ topicFrame: UnsafeBufferPointer<UInt8>, _ plan: PhasePlan, warmupCount: Int,
                        shared: PhaseShared) throws -> Double? {
    guard let warmup = plan.warmup else { return 0 }
    let warmupStart = Clock.now
    var bytes = warmup.bytes
    try bytes.withUnsafeMutableBufferPointer { buffer in
        for i in 0..<warmup.count {
            stamp(buffer, at: warmup.stampOffsets[i], Clock.now)
            let lead = UnsafeBufferPointer(rebasing: buffer[warmup.starts[i]..<warmup.starts[i + 1]])
            try socket.send([topicFrame, lead])
        }
    }
    var seen = 0
    var progressAt = Clock.now
    while seen < warmupCount {
        if shared.aborted { return nil }
        let now = Clock.now
        let got = shared.received.load(ordering: .acquiring)
        if got > seen {
            seen = got
            progressAt = now
        } else if now - progressAt > UInt64(plan.idleTimeout * 1e9) {
            shared.fail("warm-up: only \(got) of \(warmupCount) leads came out, none in the last \(Int(plan.idleTimeout)) s")
            return nil
        }
        Clock.sleep(seconds: 0.001)
    }
    return Double(Clock.now - warmupStart) / 1e9
}

/// Sends the measured leads at `rate` a second. Send times come from the schedule, never
/// from when the previous send finished: a daemon that falls behind shows it in the
/// latencies.
private func sendOnSchedule(_ socket: Socket, _ topicFrame: UnsafeBufferPointer<UInt8>, _ buffer: UnsafeMutableBufferPointer<UInt8>,
                            _ plan: PhasePlan, rate: Double, warmupCount: Int, shared: PhaseShared,
                            outcome: inout SourceOutcome) throws {
    let leads = plan.leads
    let interval = 1e9 / rate
    var count = leads.count
    if let capacity = plan.knownCapacity, capacity > 0, capacity < rate {
        let seconds = plan.maxBacklogSeconds * capacity / (rate - capacity)
        count = min(count, max(500, Int(rate * seconds)))
        outcome.saturated = true
    }
    let start = Clock.now + 1_000_000
    outcome.firstSend = start
    for i in 0..<count {
        if i & 255 == 0 && i > 0 {
            if shared.aborted { return }
            // Saturated: the backlog would take the daemon too long to clear.
            let now = Clock.now
            if now > start + 1_000_000_000 {
                let out = shared.received.load(ordering: .acquiring) - warmupCount
                let pace = Double(out) / (Double(now - start) / 1e9)
                // At least one second of offered load may queue (the daemon works in batches).
                if Double(i - out) > max(rate, 1000, pace * plan.maxBacklogSeconds) {
                    outcome.saturated = true
                    break
                }
            }
        }
        let scheduled = start + UInt64(Double(i) * interval)
        var now = Clock.now
        if now < scheduled {
            Clock.sleep(until: scheduled)
            now = Clock.now
        }
        stamp(buffer, at: leads.stampOffsets[i], scheduled)
        let lead = UnsafeBufferPointer(rebasing: buffer[leads.starts[i]..<leads.starts[i + 1]])
        try socket.send([topicFrame, lead])
        outcome.sendLag.append(Int64(now) - Int64(scheduled))
        outcome.sent += 1
    }
}

/// Sends the measured leads (`plan.repeats` times) as fast as possible; only as many as
/// fit in `plan.budgetSeconds` at the warm-up's pace.
private func sendAsFastAsPossible(_ socket: Socket, _ topicFrame: UnsafeBufferPointer<UInt8>, _ buffer: UnsafeMutableBufferPointer<UInt8>,
                                  _ plan: PhasePlan, warmupCount: Int, warmupSeconds: Double, shared: PhaseShared,
                                  outcome: inout SourceOutcome) throws {
    let leads = plan.leads
    let total = leads.count * plan.repeats
    var count = total
    if let budget = plan.budgetSeconds, warmupCount > 0, warmupSeconds > 0 {
        let pace = Double(warmupCount) / warmupSeconds
        count = min(total, max(min(total, 1000), Int(pace * budget)))
    }
    shared.expected.store(warmupCount + count, ordering: .sequentiallyConsistent)
    outcome.firstSend = Clock.now
    for k in 0..<count {
        if k & 1023 == 0 && shared.aborted { return }
        let i = k % leads.count
        stamp(buffer, at: leads.stampOffsets[i], Clock.now)
        let lead = UnsafeBufferPointer(rebasing: buffer[leads.starts[i]..<leads.starts[i + 1]])
        try socket.send([topicFrame, lead])
        outcome.sent += 1
    }
}

/// Probe leads: valid, tiny, with ids unique in the whole run and no `bench_t` stamp.
enum Probe {
    private static let counter = Atomic<Int>(0)
    private static let tag = String(UInt32.random(in: .min ... .max), radix: 36)

    static func next() -> [UInt8] {
        let n = counter.add(1, ordering: .relaxed).newValue
        return Array(#"{"lead_id":"probe-\#(tag)-\#(n)","company":{"name":"Bench Probe","country":"US","region":"CO"},"products":["firewall"]}"#.utf8)
    }
}

/// Writes `value` as 18 decimal digits at `offset`.
@inline(__always)
private func stamp(_ buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int, _ value: UInt64) {
    var v = value
    var i = offset + LeadFactory.stampDigits - 1
    while i >= offset {
        buffer[i] = 0x30 + UInt8(v % 10)
        v /= 10
        i -= 1
    }
}
