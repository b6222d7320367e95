import Foundation
@testable import LeadRouting
import Testing

/// The router judges a lead's candidates 64 at a time, as bit sets (``CandidateVerdicts``),
/// and the decision record is written from those bit sets. These tests hold both to a
/// partner-by-partner reading of the rules, and to the record written from codes.
@Suite("Candidate verdicts as bit sets")
struct CandidateVerdictTests {
    static let t0: Int64 = 1_795_341_600_000
    static let countries = ["US", "DE", "FR"]
    static let regions = ["CO", "NY", "BY"]
    /// More than 64 products, so that the bit sets' words past the first are used too.
    static let products = (0..<100).map { "product-\($0)" }

    static func partners(_ n: Int, _ rng: inout SplitMix64) -> [Partner] {
        (0..<n).map { i in
            var territories: [Territory] = []
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                let country = countries.randomElement(using: &rng)!
                guard !territories.contains(where: { $0.country == country }) else { continue }
                territories.append(Territory(country: country, regions: Bool.random(using: &rng) ? [regions.randomElement(using: &rng)!] : nil))
            }
            let offered = Int.random(in: 0..<4, using: &rng) == 0
                ? [] : (0..<Int.random(in: 1...3, using: &rng)).map { _ in products.randomElement(using: &rng)! }
            return Partner(
                id: "p\(i)", territories: territories, products: Array(Set(offered)).sorted(),
                weight: Int.random(in: 1...5, using: &rng), active: Int.random(in: 0..<8, using: &rng) != 0,
                minGrade: [nil, .C, .B, .A].randomElement(using: &rng)!,
                capacity: Int.random(in: 0..<3, using: &rng) == 0 ? Capacity(max: Int.random(in: 1...3, using: &rng), perSeconds: 3600) : nil,
                pausedUntil: Int.random(in: 0..<5, using: &rng) == 0 ? t0 + Int64.random(in: 0...600_000, using: &rng) : nil)
        }
    }

    static func lead(_ i: Int, _ rng: inout SplitMix64) -> LeadFacts {
        let grade = Grade.allCases.randomElement(using: &rng)!
        let qualification: LeadFacts.Qualification? = switch grade {
        case .A: .init(need: "phishing", budget: 50_000, authority: .decisionMaker, timelineDays: 60)
        case .B: .init(need: "phishing", budget: 10_000, authority: .influencer, timelineDays: 150)
        case .C: .init(need: "phishing", budget: 1, authority: nil, timelineDays: nil)
        case .D: nil
        }
        // Now and then a product no partner offers, or none at all.
        let wanted = (0..<Int.random(in: 0...2, using: &rng)).map { _ in
            Int.random(in: 0..<10, using: &rng) == 0 ? "unknown-product" : products.randomElement(using: &rng)!
        }
        return LeadFacts(leadID: "l\(i)", companyName: "Acme \(i)", companyDomain: nil, country: countries.randomElement(using: &rng)!,
                         region: Bool.random(using: &rng) ? regions.randomElement(using: &rng)! : nil,
                         employees: grade == .A ? 500 : nil, products: wanted, qualification: qualification,
                         estimatedValue: grade == .A ? 50_000 : nil, contactEmail: nil)
    }

    @Test("each candidate's verdict is the first rule it fails, read partner by partner (leads in time order, or not)",
          arguments: [(1, true), (2, true), (3, true), (4, false), (5, false)] as [(UInt64, Bool)])
    func verdictsAgreeWithTheRules(seed: UInt64, inOrder: Bool) {
        var rng = SplitMix64(seed: seed)
        let partners = Self.partners(300, &rng)
        var router = Router(partners: partners, unmatched: .nurture, recordedCandidates: partners.count)
        var assignedAt: [String: [Int64]] = [:]
        var seen: Set<String> = []
        for i in 0..<600 {
            let facts = Self.lead(i, &rng)
            // Out of order: times jump back and forth by up to two hours (capacity windows are one).
            let now = Self.t0 + Int64(i) * 1_000 + (inOrder ? 0 : Int64.random(in: -7_200_000...7_200_000, using: &rng))
            let grade = Qualifier(config: QualificationConfig()).qualify(facts).grade
            let decision = router.route(facts, context: .init(now: now))
            let covering = partners.filter { Router.territoryMatch($0, facts) != nil }.map(\.id)
            #expect(decision.candidates.map(\.partnerID) == covering)
            for candidate in decision.candidates {
                let partner = partners.first { $0.id == candidate.partnerID }!
                let expected: Exclusion? =
                    if !partner.active { .inactive }
                    else if let until = partner.pausedUntil, until > now { .paused }
                    else if Router.productMatch(partner, facts) == nil { .product }
                    else if let capacity = partner.capacity,
                        assignedAt[partner.id, default: []].count(where: { $0 > now - capacity.perSeconds * 1000 }) >= capacity.max { .capacity }
                    else if let minimum = partner.minGrade, grade < minimum { .grade }
                    else { nil }
                #expect(candidate.exclusion == expected, "\(facts.leadID) \(partner.id)")
                seen.insert(expected?.rawValue ?? "eligible")
            }
            // Kept as the router keeps them: those inside the window when a lead is assigned,
            // the newest `max`.
            if let id = decision.partnerID, let capacity = partners.first(where: { $0.id == id })?.capacity {
                var kept = assignedAt[id, default: []].filter { $0 > now - capacity.perSeconds * 1000 }
                kept.append(now)
                assignedAt[id] = Array(kept.suffix(capacity.max))
            }
        }
        // Every verdict the bit sets hold was met.
        #expect(seen == ["eligible", "inactive", "paused", "product", "capacity", "grade"])
    }

    @Test("the record written from the bit sets is byte for byte the one written from codes",
          arguments: [(7, true), (7, false), (40, true), (1_000, true), (1_000, false)] as [(Int, Bool)])
    func recordsAgree(recorded: Int, packed: Bool) {
        var rng = SplitMix64(seed: UInt64(recorded))
        let partners = Self.partners(400, &rng)
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: recorded)
        var bitSets = 0
        for i in 0..<400 {
            let decision = router.route(Self.lead(i, &rng), context: .init(now: Self.t0 + Int64(i) * 1_000))
            guard case .verdicts = decision.candidateRecord else { continue }
            bitSets += 1
            var asCodes = decision
            asCodes.candidateRecord = .codes(decision.candidateCodes)
            let list: Int64? = packed ? 3 : nil
            if packed {
                // Stored, the bit sets are written as they are, over the positions of the
                // router's candidate list: the same candidates, the rest byte for byte.
                let fromBits = Self.storedRecord(decision.record(messages: [], partnerList: list), lists: router.candidateLists)
                let fromCodes = Self.storedRecord(asCodes.record(messages: [], partnerList: list), lists: router.candidateLists)
                #expect(fromBits.groups == fromCodes.groups)
                #expect(fromBits.rest == fromCodes.rest)
                #expect(fromBits.list != nil && fromCodes.list == nil)
            } else {
                #expect(decision.record(messages: [], partnerList: list) == asCodes.record(messages: [], partnerList: list))
            }
            // The first `recorded` candidates, and past them only the chosen partner, last.
            let total = decision.candidates.count + decision.candidatesOmitted
            let chosenPast = decision.candidates.count > min(recorded, total)
            #expect(decision.candidates.count == min(recorded, total) + (chosenPast ? 1 : 0))
            if chosenPast { #expect(decision.candidates.last == Candidate(partnerID: decision.partnerID ?? "", exclusion: nil)) }
            #expect(decision.omittedByReason.values.reduce(0, +) == decision.candidatesOmitted)
            #expect(decision.candidates.count + decision.candidatesOmitted + decision.outsideTerritory == partners.count)
        }
        #expect(bitSets == 400)
    }

    /// A stored record's candidate groups as partner indices, read as `leadctl explain` reads
    /// them (bit sets over candidate list `candidate_list` when it names one, else packed
    /// positions), and the record without them.
    static func storedRecord(_ bytes: [UInt8], lists: [[Int]]) -> (groups: [String: [Int]], rest: String, list: Int?) {
        var object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        let list = object["candidate_list"] as? Int
        var groups: [String: [Int]] = [:]
        for (verdict, text) in object["candidates"] as? [String: String] ?? [:] {
            if let list, verdict != "chosen" {
                groups[verdict] = BitGroups.decode(text)?.map { lists[list][$0] }
            } else {
                groups[verdict] = PackedPositions.decode(text)
            }
        }
        object["candidates"] = nil
        object["candidate_list"] = nil
        let rest = (try? JSONSerialization.data(withJSONObject: object, options: .sortedKeys)).map { String(decoding: $0, as: UTF8.self) }
        return (groups, rest ?? "", list)
    }

    @Test("a lead whose candidate list is merged for it (past the pre-merge budget) records packed positions")
    func mergedListsArePacked() {
        var rng = SplitMix64(seed: 9)
        let partners = Self.partners(200, &rng) + [Partner(id: "tx", territories: [Territory(country: "US", regions: ["TX"])])]
        var router = Router(partners: partners, unmatched: .vendorSales, premergedEntryBudget: 0)
        let facts = LeadFacts(leadID: "l", companyName: "Acme", companyDomain: nil, country: "US", region: "TX", employees: nil,
                              products: ["firewall"], qualification: nil, estimatedValue: nil, contactEmail: nil)
        let decision = router.route(facts, context: .init(now: Self.t0))
        guard case .verdicts(let verdicts) = decision.candidateRecord else {
            Issue.record("expected bit sets")
            return
        }
        #expect(verdicts.list == -1)
        var asCodes = decision
        asCodes.candidateRecord = .codes(decision.candidateCodes)
        #expect(decision.record(messages: [], partnerList: 3) == asCodes.record(messages: [], partnerList: 3))
        #expect(!String(decoding: decision.record(messages: [], partnerList: 3), as: UTF8.self).contains("candidate_list"))
    }

    @Test("a lead no partner's territory covers records an empty candidate list")
    func noCandidates() {
        let partners = [Partner(id: "de", territories: [Territory(country: "DE")])]
        var router = Router(partners: partners, unmatched: .vendorSales)
        let facts = LeadFacts(leadID: "l", companyName: "Acme", companyDomain: nil, country: "US", region: nil, employees: nil,
                              products: ["firewall"], qualification: nil, estimatedValue: nil, contactEmail: nil)
        let decision = router.route(facts, context: .init(now: Self.t0))
        #expect(decision.partnerID == nil && decision.outsideTerritory == 1)
        let record = String(decoding: decision.record(messages: [], partnerList: 1), as: UTF8.self)
        #expect(record.contains(#""candidate_list":0,"candidates":{}"#), "\(record)")
        #expect(router.candidateLists[0].isEmpty)
    }

    @Test("a chosen partner past the recording cap is recorded after the others, once")
    func chosenPastTheCap() {
        let partners = (0..<130).map { Partner(id: "p\($0)", products: $0 == 129 ? [] : ["firewall"]) }
        var router = Router(partners: partners, unmatched: .nurture, recordedCandidates: 70)
        let facts = LeadFacts(leadID: "l", companyName: "Acme", companyDomain: nil, country: "US", region: nil, employees: nil,
                              products: ["backup"], qualification: nil, estimatedValue: nil, contactEmail: nil)
        let decision = router.route(facts, context: .init(now: Self.t0))
        #expect(decision.partnerID == "p129")
        #expect(decision.candidateCodes.count == 71)
        #expect(decision.candidates.last == Candidate(partnerID: "p129", exclusion: nil))
        #expect(decision.candidates.dropLast().allSatisfy { $0.exclusion == .product })
        #expect(decision.omittedByReason == ["product": 59])
        // Stored: the chosen partner's position in the partner list (129), then the first 70
        // positions of the list of partners covering anywhere (list 0), as a bit set.
        let record = String(decoding: decision.record(messages: [], partnerList: 1), as: UTF8.self)
        #expect(record.contains(#""candidate_list":0,"candidates":{"chosen":"hE","product":"#))
        let stored = Self.storedRecord(Array(record.utf8), lists: router.candidateLists)
        #expect(stored.groups == ["chosen": [129], "product": Array(0..<70)])
    }

    @Test("positions are found in a candidate list by binary search")
    func positions() {
        let list = [2, 3, 5, 8, 13, 21]
        for (position, index) in list.enumerated() { #expect(CandidateVerdicts.position(of: index, in: list) == position) }
        for index in [0, 4, 22, 100] { #expect(CandidateVerdicts.position(of: index, in: list) == nil) }
        #expect(CandidateVerdicts.position(of: 1, in: []) == nil)
    }

    @Test("omitted counts are kept per verdict and written by name, in name order")
    func omittedCounts() {
        var decision = RoutingDecision(partnerID: nil, assignments: [], reasons: [])
        let counts = ["territory": 1, "product": 2, "eligible": 3, "capacity": 4, "grade": 5, "inactive": 6, "paused": 7, "registration": 8]
        decision.omittedByReason = counts
        #expect(decision.omittedByReason == counts)
        let record = String(decoding: decision.record(messages: []), as: UTF8.self)
        #expect(record.contains(#""omitted_by_reason":{"capacity":4,"eligible":3,"grade":5,"inactive":6,"paused":7,"product":2,"registration":8,"territory":1}"#))
        decision.omittedByReason = ["product": 2]
        #expect(decision.omittedByReason == ["product": 2])
        decision.omittedByReason = [:]
        #expect(!String(decoding: decision.record(messages: []), as: UTF8.self).contains("omitted_by_reason"))
    }

    @Test("a country code finds its index by number; other text by name")
    func countrySlots() {
        #expect(Router.countrySlot("AA") == 0)
        #expect(Router.countrySlot("US") == 20 * 26 + 18)
        #expect(Router.countrySlot("ZZ") == 26 * 26 - 1)
        for text in ["", "U", "us", "Us", "USA", "U1", "Ü", "@A", "[A"] { #expect(Router.countrySlot(text) == nil, "\(text)") }
        let partners = [Partner(id: "us", territories: [Territory(country: "US", regions: nil)]),
                        Partner(id: "de", territories: [Territory(country: "DE", regions: ["BY"])]), Partner(id: "anywhere")]
        let router = Router(partners: partners, unmatched: .nurture)
        func facts(_ country: String, _ region: String? = nil) -> LeadFacts {
            LeadFacts(leadID: "l", companyName: "Acme", country: country, region: region)
        }
        #expect(router.candidates(for: facts("US")).partners == [0, 2])
        #expect(router.candidates(for: facts("DE")).partners == [2])
        #expect(router.candidates(for: facts("DE", "BY")).partners == [1, 2])
        #expect(router.candidates(for: facts("FR")).partners == [2])
    }
}

@Suite("Candidate groups as bit sets")
struct BitGroupsTests {
    @Test("positions survive a bit set and back, sorted and without repeats; trailing zero bytes are left out")
    func roundTrip() {
        var rng = SplitMix64(seed: 7)
        let cases: [[Int]] = [[], [0], [7], [8], [63], [64], [0, 1, 2, 3], [5, 3, 5, 1], [10_000]]
            + (0..<200).map { _ in (0..<Int.random(in: 0...200, using: &rng)).map { _ in Int.random(in: 0..<700, using: &rng) } }
        for positions in cases {
            var text: [UInt8] = []
            BitGroups.encode(positions, into: &text)
            #expect(text.allSatisfy { PackedPositions.values[Int($0)] >= 0 }, "not URL-safe base64")
            let bytes = (positions.max() ?? -1) / 8 + 1
            #expect(text.count == (positions.isEmpty ? 0 : BitGroups.encodedCount(bytes)))
            #expect(BitGroups.decode(String(decoding: text, as: UTF8.self)) == Array(Set(positions)).sorted())
        }
    }

    @Test("64 positions take 11 characters")
    func compact() {
        var text: [UInt8] = []
        BitGroups.encode(Array(0..<64), into: &text)
        #expect(String(decoding: text, as: UTF8.self) == "__________8")
    }

    @Test("anything else is not read as a group", arguments: ["!", "é", "AB=", "AB", "_", "A B"])
    func garbage(text: String) {
        #expect(BitGroups.decode(text) == nil)
    }
}
