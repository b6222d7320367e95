import Foundation

/// A lead's history after routing: one JSON line per step (offers, actions, deadlines),
/// stored with its case and printed by `leadctl explain`.
extension CaseEvent {
    /// The step as one line of JSON ending in a newline:
    /// `{"at":"…","event":"declined","partner_id":"acme","reason":"not_qualified"}`.
    public func historyLine(at now: Int64) -> [UInt8] {
        var json = JSONWriter(capacity: 192)
        json.beginObject()
        json.field("at", Timestamp.rfc3339(millisecondsSince1970: now))
        writeStep(into: &json)
        json.endObject()
        json.endLine()
        return json.bytes
    }

    /// The step's own fields: `event` and what it names.
    private func writeStep(into json: inout JSONWriter) {
        switch self {
        case .offered(let partner, let engagement, let acceptBy, let attempt):
            json.field("event", "offered")
            json.field("partner_id", partner)
            json.field("engagement", engagement.rawValue)
            json.field("attempt", attempt)
            json.field("accept_by", Timestamp.rfc3339(millisecondsSince1970: acceptBy))
        case .assigned(let partner, let engagement, let attempt):
            json.field("event", "assigned")
            json.field("partner_id", partner)
            json.field("engagement", engagement.rawValue)
            json.field("attempt", attempt)
        case .accepted(let partner, _, let claimed):
            json.field("event", claimed ? "claimed" : "accepted")
            json.field("partner_id", partner)
        case .declined(let partner, let reason, let note):
            json.field("event", "declined")
            json.field("partner_id", partner)
            json.field("reason", reason.rawValue)
            if let note { json.field("note", note) }
        case .expired(let partner, let acceptBy):
            json.field("event", "expired")
            json.field("partner_id", partner)
            json.field("accept_by", Timestamp.rfc3339(millisecondsSince1970: acceptBy))
        case .withdrawn(let partner, let reason):
            json.field("event", "withdrawn")
            json.field("partner_id", partner)
            json.field("reason", LeadPipeline.withdrawalReason(reason))
        case .vendorReleased(let partner, let roles):
            json.field("event", "vendor_released")
            json.field("partner_id", partner)
            json.field("roles", roles.map(\.rawValue))
        case .claimOpen(let partners, let claimBy):
            json.field("event", "claim_open")
            json.field("partners", partners)
            json.field("claim_by", Timestamp.rfc3339(millisecondsSince1970: claimBy))
        case .vendorRequest(let partner, let mode, let need, let note):
            json.field("event", "vendor_request")
            json.field("partner_id", partner)
            json.field("mode", mode.rawValue)
            if let need { json.field("need", need) }
            if let note { json.field("note", note) }
        default:
            writeLaterStep(into: &json)
        }
    }

    /// Steps on an accepted lead, and where a lead nobody took went.
    private func writeLaterStep(into json: inout JSONWriter) {
        switch self {
        case .handedBack(let partner, let reason, let note):
            json.field("event", "handed_back")
            json.field("partner_id", partner)
            if let reason { json.field("reason", reason) }
            if let note { json.field("note", note) }
        case .outcome(let partner, let stage, let value, let currency, let reason, let note):
            json.field("event", "outcome")
            json.field("partner_id", partner)
            json.field("stage", stage.rawValue)
            if let value { json.field("value", value) }
            if let currency { json.field("currency", currency) }
            if let reason { json.field("reason", reason.rawValue) }
            if let note { json.field("note", note) }
        case .toVendorSales(let reason):
            json.field("event", "vendor_sales")
            json.field("reason", reason)
        case .toNurture(let reason):
            json.field("event", "nurture")
            json.field("reason", reason)
        default:
            break
        }
    }
}

/// A case as a commit writes it: its new stored form and the history lines it adds.
public struct CaseWrite: Sendable, Equatable {
    public var lead: LeadCase
    /// JSON lines to append to the case's history.
    public var history: [UInt8]
    public var updatedAt: Int64

    public init(lead: LeadCase, history: [UInt8], updatedAt: Int64) {
        self.lead = lead
        self.history = history
        self.updatedAt = updatedAt
    }
}

/// What the store knows of a routed lead, for acting on it: its bytes, the partner it was
/// routed to, and its case when it has one.
public struct CaseRecord: Sendable, Equatable {
    public var lead: [UInt8]
    public var partnerID: String?
    public var assignmentID: String
    public var stored: LeadCase?
    /// The partner's engagement as published when the lead was routed (from its stored
    /// decision), for a lead assigned without an offer; `nil` when unknown.
    public var engagement: EngagementModel?

    public init(lead: [UInt8], partnerID: String?, assignmentID: String, stored: LeadCase?, engagement: EngagementModel? = nil) {
        self.lead = lead
        self.partnerID = partnerID
        self.assignmentID = assignmentID
        self.stored = stored
        self.engagement = engagement
    }

    /// The engagement a stored decision record (binary or JSON) published the lead under:
    /// the roles of its assignments (`relationship_owner`/`closer`: vendor_closes,
    /// `co_seller`: co_sell, `owner` alone: leads_only); `nil` without a partner's assignment.
    public static func engagement(decision: [UInt8], assignmentID: String, partnerID: String?) -> EngagementModel? {
        guard partnerID != nil, !decision.isEmpty else { return nil }
        let json = BinaryRecord.json(decision, assignmentID: assignmentID, partnerID: partnerID)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any],
              let assignments = object["assignments"] as? [[String: Any]] else { return nil }
        let roles = Set(assignments.compactMap { $0["role"] as? String })
        if roles.contains(Assignment.Role.relationshipOwner.rawValue) || roles.contains(Assignment.Role.closer.rawValue) { return .vendorCloses }
        if roles.contains(Assignment.Role.coSeller.rawValue) { return .coSell }
        return roles.contains(Assignment.Role.owner.rawValue) ? .leadsOnly : nil
    }
}
