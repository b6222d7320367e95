import Foundation
import Synchronization
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Collects every envelope on the feed from its own thread (sockets stay on one thread),
/// keyed by topic and seq, while the test thread kills and restarts the daemon.
final class LiveCollector: Sendable {
    private let envelopes = Mutex<[String: [Int: [UInt8]]]>([:])
    private let leadIDs = Mutex<Set<String>>([])
    private let conflicts = Mutex<[String]>([])
    private let heartbeats = Atomic<Int>(0)
    private let lastHeartbeat = Mutex<String>("")
    private let stop = Atomic<Bool>(false)
    private let done = Atomic<Bool>(false)

    init(endpoint: String) {
        let thread = Thread { [self] in
            do {
                let subscriber = try TestSubscriber(endpoint: endpoint, topics: [""])
                while !stop.load(ordering: .relaxed) {
                    guard let message = try subscriber.next(timeout: 100, heartbeats: true) else { continue }
                    if message.isHeartbeat {
                        let sentAt = message.json["sent_at"] as? String ?? ""
                        lastHeartbeat.withLock { $0 = max($0, sentAt) }
                        heartbeats.add(1, ordering: .relaxed)
                        continue
                    }
                    record(message)
                }
            } catch {
                conflicts.withLock { $0.append("collector failed: \(error)") }
            }
            done.store(true, ordering: .relaxed)
        }
        thread.start()
    }

    private func record(_ message: FeedMessage) {
        let seq = message.json["seq"] as? Int ?? -1
        envelopes.withLock { all in
            if let earlier = all[message.topic]?[seq], earlier != message.raw {
                conflicts.withLock { $0.append("\(message.topic) \(seq)") }
            }
            all[message.topic, default: [:]][seq] = message.raw
        }
        if let id = message.json["lead_id"] as? String { _ = leadIDs.withLock { $0.insert(id) } }
    }

    /// Waits until the subscription is live (a heartbeat arrived).
    func waitUntilSubscribed(timeout: TimeInterval = 30) -> Bool {
        wait(timeout: timeout) { heartbeats.load(ordering: .relaxed) > 0 }
    }

    /// Waits for a heartbeat sent after `date`: the subscription reached the daemon running then.
    func waitForHeartbeat(sentAfter date: Date, timeout: TimeInterval = 30) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let after = formatter.string(from: date)
        return wait(timeout: timeout) { lastHeartbeat.withLock { $0 > after } }
    }

    /// Waits until an envelope of lead `id` arrived.
    func waitForLead(_ id: String, timeout: TimeInterval = 30) -> Bool {
        wait(timeout: timeout) { leadIDs.withLock { $0.contains(id) } }
    }

    /// Waits until `count` more leads than now have had an envelope, or `unless` holds (say,
    /// no more are coming); false after `timeout` s.
    @discardableResult
    func waitForMoreLeads(_ count: Int, timeout: TimeInterval = 30, unless: () -> Bool = { false }) -> Bool {
        let target = leadIDs.withLock { $0.count } + count
        return wait(timeout: timeout) { leadIDs.withLock { $0.count } >= target || unless() }
    }

    private func wait(timeout: TimeInterval, until condition: () -> Bool) -> Bool {
        poll(timeout: timeout, every: 0.01, until: condition)
    }

    func finish() -> (envelopes: [String: [Int: [UInt8]]], conflicts: [String]) {
        stop.store(true, ordering: .relaxed)
        if !wait(timeout: 30, until: { done.load(ordering: .relaxed) }) {
            conflicts.withLock { $0.append("the collector's thread did not stop") }
        }
        return (envelopes.withLock { $0 }, conflicts.withLock { $0 })
    }
}

let allTopics = ["partner/acme/", "partner/acme-east/", "partner/globex/", "partner/sleepy/", "vendor-sales/", "nurture/", "rejected/"]

func writeLeads(_ path: String, prefix: String, count: Int) throws {
    var text = ""
    for i in 0..<count {
        let (country, region) = [("US", "CO"), ("US", "NY"), ("DE", "BY"), ("FR", "75"), ("US", "WY")][i % 5]
        text += lead("\(prefix)-\(i)", country: country, region: region) + "\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

@Suite("Crashes and restarts: nothing lost, nothing twice", .serialized, .timeLimit(.minutes(5)), .daemonLogsOnFailure)
struct CrashRecoveryTests {
    @Test("SIGKILL at random moments while leads stream through intake: every acknowledged lead routed exactly once, seq gapless, replay matches the live feed byte for byte",
          arguments: DurabilityTests.commitModes)
    func crashLoop(extraYAML: String) throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: extraYAML)
        try daemon.waitUntilReady()
        let live = LiveCollector(endpoint: daemon.publish)
        try #require(live.waitUntilSubscribed())

        let count = 4000
        let file = daemon.directory.file("leads.jsonl")
        try writeLeads(file, prefix: "crash", count: count)
        // A timeout well past a reply's latency on a busy machine: with 1 s, a log sync slower
        // than that (a shared CI disk) meant every reply came after its socket was closed, and
        // the client gave up after 30 tries having had none (`durability: full` syncs each batch).
        let client = try Spawned(Binaries.path("leadctl"), ["publish", "--reliable", "--endpoint", daemon.intake, "--timeout", "5",
                                                            "--retries", "20", "--window", "32", file])
        var random = SeededGenerator()
        var killsMidStream = 0
        var lastStart = Date()
        for k in 0..<5 {
            // Each kill lands mid-stream whatever the machine's speed: a random number of newly
            // routed leads after the last start (a fixed or random delay let a fast run send
            // every lead before it, and a slow one route none), the first soon after lead 0.
            if k == 0 { #expect(live.waitForLead("crash-0"), "the first lead never came") }
            live.waitForMoreLeads(Int.random(in: k == 0 ? 0...20 : 20...400, using: &random), unless: { !client.isRunning })
            if client.isRunning { killsMidStream += 1 }
            daemon.crash()
            lastStart = Date()
            try daemon.start()
            try daemon.waitUntilReady()
        }
        let result = try client.finish(timeout: 120)
        #expect(result.status == 0 && result.exited, "\(result.stderr)")
        #expect(killsMidStream >= 1)
        // Every lead was acknowledged, once as accepted or (after a lost reply) as duplicate.
        let numbers = result.stderr.split(separator: "\n").last?.split(separator: " ").compactMap { Int($0) } ?? []
        #expect(numbers.count >= 3 && numbers[0] + numbers[1] == count && numbers[2] == 0, "\(result.stderr)")

        // A last lead, once the collector's subscription reached the last process: when the
        // collector has it, everything published before it on that connection has arrived too.
        #expect(live.waitForHeartbeat(sentAfter: lastStart), "the collector never heard from the daemon after its last crash")
        let intake = try TestRequester(endpoint: daemon.intake)
        #expect(try intake.reply(lead("crash-last", country: "US", region: "CO"))["status"] as? String == "accepted")
        #expect(live.waitForLead("crash-last"), "the daemon restarted after a crash never published to the collector")
        let (seen, conflicts) = live.finish()
        #expect(conflicts.isEmpty, "\(conflicts)")
        try expectReplayMatches(seen, daemon: daemon, ids: Set((0..<count).map { "crash-\($0)" } + ["crash-last"]))
        #expect(daemon.terminate() == 0)
    }

    /// Replay of every topic is gapless, routes each of `ids` exactly once, and holds every
    /// envelope the live subscriber saw, byte for byte.
    func expectReplayMatches(_ seen: [String: [Int: [UInt8]]], daemon: Daemon, ids: Set<String>,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let requester = try TestRequester(endpoint: daemon.replay)
        var owners: [String: Int] = [:]
        var compared = 0
        for topic in allTopics {
            let envelopes = try requester.replayAll(topic)
            let seqs = envelopes.map { jsonObject($0)["seq"] as? Int ?? -1 }
            #expect(seqs == Array(stride(from: 1, through: envelopes.count, by: 1)), "\(topic) seqs have gaps or repeats", sourceLocation: sourceLocation)
            for envelope in envelopes {
                let object = jsonObject(envelope)
                if ["owner", "relationship_owner", "direct", "nurture"].contains(object["role"] as? String ?? "") {
                    owners[object["lead_id"] as? String ?? "?", default: 0] += 1
                }
            }
            // Every envelope seen live is in replay with the same bytes.
            let differing = (seen[topic] ?? [:]).filter { seq, bytes in seq < 1 || seq > envelopes.count || envelopes[seq - 1] != bytes }
            compared += seen[topic]?.count ?? 0
            #expect(differing.isEmpty, "\(topic): \(differing.count) envelopes differ between live and replay, such as seq \(differing.keys.min() ?? 0)",
                    sourceLocation: sourceLocation)
        }
        #expect(compared > ids.count / 2, "the collector saw only \(compared) envelopes", sourceLocation: sourceLocation)
        #expect(Set(owners.keys) == ids, sourceLocation: sourceLocation)
        #expect(owners.values.allSatisfy { $0 == 1 }, "some lead was routed more than once", sourceLocation: sourceLocation)
    }

    @Test("after a graceful restart seq continues and lead_id dedupe survives")
    func restartContinuity() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let first = try intake.reply(lead("keep-1", country: "US", region: "CO"))
        #expect(first["status"] as? String == "accepted")
        #expect(first["partner_id"] as? String == "acme")
        #expect(daemon.terminate() == 0)

        try daemon.start()
        try daemon.waitUntilReady()
        let again = try TestRequester(endpoint: daemon.intake)
        #expect(try again.reply(lead("keep-1", country: "US", region: "CO"))["status"] as? String == "duplicate")
        #expect(try again.reply(lead("keep-2", country: "US", region: "CO"))["status"] as? String == "accepted")
        let replay = try TestRequester(endpoint: daemon.replay)
        let envelopes = try replay.replayAll("partner/acme/").map(jsonObject)
        #expect(envelopes.map { $0["seq"] as? Int } == [1, 2])
        #expect(envelopes.map { $0["lead_id"] as? String } == ["keep-1", "keep-2"])
        #expect(daemon.terminate() == 0)
    }

    @Test("rotation continues across a graceful restart, and a full capacity window stays full across a crash: both are read back from the store")
    func rotationAndCapacitySurviveRestarts() throws {
        let yaml = """
            partners:
              - {id: alpha, engagement: leads_only, territories: [{country: US}]}
              - {id: beta, engagement: leads_only, territories: [{country: US}]}
              - {id: capped, engagement: leads_only, territories: [{country: DE}], capacity: {max: 1, per: 7d}}
            """
        let daemon = try Daemon(partnersYAML: yaml)
        try daemon.waitUntilReady()
        func partner(_ id: String, _ country: String) throws -> String? {
            let reply = try TestRequester(endpoint: daemon.intake).reply(lead(id, country: country))
            try #require(reply["status"] as? String == "accepted", "\(reply)")
            return reply["partner_id"] as? String
        }
        // Capacity: the window is written with the batch that filled it, so a crash keeps it.
        #expect(try partner("cap-1", "DE") == "capped")
        daemon.crash()
        try daemon.start()
        try daemon.waitUntilReady()
        #expect(try partner("cap-2", "DE") == nil, "capped took a second lead within its 7-day window after a crash")

        // Rotation: equal weights alternate, alpha first (config order on a tie); a graceful
        // stop saves the counters and the next start reads them back.
        #expect(try partner("rot-1", "US") == "alpha")
        #expect(daemon.terminate() == 0)
        try daemon.start()
        try daemon.waitUntilReady()
        #expect(try partner("rot-2", "US") == "beta", "rotation started over after a restart")
        #expect(try partner("rot-3", "US") == "alpha")
        #expect(daemon.terminate() == 0)
    }

    @Test("SIGTERM with intake requests in flight: exit 0; every lead taken off the socket is routed; every answer is accepted and stored; the unanswered are safe to resend")
    func gracefulStopAnswersIntake() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let client = try TestRequester(endpoint: daemon.intake)
        let (ids, first) = try sendUntilStopped(client, daemon)
        var answered = first
        // Replies until the daemon has exited and the last of them has been read. One that
        // is still in flight then is treated as unanswered below, which the test allows.
        let deadline = Date().addingTimeInterval(60)
        while daemon.process.isRunning && Date() < deadline {
            if let frames = try client.socket.receive(timeoutMilliseconds: 50) { answered.append(jsonObject(frames.last ?? [])) }
        }
        while let frames = try client.socket.receive(timeoutMilliseconds: 200) { answered.append(jsonObject(frames.last ?? [])) }
        #expect(daemon.waitForExit(timeout: 30) == 0)
        #expect(answered.allSatisfy { $0["status"] as? String == "accepted" }, "\(answered.filter { $0["status"] as? String != "accepted" }.prefix(3))")
        let answeredIDs = answered.compactMap { $0["lead_id"] as? String }
        #expect(Set(answeredIDs).count == answeredIDs.count && Set(answeredIDs).isSubset(of: ids))
        // Not every lead stored need be answered: those taken off the socket after intake was
        // unbound were routed, but their connection was gone (protocol.md: resending is safe).
        // Everything taken off the socket was routed before the daemon exited.
        let stopped = try #require(daemon.log.split(separator: "\n").last { $0.contains("leadrouterd stopped") })
        let received = try #require(counter("received", in: stopped)), routed = try #require(counter("routed", in: stopped))
        #expect(received == routed && routed >= answeredIDs.count, "\(stopped)")

        // Every answered lead is stored; so is every routed one; the rest, resent, go through once.
        // (Closed first, with linger 0: what it still queues must not reach the next daemon.)
        client.socket.close()
        try daemon.start()
        try daemon.waitUntilReady()
        let stored = try TestRequester(endpoint: daemon.replay).replayAll("partner/globex/").compactMap { jsonObject($0)["lead_id"] as? String }
        #expect(stored.count == routed)
        #expect(Set(answeredIDs).isSubset(of: stored), "answered but not stored: \(Set(answeredIDs).subtracting(stored).count)")
        let storedSet = Set(stored), answeredSet = Set(answeredIDs)
        let unanswered = ids.filter { !answeredSet.contains($0) }
        let statuses = try resend(unanswered, to: daemon)
        let wrong = unanswered.filter { statuses[$0] != (storedSet.contains($0) ? "duplicate" : "accepted") }
        #expect(wrong.isEmpty, "\(wrong.count) of \(unanswered.count) resent leads answered wrongly, first \(wrong.first ?? "")")
        let after = try TestRequester(endpoint: daemon.replay).replayAll("partner/globex/").compactMap { jsonObject($0)["lead_id"] as? String }
        #expect(after.count == ids.count && Set(after) == Set(ids), "\(after.count) stored of \(ids.count) sent")
        #expect(daemon.terminate() == 0)
    }

    /// Sends leads to intake without waiting; on the first reply sends SIGTERM and goes on
    /// sending (up to 1000 more, until the stopping daemon takes no more). Returns the ids sent
    /// and the first reply.
    func sendUntilStopped(_ client: TestRequester, _ daemon: Daemon,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> (ids: [String], answered: [[String: Any]]) {
        var ids: [String] = []
        var answered: [[String: Any]] = []
        var sentAfterSignal = 0
        func answer(_ frames: [[UInt8]]) {
            answered.append(jsonObject(frames.last ?? []))
            kill(daemon.process.processIdentifier, SIGTERM)
        }
        let sendUntil = Date().addingTimeInterval(60)
        while Date() < sendUntil && sentAfterSignal < 1000 {
            if answered.isEmpty, let frames = try client.socket.receive(timeoutMilliseconds: 0) { answer(frames) }
            let id = "term-\(ids.count)"
            if try client.socket.send([[], Array(lead(id, country: "DE").utf8)], wait: false) {
                ids.append(id)
                if !answered.isEmpty { sentAfterSignal += 1 }
            } else if !answered.isEmpty {
                break  // the stopping daemon takes no more
            } else if let frames = try client.socket.receive(timeoutMilliseconds: 10) {
                answer(frames)
            }
        }
        try #require(!answered.isEmpty, "no reply within 60 s", sourceLocation: sourceLocation)
        return (ids, answered)
    }

    /// Sends `ids` again to intake, 500 in flight at a time; the status answered for each.
    func resend(_ ids: [String], to daemon: Daemon, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        let client = try TestRequester(endpoint: daemon.intake)
        var statuses: [String: String] = [:]
        for window in stride(from: 0, to: ids.count, by: 500) {
            let part = ids[window..<min(window + 500, ids.count)]
            for id in part { try client.socket.send([[], Array(lead(id, country: "DE").utf8)]) }
            for _ in part {
                let frames = try #require(try client.socket.receive(timeoutMilliseconds: 30_000), "a resent lead got no reply", sourceLocation: sourceLocation)
                let reply = jsonObject(frames.last ?? [])
                statuses[reply["lead_id"] as? String ?? "?"] = reply["status"] as? String
            }
        }
        return statuses
    }

    /// `name=N` from a log line's metadata.
    func counter(_ name: String, in line: Substring) -> Int? {
        line.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
    }

    @Test("leadctl tail --recover receives every assignment exactly once, in order, across its own restarts and the daemon's crashes")
    func recoveringTail() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let statePath = daemon.directory.file("tail-state.json")
        func publish(_ prefix: String, _ n: Int) throws {
            let file = daemon.directory.file("\(prefix).jsonl")
            var text = ""
            for i in 0..<n { text += lead("\(prefix)-\(i)", country: "DE") + "\n" }
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try run(Binaries.path("leadctl"), ["publish", "--reliable", "--endpoint", daemon.intake, "--retries", "20", "--timeout", "5", file])
            #expect(result.status == 0, "\(result.stderr)")
        }
        /// A recovering tail that exits by itself after `count` envelopes.
        func tail(count: Int) throws -> Spawned {
            try Spawned(Binaries.path("leadctl"), ["tail", "--recover", "--endpoint", daemon.publish, "--replay-endpoint", daemon.replay,
                                                   "--state", statePath, "--topic", "partner/globex/", "--count", "\(count)"])
        }
        func seqs(_ tail: Spawned) throws -> [Int] {
            let result = try tail.finish(timeout: 60)
            #expect(result.status == 0 && result.exited, "\(result.stderr)")
            return result.stdout.split(separator: "\n").map { jsonObject(Array($0.utf8))["seq"] as? Int ?? -1 }
        }

        // Leads routed before the subscriber ever ran are caught up from replay.
        try publish("a", 10)
        #expect(try seqs(try tail(count: 10)) == Array(1...10))

        // Leads routed while it was down arrive after its restart, and nothing twice.
        try publish("b", 7)
        #expect(try seqs(try tail(count: 7)) == Array(11...17))

        // Live, across a daemon crash: gaps are filled, order kept.
        let live = try tail(count: 10)
        try publish("c", 5)
        daemon.crash()
        try daemon.start()
        try daemon.waitUntilReady()
        try publish("d", 5)
        #expect(try seqs(live) == Array(18...27))
        #expect(daemon.terminate() == 0)
    }
}
