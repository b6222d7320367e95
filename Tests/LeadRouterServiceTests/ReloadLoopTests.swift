import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Testing

extension LoopHarness {
    /// Hands the loop `harness.config` changed by `change` (as SIGHUP would, after reading
    /// the file) and waits until it has logged the outcome; returns that log line.
    @discardableResult
    func reload(keyRing: KeyRing = KeyRing(), sourceLocation: SourceLocation = #_sourceLocation,
                _ change: (inout RouterConfig) -> Void) throws -> LogRecorder.Line {
        var next = config
        change(&next)
        let before = reloadOutcomes.count
        loop.reload(ConfigUpdate(config: next, keyRing: keyRing))
        #expect(eventually { reloadOutcomes.count > before }, "no reload outcome logged", sourceLocation: sourceLocation)
        return try #require(reloadOutcomes.last, sourceLocation: sourceLocation)
    }

    /// The lines that end a reload: applied, nothing changed, or refused.
    var reloadOutcomes: [LogRecorder.Line] {
        logs.all.filter { $0.message.hasPrefix("config reloaded") || $0.message.hasPrefix("config not reloaded") }
    }
}

@Suite("Reload: a new config between batches", .serialized, .timeLimit(.minutes(2)))
struct ReloadLoopTests {
    @Test("a partner made inactive gets no more leads, one added gets them, and the log lists what changed")
    func partnersChange() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore())
        try harness.start()
        defer { _ = harness.stop() }
        let intake = try harness.intakeClient()
        #expect(try intake.ask(lead("before"))["partner_id"] as? String == "acme")
        let line = try harness.reload { config in
            config.rules.partners[0].active = false
            config.rules.partners.append(Partner(id: "initech", territories: [Territory(country: "US")]))
        }
        #expect(line.message == "config reloaded")
        #expect(line.metadata["partners_added"] == "initech")
        #expect(line.metadata["partners_changed"] == "acme(active)")
        #expect(line.metadata["partners_removed"] == "-")
        #expect(line.metadata["partners"] == "3")
        for i in 0..<4 {
            #expect(try intake.ask(lead("after-\(i)"))["partner_id"] as? String == "initech")
        }
        // The new partner's topic is served: replay answers for it.
        #expect(try harness.replay("partner/initech/").count == 4)
    }

    @Test("a change only a restart applies refuses the whole reload, and routing goes on as before")
    func restartNeeded() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore())
        try harness.start()
        defer { _ = harness.stop() }
        let line = try harness.reload { config in
            config.intake.bind = .inProcess("somewhere-else")
            config.rules.partners[0].active = false
        }
        #expect(line.level == .error)
        #expect(line.message.contains("intake.bind changed, which only a restart applies"), "\(line.message)")
        let intake = try harness.intakeClient()
        #expect(try intake.ask(lead("still-acme"))["partner_id"] as? String == "acme")
    }

    @Test("an invalid config is logged problem by problem and changes nothing")
    func invalidConfig() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore())
        try harness.start()
        defer { _ = harness.stop() }
        harness.loop.reloadFailed(problems: ["leadrouter.yaml: partners[0].weight (line 9): must be greater than 0, got 0"])
        #expect(eventually { !harness.reloadOutcomes.isEmpty })
        #expect(harness.logs.lines(containing: "config reload: leadrouter.yaml: partners[0].weight (line 9)").count == 1)
        #expect(harness.reloadOutcomes.last?.message.contains("the config is not valid (1 problem above)") == true)
        #expect(try harness.intakeClient().ask(lead("ok"))["partner_id"] as? String == "acme")
    }

    @Test("capacity windows and rotation carry over for partners that remain")
    func stateCarriesOver() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore()) { config in
            config.rules.partners = [
                Partner(id: "acme", territories: [Territory(country: "US")], capacity: Capacity(max: 1, perSeconds: 3600)),
                Partner(id: "beta", territories: [Territory(country: "US")]),
            ]
        }
        try harness.start()
        defer { _ = harness.stop() }
        let intake = try harness.intakeClient()
        let first = try #require(try intake.ask(lead("c-1"))["partner_id"] as? String)
        let second = try #require(try intake.ask(lead("c-2"))["partner_id"] as? String)
        #expect(Set([first, second]) == ["acme", "beta"])
        try harness.reload { $0.rules.partners[1].weight = 3 }
        // acme used its one lead an hour before the reload: it stays at capacity after it.
        for i in 3...6 {
            #expect(try intake.ask(lead("c-\(i)"))["partner_id"] as? String == "beta")
        }
    }

    @Test("a removed partner's open offer moves on at once, not at accept_by")
    func removedPartnersOffersMoveOn() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore()) { offerPartners(&$0, policy: OfferPolicy(acceptWithin: 3600)) }
        try harness.start()
        defer { _ = harness.stop() }
        let feed = try harness.feedReader(["partner/"])
        let offered = try #require(try harness.intakeClient().ask(offerLead("m-1"))["partner_id"] as? String)
        #expect(try feed.first { topic, body in topic == "partner/\(offered)/" && body["type"] as? String == "offer" } != nil)
        let line = try harness.reload { config in config.rules.partners.removeAll { $0.id == offered } }
        #expect(line.metadata["partners_removed"] == offered)
        #expect(line.metadata["offers_moved_on"] == "1")
        let next = try feed.first { topic, body in
            topic != "partner/\(offered)/" && body["type"] as? String == "offer" && (body["lead"] as? [String: Any])?["lead_id"] as? String == "m-1"
        }
        #expect(next != nil, "the lead was not offered to another partner")
    }

    @Test("leads sent while the config is reloaded every few milliseconds are each routed exactly once")
    func reloadsUnderLoad() throws {
        let store = MemoryRoutingStore()
        let harness = try LoopHarness(store: store) { config in
            config.rules.partners.append(Partner(id: "initech", territories: [Territory(country: "US")]))
        }
        try harness.start()
        defer { _ = harness.stop() }
        let intake = try harness.intakeClient()
        let count = 1500
        var replies: [String: Int] = [:]
        var reloads = 0
        func take(_ reply: [String: Any]) {
            guard let id = reply["lead_id"] as? String else { return }
            replies[id, default: 0] += 1
            #expect(reply["status"] as? String == "accepted", "\(reply)")
        }
        // One thread, one socket: send, reload every 50 leads, and read the replies as they come.
        for i in 0..<count {
            try intake.send(lead("load-\(i)"))
            if i % 50 == 49 {
                reloads += 1
                var next = harness.config
                next.rules.partners[2].weight = 1 + reloads % 3
                next.rules.partners[0].active = reloads % 2 == 0
                harness.loop.reload(ConfigUpdate(config: next))
            }
            while let reply = try intake.reply(timeout: 0) { take(reply) }
        }
        while replies.values.reduce(0, +) < count, let reply = try intake.reply(timeout: 10_000) { take(reply) }
        #expect(replies.count == count)
        #expect(replies.values.allSatisfy { $0 == 1 })
        // Reloads asked for while one waits are coalesced (the newest wins); none failed.
        #expect(reloads == count / 50)
        #expect(!harness.reloadOutcomes.isEmpty)
        #expect(harness.reloadOutcomes.allSatisfy { $0.message.hasPrefix("config reloaded") })
        var routed = Set<String>()
        for topic in ["partner/acme/", "partner/initech/"] {
            for envelope in try harness.replay(topic) {
                let id = try #require((json(envelope)["lead"] as? [String: Any])?["lead_id"] as? String)
                #expect(routed.insert(id).inserted, "\(id) routed twice")
            }
        }
        #expect(routed.count == count)
    }
}
