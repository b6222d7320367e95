import LeadRouting
import Testing

@Suite("Offer machine: the contract's stories, step by step")
struct OfferScenarioTests {
    let start = offerEpoch

    func listRouting(_ ids: [String], policy: OfferPolicy) -> ListRouting {
        ListRouting(ids.map { ($0, EngagementModel.leadsOnly) }, policy: policy)
    }

    func offered(to partner: String, registered: Bool = false, _ routing: ListRouting) -> LeadCase {
        OfferMachine.offer(leadID: "lead-1", assignmentID: "a-1", partner: partner, engagement: routing.engagement(of: partner) ?? .leadsOnly,
                           registered: registered, now: start, policy: routing.policy(for: partner)).0
    }

    func pooled(_ pool: [String]) -> LeadCase {
        LeadCase(leadID: "lead-1", assignmentID: "a-1", state: .pooled, deadline: start + hour, offers: 1,
                 tried: [.init("p", .declined)], pool: pool)
    }

    @Test("an offer names its partner, counts as the first, and is due accept_within from now")
    func firstOffer() {
        let (lead, event) = OfferMachine.offer(leadID: "lead-1", assignmentID: "a-1", partner: "p", engagement: .vendorCloses,
                                               registered: false, now: start, policy: OfferPolicy(acceptWithin: 900))
        #expect(event == .offered(partner: "p", engagement: .vendorCloses, acceptBy: start + 900_000, attempt: 1))
        #expect(lead == LeadCase(leadID: "lead-1", assignmentID: "a-1", state: .offered, partnerID: "p", engagement: .vendorCloses,
                                 deadline: start + 900_000, offers: 1))
        #expect(OfferMachine.view(of: lead, for: "p") == PartnerView(state: "offered", acceptBy: start + 900_000, lead: .withheld))
        #expect(OfferMachine.view(of: lead, for: "q") == nil)
    }

    @Test(
        "after max_offers the lead goes where `then` says",
        arguments: [
            (OfferFallback.vendorSales, ["expire q", "vendor_sales"], LeadCase.State.vendorSales),
            (.nurture, ["expire q", "nurture"], .nurture),
            (.pool, ["expire q", "pool r,s"], .pooled),
        ])
    func afterMaxOffers(then: OfferFallback, events: [String], state: LeadCase.State) {
        var routing = listRouting(["p", "q", "r", "s"], policy: OfferPolicy(acceptWithin: 600, maxOffers: 2, then: then, poolWindow: 7200))
        var lead = offered(to: "p", routing)
        #expect(perform(.decline, by: "p", on: &lead, at: start + 1, &routing).events == ["decline p", "offer q"])
        #expect(lead.offers == 2 && lead.deadline == start + 1 + 600_000)
        var fired: [CaseEvent] = []
        OfferMachine.deadlinePassed(&lead, now: start + hour, routing: &routing, events: &fired)
        #expect(fired.map(token) == events)
        #expect(lead.state == state)
        #expect(lead.deadline == (then == .pool ? start + hour + 7_200_000 : nil))
        #expect(lead.partnerID == nil)
        if case .toVendorSales(let reason) = fired.last {
            #expect(reason == "offered to 2 partners: p declined, q expired; max_offers (2) reached: offers.then is vendor-sales")
        }
    }

    @Test("with nobody left to offer it to, the lead goes where `then` says before max_offers")
    func nobodyLeft() {
        var toSales = listRouting(["p"], policy: OfferPolicy(acceptWithin: 600, maxOffers: 3, then: .pool))
        var lead = offered(to: "p", toSales)
        var events: [CaseEvent] = []
        _ = OfferMachine.act(Act.decline.request(by: "p"), on: &lead, now: start, routing: &toSales, events: &events)
        #expect(events.map(token) == ["decline p", "vendor_sales"])
        #expect(events.last == .toVendorSales(reason: "offered to 1 partner: p declined; no other eligible partner, and no eligible partner left to pool it"))
        #expect(lead.state == .vendorSales && lead.deadline == nil)
    }

    @Test("a pooled lead: the first claim wins, the others are withdrawn, a later claim is already_taken")
    func claimRace() {
        var routing = ListRouting([("q", .coSell), ("r", .leadsOnly), ("s", .leadsOnly)], policy: OfferPolicy(acceptWithin: 600))
        var lead = pooled(["q", "r", "s"])
        #expect(OfferMachine.view(of: lead, for: "r") == PartnerView(state: "pooled", claimBy: start + hour, lead: .withheld))
        #expect(perform(.accept, by: "r", on: &lead, at: start, &routing).reply == "!wrong_state")
        #expect(perform(.claim, by: "r", on: &lead, at: start + 1, &routing) == ("accepted", ["withdraw q taken", "withdraw s taken", "claim r"]))
        #expect(perform(.claim, by: "q", on: &lead, at: start + 2, &routing) == ("!already_taken", []))
        #expect(perform(.accept, by: "s", on: &lead, at: start + 2, &routing) == ("!already_taken", []))
        #expect(perform(.status, by: "q", on: &lead, at: start + 2, &routing) == ("withdrawn", []))
        #expect(perform(.claim, by: "r", on: &lead, at: start + 3, &routing) == ("accepted", []))
        #expect(lead.state == .accepted && lead.partnerID == "r" && lead.engagement == .leadsOnly)
        #expect(lead.pool.isEmpty && lead.deadline == nil)
    }

    @Test("a claim takes the claimant's engagement, and vendor sales' role with it")
    func claimEngagement() {
        var routing = ListRouting([("q", .vendorCloses), ("r", .leadsOnly)], policy: OfferPolicy(acceptWithin: 600))
        var lead = pooled(["q", "r"])
        var events: [CaseEvent] = []
        let reply = OfferMachine.act(Act.claim.request(by: "q"), on: &lead, now: start, routing: &routing, events: &events)
        #expect(reply == .ok(PartnerView(state: "accepted", vendorRoles: [.closer], lead: .whole)))
        #expect(events.last == .accepted(partner: "q", engagement: .vendorCloses, claimed: true))
    }

    @Test("nobody claims a pooled lead: each pool member is withdrawn and vendor sales gets it direct")
    func poolExpires() {
        var routing = listRouting(["q", "r"], policy: OfferPolicy(acceptWithin: 600))
        var lead = pooled(["q", "r"])
        #expect(fire(&lead, at: start + hour, &routing) == ["withdraw q pool_closed", "withdraw r pool_closed", "vendor_sales"])
        #expect(lead.state == .vendorSales && lead.deadline == nil && lead.pool.isEmpty)
        #expect(perform(.claim, by: "q", on: &lead, at: start + hour, &routing) == ("!expired", []))
    }

    @Test("when every pool member declines, vendor sales gets the lead at once")
    func poolAllDecline() {
        var routing = listRouting(["q", "r"], policy: OfferPolicy(acceptWithin: 600))
        var lead = pooled(["q", "r"])
        #expect(perform(.decline, by: "q", on: &lead, at: start, &routing) == ("declined", ["decline q"]))
        #expect(lead.state == .pooled && lead.pool == ["r"])
        #expect(perform(.decline, by: "r", on: &lead, at: start, &routing) == ("declined", ["decline r", "vendor_sales"]))
        #expect(lead.state == .vendorSales && lead.deadline == nil)
    }

    @Test("a registered lead is offered to its registrant only, and held in nurture when it lets it go", arguments: [true, false])
    func registered(declines: Bool) {
        var routing = listRouting(["p", "q", "r"], policy: OfferPolicy(acceptWithin: 600, maxOffers: 3, then: .pool))
        var lead = offered(to: "q", registered: true, routing)
        let events = declines ? perform(.decline, by: "q", on: &lead, at: start, &routing).events : fire(&lead, at: start + hour, &routing)
        #expect(events == [declines ? "decline q" : "expire q", "nurture"])
        #expect(lead.state == .nurture && lead.deadline == nil)
        #expect(perform(.status, by: "p", on: &lead, at: start + hour, &routing).reply == "!not_found")
        expectRoundTrip(lead)
    }

    @Test("follow_up_within: an accepted lead with no outcome by then is pulled back and offered on")
    func followUpPullsBack() {
        var routing = listRouting(["p", "q"], policy: OfferPolicy(acceptWithin: 600, followUpWithin: 7200))
        var lead = offered(to: "p", routing)
        #expect(perform(.accept, by: "p", on: &lead, at: start + 1000, &routing).events == ["accept p"])
        #expect(lead.deadline == start + 1000 + 7_200_000)
        #expect(fire(&lead, at: start + 1000 + 7_200_000, &routing) == ["withdraw p pulled_back", "offer q"])
        #expect(lead.state == .offered && lead.partnerID == "q" && lead.offers == 2)
        #expect(perform(.outcome(.contacted), by: "p", on: &lead, at: start + 3 * hour, &routing).reply == "!wrong_state")
        #expect(perform(.status, by: "p", on: &lead, at: start + 3 * hour, &routing).reply == "withdrawn")
    }

    @Test("any outcome clears the follow-up deadline", arguments: OutcomeStage.allCases)
    func outcomeClearsFollowUp(stage: OutcomeStage) {
        var routing = listRouting(["p", "q"], policy: OfferPolicy(acceptWithin: 600, followUpWithin: 7200))
        var lead = offered(to: "p", routing)
        _ = perform(.accept, by: "p", on: &lead, at: start, &routing)
        var request = Act.contacted.request(by: "p")
        request.stage = stage
        request.lostReason = stage == .lost ? .price : nil
        var events: [CaseEvent] = []
        let reply = OfferMachine.act(request, on: &lead, now: start + hour, routing: &routing, events: &events)
        #expect(token(reply) == (stage.isFinal ? stage.rawValue : "accepted"))
        #expect(events.map(token) == ["outcome \(stage.rawValue)"])
        #expect(lead.deadline == nil && lead.stage == stage && !lead.isOpen)
        // Long after: nothing is pulled back.
        #expect(perform(.status, by: "p", on: &lead, at: start + 100 * hour, &routing).events.isEmpty)
    }

    @Test("a claim from the pool starts the claimant's follow-up too; hand_back ends it")
    func claimFollowUp() {
        var routing = listRouting(["q", "r"], policy: OfferPolicy(acceptWithin: 600, followUpWithin: 60))
        var lead = pooled(["q", "r"])
        _ = perform(.claim, by: "q", on: &lead, at: start, &routing)
        #expect(lead.deadline == start + 60_000)
        #expect(perform(.handBack, by: "q", on: &lead, at: start + 1, &routing) == ("handed_back", ["hand_back q"]))
        #expect(lead.state == .handedBack && lead.deadline == nil)
        #expect(lead.result(of: "q") == .handedBack)
    }

    @Test("a partner that takes no offers gets the lead outright when its turn comes")
    func assignedOutright() {
        var routing = ListRouting([
            .init(id: "p", engagement: .leadsOnly, policy: OfferPolicy(acceptWithin: 600)),
            .init(id: "q", engagement: .coSell, policy: OfferPolicy(acceptWithin: 0, followUpWithin: 300)),
        ])
        var lead = offered(to: "p", routing)
        #expect(perform(.decline, by: "p", on: &lead, at: start, &routing) == ("declined", ["decline p", "assign q"]))
        #expect(lead.state == .accepted && lead.partnerID == "q" && lead.vendorRoles == [.coSeller])
        #expect(lead.deadline == start + 300_000)
        #expect(perform(.status, by: "q", on: &lead, at: start, &routing).reply == "accepted")
    }

    @Test("request_vendor adds vendor sales' role once; asking again is ok and publishes nothing")
    func requestVendor() {
        var routing = listRouting(["p"], policy: OfferPolicy(acceptWithin: 600))
        var lead = LeadCase.assigned(leadID: "lead-1", assignmentID: "a-1", partnerID: "p", engagement: .vendorCloses)
        #expect(lead.vendorRoles == [.closer])
        #expect(perform(.close, by: "p", on: &lead, at: start, &routing) == ("accepted", []))
        #expect(perform(.coSell, by: "p", on: &lead, at: start, &routing) == ("accepted", ["vendor_request co_sell"]))
        #expect(perform(.coSell, by: "p", on: &lead, at: start, &routing) == ("accepted", []))
        #expect(lead.vendorRoles == [.closer, .coSeller])
        #expect(OfferMachine.view(of: lead, for: "p")?.vendorRoles == [.closer, .coSeller])
    }
}

extension Act {
    /// `outcome` with the given stage (the table's own cases fix it to contacted, won or lost).
    static func outcome(_ stage: OutcomeStage) -> Act {
        switch stage {
        case .won: .won
        case .lost: .lost
        default: .contacted
        }
    }
}
