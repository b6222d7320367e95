import Foundation

/// A control request as read off the control endpoint: one partner's action on one lead.
public struct PartnerRequest: Sendable, Equatable {
    public var requestID: String?
    public var action: PartnerAction
    public var leadID: String
    /// The partner acting (with CURVE, the key's partner).
    public var partnerID: String
    public var declineReason: DeclineReason?
    /// `hand_back`'s reason (free text).
    public var reasonText: String?
    public var mode: VendorMode?
    public var need: String?
    public var note: String?
    public var stage: OutcomeStage?
    public var value: Double?
    public var currency: String?
    public var lostReason: LostReason?

    public init(requestID: String? = nil, action: PartnerAction, leadID: String, partnerID: String) {
        self.requestID = requestID
        self.action = action
        self.leadID = leadID
        self.partnerID = partnerID
    }

    /// The largest control request taken (a request is a few hundred bytes).
    public static let maxBytes = 16_384
    /// The longest `note`, `need` or hand-back `reason`, in characters.
    public static let maxTextLength = 2000
}

/// A control request that cannot be carried out as sent: the reply's error, and what of the
/// request could be read, to echo.
public struct ControlError: Error, Sendable, Equatable {
    public var code: ControlErrorCode
    public var message: String
    /// The request field at fault, when one is.
    public var field: String?
    public var requestID: String?
    public var leadID: String?

    public init(_ code: ControlErrorCode, _ message: String, field: String? = nil, requestID: String? = nil, leadID: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.requestID = requestID
        self.leadID = leadID
    }
}

extension PartnerRequest {
    /// Reads one control request: one frame of JSON, at most ``maxBytes``. Unknown fields
    /// are ignored (later versions may add some); known ones must have the right type and value.
    ///
    /// - Parameter authenticated: with CURVE, the partner the sender's key belongs to: then
    ///   `partner_id` may be left out, and any other value is `unauthorized`.
    public static func parse(_ frames: [[UInt8]], totalSize: Int, authenticated: String? = nil) -> Result<PartnerRequest, ControlError> {
        guard frames.count == 1 else {
            return .failure(ControlError(.invalidJSON, "a control request is one frame of JSON, got \(frames.count) frames"))
        }
        guard totalSize <= maxBytes else {
            return .failure(refusal(ControlError(.invalidJSON, "a control request is at most \(maxBytes) bytes, got \(totalSize)"),
                                    of: frames, totalSize: totalSize))
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(frames[0]), options: [])) as? [String: Any] else {
            return .failure(ControlError(.invalidJSON, "a control request is one JSON object, such as {\"action\": \"accept\", \"lead_id\": \"web-1\", \"partner_id\": \"acme\"}"))
        }
        var reader = FieldReader(object: object, authenticated: authenticated)
        do {
            let request = try reader.request(requestID: reader.string("request_id", maxLength: 128))
            return .success(request)
        } catch {
            return .failure(echoing(error, object))
        }
    }

    /// `error` refusing the request in `frames` before it was read (its sender may not act
    /// at all, or it is too large), with the request's `request_id` and `lead_id` echoed when
    /// it has them, as every reply to a request that names them does. Only a frame received
    /// whole is read (`totalSize` its size on the wire: the daemon copies at most its
    /// message limit).
    public static func refusal(_ error: ControlError, of frames: [[UInt8]], totalSize: Int) -> ControlError {
        guard frames.count == 1, frames[0].count == totalSize,
              let object = (try? JSONSerialization.jsonObject(with: Data(frames[0]), options: [])) as? [String: Any] else {
            return error
        }
        return echoing(error, object)
    }

    private static func echoing(_ error: ControlError, _ object: [String: Any]) -> ControlError {
        var error = error
        error.requestID = FieldReader(object: object, authenticated: nil).string("request_id", maxLength: 128)
        error.leadID = object["lead_id"] as? String
        return error
    }
}

/// Reads a request's fields with their types checked.
private struct FieldReader {
    let object: [String: Any]
    let authenticated: String?

    mutating func request(requestID: String?) throws(ControlError) -> PartnerRequest {
        if object["request_id"] != nil && requestID == nil {
            throw ControlError(.invalidField, "request_id must be a string of at most 128 characters", field: "request_id")
        }
        guard let actionText = object["action"] else {
            throw ControlError(.invalidAction, "action is required: one of \(names(PartnerAction.self))", field: "action")
        }
        guard let text = actionText as? String, let action = PartnerAction(rawValue: text) else {
            throw ControlError(.invalidAction, "unknown action \(describe(actionText)): expected one of \(names(PartnerAction.self))", field: "action")
        }
        let leadID = try required("lead_id", maxLength: 128)
        guard LeadParser.isValidLeadID(leadID) else {
            throw ControlError(.invalidField, "lead_id must be 1-128 characters of [A-Za-z0-9._:-]", field: "lead_id")
        }
        let partnerID = try partner()
        var request = PartnerRequest(requestID: requestID, action: action, leadID: leadID, partnerID: partnerID)
        request.note = try optionalText("note")
        switch action {
        case .accept, .claim, .status: break
        case .decline: request.declineReason = try optionalCode("reason", DeclineReason.self)
        case .requestVendor:
            request.mode = try code("mode", VendorMode.self)
            request.need = try optionalText("need")
        case .handBack:
            request.reasonText = try optionalText("reason")
            if request.reasonText?.isEmpty == true {
                throw ControlError(.invalidField, "reason, when given, says why the lead is handed back: not empty", field: "reason")
            }
        case .outcome: try outcome(into: &request)
        }
        return request
    }

    /// `partner_id`, or with CURVE the key's partner.
    private func partner() throws(ControlError) -> String {
        guard let authenticated else { return try required("partner_id", maxLength: 63) }
        guard object["partner_id"] != nil else { return authenticated }
        let named = try required("partner_id", maxLength: 63)
        guard named == authenticated else {
            throw ControlError(.unauthorized, "this key belongs to partner \(authenticated), not \(named)", field: "partner_id")
        }
        return named
    }

    private func outcome(into request: inout PartnerRequest) throws(ControlError) {
        let stage = try code("stage", OutcomeStage.self)
        request.stage = stage
        // `null` is taken as absent, as for every optional field.
        if let value = object["value"], !(value is NSNull) {
            guard let number = value as? NSNumber, !isBool(number),
                  number.doubleValue.isFinite, number.doubleValue >= 0 else {
                throw ControlError(.invalidField, "value must be a number of 0 or more", field: "value")
            }
            request.value = number.doubleValue
        }
        if let currency = object["currency"], !(currency is NSNull) {
            guard let text = currency as? String, text.count == 3, text.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                throw ControlError(.invalidField, "currency must be an ISO 4217 code such as \"USD\"", field: "currency")
            }
            request.currency = text
        }
        if stage == .lost {
            request.lostReason = try optionalCode("reason", LostReason.self)
        } else if let reason = object["reason"], !(reason is NSNull) {
            throw ControlError(.invalidField, "reason is for stage lost only (one of \(names(LostReason.self)))", field: "reason")
        }
    }

    func string(_ name: String, maxLength: Int) -> String? {
        guard let text = object[name] as? String, text.count <= maxLength else { return nil }
        return text
    }

    private func required(_ name: String, maxLength: Int) throws(ControlError) -> String {
        guard let value = object[name] else { throw ControlError(.invalidField, "\(name) is required", field: name) }
        guard let text = value as? String, !text.isEmpty, text.count <= maxLength else {
            throw ControlError(.invalidField, "\(name) must be a string of 1-\(maxLength) characters, got \(describe(value))", field: name)
        }
        return text
    }

    private func optionalText(_ name: String) throws(ControlError) -> String? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let text = value as? String, text.count <= PartnerRequest.maxTextLength else {
            throw ControlError(.invalidField, "\(name) must be a string of at most \(PartnerRequest.maxTextLength) characters", field: name)
        }
        return text
    }

    private func code<Code: RawRepresentable & CaseIterable>(_ name: String, _ type: Code.Type) throws(ControlError) -> Code
    where Code.RawValue == String {
        guard let value = object[name] else {
            throw ControlError(.invalidField, "\(name) is required: one of \(names(type))", field: name)
        }
        guard let text = value as? String, let code = Code(rawValue: text) else {
            throw ControlError(.invalidField, "\(name) must be one of \(names(type)), got \(describe(value))", field: name)
        }
        return code
    }

    /// `name`'s code when the request has one (`null` counts as none).
    private func optionalCode<Code: RawRepresentable & CaseIterable>(_ name: String, _ type: Code.Type) throws(ControlError) -> Code?
    where Code.RawValue == String {
        guard let value = object[name], !(value is NSNull) else { return nil }
        return try code(name, type)
    }

    private func names<Code: RawRepresentable & CaseIterable>(_ type: Code.Type) -> String where Code.RawValue == String {
        type.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// JSON's `true` and `false` (Foundation reads them as numbers of type `c`).
    private func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    private func describe(_ value: Any) -> String {
        if let text = value as? String { return "\"\(text.prefix(64))\"" }
        if value is NSNull { return "null" }
        if let number = value as? NSNumber { return isBool(number) ? (number.boolValue ? "true" : "false") : "\(number)" }
        if value is [Any] { return "an array" }
        return "an object"
    }
}
