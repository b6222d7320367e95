import ArgumentParser
import Foundation
import LeadRouting
import LeadStore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain how a lead was routed: qualification, every candidate and why it was passed over, and the rule that chose.")

    @Argument(help: "The lead_id.")
    var leadID: String

    @Option(help: "The daemon's state directory (its state_dir).")
    var stateDir: String

    @Flag(help: "Print the stored decision record as JSON instead.")
    var json = false

    func run() throws {
        let store: LeadStore
        do { store = try LeadStore(readingDirectory: stateDir) } catch { throw fail("\(error)") }
        let stored: StoredLead?
        let rejections: [OutgoingMessage]
        do {
            stored = try store.lead(leadID)
            rejections = try store.rejections(leadID: leadID)
        } catch { throw fail("\(error)") }
        guard let stored else {
            guard !rejections.isEmpty else {
                throw fail("no lead \(leadID) in \(stateDir): never received, rejected without a readable lead_id, or pruned past retention")
            }
            if json {
                print(Explanation.jsonText(["lead_id": leadID, "rejections": rejections.map(Explanation.rejectionRecord)]) ?? "{}")
            } else {
                for line in Explanation.rejectionLines(rejections, leadID: leadID, routed: false) { print(line) }
            }
            return
        }
        try explain(stored, rejections: rejections, in: store)
    }

    /// Prints how a stored lead was routed, its life since, and any rejection of its id.
    func explain(_ stored: StoredLead, rejections: [OutgoingMessage], in store: LeadStore) throws {
        var record: [String: Any]
        let history: (lead: LeadCase, history: String)?
        do {
            record = try Explanation.record(of: stored, in: store)
            history = try store.caseHistory(leadID: leadID)
        } catch { throw fail("\(error)") }
        if json {
            record["lead_id"] = stored.leadID
            if let history {
                record["state"] = history.lead.state.rawValue
                record["history"] = history.history.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
            }
            if !rejections.isEmpty { record["rejections"] = rejections.map(Explanation.rejectionRecord) }
            print(Explanation.jsonText(record) ?? stored.decisionText)
            return
        }
        // A lead offered at routing: its first step is the offer.
        let offered = history?.history.split(separator: "\n").first?.contains(#""event":"offered""#) ?? false
        for line in Explanation.lines(for: stored, record: record, offered: offered) { print(line) }
        if let history { for line in Explanation.historyLines(history.lead, history.history) { print(line) } }
        for line in Explanation.rejectionLines(rejections, leadID: leadID, routed: true) { print(line) }
    }
}

/// Renders a stored decision for people.
enum Explanation {
    /// The stored decision record, with candidates named by their ids: records that index
    /// a stored partner list (`partner_list`) get the ids from that list, their groups packed
    /// (``PackedPositions``).
    ///
    /// The daemon's records leave out `rule`, `reasons` and `qualification`, which its
    /// envelopes carry: they are read back from the envelope of the first assignment.
    static func record(of stored: StoredLead, in store: LeadStore) throws(StoreError) -> [String: Any] {
        guard var record = (try? JSONSerialization.jsonObject(with: Data(stored.decision))) as? [String: Any] else { return [:] }
        if record["rule"] == nil, let first = (record["assignments"] as? [[String: Any]])?.first,
           let topic = first["topic"] as? String, let seq = first["seq"] as? Int {
            let envelope = try store.envelopes(topic: topic, fromSeq: seq, limit: 1).first { $0.seq == seq }
            if let envelope, let object = (try? JSONSerialization.jsonObject(with: Data(envelope.envelope))) as? [String: Any],
               object["lead_id"] as? String == stored.leadID {
                for key in ["rule", "reasons", "qualification"] { record[key] = object[key] }
            }
        }
        guard let listID = record["partner_list"] as? Int else { return record }
        let list = try store.partnerList(Int64(listID)) ?? []
        func name(_ index: Int) -> String { index < list.count ? list[index] : "#\(index) (not in partner list \(listID))" }
        // Since v10 the daemon's records give each group as a bit set over the positions of
        // one of the router's candidate lists (`candidate_list`), `chosen` still packed.
        let number = record["candidate_list"] as? Int
        let lists = number == nil ? [] : try store.candidateLists(Int64(listID)) ?? []
        if let groups = record["candidates"] as? [String: String] {
            record["candidates"] = Dictionary(uniqueKeysWithValues: groups.map { verdict, text -> (String, [String]) in
                guard let number, verdict != "chosen" else {
                    guard let positions = PackedPositions.decode(text) else { return (verdict, ["(unreadable: \(text))"]) }
                    return (verdict, positions.map(name))
                }
                guard lists.indices.contains(number), let positions = BitGroups.decode(text) else {
                    return (verdict, ["(unreadable: \(text) in candidate list \(number))"])
                }
                let list = lists[number]
                return (verdict, positions.map { $0 < list.count ? name(list[$0]) : "#\($0) (not in candidate list \(number))" })
            })
        }
        record["partner_list"] = nil
        record["candidate_list"] = nil
        return record
    }

    /// The lead's life after routing: where it stands, then each step with its time.
    static func historyLines(_ lead: LeadCase, _ history: String) -> [String] {
        var state = "state: \(lead.state.rawValue)"
        if let partner = lead.partnerID { state += " (\(partner))" }
        if let deadline = lead.deadline {
            let what = lead.state == .offered ? "accept by" : lead.state == .pooled ? "claim by" : "outcome due by"
            state += ", \(what) \(Timestamp.rfc3339(millisecondsSince1970: deadline))"
        }
        var out = [state, "history:"]
        for line in history.split(separator: "\n") {
            guard let step = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { continue }
            out.append("  \(step["at"] as? String ?? "?")  \(describe(step))")
        }
        return out
    }

    /// One step in words: `declined by acme: not_qualified`.
    static func describe(_ step: [String: Any]) -> String {
        let partner = step["partner_id"] as? String ?? "?"
        var text: String
        switch step["event"] as? String ?? "?" {
        case "offered": text = "offered to \(partner) (offer \(step["attempt"] ?? "?")), accept by \(step["accept_by"] ?? "?")"
        case "assigned": text = "assigned to \(partner) (takes no offers)"
        case "accepted": text = "accepted by \(partner)"
        case "claimed": text = "claimed by \(partner)"
        case "declined": text = "declined by \(partner): \(step["reason"] ?? "?")"
        case "expired": text = "offer to \(partner) expired (accept by \(step["accept_by"] ?? "?"))"
        case "withdrawn": text = "withdrawn from \(partner): \(step["reason"] ?? "?")"
        case "vendor_released": text = "vendor sales told the lead left \(partner) (it held \((step["roles"] as? [String] ?? []).joined(separator: ", ")))"
        case "claim_open": text = "open for claims by \((step["partners"] as? [String] ?? []).joined(separator: ", ")) until \(step["claim_by"] ?? "?")"
        case "vendor_request": text = "\(partner) asked vendor sales to \(step["mode"] as? String == "close" ? "close" : "co-sell")"
        case "handed_back": text = "handed back by \(partner)" + ((step["reason"] as? String).map { ": \($0)" } ?? "")
        case "outcome":
            text = "outcome from \(partner): \(step["stage"] ?? "?")"
            if let value = step["value"] { text += ", value \(value)\((step["currency"] as? String).map { " \($0)" } ?? "")" }
            if let reason = step["reason"] { text += ", reason \(reason)" }
        case "vendor_sales": text = "to vendor sales: \(step["reason"] ?? "?")"
        case "nurture": text = "to nurture: \(step["reason"] ?? "?")"
        case let other: text = other
        }
        if let note = step["note"] as? String { text += " (note: \(note))" }
        if let need = step["need"] as? String { text += " (need: \(need))" }
        return text
    }

    static func lines(for stored: StoredLead, record: [String: Any], offered: Bool = false) -> [String] {
        var out: [String] = []
        out.append("lead \(stored.leadID), received \(Timestamp.rfc3339(millisecondsSince1970: stored.receivedAt)) on \(stored.channel), assignment \(stored.assignmentID)")
        let rule = record["rule"] as? String ?? "?"
        if let partner = stored.partnerID {
            out.append("chosen: \(partner), by \(rule)")
        } else {
            out.append("chosen: no partner (\(rule))")
        }
        if let q = record["qualification"] as? [String: Any] {
            let signals = Explanation.inEnvelopeOrder(q["signals"] as? [String: Any] ?? [:]).map { "\($0.key) \($0.value)" }
            out.append("qualification: grade \(q["grade"] ?? "?"), score \(q["score"] ?? "?") (\(signals.joined(separator: ", ")))")
        }
        if let reasons = record["reasons"] as? [String] {
            out.append("reasons:")
            for reason in reasons { out.append("  - \(reason)") }
        } else {
            out.append("reasons: not stored any more (they were kept with the lead's envelopes, which were pruned)")
        }
        let groups = record["candidates"] as? [String: [String]] ?? [:]
        let outside = record["outside_territory"] as? Int ?? 0
        let omitted = record["candidates_omitted"] as? Int ?? 0
        let listed = groups.values.reduce(0) { $0 + $1.count }
        out.append("candidates: \(listed + omitted) considered, \(outside) outside the lead's territory")
        let order = ["chosen", "eligible"] + Exclusion.allCases.map(\.rawValue)
        for verdict in order {
            for id in groups[verdict] ?? [] {
                let text: String
                switch verdict {
                case "chosen": text = "chosen"
                case "eligible": text = "eligible, not chosen"
                default: text = "excluded: \(verdict)"
                }
                out.append("  \(id.padding(toLength: max(24, id.count + 2), withPad: " ", startingAt: 0))\(text)")
            }
        }
        if omitted > 0 {
            let reasons = (record["omitted_by_reason"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            out.append("  … and \(omitted) more (\(reasons.joined(separator: ", ")))")
        }
        out.append("published:")
        for assignment in record["assignments"] as? [[String: Any]] ?? [] {
            let role = offered ? "an offer" : "\(assignment["role"] ?? "?")"
            out.append("  \(assignment["topic"] ?? "?") seq \(assignment["seq"] ?? "?") as \(role)")
        }
        return out
    }
}
