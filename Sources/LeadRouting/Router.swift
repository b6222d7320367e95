/// One published role in a routing decision: which topic gets the lead, and as what.
public struct Assignment: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        /// The partner works the lead (`leads_only`, `co_sell`).
        case owner
        /// Vendor sales co-sells with the owning partner.
        case coSeller = "co_seller"
        /// The partner keeps the customer relationship; vendor sales closes (`vendor_closes`).
        case relationshipOwner = "relationship_owner"
        /// Vendor sales closes a `vendor_closes` partner's lead.
        case closer
        /// No partner was eligible; vendor sales works the lead directly.
        case direct
        /// No partner was eligible; marketing nurtures the lead.
        case nurture
    }

    public var topic: String
    public var role: Role
    /// The chosen partner, `nil` when none was eligible.
    public var partnerID: String?
    public var engagement: EngagementModel?

    public init(topic: String, role: Role, partnerID: String?, engagement: EngagementModel?) {
        self.topic = topic
        self.role = role
        self.partnerID = partnerID
        self.engagement = engagement
    }
}

/// The outcome of routing one lead: what is published, and why.
public struct RoutingDecision: Sendable, Equatable {
    /// The chosen partner, or `nil` when none was eligible.
    public var partnerID: String?
    public var assignments: [Assignment]
    /// Human-readable reasons, carried in every envelope of the decision.
    public var reasons: [String]
    /// `a-` and a ULID, shared by every envelope of the decision; set when the lead is routed.
    public var assignmentID: String = ""

    /// The decision as one JSON object, for the store: partner, reasons, and each
    /// assignment with the topic and `seq` it was published under.
    public func record(messages: [OutgoingMessage]) -> String {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("assignment_id", assignmentID)
        json.field("partner_id", partnerID)
        json.field("reasons", reasons)
        json.arrayField("assignments")
        for (assignment, message) in zip(assignments, messages) {
            json.beginElement()
            json.beginObject()
            json.field("topic", assignment.topic)
            json.field("seq", message.seq)
            json.field("role", assignment.role.rawValue)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }
}

public enum FeedTopic {
    public static let vendorSales = "vendor-sales/"
    public static let nurture = "nurture/"
    public static let rejected = "rejected/"
    public static func partner(_ id: String) -> String { "partner/\(id)/" }
}

/// Chooses a partner for each lead: eligibility by the partner's rules, then a smooth
/// weighted rotation among the eligible ones. Pure and deterministic: the same partners,
/// rotation state and lead always give the same decision.
public struct Router: Sendable {
    public let partners: [Partner]
    public let unmatched: UnmatchedDestination
    /// Smooth weighted round-robin state (nginx's algorithm), one counter per partner.
    private var currentWeights: [Int]

    public init(partners: [Partner], unmatched: UnmatchedDestination) {
        self.partners = partners
        self.unmatched = unmatched
        self.currentWeights = Array(repeating: 0, count: partners.count)
    }

    public init(config: RouterConfig) {
        self.init(partners: config.partners, unmatched: config.routing.unmatched)
    }

    /// Why a partner is not eligible for a lead.
    public enum Exclusion: Error, Sendable, Equatable {
        case inactive
        case territory
        case product
    }

    /// Whether `partner` may receive `lead`; on success, the reasons it may.
    public static func eligibility(of partner: Partner, for lead: LeadFacts) -> Result<[String], Exclusion> {
        guard partner.active else { return .failure(.inactive) }
        guard let territoryReason = territoryMatch(partner, lead) else { return .failure(.territory) }
        guard let productReason = productMatch(partner, lead) else { return .failure(.product) }
        return .success([territoryReason, productReason])
    }

    private static func territoryMatch(_ partner: Partner, _ lead: LeadFacts) -> String? {
        if partner.territories.isEmpty { return "territory anywhere" }
        var wholeCountry = false
        for territory in partner.territories where territory.country == lead.country {
            guard let regions = territory.regions else {
                wholeCountry = true
                continue
            }
            if let region = lead.region, regions.contains(region) {
                return "country \(lead.country) region \(region) in territory"
            }
        }
        return wholeCountry ? "country \(lead.country) in territory" : nil
    }

    private static func productMatch(_ partner: Partner, _ lead: LeadFacts) -> String? {
        if partner.products.isEmpty { return "every product offered" }
        for product in lead.products where partner.products.contains(product) {
            return "product \(product) offered"
        }
        return nil
    }

    /// Routes one lead, advancing the rotation.
    public mutating func route(_ lead: LeadFacts) -> RoutingDecision {
        var eligible: [(index: Int, reasons: [String])] = []
        var excluded: [Exclusion: Int] = [:]
        for (index, partner) in partners.enumerated() {
            switch Router.eligibility(of: partner, for: lead) {
            case .success(let reasons): eligible.append((index, reasons))
            case .failure(let why): excluded[why, default: 0] += 1
            }
        }
        guard !eligible.isEmpty else { return unmatchedDecision(lead, excluded: excluded) }

        // Smooth weighted rotation over the eligible partners only: each gains its weight,
        // the highest (first in config order on ties) is chosen and pays the round's total.
        var total = 0
        var best = eligible[0]
        for candidate in eligible {
            let weight = partners[candidate.index].weight
            currentWeights[candidate.index] += weight
            total += weight
            if currentWeights[candidate.index] > currentWeights[best.index] { best = candidate }
        }
        currentWeights[best.index] -= total

        let partner = partners[best.index]
        var reasons = best.reasons
        if eligible.count == 1 {
            reasons.append("only eligible partner")
        } else {
            reasons.append("weighted rotation among \(eligible.count) eligible partners (weight \(partner.weight) of \(total))")
        }
        return RoutingDecision(partnerID: partner.id, assignments: Router.assignments(for: partner), reasons: reasons)
    }

    /// What the contract publishes for each engagement model when `partner` is chosen.
    public static func assignments(for partner: Partner) -> [Assignment] {
        let partnerTopic = FeedTopic.partner(partner.id)
        switch partner.engagement {
        case .leadsOnly:
            return [Assignment(topic: partnerTopic, role: .owner, partnerID: partner.id, engagement: .leadsOnly)]
        case .coSell:
            return [
                Assignment(topic: partnerTopic, role: .owner, partnerID: partner.id, engagement: .coSell),
                Assignment(topic: FeedTopic.vendorSales, role: .coSeller, partnerID: partner.id, engagement: .coSell),
            ]
        case .vendorCloses:
            return [
                Assignment(topic: partnerTopic, role: .relationshipOwner, partnerID: partner.id, engagement: .vendorCloses),
                Assignment(topic: FeedTopic.vendorSales, role: .closer, partnerID: partner.id, engagement: .vendorCloses),
            ]
        }
    }

    private func unmatchedDecision(_ lead: LeadFacts, excluded: [Exclusion: Int]) -> RoutingDecision {
        var reasons: [String] = []
        if partners.isEmpty {
            reasons.append("no partners configured")
        } else {
            var parts: [String] = []
            if let n = excluded[.territory] { parts.append("\(n) without territory \(territoryText(lead))") }
            if let n = excluded[.product] {
                parts.append(lead.products.isEmpty
                    ? "\(n) offering only some products (the lead names none)"
                    : "\(n) not offering \(lead.products.joined(separator: ", "))")
            }
            if let n = excluded[.inactive] { parts.append("\(n) inactive") }
            reasons.append("no eligible partner: " + parts.joined(separator: "; "))
        }
        switch unmatched {
        case .vendorSales:
            reasons.append("routing.unmatched is vendor-sales")
            return RoutingDecision(
                partnerID: nil,
                assignments: [Assignment(topic: FeedTopic.vendorSales, role: .direct, partnerID: nil, engagement: nil)],
                reasons: reasons)
        case .nurture:
            reasons.append("routing.unmatched is nurture")
            return RoutingDecision(
                partnerID: nil,
                assignments: [Assignment(topic: FeedTopic.nurture, role: .nurture, partnerID: nil, engagement: nil)],
                reasons: reasons)
        }
    }

    private func territoryText(_ lead: LeadFacts) -> String {
        if let region = lead.region { return "\(lead.country)-\(region)" }
        return lead.country
    }
}
