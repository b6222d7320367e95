/// What routing remembers about one partner between leads (and, through the store, restarts).
public struct PartnerState: Sendable, Equatable {
    /// Smooth weighted rotation counter.
    public var currentWeight: Int
    /// When the partner received its most recent leads (milliseconds), oldest first: only as
    /// many as its capacity counts, inside its window.
    public var recentAssignments: [Int64]

    public init(currentWeight: Int = 0, recentAssignments: [Int64] = []) {
        self.currentWeight = currentWeight
        self.recentAssignments = recentAssignments
    }
}

/// What a routing call needs from outside the router.
public struct RoutingContext: Sendable, Equatable {
    /// Milliseconds since 1970: for pauses, capacity windows and registration expiry.
    public var now: Int64
    /// The partner this lead's account was routed to before, when known.
    public var previousOwner: String?

    public init(now: Int64, previousOwner: String? = nil) {
        self.now = now
        self.previousOwner = previousOwner
    }
}

/// Chooses a destination for each lead. The order of rules:
///
/// 1. a valid deal registration for the lead's domain: the registering partner (if it can
///    take leads at all: active and not paused; else the lead is held in nurture);
/// 2. the partner that owns the account (`accounts`), if eligible;
/// 3. the partner the account was routed to before, if eligible;
/// 4. a smooth weighted rotation among the eligible partners;
/// 5. nobody eligible: nurture when every otherwise-eligible partner refused the grade,
///    else `routing.unmatched`.
///
/// Eligible: active, not paused, territory covers the lead, a product matches, capacity
/// left, grade at least `min_grade`. Pure and deterministic: the same partners, state,
/// context and lead always give the same decision. Partners are indexed by country, so a
/// lead only looks at the partners that could cover it.
public struct Router: Sendable {
    public let partners: [Partner]
    /// Every partner's id, in config order.
    public let partnerIDs: [String]
    /// What each partner's lead is published as (``Router/assignments(for:)``), made once: a
    /// routed lead shares its partner's array instead of building one.
    let partnerAssignments: [[Assignment]]
    public let unmatched: UnmatchedDestination
    public let qualifier: Qualifier
    /// For each country: the partners that cover all of it (or anywhere), and for each of
    /// its regions the partners that list that region, in config order. A lead only looks
    /// at the partners whose territory covers it.
    let byCountry: [String: CountryIndex]
    /// ``byCountry`` by ``Router/countrySlot(_:)``: a lead's country (two capital letters, as
    /// validation leaves it) finds its index without hashing a string, as a position in
    /// ``countryIndexes`` (-1: none).
    let countrySlots: [Int32]
    /// The indexes ``countrySlots`` point to, each read in place by a lead.
    let countryIndexes: [CountryIndex]
    /// The partners that cover anywhere, for countries no territory names.
    let anywhere: CandidateList
    /// Every list of ``anywhere`` and ``byCountry`` (the partners' indices, ascending), by its
    /// ``CandidateList/number``: decision records give verdicts as bit sets over a list's
    /// positions, and the store keeps these lists with the partner ids to read them back.
    public let candidateLists: [[Int]]
    /// Eligibility facts per partner, flattened for a fast check.
    let rules: [PartnerRule]
    /// Product bit-set words beyond the first (more than 64 products): partner `i`'s are at
    /// `i * extraProductWords ..< (i + 1) * extraProductWords` in ``extraProductBits``.
    let extraProductWords: Int
    let extraProductBits: [UInt64]
    /// Product names offered by some partner, numbered for bit sets.
    let productIDs: StringTable<Int>
    let indexByID: StringTable<Int>
    let ownedAccounts: StringTable<Int>
    var registrations: [String: [Registration]] = [:]
    /// Each partner's configured weight, and its rotation counter and recent assignment
    /// times (its ``PartnerState``), kept apart so that rotation reads only small arrays.
    let weights: [Int]
    var currentWeights: [Int]
    var recentAssignments: [[Int64]]
    /// Partners whose capacity window changed since ``takeChangedStates(rotationLimit:)``:
    /// these must be saved with the decisions that changed them.
    var capacityChanged: Set<Int> = []
    /// Partners whose rotation counter changed: cheap to lose in a crash (fairness drifts by
    /// at most the leads since the last save), so saved less often.
    var rotationChanged: [Int] = []
    /// Whether partner `i` is in ``rotationChanged`` already.
    var rotationMarked: [Bool]

    /// How many whole-country entries, in all, may be copied into region lists (32 MB at
    /// 32 bytes an entry).
    public static let defaultPremergedEntryBudget = 1_000_000

    /// Candidates recorded per decision by default; the rest are counted by reason.
    public static let defaultRecordedCandidates = 200
    /// Candidates recorded per decision (the chosen partner is always among them).
    public let recordedCandidates: Int

    /// A router for `rules`, with deal registrations beyond theirs (`extra`).
    public init(rules: RoutingRules, states: [String: PartnerState] = [:], registrations extra: [Registration] = []) {
        self.init(partners: rules.partners, unmatched: rules.routing.unmatched, qualification: rules.qualification,
                  states: states, registrations: rules.registrations + extra)
    }

    public init(config: RouterConfig, states: [String: PartnerState] = [:], registrations extra: [Registration] = []) {
        self.init(rules: config.rules, states: states, registrations: extra)
    }

    public init(partners: [Partner], unmatched: UnmatchedDestination, qualification: QualificationConfig = QualificationConfig(),
                states: [String: PartnerState] = [:], registrations: [Registration] = [],
                recordedCandidates: Int = Router.defaultRecordedCandidates,
                premergedEntryBudget: Int = Router.defaultPremergedEntryBudget) {
        self.recordedCandidates = max(1, recordedCandidates)
        self.partners = partners
        self.partnerIDs = partners.map(\.id)
        self.partnerAssignments = partners.map(Router.assignments(for:))
        self.unmatched = unmatched
        self.qualifier = Qualifier(config: qualification)
        let tables = PartnerTables(partners)
        var anywhereList = Router.candidateList(tables.anywhere, tables.rules)
        var byCountry = Router.countryIndexes(tables, anywhere: anywhereList, premergedEntryBudget: premergedEntryBudget)
        self.candidateLists = Router.number(&anywhereList, &byCountry)
        for country in byCountry.keys { byCountry[country]!.regionTable = StringTable(byCountry[country]!.regions) }
        self.byCountry = byCountry
        var slots = [Int32](repeating: -1, count: Router.countrySlotCount)
        var indexes: [CountryIndex] = []
        for (country, index) in byCountry {
            guard let slot = Router.countrySlot(country) else { continue }
            slots[slot] = Int32(indexes.count)
            indexes.append(index)
        }
        self.countrySlots = slots
        self.countryIndexes = indexes
        self.anywhere = anywhereList
        self.rules = tables.rules
        self.extraProductWords = tables.extraWords
        self.extraProductBits = tables.extraBits
        self.rotationMarked = [Bool](repeating: false, count: partners.count)
        self.productIDs = StringTable(tables.productIDs)
        self.indexByID = StringTable(tables.indexByID)
        self.ownedAccounts = StringTable(tables.owned)
        let initial = partners.map { states[$0.id] ?? PartnerState() }
        self.weights = partners.map(\.weight)
        self.currentWeights = initial.map(\.currentWeight)
        self.recentAssignments = initial.map(\.recentAssignments)
        setRegistrations(registrations)
    }

    /// Replaces the deal registrations. For one domain, the first valid one in this order wins.
    public mutating func setRegistrations(_ list: [Registration]) {
        var byDomain: [String: [Registration]] = [:]
        for registration in list { byDomain[registration.domain, default: []].append(registration) }
        registrations = byDomain
    }

    /// The registration in force for `domain` at `now`: the first unexpired one naming a
    /// configured partner.
    public func registration(for domain: String, at now: Int64) -> Registration? {
        registrations[domain]?.first { $0.expires > now && indexByID[$0.partnerID] != nil }
    }

    /// A router for `rules` that carries on from this one: the rotation counters and
    /// capacity windows of the partners that remain (and which of them wait to be saved), and
    /// the run-time deal registrations `extra`. A partner added starts afresh; one removed
    /// takes its state with it.
    public func reloaded(rules: RoutingRules, registrations extra: [Registration]) -> Router {
        var next = Router(partners: rules.partners, unmatched: rules.routing.unmatched, qualification: rules.qualification,
                          states: partnerStates, registrations: rules.registrations + extra,
                          recordedCandidates: recordedCandidates)
        for i in capacityChanged {
            if let j = next.indexByID[partners[i].id] { next.capacityChanged.insert(j) }
        }
        for i in rotationChanged {
            guard let j = next.indexByID[partners[i].id], !next.rotationMarked[j] else { continue }
            next.rotationChanged.append(j)
            next.rotationMarked[j] = true
        }
        return next
    }

    /// Every partner's state, for saving.
    public var partnerStates: [String: PartnerState] {
        Dictionary(uniqueKeysWithValues: partners.indices.map { (partners[$0].id, state($0)) })
    }

    func state(_ i: Int) -> PartnerState {
        PartnerState(currentWeight: currentWeights[i], recentAssignments: recentAssignments[i])
    }

    /// How many changed rotation counters ``takeChangedStates(rotationLimit:)`` has not taken yet.
    public var pendingRotationStates: Int { rotationChanged.count }

    /// The states changed since the last call, for saving incrementally: every one whose
    /// capacity window changed, and of those whose rotation counter changed, the
    /// `rotationLimit` that changed first (the rest wait for a later call).
    public mutating func takeChangedStates(rotationLimit: Int = .max) -> [String: PartnerState] {
        var out: [String: PartnerState] = [:]
        for i in capacityChanged { out[partners[i].id] = state(i) }
        capacityChanged.removeAll(keepingCapacity: true)
        let taken = min(max(0, rotationLimit), rotationChanged.count)
        for i in rotationChanged[..<taken] {
            out[partners[i].id] = state(i)
            rotationMarked[i] = false
        }
        rotationChanged.removeFirst(taken)
        return out
    }
}
