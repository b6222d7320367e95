import Foundation
import Synchronization
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

@Suite("Nothing lost: durable store, intake, replay", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct DurabilityTests {
    /// The config for each way of committing: batches under a backlog commit on a thread of
    /// their own while the next is routed; the tests also run with every batch committed that
    /// way (`store.pipeline_batch: 1`).
    static let commitModes: [String] = ["", "store:\n  pipeline_batch: 1"]

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

    @Test("intake rejections: the reply names lead_id when it can be read and null when not; each is also published on rejected/ with channel intake; too_large applies on intake")
    func intakeRejections() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, maxMessageBytes: 4096)
        try daemon.waitUntilReady()
        let rejected = try TestSubscriber(endpoint: daemon.publish, topics: ["rejected/"])
        let probes = try warmUp(source: try TestSource(endpoint: daemon.ingest), subscribers: [rejected])
        let intake = try TestRequester(endpoint: daemon.intake)
        let big = lead("big-1", country: "DE", extra: #", "pad": "\#(String(repeating: "p", count: 5000))""#)
        let cases: [(input: [[UInt8]], code: String, leadID: String?)] = [
            ([Array("not json".utf8)], "invalid_json", nil),
            ([Array(#"{"lead_id": "in-3", "company": {"name": "X"}}"#.utf8)], "missing_field", "in-3"),
            ([Array(#"{"company": {"name": "X", "country": "US"}}"#.utf8)], "missing_field", nil),
            ([Array(#"{"lead_id": "bad id!", "company": {"name": "X", "country": "US"}}"#.utf8)], "invalid_field", nil),
            // Too large to parse: its top-level lead_id is read from its first bytes; one
            // nested in another object is not.
            ([Array(big.utf8)], "too_large", "big-1"),
            ([Array(#"{"company": {"lead_id": "nested-1"}, "pad": "\#(String(repeating: "p", count: 5000))"}"#.utf8)], "too_large", nil),
            ([Array(lead("two-frames", country: "DE").utf8), Array("{}".utf8)], "bad_frames", nil),
        ]
        for (i, c) in cases.enumerated() {
            try intake.socket.send([[]] + c.input)
            let frames = try #require(try intake.socket.receive(timeoutMilliseconds: 10_000), "no reply to case \(i)")
            let reply = jsonObject(frames.last ?? [])
            #expect(reply["status"] as? String == "rejected", "case \(i): \(reply)")
            #expect((reply["error"] as? [String: Any])?["code"] as? String == c.code, "case \(i): \(reply)")
            // The key is always there: a string, or null.
            if let id = c.leadID {
                #expect(reply["lead_id"] as? String == id, "case \(i): \(reply)")
            } else {
                #expect(reply["lead_id"] is NSNull, "case \(i): \(reply)")
            }
            let published = try #require(try rejected.next(), "case \(i) was not published on rejected/")
            #expect(published.json["seq"] as? Int == probes + 1 + i)
            #expect(published.json["channel"] as? String == "intake", "case \(i): \(published.json)")
            #expect((published.json["error"] as? [String: Any])?["code"] as? String == c.code)
            #expect(published.json["frames"] as? Int == c.input.count)
            #expect(published.json["size"] as? Int == c.input.reduce(0) { $0 + $1.count })
        }
        #expect(daemon.terminate() == 0)
    }

    @Test("replay: byte-identical envelopes in seq order, bounded by limit and replay.max_limit, clear errors")
    func replay() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let feed = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/globex/", "rejected/"])
        _ = try warmUp(source: try TestSource(endpoint: daemon.ingest), subscribers: [feed])
        let intake = try TestRequester(endpoint: daemon.intake)
        for i in 0..<12 { #expect(try intake.reply(lead("r-\(i)", country: "DE"))["status"] as? String == "accepted") }
        let live = try feed.collect(12)
        try #require(live.count == 12)
        let replay = try TestRequester(endpoint: daemon.replay)
        // Replay hands out the very bytes that were published live.
        #expect(try replay.replayAll("partner/globex/") == live.map(\.raw))
        #expect(live.allSatisfy { $0.frames.count == 2 && $0.topic == "partner/globex/" })
        let frames = try replay.request(json: #"{"topic": "partner/globex/", "from_seq": 3, "limit": 4}"#)
        try #require(frames.count == 5)
        let header = jsonObject(frames[0])
        #expect(header["topic"] as? String == "partner/globex/")
        #expect(header["from_seq"] as? Int == 3)
        #expect(header["last_seq"] as? Int == 6)
        #expect(header["count"] as? Int == 4)
        #expect(header["topic_last_seq"] as? Int == 12)
        #expect(frames.dropFirst().map { jsonObject($0)["seq"] as? Int } == [3, 4, 5, 6])
        #expect(frames.dropFirst().map { jsonObject($0)["lead_id"] as? String } == ["r-2", "r-3", "r-4", "r-5"])

        let past = try replay.reply(#"{"topic": "partner/globex/", "from_seq": 13}"#)
        #expect(past["count"] as? Int == 0)
        #expect(past["last_seq"] as? Int == 12)
        let empty = try replay.reply(#"{"topic": "partner/sleepy/", "from_seq": 1}"#)
        #expect(empty["count"] as? Int == 0)

        for (body, code) in [
            (#"{"topic": "partner/nobody/", "from_seq": 1}"#, "unknown_topic"),
            (#"{"topic": "partner/globex/"}"#, "bad_request"),
            (#"{"topic": "partner/globex/", "from_seq": 0}"#, "bad_request"),
            (#"{"topic": "partner/globex/", "from_seq": 1, "limit": "all"}"#, "bad_request"),
            ("not json", "bad_request"),
        ] {
            let reply = try replay.reply(body)
            #expect((reply["error"] as? [String: Any])?["code"] as? String == code, "\(body)")
        }
        #expect(daemon.terminate() == 0)
    }

    @Test("replay.max_limit bounds a reply whatever limit asks for")
    func replayMaxLimit() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: "store:\n  durability: normal\n")
        try daemon.waitUntilReady()
        #expect(daemon.terminate() == 0)
        // Start again on the same store with a small max_limit.
        daemon.replayYAML = "max_limit: 3"
        try daemon.start()
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        for i in 0..<5 { _ = try intake.request(json: lead("m-\(i)", country: "DE")) }
        let frames = try TestRequester(endpoint: daemon.replay).request(json: #"{"topic": "partner/globex/", "from_seq": 1, "limit": 1000}"#)
        try #require(frames.count == 4)
        #expect(jsonObject(frames[0])["count"] as? Int == 3)
        #expect(daemon.terminate() == 0)
    }

    @Test("a topic's heartbeat carries its last seq, after the envelope it counts; a subscriber that did not ask for heartbeats gets none")
    func heartbeats() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        // A subscriber to partner/globex/ (and rejected/, to be warmed up) never sees heartbeats.
        let plain = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/globex/", "rejected/"])
        _ = try warmUp(source: try TestSource(endpoint: daemon.ingest), subscribers: [plain])
        let globex = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/globex/", "heartbeat/partner/globex/"])
        let beat = try #require(try globex.next(timeout: 30_000, heartbeats: true))
        #expect(beat.isHeartbeat)
        #expect(beat.topic == "heartbeat/partner/globex/")
        #expect(beat.json["type"] as? String == "heartbeat")
        #expect(beat.json["topic"] as? String == "partner/globex/")
        #expect(beat.json["last_seq"] as? Int == 0)

        let intake = try TestRequester(endpoint: daemon.intake)
        #expect(try intake.reply(lead("hb-1", country: "DE"))["status"] as? String == "accepted")
        // Heartbeats sent before the envelope may still say 0; the envelope comes, in order,
        // before every heartbeat that follows it, and the next one says 1.
        var message = try #require(try globex.next(timeout: 30_000, heartbeats: true))
        while message.isHeartbeat {
            #expect(message.json["last_seq"] as? Int == 0)
            message = try #require(try globex.next(timeout: 30_000, heartbeats: true))
        }
        #expect(message.json["lead_id"] as? String == "hb-1")
        let after = try #require(try globex.next(timeout: 30_000, heartbeats: true), "no heartbeat after the envelope")
        #expect(after.isHeartbeat)
        #expect(after.json["last_seq"] as? Int == 1)

        // plain was sent whatever globex got, on its own connection, in order: a heartbeat
        // would arrive before hb-2's envelope.
        #expect(try plain.next(heartbeats: true)?.json["lead_id"] as? String == "hb-1")
        #expect(try intake.reply(lead("hb-2", country: "DE"))["status"] as? String == "accepted")
        let next = try #require(try plain.next(heartbeats: true))
        #expect(!next.isHeartbeat, "\(next.topic)")
        #expect(next.json["lead_id"] as? String == "hb-2")
        #expect(daemon.terminate() == 0)
    }
}
