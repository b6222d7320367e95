/// Where a lead goes once `max_offers` partners have been offered it without taking it.
public enum OfferFallback: String, Sendable, Equatable, CaseIterable {
    /// Vendor sales works it directly (`vendor-sales/`, role `direct`).
    case vendorSales = "vendor-sales"
    /// Marketing nurtures it (`nurture/`).
    case nurture
    /// Every eligible partner not yet tried may claim it (`claim_open`) until `pool_window`
    /// passes; first claim wins. Unclaimed: vendor sales gets it as `direct`.
    case pool
}

/// The `offers:` section (and, merged with a partner's own `offers:`, the policy for that
/// partner): how long a partner has to accept an offered lead, and what happens when nobody
/// takes it. Durations are in seconds.
public struct OfferPolicy: Sendable, Equatable {
    /// `accept_within`: 0 means no offers (an assignment is final, as in v1).
    public var acceptWithin: Int64
    /// `max_offers`: partners offered a lead, one after another, before ``then``.
    public var maxOffers: Int
    /// `then`.
    public var then: OfferFallback
    /// `pool_window`: how long a pooled lead may be claimed.
    public var poolWindow: Int64
    /// `withhold`: top-level lead fields left out of an offer (and a `claim_open`) until it is taken.
    public var withhold: [String]
    /// `follow_up_within`: > 0, an accepted lead with no outcome reported by then is pulled
    /// back and offered on. 0: never.
    public var followUpWithin: Int64

    public init(acceptWithin: Int64 = 0, maxOffers: Int = 3, then: OfferFallback = .vendorSales,
                poolWindow: Int64 = 86_400, withhold: [String] = ["contact"], followUpWithin: Int64 = 0) {
        self.acceptWithin = acceptWithin
        self.maxOffers = maxOffers
        self.then = then
        self.poolWindow = poolWindow
        self.withhold = withhold
        self.followUpWithin = followUpWithin
    }

    /// Whether a lead chosen under this policy is offered rather than assigned.
    public var offersLeads: Bool { acceptWithin > 0 }
}

/// A partner's own `offers:`: every key it names overrides the `offers:` section's.
public struct OfferOverride: Sendable, Equatable {
    public var acceptWithin: Int64?
    public var maxOffers: Int?
    public var then: OfferFallback?
    public var poolWindow: Int64?
    public var withhold: [String]?
    public var followUpWithin: Int64?

    public init(acceptWithin: Int64? = nil, maxOffers: Int? = nil, then: OfferFallback? = nil,
                poolWindow: Int64? = nil, withhold: [String]? = nil, followUpWithin: Int64? = nil) {
        self.acceptWithin = acceptWithin
        self.maxOffers = maxOffers
        self.then = then
        self.poolWindow = poolWindow
        self.withhold = withhold
        self.followUpWithin = followUpWithin
    }

    /// `defaults` with this override's keys in place of theirs.
    public func applied(to defaults: OfferPolicy) -> OfferPolicy {
        OfferPolicy(
            acceptWithin: acceptWithin ?? defaults.acceptWithin, maxOffers: maxOffers ?? defaults.maxOffers,
            then: then ?? defaults.then, poolWindow: poolWindow ?? defaults.poolWindow,
            withhold: withhold ?? defaults.withhold, followUpWithin: followUpWithin ?? defaults.followUpWithin)
    }
}

/// The control endpoint: partners' actions on their leads (a ROUTER socket; REQ and DEALER
/// clients work). Absent: no control endpoint.
public struct ControlConfig: Sendable, Equatable {
    public var bind: Endpoint?
    public init(bind: Endpoint? = nil) {
        self.bind = bind
    }
}
