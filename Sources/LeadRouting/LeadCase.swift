/// A lead's life after routing, while partners act on it: whom it is offered to, who took
/// it, who declined or let it expire, what vendor sales was asked to do and how the deal
/// went. Pure data; ``OfferMachine`` moves it from state to state.
public struct LeadCase: Sendable, Equatable {
    /// Where the lead stands as a whole.
    public enum State: String, Sendable, Equatable, CaseIterable {
        /// Offered to ``partnerID`` until ``deadline`` (`accept_by`).
        case offered
        /// Open for claims by every partner in ``pool`` until ``deadline`` (`claim_by`).
        case pooled
        /// Taken by ``partnerID``; ``deadline``, when set, is when an outcome is due.
        case accepted
        /// Final: ``partnerID`` reported the deal won or lost.
        case won, lost
        /// Final: ``partnerID`` handed it back and vendor sales works it directly.
        case handedBack = "handed_back"
        /// Final: nobody took it; vendor sales works it directly.
        case vendorSales = "vendor_sales"
        /// Final: held back from partners in nurture.
        case nurture

        /// Whether nothing more can happen to the lead.
        public var isFinal: Bool { ![.offered, .pooled, .accepted].contains(self) }
    }

    /// What became of a partner that was offered the lead (or could claim it) and does not hold it.
    public enum PartnerResult: String, Sendable, Equatable, CaseIterable {
        case declined, expired
        /// Another partner claimed the pooled lead first.
        case taken
        /// Nobody claimed the pooled lead in time.
        case poolClosed = "pool_closed"
        /// Accepted, but no outcome was reported in time (`follow_up_within`).
        case pulledBack = "pulled_back"
        case handedBack = "handed_back"
    }

    public struct Tried: Sendable, Equatable {
        public var partnerID: String
        public var result: PartnerResult
        public init(_ partnerID: String, _ result: PartnerResult) {
            self.partnerID = partnerID
            self.result = result
        }
    }

    public var leadID: String
    public var assignmentID: String
    public var state: State
    /// The partner offered the lead, or holding it (or that held it, once final).
    public var partnerID: String?
    /// That partner's engagement model, as it was when the lead was offered.
    public var engagement: EngagementModel?
    /// `accept_by` (offered), `claim_by` (pooled), or when an outcome is due (accepted);
    /// milliseconds since 1970.
    public var deadline: Int64?
    /// Partners offered the lead so far, one after another.
    public var offers: Int
    /// Offered to its deal registrant only: nobody else is offered it.
    public var registered: Bool
    /// Partners that had their turn, in order, and what became of each.
    public var tried: [Tried]
    /// Partners that may claim the pooled lead.
    public var pool: [String]
    /// The roles vendor sales holds on the lead (`co_seller`, `closer`).
    public var vendorRoles: [Assignment.Role]
    /// The last outcome stage reported.
    public var stage: OutcomeStage?

    public init(leadID: String, assignmentID: String, state: State, partnerID: String? = nil,
                engagement: EngagementModel? = nil, deadline: Int64? = nil, offers: Int = 0, registered: Bool = false,
                tried: [Tried] = [], pool: [String] = [], vendorRoles: [Assignment.Role] = [], stage: OutcomeStage? = nil) {
        self.leadID = leadID
        self.assignmentID = assignmentID
        self.state = state
        self.partnerID = partnerID
        self.engagement = engagement
        self.deadline = deadline
        self.offers = offers
        self.registered = registered
        self.tried = tried
        self.pool = pool
        self.vendorRoles = vendorRoles
        self.stage = stage
    }

    /// A lead assigned without an offer (offers off for its partner): accepted from the start.
    public static func assigned(leadID: String, assignmentID: String, partnerID: String, engagement: EngagementModel) -> LeadCase {
        LeadCase(leadID: leadID, assignmentID: assignmentID, state: .accepted, partnerID: partnerID, engagement: engagement,
                 vendorRoles: LeadCase.vendorRoles(for: engagement))
    }

    /// The roles vendor sales holds from the start under an engagement model.
    public static func vendorRoles(for engagement: EngagementModel) -> [Assignment.Role] {
        switch engagement {
        case .leadsOnly: []
        case .coSell: [.coSeller]
        case .vendorCloses: [.closer]
        }
    }

    /// What became of `partner`, if it had its turn.
    public func result(of partner: String) -> PartnerResult? {
        tried.last { $0.partnerID == partner }?.result
    }

    /// Partners never to be offered the lead again: those that had their turn, and the one
    /// offered or holding it.
    public var excluded: Set<String> {
        var set = Set(tried.map(\.partnerID))
        if let partnerID { set.insert(partnerID) }
        return set
    }

    /// Whether the lead waits on a deadline, and so is kept in memory.
    public var isOpen: Bool { deadline != nil }
}

// MARK: - Stored form

/// The compact text a case is stored as, read back fast at start-up (a million open offers
/// in well under a second): `key=value` pairs separated by `;`. Partner ids are
/// `[a-z0-9-]`, so `,`, `:`, `;` and `=` never occur in them.
extension LeadCase {
    public var encoded: String {
        var parts = ["s=\(state.rawValue)", "a=\(assignmentID)", "o=\(offers)"]
        if let partnerID { parts.append("p=\(partnerID)") }
        if let engagement { parts.append("e=\(engagement.rawValue)") }
        if let deadline { parts.append("d=\(deadline)") }
        if registered { parts.append("r=1") }
        if !tried.isEmpty { parts.append("t=" + tried.map { "\($0.partnerID):\($0.result.rawValue)" }.joined(separator: ",")) }
        if !pool.isEmpty { parts.append("l=" + pool.joined(separator: ",")) }
        if !vendorRoles.isEmpty { parts.append("v=" + vendorRoles.map(\.rawValue).joined(separator: ",")) }
        if let stage { parts.append("g=\(stage.rawValue)") }
        return parts.joined(separator: ";")
    }

    /// Reads ``encoded`` back from its UTF-8 bytes, without intermediate strings (start-up
    /// reads every open case this way); `nil` when it is not a case's stored form.
    public init?(leadID: String, encodedBytes bytes: UnsafeBufferPointer<UInt8>) {
        var fields = LeadCase(leadID: leadID, assignmentID: "", state: .offered)
        var sawState = false
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: ";") { end += 1 }
            guard end - start >= 2, bytes[start + 1] == UInt8(ascii: "=") else { return nil }
            let value = UnsafeBufferPointer(rebasing: bytes[(start + 2)..<end])
            switch bytes[start] {
            case UInt8(ascii: "s"):
                guard let state = State(rawValue: String(decoding: value, as: UTF8.self)) else { return nil }
                fields.state = state
                sawState = true
            case UInt8(ascii: "a"): fields.assignmentID = String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "o"): fields.offers = Int(LeadCase.integer(value) ?? 0)
            case UInt8(ascii: "p"): fields.partnerID = String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "e"): fields.engagement = EngagementModel(rawValue: String(decoding: value, as: UTF8.self))
            case UInt8(ascii: "d"): fields.deadline = LeadCase.integer(value)
            case UInt8(ascii: "r"): fields.registered = value.first == UInt8(ascii: "1")
            default:
                // Lists are rare in open cases: read them the plain way.
                guard let rest = LeadCase(leadID: leadID, encoded: "s=offered;" + String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)) else { return nil }
                fields.tried += rest.tried
                fields.pool += rest.pool
                fields.vendorRoles += rest.vendorRoles
                fields.stage = rest.stage ?? fields.stage
            }
            start = end + 1
        }
        guard sawState else { return nil }
        self = fields
    }

    private static func integer(_ digits: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        var negative = false
        for (i, byte) in digits.enumerated() {
            if i == 0 && byte == UInt8(ascii: "-") { negative = true; continue }
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value &* 10 &+ Int64(byte - 0x30)
        }
        return negative ? -value : value
    }

    /// Reads ``encoded`` back; `nil` when it is not a case's stored form.
    public init?(leadID: String, encoded: String) {
        var state: State?
        var assignmentID = ""
        var fields = LeadCase(leadID: leadID, assignmentID: "", state: .offered)
        for part in encoded.split(separator: ";") {
            guard let eq = part.firstIndex(of: "=") else { return nil }
            let key = part[..<eq], value = part[part.index(after: eq)...]
            switch key {
            case "s": state = State(rawValue: String(value))
            case "a": assignmentID = String(value)
            case "o": fields.offers = Int(value) ?? 0
            case "p": fields.partnerID = String(value)
            case "e": fields.engagement = EngagementModel(rawValue: String(value))
            case "d": fields.deadline = Int64(value)
            case "r": fields.registered = value == "1"
            case "t":
                fields.tried = value.split(separator: ",").compactMap { item in
                    guard let colon = item.firstIndex(of: ":"),
                          let result = PartnerResult(rawValue: String(item[item.index(after: colon)...])) else { return nil }
                    return Tried(String(item[..<colon]), result)
                }
            case "l": fields.pool = value.split(separator: ",").map(String.init)
            case "v": fields.vendorRoles = value.split(separator: ",").compactMap { Assignment.Role(rawValue: String($0)) }
            case "g": fields.stage = OutcomeStage(rawValue: String(value))
            default: continue  // a key from a later version
            }
        }
        guard let state else { return nil }
        fields.state = state
        fields.assignmentID = assignmentID
        self = fields
    }
}
