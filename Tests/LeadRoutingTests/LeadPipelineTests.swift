import Foundation
@testable import LeadRouting
import Testing

@Suite("Lead pipeline: validation, routing and envelopes together")
struct LeadPipelineTests {
    static let now: Int64 = 1_795_341_600_123  // 2026-11-22T10:00:00.123Z

    func pipeline(_ partners: [Partner], unmatched: UnmatchedDestination = .vendorSales, maxBytes: Int = 65_536) -> LeadPipeline {
        var config = RouterConfig(partners: partners)
        config.routing.unmatched = unmatched
        config.ingest.maxMessageBytes = maxBytes
        return LeadPipeline(config: config, seed: 7)
    }

    func ingest(_ json: String, topic: String = "lead") -> InboundMessage {
        InboundMessage(frames: [Array(topic.utf8), Array(json.utf8)])
    }

    func object(_ bytes: some Collection<UInt8>) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("routing into a batch's list of envelopes appends what routing alone returns, and says where")
    func appendingRoute() throws {
        let partners = [partner("rocky-mountain-it", .coSell, territories: [Territory(country: "US", regions: ["CO", "WY"])], products: ["email-security"])]
        var alone = pipeline(partners), appending = pipeline(partners)
        let lead = try LeadParser.parse(Array(leadJSON().utf8)).get()
        guard case .routed(let leadID, let decision, let messages) = alone.route(lead, now: Self.now) else {
            Issue.record("not routed")
            return
        }
        var batch = [OutgoingMessage(topic: "earlier/", seq: 9, envelope: [1])]
        // The decision given held another lead's (unmatched, in Germany): nothing of it is left.
        var appendedDecision = RoutingDecision()
        var elsewhere = pipeline(partners), scratch: [OutgoingMessage] = []
        let other = try LeadParser.parse(Array(leadJSON(id: "other-1", country: "DE", region: nil, products: ["firewall"]).utf8)).get()
        guard case .routed = elsewhere.route(other, now: Self.now + 5, appendingTo: &scratch, decision: &appendedDecision) else {
            Issue.record("the other lead was not routed")
            return
        }
        appendedDecision.recentOwners.known = 3
        #expect(appendedDecision != decision && appendedDecision.rule == .unmatched)
        guard case .routed(let appendedID, let range) = appending.route(lead, now: Self.now, appendingTo: &batch, decision: &appendedDecision) else {
            Issue.record("not routed")
            return
        }
        #expect(messages.count == 2 && range == 1..<3 && batch.count == 3)
        #expect(Array(batch[range]) == messages && batch[0].topic == "earlier/")
        #expect(appendedID == leadID && appendedDecision == decision)
        #expect(appending.counters == alone.counters && appending.lastSeq == alone.lastSeq)
        // The same lead again: a duplicate, nothing appended.
        var again = RoutingDecision()
        guard case .duplicate(leadID) = appending.route(lead, now: Self.now, appendingTo: &batch, decision: &again) else {
            Issue.record("not a duplicate")
            return
        }
        #expect(batch.count == 3 && appending.counters.duplicates == 1)
    }

    @Test("a decision routed into again, its buffers reused, equals a new one, and so do the envelopes")
    func decisionRoutedIntoAgain() throws {
        // That the buffers are reused shows in the allocations a lead (AllocationBudgetTests):
        // an address compared here would match by chance whenever malloc hands a freed block back.
        let partners = [
            partner("rocky-mountain-it", .coSell, territories: [Territory(country: "US", regions: ["CO", "WY"])], products: ["email-security"]),
            partner("front-range", .leadsOnly, territories: [Territory(country: "US", regions: ["CO"])], products: ["email-security"]),
        ]
        var reusing = pipeline(partners), fresh = pipeline(partners)
        var kept = RoutingDecision(), envelopes: [OutgoingMessage] = [], freshEnvelopes: [OutgoingMessage] = []
        for (n, id) in ["first-1", "second-2", "third-3"].enumerated() {
            let lead = try LeadParser.parse(Array(leadJSON(id: id).utf8)).get()
            guard case .routed = reusing.route(lead, now: Self.now + Int64(n), appendingTo: &envelopes, decision: &kept) else {
                Issue.record("\(id) not routed")
                return
            }
            var new = RoutingDecision()
            guard case .routed = fresh.route(lead, now: Self.now + Int64(n), appendingTo: &freshEnvelopes, decision: &new) else {
                Issue.record("\(id) not routed")
                return
            }
            #expect(kept == new && kept.reasons.count >= 2 && kept.candidateCodes.count == 2)
            #expect(envelopes == freshEnvelopes)
        }
    }

    @Test("a cleared decision is a new one, whatever it held")
    func clearedDecision() throws {
        let partners = [partner("rocky-mountain-it", .coSell, territories: [Territory(country: "US", regions: ["CO", "WY"])], products: ["email-security"])]
        var routing = pipeline(partners)
        guard case .routed(_, var decision, _) = routing.route(try LeadParser.parse(Array(leadJSON().utf8)).get(), now: Self.now) else {
            Issue.record("not routed")
            return
        }
        decision.offered = LeadCase(leadID: "web-2026-000123", assignmentID: decision.assignmentID, state: .offered, partnerID: "rocky-mountain-it")
        decision.recentOwners.known = 1
        decision.recentOwners.same = 1
        decision.candidatesOmitted = 4
        decision.omittedByReason = ["territory": 4]
        #expect(decision.partnerID != nil && !decision.assignmentID.isEmpty && !decision.reasons.isEmpty && decision.qualification != nil)
        #expect(!decision.accountKeys.isEmpty && !decision.partnerIDs.isEmpty && !decision.candidateCodes.isEmpty)
        decision.clear()
        #expect(decision == RoutingDecision())
    }

    @Test("a co_sell lead yields the contract's two envelopes with every field")
    func coSellEnvelopes() throws {
        var p = pipeline([partner("rocky-mountain-it", .coSell, territories: [Territory(country: "US", regions: ["CO", "WY"])], products: ["email-security"])])
        let json = leadJSON(extra: #", "custom": {"keep": [true]}"#)
        guard case .routed(let leadID, let decision, let messages) = p.process(ingest(json), from: .ingest, now: Self.now) else {
            Issue.record("not routed")
            return
        }
        #expect(leadID == "web-2026-000123")
        #expect(decision.partnerID == "rocky-mountain-it")
        #expect(messages.map(\.topic) == ["partner/rocky-mountain-it/", "vendor-sales/"])
        #expect(messages.map(\.seq) == [1, 1])

        let owner = try object(messages[0].envelope)
        #expect(owner["seq"] as? Int == 1)
        #expect(owner["topic"] as? String == "partner/rocky-mountain-it/")
        #expect(owner["lead_id"] as? String == "web-2026-000123")
        #expect(owner["partner_id"] as? String == "rocky-mountain-it")
        #expect(owner["engagement"] as? String == "co_sell")
        #expect(owner["role"] as? String == "owner")
        #expect(owner["routed_at"] as? String == "2026-11-22T10:00:00.123Z")
        #expect(owner["reasons"] as? [String] == ["country US region CO in territory", "product email-security offered", "grade A (score 95)", "only eligible partner"])
        #expect(owner["rule"] as? String == "only_eligible")
        let qualification = try #require(owner["qualification"] as? [String: Any])
        #expect(qualification["grade"] as? String == "A")
        #expect(qualification["score"] as? Int == 95)
        #expect((qualification["signals"] as? [String: Int])?["authority"] == 20)
        let assignmentID = try #require(owner["assignment_id"] as? String)
        #expect(assignmentID.hasPrefix("a-") && assignmentID.count == 28)
        // The lead is spliced in exactly as received, unknown fields included.
        let text = messages[0].envelope.text
        #expect(text.contains("\"lead\":" + json + ","))

        let coSeller = try object(messages[1].envelope)
        #expect(coSeller["role"] as? String == "co_seller")
        #expect(coSeller["partner_id"] as? String == "rocky-mountain-it")
        #expect(coSeller["topic"] as? String == "vendor-sales/")
        #expect(coSeller["assignment_id"] as? String == assignmentID)

        // Each starts as the store writes an envelope's start again (AssignmentEnvelope), from
        // the lead's assignment id and partner, and says how long that start is and which.
        for (message, role) in zip(messages, [Assignment.Role.owner, .coSeller]) {
            #expect(message.assignmentCode == AssignmentEnvelope.code(role: role, engagement: .coSell))
            let start = try #require(AssignmentEnvelope.start(
                code: message.assignmentCode, seq: message.seq, topic: message.topic, assignmentID: decision.assignment.description,
                leadID: leadID, partnerID: decision.partnerID))
            #expect(message.assignmentStart == start.count)
            #expect(Array(message.envelope.prefix(message.assignmentStart)) == start)
            #expect(Array(message.envelope.dropFirst(message.assignmentStart).prefix(8)) == Array(#","lead":"#.utf8))
            // And ends as the store writes an envelope's end again, from one number and the
            // lead's routed_at.
            #expect(message.assignmentEndCode > 1)
            let end = try #require(AssignmentEnvelope.end(code: message.assignmentEndCode, routedAt: Self.now))
            #expect(Array(message.envelope.dropFirst(message.assignmentEnd)) == end)
            #expect(String(decoding: end, as: UTF8.self).hasPrefix(#","qualification":{"score":95,"grade":"A","#))
        }
    }

    @Test("every envelope names its type right after topic: assignment for v1's, rejected for rejections")
    func typeAfterTopic() {
        var p = pipeline([partner("a", .vendorCloses, territories: [Territory(country: "US")])], unmatched: .nurture)
        var heads: [String] = []
        for json in [leadJSON(id: "l-1"), leadJSON(id: "l-2", country: "DE"), "{nope", leadJSON(id: "l-3")] {
            switch p.process(ingest(json), from: .ingest, now: Self.now) {
            case .routed(_, _, let messages): heads += messages.map { String($0.envelope.text.prefix(60)) }
            case .rejected(_, let message): heads.append(String(message.envelope.text.prefix(60)))
            case .duplicate: Issue.record("duplicate")
            }
        }
        let expected = [
            #"{"seq":1,"topic":"partner/a/","type":"assignment","#, #"{"seq":1,"topic":"vendor-sales/","type":"assignment","#,
            #"{"seq":1,"topic":"nurture/","type":"assignment","#, #"{"seq":1,"topic":"rejected/","type":"rejected","#,
            #"{"seq":2,"topic":"partner/a/","type":"assignment","#, #"{"seq":2,"topic":"vendor-sales/","type":"assignment","#,
        ]
        #expect(heads.count == expected.count)
        for (head, prefix) in zip(heads, expected) { #expect(head.hasPrefix(prefix)) }
        #expect(p.counters.published == 6)
    }

    @Test("an unmatched lead to vendor sales has a null partner_id and role direct")
    func directEnvelope() throws {
        var p = pipeline([])
        guard case .routed(_, _, let messages) = p.process(ingest(leadJSON()), from: .ingest, now: Self.now) else {
            Issue.record("not routed")
            return
        }
        let envelope = try object(messages[0].envelope)
        #expect(messages[0].topic == "vendor-sales/")
        #expect(envelope["role"] as? String == "direct")
        #expect(envelope["partner_id"] is NSNull)
        #expect(envelope["engagement"] is NSNull)
    }

    @Test("a routed decision says which account keys a recent lead had given away, and whether to the same partner; forgetting clears it")
    func recentOwnersOfTheKeys() throws {
        var p = pipeline([partner("solo", .leadsOnly, territories: [Territory(country: "US", regions: ["CO"])], products: ["email-security"])])
        func route(_ id: String) throws -> RoutingDecision {
            guard case .routed(_, let decision, _) = p.process(ingest(leadJSON(id: id)), from: .ingest, now: Self.now) else {
                throw DecisionMissing()
            }
            return decision
        }
        let first = try route("web-1")
        #expect(first.accountKeys == ["d:acme.example", "n:acme"])
        #expect(first.recentOwners == RecentOwners())
        #expect(first.recentOwners.isSame(at: 0) == nil && first.recentOwners.isSame(at: 1) == nil)
        let second = try route("web-2")
        #expect(second.recentOwners == RecentOwners(known: 0b11, same: 0b11))
        #expect(second.recentOwners.isSame(at: 0) == true && second.recentOwners.isSame(at: 1) == true)
        #expect(second.recentOwners.isSame(at: 8) == nil)
        // Once forgotten (the store has them), the store answers again.
        p.forgetRecent(through: p.generation)
        #expect(try route("web-3").recentOwners == RecentOwners())
        // Another partner now: known, not the same.
        p.reload(rules: RouterConfig(partners: [partner("other", .leadsOnly, territories: [Territory(country: "US", regions: ["CO"])],
                                                        products: ["email-security"])]).rules)
        let moved = try route("web-4")
        #expect(moved.partnerID == "other")
        #expect(moved.recentOwners == RecentOwners(known: 0b11, same: 0))
        #expect(moved.recentOwners.isSame(at: 1) == false)
    }

    struct DecisionMissing: Error {}

    @Test("seq counts per topic from 1 without gaps")
    func seqPerTopic() {
        var p = pipeline([partner("a", .coSell, territories: [Territory(country: "US")]), partner("b", territories: [Territory(country: "DE")])])
        var seen: [String: [Int]] = [:]
        for i in 0..<30 {
            let json = leadJSON(id: "l\(i)", country: i % 3 == 0 ? "DE" : "US")
            if case .routed(_, _, let messages) = p.process(ingest(json), from: .ingest, now: Self.now) {
                for m in messages { seen[m.topic, default: []].append(m.seq) }
            }
            _ = p.process(ingest("garbage \(i)"), from: .ingest, now: Self.now)
        }
        #expect(seen["partner/a/"] == Array(1...20))
        #expect(seen["vendor-sales/"] == Array(1...20))
        #expect(seen["partner/b/"] == Array(1...10))
        #expect(p.lastSeq["rejected/"] == 30)
    }

    @Test("seq numbering per topic holds from stored numbers, across reloads that reorder, add and re-engage partners, and an undone batch")
    func seqAcrossReloads() throws {
        let us = [Territory(country: "US")]
        let stored = ["partner/b/": 40, "vendor-sales/": 7]
        var p = LeadPipeline(config: RouterConfig(partners: [partner("a", .coSell, territories: us), partner("b", territories: us)]),
                             lastSeq: stored, seed: 7)
        var expected = stored, n = 0
        // Each lead of an account of its own, so rotation spreads them over the partners; a
        // lead outside the US goes to vendor-sales/, on the counter co_sell shares.
        func route(_ count: Int, country: String = "US") throws {
            for _ in 0..<count {
                n += 1
                let json = leadJSON(id: "l\(n)", country: country, region: nil)
                    .replacingOccurrences(of: "Acme Corp", with: "Corp \(n)").replacingOccurrences(of: "acme.example", with: "c\(n).example")
                guard case .routed(_, _, let messages) = p.process(ingest(json), from: .ingest, now: Self.now) else { throw DecisionMissing() }
                for m in messages {
                    expected[m.topic, default: 0] += 1
                    #expect(m.seq == expected[m.topic], "lead l\(n) on \(m.topic)")
                }
            }
            #expect(p.lastSeq == expected)
        }
        try route(6)
        try route(1, country: "DE")
        // Reordered: the indices the partners' topics were found by now name others.
        p.reload(rules: RouterConfig(partners: [partner("b", .coSell, territories: us), partner("c", territories: us),
                                                partner("a", .vendorCloses, territories: us)]).rules)
        try route(9)
        let saved = p.savedForUndo(), savedSeqs = expected
        p.reload(rules: RouterConfig(partners: [partner("d", territories: us), partner("b", territories: us)]).rules)
        try route(4)
        #expect(expected["partner/d/"] != nil)
        // Undone: the topics found since the save are gone, and so is where they were found.
        p.restore(saved)
        expected = savedSeqs
        #expect(p.lastSeq == expected)
        try route(9)
        try route(1, country: "DE")
        #expect(expected["partner/b/"]! > 40 && expected["partner/c/"] != nil)
    }

    @Test("a lead_id already routed is never routed again")
    func duplicates() {
        var p = pipeline([partner("a")])
        guard case .routed = p.process(ingest(leadJSON()), from: .ingest, now: Self.now) else {
            Issue.record("first copy not routed")
            return
        }
        #expect(p.process(ingest(leadJSON()), from: .ingest, now: Self.now) == .duplicate(leadID: "web-2026-000123"))
        #expect(p.process(InboundMessage(frames: [Array(leadJSON().utf8)]), from: .intake, now: Self.now) == .duplicate(leadID: "web-2026-000123"))
        #expect(p.counters.routed == 1)
        #expect(p.counters.duplicates == 2)
        #expect(p.lastSeq["partner/a/"] == 1)
    }

    @Test("ids and owners are forgotten per batch: a batch routed while the one before commits keeps its own")
    func forgettingByBatch() throws {
        var p = pipeline([partner("a"), partner("b")])
        func route(_ id: String) -> RoutingDecision? {
            guard case .routed(_, let decision, _) = p.process(ingest(leadJSON(id: id)), from: .ingest, now: Self.now) else { return nil }
            return decision
        }
        let first = p.beginBatch()
        let owner = try #require(route("batch1-lead")?.partnerID)
        let second = p.beginBatch()
        #expect(second == first + 1)
        // Same account, routed while the first batch is not stored yet: it follows the owner.
        let follower = try #require(route("batch2-lead"))
        #expect(follower.partnerID == owner)
        #expect(follower.rule.rawValue == "affinity")

        let keys = follower.accountKeys
        #expect(!keys.isEmpty)
        #expect(keys.allSatisfy { p.recentOwner($0) == owner })
        #expect(p.recentOwner("n:never routed") == nil)

        p.forgetRecent(through: first)
        #expect(!p.hasRecentlyRouted(leadID: "batch1-lead"))
        #expect(p.hasRecentlyRouted(leadID: "batch2-lead"))
        #expect(p.process(ingest(leadJSON(id: "batch2-lead")), from: .ingest, now: Self.now) == .duplicate(leadID: "batch2-lead"))
        // The account's owner was refreshed by the second batch, so it is still remembered.
        _ = p.beginBatch()
        #expect(route("batch3-lead")?.partnerID == owner)

        p.forgetRecent(through: p.generation)
        #expect(!p.hasRecentlyRouted(leadID: "batch2-lead"))
        #expect(!p.hasRecentlyRouted(leadID: "batch3-lead"))
        #expect(keys.allSatisfy { p.recentOwner($0) == nil })
    }

    @Test("undoing a batch that was not stored: numbering and rotation as before it, its ids and owners forgotten, the batches' before kept")
    func undoByGeneration() throws {
        var p = pipeline([partner("a"), partner("b")])
        func route(_ id: String, company: String = "Acme") -> RoutingDecision? {
            let json = leadJSON(id: id).replacingOccurrences(of: "Acme", with: company).replacingOccurrences(of: "acme.example", with: "\(company.lowercased()).example")
            guard case .routed(_, let decision, _) = p.process(ingest(json), from: .ingest, now: Self.now) else { return nil }
            return decision
        }
        _ = p.beginBatch()
        let owner = try #require(route("kept-1")?.partnerID)
        _ = route("kept-2", company: "Globex")
        let globexKeys = try #require(route("kept-3", company: "Globex")).accountKeys
        let seqsBefore = p.lastSeq, generationBefore = p.generation, statesBefore = p.router.partnerStates
        // The batch that will fail, and one routed on top of it.
        let saved = p.savedForUndo()
        _ = p.beginBatch()
        #expect(p.process(ingest(leadJSON(id: "kept-1")), from: .ingest, now: Self.now) == .duplicate(leadID: "kept-1"))
        _ = route("undone-1", company: "Initech")
        _ = p.beginBatch()
        _ = route("undone-2", company: "Globex")
        #expect(p.lastSeq != seqsBefore)

        p.restore(saved)
        #expect(p.generation == generationBefore)
        #expect(p.lastSeq == seqsBefore)
        #expect(p.router.partnerStates == statesBefore)
        // The earlier batch's id and owner stay; what the undone batches routed is gone, and
        // what they routed again (kept-1, Globex's owner) is left to the store, which has it.
        #expect(p.hasRecentlyRouted(leadID: "kept-2"))
        #expect(!p.hasRecentlyRouted(leadID: "undone-1") && !p.hasRecentlyRouted(leadID: "undone-2"))
        #expect(!p.hasRecentlyRouted(leadID: "kept-1"))
        #expect(p.recentOwner("d:acme.example") == owner)
        #expect(p.recentOwner("n:initech") == nil)
        #expect(globexKeys.allSatisfy { p.recentOwner($0) == nil })
        // Numbering goes on from where the earlier batch left it.
        _ = p.beginBatch()
        guard case .routed(_, _, let messages) = p.process(ingest(leadJSON(id: "undone-1")), from: .ingest, now: Self.now) else {
            throw DecisionMissing()
        }
        #expect(!messages.isEmpty)
        #expect(messages.allSatisfy { $0.seq == (seqsBefore[$0.topic] ?? 0) + 1 })
    }

    @Test(
        "each kind of bad input yields a rejected/ envelope with code, field, message, input and received_at",
        arguments: [
            (InboundMessage(frames: [Array("lead".utf8), Array("{nope".utf8)]), LeadRejection.Code.invalidJSON, nil as String?),
            (InboundMessage(frames: [Array("lead".utf8), [0x00, 0xFF, 0x10]]), .invalidJSON, nil),
            (InboundMessage(frames: [Array("lead".utf8), Array(#"{"lead_id":"x","company":{"name":"A"}}"#.utf8)]), .missingField, "company.country"),
            (InboundMessage(frames: [Array("lead".utf8), Array(#"{"lead_id":"x","company":{"name":"A","country":"ZZ"}}"#.utf8)]), .invalidField, "company.country"),
            (InboundMessage(frames: [Array(#"{"lead_id":"x"}"#.utf8)]), .badFrames, nil),
            (InboundMessage(frames: [Array("lead".utf8), Array("{}".utf8), Array("{}".utf8)]), .badFrames, nil),
            (InboundMessage(frames: [Array("lead".utf8), Array(repeating: 0x41, count: 1024)], totalSize: 70_000), .tooLarge, nil),
        ])
    func rejections(message: InboundMessage, code: LeadRejection.Code, field: String?) throws {
        var p = pipeline([partner("a")])
        guard case .rejected(let rejection, let out) = p.process(message, from: .ingest, now: Self.now) else {
            Issue.record("accepted")
            return
        }
        #expect(rejection.code == code)
        #expect(rejection.field == field)
        #expect(out.topic == "rejected/")
        let envelope = try object(out.envelope)
        #expect(envelope["seq"] as? Int == 1)
        #expect(envelope["topic"] as? String == "rejected/")
        let error = try #require(envelope["error"] as? [String: Any])
        #expect(error["code"] as? String == code.rawValue)
        if let field {
            #expect(error["field"] as? String == field)
        } else {
            #expect(error["field"] is NSNull, "field is null, not left out")
        }
        #expect((error["message"] as? String)?.isEmpty == false)
        #expect(envelope["input"] is String)
        #expect(envelope["received_at"] as? String == "2026-11-22T10:00:00.123Z")
        #expect(p.counters.rejected[code] == 1)
    }

    @Test("the quoted input is the first 1 KiB of the lead frame")
    func quotedInput() throws {
        var p = pipeline([])
        let big = "{" + String(repeating: "x", count: 3000)
        guard case .rejected(_, let out) = p.process(ingest(big), from: .ingest, now: Self.now) else {
            Issue.record("accepted")
            return
        }
        let input = try #require(try object(out.envelope)["input"] as? String)
        #expect(input == String(big.prefix(1024)))
    }

    @Test("messages larger than max_message_bytes are too_large")
    func tooLarge() {
        var p = pipeline([partner("a")], maxBytes: 100)
        let outcome = p.process(ingest(leadJSON()), from: .ingest, now: Self.now)
        guard case .rejected(let rejection, _) = outcome else {
            Issue.record("accepted")
            return
        }
        #expect(rejection.code == .tooLarge)
        #expect(rejection.message.contains("max_message_bytes (100)"))
    }

    @Test("a lead rejected once can be routed after it is fixed")
    func rejectedThenFixed() {
        var p = pipeline([partner("a")])
        guard case .rejected(let rejection, _) = p.process(ingest(leadJSON(country: "XX")), from: .ingest, now: Self.now) else {
            Issue.record("a lead from country XX was not rejected")
            return
        }
        #expect(rejection.code == .invalidField)
        guard case .routed = p.process(ingest(leadJSON()), from: .ingest, now: Self.now) else {
            Issue.record("fixed lead not routed")
            return
        }
    }

    @Test("timestamps are RFC 3339 UTC with milliseconds")
    func timestamps() {
        #expect(Timestamp.rfc3339(millisecondsSince1970: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millisecondsSince1970: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millisecondsSince1970: Self.now) == "2026-11-22T10:00:00.123Z")
        #expect(Timestamp.rfc3339(millisecondsSince1970: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        // Past year 9999 the digit writer declines and the general path formats it.
        #expect(Timestamp.rfc3339(millisecondsSince1970: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
        // An envelope's time is written into it in place, the same text.
        var json = JSONWriter()
        json.beginObject()
        json.field("at", rfc3339: Self.now)
        json.field("far", rfc3339: 253_402_300_800_000)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"at":"2026-11-22T10:00:00.123Z","far":"10000-01-01T00:00:00.000Z"}"#)
    }

    @Test("strings written into replies are escaped, short and long alike")
    func escapedStrings() throws {
        // Short strings (stored inline) and long ones take the same way into the JSON.
        let cases = ["plain", "a\"b", "c\\d", "e\nf\tg\rh", "\u{1}\u{1f}", "ü", "ok—✓",
                     "a long plain string, well over fifteen bytes", "a long one with a \"quote\" and a \\ and a \u{7}"]
        for text in cases {
            let reply = IntakeReply.rejected(LeadRejection(.invalidField, field: text, text), leadID: nil)
            let error = try #require(try object(reply)["error"] as? [String: Any])
            #expect(error["field"] as? String == text)
            #expect(error["message"] as? String == text)
        }
    }
}
