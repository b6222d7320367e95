/// Replies on the control endpoint, one frame of JSON each:
/// `{"request_id","status":"ok","action","lead_id","partner_id","state",…}` or
/// `{"request_id","status":"error","lead_id","error":{"code","message","field"}}`.
public enum ControlReply {
    /// The action took effect (or had already): the lead's state for the partner, its
    /// deadline, and as much of the lead as the partner may see.
    public static func ok(_ request: PartnerRequest, _ view: PartnerView, lead: [UInt8], withhold: [String]) -> [UInt8] {
        var json = JSONWriter(capacity: 256 + lead.count)
        json.beginObject()
        json.field("request_id", request.requestID)
        json.field("status", "ok")
        json.field("action", request.action.rawValue)
        json.field("lead_id", request.leadID)
        json.field("partner_id", request.partnerID)
        json.field("state", view.state)
        if let acceptBy = view.acceptBy { json.field("accept_by", Timestamp.rfc3339(millisecondsSince1970: acceptBy)) }
        if let claimBy = view.claimBy { json.field("claim_by", Timestamp.rfc3339(millisecondsSince1970: claimBy)) }
        if let stage = view.stage { json.field("stage", stage.rawValue) }
        if !view.vendorRoles.isEmpty { json.field("vendor_roles", view.vendorRoles.map(\.rawValue)) }
        switch view.lead {
        case .none: break
        case .withheld:
            json.field("withheld", withhold)
            json.field("lead", rawJSON: RawJSON.removingTopLevelFields(withhold, from: lead))
        case .whole:
            json.field("lead", rawJSON: lead)
        }
        json.endObject()
        return json.bytes
    }

    /// The action was refused; nothing changed.
    public static func error(_ error: ControlError) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("request_id", error.requestID)
        json.field("status", "error")
        json.field("lead_id", error.leadID)
        json.objectField("error")
        json.field("code", error.code.rawValue)
        json.field("message", error.message)
        if let field = error.field { json.field("field", field) }
        json.endObject()
        json.endObject()
        return json.bytes
    }
}
