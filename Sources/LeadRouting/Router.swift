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
    public let unmatched: UnmatchedDestination
    public let qualifier: Qualifier
    /// For each country: the partners that cover all of it (or anywhere), and for each of
    /// its regions the partners that list that region, in config order. A lead only looks
    /// at the partners whose territory covers it.
    let byCountry: [String: CountryIndex]
    /// The partners that cover anywhere, for countries no territory names.
    let anywhere: CandidateList
    /// Eligibility facts per partner, flattened for a fast check.
    let rules: [PartnerRule]
    /// Product bit-set words beyond the first (more than 64 products): partner `i`'s are at
    /// `i * extraProductWords ..< (i + 1) * extraProductWords` in ``extraProductBits``.
    let extraProductWords: Int
    let extraProductBits: [UInt64]
    /// Product names offered by some partner, numbered for bit sets.
    let productIDs: [String: Int]
    let indexByID: [String: Int]
    let ownedAccounts: [String: Int]
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
    /// Reused by every ``route(_:context:)``: the verdict on each partner considered.
    var exclusions: [Exclusion?] = []
    var eligible: [Int] = []

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
        self.unmatched = unmatched
        self.qualifier = Qualifier(config: qualification)
        var productIDs: [String: Int] = [:]
        for partner in partners {
            for product in partner.products where productIDs[product] == nil { productIDs[product] = productIDs.count }
        }
        let extraWords = max(0, (productIDs.count + 63) / 64 - 1)
        var extraBits = [UInt64](repeating: 0, count: extraWords * partners.count)
        var rules: [PartnerRule] = []
        rules.reserveCapacity(partners.count)
        var wholeCountry: [String: [Int]] = [:]
        var byRegion: [String: [String: [Int]]] = [:]
        var anywhere: [Int] = []
        var indexByID: [String: Int] = [:]
        var owned: [String: Int] = [:]
        for (i, partner) in partners.enumerated() {
            indexByID[partner.id] = i
            var bits: UInt64 = 0
            for product in partner.products {
                let id = productIDs[product]!
                if id < 64 { bits |= 1 << UInt64(id) } else { extraBits[i * extraWords + id / 64 - 1] |= 1 << UInt64(id % 64) }
            }
            rules.append(PartnerRule(
                active: partner.active, pausedUntil: partner.pausedUntil ?? .min, minGrade: partner.minGrade,
                hasCapacity: partner.capacity != nil, everyProduct: partner.products.isEmpty, products: bits))
            if partner.territories.isEmpty {
                anywhere.append(i)
            } else {
                for territory in partner.territories {
                    if let regions = territory.regions {
                        for region in Set(regions) { byRegion[territory.country, default: [:]][region, default: []].append(i) }
                    } else {
                        wholeCountry[territory.country, default: []].append(i)
                    }
                }
            }
            for entry in partner.accounts {
                let key = AccountKey.key(forAccountEntry: entry)
                if owned[key] == nil { owned[key] = i }  // the first partner listing an account owns it
            }
        }
        // Each country's whole-country list includes the partners that cover anywhere, and
        // each region's list those that cover the whole country: a lead takes one list as is.
        // (Within a budget: copying every whole-country list into each of its regions' lists
        // could take hundreds of megabytes with thousands of partners covering anywhere and
        // many regions listed. Countries whose copies cost least come first; the leads of a
        // country past the budget merge the two lists as they come.)
        var byCountry: [String: CountryIndex] = [:]
        func list(_ partners: [Int]) -> CandidateList { CandidateList(partners: partners, rules: partners.map { rules[$0] }) }
        let anywhereList = list(anywhere)
        let wholes = Set(wholeCountry.keys).union(byRegion.keys).map { country in
            (country, CandidateList.merged(list(Router.unique(wholeCountry[country] ?? [])), anywhereList))
        }
        func copyCost(_ entry: (String, CandidateList)) -> Int { entry.1.partners.count * (byRegion[entry.0]?.count ?? 0) }
        var budget = premergedEntryBudget
        for (country, whole) in wholes.sorted(by: { (copyCost($0), $0.0) < (copyCost($1), $1.0) }) {
            let premerged = copyCost((country, whole)) <= budget
            if premerged { budget -= copyCost((country, whole)) }
            byCountry[country] = CountryIndex(
                whole: whole,
                regions: (byRegion[country] ?? [:]).mapValues { regional in
                    let own = list(Router.unique(regional))
                    return premerged ? CandidateList.merged(whole, own) : own
                },
                regionsIncludeWhole: premerged)
        }
        self.byCountry = byCountry
        self.anywhere = anywhereList
        self.rules = rules
        self.extraProductWords = extraWords
        self.extraProductBits = extraBits
        self.rotationMarked = [Bool](repeating: false, count: partners.count)
        self.productIDs = productIDs
        self.indexByID = indexByID
        self.ownedAccounts = owned
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

    // MARK: - Routing

    /// Routes one lead at `context.now`, advancing rotation and capacity state.
    public mutating func route(_ lead: LeadFacts, context: RoutingContext = RoutingContext(now: 0)) -> RoutingDecision {
        let now = context.now
        let qualification = qualifier.qualify(lead)
        let grade = qualification.grade
        let candidateList = candidates(for: lead)
        let considered = candidateList.partners
        let consideredRules = candidateList.rules
        let leadProducts = productBits(lead)
        // The scratch buffers are taken out of `self` for the call, so appending never copies them.
        var exclusions: [Exclusion?] = []
        var eligible: [Int] = []
        swap(&exclusions, &self.exclusions)
        swap(&eligible, &self.eligible)
        exclusions.removeAll(keepingCapacity: true)
        eligible.removeAll(keepingCapacity: true)
        defer {
            swap(&exclusions, &self.exclusions)
            swap(&eligible, &self.eligible)
        }
        var gradeRefusals = 0
        // Verdicts past the recording cap are only counted (see the recording below); no
        // counts are allocated for a lead whose candidates all fit under the cap.
        var omittedCounts: [Int] = considered.count > recordedCandidates ? [Int](repeating: 0, count: 8) : []
        exclusions.reserveCapacity(considered.count)
        for (position, i) in considered.enumerated() {
            let exclusion = exclusion(i, consideredRules[position], leadProducts, grade, now)
            exclusions.append(exclusion)
            if exclusion == nil { eligible.append(i) } else if exclusion == .grade { gradeRefusals += 1 }
            if position >= recordedCandidates { omittedCounts[Int(CandidateCode.verdict(exclusion))] += 1 }
        }
        let keys = lead.account
        let gradeText = "grade \(grade.rawValue) (score \(qualification.score))"

        var chosen: Int?
        var rule = ChoiceRule.unmatched
        var reasons: [String] = []
        var registered: Int?

        if let domain = keys.domain, let registration = registration(for: domain, at: now), let r = indexByID[registration.partnerID] {
            registered = r
            let partner = partners[r]
            let expiry = Timestamp.rfc3339(millisecondsSince1970: registration.expires)
            if partner.active && !isPaused(r, at: now) {
                chosen = r
                rule = .registration
                reasons = ["deal registration of \(domain) by \(partner.id) until \(expiry)", gradeText]
            } else {
                rule = .registrationHeld
                let why = partner.active ? "paused" : "inactive"
                reasons = ["deal registration of \(domain) by \(partner.id) until \(expiry)", "\(partner.id) is \(why): held in nurture for it", gradeText]
            }
        } else if let owner = keys.all.lazy.compactMap({ [ownedAccounts] in ownedAccounts[$0] }).first(where: { eligible.contains($0) }) {
            chosen = owner
            rule = .account
            reasons = staticReasons(owner, lead) + [gradeText, "account \(keys.describe) owned by \(partners[owner].id)"]
        } else if let previous = context.previousOwner, let owner = indexByID[previous], eligible.contains(owner) {
            chosen = owner
            rule = .affinity
            reasons = staticReasons(owner, lead) + [gradeText, "account \(keys.describe) was routed to \(previous) before"]
        } else if !eligible.isEmpty {
            let pick = rotate(eligible)
            chosen = pick.index
            rule = eligible.count == 1 ? .onlyEligible : .rotation
            reasons = staticReasons(pick.index, lead) + [gradeText]
            if let minimum = partners[pick.index].minGrade { reasons.append("meets min_grade \(minimum.rawValue)") }
            reasons.append(eligible.count == 1
                ? "only eligible partner"
                : "weighted rotation among \(eligible.count) eligible partners (weight \(partners[pick.index].weight) of \(pick.total))")
        }

        var decision: RoutingDecision
        if let chosen {
            let partner = partners[chosen]
            recordAssignment(chosen, at: now)
            decision = RoutingDecision(partnerID: partner.id, assignments: Router.assignments(for: partner), reasons: reasons)
        } else if rule == .registrationHeld {
            decision = RoutingDecision(partnerID: nil, assignments: [Router.nurtureAssignment], reasons: reasons)
        } else {
            decision = unmatchedDecision(lead, considered: considered, exclusions: exclusions, gradeRefusals: gradeRefusals, gradeText: gradeText)
            rule = decision.rule
        }
        decision.rule = rule
        decision.qualification = qualification
        decision.accountKeys = keys.all
        decision.outsideTerritory = partners.count - considered.count - (registered.map { considered.contains($0) ? 0 : 1 } ?? 0)

        // Record the candidates in config order up to the cap (always the chosen and the
        // registered partner); count the rest by reason.
        var recorded: [UInt32] = []
        recorded.reserveCapacity(min(considered.count, recordedCandidates) + 2)
        var omitted = 0
        if registered == nil {
            // The first `recordedCandidates` in full; past them only the chosen partner, and
            // the counts the first pass took (the chosen one moved from eligible to recorded).
            for (position, i) in considered.prefix(recordedCandidates).enumerated() {
                recorded.append(CandidateCode.make(i, i == chosen ? nil : exclusions[position]))
            }
            if considered.count > recordedCandidates {
                omitted = considered.count - recordedCandidates
                if let chosen, let position = considered[recordedCandidates...].firstIndex(of: chosen) {
                    recorded.append(CandidateCode.make(chosen, nil))
                    omittedCounts[Int(CandidateCode.verdict(exclusions[position]))] -= 1
                    omitted -= 1
                }
            }
        } else {
            // A registration excludes every other partner: a rare case, recorded (and counted
            // afresh) the long way.
            omittedCounts = [Int](repeating: 0, count: 8)
            for (position, i) in considered.enumerated() {
                let exclusion: Exclusion? = i == chosen ? nil : i == registered ? exclusions[position] : .registration
                if recorded.count < recordedCandidates || i == chosen || i == registered {
                    recorded.append(CandidateCode.make(i, exclusion))
                } else {
                    omitted += 1
                    omittedCounts[Int(CandidateCode.verdict(exclusion))] += 1
                }
            }
        }
        if let registered, !considered.contains(registered) {
            let exclusion: Exclusion? = registered == chosen ? nil : (rules[registered].active ? .paused : .inactive)
            recorded.append(CandidateCode.make(registered, exclusion))
        }
        if omitted > 0 {
            for (verdict, count) in omittedCounts.enumerated() where count > 0 {
                decision.omittedByReason[CandidateCode.exclusion(UInt32(verdict))?.rawValue ?? "eligible"] = count
            }
        }
        decision.candidateCodes = recorded
        decision.partnerIDs = partnerIDs
        decision.chosenIndex = chosen
        decision.candidatesOmitted = omitted
        return decision
    }

    func staticReasons(_ i: Int, _ lead: LeadFacts) -> [String] {
        (try? Router.eligibility(of: partners[i], for: lead).get()) ?? []
    }

    /// Smooth weighted rotation (nginx's algorithm) over the eligible partners only: each
    /// gains its weight, the highest (first in config order on ties) is chosen and pays the
    /// round's total. Partners not eligible neither gain nor pay, so a paused, full or
    /// inactive partner never distorts the others' shares and gets no catch-up burst.
    mutating func rotate(_ eligible: [Int]) -> (index: Int, total: Int) {
        var total = 0
        var best = eligible[0]
        for i in eligible {
            currentWeights[i] += weights[i]
            total += weights[i]
            if currentWeights[i] > currentWeights[best] { best = i }
            if !rotationMarked[i] {
                rotationMarked[i] = true
                rotationChanged.append(i)
            }
        }
        currentWeights[best] -= total
        return (best, total)
    }

    mutating func recordAssignment(_ i: Int, at now: Int64) {
        guard let capacity = partners[i].capacity else { return }
        let since = now - capacity.perSeconds * 1000
        var recent = recentAssignments[i].filter { $0 > since }
        recent.append(now)
        if recent.count > capacity.max { recent.removeFirst(recent.count - capacity.max) }
        recentAssignments[i] = recent
        capacityChanged.insert(i)
    }

    /// What the contract publishes for each engagement model when `partner` is chosen.
    public static func assignments(for partner: Partner) -> [Assignment] {
        let partnerTopic = FeedTopic.partner(partner.id)
        switch partner.engagement {
        case .leadsOnly:
            return [Assignment(topic: partnerTopic, role: .owner, partnerID: partner.id, engagement: .leadsOnly)]
        case .coSell:
            return [
                Assignment(topic: partnerTopic, role: .owner, partnerID: partner.id, engagement: .coSell),
                Assignment(topic: FeedTopic.vendorSales, role: .coSeller, partnerID: partner.id, engagement: .coSell),
            ]
        case .vendorCloses:
            return [
                Assignment(topic: partnerTopic, role: .relationshipOwner, partnerID: partner.id, engagement: .vendorCloses),
                Assignment(topic: FeedTopic.vendorSales, role: .closer, partnerID: partner.id, engagement: .vendorCloses),
            ]
        }
    }

    static let nurtureAssignment = Assignment(topic: FeedTopic.nurture, role: .nurture, partnerID: nil, engagement: nil)

    func unmatchedDecision(_ lead: LeadFacts, considered: [Int], exclusions: [Exclusion?], gradeRefusals: Int, gradeText: String) -> RoutingDecision {
        if gradeRefusals > 0 {
            var decision = RoutingDecision(
                partnerID: nil, assignments: [Router.nurtureAssignment],
                reasons: ["\(gradeText) is below the min_grade of every otherwise-eligible partner (\(gradeRefusals))", "held back from partners: nurture"])
            decision.rule = .belowGrade
            return decision
        }
        var reasons: [String] = []
        if partners.isEmpty {
            reasons.append("no partners configured")
        } else {
            var counts: [Exclusion: Int] = [:]
            for exclusion in exclusions { if let exclusion { counts[exclusion, default: 0] += 1 } }
            counts[.territory, default: 0] += partners.count - considered.count
            var parts: [String] = []
            for exclusion in Exclusion.allCases {
                guard let n = counts[exclusion], n > 0 else { continue }
                switch exclusion {
                case .territory: parts.append("\(n) without territory \(territoryText(lead))")
                case .product:
                    parts.append(lead.products.isEmpty
                        ? "\(n) offering only some products (the lead names none)"
                        : "\(n) not offering \(lead.products.joined(separator: ", "))")
                case .inactive: parts.append("\(n) inactive")
                case .paused: parts.append("\(n) paused")
                case .capacity: parts.append("\(n) at capacity")
                case .grade, .registration: break
                }
            }
            reasons.append("no eligible partner: " + parts.joined(separator: "; "))
        }
        reasons.append(gradeText)
        var decision: RoutingDecision
        switch unmatched {
        case .vendorSales:
            reasons.append("routing.unmatched is vendor-sales")
            decision = RoutingDecision(
                partnerID: nil,
                assignments: [Assignment(topic: FeedTopic.vendorSales, role: .direct, partnerID: nil, engagement: nil)],
                reasons: reasons)
        case .nurture:
            reasons.append("routing.unmatched is nurture")
            decision = RoutingDecision(partnerID: nil, assignments: [Router.nurtureAssignment], reasons: reasons)
        }
        decision.rule = .unmatched
        return decision
    }

    func territoryText(_ lead: LeadFacts) -> String {
        if let region = lead.region { return "\(lead.country)-\(region)" }
        return lead.country
    }
}
