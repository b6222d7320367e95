/// What the offer machine needs from routing to move a lead on: each partner's policy and
/// engagement, the next partner by the usual rules, and who may claim a pooled lead. The
/// daemon answers from its router (rotation and capacity advance as for a new lead);
/// tests answer from a list.
public protocol OfferRouting {
    /// The offer policy for leads offered to `partnerID` (the defaults for one no longer configured).
    func policy(for partnerID: String) -> OfferPolicy
    /// The engagement model of `partnerID`; `nil` when it is no longer configured.
    func engagement(of partnerID: String) -> EngagementModel?
    /// The next partner for the lead by the usual rules, never one of `excluded`; `nil` when
    /// none is eligible.
    mutating func nextPartner(excluding excluded: Set<String>, now: Int64) -> (id: String, engagement: EngagementModel)?
    /// Every partner eligible for the lead, but for `excluded`, in config order.
    mutating func poolPartners(excluding excluded: Set<String>, now: Int64) -> [String]
}

/// One step of a lead's life, to publish and to record in its history.
public enum CaseEvent: Sendable, Equatable {
    /// `offer` on `partner/P/`, with `accept_by`; `attempt` counts the partners offered it.
    case offered(partner: String, engagement: EngagementModel, acceptBy: Int64, attempt: Int)
    /// A partner that takes no offers was assigned the lead outright, as in v1.
    case assigned(partner: String, engagement: EngagementModel, attempt: Int)
    /// `accepted` on `partner/P/` with the whole lead, and vendor sales' copy of the engagement.
    case accepted(partner: String, engagement: EngagementModel, claimed: Bool)
    /// Recorded only: the next step publishes.
    case declined(partner: String, reason: DeclineReason, note: String?)
    /// `expired` on `partner/P/`.
    case expired(partner: String, acceptBy: Int64)
    /// `withdrawn` on `partner/P/`: claimed by another, the pool closed, or pulled back.
    case withdrawn(partner: String, reason: LeadCase.PartnerResult)
    /// `withdrawn` on `vendor-sales/`: a lead pulled back from `partner`, on which vendor
    /// sales held `roles` (its co-sell or close copy): the deal is no longer that partner's.
    case vendorReleased(partner: String, roles: [Assignment.Role])
    /// `claim_open` on each partner's topic, with `claim_by`.
    case claimOpen(partners: [String], claimBy: Int64)
    /// `vendor_request` on `vendor-sales/`.
    case vendorRequest(partner: String, mode: VendorMode, need: String?, note: String?)
    /// `handed_back` on `vendor-sales/`: vendor sales works the lead directly.
    case handedBack(partner: String, reason: String?, note: String?)
    /// `outcome` on `outcomes/`.
    case outcome(partner: String, stage: OutcomeStage, value: Double?, currency: String?, reason: LostReason?, note: String?)
    /// Nobody took it: `assignment` with role `direct` on `vendor-sales/`.
    case toVendorSales(reason: String)
    /// Held back: `assignment` with role `nurture` on `nurture/`.
    case toNurture(reason: String)
}

/// How much of the lead a reply carries.
public enum LeadVisibility: Sendable, Equatable {
    case none
    /// Without the `withhold` fields (an offer not yet taken).
    case withheld
    case whole
}

/// A lead as one partner sees it: the `state` a reply carries.
public struct PartnerView: Sendable, Equatable {
    /// `offered`, `pooled`, `accepted`, `won`, `lost`, `declined`, `expired`, `withdrawn` or `handed_back`.
    public var state: String
    public var acceptBy: Int64?
    public var claimBy: Int64?
    public var stage: OutcomeStage?
    public var vendorRoles: [Assignment.Role] = []
    public var lead: LeadVisibility

    public init(state: String, acceptBy: Int64? = nil, claimBy: Int64? = nil, stage: OutcomeStage? = nil,
                vendorRoles: [Assignment.Role] = [], lead: LeadVisibility = .none) {
        self.state = state
        self.acceptBy = acceptBy
        self.claimBy = claimBy
        self.stage = stage
        self.vendorRoles = vendorRoles
        self.lead = lead
    }
}

/// The answer to one action.
public enum ActionResult: Sendable, Equatable {
    case ok(PartnerView)
    case failed(ControlErrorCode, String)
}

/// The offer lifecycle as pure transitions on a ``LeadCase``: a partner's action, or a
/// deadline passing, changes the case and yields the events to publish. No clock and no
/// I/O: times come in, so every transition is tested as a table (docs/routing.md has the
/// state diagram).
public enum OfferMachine {
    /// The case of a lead just routed to `partner` under an offer policy.
    public static func offer(leadID: String, assignmentID: String, partner: String, engagement: EngagementModel,
                             registered: Bool, now: Int64, policy: OfferPolicy) -> (LeadCase, CaseEvent) {
        let acceptBy = now + policy.acceptWithin * 1000
        let lead = LeadCase(leadID: leadID, assignmentID: assignmentID, state: .offered, partnerID: partner,
                            engagement: engagement, deadline: acceptBy, offers: 1, registered: registered)
        return (lead, .offered(partner: partner, engagement: engagement, acceptBy: acceptBy, attempt: 1))
    }

    /// The case of a lead just routed to `partner`, which takes no offers but follows its
    /// leads up (`follow_up_within`): accepted from the start, pulled back if no outcome is
    /// reported in time, as a lead that moves on to such a partner is (``moveOn``).
    public static func assignOutright(leadID: String, assignmentID: String, partner: String, engagement: EngagementModel,
                                      registered: Bool, now: Int64, policy: OfferPolicy) -> LeadCase {
        var lead = LeadCase.assigned(leadID: leadID, assignmentID: assignmentID, partnerID: partner, engagement: engagement)
        lead.offers = 1
        lead.registered = registered
        lead.deadline = now + policy.followUpWithin * 1000
        return lead
    }

    /// Carries out `request` on the case at `now`. A deadline that had passed when the
    /// request was received (`receivedAt`, default `now`) fires first, so a late action
    /// meets the lead as it is after it (`expired`); one received in time is carried out.
    public static func act(_ request: PartnerRequest, on lead: inout LeadCase, now: Int64, receivedAt: Int64? = nil,
                           routing: inout some OfferRouting, events: inout [CaseEvent]) -> ActionResult {
        if let deadline = lead.deadline, min(receivedAt ?? now, now) >= deadline {
            deadlinePassed(&lead, now: now, routing: &routing, events: &events)
        }
        let partner = request.partnerID
        guard view(of: lead, for: partner) != nil else {
            return .failed(.notFound, "no lead \(request.leadID) for partner \(partner)")
        }
        switch request.action {
        case .status: break
        case .accept: if let refusal = accept(partner, &lead, now: now, routing: routing, events: &events) { return refusal }
        case .claim: if let refusal = claim(partner, &lead, now: now, routing: routing, events: &events) { return refusal }
        case .decline: if let refusal = decline(request, &lead, now: now, routing: &routing, events: &events) { return refusal }
        case .requestVendor, .handBack, .outcome:
            if let refusal = holderAction(request, &lead, events: &events) { return refusal }
        }
        return .ok(view(of: lead, for: partner)!)
    }

    /// The deadline of the case has passed at `now`: the offer expires, the pool closes, or
    /// an accepted lead with no outcome is pulled back. Nothing when it has none.
    public static func deadlinePassed(_ lead: inout LeadCase, now: Int64, routing: inout some OfferRouting, events: inout [CaseEvent]) {
        guard let deadline = lead.deadline else { return }
        switch lead.state {
        case .offered:
            guard let partner = lead.partnerID else { return }
            lead.tried.append(.init(partner, .expired))
            events.append(.expired(partner: partner, acceptBy: deadline))
            moveOn(&lead, after: partner, now: now, routing: &routing, events: &events)
        case .pooled:
            for partner in lead.pool {
                lead.tried.append(.init(partner, .poolClosed))
                events.append(.withdrawn(partner: partner, reason: .poolClosed))
            }
            let count = lead.pool.count
            lead.pool = []
            lead.deadline = nil
            lead.state = .vendorSales
            events.append(.toVendorSales(reason: "nobody claimed it from the pool of \(count) partner\(count == 1 ? "" : "s") by claim_by"))
        case .accepted:
            guard let partner = lead.partnerID else { return }
            lead.tried.append(.init(partner, .pulledBack))
            events.append(.withdrawn(partner: partner, reason: .pulledBack))
            if !lead.vendorRoles.isEmpty { events.append(.vendorReleased(partner: partner, roles: lead.vendorRoles)) }
            lead.vendorRoles = []
            lead.stage = nil
            moveOn(&lead, after: partner, now: now, routing: &routing, events: &events)
        case .won, .lost, .handedBack, .vendorSales, .nurture:
            lead.deadline = nil
        }
    }

    /// The lead as `partner` sees it; `nil` when it was never offered to it (nor open to its claim).
    public static func view(of lead: LeadCase, for partner: String) -> PartnerView? {
        if lead.partnerID == partner {
            switch lead.state {
            case .offered: return PartnerView(state: "offered", acceptBy: lead.deadline, lead: .withheld)
            case .accepted, .won, .lost:
                return PartnerView(state: lead.state == .accepted ? "accepted" : lead.state.rawValue, stage: lead.stage,
                                   vendorRoles: lead.vendorRoles, lead: .whole)
            case .handedBack: return PartnerView(state: "handed_back", stage: lead.stage)
            case .pooled, .vendorSales, .nurture: break
            }
        }
        if lead.state == .pooled && lead.pool.contains(partner) {
            return PartnerView(state: "pooled", claimBy: lead.deadline, lead: .withheld)
        }
        guard let result = lead.result(of: partner) else { return nil }
        switch result {
        case .declined: return PartnerView(state: "declined")
        case .expired: return PartnerView(state: "expired")
        case .taken, .poolClosed, .pulledBack: return PartnerView(state: "withdrawn")
        case .handedBack: return PartnerView(state: "handed_back")
        }
    }

    // MARK: - Actions

    private static func accept(_ partner: String, _ lead: inout LeadCase, now: Int64, routing: some OfferRouting,
                               events: inout [CaseEvent]) -> ActionResult? {
        if lead.partnerID == partner && [.accepted, .won, .lost].contains(lead.state) { return nil }
        if lead.state == .offered && lead.partnerID == partner {
            take(&lead, by: partner, engagement: lead.engagement ?? .leadsOnly, claimed: false, now: now, routing: routing, events: &events)
            return nil
        }
        if lead.state == .pooled && lead.pool.contains(partner) {
            return .failed(.wrongState, "lead \(lead.leadID) is open for claims: send claim to take it")
        }
        return refusal(lead, partner, doing: "accepted")
    }

    private static func claim(_ partner: String, _ lead: inout LeadCase, now: Int64, routing: some OfferRouting,
                              events: inout [CaseEvent]) -> ActionResult? {
        if lead.partnerID == partner && [.accepted, .won, .lost].contains(lead.state) { return nil }
        if lead.state == .pooled && lead.pool.contains(partner) {
            let others = lead.pool.filter { $0 != partner }
            for other in others {
                lead.tried.append(.init(other, .taken))
                events.append(.withdrawn(partner: other, reason: .taken))
            }
            lead.pool = []
            let engagement = routing.engagement(of: partner) ?? .leadsOnly
            take(&lead, by: partner, engagement: engagement, claimed: true, now: now, routing: routing, events: &events)
            return nil
        }
        if lead.state == .offered && lead.partnerID == partner {
            return .failed(.wrongState, "lead \(lead.leadID) is offered to \(partner): send accept to take it")
        }
        return refusal(lead, partner, doing: "claimed")
    }

    private static func take(_ lead: inout LeadCase, by partner: String, engagement: EngagementModel, claimed: Bool,
                             now: Int64, routing: some OfferRouting, events: inout [CaseEvent]) {
        let followUp = routing.policy(for: partner).followUpWithin
        lead.state = .accepted
        lead.partnerID = partner
        lead.engagement = engagement
        lead.deadline = followUp > 0 ? now + followUp * 1000 : nil
        lead.vendorRoles = LeadCase.vendorRoles(for: engagement)
        lead.stage = nil
        events.append(.accepted(partner: partner, engagement: engagement, claimed: claimed))
    }

    private static func decline(_ request: PartnerRequest, _ lead: inout LeadCase, now: Int64,
                                routing: inout some OfferRouting, events: inout [CaseEvent]) -> ActionResult? {
        let partner = request.partnerID
        if lead.result(of: partner) == .declined && lead.partnerID != partner { return nil }
        let reason = request.declineReason ?? .other
        if lead.state == .offered && lead.partnerID == partner {
            lead.tried.append(.init(partner, .declined))
            events.append(.declined(partner: partner, reason: reason, note: request.note))
            moveOn(&lead, after: partner, now: now, routing: &routing, events: &events)
            return nil
        }
        if lead.state == .pooled && lead.pool.contains(partner) {
            lead.pool.removeAll { $0 == partner }
            lead.tried.append(.init(partner, .declined))
            events.append(.declined(partner: partner, reason: reason, note: request.note))
            if lead.pool.isEmpty {
                lead.deadline = nil
                lead.state = .vendorSales
                events.append(.toVendorSales(reason: "every partner in the pool declined it"))
            }
            return nil
        }
        if lead.partnerID == partner && lead.state == .accepted {
            return .failed(.wrongState, "lead \(lead.leadID) is accepted by \(partner): send hand_back to return it")
        }
        return refusal(lead, partner, doing: "declined")
    }

    /// `request_vendor`, `hand_back` and `outcome`: only the partner holding the lead.
    private static func holderAction(_ request: PartnerRequest, _ lead: inout LeadCase, events: inout [CaseEvent]) -> ActionResult? {
        let partner = request.partnerID
        let holds = lead.partnerID == partner
        switch request.action {
        case .handBack where holds && lead.state == .handedBack:
            return nil
        case .outcome where holds && (lead.state == .won || lead.state == .lost):
            return request.stage == lead.stage ? nil
                : .failed(.wrongState, "lead \(lead.leadID) is \(lead.state.rawValue) already: the outcome is final")
        default:
            break
        }
        guard holds && lead.state == .accepted else {
            if holds && lead.state.isFinal {
                return .failed(.wrongState, "lead \(lead.leadID) is \(lead.state.rawValue): nothing more can be done with it")
            }
            return refusal(lead, partner, doing: "accepted")
        }
        switch request.action {
        case .requestVendor:
            let mode = request.mode ?? .coSell
            if !lead.vendorRoles.contains(mode.role) {
                lead.vendorRoles.append(mode.role)
                events.append(.vendorRequest(partner: partner, mode: mode, need: request.need, note: request.note))
            }
        case .handBack:
            lead.state = .handedBack
            lead.deadline = nil
            lead.tried.append(.init(partner, .handedBack))
            events.append(.handedBack(partner: partner, reason: request.reasonText, note: request.note))
        case .outcome:
            guard let stage = request.stage, stage != lead.stage else { return nil }
            lead.stage = stage
            lead.deadline = nil
            if stage.isFinal { lead.state = stage == .won ? .won : .lost }
            events.append(.outcome(partner: partner, stage: stage, value: request.value, currency: request.currency,
                                   reason: request.lostReason, note: request.note))
        case .accept, .claim, .decline, .status:
            break
        }
        return nil
    }

    /// Why `partner` cannot act on a lead it does not hold (or no longer may take).
    private static func refusal(_ lead: LeadCase, _ partner: String, doing: String) -> ActionResult {
        if lead.state == .offered && lead.partnerID == partner {
            return .failed(.wrongState, "lead \(lead.leadID) is offered to \(partner) and not accepted yet: send accept first")
        }
        if lead.state == .pooled && lead.pool.contains(partner) {
            return .failed(.wrongState, "lead \(lead.leadID) is open for claims and not claimed yet: send claim first")
        }
        switch lead.result(of: partner) {
        case .expired: return .failed(.expired, "the offer of lead \(lead.leadID) to \(partner) expired")
        case .poolClosed: return .failed(.expired, "the pool for lead \(lead.leadID) closed before \(partner) claimed it")
        case .taken: return .failed(.alreadyTaken, "lead \(lead.leadID) was claimed by another partner")
        case .declined: return .failed(.wrongState, "\(partner) declined lead \(lead.leadID); it cannot be \(doing) now")
        case .pulledBack:
            return .failed(.wrongState, "lead \(lead.leadID) was pulled back from \(partner): no outcome was reported in time")
        case .handedBack: return .failed(.wrongState, "\(partner) handed lead \(lead.leadID) back")
        case nil: return .failed(.wrongState, "lead \(lead.leadID) is not \(doing) by \(partner)")
        }
    }

    // MARK: - Moving on

    /// `previous` had its turn and did not keep the lead: offer it to the next partner, or,
    /// after `max_offers` (or with nobody left), send it where `then` says.
    static func moveOn(_ lead: inout LeadCase, after previous: String, now: Int64, routing: inout some OfferRouting,
                       events: inout [CaseEvent]) {
        let policy = routing.policy(for: previous)
        lead.deadline = nil
        lead.partnerID = nil
        lead.engagement = nil
        lead.vendorRoles = []
        if lead.registered {
            lead.state = .nurture
            events.append(.toNurture(reason: "deal registration: offered to its registrant \(previous) only, who did not take it"))
            return
        }
        if lead.offers < policy.maxOffers, let next = routing.nextPartner(excluding: lead.excluded, now: now) {
            lead.offers += 1
            lead.partnerID = next.id
            lead.engagement = next.engagement
            let nextPolicy = routing.policy(for: next.id)
            if nextPolicy.offersLeads {
                lead.state = .offered
                lead.deadline = now + nextPolicy.acceptWithin * 1000
                events.append(.offered(partner: next.id, engagement: next.engagement, acceptBy: lead.deadline!, attempt: lead.offers))
            } else {
                lead.state = .accepted
                lead.vendorRoles = LeadCase.vendorRoles(for: next.engagement)
                if nextPolicy.followUpWithin > 0 { lead.deadline = now + nextPolicy.followUpWithin * 1000 }
                events.append(.assigned(partner: next.id, engagement: next.engagement, attempt: lead.offers))
            }
            return
        }
        let tried = summary(lead)
        let why = lead.offers >= policy.maxOffers ? "max_offers (\(policy.maxOffers)) reached" : "no other eligible partner"
        switch policy.then {
        case .vendorSales:
            lead.state = .vendorSales
            events.append(.toVendorSales(reason: "\(tried); \(why): offers.then is vendor-sales"))
        case .nurture:
            lead.state = .nurture
            events.append(.toNurture(reason: "\(tried); \(why): offers.then is nurture"))
        case .pool:
            let pool = routing.poolPartners(excluding: lead.excluded, now: now)
            guard !pool.isEmpty else {
                lead.state = .vendorSales
                events.append(.toVendorSales(reason: "\(tried); \(why), and no eligible partner left to pool it"))
                return
            }
            lead.state = .pooled
            lead.pool = pool
            lead.deadline = now + policy.poolWindow * 1000
            events.append(.claimOpen(partners: pool, claimBy: lead.deadline!))
        }
    }

    /// `offered to 2 partners: acme declined, beta expired`.
    static func summary(_ lead: LeadCase) -> String {
        let turns = lead.tried.map { "\($0.partnerID) \($0.result.rawValue.replacingOccurrences(of: "_", with: " "))" }
        return "offered to \(lead.offers) partner\(lead.offers == 1 ? "" : "s"): " + turns.joined(separator: ", ")
    }
}
