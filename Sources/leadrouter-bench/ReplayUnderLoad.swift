import Foundation
import LeadRouting
import Synchronization
import ZeroMQ

/// (g) Does replay delay routing? Intake round trips (one lead at a time, as a REQ client
/// sends them) against the durable daemon, first alone, then while one client replays
/// 10,000 envelopes in a loop, in the same run.
enum ReplayUnderLoad {
    struct Result {
        var stored: Int
        var alone: LatencySummary?
        var beside: LatencySummary?
        var replays: Int

        var json: [String: Any] {
            var j: [String: Any] = ["stored_envelopes": stored, "replays_during": replays]
            if let alone { j["intake_round_trip_alone"] = alone.json }
            if let beside { j["intake_round_trip_beside_replay"] = beside.json }
            return j
        }
    }

    static let stored = 10_000
    static let roundTrips = 2_000

    /// Fills `vendor-sales/` with ``stored`` envelopes (no partners: every lead goes there),
    /// then measures.
    static func measure(_ daemon: DaemonProcess, leads: LeadSet, probes: LeadSet) throws -> Result {
        let context = try Context()
        let intake = try Socket(context, type: .dealer)
        try intake.set(.linger, 0)
        try intake.connect(daemon.intake)
        try fill(intake, leads)
        let alone = try roundTrips(intake, probes, range: 0..<roundTrips)
        let replayer = Replayer()
        let endpoint = daemon.replay
        let thread = Thread { replayer.loop(context, endpoint) }
        thread.start()
        while replayer.replays.load(ordering: .relaxed) == 0 { Thread.sleep(forTimeInterval: 0.01) }
        let before = replayer.replays.load(ordering: .relaxed)
        let beside = try roundTrips(intake, probes, range: roundTrips..<(2 * roundTrips))
        let during = replayer.replays.load(ordering: .relaxed) - before
        replayer.stop.store(true, ordering: .relaxed)
        while !replayer.ended.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
        return Result(stored: leads.count, alone: LatencySummary(alone), beside: LatencySummary(beside), replays: during)
    }

    private static func lead(_ set: LeadSet, _ i: Int) -> ArraySlice<UInt8> { set.bytes[set.starts[i]..<set.starts[i + 1]] }

    /// Sends every lead, 64 in flight, and waits for every reply.
    private static func fill(_ socket: Socket, _ leads: LeadSet) throws {
        var sent = 0, answered = 0
        while answered < leads.count {
            while sent < leads.count && sent - answered < 64 {
                try socket.send(lead(leads, sent))
                sent += 1
            }
            guard try socket.receive(timeoutMilliseconds: 30_000) != nil else { throw BenchError("intake stopped answering while filling the store") }
            answered += 1
        }
    }

    /// One lead at a time: the time from send to its reply, in nanoseconds.
    private static func roundTrips(_ socket: Socket, _ probes: LeadSet, range: Range<Int>) throws -> [Int64] {
        var times: [Int64] = []
        times.reserveCapacity(range.count)
        for i in range {
            let start = Clock.now
            try socket.send(lead(probes, i))
            guard try socket.receive(timeoutMilliseconds: 30_000) != nil else { throw BenchError("no intake reply within 30 s") }
            times.append(Int64(Clock.now - start))
        }
        return times
    }
}

/// The client that replays the whole topic again and again, each request once the last
/// was answered, until told to stop.
private final class Replayer: Sendable {
    let stop = Atomic(false)
    let replays = Atomic(0)
    let ended = Atomic(false)

    func loop(_ context: Context, _ endpoint: String) {
        defer { ended.store(true, ordering: .releasing) }
        guard let socket = try? Socket(context, type: .dealer) else { return }
        try? socket.set(.linger, 0)
        try? socket.connect(endpoint)
        let request = Array(#"{"topic": "vendor-sales/", "from_seq": 1, "limit": 10000}"#.utf8)
        while !stop.load(ordering: .relaxed) {
            guard (try? socket.send(request)) != nil, (try? socket.receive(timeoutMilliseconds: 30_000)) != nil else { return }
            replays.add(1, ordering: .relaxed)
        }
        socket.close()
    }
}
