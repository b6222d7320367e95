import LeadRouting
import Testing

// MARK: - Helpers

/// The problems `yaml` has; empty when it loads.
private func problems(_ yaml: String) -> [ConfigProblem] {
    do {
        _ = try ConfigLoader.load(yaml: yaml)
        return []
    } catch {
        return error.problems
    }
}

/// Expects exactly one problem, at `path` and `line`, whose message mentions every
/// string in `mentions`.
private func expectOneProblem(
    _ yaml: String, path: String, line: Int?, mentions: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let found = problems(yaml)
    #expect(found.count == 1, "\(found)", sourceLocation: sourceLocation)
    guard let problem = found.first else { return }
    #expect(problem.path == path, sourceLocation: sourceLocation)
    #expect(problem.line == line, sourceLocation: sourceLocation)
    for text in mentions {
        #expect(
            problem.message.contains(text), "\(problem.message) should mention \(text)",
            sourceLocation: sourceLocation
        )
    }
}

/// One expected problem, for parameterized tests.
struct ProblemCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var path: String
    var line: Int?
    var mentions: [String]

    var testDescription: String { name }
}

/// A minimal valid partner entry, to be followed by more keys at four spaces.
private let partnerHead = """
    partners:
      - id: acme
        engagement: leads_only

    """

// MARK: - The example config

@Test func contractExampleLoads() throws {
    let yaml = """
        state_dir: /var/lib/leadrouter        # the embedded store lives here
        ingest:
          bind: ["tcp://127.0.0.1:5550"]      # SUB binds here; lead sources connect their PUB
          connect: []                         # SUB also connects to sources that bind
          topics: ["lead"]                    # subscription prefixes
          max_message_bytes: 65536            # larger messages are rejected
        intake:                               # reliable, acknowledged submission
          bind: "tcp://127.0.0.1:5551"
        publish:
          bind: "tcp://127.0.0.1:5560"        # the assignment feed
        replay:                               # gap recovery for subscribers
          bind: "tcp://127.0.0.1:5561"
        routing:
          unmatched: vendor-sales             # vendor-sales | nurture: where a lead with no eligible partner goes
        partners:
          - id: rocky-mountain-it             # ^[a-z0-9][a-z0-9-]{0,62}$, unique
            name: Rocky Mountain IT
            engagement: leads_only            # leads_only | co_sell | vendor_closes
            territories:                      # empty or absent: anywhere
              - country: US                   # ISO 3166-1 alpha-2
                regions: [CO, WY]             # absent: the whole country
            products: [email-security]        # empty or absent: every product
            weight: 1                         # > 0; share of leads among equally eligible partners
            active: true                      # false: never receives new leads
        """
    let config = try ConfigLoader.load(yaml: yaml)
    let expected = RouterConfig(
        stateDir: "/var/lib/leadrouter",
        ingest: IngestConfig(
            bind: [try #require(Endpoint(validating: "tcp://127.0.0.1:5550"))],
            connect: [],
            topics: ["lead"],
            maxMessageBytes: 65_536,
            receiveHighWaterMark: 10_000
        ),
        intake: IntakeConfig(bind: Endpoint(validating: "tcp://127.0.0.1:5551")),
        publish: PublishConfig(
            bind: try #require(Endpoint(validating: "tcp://127.0.0.1:5560")),
            sendHighWaterMark: 1_000_000
        ),
        replay: ReplayConfig(bind: Endpoint(validating: "tcp://127.0.0.1:5561")),
        routing: RoutingPolicy(unmatched: .vendorSales),
        partners: [
            Partner(
                id: "rocky-mountain-it",
                name: "Rocky Mountain IT",
                engagement: .leadsOnly,
                territories: [Territory(country: "US", regions: ["CO", "WY"])],
                products: ["email-security"],
                weight: 1,
                active: true
            ),
        ]
    )
    #expect(config == expected)
}

@Test func everyKeyIsRead() throws {
    let yaml = """
        state_dir: /tmp/lr
        ingest:
          bind: ipc:///tmp/lr/ingest
          connect: [tcp://10.0.0.1:7000, "tcp://[::1]:7001"]
          topics: [lead, "lead/eu"]
          max_message_bytes: 16_777_216
          receive_hwm: 5
        intake:
          bind: tcp://*:6001
        publish:
          bind: tcp://*:6002
          send_hwm: 7
        replay:
          bind: tcp://*:6003
        routing:
          unmatched: nurture
        partners:
          - id: a1
            engagement: co_sell
            weight: 3
            active: false
          - id: 42
            name: The Answer
            engagement: vendor_closes
        """
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.stateDir == "/tmp/lr")
    #expect(config.ingest.bind.map(\.description) == ["ipc:///tmp/lr/ingest"])
    #expect(config.ingest.connect.map(\.description) == ["tcp://10.0.0.1:7000", "tcp://[::1]:7001"])
    #expect(config.ingest.topics == ["lead", "lead/eu"])
    #expect(config.ingest.maxMessageBytes == 16_777_216)
    #expect(config.ingest.receiveHighWaterMark == 5)
    #expect(config.intake.bind?.description == "tcp://*:6001")
    #expect(config.publish.bind.description == "tcp://*:6002")
    #expect(config.publish.sendHighWaterMark == 7)
    #expect(config.replay.bind?.description == "tcp://*:6003")
    #expect(config.routing.unmatched == .nurture)
    #expect(config.partners == [
        Partner(id: "a1", name: "a1", engagement: .coSell, weight: 3, active: false),
        Partner(id: "42", name: "The Answer", engagement: .vendorCloses),
    ])
}

// MARK: - Defaults and normalisation

@Test(arguments: [
    "{}",
    "state_dir: /var/lib/leadrouter\n",
    "ingest: {}\nintake: {}\npublish: {}\nreplay: {}\nrouting: {}\npartners: []\n",
    "store: {}\nqualification: {}\nregistrations: []\n",
    "qualification: {weights: {}, grades: {}}\n",
])
func absentSectionsTakeTheDefaults(yaml: String) throws {
    #expect(try ConfigLoader.load(yaml: yaml) == RouterConfig())
}

@Test func defaultValuesMatchTheContract() {
    let config = RouterConfig()
    #expect(config.stateDir == "/var/lib/leadrouter")
    #expect(config.ingest.bind.map(\.description) == ["tcp://127.0.0.1:5550"])
    #expect(config.ingest.connect.isEmpty)
    #expect(config.ingest.topics == ["lead"])
    #expect(config.ingest.maxMessageBytes == 65_536)
    #expect(config.ingest.receiveHighWaterMark == 10_000)
    #expect(config.intake.bind?.description == "tcp://127.0.0.1:5551")
    #expect(config.publish.bind.description == "tcp://127.0.0.1:5560")
    #expect(config.publish.sendHighWaterMark == 1_000_000)
    #expect(config.replay.bind?.description == "tcp://127.0.0.1:5561")
    #expect(config.routing.unmatched == .vendorSales)
    #expect(config.qualification == QualificationConfig(
        needWeight: 20, budgetWeight: 20, authorityWeight: 20, timelineWeight: 20, companySizeWeight: 10,
        estimatedValueWeight: 10, gradeA: 75, gradeB: 50, gradeC: 25, timelineDays: 90, fullEmployees: 500,
        fullValue: 50_000
    ))
    #expect(config.partners.isEmpty)
    #expect(config.registrations.isEmpty)
}

@Test func partnerDefaults() throws {
    let config = try ConfigLoader.load(yaml: partnerHead)
    #expect(config.partners == [Partner(id: "acme", name: "acme", engagement: .leadsOnly)])
    let partner = try #require(config.partners.first)
    #expect(partner.name == "acme")
    #expect(partner.weight == 1)
    #expect(partner.active)
    #expect(partner.territories.isEmpty)
    #expect(partner.products.isEmpty)
    #expect(partner.minGrade == nil)
    #expect(partner.capacity == nil)
    #expect(partner.pausedUntil == nil)
    #expect(partner.accounts.isEmpty)
}

@Test func codesAreNormalised() throws {
    let yaml = partnerHead + """
            territories:
              - country: us
                regions: [co, Wy, 01]
              - country: NO
              - country: de
            products: [Email-Security, ENDPOINT]
        """
    let partner = try #require(try ConfigLoader.load(yaml: yaml).partners.first)
    #expect(partner.territories == [
        Territory(country: "US", regions: ["CO", "WY", "01"]),
        Territory(country: "NO", regions: nil),
        Territory(country: "DE", regions: nil),
    ])
    #expect(partner.products == ["email-security", "endpoint"])
}

@Test func ingestBindTakesOneEndpointOrAList() throws {
    let one = try ConfigLoader.load(yaml: "ingest:\n  bind: tcp://127.0.0.1:7000\n  connect: ipc:///run/src\n")
    #expect(one.ingest.bind.map(\.description) == ["tcp://127.0.0.1:7000"])
    #expect(one.ingest.connect.map(\.description) == ["ipc:///run/src"])
    let connectOnly = try ConfigLoader.load(yaml: "ingest:\n  bind: []\n  connect: [tcp://10.1.1.1:7000]\n")
    #expect(connectOnly.ingest.bind.isEmpty)
    #expect(connectOnly.ingest.connect.map(\.description) == ["tcp://10.1.1.1:7000"])
}

@Test func trueAndFalseInAnyYAMLCoreCase() throws {
    let cases = [("true", true), ("True", true), ("TRUE", true), ("false", false), ("False", false), ("FALSE", false)]
    for (text, value) in cases {
        let config = try ConfigLoader.load(yaml: partnerHead + "    active: \(text)\n")
        #expect(config.partners.first?.active == value, "\(text)")
    }
}

// MARK: - Document-level problems

@Test(arguments: [
    ProblemCase(name: "empty", yaml: "", path: "", line: 1, mentions: ["empty", "state_dir"]),
    ProblemCase(name: "comments only", yaml: "# nothing\n\n# here\n", path: "", line: 1, mentions: ["empty"]),
    ProblemCase(name: "list", yaml: "- state_dir\n- ingest\n", path: "", line: 1, mentions: ["mapping", "a list"]),
    ProblemCase(name: "scalar", yaml: "\n\nhello\n", path: "", line: 3, mentions: ["mapping", "\"hello\""]),
    ProblemCase(name: "null", yaml: "~\n", path: "", line: 1, mentions: ["mapping", "null"]),
])
func documentMustBeAMapping(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "unclosed flow list", yaml: "ingest:\n  topics: [lead\n  bind: x\n", path: "", line: 3,
                mentions: ["invalid YAML"]),
    ProblemCase(name: "tab indentation", yaml: "ingest:\n\tbind: x\n", path: "", line: 2, mentions: ["invalid YAML"]),
    ProblemCase(name: "two documents", yaml: "state_dir: /a\n---\nstate_dir: /b\n", path: "", line: 2,
                mentions: ["invalid YAML", "single document"]),
    ProblemCase(name: "bad indentation", yaml: "routing:\n  unmatched: nurture\n bad: 1\n", path: "", line: 3,
                mentions: ["invalid YAML"]),
])
func yamlSyntaxErrorsCarryTheLine(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

// MARK: - Unknown keys

@Test(arguments: [
    ProblemCase(name: "top level", yaml: "state_dir: /a\nstat_dir: /b\n", path: "stat_dir", line: 2,
                mentions: ["\"stat_dir\"",
                           "state_dir, ingest, intake, publish, replay, routing, store, qualification, partners, "
                               + "registrations",
                           "did you mean \"state_dir\""]),
    ProblemCase(name: "ingest", yaml: "ingest:\n  topics: [lead]\n  hwm: 5\n", path: "ingest.hwm", line: 3,
                mentions: ["\"hwm\"", "bind, connect, topics, max_message_bytes, receive_hwm"]),
    ProblemCase(name: "intake", yaml: "intake:\n  connect: tcp://a:1\n", path: "intake.connect", line: 2,
                mentions: ["\"connect\"", "allowed keys: bind"]),
    ProblemCase(name: "publish", yaml: "publish:\n  sndhwm: 5\n", path: "publish.sndhwm", line: 2,
                mentions: ["\"sndhwm\"", "bind, send_hwm"]),
    ProblemCase(name: "replay", yaml: "replay: {bind: tcp://a:1, depth: 5}\n", path: "replay.depth", line: 1,
                mentions: ["\"depth\"", "bind"]),
    ProblemCase(name: "routing", yaml: "\nrouting:\n  fallback: nurture\n", path: "routing.fallback", line: 3,
                mentions: ["\"fallback\"", "unmatched"]),
    ProblemCase(name: "partner", yaml: partnerHead + "    wieght: 2\n", path: "partners[0].wieght", line: 4,
                mentions: ["\"wieght\"", "id, name, engagement, territories, products, weight, active",
                           "did you mean \"weight\""]),
    ProblemCase(name: "territory", yaml: partnerHead + "    territories:\n      - country: US\n        states: [CO]\n",
                path: "partners[0].territories[0].states", line: 6, mentions: ["\"states\"", "country, regions"]),
])
func unknownKeysAreNamedWithTheAllowedOnes(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

// MARK: - Wrong types

@Test(arguments: [
    ProblemCase(name: "quoted int", yaml: "ingest:\n  max_message_bytes: \"5\"\n", path: "ingest.max_message_bytes",
                line: 2, mentions: ["integer", "the string \"5\""]),
    ProblemCase(name: "float for int", yaml: "ingest:\n  receive_hwm: 1.5\n", path: "ingest.receive_hwm", line: 2,
                mentions: ["integer", "1.5"]),
    ProblemCase(name: "exponent for int", yaml: "publish:\n  send_hwm: 1e6\n", path: "publish.send_hwm", line: 2,
                mentions: ["integer", "1e6"]),
    ProblemCase(name: "word for int", yaml: partnerHead + "    weight: heavy\n", path: "partners[0].weight", line: 4,
                mentions: ["integer", "\"heavy\""]),
    ProblemCase(name: "hex int", yaml: "publish:\n  send_hwm: 0x10\n", path: "publish.send_hwm", line: 2,
                mentions: ["decimal integer", "0x10"]),
    ProblemCase(name: "leading zero int", yaml: "publish:\n  send_hwm: 0777\n", path: "publish.send_hwm", line: 2,
                mentions: ["decimal integer", "0777"]),
    ProblemCase(name: "too large int", yaml: "ingest:\n  receive_hwm: 99999999999999999999999\n",
                path: "ingest.receive_hwm", line: 2, mentions: ["99999999999999999999999"]),
    ProblemCase(name: "null for int", yaml: "ingest:\n  receive_hwm:\n  topics: [lead]\n", path: "ingest.receive_hwm",
                line: 2, mentions: ["integer", "null"]),
    ProblemCase(name: "yes for bool", yaml: partnerHead + "    active: yes\n", path: "partners[0].active", line: 4,
                mentions: ["true or false", "yes"]),
    ProblemCase(name: "quoted bool", yaml: partnerHead + "    active: \"true\"\n", path: "partners[0].active", line: 4,
                mentions: ["true or false", "the string \"true\""]),
    ProblemCase(name: "int for bool", yaml: partnerHead + "    active: 1\n", path: "partners[0].active", line: 4,
                mentions: ["true or false", "the integer 1"]),
    ProblemCase(name: "null for string", yaml: partnerHead + "    name:\n", path: "partners[0].name", line: 4,
                mentions: ["string", "null"]),
    ProblemCase(name: "tilde for string", yaml: "state_dir: ~\n", path: "state_dir", line: 1,
                mentions: ["string", "null"]),
    ProblemCase(name: "list for string", yaml: "state_dir: [/a, /b]\n", path: "state_dir", line: 1,
                mentions: ["string", "a list"]),
    ProblemCase(name: "mapping for string", yaml: partnerHead + "    name: {first: A}\n", path: "partners[0].name",
                line: 4, mentions: ["string", "a mapping"]),
    ProblemCase(name: "string for section", yaml: "\ningest: tcp://127.0.0.1:5550\n", path: "ingest", line: 2,
                mentions: ["mapping", "\"tcp://127.0.0.1:5550\""]),
    ProblemCase(name: "null section", yaml: "routing:\n", path: "routing", line: 1, mentions: ["mapping", "null"]),
    ProblemCase(name: "mapping for list", yaml: "partners:\n  id: acme\n  engagement: co_sell\n", path: "partners",
                line: 2, mentions: ["a list", "a mapping"]),
    ProblemCase(name: "string for topics", yaml: "ingest:\n  topics: lead\n", path: "ingest.topics", line: 2,
                mentions: ["a list", "\"lead\""]),
    ProblemCase(name: "scalar partner", yaml: "partners:\n  - acme\n", path: "partners[0]", line: 2,
                mentions: ["mapping", "\"acme\""]),
    ProblemCase(name: "null list item", yaml: partnerHead + "    products: [email, ~]\n",
                path: "partners[0].products[1]", line: 4, mentions: ["string", "null"]),
    ProblemCase(name: "string for regions",
                yaml: partnerHead + "    territories:\n      - country: US\n        regions: CO\n",
                path: "partners[0].territories[0].regions", line: 6, mentions: ["a list", "\"CO\""]),
    ProblemCase(name: "null intake.bind", yaml: "intake:\n  bind: null\n", path: "intake.bind", line: 2,
                mentions: ["endpoint", "null", "omit"]),
    ProblemCase(name: "null replay.bind", yaml: "replay:\n  bind:\n", path: "replay.bind", line: 2,
                mentions: ["endpoint", "null", "omit"]),
    ProblemCase(name: "null publish.bind", yaml: "publish:\n  bind: ~\n", path: "publish.bind", line: 2,
                mentions: ["endpoint", "null"]),
    ProblemCase(name: "null ingest.bind", yaml: "ingest:\n  bind:\n", path: "ingest.bind", line: 2,
                mentions: ["endpoint", "null"]),
])
func wrongTypesSayWhatWasExpectedAndFound(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func nonStringScalarsAreTakenAsWritten() throws {
    // `NO` would be the boolean false in YAML 1.1; here it is Norway.
    let yaml = partnerHead.replacing("acme", with: "2024") + """
            name: 1999
            territories:
              - country: NO
                regions: [ON, 3]
            products: [on, 1.5]
        """
    let partner = try #require(try ConfigLoader.load(yaml: yaml).partners.first)
    #expect(partner.id == "2024")
    #expect(partner.name == "1999")
    #expect(partner.territories == [Territory(country: "NO", regions: ["ON", "3"])])
    #expect(partner.products == ["on", "1.5"])
}

// MARK: - Ranges

@Test(arguments: [
    ProblemCase(name: "weight 0", yaml: partnerHead + "    weight: 0\n", path: "partners[0].weight", line: 4,
                mentions: ["greater than 0", "got 0"]),
    ProblemCase(name: "weight -1", yaml: partnerHead + "    weight: -1\n", path: "partners[0].weight", line: 4,
                mentions: ["must be greater than 0, got -1"]),
    ProblemCase(name: "weight huge", yaml: partnerHead + "    weight: 1000001\n", path: "partners[0].weight", line: 4,
                mentions: ["at most 1000000", "1000001"]),
])
func weightMustBePositive(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "max_message_bytes 0", yaml: "ingest:\n  max_message_bytes: 0\n", path: "ingest.max_message_bytes",
                line: 2, mentions: ["between 1 and 16777216", "got 0"]),
    ProblemCase(name: "max_message_bytes too big", yaml: "ingest:\n  max_message_bytes: 16777217\n",
                path: "ingest.max_message_bytes", line: 2, mentions: ["16777217"]),
    ProblemCase(name: "receive_hwm 0", yaml: "ingest:\n  receive_hwm: 0\n", path: "ingest.receive_hwm", line: 2,
                mentions: ["between 1 and", "got 0"]),
    ProblemCase(name: "send_hwm negative", yaml: "publish:\n  send_hwm: -5\n", path: "publish.send_hwm", line: 2,
                mentions: ["between 1 and", "got -5"]),
    ProblemCase(name: "send_hwm beyond a C int", yaml: "publish:\n  send_hwm: 2147483648\n", path: "publish.send_hwm",
                line: 2, mentions: ["2147483647", "2147483648"]),
    ProblemCase(name: "empty state_dir", yaml: "state_dir: ''\n", path: "state_dir", line: 1, mentions: ["empty"]),
])
func numbersOutOfRange(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

// MARK: - Enums

@Test(arguments: [
    ProblemCase(name: "engagement", yaml: "partners:\n  - id: acme\n    engagement: partner_closes\n",
                path: "partners[0].engagement", line: 3,
                mentions: ["leads_only, co_sell, vendor_closes", "\"partner_closes\""]),
    ProblemCase(name: "engagement case", yaml: "partners:\n  - id: acme\n    engagement: Co_Sell\n",
                path: "partners[0].engagement", line: 3, mentions: ["\"Co_Sell\""]),
    ProblemCase(name: "unmatched", yaml: "routing:\n  unmatched: vendor_sales\n", path: "routing.unmatched", line: 2,
                mentions: ["vendor-sales, nurture", "\"vendor_sales\""]),
])
func badEnumValuesListTheAllowedOnes(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

// MARK: - Partners

@Test func duplicatePartnerIDPointsAtTheSecondAndNamesTheFirst() {
    let yaml = """
        partners:
          - id: acme
            engagement: leads_only
          - id: other
            engagement: co_sell
          - id: acme
            engagement: co_sell
        """
    expectOneProblem(yaml, path: "partners[2].id", line: 6, mentions: ["\"acme\"", "partners[0]"])
}

@Test(arguments: [
    ProblemCase(name: "upper case", yaml: "partners:\n  - id: Acme\n    engagement: co_sell\n", path: "partners[0].id",
                line: 2, mentions: ["\"Acme\"", "^[a-z0-9][a-z0-9-]{0,62}$"]),
    ProblemCase(name: "leading dash", yaml: "partners:\n  - id: -acme\n    engagement: co_sell\n",
                path: "partners[0].id", line: 2, mentions: ["\"-acme\""]),
    ProblemCase(name: "too long", yaml: "partners:\n  - id: \(String(repeating: "a", count: 64))\n    engagement: co_sell\n",
                path: "partners[0].id", line: 2, mentions: [String(repeating: "a", count: 64)]),
    ProblemCase(name: "underscore", yaml: "partners:\n  - {id: a_b, engagement: co_sell}\n", path: "partners[0].id",
                line: 2, mentions: ["\"a_b\""]),
])
func invalidPartnerIDs(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "id", yaml: "partners:\n  - name: Acme\n    engagement: co_sell\n", path: "partners[0].id",
                line: 2, mentions: ["required"]),
    ProblemCase(name: "engagement", yaml: "partners:\n  - id: acme\n", path: "partners[0].engagement", line: 2,
                mentions: ["required", "leads_only, co_sell, vendor_closes"]),
    ProblemCase(name: "country", yaml: partnerHead + "    territories:\n      - regions: [CO]\n",
                path: "partners[0].territories[0].country", line: 5, mentions: ["required", "ISO 3166-1"]),
])
func missingRequiredKeys(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "unknown country", yaml: partnerHead + "    territories:\n      - country: UK\n",
                path: "partners[0].territories[0].country", line: 5, mentions: ["ISO 3166-1 alpha-2", "\"UK\""]),
    ProblemCase(name: "alpha-3 country", yaml: partnerHead + "    territories:\n      - country: usa\n",
                path: "partners[0].territories[0].country", line: 5, mentions: ["\"usa\""]),
    ProblemCase(name: "country twice", yaml: partnerHead
                    + "    territories:\n      - country: US\n        regions: [CO]\n      - country: us\n",
                path: "partners[0].territories[1].country", line: 7, mentions: ["US", "partners[0].territories[0]"]),
    ProblemCase(name: "empty regions", yaml: partnerHead + "    territories:\n      - country: US\n        regions: []\n",
                path: "partners[0].territories[0].regions", line: 6, mentions: ["empty", "omit regions"]),
    ProblemCase(name: "ISO 3166-2 region", yaml: partnerHead
                    + "    territories:\n      - country: US\n        regions: [CO, US-WY]\n",
                path: "partners[0].territories[0].regions[1]", line: 6, mentions: ["\"US-WY\"", "WY"]),
    ProblemCase(name: "long region", yaml: partnerHead + "    territories:\n      - country: US\n        regions: [COLO]\n",
                path: "partners[0].territories[0].regions[0]", line: 6, mentions: ["1-3", "\"COLO\""]),
    ProblemCase(name: "region twice", yaml: partnerHead
                    + "    territories:\n      - country: US\n        regions:\n          - CO\n          - co\n",
                path: "partners[0].territories[0].regions[1]", line: 8, mentions: ["CO", "regions[0]"]),
])
func territoryProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "empty product", yaml: partnerHead + "    products: [email, '']\n",
                path: "partners[0].products[1]", line: 4, mentions: ["empty"]),
    ProblemCase(name: "duplicate product", yaml: partnerHead + "    products:\n      - Email\n      - email\n",
                path: "partners[0].products[1]", line: 6, mentions: ["\"email\"", "products[0]"]),
    ProblemCase(name: "empty name", yaml: partnerHead + "    name: ''\n", path: "partners[0].name", line: 4,
                mentions: ["empty"]),
])
func productAndNameProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

// MARK: - Topics

@Test(arguments: [
    ProblemCase(name: "no topics", yaml: "ingest:\n  topics: []\n", path: "ingest.topics", line: 2,
                mentions: ["at least one"]),
    ProblemCase(name: "duplicate topic", yaml: "ingest:\n  topics:\n    - lead\n    - eu\n    - lead\n",
                path: "ingest.topics[2]", line: 5, mentions: ["\"lead\"", "ingest.topics[0]"]),
])
func topicProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

// MARK: - Endpoints

@Test(arguments: [
    ProblemCase(name: "no scheme", yaml: "publish:\n  bind: 127.0.0.1:5560\n", path: "publish.bind", line: 2,
                mentions: ["\"127.0.0.1:5560\"", "tcp://"]),
    ProblemCase(name: "bad port", yaml: "intake:\n  bind: tcp://127.0.0.1:99999\n", path: "intake.bind", line: 2,
                mentions: ["99999", "1-65535"]),
    ProblemCase(name: "no port", yaml: "replay:\n  bind: tcp://localhost\n", path: "replay.bind", line: 2,
                mentions: ["tcp://localhost", "port"]),
    ProblemCase(name: "in a bind list", yaml: "ingest:\n  bind:\n    - tcp://127.0.0.1:7000\n    - udp://127.0.0.1:7001\n",
                path: "ingest.bind[1]", line: 4, mentions: ["udp://127.0.0.1:7001"]),
    ProblemCase(name: "single bind string", yaml: "ingest:\n  bind: ipc://\n", path: "ingest.bind", line: 2,
                mentions: ["ipc://", "path"]),
    ProblemCase(name: "connect", yaml: "ingest:\n  connect: [tcp://:7000]\n", path: "ingest.connect[0]", line: 2,
                mentions: ["tcp://:7000", "host"]),
    ProblemCase(name: "connect twice", yaml: "ingest:\n  connect:\n    - tcp://10.0.0.1:7000\n    - tcp://10.0.0.1:7000\n",
                path: "ingest.connect[1]", line: 4, mentions: ["tcp://10.0.0.1:7000", "ingest.connect[0]"]),
    ProblemCase(name: "nothing to receive from", yaml: "ingest:\n  bind: []\n", path: "ingest.bind", line: 2,
                mentions: ["ingest.connect", "empty"]),
])
func badEndpoints(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test(arguments: [
    ProblemCase(name: "ingest vs publish", yaml: """
                    ingest:
                      bind: tcp://127.0.0.1:9000
                    publish:
                      bind: tcp://127.0.0.1:9000
                    """, path: "publish.bind", line: 4,
                mentions: ["tcp://127.0.0.1:9000", "ingest.bind (line 2)"]),
    ProblemCase(name: "publish before ingest in the document", yaml: """
                    publish:
                      bind: tcp://127.0.0.1:9000
                    ingest:
                      bind: [tcp://127.0.0.1:9001, tcp://127.0.0.1:9000]
                    """, path: "ingest.bind[1]", line: 4,
                mentions: ["tcp://127.0.0.1:9000", "publish.bind (line 2)"]),
    ProblemCase(name: "explicit vs a default", yaml: "replay:\n  bind: tcp://127.0.0.1:5560\n", path: "replay.bind",
                line: 2, mentions: ["tcp://127.0.0.1:5560", "publish.bind", "default"]),
    ProblemCase(name: "default vs explicit later", yaml: "ingest:\n  bind: tcp://127.0.0.1:5551\n",
                path: "ingest.bind", line: 2, mentions: ["tcp://127.0.0.1:5551", "intake.bind"]),
    ProblemCase(name: "wildcard overlaps", yaml: "intake:\n  bind: tcp://*:5561\n", path: "intake.bind", line: 2,
                mentions: ["tcp://*:5561", "overlaps", "tcp://127.0.0.1:5561", "replay.bind"]),
    ProblemCase(name: "twice in ingest.bind", yaml: "ingest:\n  bind: [ipc:///run/a, ipc:///run/a]\n",
                path: "ingest.bind[1]", line: 2, mentions: ["ipc:///run/a", "ingest.bind[0]"]),
    ProblemCase(name: "intake vs replay", yaml: "intake:\n  bind: ipc:///run/x\nreplay:\n  bind: ipc:///run/x\n",
                path: "replay.bind", line: 4, mentions: ["ipc:///run/x", "intake.bind (line 2)"]),
])
func anEndpointBoundByTwoSockets(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func ephemeralPortsAndDifferentHostsDoNotCollide() throws {
    let yaml = """
        ingest:
          bind: [tcp://*:*, tcp://127.0.0.1:9000]
        intake:
          bind: tcp://*:*
        publish:
          bind: tcp://10.0.0.1:9000
        """
    _ = try ConfigLoader.load(yaml: yaml)
}

// MARK: - Duplicate mapping keys

@Test(arguments: [
    ProblemCase(name: "top level", yaml: "state_dir: /a\nrouting: {}\nstate_dir: /b\n", path: "state_dir", line: 3,
                mentions: ["\"state_dir\"", "line 1"]),
    ProblemCase(name: "nested", yaml: "ingest:\n  topics: [a]\n  bind: tcp://127.0.0.1:7000\n  topics: [b]\n",
                path: "ingest.topics", line: 4, mentions: ["\"topics\"", "line 2"]),
    ProblemCase(name: "in a partner", yaml: partnerHead + "    weight: 2\n    weight: 3\n", path: "partners[0].weight",
                line: 5, mentions: ["\"weight\"", "line 4"]),
    ProblemCase(name: "flow mapping", yaml: "routing: {unmatched: nurture, unmatched: vendor-sales}\n",
                path: "routing.unmatched", line: 1, mentions: ["\"unmatched\""]),
    ProblemCase(name: "quoted key", yaml: "\"state_dir\": /a\n'state_dir': /b\n", path: "state_dir", line: 2,
                mentions: ["\"state_dir\"", "line 1"]),
])
func duplicateMappingKeys(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func everyDuplicateKeyIsReported() {
    let yaml = """
        state_dir: /a
        state_dir: /b
        routing:
          unmatched: nurture
          unmatched: nurture
          unmatched: nurture
        partners:
          - id: acme
            engagement: co_sell
            id: acme2
        """
    let found = problems(yaml)
    #expect(found.map(\.path) == ["state_dir", "routing.unmatched", "routing.unmatched", "partners[0].id"])
    #expect(found.map(\.line) == [2, 5, 6, 10])
    #expect(found.allSatisfy { $0.message.contains("duplicate key") })
}

@Test func theFirstOfDuplicateKeysIsValidatedToo() {
    let yaml = "publish:\n  send_hwm: zero\n  send_hwm: 5\n"
    let found = problems(yaml)
    #expect(found.map(\.path) == ["publish.send_hwm", "publish.send_hwm"])
    #expect(found.map(\.line) == [2, 3])
}

@Test func aDuplicateKeyThatCannotBeLocatedIsStillReported() {
    // A key with an anchor cannot be renamed in the text: one problem for the document.
    expectOneProblem("&k state_dir: /a\nstate_dir: /b\n", path: "", line: 1, mentions: ["\"state_dir\""])
}

@Test func aByteOrderMarkIsIgnored() throws {
    let config = try ConfigLoader.load(yaml: "\u{FEFF}state_dir: /srv/lr\nrouting:\n  unmatched: nurture\n")
    #expect(config.stateDir == "/srv/lr")
    expectOneProblem("\u{FEFF}state_dir: /a\nstate_dir: /b\n", path: "state_dir", line: 2, mentions: ["line 1"])
}

@Test func windowsLineEndings() {
    expectOneProblem("state_dir: /a\r\nrouting: {}\r\nstate_dir: /b\r\n", path: "state_dir", line: 3,
                     mentions: ["duplicate key"])
}

// MARK: - Many problems at once

@Test func severalIndependentProblemsAreAllReportedInDocumentOrder() {
    let yaml = """
        state_dir: /var/lib/leadrouter
        ingest:
          bind: tcp://127.0.0.1:5560
          topics: [lead, lead]
          max_message_bytes: "64k"
        intake:
          bind: tcp://127.0.0.1
        routing:
          unmatched: sales
          colour: blue
        partners:
          - id: acme
            engagement: leads_only
            weight: 0
          - id: acme
            engagement: resell
            active: no
            territories:
              - country: XX
                regions: []
        """
    let found = problems(yaml)
    let expected: [(String, Int)] = [
        ("ingest.bind", 3),
        ("ingest.topics[1]", 4),
        ("ingest.max_message_bytes", 5),
        ("intake.bind", 7),
        ("routing.unmatched", 9),
        ("routing.colour", 10),
        ("partners[0].weight", 14),
        ("partners[1].id", 15),
        ("partners[1].engagement", 16),
        ("partners[1].active", 17),
        ("partners[1].territories[0].country", 19),
        ("partners[1].territories[0].regions", 20),
    ]
    #expect(found.map(\.path) == expected.map(\.0), "\(found)")
    #expect(found.map(\.line) == expected.map(\.1))
    let error = ConfigError(problems: found)
    #expect(error.description.split(separator: "\n").count == expected.count)
}

@Test func problemsInOnePartnerDoNotHideTheNext() {
    let yaml = """
        partners:
          - 5
          - id: b
          - id: c
            engagement: co_sell
            weight: -2
        """
    let found = problems(yaml)
    #expect(found.map(\.path) == ["partners[0]", "partners[1].engagement", "partners[2].weight"])
    #expect(found.map(\.line) == [2, 3, 6])
}

// MARK: - Descriptions

@Test func problemDescriptions() {
    #expect(ConfigProblem(path: "partners[2].weight", line: 31, message: "must be greater than 0, got -1").description
        == "partners[2].weight (line 31): must be greater than 0, got -1")
    #expect(ConfigProblem(path: "state_dir", line: nil, message: "m").description == "state_dir: m")
    #expect(ConfigProblem(path: "", line: 1, message: "the document is empty").description
        == "<document> (line 1): the document is empty")
    let error = ConfigError(problems: [
        ConfigProblem(path: "a", line: 1, message: "x"),
        ConfigProblem(path: "b", line: nil, message: "y"),
    ])
    #expect(error.description == "a (line 1): x\nb: y")
}

@Test func loadThrowsConfigError() {
    #expect(throws: ConfigError.self) { try ConfigLoader.load(yaml: "routing: 5\n") }
}

// MARK: - ISO countries

@Test func isoCountries() {
    #expect(ISOCountry.alpha2.count == 249)
    #expect(ISOCountry.alpha2.allSatisfy { $0.count == 2 && $0 == $0.uppercased() })
    for code in ["US", "DE", "NO", "GB", "AX", "SS", "BQ", "CW", "SX", "AQ"] {
        #expect(ISOCountry.isValid(code), "\(code)")
    }
    for code in ["us", "UK", "XK", "EU", "USA", "", "ZZ"] {
        #expect(!ISOCountry.isValid(code), "\(code)")
    }
}
