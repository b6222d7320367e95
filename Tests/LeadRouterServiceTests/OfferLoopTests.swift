import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Testing

/// Three partners covering the US, one after another in rotation.
func offerPartners(_ config: inout RouterConfig, policy: OfferPolicy) {
    config.rules.partners = [
        Partner(id: "acme", engagement: .leadsOnly, territories: [Territory(country: "US")]),
        Partner(id: "beta", engagement: .coSell, territories: [Territory(country: "US")]),
        Partner(id: "gamma", engagement: .vendorCloses, territories: [Territory(country: "US")]),
    ]
    config.rules.offers = policy
}

func offerLead(_ id: String) -> String {
    #"{"lead_id": "\#(id)", "company": {"name": "Co \#(id)", "country": "US", "region": "CO"}, "contact": {"name": "Dana", "email": "dana@example.com"}}"#
}

func action(_ action: String, _ leadID: String, _ partner: String, _ extra: String = "") -> String {
    #"{"request_id": "r-\#(action)", "action": "\#(action)", "lead_id": "\#(leadID)", "partner_id": "\#(partner)"\#(extra)}"#
}

@Suite("Offers in the routing loop", .serialized)
struct OfferLoopTests {
    @Test("an offer withholds the contact; accepting it gives the whole lead, then the accepted envelope")
    func offerAndAccept() throws {
        let store = MemoryRoutingStore()
        let harness = try LoopHarness(store: store) { offerPartners(&$0, policy: OfferPolicy(acceptWithin: 600)) }
        try harness.start()
        defer { _ = harness.stop() }
        let feed = try harness.feedReader(["partner/", "vendor-sales/"])
        let intake = try harness.intakeClient()
        let reply = try intake.ask(offerLead("o-1"))
        #expect(reply["status"] as? String == "accepted")
        let offered = try #require(reply["partner_id"] as? String)
        let offer = try #require(try feed.first { topic, _ in topic == "partner/\(offered)/" })
        #expect(offer["type"] as? String == "offer")
        #expect(offer["accept_by"] is String)
        #expect((offer["lead"] as? [String: Any])?["contact"] == nil)
        #expect(offer["withheld"] as? [String] == ["contact"])

        let control = try harness.controlClient()
        let accepted = try control.ask(action("accept", "o-1", offered))
        #expect(accepted["status"] as? String == "ok", "\(accepted)")
        #expect(accepted["state"] as? String == "accepted")
        #expect(accepted["request_id"] as? String == "r-accept")
        #expect((accepted["lead"] as? [String: Any])?["contact"] != nil)
        let envelope = try #require(try feed.first { topic, body in topic == "partner/\(offered)/" && body["type"] as? String == "accepted" })
        #expect((envelope["lead"] as? [String: Any])?["contact"] != nil)
        // Accepting again is answered the same, and publishes nothing new.
        let again = try control.ask(action("accept", "o-1", offered))
        #expect(again["state"] as? String == "accepted")
        // Another partner's lead does not exist for it.
        let other = ["acme", "beta", "gamma"].first { $0 != offered }!
        let stranger = try control.ask(action("status", "o-1", other))
        #expect((stranger["error"] as? [String: Any])?["code"] as? String == "not_found")
        let history = try #require(store.caseHistory(leadID: "o-1"))
        #expect(history.lead.state == .accepted)
        #expect(history.history.contains(#""event":"accepted""#))
    }

    @Test("a decline moves the lead on; expiry (on the loop's clock) moves it again; then vendor sales")
    func declineExpireThen() throws {
        let store = MemoryRoutingStore()
        let clock = ManualLoopClock()
        let harness = try LoopHarness(store: store, clock: clock) {
            offerPartners(&$0, policy: OfferPolicy(acceptWithin: 60, maxOffers: 2, then: .vendorSales))
        }
        try harness.start()
        defer { _ = harness.stop() }
        let feed = try harness.feedReader(["partner/", "vendor-sales/"])
        let first = try #require(try harness.intakeClient().ask(offerLead("o-2"))["partner_id"] as? String)
        let control = try harness.controlClient()
        let declined = try control.ask(action("decline", "o-2", first, #", "reason": "not_qualified""#))
        #expect(declined["state"] as? String == "declined", "\(declined)")
        let second = try #require(try feed.first { _, body in body["type"] as? String == "offer" && body["partner_id"] as? String != first })
        let secondPartner = try #require(second["partner_id"] as? String)
        #expect(second["attempt"] as? Int == 2)
        clock.advance(by: .seconds(61))
        harness.loop.wake()
        let expired = try #require(try feed.first { _, body in body["type"] as? String == "expired" })
        #expect(expired["partner_id"] as? String == secondPartner)
        let direct = try #require(try feed.first { topic, _ in topic == "vendor-sales/" })
        #expect(direct["role"] as? String == "direct")
        #expect(direct["type"] as? String == "assignment")
        let late = try control.ask(action("accept", "o-2", secondPartner))
        #expect((late["error"] as? [String: Any])?["code"] as? String == "expired")
        let again = try control.ask(action("decline", "o-2", first, #", "reason": "not_qualified""#))
        #expect(again["state"] as? String == "declined")
    }

    @Test("a partner that takes no offers is followed up all the same: its lead, assigned outright when first routed, is pulled back once follow_up_within passes with no outcome")
    func outrightLeadFollowedUp() throws {
        let clock = ManualLoopClock()
        let harness = try LoopHarness(store: MemoryRoutingStore(), clock: clock) { config in
            config.rules.partners = [Partner(id: "beta", engagement: .coSell, territories: [Territory(country: "US")],
                                             offers: OfferOverride(acceptWithin: 0))]
            config.rules.offers = OfferPolicy(acceptWithin: 60, maxOffers: 2, then: .vendorSales, followUpWithin: 120)
        }
        try harness.start()
        defer { _ = harness.stop() }
        let feed = try harness.feedReader(["partner/", "vendor-sales/"])
        #expect(try harness.intakeClient().ask(offerLead("fu-1"))["partner_id"] as? String == "beta")
        let assigned = try #require(try feed.first { topic, _ in topic == "partner/beta/" })
        #expect(assigned["type"] as? String == "assignment" && assigned["role"] as? String == "owner")
        let control = try harness.controlClient()
        let status = try control.ask(action("status", "fu-1", "beta"))
        #expect(status["state"] as? String == "accepted", "\(status)")
        // Not before its deadline…
        clock.advance(by: .seconds(119))
        harness.loop.wake()
        #expect(try control.ask(action("status", "fu-1", "beta"))["state"] as? String == "accepted")
        // …but after it, with no outcome: pulled back from beta and vendor sales' copy, then on.
        clock.advance(by: .seconds(2))
        harness.loop.wake()
        let pulled = try #require(try feed.first { topic, body in topic == "partner/beta/" && body["type"] as? String == "withdrawn" })
        #expect(pulled["reason"] as? String == "follow_up_missed")
        let direct = try #require(try feed.first { topic, body in topic == "vendor-sales/" && body["role"] as? String == "direct" })
        #expect(direct["lead_id"] as? String == "fu-1")
        let after = try control.ask(action("outcome", "fu-1", "beta", #", "stage": "contacted""#))
        #expect((after["error"] as? [String: Any])?["code"] as? String == "wrong_state", "\(after)")
    }

    @Test("a decline and a hand_back without a reason are carried out: the decline as other, the hand_back's reason null")
    func reasonsLeftOut() throws {
        let store = MemoryRoutingStore()
        let harness = try LoopHarness(store: store) { offerPartners(&$0, policy: OfferPolicy(acceptWithin: 600, maxOffers: 3)) }
        try harness.start()
        defer { _ = harness.stop() }
        let feed = try harness.feedReader(["partner/", "vendor-sales/"])
        let first = try #require(try harness.intakeClient().ask(offerLead("o-9"))["partner_id"] as? String)
        let control = try harness.controlClient()
        let declined = try control.ask(action("decline", "o-9", first))
        #expect(declined["state"] as? String == "declined", "\(declined)")
        let second = try #require(try feed.first { _, body in body["type"] as? String == "offer" && body["partner_id"] as? String != first })
        let holder = try #require(second["partner_id"] as? String)
        #expect(try control.ask(action("accept", "o-9", holder))["state"] as? String == "accepted")
        let handedBack = try control.ask(action("hand_back", "o-9", holder))
        #expect(handedBack["state"] as? String == "handed_back", "\(handedBack)")
        let direct = try #require(try feed.first { topic, body in topic == "vendor-sales/" && body["type"] as? String == "handed_back" })
        #expect(direct["handed_back_by"] as? String == holder)
        #expect(direct["reason"] is NSNull, "\(direct)")
        let history = try #require(store.caseHistory(leadID: "o-9")).history
        #expect(history.contains(#""event":"declined""#) && history.contains(#""reason":"other""#), "\(history)")
    }

    @Test("pool: the first claim wins, the other gets already_taken and a withdrawn envelope")
    func poolRace() throws {
        let store = MemoryRoutingStore()
        let harness = try LoopHarness(store: store) {
            offerPartners(&$0, policy: OfferPolicy(acceptWithin: 600, maxOffers: 1, then: .pool, poolWindow: 600))
        }
        try harness.start()
        defer { _ = harness.stop() }
        let feed = try harness.feedReader(["partner/"])
        let first = try #require(try harness.intakeClient().ask(offerLead("o-3"))["partner_id"] as? String)
        let control = try harness.controlClient()
        _ = try control.ask(action("decline", "o-3", first, #", "reason": "no_capacity""#))
        let pooled = ["acme", "beta", "gamma"].filter { $0 != first }
        for partner in pooled {
            let open = try #require(try feed.first { topic, body in topic == "partner/\(partner)/" && body["type"] as? String == "claim_open" })
            #expect(open["claim_by"] is String)
        }
        let racer = try harness.controlClient()
        try control.send(action("claim", "o-3", pooled[0]))
        try racer.send(action("claim", "o-3", pooled[1]))
        let replies = [try #require(try control.reply()), try #require(try racer.reply())]
        let winners = replies.filter { $0["status"] as? String == "ok" }
        let losers = replies.filter { ($0["error"] as? [String: Any])?["code"] as? String == "already_taken" }
        #expect(winners.count == 1 && losers.count == 1, "\(replies)")
        let withdrawn = try #require(try feed.first { _, body in body["type"] as? String == "withdrawn" })
        #expect(withdrawn["reason"] as? String == "claimed_by_another")
    }

    @Test("bad control requests get an error reply and change nothing")
    func badRequests() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore()) { offerPartners(&$0, policy: OfferPolicy(acceptWithin: 600)) }
        try harness.start()
        defer { _ = harness.stop() }
        let control = try harness.controlClient()
        let cases: [(String, String)] = [
            ("{not json", "invalid_json"),
            ("[1, 2]", "invalid_json"),
            (#"{"action": "steal", "lead_id": "x", "partner_id": "acme"}"#, "invalid_action"),
            (#"{"action": "accept", "partner_id": "acme"}"#, "invalid_field"),
            (#"{"action": "decline", "lead_id": "x", "partner_id": "acme", "reason": "bored"}"#, "invalid_field"),
            (#"{"action": "accept", "lead_id": "nope", "partner_id": "acme"}"#, "not_found"),
        ]
        for (request, code) in cases {
            let reply = try control.ask(request)
            #expect(reply["status"] as? String == "error")
            #expect((reply["error"] as? [String: Any])?["code"] as? String == code, "\(request) → \(reply)")
        }
    }

    @Test("deadlines survive a restart: an offer that expired while the daemon was down fires as it starts")
    func deadlinesSurviveRestart() throws {
        let store = MemoryRoutingStore()
        let clock = ManualLoopClock()
        let configure: (inout RouterConfig) -> Void = { offerPartners(&$0, policy: OfferPolicy(acceptWithin: 60, maxOffers: 3)) }
        let first: String
        do {
            let harness = try LoopHarness(store: store, clock: clock, configure: configure)
            try harness.start()
            first = try #require(try harness.intakeClient().ask(offerLead("o-4"))["partner_id"] as? String)
            _ = harness.stop()
        }
        #expect(try store.openCases().map(\.leadID) == ["o-4"])
        clock.advance(by: .seconds(120))
        let harness = try LoopHarness(store: store, clock: clock, configure: configure)
        try harness.start()
        defer { _ = harness.stop() }
        #expect(try eventually { (try harness.replay("partner/\(first)/")).count == 2 })
        let envelopes = try harness.replay("partner/\(first)/").map { json($0) }
        #expect(envelopes.map { $0["type"] as? String } == ["offer", "expired"])
        let lead = try #require(store.caseHistory(leadID: "o-4")?.lead)
        #expect(lead.offers == 2)
        #expect(lead.partnerID != first)
    }

    @Test("an open offer to a partner removed while the daemon was down moves on as it starts; others wait for their deadline")
    func removedWhileDownMovesOn() throws {
        let store = MemoryRoutingStore()
        let clock = ManualLoopClock()
        let configure: (inout RouterConfig) -> Void = { offerPartners(&$0, policy: OfferPolicy(acceptWithin: 3600, maxOffers: 3)) }
        var offeredTo: [String: String] = [:]
        do {
            let harness = try LoopHarness(store: store, clock: clock, configure: configure)
            try harness.start()
            let intake = try harness.intakeClient()
            for id in ["r-1", "r-2", "r-3"] { offeredTo[id] = try #require(try intake.ask(offerLead(id))["partner_id"] as? String) }
            _ = harness.stop()
        }
        let removed = try #require(offeredTo["r-1"])
        let stay = offeredTo.filter { $0.value != removed }.keys.sorted()
        let harness = try LoopHarness(store: store, clock: clock) { config in
            configure(&config)
            config.rules.partners.removeAll { $0.id == removed }
        }
        try harness.start()
        defer { _ = harness.stop() }
        let movedOn = harness.logs.all.first { $0.message == "open offers of partners no longer configured move on" }
        #expect(movedOn?.metadata["count"] == "\(offeredTo.values.filter { $0 == removed }.count)")
        // The removed partner's leads are offered again, to a partner still configured…
        for (id, partner) in offeredTo where partner == removed {
            #expect(eventually { store.caseHistory(leadID: id)?.lead.offers == 2 }, "\(id) did not move on")
            #expect(store.caseHistory(leadID: id)?.lead.partnerID != removed)
        }
        // …and the others still wait for their partner, within their hour.
        for id in stay { #expect(store.caseHistory(leadID: id)?.lead.offers == 1) }
    }
}
