/// Routing one lead: each partner's verdict, the rule that chooses, the decision and the
/// candidates it records.
extension Router {
    /// The destination the rules picked for one lead, before a decision is made of it.
    struct Choice {
        /// The chosen partner, `nil` when none was.
        var chosen: Int?
        var rule = ChoiceRule.unmatched
        var reasons = Reasons(elements: [])
        /// The partner holding a valid deal registration for the lead's domain, if any.
        var registered: Int?
    }

    /// `grade A (score 80)`, for the reasons; the common ones (scores 0-100) made once.
    static func gradeText(_ grade: Grade, _ score: Int) -> String {
        guard (0...100).contains(score) else { return "grade \(grade.rawValue) (score \(score))" }
        let index = switch grade {  // not `Grade.allCases`, which builds an array on each call
        case .A: 0
        case .B: 1
        case .C: 2
        case .D: 3
        }
        return gradeTexts[index * 101 + score]
    }

    private static let gradeTexts: [String] = [Grade.A, .B, .C, .D].flatMap { grade in
        (0...100).map { "grade \(grade.rawValue) (score \($0))" }
    }

    /// Routes one lead at `context.now`, advancing rotation and capacity state.
    public mutating func route(_ lead: LeadFacts, context: RoutingContext = RoutingContext(now: 0)) -> RoutingDecision {
        var decision = RoutingDecision()
        route(lead, context: context, into: &decision)
        return decision
    }

    /// The same, made in `decision`, whatever it held before: returned, the decision (a
    /// struct of about a dozen references) was copied on its way out, a retain and a release
    /// of each, and once more into the variable it was made in.
    mutating func route(_ lead: LeadFacts, context: RoutingContext, into decision: inout RoutingDecision) {
        var buffers = decision.takeBuffers()
        decision.clear()
        let now = context.now
        let qualification = qualifier.qualify(lead)
        let grade = qualification.grade
        let candidateList = candidates(for: lead)
        let considered = candidateList.partners
        let leadProducts = productBits(lead)
        // Each candidate's verdict as a bit in one of eight bit sets (``CandidateVerdicts``),
        // handed to the decision as they are; the eligible ones are read from their set.
        var verdicts = buffers.verdicts
        buffers.verdicts = []
        Buffers.zero(&verdicts, count: CandidateVerdicts.sets * candidateList.words)
        let judged = judge(candidateList, leadProducts, grade, now, verdicts: &verdicts)
        let gradeRefusals = judged.gradeRefusals
        let keys = lead.account
        let gradeText = Router.gradeText(grade, qualification.score)
        let eligible = EligibleBits(partners: considered, bits: verdicts, words: candidateList.words, eligibleCount: judged.eligible)
        let choice = choose(lead, eligible: eligible, previousOwner: context.previousOwner, now: now, gradeText: gradeText,
                            reasons: &buffers.reasons)
        let chosen = choice.chosen
        var rule = choice.rule

        decision.reasonList = choice.reasons
        if let chosen {
            recordAssignment(chosen, at: now)
            decision.partnerID = partners[chosen].id
            decision.assignments = partnerAssignments[chosen]
        } else if rule == .registrationHeld {
            decision.assignments = [Router.nurtureAssignment]
        } else {
            decision = unmatchedDecision(lead, considered: considered, verdicts: verdicts, gradeRefusals: gradeRefusals, gradeText: gradeText)
            rule = decision.rule
        }
        decision.rule = rule
        decision.qualificationValue = qualification
        decision.hasQualification = true
        decision.account = keys
        decision.outsideTerritory = partners.count - considered.count - (choice.registered.map { considered.contains($0) ? 0 : 1 } ?? 0)
        recordCandidates(considered, list: candidateList.number, verdicts: verdicts, pastCap: judged.pastCap, chosen: chosen,
                         registered: choice.registered, into: &decision)
        decision.partnerIDs = partnerIDs
        decision.chosenIndex = chosen
    }

    /// What judging a lead's candidates counted besides their verdicts.
    struct Judged {
        /// How many are eligible.
        var eligible = 0
        /// How many refused the lead's grade.
        var gradeRefusals = 0
        /// Per verdict code, how many candidates past the recording cap have it.
        var pastCap = SIMD8<Int32>.zero
    }

    /// Judges each partner of `list` for the lead, 64 at a time: its verdict as a bit in
    /// `verdicts` (``CandidateVerdicts``, sized by the caller); counts the eligible, the
    /// grade's refusals and the verdicts past the recording cap.
    ///
    /// The list's static facts are bit sets (``CandidateMasks``); only the partners with a
    /// pause or a capacity are looked at one by one, for what the lead's time decides, and
    /// each partner's product bits are read once.
    @inline(__always)
    func judge(_ list: CandidateList, _ leadProducts: LeadProducts, _ grade: Grade, _ now: Int64,
               verdicts: inout [UInt64]) -> Judged {
        let count = list.partners.count, words = list.words
        let refuses = CandidateMasks.refuses + grade.rank
        let wanted = leadProducts.first
        let productCount = list.productCount, cap = recordedCandidates
        var judged = Judged()
        verdicts.withUnsafeMutableBufferPointer { out in
            list.partners.withUnsafeBufferPointer { partners in
                list.rules.withUnsafeBufferPointer { rules in
                    list.masks.withUnsafeBufferPointer { masks in
                      list.productMasks.withUnsafeBufferPointer { productMasks in
                        for w in 0..<words {
                            let base = w * 64, m = w * CandidateMasks.count, n = min(64, count - base)
                            let valid: UInt64 = n == 64 ? ~0 : (1 << UInt64(n)) - 1
                            let active = masks[m + CandidateMasks.active]
                            var paused: UInt64 = 0
                            var pausable = masks[m + CandidateMasks.pausable] & active
                            while pausable != 0 {
                                let b = pausable.trailingZeroBitCount
                                if rules[base + b].pausedUntil > now { paused |= 1 << UInt64(b) }
                                pausable &= pausable - 1
                            }
                            let live = active & ~paused
                            var offers = masks[m + CandidateMasks.everyProduct]
                            var products = wanted
                            while products != 0 {
                                let product = products.trailingZeroBitCount
                                if product < productCount { offers |= productMasks[w * productCount + product] }
                                products &= products - 1
                            }
                            var missing = live & ~offers
                            if extraProductWords > 0 {
                                var check = missing
                                while check != 0 {
                                    let b = check.trailingZeroBitCount
                                    if offersExtraProduct(partners[base + b], leadProducts) { missing &= ~(1 << UInt64(b)) }
                                    check &= check - 1
                                }
                            }
                            var rest = live & ~missing
                            var full: UInt64 = 0
                            var capped = rest & masks[m + CandidateMasks.capped]
                            while capped != 0 {
                                let b = capped.trailingZeroBitCount
                                if isFull(partners[base + b], at: now) { full |= 1 << UInt64(b) }
                                capped &= capped - 1
                            }
                            rest &= ~full
                            let refused = rest & masks[m + refuses]
                            let ok = rest & ~refused
                            out[w] = ok
                            out[CandidateVerdicts.inactive * words + w] = valid & ~active
                            out[CandidateVerdicts.paused * words + w] = paused
                            out[CandidateVerdicts.product * words + w] = missing
                            out[CandidateVerdicts.capacity * words + w] = full
                            out[CandidateVerdicts.grade * words + w] = refused
                            judged.gradeRefusals += refused.nonzeroBitCount
                            if base + n > cap {
                                // The positions past the recording cap, counted by verdict.
                                let past: UInt64 = cap <= base ? ~0 : ~((1 << UInt64(cap - base)) - 1)
                                judged.pastCap &+= SIMD8<Int32>(
                                    Int32((ok & past).nonzeroBitCount), Int32((valid & ~active & past).nonzeroBitCount),
                                    Int32((paused & past).nonzeroBitCount), 0, Int32((missing & past).nonzeroBitCount),
                                    Int32((full & past).nonzeroBitCount), Int32((refused & past).nonzeroBitCount), 0)
                            }
                            judged.eligible += ok.nonzeroBitCount
                        }
                      }
                    }
                }
            }
        }
        return judged
    }

    /// Applies the rules in order (registration, account owner, previous owner, rotation) to
    /// the `eligible` partners; advances rotation when it chooses. No partner chosen and no
    /// registration: the lead is unmatched (``unmatchedDecision(_:considered:exclusions:gradeRefusals:gradeText:)``).
    @inline(__always)
    mutating func choose(_ lead: LeadFacts, eligible: some EligiblePartners, previousOwner: String?, now: Int64,
                         gradeText: String, reasons buffer: inout [UInt8]) -> Choice {
        let keys = lead.account
        var choice = Choice()
        if !registrations.isEmpty, let domain = keys.domain, let registration = registration(for: domain, at: now),
           let r = indexByID[registration.partnerID] {
            choice.registered = r
            let partner = partners[r]
            let expiry = Timestamp.rfc3339(millisecondsSince1970: registration.expires)
            if partner.active && !isPaused(r, at: now) {
                choice.chosen = r
                choice.rule = .registration
                choice.reasons = Reasons(["deal registration of \(domain) by \(partner.id) until \(expiry)", gradeText])
            } else {
                choice.rule = .registrationHeld
                let why = partner.active ? "paused" : "inactive"
                choice.reasons = Reasons(["deal registration of \(domain) by \(partner.id) until \(expiry)", "\(partner.id) is \(why): held in nurture for it", gradeText])
            }
        } else if let owner = eligibleOwner(of: keys, eligible) {
            choice.chosen = owner
            choice.rule = .account
            var json = reasonWriter(owner, lead, then: gradeText, into: &buffer)
            json.beginString()
            json.text(literal: "account ")
            keys.describe(into: &json)
            json.text(literal: " owned by ")
            json.text(partners[owner].id)
            json.endString()
            choice.reasons = Reasons(elements: json.bytes)
        } else if let previous = previousOwner, let owner = indexByID[previous], eligible.isEligible(owner) {
            choice.chosen = owner
            choice.rule = .affinity
            var json = reasonWriter(owner, lead, then: gradeText, into: &buffer)
            json.beginString()
            json.text(literal: "account ")
            keys.describe(into: &json)
            json.text(literal: " was routed to ")
            json.text(previous)
            json.text(literal: " before")
            json.endString()
            choice.reasons = Reasons(elements: json.bytes)
        } else if eligible.eligibleCount > 0 {
            let pick = rotate(eligible)
            choice.chosen = pick.index
            choice.rule = eligible.eligibleCount == 1 ? .onlyEligible : .rotation
            var json = reasonWriter(pick.index, lead, then: gradeText, into: &buffer)
            if let minimum = partners[pick.index].minGrade {
                json.beginString()
                json.text(literal: "meets min_grade ")
                json.text(minimum.rawValue)
                json.endString()
            }
            if eligible.eligibleCount == 1 {
                json.element("only eligible partner")
            } else {
                json.beginString()
                json.text(literal: "weighted rotation among ")
                json.text(eligible.eligibleCount)
                json.text(literal: " eligible partners (weight ")
                json.text(partners[pick.index].weight)
                json.text(literal: " of ")
                json.text(pick.total)
                json.text(literal: ")")
                json.endString()
            }
            choice.reasons = Reasons(elements: json.bytes)
        }
        return choice
    }

    /// Records the candidates in config order up to the cap (always the chosen and the
    /// registered partner) in `decision`; counts the rest by reason.
    @inline(__always)
    func recordCandidates(_ considered: [Int], list: Int, verdicts: [UInt64], pastCap: SIMD8<Int32>, chosen: Int?, registered: Int?,
                          into decision: inout RoutingDecision) {
        let recordedCount = min(considered.count, recordedCandidates)
        guard let registered else {
            // The verdicts as they are: the first `recordedCandidates` positions and the chosen
            // partner's are recorded; the rest are counted here, by reason.
            let record = CandidateVerdicts(
                partners: considered, list: list, bits: verdicts, recorded: recordedCount,
                chosen: chosen.flatMap { CandidateVerdicts.position(of: $0, in: considered) })
            if considered.count > recordedCandidates {
                // Counted while judging; the chosen partner past the cap is recorded, not omitted.
                var omitted = pastCap
                if let position = record.chosen, position >= recordedCount { omitted[0] -= 1 }
                decision.omittedCounts = omitted
                decision.candidatesOmitted = Int(omitted.wrappedSum())
            }
            decision.candidateRecord = .verdicts(record)
            return
        }
        // A registration excludes every other partner: a rare case, recorded (and counted)
        // the long way, as codes.
        let words = verdicts.count / CandidateVerdicts.sets
        var recorded: [UInt32] = []
        recorded.reserveCapacity(recordedCount + 2)
        var omittedCounts = [Int](repeating: 0, count: CandidateVerdicts.sets)
        var omitted = 0
        for (position, i) in considered.enumerated() {
            let own = CandidateCode.exclusion(CandidateVerdicts.verdict(at: position, in: verdicts, words: words))
            let exclusion: Exclusion? = i == chosen ? nil : i == registered ? own : .registration
            if recorded.count < recordedCandidates || i == chosen || i == registered {
                recorded.append(CandidateCode.make(i, exclusion))
            } else {
                omitted += 1
                omittedCounts[Int(CandidateCode.verdict(exclusion))] += 1
            }
        }
        if !considered.contains(registered) {
            let exclusion: Exclusion? = registered == chosen ? nil : (rules[registered].active ? .paused : .inactive)
            recorded.append(CandidateCode.make(registered, exclusion))
        }
        for (verdict, count) in omittedCounts.enumerated() { decision.omittedCounts[verdict] = Int32(clamping: count) }
        decision.candidateRecord = .codes(recorded)
        decision.candidatesOmitted = omitted
    }

    /// Smooth weighted rotation (nginx's algorithm) over the eligible partners only: each
    /// gains its weight, the highest (first in config order on ties) is chosen and pays the
    /// round's total. Partners not eligible neither gain nor pay, so a paused, full or
    /// inactive partner never distorts the others' shares and gets no catch-up burst.
    mutating func rotate(_ eligible: some EligiblePartners) -> (index: Int, total: Int) {
        var total = 0
        // The highest counter so far is kept beside its partner, and starts below any counter
        // (a counter after its gain of at least 1 is above `Int.min`): no `best < 0` test and
        // no load of `current[best]` for each partner.
        var best = -1, highest = Int.min
        // Through the arrays' storage: with thousands of partners a lead has hundreds eligible,
        // and each checked index and uniqueness test was paid for each.
        var allMarked = true
        currentWeights.withUnsafeMutableBufferPointer { current in
            weights.withUnsafeBufferPointer { weights in
                rotationMarked.withUnsafeMutableBufferPointer { marked in
                    eligible.forEachEligible { i in
                        let counter = current[i] + weights[i]
                        current[i] = counter
                        total += weights[i]
                        if counter > highest { best = i; highest = counter }
                        // An `and` of the flag: no branch, no count.
                        if !marked[i] { allMarked = false }
                    }
                }
            }
            // Only if every counter is `Int.min` (a weight below 1): the first, as ties go.
            if best < 0 { eligible.forEachEligible { i in if best < 0 { best = i } } }
            current[best] -= total
        }
        if !allMarked {
            eligible.forEachEligible { i in
                guard !rotationMarked[i] else { return }
                rotationMarked[i] = true
                rotationChanged.append(i)
            }
        }
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

    func unmatchedDecision(_ lead: LeadFacts, considered: [Int], verdicts: [UInt64], gradeRefusals: Int, gradeText: String) -> RoutingDecision {
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
            var parts: [String] = []
            for exclusion in Exclusion.allCases {
                let n = exclusion == .territory
                    ? partners.count - considered.count
                    : CandidateVerdicts.count(Int(CandidateCode.verdict(exclusion)), in: verdicts)
                guard n > 0 else { continue }
                switch exclusion {
                case .territory: parts.append("\(n) without territory \(territoryText(lead))")
                case .product:
                    parts.append(!lead.hasProducts
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
    }}

/// The partners eligible for a lead, as ``Router/choose(_:eligible:previousOwner:now:gradeText:)``
/// reads them: in config order, counted, tested one by one.
protocol EligiblePartners {
    var eligibleCount: Int { get }
    func isEligible(_ partner: Int) -> Bool
    /// Calls `body` with each, in config order.
    func forEachEligible(_ body: (Int) -> Void)
}

extension Array: EligiblePartners where Element == Int {
    var eligibleCount: Int { count }
    func isEligible(_ partner: Int) -> Bool { contains(partner) }
    func forEachEligible(_ body: (Int) -> Void) { for partner in self { body(partner) } }
}

/// The eligible set of a lead's verdicts (``CandidateVerdicts``, verdict 0): no list of
/// them is made. With thousands of partners a lead has hundreds eligible, and appending
/// each to a list, then scanning that list for an account's owner, cost more than judging.
struct EligibleBits: EligiblePartners {
    /// The candidate list's partners, by position.
    let partners: [Int]
    /// The verdicts: the eligible set is the first `words` words.
    let bits: [UInt64]
    let words: Int
    let eligibleCount: Int

    func isEligible(_ partner: Int) -> Bool {
        guard let position = CandidateVerdicts.position(of: partner, in: partners) else { return false }
        return bits[position / 64] & (1 << UInt64(position % 64)) != 0
    }

    @inline(__always)
    func forEachEligible(_ body: (Int) -> Void) {
        bits.withUnsafeBufferPointer { bits in
            partners.withUnsafeBufferPointer { partners in
                for w in 0..<words {
                    var word = bits[w]
                    while word != 0 {
                        // Wrapping arithmetic: `w * 64 + bit` is a position in `partners`.
                        body(partners[w &* 64 &+ word.trailingZeroBitCount])
                        word &= word &- 1
                    }
                }
            }
        }
    }
}
