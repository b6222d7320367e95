import Foundation
import LeadRouting
import Testing

@Suite("Lead validation")
struct LeadParserTests {
    @Test("the contract's example lead is accepted with its routing fields read")
    func acceptsExample() throws {
        let lead = try LeadParser.parse(Array(leadJSON().utf8)).get()
        #expect(lead.facts.leadID == "web-2026-000123")
        #expect(lead.facts.companyName == "Acme Corp")
        #expect(lead.facts.country == "US")
        #expect(lead.facts.region == "CO")
        #expect(lead.facts.products == ["email-security"])
        #expect(lead.facts.employees == 250)
        #expect(lead.facts.qualification?.authority == .decisionMaker)
        #expect(lead.facts.qualification?.timelineDays == 90)
        #expect(lead.facts.estimatedValue == 50000)
    }

    @Test("only the three required fields are needed")
    func minimalLead() throws {
        let lead = try LeadParser.parse(Array(#"{"lead_id":"x","company":{"name":"A","country":"de"}}"#.utf8)).get()
        #expect(lead.facts.country == "DE")
        #expect(lead.facts.region == nil)
        #expect(lead.facts.products.isEmpty)
    }

    @Test("unknown fields are kept byte for byte")
    func unknownFieldsPassThrough() throws {
        let json = leadJSON(extra: #", "campaign": {"utm": "q4", "tags": [1, 2.5, null]}"#)
        let lead = try LeadParser.parse(Array(json.utf8)).get()
        #expect(lead.raw == Array(json.utf8))
    }

    @Test("region may carry its country prefix; a dash that a combining mark joins is not that prefix")
    func regionPrefix() throws {
        let lead = try LeadParser.parse(Array(leadJSON(region: "us-wy").utf8)).get()
        #expect(lead.facts.region == "WY")
        for region in ["us-\u{301}wy", "US-", "us-w\u{301}"] {
            guard case .failure(let rejection) = LeadParser.parse(Array(leadJSON(region: region).utf8)) else {
                Issue.record("\(region) was accepted")
                continue
            }
            #expect(rejection.field == "company.region")
        }
    }

    @Test(
        "malformed input is invalid_json",
        arguments: [
            "", "   ", "not json", "{\"lead_id\": ", "[1,2]", "\"a string\"", "42",
            "{\"lead_id\":\"a\",\"company\":{\"name\":\"A\",\"country\":\"US\"}} trailing",
            // Strict JSON: what lenient parsers let through would make envelopes others cannot read.
            "{\"lead_id\":\"a\",\"company\":{\"name\":\"A\",\"country\":\"US\",}}",
            "{\"lead_id\":\"a\",\"company\":{\"name\":\"A\",\"country\":\"US\"},}",
            "{\"lead_id\":'a'}",
            "{\"lead_id\":\"a\" /* comment */}",
            "{\"lead_id\":NaN}",
        ])
    func invalidJSON(input: String) {
        let result = LeadParser.parse(Array(input.utf8))
        #expect(throws: LeadRejection.self) { try result.get() }
        if case .failure(let rejection) = result {
            #expect(rejection.code == .invalidJSON)
            #expect(rejection.field == nil)
        }
    }

    @Test("a known field given twice is invalid_field, so no two readers can disagree on it")
    func duplicateKeys() {
        let inputs = [
            (#"{"lead_id":"a","lead_id":"b","company":{"name":"A","country":"US"}}"#, "lead_id"),
            (#"{"lead_id":"a","company":{"name":"A","country":"US","country":"DE"}}"#, "company.country"),
        ]
        for (input, field) in inputs {
            guard case .failure(let rejection) = LeadParser.parse(Array(input.utf8)) else {
                Issue.record("accepted: \(input)")
                continue
            }
            #expect(rejection.code == .invalidField)
            #expect(rejection.field == field)
            #expect(rejection.message.contains("twice"))
        }
    }

    @Test("escaped strings are read unescaped, and the raw bytes are kept as sent")
    func escapes() throws {
        let json = #"{"lead_id":"x","company":{"name":"Caf\u00e9 \"Z\u00fcrich\"","country":"CH"},"products":["e\u002dmail"]}"#
        let lead = try LeadParser.parse(Array(json.utf8)).get()
        #expect(lead.facts.companyName == "Café \"Zürich\"")
        #expect(lead.facts.products == ["e-mail"])
        #expect(lead.raw == Array(json.utf8))
    }

    @Test("binary input is invalid_json")
    func binary() {
        let bytes: [UInt8] = [0x7B, 0xFF, 0xFE, 0x00, 0x01, 0x7D]
        guard case .failure(let rejection) = LeadParser.parse(bytes) else {
            Issue.record("binary input was accepted")
            return
        }
        #expect(rejection.code == .invalidJSON)
    }

    @Test(
        "a missing required field is missing_field naming it",
        arguments: [
            (#"{"company":{"name":"A","country":"US"}}"#, "lead_id"),
            (#"{"lead_id":"x","company":{"country":"US"}}"#, "company.name"),
            (#"{"lead_id":"x","company":{"name":"A"}}"#, "company.country"),
            (#"{"lead_id":"x"}"#, "company.name"),
            (#"{"lead_id":"x","company":null}"#, "company.name"),
        ])
    func missingField(input: String, field: String) {
        guard case .failure(let rejection) = LeadParser.parse(Array(input.utf8)) else {
            Issue.record("accepted: \(input)")
            return
        }
        #expect(rejection.code == .missingField)
        #expect(rejection.field == field)
        #expect(rejection.message.contains(field))
    }

    @Test(
        "a wrong type or value is invalid_field naming it",
        arguments: [
            (#"{"lead_id":42,"company":{"name":"A","country":"US"}}"#, "lead_id"),
            (#"{"lead_id":"has space","company":{"name":"A","country":"US"}}"#, "lead_id"),
            (#"{"lead_id":"","company":{"name":"A","country":"US"}}"#, "lead_id"),
            ("{\"lead_id\":\"\(String(repeating: "a", count: 129))\",\"company\":{\"name\":\"A\",\"country\":\"US\"}}", "lead_id"),
            (#"{"lead_id":"x","company":{"name":"  ","country":"US"}}"#, "company.name"),
            (#"{"lead_id":"x","company":{"name":["A"],"country":"US"}}"#, "company.name"),
            (#"{"lead_id":"x","company":{"name":"A","country":"USA"}}"#, "company.country"),
            (#"{"lead_id":"x","company":{"name":"A","country":"XX"}}"#, "company.country"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US","region":"Colorado"}}"#, "company.region"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US","employees":"many"}}"#, "company.employees"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US","employees":-1}}"#, "company.employees"),
            (#"{"lead_id":"x","company":"Acme"}"#, "company"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"products":"email-security"}"#, "products"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"products":["a",7]}"#, "products[1]"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"products":["a",""]}"#, "products[1]"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"qualification":{"authority":"ceo"}}"#, "qualification.authority"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"qualification":{"budget":"lots"}}"#, "qualification.budget"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"qualification":{"timeline_days":1.5}}"#, "qualification.timeline_days"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"estimated_value":-5}"#, "estimated_value"),
            (#"{"lead_id":"x","company":{"name":"A","country":"US"},"contact":{"email":false}}"#, "contact.email"),
        ])
    func invalidField(input: String, field: String) {
        guard case .failure(let rejection) = LeadParser.parse(Array(input.utf8)) else {
            Issue.record("accepted: \(input)")
            return
        }
        #expect(rejection.code == .invalidField, "\(rejection)")
        #expect(rejection.field == field, "\(rejection)")
    }
}

@Suite struct NormalisationFastPaths {
    private func facts(name: String = "Acme", country: String = "us", region: String? = nil, products: [String]) throws -> LeadFacts {
        let object: [String: Any] = [
            "lead_id": "n-1",
            "company": ["name": name, "country": country].merging(region.map { ["region": $0] } ?? [:]) { a, _ in a },
            "products": products,
        ]
        let bytes = try JSONSerialization.data(withJSONObject: object)
        return try LeadParser.parse(Array(bytes)).get().facts
    }

    @Test("ASCII and non-ASCII products, countries and regions normalise as Foundation would")
    func normalisation() throws {
        let inputs = ["  Firewall ", "\tEDR\t", "email-security", "ÉDR ", " Zürich-Cloud", "MiXeD Case", "\u{00A0}Nbsp\u{00A0}"]
        let lead = try facts(country: "de", region: "de-by", products: inputs)
        #expect(lead.products == inputs.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        #expect(lead.country == "DE")
        #expect(lead.region == "BY")
    }

    @Test("a company name of white space only is rejected, ASCII or not", arguments: [" ", "\t \n", "\u{00A0}", " \u{2003} "])
    func blankNames(name: String) throws {
        let object: [String: Any] = ["lead_id": "n-2", "company": ["name": name, "country": "US"]]
        let result = LeadParser.parse(Array(try JSONSerialization.data(withJSONObject: object)))
        guard case .failure(let rejection) = result else {
            Issue.record("a blank name was accepted")
            return
        }
        #expect(rejection.field == "company.name")
    }

    @Test("a product of spaces only is rejected")
    func blankProduct() throws {
        #expect(throws: LeadRejection.self) { try facts(products: ["ok", "  \t "]) }
    }
}

@Suite struct AccountKeyNormalisation {
    @Test("company names: lower case, punctuation dropped, legal forms removed; ASCII and Unicode alike",
          arguments: [
              ("Acme Corp., Inc.", "acme"), ("  The Acme   Company ", "acme"), ("ACME-Widgets GmbH & Co. KG", "acme widgets"),
              ("Inc", ""), ("Corp", ""), ("Incorporated Widgets", "widgets"), ("3M", "3m"), ("Acme Ltd.", "acme"),
              ("Müller GmbH", "müller"), ("Société Générale SA", "société générale"), ("The Ünited Co.", "ünited"),
          ])
    func names(input: String, expected: String) {
        #expect(AccountKey.normalizedName(input) == expected)
    }

    @Test("the ASCII path gives what the Unicode path would for the same name")
    func asciiMatchesUnicode() {
        // A trailing non-ASCII letter sends a name down the Unicode path; its ASCII part must agree.
        for name in ["Acme Corp., Inc.", "The Acme Company", "ACME-Widgets GmbH & Co. KG", "Pty Ltd Holdings", "a.b,c;d"] {
            let ascii = AccountKey.normalizedName(name)
            let unicode = AccountKey.normalizedName(name + " é")
            #expect(unicode == (ascii.isEmpty ? "é" : ascii + " é"), "\(name)")
        }
    }
    @Test("numbers must be in a 64-bit float's range and nesting at most 1,024 deep, unknown fields included (docs/protocol.md, Parsing)")
    func numberRangeAndDepth() throws {
        func lead(_ extra: String) -> [UInt8] {
            Array(#"{"lead_id":"n-1","company":{"name":"A","country":"US"},"crm":\#(extra)}"#.utf8)
        }
        for fine in ["18446744073709551615", "-9223372036854775808", "1.7e308", "12345678901234567890.5"] {
            #expect(throws: Never.self, "\(fine)") { try LeadParser.parse(lead(fine)).get() }
        }
        for tooLarge in ["99999999999999999999", "-9223372036854775809", "1e309", "-1e309"] {
            guard case .failure(let rejection) = LeadParser.parse(lead(tooLarge)) else {
                Issue.record("\(tooLarge) was accepted")
                continue
            }
            #expect(rejection.code == .invalidJSON, "\(tooLarge)")
        }
        // The lead's object is one level: 1,023 more fit, 1,024 more do not.
        #expect(throws: Never.self) { try LeadParser.parse(lead(String(repeating: "[", count: 1023) + String(repeating: "]", count: 1023))).get() }
        guard case .failure(let deep) = LeadParser.parse(lead(String(repeating: "[", count: 1024) + String(repeating: "]", count: 1024))) else {
            Issue.record("nesting 1,025 deep was accepted")
            return
        }
        #expect(deep.code == .invalidJSON)
    }
}
