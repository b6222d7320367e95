import LeadRouting
import Testing

@Suite("Moving a lead on through the pipeline's router")
struct OfferRoutingTests {
    static let now: Int64 = 1_795_341_600_123

    /// `a`, `b` and `c` cover the lead; `de` and `off` never may.
    static let partners = [
        partner("a"), partner("de", territories: [Territory(country: "DE")]), partner("b"), partner("off", active: false), partner("c"),
    ]

    func offered(_ p: inout LeadPipeline) throws -> LeadCase {
        let message = InboundMessage(frames: [Array("lead".utf8), Array(leadJSON(id: "l-1").utf8)])
        guard case .routed(_, let decision, _) = p.process(message, from: .ingest, now: Self.now) else {
            throw EnvelopeTestError.notRouted(p.process(message, from: .ingest, now: Self.now))
        }
        return try #require(decision.offered)
    }

    func decline(_ lead: inout LeadCase, in p: inout LeadPipeline) -> [CaseEvent] {
        var events: [CaseEvent] = []
        let request = Act.decline.request(by: lead.partnerID ?? "?", lead: lead.leadID)
        _ = p.withOfferRouting(for: facts(id: lead.leadID)) { routing in
            OfferMachine.act(request, on: &lead, now: Self.now + 1000, routing: &routing, events: &events)
        }
        return events
    }

    @Test("each decline goes to another eligible partner, never one tried; after max_offers, vendor sales")
    func declines() throws {
        var p = LeadPipeline(rules: RoutingRules(partners: Self.partners, offers: OfferPolicy(acceptWithin: 3600, maxOffers: 3)),
                             maxMessageBytes: 65_536, seed: 7)
        var lead = try offered(&p)
        var offeredTo = [lead.partnerID!]
        for _ in 0..<2 {
            let events = decline(&lead, in: &p)
            #expect(events.count == 2)
            offeredTo.append(lead.partnerID ?? "-")
        }
        #expect(offeredTo.sorted() == ["a", "b", "c"])
        #expect(decline(&lead, in: &p).map(token) == ["decline \(offeredTo[2])", "vendor_sales"])
        #expect(lead.state == .vendorSales)
    }

    @Test("`then: pool` invites every eligible partner not yet tried, in config order")
    func pool() throws {
        var p = LeadPipeline(rules: RoutingRules(partners: Self.partners, offers: OfferPolicy(acceptWithin: 3600, maxOffers: 1, then: .pool)),
                             maxMessageBytes: 65_536, seed: 7)
        var lead = try offered(&p)
        let first = lead.partnerID!
        let others = ["a", "b", "c"].filter { $0 != first }
        #expect(decline(&lead, in: &p).map(token) == ["decline \(first)", "pool \(others.joined(separator: ","))"])
        #expect(lead.deadline == Self.now + 1000 + 86_400_000)
    }

    @Test("a partner whose own offers: sets accept_within 0 is assigned the lead outright when its turn comes")
    func partnerOverride() throws {
        var partners = [partner("a"), partner("b", .coSell)]
        partners[1].offers = OfferOverride(acceptWithin: 0)
        var p = LeadPipeline(rules: RoutingRules(partners: partners, offers: OfferPolicy(acceptWithin: 3600)), maxMessageBytes: 65_536, seed: 7)
        #expect(p.offerPolicy(for: "b").offersLeads == false)
        #expect(p.offerPolicy(for: "a") == OfferPolicy(acceptWithin: 3600))
        var lead = try offered(&p)
        #expect(lead.partnerID == "a")
        #expect(decline(&lead, in: &p).map(token) == ["decline a", "assign b"])
        #expect(lead.state == .accepted && lead.vendorRoles == [.coSeller])
    }

    @Test("a registered lead is offered to its registrant only: declined, it is held in nurture")
    func registered() throws {
        let registration = Registration(partnerID: "c", domain: "acme.example", expires: Self.now + 30 * 86_400_000)
        var p = LeadPipeline(rules: RoutingRules(partners: Self.partners, offers: OfferPolicy(acceptWithin: 3600, maxOffers: 3, then: .pool)),
                             maxMessageBytes: 65_536, seed: 7, registrations: [registration])
        var lead = try offered(&p)
        #expect(lead.partnerID == "c" && lead.registered)
        #expect(decline(&lead, in: &p).map(token) == ["decline c", "nurture"])
        #expect(lead.state == .nurture)
    }
}
