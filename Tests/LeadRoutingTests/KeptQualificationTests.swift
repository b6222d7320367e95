@testable import LeadRouting
import Testing

/// A lead's and a decision's qualification are kept as a value and a flag, read in place;
/// through their properties they behave as the optionals they were.
@Suite("Qualifications kept as a value and a flag")
struct KeptQualificationTests {
    static let given = LeadFacts.Qualification(need: "firewall", budget: 5000, currency: "EUR", authority: .decisionMaker, timelineDays: 30)

    @Test("a lead's qualification set, replaced and removed reads back, and facts compare by it")
    func leadQualification() {
        let without = LeadFacts(leadID: "l", companyName: "Acme", country: "US")
        var facts = LeadFacts(leadID: "l", companyName: "Acme", country: "US", qualification: Self.given)
        #expect(facts.qualification == Self.given && facts.hasQualification)
        #expect(facts != without)
        facts.qualification = LeadFacts.Qualification(budget: 1)
        #expect(facts.qualification == LeadFacts.Qualification(budget: 1))
        facts.qualification = nil
        #expect(facts.qualification == nil && !facts.hasQualification)
        #expect(facts == without, "removed, the qualification leaves nothing behind")
        // Present but empty is not absent.
        facts.qualification = LeadFacts.Qualification()
        #expect(facts.qualification == LeadFacts.Qualification() && facts != without)
    }

    @Test("the qualifier reads the kept qualification: with it and without it, as its signals say")
    func qualifierReadsIt() {
        let qualifier = Qualifier(config: QualificationConfig())
        let with = qualifier.qualify(LeadFacts(leadID: "l", companyName: "Acme", country: "US", qualification: Self.given))
        let without = qualifier.qualify(LeadFacts(leadID: "l", companyName: "Acme", country: "US"))
        let points = Dictionary(uniqueKeysWithValues: with.signals.map { ($0.name, $0.points) })
        #expect(points["need"]! > 0 && points["budget"]! > 0 && points["authority"]! > 0 && points["timeline"]! > 0)
        #expect(without.signals.allSatisfy { $0.points == 0 } && without.score == 0)
    }

    @Test("a decision's qualification set and cleared reads back, and a cleared decision equals a new one")
    func decisionQualification() {
        var decision = RoutingDecision()
        #expect(decision.qualification == nil)
        let q = Qualification(score: 85, grade: .A, signals: [.init(name: "need", points: 20, possible: 20)])
        decision.qualification = q
        #expect(decision.qualification == q && decision != RoutingDecision())
        decision.clear()
        #expect(decision.qualification == nil && decision == RoutingDecision())
        decision.qualification = q
        decision.qualification = nil
        #expect(decision == RoutingDecision())
    }
}
