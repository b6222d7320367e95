import LeadRouting
import Testing

private let day: Int64 = 86_400_000
private let t0: Int64 = 1_795_341_600_000  // 2026-11-22T10:00:00Z

/// A lead with every qualification signal (grade A), or none (grade D).
private func lead(_ id: String, country: String = "US", region: String? = "CO", products: [String] = ["email-security"],
                  domain: String? = nil, company: String = "Acme Corp", email: String? = nil, grade: Grade = .A) -> LeadFacts {
    var q: LeadFacts.Qualification?
    switch grade {
    case .A: q = .init(need: "phishing", budget: 50_000, authority: .decisionMaker, timelineDays: 60)
    case .B: q = .init(need: "phishing", budget: 10_000, authority: .influencer, timelineDays: 150)
    case .C: q = .init(need: "phishing", budget: 1, authority: nil, timelineDays: nil)
    case .D: q = nil
    }
    return LeadFacts(leadID: id, companyName: company, companyDomain: domain, country: country, region: region,
                     employees: grade == .A ? 500 : nil, products: products, qualification: q,
                     estimatedValue: grade == .A ? 50_000 : nil, contactEmail: email)
}

private func p(_ id: String, weight: Int = 1, territories: [Territory] = [], products: [String] = [], minGrade: Grade? = nil,
               capacity: Capacity? = nil, pausedUntil: Int64? = nil, accounts: [String] = [], active: Bool = true,
               engagement: EngagementModel = .leadsOnly) -> Partner {
    Partner(id: id, engagement: engagement, territories: territories, products: products, weight: weight, active: active,
            minGrade: minGrade, capacity: capacity, pausedUntil: pausedUntil, accounts: accounts)
}

@Suite("Routing rules: qualification, capacity, pauses, relationships, registrations")
struct RoutingRulesTests {
    @Test(
        "qualification grades from the lead's signals with the default weights",
        arguments: [(Grade.A, Grade.A, 100), (.B, .B, 60), (.C, .C, 40), (.D, .D, 0)])
    func grades(input: Grade, expected: Grade, score: Int) {
        let q = Qualifier(config: QualificationConfig()).qualify(lead("q", grade: input))
        #expect(q.grade == expected)
        #expect(q.score == score)
        #expect(q.signals.map(\.name) == ["need", "budget", "authority", "timeline", "company_size", "estimated_value"])
    }

    @Test("need, budget, a decision maker and a timeline within 90 days grade A even for a small, unvalued lead")
    func contractGradeA() {
        var small = lead("a", grade: .A)
        small.employees = nil
        small.estimatedValue = nil
        small.qualification?.timelineDays = 90
        #expect(Qualifier(config: QualificationConfig()).qualify(small).grade == .A)
    }

    @Test("weights and thresholds are configurable")
    func customQualification() {
        let onlyAuthority = QualificationConfig(needWeight: 0, budgetWeight: 0, authorityWeight: 10, timelineWeight: 0,
                                                companySizeWeight: 0, estimatedValueWeight: 0, gradeA: 90, gradeB: 40, gradeC: 10)
        var influencer = lead("i", grade: .A)
        influencer.qualification?.authority = .influencer
        let q = Qualifier(config: onlyAuthority).qualify(influencer)
        #expect(q.score == 50)
        #expect(q.grade == .B)
    }

    @Test("a full_value below 1 is used as configured: estimated_value / full_value of the points")
    func fullValueBelowOne() {
        let onlyValue = QualificationConfig(needWeight: 0, budgetWeight: 0, authorityWeight: 0, timelineWeight: 0,
                                            companySizeWeight: 0, estimatedValueWeight: 10, fullValue: 0.5)
        let facts = LeadFacts(leadID: "v", companyName: "Tiny", country: "US", estimatedValue: 0.25)
        let q = Qualifier(config: onlyValue).qualify(facts)
        #expect(q.signals.first { $0.name == "estimated_value" }?.points == 5)
        #expect(q.score == 50)
        #expect(q.grade == .B)
    }

    @Test("a partner never receives a lead below its min_grade; when every otherwise-eligible partner refuses the grade the lead is nurtured")
    func minGrade() {
        var router = Router(partners: [p("picky", minGrade: .B), p("easy", minGrade: .C)], unmatched: .vendorSales)
        let c = router.route(lead("c", grade: .C), context: .init(now: t0))
        #expect(c.partnerID == "easy")
        let d = router.route(lead("d", grade: .D), context: .init(now: t0))
        #expect(d.partnerID == nil)
        #expect(d.rule == .belowGrade)
        #expect(d.assignments.map(\.topic) == ["nurture/"])
        #expect(d.reasons.first?.contains("below the min_grade") == true)
        #expect(d.candidates == [Candidate(partnerID: "picky", exclusion: .grade), Candidate(partnerID: "easy", exclusion: .grade)])
    }

    @Test("a full partner is skipped with the reason until its rolling window frees up")
    func capacity() {
        let window = Capacity(max: 2, perSeconds: 86_400, perText: "1d")
        var router = Router(partners: [p("small", weight: 100, capacity: window), p("backup")], unmatched: .vendorSales)
        let first = (0..<4).map { router.route(lead("c\($0)"), context: .init(now: t0 + Int64($0) * 1000)) }
        #expect(first.map(\.partnerID) == ["small", "small", "backup", "backup"])
        #expect(first[2].candidates.first == Candidate(partnerID: "small", exclusion: .capacity))
        // A day after the first lead, one slot is free again.
        #expect(router.route(lead("c4"), context: .init(now: t0 + day + 500)).partnerID == "small")
        #expect(router.route(lead("c5"), context: .init(now: t0 + day + 600)).partnerID == "backup")
    }

    @Test("a paused partner gets nothing until paused_until, then rejoins without a catch-up burst")
    func pausedNoBurst() {
        let until = t0 + 100_000
        var router = Router(partners: [p("a", pausedUntil: until), p("b")], unmatched: .vendorSales)
        let during = (0..<100).map { router.route(lead("p\($0)"), context: .init(now: t0 + Int64($0))).partnerID }
        #expect(during.allSatisfy { $0 == "b" })
        let after = (0..<100).map { router.route(lead("q\($0)"), context: .init(now: until + Int64($0))).partnerID ?? "-" }
        #expect(after.count { $0 == "a" } == 50)
        // The longest run of consecutive leads to "a" after its return: no burst.
        var longest = 0, run = 0
        for id in after { run = id == "a" ? run + 1 : 0; longest = max(longest, run) }
        #expect(longest <= 1)
    }

    @Test("an owned account goes to its owner first, by domain else by normalised name; a paused owner falls back to rotation")
    func accounts() {
        let partners = [p("rotation-first", weight: 10), p("owner", accounts: ["acme.example", "Globex Corporation"])]
        var router = Router(partners: partners, unmatched: .vendorSales)
        let byDomain = router.route(lead("a1", domain: "www.ACME.example"), context: .init(now: t0))
        #expect(byDomain.partnerID == "owner")
        #expect(byDomain.rule == .account)
        let byName = router.route(lead("a2", company: "GLOBEX, Inc."), context: .init(now: t0))
        #expect(byName.partnerID == "owner")
        let byMail = router.route(lead("a3", company: "Someone", email: "cio@acme.example"), context: .init(now: t0))
        #expect(byMail.partnerID == "owner")
        let freemail = router.route(lead("a4", company: "Someone", email: "cio@gmail.com"), context: .init(now: t0))
        #expect(freemail.rule != .account)

        var paused = Router(partners: [p("rotation-first"), p("owner", pausedUntil: t0 + day, accounts: ["acme.example"])], unmatched: .vendorSales)
        let fallback = paused.route(lead("a5", domain: "acme.example"), context: .init(now: t0))
        #expect(fallback.partnerID == "rotation-first")
        #expect(fallback.rule == .onlyEligible)

        // The domain's owner paused, the name's owner takes the account.
        var split = Router(partners: [p("rotation-first", weight: 10), p("domain-owner", pausedUntil: t0 + day, accounts: ["acme.example"]),
                                      p("name-owner", accounts: ["Acme Corp"])], unmatched: .vendorSales)
        let byNameAfterDomain = split.route(lead("a6", domain: "acme.example", company: "Acme"), context: .init(now: t0))
        #expect(byNameAfterDomain.partnerID == "name-owner")
        #expect(byNameAfterDomain.rule == .account)
        #expect(byNameAfterDomain.accountKeys == ["d:acme.example", "n:acme"])
    }

    @Test("an account routed before goes back to the same partner when it is eligible")
    func affinity() {
        var router = Router(partners: [p("a", weight: 10), p("b")], unmatched: .vendorSales)
        let again = router.route(lead("f1"), context: .init(now: t0, previousOwner: "b"))
        #expect(again.partnerID == "b")
        #expect(again.rule == .affinity)
        var strict = Router(partners: [p("a"), p("b", territories: [Territory(country: "DE")])], unmatched: .vendorSales)
        #expect(strict.route(lead("f2"), context: .init(now: t0, previousOwner: "b")).partnerID == "a")
    }

    @Test("registration beats account ownership beats affinity beats rotation")
    func precedence() {
        let partners = [p("rotator", weight: 100), p("affine"), p("owner", accounts: ["acme.example"]),
                        p("registrar", territories: [Territory(country: "DE")])]
        let registration = Registration(partnerID: "registrar", domain: "acme.example", expires: t0 + day)
        var router = Router(partners: partners, unmatched: .vendorSales, registrations: [registration])
        let registered = router.route(lead("r1", domain: "acme.example"), context: .init(now: t0, previousOwner: "affine"))
        #expect(registered.partnerID == "registrar")
        #expect(registered.rule == .registration)
        #expect(registered.candidates.filter { $0.partnerID != "registrar" }.allSatisfy { $0.exclusion == .registration })
        // After expiry: ownership.
        let owned = router.route(lead("r2", domain: "acme.example"), context: .init(now: t0 + 2 * day, previousOwner: "affine"))
        #expect(owned.partnerID == "owner")
        // No registration, no owner: affinity.
        #expect(router.route(lead("r3", domain: "other.example"), context: .init(now: t0, previousOwner: "affine")).partnerID == "affine")
        // Nothing: rotation.
        #expect(router.route(lead("r4", domain: "other.example"), context: .init(now: t0)).rule == .rotation)
    }

    @Test("conflicting registrations: the first valid one wins; a registered lead never goes to vendor sales as direct")
    func registrations() {
        let partners = [p("first", active: true), p("second"), p("sleepy", pausedUntil: t0 + day)]
        var router = Router(partners: partners, unmatched: .vendorSales, registrations: [
            Registration(partnerID: "first", domain: "a.example", expires: t0 - 1),     // expired
            Registration(partnerID: "second", domain: "a.example", expires: t0 + day),  // first valid
            Registration(partnerID: "first", domain: "a.example", expires: t0 + day),
            Registration(partnerID: "sleepy", domain: "b.example", expires: t0 + day),
        ])
        #expect(router.route(lead("g1", domain: "a.example"), context: .init(now: t0)).partnerID == "second")
        let held = router.route(lead("g2", domain: "b.example"), context: .init(now: t0))
        #expect(held.partnerID == nil)
        #expect(held.rule == .registrationHeld)
        #expect(held.assignments.map(\.topic) == ["nurture/"])
        #expect(held.assignments.allSatisfy { $0.role != .direct })
        router.setRegistrations([])
        #expect(router.route(lead("g3", domain: "a.example"), context: .init(now: t0)).rule == .rotation)
    }

    @Test("every decision explains the candidates considered and why each was excluded")
    func explanations() {
        let partners = [p("de", territories: [Territory(country: "DE")]), p("fw", products: ["firewall"]),
                        p("off", active: false), p("picky", minGrade: .A), p("chosen"),
                        p("co-only", territories: [Territory(country: "US", regions: ["CO"])])]
        var router = Router(partners: partners, unmatched: .vendorSales)
        let decision = router.route(lead("e1", region: "TX", grade: .B), context: .init(now: t0))
        #expect(decision.partnerID == "chosen")
        // "de" and "co-only" (another region) do not cover US-TX: never considered, counted.
        #expect(decision.outsideTerritory == 2)
        #expect(decision.candidates == [
            Candidate(partnerID: "fw", exclusion: .product), Candidate(partnerID: "off", exclusion: .inactive),
            Candidate(partnerID: "picky", exclusion: .grade), Candidate(partnerID: "chosen", exclusion: nil),
        ])
        let record = String(decoding: decision.record(messages: []), as: UTF8.self)
        #expect(record.contains(#""rule":"only_eligible""#))
        #expect(record.contains(#""candidates":{"product":["fw"],"inactive":["off"],"grade":["picky"],"chosen":["chosen"]}"#))
        #expect(record.contains(#""outside_territory":2"#))
        // As the daemon stores it: each group a bit set over the positions of the router's
        // candidate list 2 (all of the US: the four partners covering anywhere), the
        // chosen partner packed as its position in the stored partner list 7.
        let indexed = String(decoding: decision.record(messages: [], partnerList: 7), as: UTF8.self)
        #expect(indexed.contains(#""partner_list":7,"candidate_list":2,"candidates":{"chosen":"E","inactive":"Ag","product":"AQ","grade":"BA"}"#))
        #expect(router.candidateLists.count == 4)  // anywhere, DE, US, US-CO
        let usList = router.candidateLists[2]
        #expect(usList.map { partners[$0].id } == ["fw", "off", "picky", "chosen"])
        #expect(BitGroups.decode("AQ")?.map { partners[usList[$0]].id } == ["fw"])
        #expect(BitGroups.decode("Ag")?.map { partners[usList[$0]].id } == ["off"])
        #expect(BitGroups.decode("BA")?.map { partners[usList[$0]].id } == ["picky"])
        #expect(PackedPositions.decode("E") == [4])
        // The daemon leaves the rule, reasons and qualification to the envelopes it stores;
        // with no envelope to read them from, they stay.
        let envelope = OutgoingMessage(topic: "partner/chosen/", seq: 4, envelope: [])
        let slim = String(decoding: decision.record(messages: [envelope], partnerList: 7, reasonsInEnvelope: true), as: UTF8.self)
        #expect(!slim.contains(#""rule""#) && !slim.contains(#""reasons""#) && !slim.contains(#""qualification""#))
        #expect(slim.contains(#""assignment_id""#) && slim.contains(#""partner_list":7"#))
        #expect(slim.contains(#""assignments":[{"topic":"partner/chosen/","seq":4,"role":"owner"}]"#))
        let kept = String(decoding: decision.record(messages: [], reasonsInEnvelope: true), as: UTF8.self)
        #expect(kept.contains(#""rule":"only_eligible""#) && kept.contains(#""reasons":["#))
    }

    @Test("rotation state carried across a restart continues exactly where it left off")
    func restartedRotation() {
        let partners = [p("a", weight: 3), p("b", weight: 2), p("c", capacity: Capacity(max: 5, perSeconds: 3600))]
        var uninterrupted = Router(partners: partners, unmatched: .vendorSales)
        for i in 0..<137 { _ = uninterrupted.route(lead("x\(i)"), context: .init(now: t0 + Int64(i))) }
        var restarted = Router(partners: partners, unmatched: .vendorSales, states: uninterrupted.partnerStates)
        for i in 137..<400 {
            let context = RoutingContext(now: t0 + Int64(i))
            #expect(uninterrupted.route(lead("x\(i)"), context: context) == restarted.route(lead("x\(i)"), context: context))
        }
    }

    @Test("changed rotation counters are handed out for saving a share at a time, oldest change first; capacity windows always")
    func rotationStatesInShares() {
        let partners = [p("a"), p("b"), p("c"), p("d", capacity: Capacity(max: 5, perSeconds: 3600))]
        var router = Router(partners: partners, unmatched: .vendorSales)
        _ = router.route(lead("r1"), context: .init(now: t0))
        // Every eligible partner's counter moved; the chosen one's capacity window too, if it has one.
        #expect(router.pendingRotationStates == 4)
        let first = router.takeChangedStates(rotationLimit: 1)
        #expect(first.keys.contains("a"))
        #expect(router.pendingRotationStates == 3)
        let none = router.takeChangedStates(rotationLimit: 0)
        #expect(none.isEmpty)
        let rest = router.takeChangedStates()
        #expect(Set(rest.keys) == ["b", "c", "d"])
        #expect(router.pendingRotationStates == 0)
        // A partner changed again after being taken is pending again, once.
        _ = router.route(lead("r2"), context: .init(now: t0 + 1))
        _ = router.route(lead("r3"), context: .init(now: t0 + 2))
        #expect(router.pendingRotationStates == 4)
        #expect(router.takeChangedStates().count == 4)
    }
}

/// Property tests over random partners and leads, from fixed seeds so failures reproduce.
@Suite("Routing properties")
struct RoutingPropertyTests {
    static let countries = ["US", "DE", "FR", "GB", "JP", "BR"]
    static let regions = ["CO", "NY", "BY", "75", "13", "SP"]
    static let products = ["email-security", "firewall", "endpoint", "backup"]

    static func randomPartners(_ n: Int, _ rng: inout SplitMix64) -> [Partner] {
        (0..<n).map { i in
            var territories: [Territory] = []
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                let country = countries.randomElement(using: &rng)!
                guard !territories.contains(where: { $0.country == country }) else { continue }
                territories.append(Territory(country: country, regions: Bool.random(using: &rng) ? [regions.randomElement(using: &rng)!] : nil))
            }
            return p("p\(i)", weight: Int.random(in: 1...5, using: &rng), territories: territories,
                     products: Bool.random(using: &rng) ? [] : [products.randomElement(using: &rng)!],
                     minGrade: [nil, .C, .B].randomElement(using: &rng)!,
                     capacity: Int.random(in: 0..<4, using: &rng) == 0 ? Capacity(max: Int.random(in: 1...20, using: &rng), perSeconds: 3600) : nil,
                     pausedUntil: Int.random(in: 0..<5, using: &rng) == 0 ? t0 + Int64.random(in: 0...600_000, using: &rng) : nil,
                     active: Int.random(in: 0..<10, using: &rng) != 0)
        }
    }

    static func randomLead(_ i: Int, _ rng: inout SplitMix64) -> LeadFacts {
        lead("l\(i)", country: countries.randomElement(using: &rng)!, region: Bool.random(using: &rng) ? regions.randomElement(using: &rng)! : nil,
             products: [products.randomElement(using: &rng)!], grade: Grade.allCases.randomElement(using: &rng)!)
    }

    @Test("no lead ever goes to an ineligible partner", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func neverIneligible(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let partners = Self.randomPartners(40, &rng)
        var router = Router(partners: partners, unmatched: .nurture)
        var assignedAt: [String: [Int64]] = [:]
        for i in 0..<3000 {
            let facts = Self.randomLead(i, &rng)
            let now = t0 + Int64(i) * 250
            let decision = router.route(facts, context: .init(now: now))
            guard let id = decision.partnerID else { continue }
            let partner = partners.first { $0.id == id }!
            #expect((try? Router.eligibility(of: partner, for: facts).get()) != nil)
            #expect(partner.pausedUntil.map { $0 <= now } ?? true)
            let grade = Qualifier(config: QualificationConfig()).qualify(facts).grade
            #expect(partner.minGrade.map { grade >= $0 } ?? true)
            if let capacity = partner.capacity {
                let inWindow = assignedAt[id, default: []].count { $0 > now - capacity.perSeconds * 1000 }
                #expect(inWindow < capacity.max)
            }
            assignedAt[id, default: []].append(now)
        }
    }

    @Test("over long runs each partner's share tracks its weight, across pauses", arguments: [11, 12, 13] as [UInt64])
    func sharesTrackWeights(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let weights = (0..<6).map { _ in Int.random(in: 1...5, using: &rng) }
        // Pauses: each partner is paused for one random stretch of the run.
        let leads = 30_000
        let stretches = weights.indices.map { _ -> Range<Int> in
            let start = Int.random(in: 0..<leads, using: &rng)
            return start..<min(leads, start + Int.random(in: 500...5000, using: &rng))
        }
        var expected = Array(repeating: 0.0, count: weights.count)
        var counts: [String: Int] = [:]
        var router: Router?
        var currentPauses: [Int64?] = []
        for i in 0..<leads {
            let now = t0 + Int64(i)
            let pauses: [Int64?] = weights.indices.map { stretches[$0].contains(i) ? t0 + Int64(stretches[$0].upperBound) : nil }
            if pauses != currentPauses {
                // Pauses change: the same rotation state under the new partner settings.
                let partners = weights.indices.map { p("w\($0)", weight: weights[$0], pausedUntil: pauses[$0]) }
                router = Router(partners: partners, unmatched: .vendorSales, states: router?.partnerStates ?? [:])
                currentPauses = pauses
            }
            let active = weights.indices.filter { pauses[$0] == nil }
            let total = Double(active.map { weights[$0] }.reduce(0, +))
            for j in active { expected[j] += Double(weights[j]) / total }
            if let id = router!.route(lead("s\(i)"), context: .init(now: now)).partnerID { counts[id, default: 0] += 1 }
        }
        for j in weights.indices {
            let got = Double(counts["w\(j)"] ?? 0)
            #expect(abs(got - expected[j]) / expected[j] < 0.03, "partner w\(j) weight \(weights[j]): got \(got), expected \(expected[j])")
        }
    }

    @Test("the same input and state always give the same decisions", arguments: [21, 22] as [UInt64])
    func deterministic(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let partners = Self.randomPartners(30, &rng)
        let leads = (0..<1000).map { Self.randomLead($0, &rng) }
        var first = Router(partners: partners, unmatched: .vendorSales)
        var second = Router(partners: partners, unmatched: .vendorSales)
        for (i, facts) in leads.enumerated() {
            let context = RoutingContext(now: t0 + Int64(i) * 1000, previousOwner: i % 7 == 0 ? "p3" : nil)
            #expect(first.route(facts, context: context) == second.route(facts, context: context))
        }
    }

    @Test("with 10,000 partners the index finds exactly the eligible partners a full scan would")
    func indexMatchesScan() {
        var rng = SplitMix64(seed: 99)
        let partners = Self.randomPartners(10_000, &rng)
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: partners.count)
        // Each lead is checked against a scan of all 10,000 partners: sized down in debug builds,
        // where the scan costs seconds of CPU that the end-to-end tests beside it need.
        #if DEBUG
        let leads = 100
        #else
        let leads = 300
        #endif
        for i in 0..<leads {
            let facts = Self.randomLead(i, &rng)
            let now = t0
            let decision = router.route(facts, context: .init(now: now))
            let grade = Qualifier(config: QualificationConfig()).qualify(facts).grade
            let scan = partners.filter { partner in
                (try? Router.eligibility(of: partner, for: facts).get()) != nil
                    && (partner.pausedUntil.map { $0 <= now } ?? true) && (partner.minGrade.map { grade >= $0 } ?? true)
            }.map(\.id)
            let indexed = decision.candidates.filter { $0.exclusion == nil || $0.exclusion == .capacity }.map(\.partnerID)
            #expect(Set(scan) == Set(indexed))
            #expect(decision.candidatesOmitted + decision.candidates.count + decision.outsideTerritory == partners.count)
        }
    }

    @Test("region lists merged at start-up and merged per lead give the same decisions")
    func premergedAndLazyRegionsAgree() {
        var rng = SplitMix64(seed: 7)
        let partners = Self.randomPartners(2_000, &rng)
        var premerged = Router(partners: partners, unmatched: .vendorSales)
        var lazy = Router(partners: partners, unmatched: .vendorSales, premergedEntryBudget: 0)
        for i in 0..<500 {
            let facts = Self.randomLead(i, &rng)
            let context = RoutingContext(now: t0 + Int64(i))
            #expect(premerged.route(facts, context: context) == lazy.route(facts, context: context))
        }
    }

    @Test("past the recording cap the chosen partner is still recorded and the rest are counted by reason")
    func recordingCap() {
        let partners = (0..<50).map { p("p\($0)", products: $0 < 49 ? ["firewall"] : []) }
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: 10)
        let decision = router.route(lead("cap"), context: .init(now: t0))
        #expect(decision.partnerID == "p49")
        #expect(decision.candidates.count == 11)
        #expect(decision.candidates.last == Candidate(partnerID: "p49", exclusion: nil))
        #expect(decision.candidatesOmitted == 39)
        #expect(decision.omittedByReason == ["product": 39])
    }
}

@Suite("Packed candidate positions")
struct PackedPositionsTests {
    @Test("positions survive packing and unpacking, sorted and without repeats, from 0 to millions")
    func roundTrip() {
        var rng = SplitMix64(seed: 42)
        let cases: [[Int]] = [[], [0], [31], [32], [1023], [1024], [0, 1, 2, 3], [5, 3, 5, 1], [2_000_000, 7]]
            + (0..<200).map { _ in (0..<Int.random(in: 0...300, using: &rng)).map { _ in Int.random(in: 0..<100_000, using: &rng) } }
        for positions in cases {
            var packed: [UInt8] = []
            PackedPositions.encode(positions, into: &packed)
            #expect(packed.allSatisfy { $0 >= 0x2D && $0 <= 0x7A }, "not URL-safe base64")
            #expect(PackedPositions.decode(String(decoding: packed, as: UTF8.self)) == Array(Set(positions)).sorted())
        }
    }

    @Test("neighbouring positions take a character each")
    func compact() {
        var packed: [UInt8] = []
        PackedPositions.encode(Array(stride(from: 100, to: 2_100, by: 10)), into: &packed)
        #expect(packed.count == 1 + 200)  // the first gap (100) takes two characters, the other 199 one
    }

    @Test("a verdict fits the 3 bits a candidate code keeps for it")
    func verdictsFit() {
        #expect(Exclusion.allCases.count <= 7)
    }

    @Test("anything else is not read as positions", arguments: ["!", "g", "AB=", "é", "__________________", "_________-" + String(repeating: "_________-", count: 8)])
    func garbage(text: String) {
        #expect(PackedPositions.decode(text) == nil)
    }
}
