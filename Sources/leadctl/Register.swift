import ArgumentParser
import Foundation
import LeadRouterConfigFile
import LeadRouting
import LeadStore

struct Register: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a deal registration without a restart (leads for DOMAIN go to PARTNER until EXPIRES), or withdraw one with --withdraw.",
        discussion: """
            Written to the daemon's store; a running leadrouterd applies it within a second. For one domain the first valid \
            registration wins. --withdraw removes the run-time registrations of DOMAIN to PARTNER; a registration in the \
            config file cannot be withdrawn at run time: remove it from the file instead.
            """)

    @Option(help: "The daemon's config (for its partners and state_dir).")
    var config: String

    @Option(help: "Overrides state_dir in the config.")
    var stateDir: String?

    @Option(help: "The registering partner's id.")
    var partner: String

    @Option(help: "The account's domain, such as acme.example.")
    var domain: String

    @Option(help: "When the registration ends: a date, such as 2027-03-31 (through the end of that day, UTC), or an RFC 3339 time, such as 2027-03-31T17:00:00Z.")
    var expires: String?

    @Flag(help: "Withdraw the run-time registrations of --domain to --partner instead of adding one (no --expires).")
    var withdraw = false

    func validate() throws {
        if withdraw && expires != nil { throw ValidationError("--withdraw takes no --expires") }
        if !withdraw && expires == nil { throw ValidationError("missing --expires: when the registration ends, \(RegistrationExpiry.expected)") }
    }

    func run() throws {
        let routerConfig: RouterConfig
        switch ConfigFile.load(path: config, stateDirOverride: stateDir) {
        case .success(let loaded): routerConfig = loaded
        case .failure(let problems): throw fail(problems.lines.joined(separator: "\n"))
        }
        let normalized = AccountKey.normalizedDomain(domain)
        if let problem = AccountKey.domainProblem(normalized) {
            throw fail("--domain must be a domain such as acme.example, got \"\(domain)\": \(problem)")
        }
        if withdraw {
            try runWithdraw(routerConfig, domain: normalized)
            return
        }
        guard routerConfig.partners.contains(where: { $0.id == partner }) else {
            throw fail("no partner \"\(partner)\" in \(config)")
        }
        let expiry: Int64
        switch RegistrationExpiry.parse(expires ?? "") {
        case .instant(let ms): expiry = ms
        case .invalid(let reason):
            throw fail("--expires must be \(RegistrationExpiry.expected), got \"\(expires ?? "")\": \(reason)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard expiry > now else { throw fail("--expires \(expires ?? "") is in the past") }
        do {
            let store = try LeadStore(directory: routerConfig.stateDir, durability: routerConfig.store.durability)
            try store.addRegistration(Registration(partnerID: partner, domain: normalized, expires: expiry), now: now)
        } catch {
            throw fail("\(error)")
        }
        let through = RegistrationExpiry.isDateAlone(expires ?? "") ? " (through \(expires ?? ""), UTC)" : ""
        print("registered \(normalized) to \(partner) until \(Timestamp.rfc3339(millisecondsSince1970: expiry))\(through)")
    }

    /// Withdraws the run-time registrations of `domain` to ``partner``: says what went, what
    /// the config still holds, and fails when nothing was withdrawn.
    func runWithdraw(_ routerConfig: RouterConfig, domain: String) throws {
        let withdrawn: [Registration], others: [Registration]
        do {
            let store = try LeadStore(directory: routerConfig.stateDir, durability: routerConfig.store.durability)
            withdrawn = try store.withdrawRegistrations(partnerID: partner, domain: domain)
            others = try store.registrations().filter { $0.domain == domain }
        } catch {
            throw fail("\(error)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for registration in withdrawn {
            let expired = registration.expires <= now ? ", already expired" : ""
            print("withdrew the registration of \(domain) to \(partner) (until \(Timestamp.rfc3339(millisecondsSince1970: registration.expires))\(expired))")
        }
        let inConfig = routerConfig.registrations.filter { $0.partnerID == partner && $0.domain == domain && $0.expires > now }
        let configNote = inConfig.map {
            "the registration of \(domain) to \(partner) until \(Timestamp.rfc3339(millisecondsSince1970: $0.expires)) is in \(config), "
                + "so it cannot be withdrawn at run time: remove it from the file and restart leadrouterd"
        }
        if withdrawn.isEmpty {
            if let note = configNote.first { throw fail("nothing withdrawn: \(note)") }
            let held = Set(others.map(\.partnerID)).sorted()
            let hint = held.isEmpty ? "" : " (it has run-time registrations to \(held.joined(separator: ", ")))"
            throw fail("nothing withdrawn: no run-time registration of \(domain) to \(partner) in \(routerConfig.stateDir)\(hint)")
        }
        for note in configNote { FileHandle.standardError.write(Data("leadctl: still in force: \(note)\n".utf8)) }
    }
}
