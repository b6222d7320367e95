/// Moving an offered lead on: the next partner by the usual rules, never one already tried,
/// and the partners that may claim a pooled lead.
extension Router {
    /// The partners eligible for `lead` at `now` (active, not paused, covering it, offering a
    /// product, with capacity, grade high enough), in config order.
    func eligibleIndexes(_ lead: LeadFacts, now: Int64) -> [Int] {
        let grade = qualifier.qualify(lead).grade
        let list = candidates(for: lead)
        var verdicts = Buffers.zeroWords(CandidateVerdicts.sets * list.words)
        let judged = judge(list, productBits(lead), grade, now, verdicts: &verdicts)
        var eligible: [Int] = []
        eligible.reserveCapacity(judged.eligible)
        EligibleBits(partners: list.partners, bits: verdicts, words: list.words, eligibleCount: judged.eligible)
            .forEachEligible { eligible.append($0) }
        return eligible
    }

    /// The next partner for `lead` by the usual rules (account owner, then weighted
    /// rotation), never one of `excluded`; its capacity counts the offer. `nil`: none eligible.
    public mutating func nextPartner(for lead: LeadFacts, excluding excluded: Set<String>, now: Int64) -> Partner? {
        let eligible = eligibleIndexes(lead, now: now).filter { !excluded.contains(partners[$0].id) }
        guard !eligible.isEmpty else { return nil }
        var reasons: [UInt8] = []
        let choice = choose(lead, eligible: eligible, previousOwner: nil, now: now, gradeText: "", reasons: &reasons)
        guard let chosen = choice.chosen, eligible.contains(chosen) else { return nil }
        recordAssignment(chosen, at: now)
        return partners[chosen]
    }

    /// Every partner eligible for `lead` but those in `excluded`, in config order.
    public func eligiblePartners(for lead: LeadFacts, excluding excluded: Set<String>, now: Int64) -> [String] {
        eligibleIndexes(lead, now: now).map { partners[$0].id }.filter { !excluded.contains($0) }
    }

    /// The configured partner with this id.
    public func partner(_ id: String) -> Partner? {
        indexByID[id].map { partners[$0] }
    }
}
