import LeadRouting
import Testing

// A registration's `expires`: a date alone means through the end of that day, UTC.

private func ms(_ text: String) -> Int64 { Timestamp.milliseconds(rfc3339: text)! }

@Test func aDateAloneEndsAtTheNextMidnightUTC() {
    #expect(RegistrationExpiry.parse("2027-03-31") == .instant(ms("2027-04-01T00:00:00Z")))
    #expect(RegistrationExpiry.parse("2027-12-31") == .instant(ms("2028-01-01T00:00:00Z")))
    #expect(RegistrationExpiry.parse("2028-02-29") == .instant(ms("2028-03-01T00:00:00Z")))
    // Full timestamps keep their meaning.
    #expect(RegistrationExpiry.parse("2027-03-31T17:00:00+02:00") == .instant(ms("2027-03-31T15:00:00Z")))
}

@Test func badExpiriesSayWhatIsWrong() {
    #expect(RegistrationExpiry.parse("2027-02-29") == .invalid("the day must be 01-28 in 2027-02, got 29"))
    #expect(RegistrationExpiry.parse("2027-13-01") == .invalid("the month must be 01-12, got 13"))
    guard case .invalid(let reason) = RegistrationExpiry.parse("2027-03-31T17:00:00") else {
        Issue.record("a time without an offset was accepted")
        return
    }
    #expect(reason.contains("offset"))
}

@Test func aConfigRegistrationMayExpireOnADate() throws {
    let config = try ConfigLoader.load(yaml: registration(replacing: "expires", with: "expires: 2027-03-31"))
    #expect(config.registrations.map(\.expires) == [ms("2027-04-01T00:00:00Z")])
    // Covered until the last millisecond of the day, not at midnight.
    var router = Router(rules: config.rules)
    let lead = try #require(try? LeadParser.parse(Array(#"{"lead_id":"x","company":{"name":"A","domain":"acme.example","country":"US"}}"#.utf8)).get())
    #expect(router.route(lead.facts, context: RoutingContext(now: ms("2027-03-31T23:59:59.999Z"))).rule == .registration)
    #expect(router.route(lead.facts, context: RoutingContext(now: ms("2027-04-01T00:00:00Z"))).rule != .registration)
}

@Test(arguments: [
    ProblemCase(name: "no such day", yaml: registration(replacing: "expires", with: "expires: 2027-02-30"),
                path: "registrations[0].expires", line: 7, mentions: ["\"2027-02-30\"", "the day must be 01-28", "2027-03-31 (through the end of that day, UTC)"]),
    ProblemCase(name: "a word", yaml: registration(replacing: "expires", with: "expires: end-of-march"),
                path: "registrations[0].expires", line: 7, mentions: ["\"end-of-march\"", "a date such as 2027-03-31", "RFC 3339"]),
    ProblemCase(name: "missing", yaml: registration(replacing: "expires", with: nil),
                path: "registrations[0].expires", line: 5, mentions: ["required", "a date such as 2027-03-31"]),
])
func badConfigExpiries(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}
