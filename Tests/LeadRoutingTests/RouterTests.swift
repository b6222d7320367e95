import LeadRouting
import Testing

@Suite("Routing")
struct RouterTests {
    @Test("leads_only publishes one owner assignment on the partner's topic")
    func leadsOnly() {
        var router = Router(partners: [partner("rocky", .leadsOnly)], unmatched: .vendorSales)
        let decision = router.route(facts())
        #expect(decision.partnerID == "rocky")
        #expect(decision.assignments == [
            Assignment(topic: "partner/rocky/", role: .owner, partnerID: "rocky", engagement: .leadsOnly),
        ])
    }

    @Test("co_sell publishes owner to the partner and co_seller to vendor sales")
    func coSell() {
        var router = Router(partners: [partner("rocky", .coSell)], unmatched: .vendorSales)
        #expect(router.route(facts()).assignments == [
            Assignment(topic: "partner/rocky/", role: .owner, partnerID: "rocky", engagement: .coSell),
            Assignment(topic: "vendor-sales/", role: .coSeller, partnerID: "rocky", engagement: .coSell),
        ])
    }

    @Test("vendor_closes publishes relationship_owner to the partner and closer to vendor sales")
    func vendorCloses() {
        var router = Router(partners: [partner("rocky", .vendorCloses)], unmatched: .vendorSales)
        #expect(router.route(facts()).assignments == [
            Assignment(topic: "partner/rocky/", role: .relationshipOwner, partnerID: "rocky", engagement: .vendorCloses),
            Assignment(topic: "vendor-sales/", role: .closer, partnerID: "rocky", engagement: .vendorCloses),
        ])
    }

    @Test("no eligible partner goes to vendor sales as direct, or to nurture, per routing.unmatched")
    func unmatched() {
        let partners = [partner("de-only", territories: [Territory(country: "DE")])]
        var toSales = Router(partners: partners, unmatched: .vendorSales)
        let direct = toSales.route(facts())
        #expect(direct.partnerID == nil)
        #expect(direct.assignments == [Assignment(topic: "vendor-sales/", role: .direct, partnerID: nil, engagement: nil)])
        #expect(direct.reasons.contains { $0.contains("1 without territory US-CO") })

        var toNurture = Router(partners: partners, unmatched: .nurture)
        #expect(toNurture.route(facts()).assignments == [Assignment(topic: "nurture/", role: .nurture, partnerID: nil, engagement: nil)])

        var nobody = Router(partners: [], unmatched: .vendorSales)
        #expect(nobody.route(facts()).reasons.first == "no partners configured")
    }

    @Test(
        "territories: whole country, listed regions, other countries, anywhere",
        arguments: [
            // (partner territories, lead country, lead region, eligible)
            ([Territory(country: "US")], "US", "CO" as String?, true),
            ([Territory(country: "US")], "US", nil, true),
            ([Territory(country: "US", regions: ["CO", "WY"])], "US", "WY", true),
            ([Territory(country: "US", regions: ["CO", "WY"])], "US", "TX", false),
            ([Territory(country: "US", regions: ["CO"])], "US", nil, false),
            ([Territory(country: "US", regions: ["CO"])], "CA", "CO", false),
            ([Territory(country: "DE"), Territory(country: "US", regions: ["CO"])], "US", "CO", true),
            ([], "JP", nil, true),
        ])
    func territories(territories: [Territory], country: String, region: String?, eligible: Bool) {
        let p = partner("p", territories: territories)
        let result = Router.eligibility(of: p, for: facts(country: country, region: region))
        #expect(((try? result.get()) != nil) == eligible)
        if !eligible { #expect(result == .failure(.territory)) }
    }

    @Test("the territory reason says what matched")
    func territoryReasons() throws {
        let regional = partner("p", territories: [Territory(country: "US", regions: ["CO"])], products: ["email-security"])
        #expect(try Router.eligibility(of: regional, for: facts()).get() == [
            "country US region CO in territory", "product email-security offered",
        ])
        let national = partner("p", territories: [Territory(country: "US")])
        #expect(try Router.eligibility(of: national, for: facts()).get() == ["country US in territory", "every product offered"])
    }

    @Test(
        "products: any one of the lead's products, or every product when the partner lists none",
        arguments: [
            (["email-security"], ["email-security"], true),
            (["firewall", "email-security"], ["email-security"], true),
            (["email-security"], ["endpoint", "email-security"], true),
            (["firewall"], ["email-security"], false),
            ([], ["anything"], true),
            ([], [], true),
            (["firewall"], [], false),
        ])
    func products(offered: [String], wanted: [String], eligible: Bool) {
        let result = Router.eligibility(of: partner("p", products: offered), for: facts(products: wanted))
        #expect(((try? result.get()) != nil) == eligible)
    }

    @Test("an inactive partner never receives a lead")
    func inactive() {
        var router = Router(partners: [partner("off", active: false), partner("on")], unmatched: .vendorSales)
        for i in 0..<10 { #expect(router.route(facts(id: "l\(i)")).partnerID == "on") }
        var alone = Router(partners: [partner("off", active: false)], unmatched: .vendorSales)
        let decision = alone.route(facts())
        #expect(decision.partnerID == nil)
        #expect(decision.reasons.first == "no eligible partner: 1 inactive")
    }

    @Test("weights set each eligible partner's share, smoothly interleaved")
    func weights() {
        var router = Router(partners: [partner("a", weight: 5), partner("b", weight: 1), partner("c", weight: 1)], unmatched: .vendorSales)
        let picks = (0..<7).map { router.route(facts(id: "l\($0)")).partnerID ?? "-" }
        // nginx's smooth weighted round robin on 5/1/1.
        #expect(picks == ["a", "a", "b", "a", "c", "a", "a"])

        var counts: [String: Int] = [:]
        for i in 0..<7000 { counts[router.route(facts(id: "m\(i)")).partnerID!, default: 0] += 1 }
        #expect(counts == ["a": 5000, "b": 1000, "c": 1000])
    }

    @Test("rotation is deterministic: the same partners and leads give the same choices")
    func deterministic() {
        let partners = [partner("a", weight: 3), partner("b", territories: [Territory(country: "US")], weight: 2), partner("c", products: ["firewall"], weight: 1)]
        let leads = (0..<200).map { i in
            facts(country: i % 3 == 0 ? "DE" : "US", products: i % 5 == 0 ? ["firewall"] : ["email-security"], id: "l\(i)")
        }
        var first = Router(partners: partners, unmatched: .nurture)
        var second = Router(partners: partners, unmatched: .nurture)
        #expect(leads.map { first.route($0) } == leads.map { second.route($0) })
    }

    @Test("partner ids that are prefixes of each other get distinct topics ending in /")
    func prefixIDs() {
        let acme = Router.assignments(for: partner("acme"))
        let acmeEast = Router.assignments(for: partner("acme-east"))
        #expect(acme[0].topic == "partner/acme/")
        #expect(acmeEast[0].topic == "partner/acme-east/")
        #expect(!acmeEast[0].topic.hasPrefix(acme[0].topic))
    }

    @Test("the chosen partner's reasons include why it won")
    func rotationReason() {
        var router = Router(partners: [partner("a", weight: 2), partner("b")], unmatched: .vendorSales)
        #expect(router.route(facts()).reasons.last == "weighted rotation among 2 eligible partners (weight 2 of 3)")
        var single = Router(partners: [partner("a")], unmatched: .vendorSales)
        #expect(single.route(facts()).reasons.last == "only eligible partner")
    }
}
