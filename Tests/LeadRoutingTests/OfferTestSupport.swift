import LeadRouting
import Testing

// Helpers shared by the offer tests: routing from a list, short names for events, requests.

/// ``OfferRouting`` from a list: every partner's engagement and policy; the next partner is
/// the first eligible one not excluded, the pool every eligible one not excluded.
struct ListRouting: OfferRouting {
    struct Entry: Sendable {
        var id: String
        var engagement: EngagementModel
        var policy: OfferPolicy
    }

    /// Every partner known, in config order.
    var entries: [Entry]
    /// The partners eligible for the lead, in the order they are chosen; `nil`: all of them.
    var eligible: [String]?
    /// The policy of a partner not in ``entries``.
    var fallback = OfferPolicy(acceptWithin: 3600)

    init(_ entries: [Entry], eligible: [String]? = nil) {
        self.entries = entries
        self.eligible = eligible
    }

    /// Every partner with the same policy, engagements as given.
    init(_ partners: [(String, EngagementModel)], policy: OfferPolicy) {
        self.init(partners.map { Entry(id: $0.0, engagement: $0.1, policy: policy) })
    }

    private var order: [String] { eligible ?? entries.map(\.id) }

    func policy(for partnerID: String) -> OfferPolicy {
        entries.first { $0.id == partnerID }?.policy ?? fallback
    }

    func engagement(of partnerID: String) -> EngagementModel? {
        entries.first { $0.id == partnerID }?.engagement
    }

    mutating func nextPartner(excluding excluded: Set<String>, now: Int64) -> (id: String, engagement: EngagementModel)? {
        guard let id = order.first(where: { !excluded.contains($0) }) else { return nil }
        return (id, engagement(of: id) ?? .leadsOnly)
    }

    mutating func poolPartners(excluding excluded: Set<String>, now: Int64) -> [String] {
        order.filter { !excluded.contains($0) }
    }
}

/// An event in a few words: `offer q`, `withdraw r taken`, `pool q,r`, `vendor_sales`.
func token(_ event: CaseEvent) -> String {
    switch event {
    case .offered(let partner, _, _, _): "offer \(partner)"
    case .assigned(let partner, _, _): "assign \(partner)"
    case .accepted(let partner, _, let claimed): "\(claimed ? "claim" : "accept") \(partner)"
    case .declined(let partner, _, _): "decline \(partner)"
    case .expired(let partner, _): "expire \(partner)"
    case .withdrawn(let partner, let reason): "withdraw \(partner) \(reason.rawValue)"
    case .vendorReleased(let partner, _): "vendor_released \(partner)"
    case .claimOpen(let partners, _): "pool \(partners.joined(separator: ","))"
    case .vendorRequest(_, let mode, _, _): "vendor_request \(mode.rawValue)"
    case .handedBack(let partner, _, _): "hand_back \(partner)"
    case .outcome(_, let stage, _, _, _, _): "outcome \(stage.rawValue)"
    case .toVendorSales: "vendor_sales"
    case .toNurture: "nurture"
    }
}

/// A reply in a few words: the state for `ok`, `!code` for an error.
func token(_ result: ActionResult) -> String {
    switch result {
    case .ok(let view): view.state
    case .failed(let code, _): "!" + code.rawValue
    }
}

/// The partners an event shows the lead to (offered, assigned, or open to their claim).
func shownTo(_ event: CaseEvent) -> [String] {
    switch event {
    case .offered(let partner, _, _, _), .assigned(let partner, _, _): [partner]
    case .claimOpen(let partners, _): partners
    default: []
    }
}

/// Every request a partner can send, with the fields each needs.
enum Act: String, Sendable, CaseIterable {
    case accept, decline, claim
    case coSell = "request_vendor co_sell"
    case close = "request_vendor close"
    case handBack = "hand_back"
    case contacted = "outcome contacted"
    case won = "outcome won"
    case lost = "outcome lost"
    case status

    func request(by partner: String, lead: String = "lead-1") -> PartnerRequest {
        let action: PartnerAction = switch self {
        case .accept: .accept
        case .decline: .decline
        case .claim: .claim
        case .coSell, .close: .requestVendor
        case .handBack: .handBack
        case .contacted, .won, .lost: .outcome
        case .status: .status
        }
        var request = PartnerRequest(requestID: "r-1", action: action, leadID: lead, partnerID: partner)
        switch self {
        case .decline: request.declineReason = .noCapacity
        case .coSell: request.mode = .coSell
        case .close: request.mode = .close
        case .handBack: request.reasonText = "customer went quiet"
        case .contacted: request.stage = .contacted
        case .won:
            request.stage = .won
            request.value = 48_000
            request.currency = "USD"
        case .lost:
            request.stage = .lost
            request.lostReason = .competitor
        case .accept, .claim, .status: break
        }
        return request
    }
}

/// Carries out `act` by `partner` on `lead`, returning the reply and the events' tokens.
func perform(_ act: Act, by partner: String, on lead: inout LeadCase, at now: Int64,
             _ routing: inout ListRouting) -> (reply: String, events: [String]) {
    var events: [CaseEvent] = []
    let result = OfferMachine.act(act.request(by: partner, lead: lead.leadID), on: &lead, now: now, routing: &routing, events: &events)
    return (token(result), events.map(token))
}

/// Fires the case's deadline at `now`, returning the events' tokens.
func fire(_ lead: inout LeadCase, at now: Int64, _ routing: inout ListRouting) -> [String] {
    var events: [CaseEvent] = []
    OfferMachine.deadlinePassed(&lead, now: now, routing: &routing, events: &events)
    return events.map(token)
}

/// Expects the case to read back from its stored form as it is.
func expectRoundTrip(_ lead: LeadCase, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(LeadCase(leadID: lead.leadID, encoded: lead.encoded) == lead, "\(lead.encoded)", sourceLocation: sourceLocation)
}

/// 2027-01-15T08:00:00Z, the time offer tests start at.
let offerEpoch: Int64 = 1_800_000_000_000
let hour: Int64 = 3_600_000
