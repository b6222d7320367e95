import ArgumentParser
import Foundation
import LeadRouterConfigFile
import LeadRouting
import LeadStore

struct Register: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a deal registration without a restart: leads for DOMAIN go to PARTNER until EXPIRES.",
        discussion: "Written to the daemon's store; a running leadrouterd applies it within a second. For one domain the first valid registration wins.")

    @Option(help: "The daemon's config (for its partners and state_dir).")
    var config: String

    @Option(help: "Overrides state_dir in the config.")
    var stateDir: String?

    @Option(help: "The registering partner's id.")
    var partner: String

    @Option(help: "The account's domain, such as acme.example.")
    var domain: String

    @Option(help: "When the registration ends, RFC 3339, such as 2027-03-01T00:00:00Z.")
    var expires: String

    func run() throws {
        let routerConfig: RouterConfig
        switch ConfigFile.load(path: config, stateDirOverride: stateDir) {
        case .success(let loaded): routerConfig = loaded
        case .failure(let problems): throw fail(problems.lines.joined(separator: "\n"))
        }
        guard routerConfig.partners.contains(where: { $0.id == partner }) else {
            throw fail("no partner \"\(partner)\" in \(config)")
        }
        let normalized = AccountKey.normalizedDomain(domain)
        if let problem = AccountKey.domainProblem(normalized) {
            throw fail("--domain must be a domain such as acme.example, got \"\(domain)\": \(problem)")
        }
        guard let expiry = Timestamp.milliseconds(rfc3339: expires) else {
            throw fail("--expires must be an RFC 3339 time such as 2027-03-01T00:00:00Z, got \"\(expires)\"")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard expiry > now else { throw fail("--expires \(expires) is in the past") }
        do {
            let store = try LeadStore(directory: routerConfig.stateDir, durability: routerConfig.store.durability)
            try store.addRegistration(Registration(partnerID: partner, domain: normalized, expires: expiry), now: now)
        } catch {
            throw fail("\(error)")
        }
        print("registered \(normalized) to \(partner) until \(Timestamp.rfc3339(millisecondsSince1970: expiry))")
    }
}
