import Foundation
import Testing

/// `leadctl` as an operator uses it: registrations by date and their withdrawal, partner
/// states, rejections in explain and in the log.
@Suite("Operator tools: register and withdraw, partners, explain of rejections", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct OperatorToolsTests {
    func leadctl(_ arguments: [String]) throws -> RunResult { try run(Binaries.path("leadctl"), arguments) }

    @Test("register takes a date (through that day, UTC); --withdraw stops the daemon applying it; nothing to withdraw, or a config registration, is exit 1")
    func registerByDateAndWithdraw() throws {
        let daemon = try Daemon(partnersYAML: rulesYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let config = ["--config", daemon.configPath]

        let register = try leadctl(["register"] + config + ["--partner", "globex", "--domain", "newdeal.example", "--expires", "2099-03-31"])
        #expect(register.status == 0, "\(register.stderr)")
        #expect(register.stdout == "registered newdeal.example to globex until 2099-04-01T00:00:00.000Z (through 2099-03-31, UTC)\n")
        #expect(daemon.waitForLog("run_time_registrations=1 [LeadRouterService] deal registrations reloaded"))
        #expect(try intake.reply(qualifiedLead("w1", country: "US", region: "CO", domain: "newdeal.example"))["partner_id"] as? String == "globex")

        let withdraw = try leadctl(["register", "--withdraw"] + config + ["--partner", "globex", "--domain", "WWW.NewDeal.example"])
        #expect(withdraw.status == 0, "\(withdraw.stderr)")
        #expect(withdraw.stdout == "withdrew the registration of newdeal.example to globex (until 2099-04-01T00:00:00.000Z)\n")
        #expect(daemon.waitForLog("run_time_registrations=0 [LeadRouterService] deal registrations reloaded"))
        let after = try intake.reply(qualifiedLead("w2", country: "US", region: "CO", domain: "newdeal.example"))
        #expect(["acme", "rockies"].contains(after["partner_id"] as? String), "\(after)")

        let again = try leadctl(["register", "--withdraw"] + config + ["--partner", "globex", "--domain", "newdeal.example"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("nothing withdrawn: no run-time registration of newdeal.example to globex"), "\(again.stderr)")
        let fromConfig = try leadctl(["register", "--withdraw"] + config + ["--partner", "globex", "--domain", "registered.example"])
        #expect(fromConfig.status == 1)
        #expect(fromConfig.stderr.contains("is in \(daemon.configPath), so it cannot be withdrawn at run time"), "\(fromConfig.stderr)")

        let badDate = try leadctl(["register"] + config + ["--partner", "globex", "--domain", "x.example", "--expires", "2099-02-30"])
        #expect(badDate.status == 1)
        #expect(badDate.stderr.contains("--expires must be a date such as 2027-03-31"), "\(badDate.stderr)")
        #expect(badDate.stderr.contains("got \"2099-02-30\": the day must be 01-28 in 2099-02, got 30"), "\(badDate.stderr)")
        let both = try leadctl(["register", "--withdraw"] + config + ["--partner", "globex", "--domain", "x.example", "--expires", "2099-03-31"])
        #expect(both.status == 2, "\(both.stderr)")
        #expect(daemon.terminate() == 0)
    }

    static let partnerStatesYAML = """
        offers:
          accept_within: 1h
        partners:
          - id: acme
            engagement: leads_only
            territories: [{country: US}]
          - id: globex
            engagement: leads_only
            territories: [{country: DE}]
            capacity: {max: 2, per: 7d}
          - id: frozen
            engagement: leads_only
            territories: [{country: FR}]
            paused_until: 2099-01-01T00:00:00Z
          - id: retired
            engagement: leads_only
            active: false
        """

    @Test("leadctl partners shows each partner's state, pause, capacity window and open offers, read from the store while the daemon runs")
    func partnerStates() throws {
        let daemon = try Daemon(partnersYAML: Self.partnerStatesYAML, withControl: true)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        for (id, country) in [("s1", "US"), ("s2", "DE"), ("s3", "DE")] {
            #expect(try intake.reply(qualifiedLead(id, country: country))["status"] as? String == "accepted")
        }
        let table = try leadctl(["partners", "--config", daemon.configPath])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout == """
            PARTNER                 STATE        PAUSED UNTIL              LEADS IN WINDOW     OPEN OFFERS
            acme                    active       -                         no limit            1
            globex                  at capacity  -                         2 of 2 per 7d       2
            frozen                  paused       2099-01-01T00:00:00.000Z  no limit            0
            retired                 inactive     -                         no limit            0
            4 partners: 1 active, 1 inactive, 1 paused, 1 at capacity; 3 open offers

            """)
        let lines = try leadctl(["partners", "--state-dir", daemon.stateDir, "--config", daemon.configPath, "--json"])
        let objects = lines.stdout.split(separator: "\n").map { jsonObject(Array($0.utf8)) }
        #expect(objects.map { $0["state"] as? String } == ["active", "at_capacity", "paused", "inactive"])
        let capacity = objects[1]["capacity"] as? [String: Any]
        #expect(capacity?["max"] as? Int == 2 && capacity?["per"] as? String == "7d" && capacity?["leads_in_window"] as? Int == 2, "\(objects[1])")
        #expect(objects[2]["paused_until"] as? String == "2099-01-01T00:00:00.000Z")
        // Without the config: the partners of the daemon's start, and what the store holds.
        let bare = try leadctl(["partners", "--state-dir", daemon.stateDir])
        #expect(bare.stdout.hasPrefix("PARTNER                 OPEN OFFERS\nacme                    1\nglobex                  2\n"), "\(bare.stdout)")
        let neither = try leadctl(["partners"])
        #expect(neither.status == 2)
        #expect(daemon.terminate() == 0)
    }

    @Test("leadctl explain lists signals in envelope order, carries lead_id in --json, and tells where a rejected lead went; the log names the channel and lead")
    func explainRejectedLeads() throws {
        let daemon = try Daemon(partnersYAML: rulesYAML)
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let explain = { (id: String, json: Bool) in try self.leadctl(["explain", id, "--state-dir", daemon.stateDir] + (json ? ["--json"] : [])) }
        #expect(try intake.reply(qualifiedLead("x1", country: "US", region: "CO"))["status"] as? String == "accepted")
        let routed = try explain("x1", false)
        #expect(routed.stdout.contains("qualification: grade A, score 80 (need 20, budget 20, authority 20, timeline 20, company_size 0, estimated_value 0)\n"), "\(routed.stdout)")
        #expect(jsonObject(Array(try explain("x1", true).stdout.utf8))["lead_id"] as? String == "x1")

        let bad = #"{"lead_id": "bad-1", "company": {"name": "X", "country": "Mars"}}"#
        #expect(try intake.reply(bad)["status"] as? String == "rejected")
        #expect(daemon.waitForLog("channel=intake code=invalid_field field=company.country lead_id=bad-1 reason="))
        let rejected = try explain("bad-1", false)
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let lines = rejected.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "lead bad-1 was never routed: its input was rejected")
        #expect(lines.count == 3 && lines[1].hasPrefix("received ") && lines[1].hasSuffix(" on intake"), "\(lines)")
        #expect(lines.last == #"rejected: invalid_field company.country: company.country must be an ISO 3166-1 alpha-2 code such as US, got "Mars", published on rejected/ seq 1"#)
        let asJSON = jsonObject(Array(try explain("bad-1", true).stdout.utf8))
        #expect(asJSON["lead_id"] as? String == "bad-1")
        let first = (asJSON["rejections"] as? [[String: Any]])?.first
        #expect(first?["seq"] as? Int == 1 && first?["topic"] as? String == "rejected/" && first?["channel"] as? String == "intake", "\(asJSON)")

        // Fixed and sent again: routed, and the earlier rejection is still told.
        #expect(try intake.reply(qualifiedLead("bad-1", country: "US", region: "CO"))["status"] as? String == "accepted")
        let both = try explain("bad-1", false)
        #expect(both.stdout.hasPrefix("lead bad-1, received "), "\(both.stdout)")
        #expect(both.stdout.contains("rejections of this lead_id:\n  received "), "\(both.stdout)")
        #expect(try explain("never-sent", false).status == 1)
        #expect(daemon.terminate() == 0)
    }
}
