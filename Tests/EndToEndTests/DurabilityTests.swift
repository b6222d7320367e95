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
    private let conflicts = Mutex<[String]>([])
    private let heartbeats = Atomic<Int>(0)
    private let stop = Atomic<Bool>(false)
    private let done = Atomic<Bool>(false)

    init(endpoint: String) {
        let thread = Thread { [self] in
            do {
                let subscriber = try TestSubscriber(endpoint: endpoint, topics: [""])
                while !stop.load(ordering: .relaxed) {
                    guard let message = try subscriber.next(timeout: 100, heartbeats: true) else { continue }
                    if message.isHeartbeat {
                        heartbeats.add(1, ordering: .relaxed)
                        continue
                    }
                    let seq = message.json["seq"] as? Int ?? -1
                    envelopes.withLock { all in
                        if let earlier = all[message.topic]?[seq], earlier != message.raw {
                            conflicts.withLock { $0.append("\(message.topic) \(seq)") }
                        }
                        all[message.topic, default: [:]][seq] = message.raw
                    }
                }
            } catch {
                conflicts.withLock { $0.append("collector failed: \(error)") }
            }
            done.store(true, ordering: .relaxed)
        }
        thread.start()
    }

    /// Waits until the subscription is live (a heartbeat arrived).
    func waitUntilSubscribed(timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while heartbeats.load(ordering: .relaxed) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return heartbeats.load(ordering: .relaxed) > 0
    }

    func finish() -> (envelopes: [String: [Int: [UInt8]]], conflicts: [String]) {
        stop.store(true, ordering: .relaxed)
        while !done.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.02) }
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

@Suite("Nothing lost: durable store, intake, replay, recovery", .serialized)
struct DurabilityTests {
    /// The config for each way of committing: batches under a backlog commit on a thread of
    /// their own while the next is routed; the tests also run with every batch committed that
    /// way (`store.pipeline_batch: 1`).
    static let commitModes: [String] = ["", "store:\n  pipeline_batch: 1"]

    @Test("SIGKILL at random moments while leads stream through intake: every acknowledged lead routed exactly once, seq gapless, replay matches the live feed byte for byte",
          arguments: commitModes)
    func crashLoop(extraYAML: String) throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: extraYAML)
        try daemon.waitUntilReady()
        let live = LiveCollector(endpoint: daemon.publish)
        try #require(live.waitUntilSubscribed())

        let count = 4000
        let file = daemon.directory.file("leads.jsonl")
        try writeLeads(file, prefix: "crash", count: count)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: Binaries.path("leadctl"))
        client.arguments = ["publish", "--reliable", "--endpoint", daemon.intake, "--timeout", "1", "--retries", "30", "--window", "32", file]
        let clientErr = Pipe()
        client.standardError = clientErr
        try client.run()

        var killsMidStream = 0
        for _ in 0..<5 {
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.5))
            if client.isRunning { killsMidStream += 1 }
            daemon.crash()
            try daemon.start()
            try daemon.waitUntilReady()
        }
        let errData = clientErr.fileHandleForReading.readDataToEndOfFile()
        client.waitUntilExit()
        let summary = String(decoding: errData, as: UTF8.self)
        #expect(client.terminationStatus == 0, "\(summary)")
        #expect(killsMidStream >= 1)
        // Every lead was acknowledged, once as accepted or (after a lost reply) as duplicate.
        let numbers = summary.split(separator: "\n").last?.split(separator: " ").compactMap { Int($0) } ?? []
        #expect(numbers.count >= 3 && numbers[0] + numbers[1] == count && numbers[2] == 0, "\(summary)")

        Thread.sleep(forTimeInterval: 1.5)
        let (seen, conflicts) = live.finish()
        #expect(conflicts.isEmpty, "\(conflicts)")

        let requester = try TestRequester(endpoint: daemon.replay)
        var owners: [String: Int] = [:]
        for topic in allTopics {
            let envelopes = try requester.replayAll(topic)
            let seqs = envelopes.map { jsonObject($0)["seq"] as? Int ?? -1 }
            #expect(seqs == Array(stride(from: 1, through: envelopes.count, by: 1)), "\(topic) seqs have gaps or repeats")
            for (i, envelope) in envelopes.enumerated() {
                let object = jsonObject(envelope)
                if ["owner", "relationship_owner", "direct", "nurture"].contains(object["role"] as? String ?? "") {
                    owners[object["lead_id"] as? String ?? "?", default: 0] += 1
                }
                if let liveBytes = seen[topic]?[i + 1] {
                    #expect(liveBytes == envelope, "\(topic) seq \(i + 1) differs between live and replay")
                }
            }
        }
        #expect(owners.count == count)
        #expect(owners.values.allSatisfy { $0 == 1 }, "some lead was routed more than once")
        #expect(Set(owners.keys) == Set((0..<count).map { "crash-\($0)" }))
        #expect(daemon.terminate() == 0)
    }

    @Test("after a graceful restart seq continues and lead_id dedupe survives")
    func restartContinuity() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let first = jsonObject(try intake.request(json: lead("keep-1", country: "US", region: "CO"))[0])
        #expect(first["status"] as? String == "accepted")
        #expect(first["partner_id"] as? String == "acme")
        #expect(daemon.terminate() == 0)

        try daemon.start()
        try daemon.waitUntilReady()
        let again = try TestRequester(endpoint: daemon.intake)
        #expect(jsonObject(try again.request(json: lead("keep-1", country: "US", region: "CO"))[0])["status"] as? String == "duplicate")
        #expect(jsonObject(try again.request(json: lead("keep-2", country: "US", region: "CO"))[0])["status"] as? String == "accepted")
        let replay = try TestRequester(endpoint: daemon.replay)
        let envelopes = try replay.replayAll("partner/acme/").map(jsonObject)
        #expect(envelopes.map { $0["seq"] as? Int } == [1, 2])
        #expect(envelopes.map { $0["lead_id"] as? String } == ["keep-1", "keep-2"])
        #expect(daemon.terminate() == 0)
    }

    // A failed log sync (nothing it covered answered, the stop, the recovery, the SUB leads
    // named) is tested in process with a fault-injecting store: Tests/LeadRouterServiceTests.

    @Test("intake answers accepted, duplicate and rejected (with the error), and REQ clients work as is")
    func intakeReplies() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let context = try Context()
        let req = try Socket(context, type: .req)
        try req.set(.linger, 0)
        try req.set(.receiveTimeout, 10_000)
        try req.connect(daemon.intake)
        func ask(_ body: String) throws -> [String: Any] {
            try req.send(Array(body.utf8))
            return jsonObject(try #require(try req.receive()).last ?? [])
        }
        let accepted = try ask(lead("in-1", country: "DE"))
        #expect(accepted["status"] as? String == "accepted")
        #expect(accepted["lead_id"] as? String == "in-1")
        #expect(try ask(lead("in-1", country: "DE"))["status"] as? String == "duplicate")
        let rejected = try ask(#"{"lead_id": "in-2", "company": {"name": "X"}}"#)
        #expect(rejected["status"] as? String == "rejected")
        let error = try #require(rejected["error"] as? [String: Any])
        #expect(error["code"] as? String == "missing_field")
        #expect(error["field"] as? String == "company.country")
        // Two frames on intake are bad_frames.
        let dealer = try TestRequester(endpoint: daemon.intake)
        try dealer.socket.send([[], Array("{}".utf8), Array("{}".utf8)])
        try dealer.socket.set(.receiveTimeout, 10_000)
        let reply = jsonObject(try #require(try dealer.socket.receive()).last ?? [])
        #expect((reply["error"] as? [String: Any])?["code"] as? String == "bad_frames")
        #expect(daemon.terminate() == 0)
    }

    @Test("replay: byte-identical envelopes in seq order, bounded by limit and replay.max_limit, clear errors")
    func replay() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        for i in 0..<12 { _ = try intake.request(json: lead("r-\(i)", country: "DE")) }
        let replay = try TestRequester(endpoint: daemon.replay)
        let frames = try replay.request(json: #"{"topic": "partner/globex/", "from_seq": 3, "limit": 4}"#)
        let header = jsonObject(frames[0])
        #expect(header["topic"] as? String == "partner/globex/")
        #expect(header["from_seq"] as? Int == 3)
        #expect(header["last_seq"] as? Int == 6)
        #expect(header["count"] as? Int == 4)
        #expect(header["topic_last_seq"] as? Int == 12)
        #expect(frames.dropFirst().map { jsonObject($0)["seq"] as? Int } == [3, 4, 5, 6])
        #expect(frames.dropFirst().map { jsonObject($0)["lead_id"] as? String } == ["r-2", "r-3", "r-4", "r-5"])

        let past = jsonObject(try replay.request(json: #"{"topic": "partner/globex/", "from_seq": 13}"#)[0])
        #expect(past["count"] as? Int == 0)
        #expect(past["last_seq"] as? Int == 12)
        let empty = jsonObject(try replay.request(json: #"{"topic": "partner/sleepy/", "from_seq": 1}"#)[0])
        #expect(empty["count"] as? Int == 0)

        for (body, code) in [
            (#"{"topic": "partner/nobody/", "from_seq": 1}"#, "unknown_topic"),
            (#"{"topic": "partner/globex/"}"#, "bad_request"),
            (#"{"topic": "partner/globex/", "from_seq": 0}"#, "bad_request"),
            (#"{"topic": "partner/globex/", "from_seq": 1, "limit": "all"}"#, "bad_request"),
            ("not json", "bad_request"),
        ] {
            let reply = try replay.request(json: body)
            #expect(reply.count == 1)
            #expect((jsonObject(reply[0])["error"] as? [String: Any])?["code"] as? String == code, "\(body)")
        }
        #expect(daemon.terminate() == 0)
    }

    @Test("replay.max_limit bounds a reply whatever limit asks for")
    func replayMaxLimit() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: "store:\n  durability: normal\n")
        try daemon.waitUntilReady()
        #expect(daemon.terminate() == 0)
        // Rewrite the config with a small max_limit and start again on the same store.
        var config = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        config = config.replacingOccurrences(of: "replay:\n  bind: \"\(daemon.replay)\"", with: "replay:\n  bind: \"\(daemon.replay)\"\n  max_limit: 3")
        try config.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        try daemon.start()
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        for i in 0..<5 { _ = try intake.request(json: lead("m-\(i)", country: "DE")) }
        let frames = try TestRequester(endpoint: daemon.replay).request(json: #"{"topic": "partner/globex/", "from_seq": 1, "limit": 1000}"#)
        #expect(jsonObject(frames[0])["count"] as? Int == 3)
        #expect(frames.count == 4)
        #expect(daemon.terminate() == 0)
    }

    @Test("every topic's subscriber learns its last seq from a heartbeat within 2 s when no lead arrives")
    func heartbeats() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        // A subscriber to partner/globex/ alone never sees heartbeats; one that asks does.
        let plain = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/globex/"])
        let globex = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/globex/", "heartbeat/partner/globex/"])
        var beat = try #require(try globex.next(timeout: 3000, heartbeats: true))
        #expect(beat.isHeartbeat)
        #expect(beat.topic == "heartbeat/partner/globex/")
        #expect(beat.json["type"] as? String == "heartbeat")
        #expect(beat.json["topic"] as? String == "partner/globex/")
        #expect(beat.json["last_seq"] as? Int == 0)
        let intake = try TestRequester(endpoint: daemon.intake)
        _ = try intake.request(json: lead("hb-1", country: "DE"))
        // The envelope may or may not reach us; the next heartbeat says seq 1 either way.
        let start = Date()
        repeat {
            beat = try #require(try globex.next(timeout: 3000, heartbeats: true))
        } while !beat.isHeartbeat
        #expect(beat.json["last_seq"] as? Int == 1)
        #expect(Date().timeIntervalSince(start) < 2.5)
        var plainSeen = 0
        while let message = try plain.next(timeout: 1500, heartbeats: true) {
            #expect(!message.isHeartbeat)
            #expect(message.topic == "partner/globex/")
            plainSeen += 1
        }
        #expect(plainSeen <= 1)
        #expect(daemon.terminate() == 0)
    }

    @Test("a damaged store is a clear error at start-up, never a silent fresh start")
    func corruptStore() throws {
        let dir = try TemporaryDirectory()
        let state = dir.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: state + "/leadrouter.sqlite"))
        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: state)
        #expect(daemon.waitForExit(timeout: 30) == 1)
        #expect(daemon.log.contains("damaged"), "\(daemon.log)")
        #expect(FileManager.default.contents(atPath: state + "/leadrouter.sqlite") == garbage)
    }

    @Test("a state_dir the daemon cannot use is a clear error at start-up")
    func unusableStateDir() throws {
        let dir = try TemporaryDirectory()
        let notADirectory = dir.file("file")
        try "x".write(toFile: notADirectory, atomically: true, encoding: .utf8)
        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: notADirectory)
        #expect(daemon.waitForExit(timeout: 30) == 1)
        #expect(daemon.log.contains("state_dir"), "\(daemon.log)")
    }

    @Test("a read-only state_dir is a clear error at start-up", .enabled(if: getuid() == 0))
    func readOnlyStateDir() throws {
        let dir = try TemporaryDirectory()
        let state = dir.file("ro")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let mount = try run("/bin/mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", state])
        try #require(mount.status == 0, "\(mount.stderr)")
        defer { _ = try? run("/bin/umount", [state]) }
        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: state)
        #expect(daemon.waitForExit(timeout: 30) == 1)
        #expect(daemon.log.contains(state), "\(daemon.log)")
    }

    @Test("disk full at run time: intake answers rejected storage_unavailable, SUB leads are reported, and routing resumes by itself when space returns",
          .enabled(if: getuid() == 0), arguments: commitModes)
    func diskFull(extraYAML: String) throws {
        let dir = try TemporaryDirectory()
        let state = dir.file("small")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let mount = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", state])
        try #require(mount.status == 0, "\(mount.stderr)")
        defer { _ = try? run("/bin/umount", ["-l", state]) }

        let daemon = try Daemon(partnersYAML: partnersYAML, stateDir: state, extraYAML: extraYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        #expect(jsonObject(try intake.request(json: lead("df-0", country: "DE"))[0])["status"] as? String == "accepted")

        // Fill the file system.
        let filler = state + "/filler"
        _ = try run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        var refused: [String: Any] = [:]
        var refusedID = ""
        for i in 1...200 {
            let reply = jsonObject(try intake.request(json: lead("df-\(i)", country: "DE", extra: #", "pad": "\#(String(repeating: "p", count: 3000))""#))[0])
            if reply["status"] as? String == "rejected" {
                refused = reply
                refusedID = "df-\(i)"
                break
            }
        }
        let error = try #require(refused["error"] as? [String: Any], "the store never ran out of space")
        #expect(error["code"] as? String == "storage_unavailable")
        #expect((error["message"] as? String)?.contains("full") == true)

        // A SUB-ingested lead meanwhile is reported in the log.
        let source = try TestSource(endpoint: daemon.ingest)
        try source.sendLead(lead("df-sub", country: "DE"))
        let deadline = Date().addingTimeInterval(10)
        while !daemon.log.contains("df-sub") && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(daemon.log.contains("df-sub"))
        #expect(daemon.process.isRunning)

        // Space comes back: the refused lead goes through on a retry, with no restart.
        try FileManager.default.removeItem(atPath: filler)
        let retried = jsonObject(try intake.request(json: lead(refusedID, country: "DE"))[0])
        #expect(retried["status"] as? String == "accepted", "\(retried)")
        let replay = try TestRequester(endpoint: daemon.replay)
        let ids = try replay.replayAll("partner/globex/").map { jsonObject($0)["lead_id"] as? String ?? "" }
        #expect(ids.last == refusedID)
        #expect(Set(ids).count == ids.count)
        #expect(daemon.terminate() == 0)
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
            let result = try run(Binaries.path("leadctl"), ["publish", "--reliable", "--endpoint", daemon.intake, "--retries", "30", "--timeout", "1", file])
            #expect(result.status == 0, "\(result.stderr)")
        }
        func tail(idle: Double) -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Binaries.path("leadctl"))
            process.arguments = ["tail", "--recover", "--endpoint", daemon.publish, "--replay-endpoint", daemon.replay,
                                 "--state", statePath, "--topic", "partner/globex/", "--idle-timeout", "\(idle)"]
            return process
        }
        func seqs(_ data: Data) -> [Int] {
            String(decoding: data, as: UTF8.self).split(separator: "\n").map { jsonObject(Array($0.utf8))["seq"] as? Int ?? -1 }
        }

        // Leads routed before the subscriber ever ran are caught up from replay.
        try publish("a", 10)
        var first = tail(idle: 1.5)
        var out = Pipe()
        first.standardOutput = out
        try first.run()
        var got = seqs(out.fileHandleForReading.readDataToEndOfFile())
        first.waitUntilExit()
        #expect(got == Array(1...10))

        // Leads routed while it was down arrive after its restart, and nothing twice.
        try publish("b", 7)
        first = tail(idle: 1.5)
        out = Pipe()
        first.standardOutput = out
        try first.run()
        got = seqs(out.fileHandleForReading.readDataToEndOfFile())
        first.waitUntilExit()
        #expect(got == Array(11...17))

        // Live, across a daemon crash: gaps are filled, order kept.
        let live = tail(idle: 6)
        out = Pipe()
        live.standardOutput = out
        try live.run()
        Thread.sleep(forTimeInterval: 0.5)
        try publish("c", 5)
        daemon.crash()
        try daemon.start()
        try daemon.waitUntilReady()
        try publish("d", 5)
        got = seqs(out.fileHandleForReading.readDataToEndOfFile())
        live.waitUntilExit()
        #expect(got == Array(18...27))
        #expect(daemon.terminate() == 0)
    }
}
