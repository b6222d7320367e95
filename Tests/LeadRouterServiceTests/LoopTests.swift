import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Testing
import ZeroMQ

/// The routing loop in process, over `inproc://`, with stores that fail on demand and a clock
/// that moves on demand: no daemon process, no sleeps that decide an outcome.
@Suite("The routing loop in process", .timeLimit(.minutes(2)))
struct LoopTests {
    /// Commits on the routing thread (the default) and on the committer beside routing.
    static let pipelineBatches: [Int?] = [nil, 1]

    @Test("an intake lead is stored, answered accepted and published; a graceful stop returns cleanly", arguments: pipelineBatches)
    func routesAndStops(pipelineBatch: Int?) throws {
        let store = MemoryRoutingStore()
        let harness = try LoopHarness(store: store, pipelineBatch: pipelineBatch)
        let feed = try harness.feedReader(["partner/"])
        try harness.start()
        let intake = try harness.intakeClient()
        let reply = try intake.ask(lead("one"))
        #expect(reply["status"] as? String == "accepted")
        #expect(reply["partner_id"] as? String == "acme")
        #expect(store.contains(leadID: "one"))
        let published = try #require(try feed.first { topic, _ in topic == "partner/acme/" })
        #expect(published["seq"] as? Int == 1)
        #expect(published["lead_id"] as? String == "one")
        try #require(harness.stop()).get()
    }

    @Test("a refused commit: intake hears storage_unavailable, nothing is published or numbered, and the next commit goes through", arguments: pipelineBatches)
    func refusedBatch(pipelineBatch: Int?) throws {
        let (harness, intake, store) = try startedOnFaultyStore(pipelineBatch: pipelineBatch)
        store.failCommits(1)
        let refused = try intake.ask(lead("full-1"))
        #expect(refused["status"] as? String == "rejected")
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "storage_unavailable")
        #expect(!harness.logs.lines(containing: "the store refused a batch").isEmpty)
        #expect(try intake.ask(lead("full-1"))["status"] as? String == "accepted")
        #expect(try intake.ask(lead("full-2"))["status"] as? String == "accepted")
        // The refused batch was undone: numbering goes on from where it stood, without a gap.
        let seqs = try harness.replay("partner/acme/").map { json($0)["seq"] as? Int }
        #expect(seqs == [1, 2])
        #expect(!harness.logs.lines(containing: "the store accepts writes again").isEmpty)
        try #require(harness.stop()).get()
        // The counters live outside the pipeline value: undoing the refused batch did not
        // take back that its message was received.
        let stopped = try #require(harness.logs.lines(containing: "leadrouterd stopped").first)
        #expect(stopped.metadata["received"] == "3")
        #expect(stopped.metadata["routed"] == "2")
        #expect(stopped.metadata["storage_failures"] == "1")
    }

    @Test("a graceful stop answers every intake lead already waiting before it unbinds intake")
    func gracefulStopAnswersWaitingIntake() throws {
        let (harness, intake, store) = try startedOnFaultyStore()
        let ids = (0..<300).map { "wait-\($0)" }
        // The routing thread stops in the first lead's commit; the rest wait on the socket
        // (over inproc://, a send is in the daemon's queue when it returns), then the stop comes.
        store.hangCommits()
        try intake.send(lead(ids[0]))
        #expect(eventually { store.commitsStarted >= 1 })
        for id in ids.dropFirst() { try intake.send(lead(id)) }
        harness.loop.requestStop()
        store.releaseCommits()
        try #require(harness.waitForExit()).get()
        var answered = Set<String>()
        while answered.count < ids.count, let reply = try intake.reply() {
            #expect(reply["status"] as? String == "accepted")
            if let id = reply["lead_id"] as? String { answered.insert(id) }
        }
        #expect(answered.count == ids.count)
    }

    @Test("a graceful stop while a sync is in flight waits for it and answers the leads it covered before returning")
    func gracefulStopAnswersInFlight() throws {
        let (harness, intake, faulty) = try startedOnFaultyStore()
        faulty.hangSyncs()
        try intake.send(lead("stop-1"))
        #expect(eventually { faulty.syncsStarted >= 1 })
        harness.loop.requestStop()
        #expect(harness.waitForExit(timeout: 0.2) == nil)
        faulty.releaseSyncs()
        try #require(harness.waitForExit()).get()
        #expect(try intake.reply()?["status"] as? String == "accepted")
    }

    @Test("a refused commit beside routing undoes the batches routed on top of it: every lead ends stored once, seq gapless")
    func undoUnderPipelining() throws {
        let (harness, intake, store) = try startedOnFaultyStore(pipelineBatch: 1)
        store.failCommits(3)
        let ids = (0..<40).map { "p-\($0)" }
        for id in ids { try intake.send(lead(id)) }
        var pending = Set(ids)
        var refusals = 0
        while !pending.isEmpty {
            let reply = try #require(try intake.reply())
            let id = try #require(reply["lead_id"] as? String)
            if reply["status"] as? String == "accepted" || reply["status"] as? String == "duplicate" {
                pending.remove(id)
            } else {
                refusals += 1
                try intake.send(lead(id))
            }
        }
        #expect(refusals >= 1)
        let envelopes = try harness.replay("partner/acme/").map(json)
        #expect(envelopes.map { $0["seq"] as? Int } == Array(1...ids.count))
        #expect(Set(envelopes.compactMap { $0["lead_id"] as? String }) == Set(ids))
        try #require(harness.stop()).get()
    }

    @Test("a failed log sync: what it covered is never answered, the loop stops with LogSyncFailure, and the next start recovers the lead")
    func failedLogSync() throws {
        let dir = try TemporaryDirectory()
        let faulty = FaultInjectingStore(try LeadStore(directory: dir.path, durability: .full, syncLogOnRequest: true))
        let harness = try LoopHarness(store: faulty)
        try harness.start()
        let intake = try harness.intakeClient()
        #expect(try intake.ask(lead("sync-1"))["status"] as? String == "accepted")
        faulty.failSyncs(after: 0)
        try intake.send(lead("sync-2"))
        let exit = try #require(harness.waitForExit())
        #expect(throws: LogSyncFailure.self) { try exit.get() }
        #expect(try intake.reply(timeout: 200) == nil)
        #expect(harness.logs.lines(containing: "could not sync the store's log to disk").count == 1)

        // Committed, never acknowledged: the next start has it, and a resend is a duplicate.
        let next = try LoopHarness(store: try LeadStore(directory: dir.path, durability: .full, syncLogOnRequest: true))
        try next.start()
        #expect(try next.intakeClient().ask(lead("sync-2"))["status"] as? String == "duplicate")
        let envelopes = try next.replay("partner/acme/").map(json)
        #expect(envelopes.map { $0["lead_id"] as? String } == ["sync-1", "sync-2"])
        #expect(envelopes.map { $0["seq"] as? Int } == [1, 2])
        try #require(next.stop()).get()
    }

    @Test("a failed log sync names the SUB leads it held, since their sources cannot be answered")
    func failedLogSyncNamesHeldSubLeads() throws {
        let faulty = FaultInjectingStore(MemoryRoutingStore())
        faulty.failSyncs(after: 0)
        let harness = try LoopHarness(store: faulty)
        try harness.start()
        let source = try harness.source()
        try source.send([Array("lead".utf8), Array(lead("held-by-sub").utf8)])
        #expect(throws: LogSyncFailure.self) { try #require(harness.waitForExit()).get() }
        let critical = harness.logs.lines(containing: "could not sync the store's log to disk")
        #expect(critical.count == 1)
        #expect(critical.first?.metadata["ingest_leads_held"] == "held-by-sub")
        #expect(critical.first?.metadata["ingest_held_count"] == "1")
    }

    @Test("a hung sync: nothing is acknowledged while it hangs; once the clock passes 10 s it is logged once; when it returns, the lead is answered")
    func hungSync() throws {
        let clock = ManualLoopClock()
        let (harness, intake, faulty) = try startedOnFaultyStore(clock: clock)
        faulty.hangSyncs()
        try intake.send(lead("slow-1"))
        #expect(eventually { faulty.syncsStarted >= 1 })
        #expect(harness.logs.lines(containing: "has not returned").isEmpty)
        clock.advance(by: .seconds(11))
        harness.loop.wake()
        #expect(eventually { !harness.logs.lines(containing: "has not returned").isEmpty })
        #expect(try intake.reply(timeout: 100) == nil)
        faulty.releaseSyncs()
        #expect(try intake.reply()?["status"] as? String == "accepted")
        clock.advance(by: .seconds(30))
        harness.loop.wake()
        try #require(harness.stop()).get()
        #expect(harness.logs.lines(containing: "has not returned").count == 1)
    }

    @Test("heartbeats follow the loop's clock: an idle topic's heartbeat carries its last seq once heartbeat_ms has passed")
    func heartbeatsFollowTheClock() throws {
        let clock = ManualLoopClock()
        let harness = try LoopHarness(store: MemoryRoutingStore(), clock: clock, heartbeatMilliseconds: 5000)
        let feed = try harness.feedReader(["partner/acme/", "heartbeat/partner/acme/"])
        try harness.start()
        #expect(try harness.intakeClient().ask(lead("hb-1"))["status"] as? String == "accepted")
        // Published by the loop's clock, which stands still: no heartbeat reports seq 1 until
        // 5 s pass on it.
        #expect(try feed.first { topic, _ in topic == "partner/acme/" } != nil)
        clock.advance(by: .seconds(6))
        harness.loop.wake()
        let heartbeat = try #require(try feed.first { _, body in body["last_seq"] as? Int == 1 })
        #expect(heartbeat["type"] as? String == "heartbeat")
        #expect(heartbeat["topic"] as? String == "partner/acme/")
        try #require(harness.stop()).get()
    }

    @Test("rotation counters a lead changed are saved once the loop has been quiet for the save interval, with no other commit to carry them")
    func rotationSavedWhenQuiet() throws {
        let clock = ManualLoopClock()
        let store = MemoryRoutingStore()
        let harness = try LoopHarness(store: store, clock: clock) { config in
            config.rules.partners = [Partner(id: "a", territories: [Territory(country: "US")]),
                                     Partner(id: "b", territories: [Territory(country: "US")])]
        }
        try harness.start()
        defer { _ = harness.stop() }
        #expect(try harness.intakeClient().ask(lead("rq-1"))["status"] as? String == "accepted")
        // Its own commit saved none: the loop's clock stands still, within 100 ms of the start.
        #expect(try store.partnerStates().isEmpty)
        clock.advance(by: .seconds(6))
        harness.loop.wake()
        #expect(eventually { ((try? store.partnerStates()) ?? [:]).keys.sorted() == ["a", "b"] }, "\((try? store.partnerStates()) ?? [:])")
        let saved = try store.partnerStates()
        #expect(saved["a"]?.currentWeight != 0 || saved["b"]?.currentWeight != 0)
    }

    @Test("without CURVE every subscriber's subscription is logged, a prefix already subscribed to included, and so is each one's going")
    func everySubscriptionLogged() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore())
        try harness.start()
        func taken(_ message: String) -> Int {
            harness.logs.all.filter { $0.message == message && $0.metadata["prefix"] == "partner/acme/" }.count
        }
        var readers: [FeedReader] = []
        for count in 1...3 {
            readers.append(try harness.feedReader(["partner/acme/"]))
            #expect(eventually { taken("feed subscription") == count }, "subscriber \(count) was not logged: \(taken("feed subscription"))")
        }
        for (gone, reader) in readers.enumerated() {
            reader.socket.close()
            #expect(eventually { taken("feed unsubscription") == gone + 1 }, "subscriber \(gone + 1)'s going was not logged")
        }
        try #require(harness.stop()).get()
    }

    @Test("published watermarks are saved 128 topics at a time, those waiting longest first: with commits once the second has passed, or between passes without traffic")
    func watermarksSavedInShares() throws {
        let clock = ManualLoopClock()
        let store = FaultInjectingStore(MemoryRoutingStore())
        // 300 partners for Colorado: rotation gives each of the first 300 leads a topic of its own.
        let harness = try LoopHarness(store: store, clock: clock) { config in
            config.rules.partners = (0..<300).map { i in
                Partner(id: "p\(i)", engagement: .leadsOnly, territories: [Territory(country: "US")], products: [], weight: 1, active: true)
            }
        }
        try harness.start()
        let intake = try harness.intakeClient()
        // Whether every topic's watermark is saved up to where it stood in `published`.
        func saved(_ published: [String: TopicState]) throws -> Bool {
            let states = try store.topicStates()
            return published.allSatisfy { topic, state in (states[topic]?.publishedSeq ?? 0) >= state.lastSeq }
        }
        func allSaved() throws -> Bool { try saved(store.topicStates()) }
        for i in 0..<300 { #expect(try intake.ask(lead("w-\(i)"))["status"] as? String == "accepted") }
        #expect(store.watermarkSaves.isEmpty)
        let first = try store.topicStates()
        #expect(first.count == 300)
        // The second has passed: commits (and the timer, between them) take a share each.
        clock.advance(by: .milliseconds(1_100))
        var sent = 300
        while try !saved(first) && sent < 320 {
            #expect(try intake.ask(lead("w-\(sent)"))["status"] as? String == "accepted")
            sent += 1
        }
        #expect(try saved(first))
        let saves = store.watermarkSaves
        #expect(saves.max() == 128 && saves.reduce(0, +) >= 300 && saves.count >= 3, "\(saves)")
        // Saved within the second: the next commit carries none.
        #expect(try intake.ask(lead("w-\(sent)"))["status"] as? String == "accepted")
        #expect(store.watermarkSaves == saves)
        // Without traffic, the timer saves what is left.
        clock.advance(by: .milliseconds(1_100))
        harness.loop.wake()
        #expect(try eventually { try allSaved() })
        #expect(store.watermarkSaves.count == saves.count + 1)
        try #require(harness.stop()).get()
    }

    @Test("a returning account goes back to its owner once its last lead was stored and forgotten by the pipeline: the look-up asks the store", arguments: pipelineBatches)
    func affinityThroughTheStore(pipelineBatch: Int?) throws {
        let store = MemoryRoutingStore()
        // Two partners for Colorado, so that only affinity sends an account back to the same one.
        let harness = try LoopHarness(store: store, pipelineBatch: pipelineBatch) { config in
            config.rules.partners.append(Partner(id: "initech", engagement: .leadsOnly, territories: [Territory(country: "US")],
                                                 products: [], weight: 1, active: true))
        }
        let feed = try harness.feedReader(["partner/"])
        try harness.start()
        let intake = try harness.intakeClient()
        func returning(_ id: String) -> String {
            #"{"lead_id": "\#(id)", "source": "webform", "company": {"name": "Returning Inc", "domain": "returning.example", "country": "US", "region": "CO"}, "products": ["email-security"]}"#
        }
        let first = try intake.ask(returning("r-1"))
        let owner = try #require(first["partner_id"] as? String)
        // Published once durable: the batch is committed and the pipeline has forgotten it.
        _ = try #require(try feed.first { _, body in body["lead_id"] as? String == "r-1" })
        for id in ["r-2", "r-3"] {
            #expect(try intake.ask(returning(id))["partner_id"] as? String == owner)
            let envelope = try #require(try feed.first { _, body in body["lead_id"] as? String == id })
            #expect(envelope["rule"] as? String == "affinity")
        }
        try #require(harness.stop()).get()
    }

    @Test("a failed look-up refuses the batch like a failed commit, and the loop goes on")
    func failedLookUp() throws {
        let (harness, intake, store) = try startedOnFaultyStore()
        store.failLookUps(1)
        let refused = try intake.ask(lead("look-1"))
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "storage_unavailable")
        #expect(try intake.ask(lead("look-1"))["status"] as? String == "accepted")
        try #require(harness.stop()).get()
    }

    @Test("a deal registration picked up while a commit is in flight survives that commit being refused")
    func registrationSurvivesRefusedCommit() throws {
        let memory = MemoryRoutingStore()
        let store = FaultInjectingStore(memory)
        let clock = ManualLoopClock()
        let harness = try LoopHarness(store: store, clock: clock, pipelineBatch: 1)
        try harness.start()
        let intake = try harness.intakeClient()
        // A batch commits on the committer and hangs there.
        store.hangCommits()
        try intake.send(lead("in-flight"))
        #expect(eventually { store.commitsStarted >= 1 })
        // Meanwhile `leadctl register` gives reg.example to globex, and the loop's once-a-second
        // check comes due (a loop that waits for the commit in flight first logs it only after).
        memory.addRegistration(Registration(partnerID: "globex", domain: "reg.example", expires: clock.wallMilliseconds + 86_400_000))
        clock.advance(by: .seconds(2))
        harness.loop.wake()
        _ = eventually(1) { !harness.logs.lines(containing: "deal registrations reloaded").isEmpty }
        // The batch in flight is refused (a full disk): the pipeline goes back to before it.
        store.failCommits(1)
        store.releaseCommits()
        #expect(try intake.reply()?["status"] as? String == "rejected")
        #expect(eventually { !harness.logs.lines(containing: "deal registrations reloaded").isEmpty })
        // A lead of the registered domain goes to the registrant (US/CO would be acme's by territory).
        let reply = try intake.ask(
            #"{"lead_id": "reg-1", "company": {"name": "Reg", "domain": "reg.example", "country": "US", "region": "CO"}, "products": ["email-security"]}"#)
        #expect(reply["status"] as? String == "accepted")
        #expect(reply["partner_id"] as? String == "globex")
        try #require(harness.stop()).get()
    }
}

/// A started loop on a fault-injecting memory store, and an intake client.
func startedOnFaultyStore(pipelineBatch: Int? = nil, clock: any LoopClock = SystemLoopClock()) throws
    -> (LoopHarness, IntakeClient, FaultInjectingStore) {
    let store = FaultInjectingStore(MemoryRoutingStore())
    let harness = try LoopHarness(store: store, clock: clock, pipelineBatch: pipelineBatch)
    try harness.start()
    return (harness, try harness.intakeClient(), store)
}
