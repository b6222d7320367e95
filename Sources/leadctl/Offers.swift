import ArgumentParser
import Foundation
import LeadRouting
import LeadStore

struct Offers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the leads waiting on a deadline: open offers, pools and follow-ups, soonest first.")

    @Option(help: "The daemon's state directory (its state_dir).")
    var stateDir: String

    @Option(help: "Only this partner's offers (and pools it may claim).")
    var partner: String?

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func run() throws {
        let store: LeadStore
        do { store = try LeadStore(readingDirectory: stateDir) } catch { throw fail("\(error)") }
        var cases: [LeadCase]
        do { cases = try store.openCases() } catch { throw fail("\(error)") }
        if let partner { cases = cases.filter { $0.partnerID == partner || $0.pool.contains(partner) } }
        cases.sort { ($0.deadline ?? 0, $0.leadID) < ($1.deadline ?? 0, $1.leadID) }
        if json {
            for lead in cases { print(Offers.jsonLine(lead)) }
            return
        }
        print("LEAD_ID".padding(28) + "STATE".padding(10) + "PARTNER".padding(24) + "DEADLINE".padding(26) + "OFFERS")
        for lead in cases {
            let who = lead.state == .pooled ? "pool of \(lead.pool.count)" : lead.partnerID ?? "-"
            let deadline = lead.deadline.map { Timestamp.rfc3339(millisecondsSince1970: $0) } ?? "-"
            print(lead.leadID.padding(28) + lead.state.rawValue.padding(10) + who.padding(24) + deadline.padding(26) + "\(lead.offers)")
        }
        print("\(cases.count) open")
    }

    static func jsonLine(_ lead: LeadCase) -> String {
        var object: [String: Any] = ["lead_id": lead.leadID, "state": lead.state.rawValue, "offers": lead.offers,
                                     "tried": lead.tried.map { ["partner_id": $0.partnerID, "result": $0.result.rawValue] }]
        if let partner = lead.partnerID { object["partner_id"] = partner }
        if let deadline = lead.deadline { object["deadline"] = Timestamp.rfc3339(millisecondsSince1970: deadline) }
        if !lead.pool.isEmpty { object["pool"] = lead.pool }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    /// Left-aligned in `width` columns, with at least one space after.
    func padding(_ width: Int) -> String {
        padding(toLength: max(width, count + 1), withPad: " ", startingAt: 0)
    }
}
