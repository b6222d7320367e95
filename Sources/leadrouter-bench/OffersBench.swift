import Foundation
import LeadRouting
import LeadStore
import Synchronization
import ZeroMQ

/// (h) Offers: routing with `accept_within` set, the accept round trip, routing beside a
/// flood of control requests, and start-up with many open offers, each against the
/// durable daemon as shipped, in the same run as the other sections.
enum OffersBench {
    struct Result {
        var throughput: ThroughputRun?
        var flooded: ThroughputRun?
        var floodReplies = 0
        var accept: LatencySummary?
        var openOffers = 0
        var readyWithOpenOffers: Double?
        var readWithOpenOffersMilliseconds: Double?
        /// Routing while a million offers wait on their deadlines, and the memory they take.
        var besideOpenOffers: ThroughputRun?
        var openOffersRSS: Double?

        var json: [String: Any] {
            var j: [String: Any] = ["flood_replies": floodReplies, "open_offers": openOffers]
            if let throughput { j["leads_per_second"] = throughput.rate }
            if let flooded { j["leads_per_second_beside_control_flood"] = flooded.rate }
            if let accept { j["accept_round_trip"] = accept.json }
            if let readyWithOpenOffers { j["ready_seconds_with_open_offers"] = readyWithOpenOffers }
            if let readWithOpenOffersMilliseconds { j["open_offers_read_ms"] = readWithOpenOffersMilliseconds }
            if let besideOpenOffers { j["leads_per_second_beside_open_offers"] = besideOpenOffers.rate }
            if let openOffersRSS { j["rss_mb_with_open_offers"] = openOffersRSS }
            return j
        }
    }

    static let offersYAML = "offers:\n  accept_within: 1h\n  max_offers: 3\n"
    static let accepts = 2_000

    static func lead(_ set: LeadSet, _ i: Int) -> ArraySlice<UInt8> { set.bytes[set.starts[i]..<set.starts[i + 1]] }

    /// Submits `leads` by intake (64 in flight) and returns the partner each was offered to.
    static func submit(_ daemon: DaemonProcess, _ leads: LeadSet) throws -> [(leadID: String, partner: String)] {
        let context = try Context()
        let intake = try Socket(context, type: .dealer)
        try intake.set(.linger, 0)
        try intake.connect(daemon.intake)
        var offered: [(String, String)] = []
        var sent = 0, answered = 0
        while answered < leads.count {
            while sent < leads.count && sent - answered < 64 {
                try intake.send(lead(leads, sent))
                sent += 1
            }
            guard let frames = try intake.receive(timeoutMilliseconds: 30_000) else { throw BenchError("intake stopped answering") }
            answered += 1
            let reply = (try? JSONSerialization.jsonObject(with: Data(frames.last ?? []))) as? [String: Any] ?? [:]
            if let id = reply["lead_id"] as? String, let partner = reply["partner_id"] as? String { offered.append((id, partner)) }
        }
        return offered
    }

    /// One accept at a time: send to reply, in nanoseconds.
    static func acceptRoundTrips(_ daemon: DaemonProcess, _ offered: [(leadID: String, partner: String)]) throws -> [Int64] {
        let context = try Context()
        let control = try Socket(context, type: .dealer)
        try control.set(.linger, 0)
        try control.connect(daemon.control)
        var times: [Int64] = []
        for (leadID, partner) in offered {
            let request = #"{"action": "accept", "lead_id": "\#(leadID)", "partner_id": "\#(partner)"}"#
            let start = Clock.now
            try control.send([[], Array(request.utf8)])
            guard let frames = try control.receive(timeoutMilliseconds: 30_000) else { throw BenchError("no control reply within 30 s") }
            times.append(Int64(Clock.now - start))
            guard String(decoding: frames.last ?? [], as: UTF8.self).contains(#""status":"ok""#) else {
                throw BenchError("accept refused: \(String(decoding: frames.last ?? [], as: UTF8.self))")
            }
        }
        return times
    }

    /// Writes `count` open offers straight into a fresh store (cases only), for start-up timing,
    /// offered in turn to `partners` (the configured ones: offers of partners no longer
    /// configured move on at start-up, which is other work).
    static func buildOpenOffers(directory: String, count: Int, partners: [String]) throws {
        let store = try LeadStore(directory: directory, durability: .off)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var next = 0
        while next < count {
            var batch = StoreBatch()
            batch.createdAt = now
            for i in next..<min(count, next + 20_000) {
                let lead = LeadCase(leadID: "open-\(i)", assignmentID: "a-open-\(i)", state: .offered, partnerID: partners.isEmpty ? "p0" : partners[i % partners.count],
                                    engagement: .leadsOnly, deadline: now + 3_600_000 + Int64(i), offers: 1)
                batch.cases.append(CaseWrite(lead: lead, history: [], updatedAt: now))
            }
            try store.commit(batch, published: [:])
            next += 20_000
        }
    }
}

/// Sends `status` requests for a lead that does not exist as fast as the daemon answers
/// them (64 in flight), until told to stop.
final class ControlFlood: Sendable {
    let stop = Atomic(false)
    let replies = Atomic(0)
    let ended = Atomic(false)

    func loop(_ endpoint: String) {
        defer { ended.store(true, ordering: .releasing) }
        guard let context = try? Context(), let socket = try? Socket(context, type: .dealer) else { return }
        try? socket.set(.linger, 0)
        try? socket.connect(endpoint)
        let request: [[UInt8]] = [[], Array(#"{"action": "status", "lead_id": "no-such-lead", "partner_id": "p0"}"#.utf8)]
        var inFlight = 0
        while !stop.load(ordering: .relaxed) {
            while inFlight < 64, (try? socket.send(request)) != nil { inFlight += 1 }
            if (try? socket.receive(timeoutMilliseconds: 100)) != nil {
                inFlight -= 1
                replies.add(1, ordering: .relaxed)
            }
        }
        socket.close()
    }
}

extension Bench {
    /// (h) Offers.
    func runOffers(_ work: Workload) throws {
        var result = OffersBench.Result()
        let daemon = try DaemonProcess(label: "offers", executable: daemonPath, partnersYAML: work.mainYAML,
                                       workBase: workBase, stateDir: nil, durability: nil, extraYAML: OffersBench.offersYAML, withControl: true)
        defer { finish(daemon) }
        try daemon.start(timeout: 120)
        let leads = work.throughputLeads.prefix(max(1, n / 2))
        result.throughput = try throughputRun("offers (accept_within 1h)", daemon, warmup: work.warmup.prefix(min(work.warmup.count, 500)), leads: leads)
        let offered = try OffersBench.submit(daemon, LeadSet(0..<OffersBench.accepts, prefix: "offer"))
        result.accept = LatencySummary(try OffersBench.acceptRoundTrips(daemon, offered))
        note("(h) accept round trip (\(offered.count) accepts, one at a time): p50 \(Table.ms(result.accept?.p50)) ms, p99 \(Table.ms(result.accept?.p99)) ms")

        let flood = ControlFlood()
        let endpoint = daemon.control
        Thread { flood.loop(endpoint) }.start()
        while flood.replies.load(ordering: .relaxed) == 0 { Thread.sleep(forTimeInterval: 0.01) }
        let before = flood.replies.load(ordering: .relaxed)
        result.flooded = try throughputRun("offers beside a control flood", daemon, warmup: LeadSet(0..<200, prefix: "floodwarm"),
                                           leads: LeadSet(0..<leads.count, prefix: "flood"))
        result.floodReplies = flood.replies.load(ordering: .relaxed) - before
        flood.stop.store(true, ordering: .relaxed)
        while !flood.ended.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
        note("(h) control flood: \(Table.number(Double(result.floodReplies))) status replies during the run")
        try measureOpenOffers(&result, work)
        results.offers = result
    }

    /// Start-up with `--open-offers` open offers in the store.
    private func measureOpenOffers(_ result: inout OffersBench.Result, _ work: Workload) throws {
        let count = options.quick ? 100_000 : 1_000_000
        let storeDir = try TemporaryDirectory(base: workBase, label: "open-offers")
        defer { if !options.keepTemp { storeDir.remove() } }
        let built = Clock.now
        try OffersBench.buildOpenOffers(directory: storeDir.path, count: count, partners: work.mainPartners.map(\.id))
        note(String(format: "stored %d open offers in %.1f s", count, Double(Clock.now - built) / 1e9))
        let daemon = try DaemonProcess(label: "open-offers", executable: daemonPath, partnersYAML: work.mainYAML, workBase: workBase,
                                       stateDir: storeDir.path, durability: nil, extraYAML: OffersBench.offersYAML, withControl: true)
        defer { finish(daemon) }
        result.openOffers = count
        // The median of three starts, as for stored leads.
        var times: [Double] = []
        for _ in 0..<3 {
            times.append(try daemon.start(timeout: 120))
            stop(daemon)
        }
        result.readyWithOpenOffers = times.sorted()[1]
        if let line = daemon.logTail(lines: 200).split(separator: "\n").last(where: { $0.contains("open offers read back") }),
           let range = line.range(of: #"ms=(\d+)"#, options: .regularExpression) {
            result.readWithOpenOffersMilliseconds = Double(line[range].dropFirst(3))
        }
        note("READY with \(count) open offers: " + times.map { String(format: "%.2f s", $0) }.joined(separator: ", "))
        // Once more, to route beside them: the heap must cost routing nothing.
        try daemon.start(timeout: 120)
        result.openOffersRSS = daemon.rssMegabytes()
        result.besideOpenOffers = try throughputRun("offers beside \(Table.number(Double(count))) open offers", daemon,
                                                    warmup: LeadSet(0..<200, prefix: "openwarm"),
                                                    leads: LeadSet(0..<max(1, n / 2), prefix: "open-lead"))
    }
}

extension Bench {
    /// (i) The durable daemon with `security.mode: curve`: every endpoint encrypted, the
    /// source and the subscriber holding configured keys; the same leads as (a).
    func runCurve(_ work: Workload) throws {
        let server = try Bench.curveKeyPair(), source = try Bench.curveKeyPair(), reader = try Bench.curveKeyPair()
        let yaml = """
            security:
              mode: curve
              server_key: "\(server.secretKey.z85)"
              clients:
                - {id: bench-source, role: source, keys: ["\(source.publicKey.z85)"]}
                - {id: bench-reader, role: operator, keys: ["\(reader.publicKey.z85)"]}
            """
        let daemon = try DaemonProcess(label: "curve", executable: daemonPath, partnersYAML: work.mainYAML,
                                       workBase: workBase, stateDir: nil, durability: nil, extraYAML: yaml)
        daemon.curve = BenchCurve(server: server.publicKey, source: source, reader: reader)
        defer { finish(daemon) }
        try daemon.start(timeout: 120)
        results.curve = try throughputRun("(i) durable, CURVE on", daemon, warmup: work.warmup, leads: work.throughputLeads)
    }

    /// A key pair whose Z85 texts the config reads as keys, never as file paths.
    static func curveKeyPair() throws -> CurveKeyPair {
        while true {
            let pair = try CurveKeyPair.generate()
            let texts = [pair.secretKey.z85, pair.publicKey.z85]
            if !texts.contains(where: { $0.hasPrefix("/") || $0.hasPrefix(".") }) { return pair }
        }
    }
}
