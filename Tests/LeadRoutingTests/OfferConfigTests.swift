import LeadRouting
import Testing

// The `control` and `offers` sections, and a partner's own `offers:`.

// MARK: - Valid configs

@Test func offersAndControlLoad() throws {
    let yaml = """
        control:
          bind: "tcp://127.0.0.1:5562"
        offers:
          accept_within: 4h
          max_offers: 3
          then: vendor-sales
          pool_window: 24h
          withhold: [contact]
          follow_up_within: 0
        partners:
          - id: acme
            engagement: leads_only
            offers:
              accept_within: 30m
              withhold: []
          - id: globex
            engagement: co_sell
        """
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.control == ControlConfig(bind: Endpoint(validating: "tcp://127.0.0.1:5562")))
    let section = OfferPolicy(
        acceptWithin: 4 * 3600, maxOffers: 3, then: .vendorSales, poolWindow: 86_400, withhold: ["contact"],
        followUpWithin: 0)
    #expect(config.offers == section)
    #expect(config.partners.map(\.offers) == [OfferOverride(acceptWithin: 1800, withhold: []), nil])
    #expect(config.rules.offersLeads)
}

@Test("a partner's own offers: replaces only the keys it names")
func partnerOverrideIsMerged() throws {
    let yaml = """
        offers:
          accept_within: 4h
          then: pool
          withhold: [contact, company]
          follow_up_within: 30d
        partners:
          - id: acme
            engagement: leads_only
            offers: {accept_within: 30m, max_offers: 1, withhold: []}
          - id: globex
            engagement: co_sell
          - id: initech
            engagement: leads_only
            offers: {accept_within: 0}
        """
    let config = try ConfigLoader.load(yaml: yaml)
    let partners = config.partners
    try #require(partners.count == 3)
    let section = OfferPolicy(
        acceptWithin: 14_400, maxOffers: 3, then: .pool, poolWindow: 86_400, withhold: ["contact", "company"],
        followUpWithin: 30 * 86_400)
    #expect(config.rules.offerPolicy(for: partners[1]) == section)
    var acme = section
    acme.acceptWithin = 1800
    acme.maxOffers = 1
    acme.withhold = []
    #expect(config.rules.offerPolicy(for: partners[0]) == acme)
    #expect(!config.rules.offerPolicy(for: partners[2]).offersLeads)
}

@Test("offers from one partner's own accept_within alone")
func offersFromAPartnerAlone() throws {
    let config = try ConfigLoader.load(yaml: partner("offers: {accept_within: 2h}"))
    #expect(config.offers == OfferPolicy())
    #expect(!config.offers.offersLeads)
    #expect(config.rules.offersLeads)
}

@Test("without the sections: no offers and no control endpoint", arguments: [
    "", "control:\n", "control: {}\n", "control:\n  bind: null\n", "control: {bind: ~}\n", "offers: {}\n",
    "offers:\n  accept_within: 0\n", "offers:\n  accept_within: \"0\"\n  then: pool\n", "offers: {accept_within: 0h}\n",
])
func offersAreOffByDefault(_ yaml: String) throws {
    let config = try ConfigLoader.load(yaml: partnerHead + yaml)
    #expect(config.control.bind == nil)
    #expect(config.offers.acceptWithin == 0)
    #expect(!config.rules.offersLeads)
}

struct DurationCase: Sendable, CustomTestStringConvertible {
    var key: String
    var text: String
    var seconds: Int64
    var testDescription: String { "\(key): \(text)" }
}

@Test(arguments: [
    DurationCase(key: "accept_within", text: "90s", seconds: 90),
    DurationCase(key: "accept_within", text: "30m", seconds: 1800),
    DurationCase(key: "accept_within", text: "4h", seconds: 14_400),
    DurationCase(key: "accept_within", text: "2d", seconds: 172_800),
    DurationCase(key: "accept_within", text: "1w", seconds: 604_800),
    DurationCase(key: "accept_within", text: "1s", seconds: 1),
    DurationCase(key: "accept_within", text: "366d", seconds: 366 * 86_400),
    DurationCase(key: "pool_window", text: "1s", seconds: 1),
    DurationCase(key: "pool_window", text: "366d", seconds: 366 * 86_400),
    DurationCase(key: "follow_up_within", text: "0", seconds: 0),
    DurationCase(key: "follow_up_within", text: "3660d", seconds: 3660 * 86_400),
])
func durationsAreRead(_ c: DurationCase) throws {
    let config = try ConfigLoader.load(yaml: "offers:\n  \(c.key): \(c.text)\n")
    let read = switch c.key {
    case "accept_within": config.offers.acceptWithin
    case "pool_window": config.offers.poolWindow
    default: config.offers.followUpWithin
    }
    #expect(read == c.seconds)
}

// MARK: - Problems

/// `offers:` with one key, on line 2.
private func offers(_ line: String) -> String {
    "offers:\n  \(line)\n"
}

@Test(arguments: [
    ProblemCase(name: "unknown unit", yaml: offers("accept_within: 4x"), path: "offers.accept_within", line: 2,
                mentions: ["90s, 30m, 4h or 2d", "s (seconds), m (minutes), h (hours), d (days) or w (weeks)", "\"4x\""]),
    ProblemCase(name: "negative", yaml: offers("accept_within: -1h"), path: "offers.accept_within", line: 2,
                mentions: ["\"-1h\""]),
    ProblemCase(name: "empty string", yaml: offers("accept_within: \"\""), path: "offers.accept_within", line: 2,
                mentions: ["whole number", "got \"\""]),
    ProblemCase(name: "null", yaml: offers("accept_within:"), path: "offers.accept_within", line: 2,
                mentions: ["duration", "null"]),
    ProblemCase(name: "no unit", yaml: offers("accept_within: 4"), path: "offers.accept_within", line: 2,
                mentions: ["(0: no offers)", "\"4\""]),
    ProblemCase(name: "upper-case unit", yaml: offers("accept_within: 4H"), path: "offers.accept_within", line: 2,
                mentions: ["\"4H\""]),
    ProblemCase(name: "a fraction", yaml: offers("accept_within: 1.5h"), path: "offers.accept_within", line: 2,
                mentions: ["\"1.5h\""]),
    ProblemCase(name: "too long", yaml: offers("accept_within: 367d"), path: "offers.accept_within", line: 2,
                mentions: ["at most 366d", "\"367d\""]),
    ProblemCase(name: "too long in weeks", yaml: offers("accept_within: 53w"), path: "offers.accept_within", line: 2,
                mentions: ["at most 366d", "\"53w\""]),
    ProblemCase(name: "too many digits", yaml: offers("accept_within: 99999999999999999999s"),
                path: "offers.accept_within", line: 2, mentions: ["at most 366d"]),
    ProblemCase(name: "pool_window 0", yaml: offers("pool_window: 0"), path: "offers.pool_window", line: 2,
                mentions: ["longer than 0", "\"0\""]),
    ProblemCase(name: "pool_window 0h", yaml: offers("pool_window: 0h"), path: "offers.pool_window", line: 2,
                mentions: ["longer than 0", "\"0h\""]),
    ProblemCase(name: "pool_window too long", yaml: offers("pool_window: 400d"), path: "offers.pool_window", line: 2,
                mentions: ["at most 366d"]),
    ProblemCase(name: "follow_up_within too long", yaml: offers("follow_up_within: 3661d"),
                path: "offers.follow_up_within", line: 2, mentions: ["at most 3660d", "\"3661d\""]),
    ProblemCase(name: "follow_up_within a list", yaml: offers("follow_up_within: [1d]"),
                path: "offers.follow_up_within", line: 2, mentions: ["(0: never)", "a list"]),
])
func durationProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "max_offers 0", yaml: offers("max_offers: 0"), path: "offers.max_offers", line: 2,
                mentions: ["between 1 and 50", "got 0"]),
    ProblemCase(name: "max_offers 51", yaml: offers("max_offers: 51"), path: "offers.max_offers", line: 2,
                mentions: ["between 1 and 50", "got 51"]),
    ProblemCase(name: "max_offers a string", yaml: offers("max_offers: three"), path: "offers.max_offers", line: 2,
                mentions: ["integer", "\"three\""]),
    ProblemCase(name: "then bogus", yaml: offers("then: bogus"), path: "offers.then", line: 2,
                mentions: ["one of vendor-sales, nurture, pool", "\"bogus\""]),
    ProblemCase(name: "then with an underscore", yaml: offers("then: vendor_sales"), path: "offers.then", line: 2,
                mentions: ["\"vendor_sales\""]),
    ProblemCase(name: "withhold lead_id", yaml: offers("withhold: [contact, lead_id]"), path: "offers.withhold[1]",
                line: 2, mentions: ["lead_id cannot be withheld", "partner needs it"]),
    ProblemCase(name: "withhold twice", yaml: "offers:\n  withhold:\n    - contact\n    - notes\n    - contact\n",
                path: "offers.withhold[2]", line: 5, mentions: ["duplicate field \"contact\"", "offers.withhold[0]"]),
    ProblemCase(name: "withhold a nested field", yaml: offers("withhold: [contact.email]"),
                path: "offers.withhold[0]", line: 2, mentions: ["top-level field name", "\"contact.email\""]),
    ProblemCase(name: "withhold upper case", yaml: offers("withhold: [Contact]"), path: "offers.withhold[0]",
                line: 2, mentions: ["lower case", "\"Contact\""]),
    ProblemCase(name: "withhold a leading digit", yaml: offers("withhold: [1st]"), path: "offers.withhold[0]",
                line: 2, mentions: ["\"1st\""]),
    ProblemCase(name: "withhold a string", yaml: offers("withhold: contact"), path: "offers.withhold", line: 2,
                mentions: ["a list of lead field names", "\"contact\""]),
    ProblemCase(name: "withhold null item", yaml: offers("withhold: [~]"), path: "offers.withhold[0]", line: 2,
                mentions: ["null"]),
])
func offerValueProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "unknown key under offers", yaml: offers("acept_within: 4h"), path: "offers.acept_within",
                line: 2, mentions: ["unknown key \"acept_within\"", "did you mean \"accept_within\"",
                                    "accept_within, max_offers, then, pool_window, withhold, follow_up_within"]),
    ProblemCase(name: "offers a duration", yaml: "offers: 4h\n", path: "offers", line: 1,
                mentions: ["mapping", "accept_within", "\"4h\""]),
    ProblemCase(name: "unknown key under a partner's offers", yaml: partner("offers: {accept_within: 30m, max: 2}"),
                path: "partners[0].offers.max", line: 4, mentions: ["unknown key \"max\"", "max_offers"]),
    ProblemCase(name: "a partner's then", yaml: partner("offers: {then: bogus}"), path: "partners[0].offers.then",
                line: 4, mentions: ["vendor-sales, nurture, pool", "\"bogus\""]),
    ProblemCase(name: "a partner's duration", yaml: partner("offers: {accept_within: 4x}"),
                path: "partners[0].offers.accept_within", line: 4, mentions: ["\"4x\""]),
    ProblemCase(name: "a partner's withhold", yaml: partner("offers: {withhold: [lead_id]}"),
                path: "partners[0].offers.withhold[0]", line: 4, mentions: ["lead_id cannot be withheld"]),
    ProblemCase(name: "a partner's offers a duration", yaml: partner("offers: 30m"), path: "partners[0].offers",
                line: 4, mentions: ["mapping", "{accept_within: 30m}", "\"30m\""]),
    ProblemCase(name: "a partner's offers null", yaml: partner("offers:"), path: "partners[0].offers", line: 4,
                mentions: ["mapping", "null"]),
])
func offerKeyProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "no port", yaml: "control:\n  bind: tcp://127.0.0.1\n", path: "control.bind", line: 2,
                mentions: ["tcp://127.0.0.1"]),
    ProblemCase(name: "a list", yaml: "control:\n  bind: [tcp://127.0.0.1:5562]\n", path: "control.bind", line: 2,
                mentions: ["an endpoint such as", "a list"]),
    ProblemCase(name: "unknown key", yaml: "control:\n  bnd: tcp://127.0.0.1:5562\n", path: "control.bnd", line: 2,
                mentions: ["unknown key \"bnd\"", "did you mean \"bind\""]),
    ProblemCase(name: "control an endpoint", yaml: "control: tcp://127.0.0.1:5562\n", path: "control", line: 1,
                mentions: ["mapping", "bind"]),
    ProblemCase(name: "intake's default", yaml: "control:\n  bind: tcp://127.0.0.1:5551\n", path: "control.bind",
                line: 2, mentions: ["tcp://127.0.0.1:5551", "intake.bind", "default"]),
    ProblemCase(name: "intake written earlier", yaml: """
                    intake:
                      bind: tcp://127.0.0.1:7000
                    control:
                      bind: tcp://127.0.0.1:7000
                    """, path: "control.bind", line: 4,
                mentions: ["tcp://127.0.0.1:7000", "intake.bind (line 2)", "its own endpoint"]),
    ProblemCase(name: "replay written later, overlapping", yaml: """
                    control:
                      bind: tcp://127.0.0.1:7001
                    replay:
                      bind: tcp://*:7001

                    """ + plaintextAllowed, path: "replay.bind", line: 4, mentions: ["overlaps", "control.bind (line 2)"]),
])
func controlProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func offerProblemsAreAllReportedInDocumentOrder() {
    let yaml = """
        control:
          bind: tcp://127.0.0.1:5560
        offers:
          accept_within: 4x
          max_offers: 0
          then: bogus
          pool_window: 0
          withhold: [lead_id, contact, contact]
          follow_up_within: -1d
          colour: blue
        partners:
          - id: acme
            engagement: leads_only
          - id: globex
            engagement: co_sell
          - id: initech
            engagement: leads_only
            offers:
              then: everyone
              accept_within: ""
        """
    let found = problems(yaml)
    let expected: [(String, Int)] = [
        ("control.bind", 2),
        ("offers.accept_within", 4),
        ("offers.max_offers", 5),
        ("offers.then", 6),
        ("offers.pool_window", 7),
        ("offers.withhold[0]", 8),
        ("offers.withhold[2]", 8),
        ("offers.follow_up_within", 9),
        ("offers.colour", 10),
        ("partners[2].offers.then", 19),
        ("partners[2].offers.accept_within", 20),
    ]
    #expect(found.map(\.path) == expected.map(\.0), "\(found)")
    #expect(found.map(\.line) == expected.map(\.1))
}
