@testable import LeadRouting
import Testing

// Problems in the non-routing keys: partners, topics, endpoints, duplicate keys; how
// problems are described; ISO country codes.

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
    ProblemCase(name: "wildcard overlaps", yaml: "intake:\n  bind: tcp://*:5561\n" + plaintextAllowed, path: "intake.bind", line: 2,
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
    _ = try ConfigLoader.load(yaml: yaml + plaintextAllowed)
}

@Test func portZeroIsAnEphemeralPortOnEverySocket() throws {
    let yaml = """
        ingest:
          bind: [tcp://127.0.0.1:0, tcp://127.0.0.1:0]
        intake:
          bind: tcp://127.0.0.1:0
        publish:
          bind: tcp://127.0.0.1:0
        replay:
          bind: tcp://127.0.0.1:0
        """
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.ingest.bind.map(\.description) == ["tcp://127.0.0.1:0", "tcp://127.0.0.1:0"])
    #expect(config.publish.bind.description == "tcp://127.0.0.1:0")
    // A leading zero is not port 0.
    expectOneProblem("intake:\n  bind: tcp://127.0.0.1:00\n", path: "intake.bind", line: 2, mentions: ["\"00\"", "1-65535"])
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
    for code in ["us", "UK", "XK", "EU", "USA", "", "ZZ", "U", "U1", "@A", "A[", "É"] {
        #expect(!ISOCountry.isValid(code), "\(code)")
    }
    // Every two letters: valid exactly when listed (the check is a bit per code).
    let letters = (UInt8(ascii: "A")...UInt8(ascii: "Z")).map { String(UnicodeScalar($0)) }
    for first in letters {
        for second in letters {
            #expect(ISOCountry.isValid(first + second) == ISOCountry.alpha2.contains(first + second))
            #expect(Array((first + second).utf8).withUnsafeBufferPointer { ISOCountry.twoLetters($0) } == first + second)
        }
    }
    for text in ["us", "U", "USA", "U1", ""] { #expect(Array(text.utf8).withUnsafeBufferPointer { ISOCountry.twoLetters($0) } == nil) }
}

@Test("an authority's bytes read as its name; any other bytes as none")
func authorityTexts() {
    for authority in LeadFacts.Authority.allCases {
        #expect(Array(authority.rawValue.utf8).withUnsafeBufferPointer { LeadFacts.Authority.text($0) } == authority.rawValue)
    }
    for text in ["Decision_maker", "decision_makeR", "influence", "unknowns", "ceo", ""] {
        #expect(Array(text.utf8).withUnsafeBufferPointer { LeadFacts.Authority.text($0) } == nil)
    }
}
