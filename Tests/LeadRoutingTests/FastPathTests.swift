import Foundation
@testable import LeadRouting
import Testing

@Suite struct AccountKeyFastPaths {
    @Test("the ASCII path's legal-form matcher knows exactly the legal forms")
    func legalFormMatcher() {
        func matches(_ word: String) -> Bool {
            var word = word
            return word.withUTF8 { AccountKey.isLegalForm($0) }
        }
        for form in AccountKey.legalForms { #expect(matches(form), "\(form)") }
        let others = ["", "c", "in", "incorp", "corporations", "incorporate", "gmb", "gmbhx", "limite", "companyy", "th", "thee",
                      "acme", "widgets", "oyster", "ab1", "co2", "sas9", "abcdefghijklm", "pt", "kgs"]
        for word in others { #expect(matches(word) == AccountKey.legalForms.contains(word), "\(word)") }
    }

    @Test("domains: an already normal one is kept as it is, any other normalised",
          arguments: [
              ("acme.example", "acme.example"), ("www.acme.example", "acme.example"), ("acme.example.", "acme.example"),
              ("WWW.Acme.Example.", "acme.example"), ("www", "www"), ("wwwx.example", "wwwx.example"),
              ("a-b.example", "a-b.example"), ("  acme.example ", "acme.example"), ("acme.example..", "acme.example"),
          ])
    func domains(input: String, expected: String) {
        #expect(AccountKey.normalizedDomain(input) == expected)
    }
}

@Suite struct ParserFastPaths {
    @Test("products: trimmed of spaces and tabs, lower case; kept as they are when already so",
          arguments: [
              ("firewall", "firewall"), ("  Firewall\t", "firewall"), ("\t \t", ""), ("", ""), ("SD-WAN", "sd-wan"),
              ("a b", "a b"), (" x ", "x"), ("Pare-Feu Élevé", "pare-feu élevé"), ("  Ünïcode ", "ünïcode"),
          ])
    func products(input: String, expected: String) throws {
        #expect(LeadParser.normalizedProduct(input) == expected)
        // The reader normalises a lead's products from their bytes, apart: the same result,
        // alone and beside others (ASCII or not), or the lead refused when nothing is left.
        for (before, after) in [([String](), [String]()), (["Zürich"], ["EDR"])] {
            var json = JSONWriter()
            json.beginObject()
            json.field("lead_id", "p-1")
            json.objectField("company")
            json.field("name", "Acme")
            json.field("country", "US")
            json.endObject()
            json.field("products", before + [input] + after)
            json.endObject()
            let parsed = LeadParser.parse(json.bytes)
            if expected.isEmpty {
                #expect(throws: LeadRejection.self) { try parsed.get() }
            } else {
                let others = (before + after).map(LeadParser.normalizedProduct)
                #expect(try parsed.get().facts.products == Array(others.prefix(before.count)) + [expected] + others.dropFirst(before.count))
            }
        }
    }

    @Test("upper case without Unicode tables for ASCII", arguments: [("co", "CO"), ("CO", "CO"), ("us-co", "US-CO"), ("é1", "É1"), ("", "")])
    func upper(input: String, expected: String) {
        #expect(LeadParser.upperCased(input) == expected)
    }

    @Test("blank text: empty or white space only, ASCII or not", arguments: [
        ("", true), (" \t\n\r", true), (" a", false), ("a ", false), ("\u{00A0}", true), (" \u{2003} ", true), (" é", false), ("x\u{00A0}", false),
    ])
    func blank(text: String, blank: Bool) {
        #expect(LeadParser.isBlank(text) == blank)
    }

    @Test("lead ids: 1-128 of letters, digits and . _ : -", arguments: [
        ("web-2026-000123", true), ("a", true), ("A.b_c:d-9", true), ("", false), ("a b", false), ("é", false),
        (String(repeating: "x", count: 128), true), (String(repeating: "x", count: 129), false), ("a/b", false),
    ])
    func leadIDs(id: String, valid: Bool) {
        #expect(LeadParser.isValidLeadID(id) == valid)
    }

    @Test("lead ids, byte by byte: every one of the 256 bytes is allowed exactly when the contract allows it")
    func leadIDBytes() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-".utf8)
        for byte in 0...255 {
            let b = UInt8(byte)
            // The byte alone, and between allowed ones (a byte that is not UTF-8 alone is
            // repaired by `String`, so it is refused either way).
            for bytes in [[b], [0x61, b, 0x62]] {
                let id = String(decoding: bytes, as: UTF8.self)
                #expect(LeadParser.isValidLeadID(id) == (allowed.contains(b) && Array(id.utf8) == bytes), "byte \(byte)")
            }
        }
    }
}

@Suite struct PackedGapSizes {
    @Test("a gap's size, worked out before it is written, is what writing it takes: the record's stack buffer is sized by it")
    func gapBytesMatchWriting() {
        var gaps = Array(0...2_100) + [32_767, 32_768, 1 << 20, (1 << 25) - 1, 1 << 25, 1 << 34, Int(Int32.max)]
        gaps += [-1, -5]
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buffer in
            for gap in gaps {
                let written = PackedPositions.writeGap(max(gap, 0), to: buffer.baseAddress!)
                #expect(PackedPositions.gapBytes(gap) == written, "gap \(gap)")
            }
        }
    }
}

@Suite struct TextJoin {
    @Test("joins up to seven parts, small and large, ASCII or not, into the same text as + would")
    func joins() {
        let parts = ["", "a", "country ", "US", " region ", "CO", " in territory", "é✓", String(repeating: "x", count: 40)]
        for a in parts {
            for b in parts {
                #expect(Text.join(a, b) == a + b)
                #expect(Text.join(a, b, "c", b, a, "f", "g") == a + b + "c" + b + a + "f" + "g")
            }
        }
    }
}

@Suite struct QualificationKeys {
    @Test("the qualification's keys written from literals are the signals' names, in their order; others are written as they are")
    func keys() throws {
        for (position, name) in Qualification.signalNames.enumerated() {
            let key = try #require(JSONWriter.signalKey(position))
            #expect(key.description == name)
        }
        #expect(JSONWriter.signalKey(Qualification.signalNames.count) == nil)
        let signals = [Qualification.Signal(name: "budget", points: 1, possible: 2), Qualification.Signal(name: "need", points: 3, possible: 4),
                       Qualification.Signal(name: "custom", points: 5, possible: 6)]
        var json = JSONWriter()
        json.beginObject()
        json.qualification(Qualification(score: 50, grade: .C, signals: signals))
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self)
            == #"{"qualification":{"score":50,"grade":"C","signals":{"budget":1,"need":3,"custom":5}}}"#)
    }

    @Test("the qualifier's points are the weight times the share, rounded half away from zero, whatever the weights and shares")
    func qualifierPoints() throws {
        // Odd weights make the halves (influencer, a timeline within twice the limit) round up;
        // the size and value shares are fractions; nothing and everything need no rounding.
        let configs = [QualificationConfig(),
                       QualificationConfig(needWeight: 7, budgetWeight: 3, authorityWeight: 5, timelineWeight: 9,
                                           companySizeWeight: 11, estimatedValueWeight: 13, fullEmployees: 333, fullValue: 7_777)]
        let qualifications = [#""#, #","qualification":{"need":" ","budget":0}"#,
                              #","qualification":{"need":"mail","budget":5,"authority":"influencer","timeline_days":120}"#,
                              #","qualification":{"need":"mail","authority":"decision_maker","timeline_days":30}"#,
                              #","qualification":{"authority":"unknown","timeline_days":400}"#]
        var checked = 0
        for config in configs {
            for q in qualifications {
                for (employees, value) in [(0, 0.0), (120, 2_500.5), (1_000, 90_000.0), (166, 3_888.5)] {
                    let json = #"{"lead_id":"q-1","company":{"name":"Acme","country":"US","employees":\#(employees)}"#
                        + q + #","estimated_value":\#(value)}"#
                    let facts = try LeadParser.parse(Array(json.utf8)).get().facts
                    let signals = Qualifier(config: config).qualify(facts).signals
                    let given = facts.qualification
                    let timeline = given?.timelineDays.map { $0 <= config.timelineDays ? 1.0 : $0 <= 2 * config.timelineDays ? 0.5 : 0 } ?? 0
                    let shares: [(Int, Double)] = [
                        (config.needWeight, given.map { $0.need.map { !$0.allSatisfy(\.isWhitespace) } ?? false } == true ? 1 : 0),
                        (config.budgetWeight, (given?.budget ?? 0) > 0 ? 1 : 0),
                        (config.authorityWeight, given?.authority == .decisionMaker ? 1 : given?.authority == .influencer ? 0.5 : 0),
                        (config.timelineWeight, timeline),
                        (config.companySizeWeight, Double(employees) / Double(config.fullEmployees)),
                        (config.estimatedValueWeight, value / config.fullValue),
                    ]
                    let expected = shares.map { Int((Double($0.0) * min(1, max(0, $0.1))).rounded(.toNearestOrAwayFromZero)) }
                    #expect(signals.map(\.points) == expected, "\(json)")
                    #expect(signals.map(\.possible) == shares.map(\.0))
                    checked += 1
                }
            }
        }
        #expect(checked == 40)
    }

    @Test("the qualifier's signals, kept inline, equal and write as the same signals given as a list")
    func inlineSignals() throws {
        let lead = try LeadParser.parse(Array(#"{"lead_id":"q-1","company":{"name":"Acme","country":"US","employees":120},"qualification":{"need":"mail","budget":5,"authority":"influencer","timeline_days":60},"estimated_value":20000}"#.utf8)).get()
        let inline = Qualifier(config: QualificationConfig()).qualify(lead.facts)
        #expect(inline.custom == nil)
        let listed = Qualification(score: inline.score, grade: inline.grade, signals: inline.signals)
        #expect(inline == listed && listed == inline)
        #expect(inline.signals.map(\.name) == Qualification.signalNames)
        #expect(inline.signals.allSatisfy { $0.points <= $0.possible } && inline.signals.filter { $0.points > 0 }.count == 6)
        var changed = listed
        changed.signals[1].points += 1
        #expect(changed != inline && inline != changed)
        func written(_ q: Qualification) -> String {
            var json = JSONWriter()
            json.beginObject()
            json.qualification(q)
            json.endObject()
            return String(decoding: json.bytes, as: UTF8.self)
        }
        #expect(written(inline) == written(listed))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written(inline).utf8)) as? [String: [String: Any]])
        let signals = try #require(object["qualification"]?["signals"] as? [String: Int])
        #expect(signals == Dictionary(uniqueKeysWithValues: inline.signals.map { ($0.name, $0.points) }))
    }

    @Test("roles, rules and engagement models written from literals are their raw values, every case")
    func literalNames() {
        func check<Name: JSONLiteralName & CaseIterable>(_: Name.Type) {
            for name in Name.allCases {
                #expect(name.literal.description == name.rawValue)
                var json = JSONWriter()
                json.beginObject()
                json.field("k", name)
                json.field("l", literal: name.literal)
                json.field("n", nil as Name?)
                json.endObject()
                #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"k":"\#(name.rawValue)","l":"\#(name.rawValue)","n":null}"#)
            }
        }
        check(Assignment.Role.self)
        check(ChoiceRule.self)
        check(EngagementModel.self)
    }

    @Test("numbers, keys and strings written in one block each read back as JSONSerialization reads them, at every edge")
    func numbersAndStrings() throws {
        let numbers = [0, 1, 9, 10, 99, 100, 999, 1_000, 65_535, 1_000_000_007, 9_999_999_999, 10_000_000_000,
                       Int(Int32.max), -1, -9, -10, -100, Int.max, Int.min, Int.max - 1, Int.min + 1]
        var json = JSONWriter(capacity: 16)
        json.beginObject()
        for (i, number) in numbers.enumerated() {
            json.field(i % 2 == 0 ? "a" : "a_key_longer_than_sixteen_bytes", number)
            json.arrayField("list")
            json.beginElement()
            json.appendInt(number)
            json.endArray()
        }
        json.field("plain", "text with é and 😀")
        json.field("escaped", "quote \" backslash \\ newline \n tab \t")
        json.field("none", nil as String?)
        json.objectField("inner")
        json.field("n", -42)
        json.endObject()
        json.endObject()
        let text = String(decoding: json.bytes, as: UTF8.self)
        // Parsed as JSON, every value is what was written (keys repeat: compare the text too).
        #expect(text.hasPrefix(#"{"a":0,"list":[0],"a_key_longer_than_sixteen_bytes":1,"list":[1],"a":9,"list":[9]"#))
        #expect(text.contains(#""a":-9223372036854775808,"list":[-9223372036854775808]"#))
        #expect(text.contains(#""a_key_longer_than_sixteen_bytes":9223372036854775807,"list":[9223372036854775807]"#))
        #expect(text.hasSuffix(#","plain":"text with é and 😀","escaped":"quote \" backslash \\ newline \n tab \t","none":null,"inner":{"n":-42}}"#))
        for number in numbers { #expect(text.contains(":\(number),") || text.contains("[\(number)]")) }
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String: Any])
        #expect(object["plain"] as? String == "text with é and 😀")
        #expect(object["escaped"] as? String == "quote \" backslash \\ newline \n tab \t")
        #expect((object["inner"] as? [String: Any])?["n"] as? Int == -42)
    }

    @Test("an authority is named by its raw value exactly, and by nothing else")
    func authorityNames() {
        for authority in LeadFacts.Authority.allCases {
            #expect(LeadFacts.Authority.named(authority.rawValue) == authority)
            #expect(LeadFacts.Authority.named(authority.rawValue.uppercased()) == nil)
            #expect(LeadFacts.Authority.named(authority.rawValue + " ") == nil)
            #expect(LeadFacts.Authority.named(String(authority.rawValue.dropLast()) + "x") == nil)
        }
        for other in ["", "decisionmaker", "decision-maker", "influencers", "unknow", "unknown\u{0}"] {
            #expect(LeadFacts.Authority.named(other) == nil, "\(other)")
        }
    }
}
