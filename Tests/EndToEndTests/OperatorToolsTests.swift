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
}
