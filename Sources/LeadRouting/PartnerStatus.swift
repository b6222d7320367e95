/// Where a partner stands at a moment, as `leadctl partners` shows it: whether it can take
/// leads now, its capacity window, and the offers waiting on it. Pure: built from the
/// config's partner, its saved state and the open cases.
public struct PartnerStatus: Sendable, Equatable {
    /// Why a partner can or cannot take a lead now, in the order the router checks.
    public enum State: String, Sendable, Equatable, CaseIterable {
        case active
        case inactive
        case paused
        /// Its capacity window is full.
        case atCapacity = "at_capacity"

        /// For people: `at capacity`.
        public var text: String { rawValue.replacingOccurrences(of: "_", with: " ") }
    }

    public var partnerID: String
    public var state: State
    /// When the pause ends, while it lasts.
    public var pausedUntil: Int64?
    /// Its `capacity`, and the leads it received inside the window ending now; `nil`: no limit.
    public var capacity: Capacity?
    public var leadsInWindow: Int?
    /// Leads offered to it and not yet answered.
    public var openOffers: Int
    /// Pooled leads it may claim.
    public var openClaims: Int

    /// The status of `partner` at `now` (milliseconds since 1970), from its saved rotation and
    /// capacity `state` and what waits on it (``openWork(in:)``).
    public init(partner: Partner, state saved: PartnerState?, work: OpenWork?, now: Int64) {
        partnerID = partner.id
        (openOffers, openClaims) = (work?.offers ?? 0, work?.claims ?? 0)
        capacity = partner.capacity
        if let capacity = partner.capacity {
            // As the router counts: leads after `now - per` (one exactly `per` ago no longer counts).
            let since = now - capacity.perSeconds * 1000
            leadsInWindow = (saved?.recentAssignments ?? []).count { $0 > since }
        }
        pausedUntil = (partner.pausedUntil ?? .min) > now ? partner.pausedUntil : nil
        if !partner.active {
            state = .inactive
        } else if pausedUntil != nil {
            state = .paused
        } else if let capacity, let leadsInWindow, leadsInWindow >= capacity.max {
            state = .atCapacity
        } else {
            state = .active
        }
    }

    /// What waits on one partner: leads offered to it, pools it may claim from.
    public struct OpenWork: Sendable, Equatable {
        public var offers = 0
        public var claims = 0
        public init(offers: Int = 0, claims: Int = 0) {
            self.offers = offers
            self.claims = claims
        }
    }

    /// What waits on each partner among the store's open cases, in one pass.
    public static func openWork(in openCases: [LeadCase]) -> [String: OpenWork] {
        var work: [String: OpenWork] = [:]
        for lead in openCases {
            if lead.state == .offered, let partner = lead.partnerID { work[partner, default: OpenWork()].offers += 1 }
            if lead.state == .pooled { for partner in lead.pool { work[partner, default: OpenWork()].claims += 1 } }
        }
        return work
    }
}
