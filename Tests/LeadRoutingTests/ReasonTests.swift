import Foundation
@testable import LeadRouting
import Testing

/// A routed lead's reasons are written once, as the JSON its envelopes carry (``Reasons``),
/// never built as strings: each rule's wording, pinned here, and the text read back.
@Suite("Reasons written once")
struct ReasonTests {
    static let t0: Int64 = 1_795_341_600_000

    static func facts(company: String = "Acme \"Quoted\" Corp\\Ltd", domain: String? = nil, region: String? = "CO",
                      products: [String] = ["firewall"]) -> LeadFacts {
        LeadFacts(leadID: "l1", companyName: company, companyDomain: domain, country: "US", region: region, employees: 500,
                  products: products, qualification: .init(need: "phishing", budget: 50_000, authority: .decisionMaker, timelineDays: 60),
                  estimatedValue: 50_000, contactEmail: nil)
    }

    @Test("an account owner: territory, product, grade and the account, escaped where the company name needs it")
    func accountOwner() {
        let owner = Partner(id: "own\u{1}er", territories: [Territory(country: "US", regions: ["CO"])], products: ["firewall"],
                            accounts: ["Acme \"Quoted\" Corp\\Ltd"])
        var router = Router(partners: [owner, Partner(id: "other")], unmatched: .nurture)
        let decision = router.route(Self.facts(), context: .init(now: Self.t0))
        #expect(decision.rule == .account)
        #expect(decision.reasons == [
            "country US region CO in territory", "product firewall offered", "grade A (score 100)",
            "account Acme \"Quoted\" Corp\\Ltd owned by own\u{1}er",
        ])
        #expect(Reasons(decision.reasons) == decision.reasonList)
    }

    @Test("the account's previous partner, a whole country and every product")
    func affinity() {
        let partners = [Partner(id: "a", territories: [Territory(country: "US", regions: nil)]), Partner(id: "b")]
        var router = Router(partners: partners, unmatched: .nurture)
        let decision = router.route(Self.facts(domain: "acme.example"), context: .init(now: Self.t0, previousOwner: "a"))
        #expect(decision.rule == .affinity)
        #expect(decision.reasons == [
            "country US in territory", "every product offered", "grade A (score 100)", "account acme.example was routed to a before",
        ])
    }

    @Test("a rotation: anywhere, the minimum grade met, and the weights")
    func rotation() {
        let partners = [Partner(id: "a", products: ["firewall"], weight: 2, minGrade: .B), Partner(id: "b", weight: 3)]
        var router = Router(partners: partners, unmatched: .nurture)
        let decision = router.route(Self.facts(region: nil), context: .init(now: Self.t0))
        #expect(decision.rule == .rotation)
        #expect(decision.partnerID == "b")
        #expect(decision.reasons == [
            "territory anywhere", "every product offered", "grade A (score 100)", "weighted rotation among 2 eligible partners (weight 3 of 5)",
        ])
        let next = router.route(Self.facts(region: nil), context: .init(now: Self.t0))
        #expect(next.reasons == [
            "territory anywhere", "product firewall offered", "grade A (score 100)", "meets min_grade B",
            "weighted rotation among 2 eligible partners (weight 2 of 5)",
        ])
    }

    @Test("reasons set as text are written as JSON and read back as they were")
    func roundTrip() {
        let texts = ["", "plain", "quote \" and backslash \\", "tab\tnewline\n", "control \u{1f}", "ünïcødé ✓"]
        var decision = RoutingDecision(partnerID: nil, assignments: [], reasons: texts)
        #expect(decision.reasons == texts)
        let record = decision.record(messages: [])
        let object = try? JSONSerialization.jsonObject(with: Data(record)) as? [String: Any]
        #expect(object?["reasons"] as? [String] == texts)
        decision.reasons = []
        #expect(decision.reasons.isEmpty && decision.reasonList.elements.isEmpty)
    }
}
