/// The words of the control protocol (docs/protocol.md, "Control"): the actions a partner
/// takes on its leads and the codes each names.
public enum PartnerAction: String, Sendable, Equatable, CaseIterable {
    case accept, decline, claim
    case requestVendor = "request_vendor"
    case handBack = "hand_back"
    case outcome, status
}

/// Why a partner declines an offer (`decline`'s `reason`).
public enum DeclineReason: String, Sendable, Equatable, CaseIterable {
    case notInTerritory = "not_in_territory"
    case noCapacity = "no_capacity"
    case notQualified = "not_qualified"
    case duplicate
    case customerUnreachable = "customer_unreachable"
    case conflict
    case other
}

/// What a partner asks of vendor sales on an accepted lead (`request_vendor`'s `mode`).
public enum VendorMode: String, Sendable, Equatable, CaseIterable {
    /// Vendor sales joins the deal (role `co_seller`).
    case coSell = "co_sell"
    /// Vendor sales closes the deal (role `closer`); the partner keeps the relationship.
    case close

    /// The role vendor sales takes.
    public var role: Assignment.Role { self == .coSell ? .coSeller : .closer }
}

/// How far a partner got with a lead (`outcome`'s `stage`); `won` and `lost` are final.
public enum OutcomeStage: String, Sendable, Equatable, CaseIterable {
    case contacted, qualified, proposal, won, lost
    public var isFinal: Bool { self == .won || self == .lost }
}

/// Why a deal was lost (`outcome`'s `reason` with `stage: lost`).
public enum LostReason: String, Sendable, Equatable, CaseIterable {
    case price, competitor
    case noDecision = "no_decision"
    case noBudget = "no_budget"
    case other
}

/// Error codes of control replies.
public enum ControlErrorCode: String, Sendable, Equatable, CaseIterable {
    case invalidJSON = "invalid_json"
    case invalidAction = "invalid_action"
    case invalidField = "invalid_field"
    /// No such lead for this partner (also another partner's lead: never reveal that it exists).
    case notFound = "not_found"
    case expired
    case alreadyTaken = "already_taken"
    case wrongState = "wrong_state"
    case unauthorized
    /// The store could not record the action; nothing changed: retry later.
    case storageUnavailable = "storage_unavailable"
    /// The daemon is stopping; nothing changed: retry after it restarts.
    case unavailable
}
