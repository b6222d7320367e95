import LeadRouting
import Testing

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
        security:
          allow_plaintext_network: true
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
    #expect(config.security == SecurityConfig(allowPlaintextNetwork: true))
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
    ProblemCase(name: "replay", yaml: "replay: {bind: tcp://127.0.0.1:1, depth: 5}\n", path: "replay.depth", line: 1,
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
