import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

let partnersYAML = """
    partners:
      - id: acme
        name: Acme Partners
        engagement: leads_only
        territories: [{country: US, regions: [CO, WY]}]
        products: [email-security]
      - id: acme-east
        name: Acme East
        engagement: co_sell
        territories: [{country: US, regions: [NY]}]
      - id: globex
        name: Globex
        engagement: vendor_closes
        territories: [{country: DE}]
      - id: sleepy
        name: Sleepy
        engagement: leads_only
        active: false
    """

func lead(_ id: String, country: String, region: String? = nil, products: [String] = ["email-security"], extra: String = "") -> String {
    let regionField = region.map { #", "region": "\#($0)""# } ?? ""
    let productList = products.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"lead_id": "\#(id)", "source": "webform", "company": {"name": "Co \#(id)", "country": "\#(country)"\#(regionField)}, "products": [\#(productList)], "qualification": {"authority": "decision_maker", "budget": 1000}\#(extra)}"#
}

@Suite("leadrouterd end to end", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct DaemonTests {
    @Test("leads reach exactly the topics the contract's table says, with every envelope field; SIGTERM exits 0")
    func routesPerContract() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let everything = try TestSubscriber(endpoint: daemon.publish, topics: [""])
        let acme = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/acme/", "rejected/"])
        let sales = try TestSubscriber(endpoint: daemon.publish, topics: ["vendor-sales/", "rejected/"])
        let source = try TestSource(endpoint: daemon.ingest)
        let probes = try warmUp(source: source, subscribers: [everything, acme, sales])

        let leads = [
            lead("l-acme", country: "US", region: "CO", extra: #", "custom": {"keep": ["me", 1]}"#),
            lead("l-east", country: "US", region: "NY"),
            lead("l-globex", country: "DE"),
            lead("l-none", country: "FR"),
        ]
        for json in leads { try source.sendLead(json) }
        try source.sendLead(leads[0])  // a duplicate: never routed twice
        // A last lead marks the end: anything the duplicate produced would come before it.
        let last = lead("l-end", country: "US", region: "WY")
        try source.sendLead(last)

        let got = try everything.collect(7)
        let expected: [(topic: String, lead: String, partner: String?, engagement: String?, role: String, seq: Int)] = [
            ("partner/acme/", "l-acme", "acme", "leads_only", "owner", 1),
            ("partner/acme-east/", "l-east", "acme-east", "co_sell", "owner", 1),
            ("vendor-sales/", "l-east", "acme-east", "co_sell", "co_seller", 1),
            ("partner/globex/", "l-globex", "globex", "vendor_closes", "relationship_owner", 1),
            ("vendor-sales/", "l-globex", "globex", "vendor_closes", "closer", 2),
            ("vendor-sales/", "l-none", nil, nil, "direct", 3),
            ("partner/acme/", "l-end", "acme", "leads_only", "owner", 2),
        ]
        try #require(got.count == expected.count, "got \(got.map(\.topic))")
        for (message, want) in zip(got, expected) {
            let sent = try #require((leads + [last]).first { $0.contains("\"\(want.lead)\"") })
            try expectEnvelope(message, topic: want.topic, seq: want.seq, lead: want.lead, partner: want.partner,
                               engagement: want.engagement, role: want.role, sent: sent)
        }
        // Both halves of a two-sided assignment share one assignment_id.
        #expect(got[1].json["assignment_id"] as? String == got[2].json["assignment_id"] as? String)

        // The acme subscriber sees its own topic only, never acme-east's (a topic prefix).
        // acme-east's envelope was published between these two.
        let acmeGot = try acme.collect(2)
        #expect(acmeGot.map(\.topic) == ["partner/acme/", "partner/acme/"])
        #expect(acmeGot.map { $0.json["lead_id"] as? String } == ["l-acme", "l-end"])
        #expect(try sales.collect(3).map { $0.json["seq"] as? Int } == [1, 2, 3])

        #expect(daemon.terminate() == 0)
        #expect(daemon.notify.waitFor("STOPPING=1", timeout: 5).found)
        // The counters agree: the duplicate was seen and dropped, and only the probes were rejected.
        let stopped = try #require(daemon.log.split(separator: "\n").last { $0.contains("leadrouterd stopped") })
        #expect(stopped.contains("duplicates=1 ") && stopped.contains("rejected=\(probes) ") && stopped.contains("routed=5 "), "\(stopped)")
    }

    /// One envelope as the contract describes it, carrying `sent` byte for byte.
    func expectEnvelope(_ message: FeedMessage, topic: String, seq: Int, lead: String, partner: String?, engagement: String?,
                        role: String, sent: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let envelope = message.json
        #expect(message.frames.count == 2, sourceLocation: sourceLocation)
        #expect(message.topic == topic && envelope["topic"] as? String == topic, sourceLocation: sourceLocation)
        #expect(envelope["seq"] as? Int == seq, sourceLocation: sourceLocation)
        #expect(envelope["lead_id"] as? String == lead, sourceLocation: sourceLocation)
        #expect(envelope["role"] as? String == role, sourceLocation: sourceLocation)
        if let partner {
            #expect(envelope["partner_id"] as? String == partner, sourceLocation: sourceLocation)
            #expect(envelope["engagement"] as? String == engagement, sourceLocation: sourceLocation)
        } else {
            #expect(envelope["partner_id"] is NSNull, sourceLocation: sourceLocation)
        }
        #expect((envelope["assignment_id"] as? String)?.hasPrefix("a-") == true, sourceLocation: sourceLocation)
        #expect((envelope["reasons"] as? [String])?.isEmpty == false, sourceLocation: sourceLocation)
        let routedAt = try #require(envelope["routed_at"] as? String, sourceLocation: sourceLocation)
        #expect(routedAt.hasSuffix("Z") && routedAt.count == 24, sourceLocation: sourceLocation)
        // The lead travels byte for byte, unknown fields included.
        #expect(String(decoding: message.raw, as: UTF8.self).contains("\"lead\":" + sent + ","), sourceLocation: sourceLocation)
    }

    @Test("1,000 malformed messages interleaved with valid leads: every lead routed, every bad one reported")
    func malformedFlood() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, maxMessageBytes: 4096)
        try daemon.waitUntilReady()
        let everything = try TestSubscriber(endpoint: daemon.publish, topics: [""])
        let source = try TestSource(endpoint: daemon.ingest)
        let probes = try warmUp(source: source, subscribers: [everything])

        let bad: [[[UInt8]]] = [
            [Array("lead".utf8), Array("{\"lead_id\": ".utf8)],                                   // truncated JSON
            [Array("lead".utf8), (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) }],          // binary
            [Array("lead{\"lead_id\":\"one-frame\"}".utf8)],                                     // one frame
            [Array("lead".utf8), Array(lead("three", country: "US").utf8), Array("{}".utf8)],   // three frames
            [Array("lead".utf8), Array(repeating: UInt8(ascii: "x"), count: 5000)],               // oversize
            [Array("lead".utf8), Array(#"{"lead_id":"x","company":{"name":"A","country":"Mars"}}"#.utf8)],  // invalid field
            [Array("lead".utf8), Array(#"{"company":{"name":"A","country":"US"}}"#.utf8)],       // missing field
        ]
        let expectedCodes = ["invalid_json", "invalid_json", "bad_frames", "bad_frames", "too_large", "invalid_field", "missing_field"]
        var validIDs: [String] = []
        for i in 0..<1000 {
            try source.send(bad[i % bad.count])
            if i % 5 == 0 {
                let id = "flood-\(i)"
                validIDs.append(id)
                try source.sendLead(lead(id, country: ["US", "DE", "FR"][i % 3], region: "NY"))
            }
        }
        var rejectedCodes: [String: Int] = [:]
        var rejectedSeqs: [Int] = []
        var routed = Set<String>()
        while rejectedSeqs.count < 1000 || routed.count < validIDs.count {
            guard let message = try everything.next(timeout: 15_000) else { break }
            let envelope = message.json
            if message.topic == "rejected/" {
                let error = try #require(envelope["error"] as? [String: Any])
                rejectedCodes[error["code"] as? String ?? "?", default: 0] += 1
                rejectedSeqs.append(envelope["seq"] as? Int ?? -1)
                #expect(envelope["input"] is String)
                #expect(envelope["received_at"] is String)
                #expect(error["message"] is String)
            } else if let id = envelope["lead_id"] as? String {
                routed.insert(id)
            }
        }
        #expect(routed == Set(validIDs), "log:\n\(daemon.log.suffix(2000))")
        #expect(rejectedSeqs == Array((probes + 1)...(probes + 1000)))
        var want: [String: Int] = [:]
        for i in 0..<1000 { want[expectedCodes[i % bad.count], default: 0] += 1 }
        #expect(rejectedCodes == want)
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("rejected=\(1000 + probes)") || daemon.log.contains("rejected: \(1000 + probes)"))
    }

    @Test("start-up tuning, as the debug log reports it: four malloc arenas, SQLite connections without mutexes; the environment's malloc settings win")
    func startUpTuning() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, start: false)
        daemon.logLevel = "debug"
        try daemon.start()
        try daemon.waitUntilReady()
        #expect(daemon.log.contains("arena_max=4 [leadrouterd] malloc"), "\(daemon.log.prefix(2000))")
        #expect(daemon.log.contains("connections=multi-thread, no memory statistics, statement journals in memory, log writes gathered [leadrouterd] sqlite"), "\(daemon.log.prefix(2000))")
        #expect(daemon.terminate() == 0)
        let tuned = try Daemon(partnersYAML: partnersYAML, environment: ["MALLOC_ARENA_MAX": "2"], start: false)
        tuned.logLevel = "debug"
        try tuned.start()
        try tuned.waitUntilReady()
        #expect(tuned.log.contains("arena_max=left to the environment [leadrouterd] malloc"), "\(tuned.log.prefix(2000))")
        #expect(tuned.terminate() == 0)
    }

    @Test("its threads are named as docs/architecture.md lists them, so top -H, ps -L and the bench can tell them apart")
    func threadNames() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let tasks = "/proc/\(daemon.process.processIdentifier)/task"
        func names() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap { tid in
                try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            })
        }
        let expected: Set = ["lr-route", "lr-commit", "lr-log-sync", "lr-checkpoint", "lr-writeback", "lr-retention", "lr-replay", "ZMQbg/IO/0"]
        // The checkpoint and retention services start beside the routing loop, so their
        // threads may come a moment after READY; each is named as it starts.
        var seen: Set<String> = []
        try poll(timeout: 10, every: 0.05) {
            seen = try names()
            return expected.isSubset(of: seen)
        }
        for name in expected.sorted() {
            #expect(seen.contains(name), "\(name) is not among \(seen.sorted())")
        }
        #expect(daemon.terminate() == 0)
    }

    @Test("--check: exit 0 and one summary line for a valid config; exit 1 and a line per problem otherwise")
    func check() throws {
        let dir = try TemporaryDirectory()
        let good = dir.file("good.yaml")
        try "state_dir: \(dir.path)\n\(partnersYAML)\n".write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try run(Binaries.path("leadrouterd"), ["--config", good, "--check"])
        #expect(ok.status == 0)
        #expect(ok.stdout.split(separator: "\n").count == 1)
        #expect(ok.stdout.contains("4 partners"))

        let offers = dir.file("offers.yaml")
        try """
            state_dir: \(dir.path)
            control:
              bind: "tcp://127.0.0.1:5562"
            offers:
              accept_within: 4h
              withhold: []
            partners:
              - {id: acme, engagement: leads_only, offers: {accept_within: 30m}}
              - {id: globex, engagement: co_sell}
            """.write(toFile: offers, atomically: true, encoding: .utf8)
        let withOffers = try run(Binaries.path("leadrouterd"), ["--config", offers, "--check"])
        #expect(withOffers.status == 0, "\(withOffers.stderr)")
        #expect(withOffers.stdout == """
            \(offers): valid: 2 partners, 2 active (1 leads_only, 1 co_sell); ingest 1 bind + 0 connect; \
            publish tcp://127.0.0.1:5560; unmatched leads to vendor-sales; \
            offers: accept within 4h, max 3, then vendor-sales (1 partner with their own); control tcp://127.0.0.1:5562

            """)

        let bad = dir.file("bad.yaml")
        try """
            state_dir: \(dir.path)
            colour: blue
            partners:
              - id: Bad_ID
                engagement: resell
                weight: 0
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try run(Binaries.path("leadrouterd"), ["--config", bad, "--check"])
        #expect(failed.status == 1)
        let lines = failed.stderr.split(separator: "\n")
        #expect(lines.count == 4, "\(failed.stderr)")
        #expect(failed.stderr.contains("colour"))
        #expect(failed.stderr.contains("partners[0].id"))
        #expect(failed.stderr.contains("partners[0].engagement"))
        #expect(failed.stderr.contains("partners[0].weight"))
        #expect(failed.stderr.contains("line 2"))

        let missing = try run(Binaries.path("leadrouterd"), ["--config", dir.file("nope.yaml"), "--check"])
        #expect(missing.status == 1)
        let usage = try run(Binaries.path("leadrouterd"), ["--check"])
        #expect(usage.status == 2)
    }
}
