import Foundation
import Testing

let rulesYAML = """
    qualification:
      grades: {A: 75, B: 50, C: 25}
    partners:
      - id: acme
        engagement: leads_only
        territories: [{country: US, regions: [CO, WY]}]
        products: [email-security]
        accounts: [owned.example]
      - id: rockies
        engagement: co_sell
        territories: [{country: US, regions: [CO]}]
        min_grade: B
        weight: 3
      - id: globex
        engagement: vendor_closes
        territories: [{country: DE}]
        capacity: {max: 2, per: 7d}
      - id: frozen
        engagement: leads_only
        territories: [{country: FR}]
        paused_until: 2099-01-01T00:00:00Z
    registrations:
      - {partner: globex, domain: registered.example, expires: 2099-01-01T00:00:00Z}
    """

func qualifiedLead(_ id: String, country: String, region: String? = nil, domain: String? = nil, grade: String = "A", receivedAt: String? = nil) -> String {
    let regionField = region.map { #", "region": "\#($0)""# } ?? ""
    let domainField = domain.map { #", "domain": "\#($0)""# } ?? ""
    let qualification = grade == "A"
        ? #", "qualification": {"need": "x", "budget": 1000, "authority": "decision_maker", "timeline_days": 30}"#
        : ""
    let received = receivedAt.map { #", "received_at": "\#($0)""# } ?? ""
    return #"{"lead_id": "\#(id)", "company": {"name": "Co \#(id)", "country": "\#(country)"\#(regionField)\#(domainField)}, "products": ["email-security"]\#(qualification)\#(received)}"#
}

@Suite("Routing tools: dry run, explain, register, relationships", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct RoutingToolsTests {
    @Test("--dry-run routes a file with the config, prints each decision and a per-partner summary, and publishes and stores nothing")
    func dryRun() throws {
        let dir = try TemporaryDirectory()
        let config = dir.file("leadrouter.yaml")
        try "state_dir: \(dir.file("state"))\nrouting:\n  unmatched: vendor-sales\n\(rulesYAML)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let leads = [
            qualifiedLead("d1", country: "US", region: "CO"),
            qualifiedLead("d2", country: "US", region: "CO"),
            qualifiedLead("d3", country: "US", region: "CO", grade: "D"),
            qualifiedLead("d4", country: "DE", domain: "registered.example"),
            qualifiedLead("d5", country: "FR"),
            qualifiedLead("d6", country: "US", region: "WY", domain: "owned.example"),
            "not json",
            qualifiedLead("d1", country: "US", region: "CO"),
        ]
        try leads.joined(separator: "\n").write(toFile: dir.file("leads.jsonl"), atomically: true, encoding: .utf8)
        let result = try run(Binaries.path("leadrouterd"), ["--config", config, "--dry-run", dir.file("leads.jsonl")])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count >= 8, "\(result.stdout)")
        #expect(lines[0].hasPrefix("d1 -> rockies [rotation grade A"))
        // Smooth weighted rotation, weights 3 and 1: rockies, then acme on the tie (config order).
        #expect(lines[1].hasPrefix("d2 -> acme [rotation"), "\(lines[1])")
        #expect(lines[2].hasPrefix("d3 -> acme [only_eligible grade D"))
        #expect(lines[2].contains("rockies:grade"))
        #expect(lines[3].hasPrefix("d4 -> globex [registration"))
        #expect(lines[4].hasPrefix("d5 -> vendor-sales/ [unmatched"))
        #expect(lines[4].contains("1 paused"))
        #expect(lines[5].hasPrefix("d6 -> acme [account"))
        #expect(lines[6].hasPrefix("line 7 rejected: invalid_json"))
        #expect(lines[7].hasPrefix("d1 duplicate"))
        #expect(result.stdout.contains("summary: 6 routed, 5 to partners, 1 to vendor-sales/ (direct), 0 to nurture/, 1 duplicate, 1 rejected"))
        #expect(result.stdout.contains("  globex: 1 leads (20.0%) weight 1 capacity 2/7d"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("state")))
    }

    @Test("leadctl explain prints the candidates, their exclusions and the rule that chose; register takes effect without a restart; affinity survives restarts")
    func explainRegisterAffinity() throws {
        let daemon = try Daemon(partnersYAML: rulesYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        func send(_ json: String) throws -> [String: Any] { try intake.reply(json) }

        #expect(try send(qualifiedLead("e1", country: "US", region: "CO", grade: "D"))["partner_id"] as? String == "acme")
        let explained = try run(Binaries.path("leadctl"), ["explain", "e1", "--state-dir", daemon.stateDir])
        #expect(explained.status == 0, "\(explained.stderr)")
        #expect(explained.stdout.contains("chosen: acme, by only_eligible"))
        #expect(explained.stdout.contains("qualification: grade D"))
        // Read back from the lead's envelope: the stored record leaves them out.
        #expect(explained.stdout.contains("reasons:\n  - "), "\(explained.stdout)")
        #expect(explained.stdout.contains("rockies") && explained.stdout.contains("excluded: grade"))
        #expect(explained.stdout.contains("partner/acme/ seq 1 as owner"))
        let asJSON = try run(Binaries.path("leadctl"), ["explain", "e1", "--state-dir", daemon.stateDir, "--json"])
        #expect(jsonObject(Array(asJSON.stdout.utf8))["rule"] as? String == "only_eligible")
        let missing = try run(Binaries.path("leadctl"), ["explain", "nope", "--state-dir", daemon.stateDir])
        #expect(missing.status == 1)

        // A registration added at run time applies without a restart, once the daemon logs it.
        #expect(try send(qualifiedLead("e2", country: "US", region: "CO", domain: "newdeal.example"))["partner_id"] as? String == "rockies")
        let register = try run(Binaries.path("leadctl"), ["register", "--config", daemon.configPath, "--partner", "globex",
                                                          "--domain", "www.NewDeal.example", "--expires", "2099-01-01T00:00:00Z"])
        #expect(register.status == 0, "\(register.stderr)")
        #expect(daemon.waitForLog("run_time_registrations=1 [LeadRouterService] deal registrations reloaded"))
        let registered = try send(qualifiedLead("e3", country: "US", region: "CO", domain: "newdeal.example"))
        #expect(registered["partner_id"] as? String == "globex")
        let badPartner = try run(Binaries.path("leadctl"), ["register", "--config", daemon.configPath, "--partner", "nobody",
                                                            "--domain", "x.example", "--expires", "2099-01-01T00:00:00Z"])
        #expect(badPartner.status == 1)

        // Affinity: the account routed to rockies goes back to rockies after a restart,
        // though rotation (weight 3 vs 1) alone could pick either.
        let e4 = try send(qualifiedLead("e4", country: "US", region: "CO", domain: "loyal.example"))
        #expect(e4["status"] as? String == "accepted")
        let first = try run(Binaries.path("leadctl"), ["explain", "e4", "--state-dir", daemon.stateDir, "--json"])
        let owner = jsonObject(Array(first.stdout.utf8))["partner_id"] as? String
        #expect(daemon.terminate() == 0)
        try expectAffinityAfterRestart(daemon, owner: owner, ids: "e5", domain: "loyal.example")
        #expect(daemon.terminate() == 0)
    }

    /// Starts `daemon` again and checks that four more leads of `domain` go to `owner`, by affinity.
    func expectAffinityAfterRestart(_ daemon: Daemon, owner: String?, ids: String, domain: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        try daemon.start()
        try daemon.waitUntilReady()
        let again = try TestRequester(endpoint: daemon.intake)
        for i in 0..<4 {
            let reply = try again.reply(qualifiedLead("\(ids)-\(i)", country: "US", region: "CO", domain: domain))
            #expect(reply["partner_id"] as? String == owner, sourceLocation: sourceLocation)
        }
        let later = try run(Binaries.path("leadctl"), ["explain", "\(ids)-0", "--state-dir", daemon.stateDir, "--json"])
        #expect(jsonObject(Array(later.stdout.utf8))["rule"] as? String == "affinity", sourceLocation: sourceLocation)
    }

    @Test("affinity survives a crash: account owners not yet written are found again from the stored leads")
    func affinitySurvivesACrash() throws {
        let daemon = try Daemon(partnersYAML: rulesYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let first = try intake.reply(qualifiedLead("k1", country: "US", region: "CO", domain: "crashing.example"))
        let owner = first["partner_id"] as? String
        #expect(owner != nil)
        // Acknowledged means committed; the owner waits in memory for its bucket's turn.
        daemon.crash()
        try expectAffinityAfterRestart(daemon, owner: owner, ids: "k2", domain: "crashing.example")
        #expect(daemon.terminate() == 0)
    }

    @Test("a dry run of the same leads with the same config decides exactly as the live daemon did: destination and rule, lead by lead")
    func dryRunMatchesLive() throws {
        var leads: [String] = []
        for i in 0..<40 {
            let id = "dl-\(i)"
            leads.append([
                qualifiedLead(id, country: "US", region: "CO", domain: "acct-\(i % 3).example"),
                qualifiedLead(id, country: "US", region: "CO", grade: "D"),
                qualifiedLead(id, country: "DE"),
                qualifiedLead(id, country: "FR"),
                qualifiedLead(id, country: "DE", domain: "registered.example"),
                qualifiedLead(id, country: "US", region: "WY", domain: "owned.example"),
                qualifiedLead(id, country: "US", region: "CO"),
                qualifiedLead(id, country: "US", region: "NY"),
            ][i % 8])
        }
        let daemon = try Daemon(partnersYAML: rulesYAML)
        try daemon.waitUntilReady()
        let file = daemon.directory.file("leads.jsonl")
        try leads.joined(separator: "\n").appending("\n").write(toFile: file, atomically: true, encoding: .utf8)
        let publish = try run(Binaries.path("leadctl"), ["publish", "--reliable", "--window", "1", "--timeout", "10", "--endpoint", daemon.intake, file])
        #expect(publish.status == 0, "\(publish.stderr)")

        // Live: each lead's owning envelope, from replay.
        var live: [String: String] = [:]
        let replay = try TestRequester(endpoint: daemon.replay)
        for topic in ["partner/acme/", "partner/rockies/", "partner/globex/", "partner/frozen/", "vendor-sales/", "nurture/"] {
            for envelope in try replay.replayAll(topic).map(jsonObject) {
                let role = envelope["role"] as? String ?? ""
                guard ["owner", "relationship_owner", "direct", "nurture"].contains(role), let id = envelope["lead_id"] as? String else { continue }
                let destination = ["direct": "vendor-sales/", "nurture": "nurture/"][role] ?? envelope["partner_id"] as? String ?? "?"
                #expect(live.updateValue("\(destination) [\(envelope["rule"] as? String ?? "?")", forKey: id) == nil, "\(id) routed twice")
            }
        }
        #expect(daemon.terminate() == 0)

        let dry = try run(Binaries.path("leadrouterd"), ["--config", daemon.configPath, "--dry-run", file])
        #expect(dry.status == 0, "\(dry.stderr)")
        var planned: [String: String] = [:]
        for line in dry.stdout.split(separator: "\n") where line.hasPrefix("dl-") && line.contains(" -> ") {
            let parts = line.split(separator: " ", maxSplits: 3)
            try #require(parts.count == 4, "\(line)")
            planned[String(parts[0])] = "\(parts[2]) \(parts[3].prefix { $0 != " " })"
        }
        #expect(live.count == leads.count)
        #expect(planned.count == leads.count)
        for i in 0..<leads.count {
            #expect(planned["dl-\(i)"] == live["dl-\(i)"], "dl-\(i): dry run \(planned["dl-\(i)"] ?? "-"), live \(live["dl-\(i)"] ?? "-")")
        }
        // The mix exercised every rule that depends on what was routed before.
        let rules = Set(live.values.map { $0.split(separator: "[").last.map(String.init) ?? "" })
        #expect(rules.isSuperset(of: ["rotation", "affinity", "registration", "account", "only_eligible", "unmatched"]), "\(rules)")
    }
}
