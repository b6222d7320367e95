import Foundation
@testable import LeadRouting
import Testing

/// The text fields routing reads once or never are kept as bytes in one buffer
/// (``SpareText``): these tests hold what the reader keeps to what the fields say, and the
/// account keys made from bytes to those made from strings.
@Suite("Lead text kept as bytes")
struct SpareTextTests {
    static func parse(_ json: String) throws -> LeadFacts {
        try LeadParser.parse(Array(json.utf8)).get().facts
    }

    @Test("the reader's facts equal facts made from the same strings, field by field")
    func parsedEqualsConstructed() throws {
        let json = #"""
            {"lead_id":"web-1","source":"web","received_at":"2026-12-05T09:00:00Z",
             "company":{"name":"Ünïcode \"Quoted\" GmbH","domain":"WWW.Acme.Example.","country":"de","region":"BY"},
             "contact":{"email":"ana@acme.example"},"products":["Firewall"],
             "qualification":{"need":"  ","budget":10,"currency":"EUR","authority":"influencer"}}
            """#
        let facts = try Self.parse(json)
        let expected = LeadFacts(
            leadID: "web-1", source: "web", companyName: "Ünïcode \"Quoted\" GmbH", companyDomain: "WWW.Acme.Example.",
            country: "DE", region: "BY", products: ["firewall"],
            qualification: .init(need: "  ", budget: 10, currency: "EUR", authority: .influencer),
            contactEmail: "ana@acme.example", receivedAt: "2026-12-05T09:00:00Z")
        #expect(facts == expected)
        #expect(facts.companyName == "Ünïcode \"Quoted\" GmbH" && facts.companyDomain == "WWW.Acme.Example.")
        #expect(facts.source == "web" && facts.receivedAt == "2026-12-05T09:00:00Z" && facts.contactEmail == "ana@acme.example")
        #expect(facts.qualification?.need == "  " && facts.qualification?.currency == "EUR")
        #expect(facts.qualification?.statesNeed == false)
        #expect(facts.account == expected.account)
        #expect(facts.account.all == ["d:acme.example", "n:ünïcode quoted"])
        var other = expected
        other.receivedAt = nil
        #expect(other != expected && other.receivedAt == nil && other.companyName == expected.companyName)
        other.receivedAt = "2026-12-05T09:00:00Z"
        #expect(other == expected)
    }

    @Test("absent fields read as absent, and a lead without them equals one made without them")
    func absentFields() throws {
        let facts = try Self.parse(#"{"lead_id":"l","company":{"name":"Acme","country":"US"},"qualification":{"budget":5}}"#)
        #expect(facts.source == nil && facts.receivedAt == nil && facts.contactEmail == nil && facts.companyDomain == nil)
        #expect(facts.qualification?.need == nil && facts.qualification?.currency == nil && facts.qualification?.statesNeed == false)
        #expect(facts == LeadFacts(leadID: "l", companyName: "Acme", country: "US", qualification: .init(budget: 5)))
        #expect(facts.account.describe == "Acme")
    }

    @Test("account keys from bytes are the keys from strings",
          arguments: [
              ("Acme Corp", "acme.example", nil), ("Acme Corp", nil, "bo@Acme.Example"), ("Acme Corp", nil, "bo@gmail.com"),
              ("Société Générale S.A.", nil, nil), ("The Co", "www.x.example.", "a@b"), ("", nil, "no-at-sign"),
              ("Ünï", " Spaced.Example ", "a@@b.example"),
          ] as [(String, String?, String?)])
    func accountKeys(name: String, domain: String?, email: String?) {
        let fromStrings = AccountKey.keys(companyName: name, companyDomain: domain, contactEmail: email)
        let facts = LeadFacts(leadID: "l", companyName: name, companyDomain: domain, country: "US", contactEmail: email)
        #expect(facts.account == fromStrings)
        #expect(AccountKey.keys(facts.spare) == fromStrings)
        #expect(fromStrings.describe == (fromStrings.domain ?? name))
    }

    @Test("account keys, domain and description, key by key",
          arguments: [
              ("Acme Corp", "acme.example", nil, ["d:acme.example", "n:acme"], "acme.example"),
              ("Acme Corp", "WWW.Acme.Example.", nil, ["d:acme.example", "n:acme"], "acme.example"),
              ("Acme Corp", nil, "bo@Acme.Example", ["d:acme.example", "n:acme"], "acme.example"),
              ("Acme Corp", "", "bo@acme.example", ["d:acme.example", "n:acme"], "acme.example"),
              ("Acme Corp", "  ", nil, ["n:acme"], "Acme Corp"),
              ("Acme Corp", nil, "bo@gmail.com", ["n:acme"], "Acme Corp"),
              ("Inc", "a\"b.example", nil, ["d:a\"b.example"], "a\"b.example"),
          ] as [(String, String?, String?, [String], String)])
    func accountKeyValues(name: String, domain: String?, email: String?, keys: [String], describe: String) throws {
        let account = AccountKey.keys(companyName: name, companyDomain: domain, contactEmail: email)
        #expect(account.all == keys)
        #expect(Array(account.keys) == keys && account.keys.underestimatedCount == keys.count)
        #expect(account.domainKey == keys.first(where: { $0.hasPrefix("d:") }) && account.nameKey == keys.first(where: { $0.hasPrefix("n:") }))
        #expect(account.domain == keys.first.flatMap { $0.hasPrefix("d:") ? String($0.dropFirst(2)) : nil })
        #expect(account.describe == describe)
        // As a reason writes it, escaped, with no String made of it.
        var json = JSONWriter()
        json.beginString()
        account.describe(into: &json)
        json.endString()
        let written = json.bytes
        let decoded = try JSONSerialization.jsonObject(with: Data(written), options: .fragmentsAllowed) as? String
        #expect(decoded == describe, "\(String(decoding: written, as: UTF8.self))")
    }

    @Test("a need of white space only is no need; any other text is")
    func need() {
        for (need, states) in [("phishing", true), (" \t\n", false), ("", false), ("\u{00A0}", false), ("é", true)] as [(String, Bool)] {
            #expect(LeadFacts.Qualification(need: need).statesNeed == states, "\(need)")
        }
        #expect(LeadFacts.Qualification().statesNeed == false)
    }

    @Test("products are kept normalised in the text buffer, read back in order, and equal to products made from strings")
    func productsAsBytes() throws {
        let long = String(repeating: "Long-Product-", count: 30)  // 390 bytes: a length past one byte
        let facts = try Self.parse(#"""
            {"lead_id":"p-1","company":{"name":"Acme","domain":"acme.example","country":"US"},
             "products":["  Firewall ","EDR","\#(long)","Zürich-Cloud","edr"],"source":"web"}
            """#)
        let expected = ["firewall", "edr", long.lowercased(), "zürich-cloud", "edr"]
        #expect(facts.products == expected)
        var seen: [String] = []
        facts.forEachProduct { seen.append(String(decoding: $0, as: UTF8.self)) }
        #expect(seen == expected && facts.hasProducts)
        #expect(facts == LeadFacts(leadID: "p-1", source: "web", companyName: "Acme", companyDomain: "acme.example", country: "US",
                                   products: expected))
        // Changing another field keeps the products; changing the products keeps the rest.
        var changed = facts
        changed.receivedAt = "2026-12-06T09:00:00Z"
        #expect(changed.products == expected && changed.source == "web" && changed.companyName == "Acme")
        changed.products = ["x"]
        #expect(changed.products == ["x"] && changed.receivedAt == "2026-12-06T09:00:00Z" && changed.companyDomain == "acme.example")
        #expect(changed != facts)
        changed.products = []
        #expect(!changed.hasProducts && changed.products.isEmpty)
        // An empty list, a null and no products at all are the same lead.
        for products in [#""products":[],"#, #""products":null,"#, ""] {
            let none = try Self.parse(#"{"lead_id":"p-2",\#(products)"company":{"name":"Acme","country":"US"}}"#)
            #expect(!none.hasProducts && none.products.isEmpty)
            #expect(none == LeadFacts(leadID: "p-2", companyName: "Acme", country: "US"))
        }
    }

    @Test("a product that normalises to nothing is rejected by its index", arguments: [
        (#"["a", "  "]"#, "products[1]"), (#"["\t", "b"]"#, "products[0]"), (#"["a", "b", ""]"#, "products[2]"),
        (#"["\u00a0"]"#, "products[0]"),
    ])
    func emptyProducts(list: String, field: String) {
        let result = LeadParser.parse(Array(#"{"lead_id":"p-3","company":{"name":"Acme","country":"US"},"products":\#(list)}"#.utf8))
        guard case .failure(let rejection) = result else {
            Issue.record("accepted \(list)")
            return
        }
        #expect(rejection.code == .invalidField && rejection.field == field)
    }

    @Test("the facts and the qualification own their slots: equal whatever the other's slots hold")
    func ownedSlots() {
        let shared = SpareText(["Acme", nil, nil, nil, nil, "need", "EUR"], from: 0,
                               owned: SpareText.factSlots | SpareText.qualificationSlots)
        #expect(shared.owning(SpareText.factSlots) == SpareText(["Acme"], from: 0, owned: SpareText.factSlots))
        #expect(shared.owning(SpareText.qualificationSlots) == SpareText(["need", "EUR"], from: SpareText.need, owned: SpareText.qualificationSlots))
        #expect(shared.owning(SpareText.factSlots) != SpareText(["Acme Inc"], from: 0, owned: SpareText.factSlots))
    }
}
