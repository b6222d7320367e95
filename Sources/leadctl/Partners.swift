import ArgumentParser
import Foundation
import LeadRouterConfigFile
import LeadRouting
import LeadStore

struct Partners: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show where each partner stands now: active, inactive, paused (until when) or at capacity, its capacity window and its open offers.",
        discussion: """
            Reads the store (read-only: the daemon may be running) for capacity windows and open offers, and the config for \
            the partners and their settings. Without --config it lists the partners of the daemon's last start and only what \
            the store holds.
            """)

    @Option(help: "The daemon's state directory (its state_dir); with --config, overrides the config's state_dir.")
    var stateDir: String?

    @Option(help: "The daemon's config: its partners, in order, with active, paused_until and capacity.")
    var config: String?

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        if stateDir == nil && config == nil { throw ValidationError("give --state-dir, --config, or both") }
    }

    func run() throws {
        var partners: [Partner]?
        var directory = stateDir
        if let config {
            switch ConfigFile.load(path: config, stateDirOverride: stateDir) {
            case .success(let loaded):
                partners = loaded.partners
                directory = loaded.stateDir
            case .failure(let problems): throw fail(problems.lines.joined(separator: "\n"))
            }
        }
        guard let directory else { return }
        let store: LeadStore
        let states: [String: PartnerState]
        let work: [String: PartnerStatus.OpenWork]
        do {
            store = try LeadStore(readingDirectory: directory)
            states = try store.partnerStates()
            work = PartnerStatus.openWork(in: try store.openCases())
            if partners == nil {
                guard let ids = try store.currentPartnerList() else {
                    throw fail("no partner list in \(directory): leadrouterd never started on this store; pass --config")
                }
                partners = ids.map { Partner(id: $0) }
            }
        } catch let error as StoreError {
            throw fail("\(error)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let statuses = (partners ?? []).map { PartnerStatus(partner: $0, state: states[$0.id], work: work[$0.id], now: now) }
        if json {
            for status in statuses { print(Partners.jsonLine(status, withConfig: config != nil)) }
        } else {
            for line in Partners.table(statuses, withConfig: config != nil) { print(line) }
        }
    }

    /// The table for people, with a summary line; without the config, only the open offers.
    static func table(_ statuses: [PartnerStatus], withConfig: Bool) -> [String] {
        let width = max(24, (statuses.map(\.partnerID.count).max() ?? 0) + 2)
        let offers = statuses.reduce(0) { $0 + $1.openOffers }
        func openWork(_ status: PartnerStatus) -> String {
            "\(status.openOffers)" + (status.openClaims > 0 ? " (+\(status.openClaims) to claim)" : "")
        }
        guard withConfig else {
            var lines = ["PARTNER".padding(width) + "OPEN OFFERS"]
            lines += statuses.map { $0.partnerID.padding(width) + openWork($0) }
            lines.append("\(statuses.count) partners (of the daemon's last start; --config adds their states), \(offers) open offers")
            return lines
        }
        var lines = ["PARTNER".padding(width) + "STATE".padding(13) + "PAUSED UNTIL".padding(26) + "LEADS IN WINDOW".padding(20) + "OPEN OFFERS"]
        for status in statuses {
            let paused = status.pausedUntil.map { Timestamp.rfc3339(millisecondsSince1970: $0) } ?? "-"
            var window = "no limit"
            if let capacity = status.capacity, let count = status.leadsInWindow {
                window = "\(count) of \(capacity.max) per \(capacity.perText)"
            }
            lines.append(status.partnerID.padding(width) + status.state.text.padding(13) + paused.padding(26) + window.padding(20) + openWork(status))
        }
        let counts = PartnerStatus.State.allCases.map { state in "\(statuses.count { $0.state == state }) \(state.text)" }
        lines.append("\(statuses.count) partners: \(counts.joined(separator: ", ")); \(offers) open offers")
        return lines
    }

    /// One partner as one line of JSON, keys sorted; without the config, only what the store says.
    static func jsonLine(_ status: PartnerStatus, withConfig: Bool) -> String {
        var object: [String: Any] = ["partner_id": status.partnerID, "open_offers": status.openOffers, "open_claims": status.openClaims]
        if withConfig {
            object["state"] = status.state.rawValue
            object["paused_until"] = status.pausedUntil.map { Timestamp.rfc3339(millisecondsSince1970: $0) } ?? NSNull()
            if let capacity = status.capacity, let count = status.leadsInWindow {
                object["capacity"] = ["max": capacity.max, "per": capacity.perText, "leads_in_window": count]
            } else {
                object["capacity"] = NSNull()
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
