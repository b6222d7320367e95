/// Offers in the pipeline: each partner's policy, routing a lead on after a partner lets it
/// go, and the envelopes of every step of a lead's life (docs/protocol.md, "Offers").
extension LeadPipeline {
    static func offerPolicies(_ rules: RoutingRules) -> [String: OfferPolicy] {
        policies(rules) { $0.offersLeads }
    }

    static func followUpPolicies(_ rules: RoutingRules) -> [String: OfferPolicy] {
        policies(rules) { !$0.offersLeads && $0.followUpWithin > 0 }
    }

    /// Each partner's policy (the `offers:` section with its own in place) that `keeps` holds.
    private static func policies(_ rules: RoutingRules, where keeps: (OfferPolicy) -> Bool) -> [String: OfferPolicy] {
        var policies: [String: OfferPolicy] = [:]
        for partner in rules.partners {
            let policy = rules.offerPolicy(for: partner)
            if keeps(policy) { policies[partner.id] = policy }
        }
        return policies
    }

    /// The case ``route(_:now:previousOwner:appendingTo:decision:)`` left for the lead it just
    /// routed (``heldCase``), once.
    public mutating func takeHeldCase() -> LeadCase? {
        guard case .some(let held) = heldCase else { return nil }
        heldCase = nil
        return held
    }

    /// The policy for leads offered to `partnerID`.
    public func offerPolicy(for partnerID: String) -> OfferPolicy {
        offerPolicies[partnerID] ?? router.partner(partnerID).map { $0.offers?.applied(to: defaultOfferPolicy) ?? defaultOfferPolicy }
            ?? defaultOfferPolicy
    }

    /// Runs `body` with routing for one lead (`facts`), for ``OfferMachine``: rotation and
    /// capacity advance in this pipeline's router.
    public mutating func withOfferRouting<T>(for facts: LeadFacts, _ body: (inout PipelineOfferRouting) -> T) -> T {
        var routing = PipelineOfferRouting(pipeline: self, facts: facts)
        // The router moves into `routing` for the call, so its arrays are not copied.
        router = LeadPipeline.placeholderRouter
        defer { router = routing.router }
        return body(&routing)
    }

    private static let placeholderRouter = Router(partners: [], unmatched: .vendorSales)

    // MARK: - Envelopes

    /// The envelopes that publish `event` of `lead` at `now`, numbered on their topics.
    /// `leadBytes` is the lead as received; `decision`, the routing decision of a first offer.
    public mutating func caseEnvelopes(for event: CaseEvent, of lead: LeadCase, lead leadBytes: [UInt8], now: Int64,
                                       decision: RoutingDecision? = nil) -> [OutgoingMessage] {
        let at = Timestamp.rfc3339(millisecondsSince1970: now)
        switch event {
        case .offered(let partner, let engagement, let acceptBy, let attempt):
            let withhold = offerPolicy(for: partner).withhold
            return [partnerEnvelope("offer", partner, lead, engagement: engagement, at: at) { json in
                json.field("attempt", attempt)
                json.field("accept_by", Timestamp.rfc3339(millisecondsSince1970: acceptBy))
                json.field("withheld", withhold)
                json.field("lead", rawJSON: RawJSON.removingTopLevelFields(withhold, from: leadBytes))
                if let decision {
                    json.field("rule", decision.rule.rawValue)
                    json.field("reasons", elements: decision.reasonList.elements)
                    if let qualification = decision.qualification { json.qualification(qualification) }
                } else {
                    json.field("reasons", [OfferMachine.summary(lead) + "; offered on"])
                }
            }]
        case .assigned(let partner, let engagement, _):
            return engagementEnvelopes("assignment", partner, engagement, lead, leadBytes, at: at,
                                       reasons: [OfferMachine.summary(lead) + "; assigned on (\(partner) takes no offers)"])
        case .accepted(let partner, let engagement, let claimed):
            return engagementEnvelopes("accepted", partner, engagement, lead, leadBytes, at: at,
                                       reasons: [claimed ? "claimed by \(partner) from the pool" : "accepted by \(partner)"])
        case .declined:
            return []
        case .expired(let partner, let acceptBy):
            return [partnerEnvelope("expired", partner, lead, at: at) { json in
                json.field("accept_by", Timestamp.rfc3339(millisecondsSince1970: acceptBy))
            }]
        case .withdrawn(let partner, let reason):
            return [partnerEnvelope("withdrawn", partner, lead, at: at) { json in
                json.field("reason", LeadPipeline.withdrawalReason(reason))
            }]
        case .claimOpen(let partners, let claimBy):
            var messages: [OutgoingMessage] = []
            for partner in partners {
                let withhold = offerPolicy(for: partner).withhold
                let engagement = router.partner(partner)?.engagement
                messages.append(partnerEnvelope("claim_open", partner, lead, engagement: engagement, at: at) { json in
                    json.field("claim_by", Timestamp.rfc3339(millisecondsSince1970: claimBy))
                    json.field("withheld", withhold)
                    json.field("lead", rawJSON: RawJSON.removingTopLevelFields(withhold, from: leadBytes))
                    json.field("reasons", [OfferMachine.summary(lead) + "; open to every eligible partner not yet tried: first claim wins"])
                })
            }
            return messages
        default:
            return vendorEnvelopes(for: event, of: lead, lead: leadBytes, at: at)
        }
    }

    /// Envelopes for vendor sales, nurture and `outcomes/`.
    private mutating func vendorEnvelopes(for event: CaseEvent, of lead: LeadCase, lead leadBytes: [UInt8], at: String) -> [OutgoingMessage] {
        switch event {
        case .vendorRequest(let partner, let mode, let need, let note):
            return [envelope(FeedTopic.vendorSales, "vendor_request", lead, at: at) { json in
                json.field("partner_id", partner)
                json.field("engagement", lead.engagement?.rawValue)
                json.field("role", mode.role.rawValue)
                json.field("mode", mode.rawValue)
                json.field("need", need)
                json.field("note", note)
                json.field("lead", rawJSON: leadBytes)
            }]
        case .vendorReleased(let partner, let roles):
            return [envelope(FeedTopic.vendorSales, "withdrawn", lead, at: at) { json in
                json.field("partner_id", partner)
                json.field("roles", roles.map(\.rawValue))
                json.field("reason", LeadPipeline.withdrawalReason(.pulledBack))
            }]
        case .handedBack(let partner, let reason, let note):
            return [envelope(FeedTopic.vendorSales, "handed_back", lead, at: at) { json in
                json.field("partner_id", nil as String?)
                json.field("role", Assignment.Role.direct.rawValue)
                json.field("handed_back_by", partner)
                json.field("reason", reason)
                json.field("note", note)
                json.field("lead", rawJSON: leadBytes)
            }]
        case .outcome(let partner, let stage, let value, let currency, let reason, let note):
            return [envelope(FeedTopic.outcomes, "outcome", lead, at: at) { json in
                json.field("partner_id", partner)
                json.field("stage", stage.rawValue)
                json.field("value", value)
                json.field("currency", currency)
                json.field("reason", reason?.rawValue)
                json.field("note", note)
            }]
        case .toVendorSales(let reason), .toNurture(let reason):
            let isVendor = if case .toVendorSales = event { true } else { false }
            return [envelope(isVendor ? FeedTopic.vendorSales : FeedTopic.nurture, "assignment", lead, at: at) { json in
                json.field("partner_id", nil as String?)
                json.field("engagement", nil as String?)
                json.field("role", (isVendor ? Assignment.Role.direct : .nurture).rawValue)
                json.field("lead", rawJSON: leadBytes)
                json.field("reasons", [reason])
            }]
        default:
            return []
        }
    }

    /// The partner's envelope and vendor sales' copy of the engagement (`co_seller`, `closer`).
    private mutating func engagementEnvelopes(_ type: String, _ partner: String, _ engagement: EngagementModel, _ lead: LeadCase,
                                              _ leadBytes: [UInt8], at: String, reasons: [String]) -> [OutgoingMessage] {
        var messages = [partnerEnvelope(type, partner, lead, engagement: engagement, at: at) { json in
            json.field("lead", rawJSON: leadBytes)
            json.field("reasons", reasons)
        }]
        guard let role = LeadCase.vendorRoles(for: engagement).first else { return messages }
        messages.append(envelope(FeedTopic.vendorSales, "assignment", lead, at: at) { json in
            json.field("partner_id", partner)
            json.field("engagement", engagement.rawValue)
            json.field("role", role.rawValue)
            json.field("lead", rawJSON: leadBytes)
            json.field("reasons", reasons)
        })
        return messages
    }

    /// An envelope on `partner/P/`, naming P, its engagement and role.
    private mutating func partnerEnvelope(_ type: String, _ partner: String, _ lead: LeadCase, engagement: EngagementModel? = nil,
                                          at: String, _ body: (inout JSONWriter) -> Void) -> OutgoingMessage {
        envelope(FeedTopic.partner(partner), type, lead, at: at) { json in
            json.field("partner_id", partner)
            if let engagement {
                json.field("engagement", engagement.rawValue)
                json.field("role", (engagement == .vendorCloses ? Assignment.Role.relationshipOwner : .owner).rawValue)
            }
            body(&json)
        }
    }

    /// `{"seq","topic","type","assignment_id","lead_id", …body…, "at"}`, numbered on `topic`.
    private mutating func envelope(_ topic: String, _ type: String, _ lead: LeadCase, at: String,
                                   _ body: (inout JSONWriter) -> Void) -> OutgoingMessage {
        let seq = nextSeq(topic)
        var json = JSONWriter(capacity: 1024)
        json.beginObject()
        json.field("seq", seq)
        json.field("topic", topic)
        json.field("type", type)
        json.field("assignment_id", lead.assignmentID)
        json.field("lead_id", lead.leadID)
        body(&json)
        if type == "assignment" { json.field("routed_at", at) } else { json.field("at", at) }
        json.endObject()
        countPublished(1)
        return OutgoingMessage(topic: topic, seq: seq, envelope: json.bytes)
    }

    static func withdrawalReason(_ result: LeadCase.PartnerResult) -> String {
        switch result {
        case .taken: "claimed_by_another"
        case .poolClosed: "pool_closed"
        case .pulledBack: "follow_up_missed"
        default: result.rawValue
        }
    }
}

/// ``OfferRouting`` from a pipeline's router, for one lead.
public struct PipelineOfferRouting: OfferRouting {
    var router: Router
    let facts: LeadFacts
    let policies: [String: OfferPolicy]
    let defaults: OfferPolicy

    init(pipeline: LeadPipeline, facts: LeadFacts) {
        router = pipeline.router
        self.facts = facts
        policies = pipeline.offerPolicies
        defaults = pipeline.defaultOfferPolicy
    }

    public func policy(for partnerID: String) -> OfferPolicy {
        policies[partnerID] ?? router.partner(partnerID).map { $0.offers?.applied(to: defaults) ?? defaults } ?? defaults
    }

    public func engagement(of partnerID: String) -> EngagementModel? { router.partner(partnerID)?.engagement }

    public mutating func nextPartner(excluding excluded: Set<String>, now: Int64) -> (id: String, engagement: EngagementModel)? {
        router.nextPartner(for: facts, excluding: excluded, now: now).map { ($0.id, $0.engagement) }
    }

    public mutating func poolPartners(excluding excluded: Set<String>, now: Int64) -> [String] {
        router.eligiblePartners(for: facts, excluding: excluded, now: now)
    }
}
