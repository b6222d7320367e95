import Foundation
import LeadRouting
import Testing

@Suite("Offer envelopes: what each step of a lead's life publishes")
struct OfferEnvelopeTests {
    static let now: Int64 = 1_795_341_600_123  // 2026-11-22T10:00:00.123Z
    static let later = now + 90_000  // 10:01:30.123
    let json = leadJSON()

    func pipeline(_ partners: [Partner], offers: OfferPolicy = OfferPolicy(acceptWithin: 14_400)) -> LeadPipeline {
        LeadPipeline(rules: RoutingRules(partners: partners, offers: offers), maxMessageBytes: 65_536, seed: 7)
    }

    func route(_ p: inout LeadPipeline, _ json: String) throws -> (RoutingDecision, [OutgoingMessage]) {
        let outcome = p.process(InboundMessage(frames: [Array("lead".utf8), Array(json.utf8)]), from: .ingest, now: Self.now)
        guard case .routed(_, let decision, let messages) = outcome else { throw EnvelopeTestError.notRouted(outcome) }
        return (decision, messages)
    }

    func object(_ message: OutgoingMessage) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(message.envelope)) as? [String: Any])
    }

    /// Expects the envelope to open with `seq`, `topic` and `type`, in that order.
    func expectHead(_ message: OutgoingMessage, _ type: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let head = #"{"seq":\#(message.seq),"topic":"\#(message.topic)","type":"\#(type)","#
        #expect(message.envelope.text.hasPrefix(head), "\(message.envelope.text.prefix(80))", sourceLocation: sourceLocation)
    }

    @Test("with offers on, a routed lead is an offer, without contact, and vendor sales hears nothing yet")
    func offer() throws {
        var p = pipeline([partner("rocky", .coSell)])
        let (decision, messages) = try route(&p, json)
        #expect(messages.map(\.topic) == ["partner/rocky/"])
        expectHead(messages[0], "offer")
        let offer = try object(messages[0])
        #expect(offer["accept_by"] as? String == "2026-11-22T14:00:00.123Z")
        #expect(offer["at"] as? String == "2026-11-22T10:00:00.123Z")
        #expect(offer["engagement"] as? String == "co_sell" && offer["role"] as? String == "owner")
        #expect(offer["attempt"] as? Int == 1)
        #expect(offer["withheld"] as? [String] == ["contact"])
        #expect(offer["rule"] as? String == "only_eligible")
        let lead = try #require(offer["lead"] as? [String: Any])
        #expect(lead["contact"] == nil && lead["company"] != nil && lead["lead_id"] as? String == "web-2026-000123")
        #expect(!messages[0].envelope.text.contains("dana@acme.example"))
        #expect(decision.offered?.state == .offered && decision.offered?.deadline == Self.now + 14_400_000)
        #expect(decision.offered?.assignmentID == offer["assignment_id"] as? String)
        #expect(p.lastSeq["vendor-sales/"] == nil)
        #expect(p.counters.published == 1, "one envelope, counted once")
    }

    @Test(
        "accepted: the partner gets the whole lead, vendor sales the engagement's copy",
        arguments: [
            (EngagementModel.leadsOnly, "owner", nil as String?),
            (.coSell, "owner", "co_seller"),
            (.vendorCloses, "relationship_owner", "closer"),
        ])
    func accepted(engagement: EngagementModel, role: String, vendorRole: String?) throws {
        var p = pipeline([partner("rocky", engagement)])
        var lead = try #require(try route(&p, json).0.offered)
        lead.state = .accepted
        let messages = p.caseEnvelopes(for: .accepted(partner: "rocky", engagement: engagement, claimed: false), of: lead,
                                       lead: Array(json.utf8), now: Self.later)
        #expect(messages.map(\.topic) == ["partner/rocky/"] + (vendorRole == nil ? [] : ["vendor-sales/"]))
        #expect(messages.map(\.seq) == [2] + (vendorRole == nil ? [] : [1]))
        expectHead(messages[0], "accepted")
        #expect(messages[0].envelope.text.contains(#""lead":"# + json + ","))
        let accepted = try object(messages[0])
        #expect(accepted["role"] as? String == role && accepted["reasons"] as? [String] == ["accepted by rocky"])
        guard let vendorRole else { return }
        expectHead(messages[1], "assignment")
        let copy = try object(messages[1])
        #expect(copy["role"] as? String == vendorRole)
        #expect(copy["partner_id"] as? String == "rocky" && copy["engagement"] as? String == engagement.rawValue)
        #expect(copy["routed_at"] as? String == "2026-11-22T10:01:30.123Z")
        #expect(messages[1].envelope.text.contains(#""lead":"# + json + ","))
    }

    /// Every later event, in a row, and what each publishes: `topic type` per envelope.
    static let events: [(CaseEvent, [String])] = [
        (.expired(partner: "p", acceptBy: now), ["partner/p/ expired"]),
        (.declined(partner: "q", reason: .noCapacity, note: nil), []),
        (.offered(partner: "q", engagement: .leadsOnly, acceptBy: later + 3_600_000, attempt: 2), ["partner/q/ offer"]),
        (.claimOpen(partners: ["q", "r"], claimBy: later + 86_400_000), ["partner/q/ claim_open", "partner/r/ claim_open"]),
        (.withdrawn(partner: "r", reason: .taken), ["partner/r/ withdrawn"]),
        (.accepted(partner: "q", engagement: .leadsOnly, claimed: true), ["partner/q/ accepted"]),
        (.vendorRequest(partner: "q", mode: .close, need: "pricing", note: nil), ["vendor-sales/ vendor_request"]),
        (.outcome(partner: "q", stage: .proposal, value: 12_500.5, currency: "EUR", reason: nil, note: "sent"), ["outcomes/ outcome"]),
        (.handedBack(partner: "q", reason: "no capacity", note: nil), ["vendor-sales/ handed_back"]),
        (.assigned(partner: "p", engagement: .coSell, attempt: 3), ["partner/p/ assignment", "vendor-sales/ assignment"]),
        (.toVendorSales(reason: "nobody took it"), ["vendor-sales/ assignment"]),
        (.toNurture(reason: "registrant let it go"), ["nurture/ assignment"]),
        (.withdrawn(partner: "p", reason: .pulledBack), ["partner/p/ withdrawn"]),
        (.vendorReleased(partner: "p", roles: [.coSeller]), ["vendor-sales/ withdrawn"]),
    ]

    @Test("each event publishes its type on its topics, and seq stays gapless on every topic")
    func everyEvent() throws {
        var p = pipeline([partner("p", .coSell), partner("q"), partner("r")])
        var lead = try #require(try route(&p, json).0.offered)
        lead.tried = [.init("p", .expired)]
        lead.offers = 2
        var seqs: [String: [Int]] = ["partner/p/": [1]]
        for (event, expected) in Self.events {
            let messages = p.caseEnvelopes(for: event, of: lead, lead: Array(json.utf8), now: Self.later)
            #expect(messages.map { "\($0.topic) \(typeOf($0))" } == expected, "\(event)")
            for message in messages {
                expectHead(message, typeOf(message))
                seqs[message.topic, default: []].append(message.seq)
                #expect(try object(message)["lead_id"] as? String == "web-2026-000123")
            }
        }
        for (topic, numbers) in seqs {
            #expect(numbers == Array(1...numbers.count), "\(topic)")
            #expect(p.lastSeq[topic] == numbers.count)
        }
        #expect(p.counters.published == seqs.values.map(\.count).reduce(0, +))
    }

    func typeOf(_ message: OutgoingMessage) -> String {
        ((try? object(message))?["type"] as? String) ?? "?"
    }

    @Test("the fields each event's envelope carries")
    func eventFields() throws {
        var p = pipeline([partner("p", .coSell), partner("q"), partner("r")])
        let lead = try #require(try route(&p, json).0.offered)
        func envelope(_ event: CaseEvent, _ index: Int = 0) throws -> [String: Any] {
            try object(p.caseEnvelopes(for: event, of: lead, lead: Array(json.utf8), now: Self.later)[index])
        }
        #expect(try envelope(.expired(partner: "p", acceptBy: Self.now))["accept_by"] as? String == "2026-11-22T10:00:00.123Z")
        #expect(try envelope(.withdrawn(partner: "r", reason: .taken))["reason"] as? String == "claimed_by_another")
        #expect(try envelope(.withdrawn(partner: "r", reason: .poolClosed))["reason"] as? String == "pool_closed")
        #expect(try envelope(.withdrawn(partner: "p", reason: .pulledBack))["reason"] as? String == "follow_up_missed")
        let claim = try envelope(.claimOpen(partners: ["q", "r"], claimBy: Self.later), 1)
        #expect(claim["claim_by"] as? String == "2026-11-22T10:01:30.123Z" && claim["partner_id"] as? String == "r")
        #expect((claim["lead"] as? [String: Any])?["contact"] == nil)
        let request = try envelope(.vendorRequest(partner: "p", mode: .coSell, need: "demo", note: nil))
        #expect(request["role"] as? String == "co_seller" && request["mode"] as? String == "co_sell" && request["need"] as? String == "demo")
        #expect((request["lead"] as? [String: Any])?["contact"] != nil)
        let back = try envelope(.handedBack(partner: "p", reason: "no capacity", note: "sorry"))
        #expect(back["partner_id"] is NSNull && back["role"] as? String == "direct" && back["handed_back_by"] as? String == "p")
        let outcome = try envelope(.outcome(partner: "p", stage: .lost, value: nil, currency: nil, reason: .price, note: nil))
        #expect(outcome["stage"] as? String == "lost" && outcome["reason"] as? String == "price" && outcome["value"] is NSNull)
        #expect(try envelope(.outcome(partner: "p", stage: .won, value: 48_000, currency: "USD", reason: nil, note: nil))["value"] as? Int == 48_000)
        let nurture = try envelope(.toNurture(reason: "held"))
        #expect(nurture["role"] as? String == "nurture" && nurture["reasons"] as? [String] == ["held"])
    }
}

enum EnvelopeTestError: Error {
    case notRouted(LeadOutcome)
}
