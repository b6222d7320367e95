import Foundation

/// Routes a file of leads with a config, without publishing or storing anything, so an
/// operator can try a rules change on past leads before going live.
///
/// Each lead is routed at its own `received_at` when it has one (so pauses, capacity
/// windows and registrations behave as they would have), else at `now`.
public struct DryRun: Sendable {
    public struct Line: Sendable, Equatable {
        public var lineNumber: Int
        public var text: String
    }

    public private(set) var pipeline: LeadPipeline
    private let now: Int64
    public private(set) var perPartner: [String: Int] = [:]
    public private(set) var perDestination: [String: Int] = [:]
    public private(set) var perRule: [String: Int] = [:]
    public private(set) var routed = 0

    public init(config: RouterConfig, now: Int64) {
        pipeline = LeadPipeline(config: config, seed: 0)
        self.now = now
    }

    /// Routes one input line; returns the line to print for it.
    public mutating func route(line: Int, _ bytes: [UInt8]) -> String {
        let message = InboundMessage(frames: [bytes])
        let at: Int64
        switch pipeline.accept(message, from: .intake) {
        case .success(let lead):
            at = lead.facts.receivedAt.flatMap(Timestamp.milliseconds(rfc3339:)) ?? now
            let outcome = pipeline.route(lead, now: at)
            return describe(outcome, line: line)
        case .failure(let rejection):
            let outcome = LeadOutcome.rejected(rejection, message: pipeline.reject(rejection, message, from: .intake, now: now))
            return describe(outcome, line: line)
        }
    }

    private mutating func describe(_ outcome: LeadOutcome, line: Int) -> String {
        switch outcome {
        case .routed(let leadID, let decision, _):
            routed += 1
            let destination = decision.partnerID ?? (decision.assignments.first?.topic ?? "?")
            if let partner = decision.partnerID { perPartner[partner, default: 0] += 1 }
            perDestination[decision.partnerID == nil ? destination : "partners", default: 0] += 1
            perRule[decision.rule.rawValue, default: 0] += 1
            let grade = decision.qualification.map { " grade \($0.grade.rawValue) \($0.score)" } ?? ""
            let excluded = decision.candidates.filter { $0.exclusion != nil }
                .map { "\($0.partnerID):\($0.exclusion!.rawValue)" }
            var text = "\(leadID) -> \(destination) [\(decision.rule.rawValue)\(grade)] " + decision.reasons.joined(separator: "; ")
            if !excluded.isEmpty { text += " | excluded " + excluded.prefix(20).joined(separator: ", ") + (excluded.count > 20 ? ", …" : "") }
            return text
        case .duplicate(let leadID):
            perDestination["duplicate", default: 0] += 1
            return "\(leadID) duplicate: routed earlier in this file"
        case .rejected(let rejection, _):
            perDestination["rejected", default: 0] += 1
            return "line \(line) rejected: \(rejection)"
        }
    }

    /// The per-partner summary: leads, share of partner-routed leads, weight.
    public func summary() -> [String] {
        var lines: [String] = []
        let toPartners = perPartner.values.reduce(0, +)
        lines.append("summary: \(routed) routed, \(toPartners) to partners, \(perDestination["vendor-sales/"] ?? 0) to vendor-sales/ (direct), \(perDestination["nurture/"] ?? 0) to nurture/, \(perDestination["duplicate"] ?? 0) duplicate, \(perDestination["rejected"] ?? 0) rejected")
        lines.append("by rule: " + perRule.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for partner in pipeline.router.partners {
            let n = perPartner[partner.id] ?? 0
            let share = toPartners == 0 ? 0 : Double(n) * 100 / Double(toPartners)
            let flags = (partner.active ? "" : " inactive") + (partner.minGrade.map { " min_grade \($0.rawValue)" } ?? "")
                + (partner.capacity.map { " capacity \($0.max)/\($0.perText)" } ?? "")
            lines.append("  \(partner.id): \(n) leads (\(String(format: "%.1f", share))%) weight \(partner.weight)\(flags)")
        }
        return lines
    }
}

