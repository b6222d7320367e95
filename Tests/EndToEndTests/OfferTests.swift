import Foundation
import Testing

let offerPartnersYAML = """
    partners:
      - {id: acme, engagement: leads_only, territories: [{country: US}]}
      - {id: beta, engagement: co_sell, territories: [{country: US}]}
      - {id: gamma, engagement: vendor_closes, territories: [{country: US}]}
    """

func offersYAML(acceptWithin: String, maxOffers: Int = 2, then: String = "vendor-sales", extra: String = "") -> String {
    """
    offers:
      accept_within: \(acceptWithin)
      max_offers: \(maxOffers)
      then: \(then)
      pool_window: 1h
      withhold: [contact]
    \(extra)
    """
}

func partnerLead(_ id: String) -> String {
    #"{"lead_id": "\#(id)", "company": {"name": "Co \#(id)", "country": "US", "region": "CO"}, "contact": {"name": "Dana", "email": "dana@\#(id).example"}, "estimated_value": 50000}"#
}

func controlRequest(_ action: String, _ leadID: String, _ partner: String, _ extra: String = "") -> String {
    #"{"request_id": "\#(action)-\#(leadID)-\#(partner)", "action": "\#(action)", "lead_id": "\#(leadID)", "partner_id": "\#(partner)"\#(extra)}"#
}

func errorCode(_ reply: [String: Any]) -> String? { (reply["error"] as? [String: Any])?["code"] as? String }

@Suite("Offers and partner actions, end to end", .serialized)
struct OfferTests {
    @Test("offered, declined, offered on, accepted, vendor asked to close, won: over real sockets")
    func partnerWorksALead() throws {
        let daemon = try Daemon(partnersYAML: offerPartnersYAML, extraYAML: offersYAML(acceptWithin: "1h"), withControl: true)
        try daemon.waitUntilReady()
        let feed = try TestSubscriber(endpoint: daemon.publish, topics: ["partner/", "vendor-sales/", "outcomes/", "rejected/"])
        // Until the daemon has the subscription, what it publishes is not sent (ZeroMQ's slow
        // joiner): probes on rejected/ show it has it before the first lead.
        _ = try warmUp(source: try TestSource(endpoint: daemon.ingest), subscribers: [feed])
        let intake = try TestRequester(endpoint: daemon.intake)
        let control = try TestRequester(endpoint: daemon.control)
        let routed = try intake.reply(partnerLead("e2e-1"))
        #expect(routed["status"] as? String == "accepted")
        let first = try #require(routed["partner_id"] as? String)
        let offer = try #require(try feed.next())
        #expect(offer.topic == "partner/\(first)/")
        #expect(offer.json["type"] as? String == "offer")
        #expect((offer.json["lead"] as? [String: Any])?["contact"] == nil)

        // Another partner cannot see it; the offered one declines it.
        let other = ["acme", "beta", "gamma"].first { $0 != first }!
        #expect(errorCode(try control.reply(controlRequest("accept", "e2e-1", other))) == "not_found")
        let declined = try control.reply(controlRequest("decline", "e2e-1", first, #", "reason": "not_qualified", "note": "too small""#))
        #expect(declined["state"] as? String == "declined")
        let second = try #require(try feed.next())
        let secondPartner = try #require(second.json["partner_id"] as? String)
        #expect(second.json["type"] as? String == "offer" && secondPartner != first)
        #expect(second.json["attempt"] as? Int == 2)

        let accepted = try control.reply(controlRequest("accept", "e2e-1", secondPartner))
        #expect(accepted["state"] as? String == "accepted", "\(accepted)")
        #expect((accepted["lead"] as? [String: Any])?["contact"] != nil)
        let taken = try #require(try feed.next())
        #expect(taken.json["type"] as? String == "accepted" && taken.topic == "partner/\(secondPartner)/")
        if secondPartner != "acme" {
            // co_sell and vendor_closes partners: vendor sales hears of the lead only now.
            let copy = try #require(try feed.next())
            #expect(copy.topic == "vendor-sales/" && copy.json["type"] as? String == "assignment")
        }
        let close = try control.reply(controlRequest("request_vendor", "e2e-1", secondPartner, #", "mode": "close", "need": "pricing""#))
        #expect(close["status"] as? String == "ok")
        if secondPartner != "gamma" {
            let request = try #require(try feed.next())
            #expect(request.json["type"] as? String == "vendor_request" && request.json["role"] as? String == "closer")
        }
        let won = try control.reply(controlRequest("outcome", "e2e-1", secondPartner, #", "stage": "won", "value": 48000, "currency": "USD""#))
        #expect(won["state"] as? String == "won")
        let outcome = try #require(try feed.next())
        #expect(outcome.topic == "outcomes/" && outcome.json["stage"] as? String == "won")
        #expect(errorCode(try control.reply(controlRequest("outcome", "e2e-1", secondPartner, #", "stage": "lost", "reason": "price""#))) == "wrong_state")
        // Resending the last action is answered the same.
        #expect(try control.reply(controlRequest("outcome", "e2e-1", secondPartner, #", "stage": "won""#))["state"] as? String == "won")
        // A lead handed back without a reason.
        let holder = try #require(try intake.reply(partnerLead("e2e-2"))["partner_id"] as? String)
        #expect(try control.reply(controlRequest("accept", "e2e-2", holder))["state"] as? String == "accepted")
        #expect(try control.reply(controlRequest("hand_back", "e2e-2", holder))["state"] as? String == "handed_back")
        #expect(daemon.terminate() == 0)

        let explain = try run(Binaries.path("leadctl"), ["explain", "e2e-1", "--state-dir", daemon.stateDir])
        #expect(explain.status == 0)
        #expect(explain.stdout.contains("declined by \(first): not_qualified (note: too small)"), "\(explain.stdout)")
        #expect(explain.stdout.contains("accepted by \(secondPartner)"))
        #expect(explain.stdout.contains("outcome from \(secondPartner): won, value 48000 USD"))
        let handedBack = try run(Binaries.path("leadctl"), ["explain", "e2e-2", "--state-dir", daemon.stateDir])
        #expect(handedBack.stdout.split(separator: "\n").contains { $0.hasSuffix("handed back by \(holder)") }, "\(handedBack.stdout)")
    }

    @Test("a pooled lead: partners racing to claim it get one winner and already_taken")
    func poolRace() throws {
        let daemon = try Daemon(partnersYAML: offerPartnersYAML, extraYAML: offersYAML(acceptWithin: "1h", maxOffers: 1, then: "pool"),
                                withControl: true)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        for round in 0..<5 {
            let id = "race-\(round)"
            let first = try #require(try intake.reply(partnerLead(id))["partner_id"] as? String)
            let control = try TestRequester(endpoint: daemon.control)
            _ = try control.reply(controlRequest("decline", id, first, #", "reason": "no_capacity""#))
            let pooled = ["acme", "beta", "gamma"].filter { $0 != first }
            let racers = try pooled.map { _ in try TestRequester(endpoint: daemon.control) }
            for (racer, partner) in zip(racers, pooled) {
                try racer.socket.send([[], Array(controlRequest("claim", id, partner).utf8)])
            }
            let replies = try racers.map { racer -> [String: Any] in
                let frames = try #require(try racer.socket.receive(timeoutMilliseconds: 10_000))
                return jsonObject(frames.last ?? [])
            }
            #expect(replies.filter { $0["status"] as? String == "ok" }.count == 1, "\(replies)")
            #expect(replies.filter { errorCode($0) == "already_taken" }.count == pooled.count - 1, "\(replies)")
        }
    }

    @Test("SIGKILL with open offers: their deadlines fire after the restart, and nobody is offered a lead twice")
    func deadlinesSurviveKill() throws {
        let daemon = try Daemon(partnersYAML: offerPartnersYAML, extraYAML: offersYAML(acceptWithin: "2s", maxOffers: 3),
                                withControl: true)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let ids = (0..<20).map { "kill-\($0)" }
        for id in ids { #expect(try intake.reply(partnerLead(id))["status"] as? String == "accepted") }
        // Every offer was made before its lead's reply, so its deadline is 2 s after that at most.
        let lastDeadline = Date().addingTimeInterval(2)
        daemon.crash()
        // The restart finds every deadline passed: what the daemon does with offers that
        // expired while it was down.
        poll(timeout: 10, every: 0.1) { Date() > lastDeadline }
        try daemon.start()
        try daemon.waitUntilReady()
        let replay = try TestRequester(endpoint: daemon.replay)
        // Every lead: offered to the three partners in turn (each expiring), then vendor sales.
        var direct: [String] = []
        try poll(timeout: 30, every: 0.5) {
            direct = try replay.replayAll("vendor-sales/").map(jsonObject).filter { $0["role"] as? String == "direct" }
                .compactMap { $0["lead_id"] as? String }
            return direct.count >= ids.count
        }
        #expect(Set(direct) == Set(ids), "vendor sales got \(direct.count) of \(ids.count)")
        var offered: [String: [String]] = [:]
        for partner in ["acme", "beta", "gamma"] {
            for envelope in try replay.replayAll("partner/\(partner)/").map(jsonObject) where envelope["type"] as? String == "offer" {
                offered[envelope["lead_id"] as? String ?? "?", default: []].append(partner)
            }
        }
        for id in ids {
            let partners = offered[id] ?? []
            #expect(partners.count == 3 && Set(partners).count == 3, "\(id) offered to \(partners)")
        }
        let listing = try run(Binaries.path("leadctl"), ["offers", "--state-dir", daemon.stateDir])
        #expect(listing.status == 0)
        #expect(listing.stdout.contains("0 open"), "\(listing.stdout)")
        #expect(daemon.terminate() == 0)
    }
}

@Suite("leadctl partner commands")
struct PartnerCommandTests {
    @Test("bad options are usage errors (exit 2, nothing sent); no daemon is exit 1 naming the endpoint, reasons left out included")
    func usageAndTimeout() throws {
        let leadctl = Binaries.path("leadctl")
        let base = ["web-1", "--endpoint", "tcp://127.0.0.1:9", "--partner", "acme", "--timeout", "0.5"]
        let usage: [[String]] = [
            ["decline"] + base + ["--reason", "bored"],
            ["outcome"] + base + ["--stage", "won", "--reason", "price"],
            ["outcome"] + base + ["--stage", "signed"],
            ["request-vendor"] + base + ["--mode", "takeover"],
        ]
        for arguments in usage {
            let result = try run(leadctl, arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
        // A reason may be left out (the protocol's `reason` is optional): these are sent.
        for arguments in [["accept"] + base, ["decline"] + base, ["hand-back"] + base, ["outcome"] + base + ["--stage", "lost"]] {
            let noDaemon = try run(leadctl, arguments)
            #expect(noDaemon.status == 1, "\(arguments): \(noDaemon.stderr)")
            #expect(noDaemon.stderr.contains("tcp://127.0.0.1:9"), "\(arguments): \(noDaemon.stderr)")
        }
    }
}
