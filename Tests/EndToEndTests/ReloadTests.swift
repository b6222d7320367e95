import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("SIGHUP reload end to end", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct ReloadTests {
    /// Rewrites the daemon's config file with `edit` applied and sends SIGHUP; waits for
    /// `RELOADING=1` then `READY=1`, and returns the log lines written meanwhile.
    func reload(_ daemon: Daemon, sourceLocation: SourceLocation = #_sourceLocation, _ edit: (String) -> String) throws -> String {
        let text = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        let edited = edit(text)
        #expect(edited != text, "the edit changed nothing", sourceLocation: sourceLocation)
        try edited.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        let logBefore = daemon.log.count
        kill(daemon.process.processIdentifier, SIGHUP)
        let reloading = daemon.notify.waitFor("RELOADING=1", timeout: 10)
        #expect(reloading.found, "no RELOADING=1 (saw \(reloading.seen))", sourceLocation: sourceLocation)
        let ready = daemon.notify.waitFor("READY=1", timeout: 10)
        #expect(ready.found, "no READY=1 after the reload (saw \(ready.seen))", sourceLocation: sourceLocation)
        return String(daemon.log.dropFirst(logBefore))
    }

    @Test("systemctl reload: a valid config applies, an invalid one or an endpoint change changes nothing, the daemon runs on")
    func reloadOutcomes() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        #expect(try intake.reply(lead("h-1", country: "US", region: "CO"))["partner_id"] as? String == "acme")

        let applied = try reload(daemon) { $0.replacingOccurrences(of: "name: Acme Partners", with: "name: Acme Partners\n    active: false") }
        #expect(applied.contains("partners_changed=acme(active)"), "\(applied)")
        #expect(applied.contains("config reloaded"), "\(applied)")
        let unmatched = try intake.reply(lead("h-2", country: "US", region: "CO"))
        #expect(unmatched["status"] as? String == "accepted")
        #expect(unmatched["partner_id"] is NSNull, "\(unmatched)")

        let invalid = try reload(daemon) { $0.replacingOccurrences(of: "name: Globex", with: "name: Globex\n    weight: 0") }
        #expect(invalid.contains("must be greater than 0, got 0"), "\(invalid)")
        #expect(invalid.contains("config not reloaded: the config is not valid (1 problem above)"), "\(invalid)")

        let moved = try reload(daemon) { text in
            text.replacingOccurrences(of: "    weight: 0\n", with: "")
                .replacingOccurrences(of: "intake:\n  bind: \"tcp://127.0.0.1:0\"", with: "intake:\n  bind: \"tcp://127.0.0.1:1\"")
        }
        #expect(moved.contains("intake.bind changed, which only a restart applies"), "\(moved)")
        // Still acme inactive, still answering on the port it has.
        #expect(try intake.reply(lead("h-3", country: "US", region: "CO"))["partner_id"] is NSNull)
        #expect(daemon.process.isRunning)
        #expect(daemon.terminate() == 0)
    }

    @Test("a reload that changes territories keeps explain right: leads routed before it are named from the lists they were routed with")
    func explainAcrossATerritoryReload() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let explain = { (id: String) throws -> [String: [String]] in
            let result = try run(Binaries.path("leadctl"), ["explain", id, "--state-dir", daemon.stateDir, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            return jsonObject(Array(result.stdout.utf8))["candidates"] as? [String: [String]] ?? [:]
        }
        #expect(try intake.reply(lead("t-1", country: "US", region: "CO"))["partner_id"] as? String == "acme")
        // US-CO's candidate list: acme, then sleepy (anywhere, inactive).
        let before = try explain("t-1")
        #expect(before == ["chosen": ["acme"], "inactive": ["sleepy"]])
        // acme-east now covers CO too: US-CO's list becomes acme, acme-east, sleepy.
        let applied = try reload(daemon) { $0.replacingOccurrences(of: "regions: [NY]", with: "regions: [NY, CO]") }
        #expect(applied.contains("config reloaded"), "\(applied)")
        let after = try intake.reply(lead("t-2", country: "US", region: "CO"))
        let chosen = try #require(after["partner_id"] as? String)
        #expect(try explain("t-2") == ["chosen": [chosen], "eligible": [chosen == "acme" ? "acme-east" : "acme"], "inactive": ["sleepy"]])
        #expect(try explain("t-1") == before)
        #expect(daemon.terminate() == 0)
    }

    @Test("under continuous intake, thirty reloads or more, one right after another, lose and double no lead")
    func reloadsUnderIntake() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let original = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        let variants = [
            original,
            original.replacingOccurrences(of: "name: Acme Partners", with: "name: Acme Partners\n    weight: 3"),
            original.replacingOccurrences(of: "regions: [NY]", with: "regions: [NY, CO]"),
        ]
        let stop = Atomic(false)
        let replies = Mutex<[String: [String]]>([:])
        let endpoint = daemon.intake
        let sender = Thread {
            guard let intake = try? TestRequester(endpoint: endpoint) else { return }
            var i = 0
            while !stop.load(ordering: .acquiring) {
                let id = "hup-\(i)"
                let status = (try? intake.reply(lead(id, country: "US", region: i % 2 == 0 ? "CO" : "NY"))["status"] as? String) ?? "no reply"
                replies.withLock { $0[id, default: []].append(status) }
                i += 1
            }
        }
        sender.start()
        // At least 30 reloads, each sent once the one before was applied (logged), and on until
        // more than 100 leads were answered meanwhile: a loaded machine (fsyncs queued behind
        // other tests' daemons) answered only 51 in the first 30 rounds, and the count below
        // is what the test needs.
        let reloadUntil = Date().addingTimeInterval(60)
        var round = 0
        func reloads() -> Int { daemon.log.components(separatedBy: "config reloaded").count - 1 }
        while round < 30 || (replies.withLock { $0.count } <= 100 && Date() < reloadUntil) {
            try variants[round % variants.count].write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
            kill(daemon.process.processIdentifier, SIGHUP)
            round += 1
            #expect(poll(timeout: 30, every: 0.01) { reloads() >= round }, "reload \(round) was not applied")
        }
        stop.store(true, ordering: .releasing)
        #expect(poll(timeout: 15, every: 0.01) { sender.isFinished })
        let answered = replies.withLock { $0 }
        #expect(answered.count > 100, "only \(answered.count) leads were sent")
        #expect(answered.values.allSatisfy { $0 == ["accepted"] }, "\(answered.filter { $0.value != ["accepted"] })")

        let replay = try TestRequester(endpoint: daemon.replay)
        var routed: [String: Int] = [:]
        for topic in ["partner/acme/", "partner/acme-east/", "vendor-sales/"] {
            for envelope in try replay.replayAll(topic) {
                let body = jsonObject(envelope)
                // co_sell copies for vendor sales are the same lead twice by design: count owners only.
                guard body["role"] as? String != "co_seller" else { continue }
                if let id = body["lead_id"] as? String { routed[id, default: 0] += 1 }
            }
        }
        #expect(Set(routed.keys) == Set(answered.keys))
        #expect(routed.values.allSatisfy { $0 == 1 }, "\(routed.filter { $0.value != 1 })")
        #expect(!daemon.log.contains("config not reloaded"))
        #expect(reloads() == round, "\(round) reloads asked for, \(reloads()) logged")
        #expect(daemon.terminate() == 0)
    }
}
