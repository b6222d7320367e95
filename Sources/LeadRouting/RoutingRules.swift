/// Who receives which lead: the part of the config that a reload may change while the
/// daemon runs (SIGHUP: validate the whole new config, then swap the rules in at once).
///
/// The router and the lead pipeline are built from these alone. Offers and CURVE keys
/// join them when they come. What only a restart can change is in ``DaemonSettings``.
public struct RoutingRules: Sendable, Equatable {
    /// The `routing:` section.
    public var routing: RoutingPolicy
    public var qualification: QualificationConfig
    public var partners: [Partner]
    /// Deal registrations from the config (more can be added at run time; see docs/routing.md).
    public var registrations: [Registration]
    /// The `offers:` section (without one: no offers, unless a partner's own `offers:` sets
    /// `accept_within`).
    public var offers: OfferPolicy
    /// `security.clients`: who else may connect, and in which role.
    public var clients: [SecurityClient] = []

    public init(
        routing: RoutingPolicy = RoutingPolicy(),
        qualification: QualificationConfig = QualificationConfig(),
        partners: [Partner] = [],
        registrations: [Registration] = [],
        offers: OfferPolicy = OfferPolicy()
    ) {
        self.routing = routing
        self.qualification = qualification
        self.partners = partners
        self.registrations = registrations
        self.offers = offers
    }

    /// The offer policy for leads chosen for `partner`: the `offers:` section with the
    /// partner's own `offers:` in place.
    public func offerPolicy(for partner: Partner) -> OfferPolicy {
        partner.offers?.applied(to: offers) ?? offers
    }

    /// Whether any lead may be offered rather than assigned.
    public var offersLeads: Bool {
        offers.offersLeads || partners.contains { offerPolicy(for: $0).offersLeads }
    }
}

/// Where a lead goes when no partner is eligible.
public enum UnmatchedDestination: String, Sendable, Equatable, CaseIterable {
    /// Vendor sales works it directly (`vendor-sales/`, role `direct`).
    case vendorSales = "vendor-sales"
    /// Marketing nurtures it (`nurture/`).
    case nurture
}

/// The `routing:` section: routing choices that hold for every partner.
public struct RoutingPolicy: Sendable, Equatable {
    public var unmatched: UnmatchedDestination
    public init(unmatched: UnmatchedDestination = .vendorSales) {
        self.unmatched = unmatched
    }
}

/// How much of the vendor's help a partner wants on the leads it receives.
public enum EngagementModel: String, Sendable, Equatable, CaseIterable {
    /// The partner works the lead alone.
    case leadsOnly = "leads_only"
    /// The partner owns the lead; vendor sales co-sells with it.
    case coSell = "co_sell"
    /// Vendor sales closes the deal; the partner keeps the customer relationship.
    case vendorCloses = "vendor_closes"
}

/// A country (ISO 3166-1 alpha-2) and, optionally, some of its regions.
public struct Territory: Sendable, Equatable {
    /// Upper-case ISO 3166-1 alpha-2 code, such as `US`.
    public var country: String
    /// Upper-case region codes (the part after the dash of ISO 3166-2, such as `CO`).
    /// `nil`: the whole country.
    public var regions: [String]?

    public init(country: String, regions: [String]? = nil) {
        self.country = country
        self.regions = regions
    }
}

/// A channel partner and the rules for which leads it receives.
public struct Partner: Sendable, Equatable {
    /// `^[a-z0-9][a-z0-9-]{0,62}$`, unique.
    public var id: String
    public var name: String
    public var engagement: EngagementModel
    /// Empty: anywhere.
    public var territories: [Territory]
    /// Empty: every product. Compared case-insensitively (stored lower-cased).
    public var products: [String]
    /// Share of leads among equally eligible partners; greater than zero.
    public var weight: Int
    /// `false`: never receives new leads.
    public var active: Bool
    /// The lowest qualification grade this partner accepts; `nil`: any.
    public var minGrade: Grade?
    /// At most `max` leads in any rolling window of `per`; `nil`: unlimited.
    public var capacity: Capacity?
    /// Receives no leads before this instant (milliseconds since 1970); `nil`: not paused.
    public var pausedUntil: Int64?
    /// Customers the partner already owns: domains (`acme.example`) or company names, as
    /// written (trimmed); the router normalises them (see ``AccountKey``).
    public var accounts: [String]
    /// The partner's own `offers:`, overriding the `offers:` section's keys it names.
    public var offers: OfferOverride?
    /// CURVE public keys the partner's clients present (`keys`); several allow rotation.
    public var keys: [KeySource] = []

    public init(
        id: String,
        name: String? = nil,
        engagement: EngagementModel = .leadsOnly,
        territories: [Territory] = [],
        products: [String] = [],
        weight: Int = 1,
        active: Bool = true,
        minGrade: Grade? = nil,
        capacity: Capacity? = nil,
        pausedUntil: Int64? = nil,
        accounts: [String] = [],
        offers: OfferOverride? = nil
    ) {
        self.id = id
        self.name = name ?? id
        self.engagement = engagement
        self.territories = territories
        self.products = products.map { $0.lowercased() }
        self.weight = weight
        self.active = active
        self.minGrade = minGrade
        self.capacity = capacity
        self.pausedUntil = pausedUntil
        self.accounts = accounts
        self.offers = offers
    }

    /// The feed topic this partner subscribes to: `partner/<id>/`.
    public var topic: String { "partner/\(id)/" }

    /// Whether `id` is a valid partner id: `^[a-z0-9][a-z0-9-]{0,62}$`.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func allowed(_ b: UInt8, first: Bool) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || (!first && b == 0x2D)
        }
        for (i, b) in bytes.enumerated() where !allowed(b, first: i == 0) { return false }
        return true
    }
}

/// A lead's qualification grade, `A` (best) to `D`.
public enum Grade: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    case A, B, C, D

    /// `A` > `B` > `C` > `D`.
    public static func < (lhs: Grade, rhs: Grade) -> Bool { lhs.rank > rhs.rank }

    /// A 0, B 1, C 2, D 3.
    var rank: Int {
        switch self {
        case .A: 0
        case .B: 1
        case .C: 2
        case .D: 3
        }
    }
}

/// A partner's rolling-window cap: at most `max` leads in any `perSeconds`.
public struct Capacity: Sendable, Equatable {
    public var max: Int
    public var perSeconds: Int64
    /// The window as written in the config (`7d`).
    public var perText: String

    public init(max: Int, perSeconds: Int64, perText: String? = nil) {
        self.max = max
        self.perSeconds = perSeconds
        self.perText = perText ?? "\(perSeconds)s"
    }
}

/// A deal registration: `partner` has registered the account `domain` until `expires`.
public struct Registration: Sendable, Equatable {
    public var partnerID: String
    /// Normalised domain (lower case, no `www.`).
    public var domain: String
    /// Milliseconds since 1970.
    public var expires: Int64

    public init(partnerID: String, domain: String, expires: Int64) {
        self.partnerID = partnerID
        self.domain = AccountKey.normalizedDomain(domain)
        self.expires = expires
    }
}

/// How leads are scored 0-100 and graded A-D. Each signal earns up to its weight in
/// points; the score is the points earned over the points possible, times 100.
public struct QualificationConfig: Sendable, Equatable {
    public var needWeight: Int
    public var budgetWeight: Int
    public var authorityWeight: Int
    public var timelineWeight: Int
    public var companySizeWeight: Int
    public var estimatedValueWeight: Int
    /// Lowest score for grade A, B and C; below `gradeC` is D.
    public var gradeA: Int
    public var gradeB: Int
    public var gradeC: Int
    /// A timeline within this many days earns full points; within twice as many, half.
    public var timelineDays: Int
    /// Companies this large (employees) or larger earn full size points; smaller, a share.
    public var fullEmployees: Int
    /// Estimated values this large or larger earn full points; smaller, a share.
    public var fullValue: Double

    public init(
        needWeight: Int = 20, budgetWeight: Int = 20, authorityWeight: Int = 20, timelineWeight: Int = 20,
        companySizeWeight: Int = 10, estimatedValueWeight: Int = 10,
        gradeA: Int = 75, gradeB: Int = 50, gradeC: Int = 25,
        timelineDays: Int = 90, fullEmployees: Int = 500, fullValue: Double = 50_000
    ) {
        self.needWeight = needWeight
        self.budgetWeight = budgetWeight
        self.authorityWeight = authorityWeight
        self.timelineWeight = timelineWeight
        self.companySizeWeight = companySizeWeight
        self.estimatedValueWeight = estimatedValueWeight
        self.gradeA = gradeA
        self.gradeB = gradeB
        self.gradeC = gradeC
        self.timelineDays = timelineDays
        self.fullEmployees = fullEmployees
        self.fullValue = fullValue
    }
}
