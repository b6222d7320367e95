import LeadRouting
import Testing

// `metrics`: where the Prometheus endpoint listens, and whether it counts per partner.

@Test func metricsAreOffWithoutTheSection() throws {
    let config = try ConfigLoader.load(yaml: partnerHead)
    #expect(config.metrics == MetricsConfig())
    #expect(config.metrics.bind == nil)
    #expect(!config.metrics.perPartner)
}

@Test func metricsBindAndPerPartnerAreRead() throws {
    let config = try ConfigLoader.load(yaml: partnerHead + "metrics:\n  bind: \"127.0.0.1:9464\"\n  per_partner: true\n")
    #expect(config.metrics.bind == MetricsAddress(host: "127.0.0.1", port: 9464))
    #expect(config.metrics.bind?.description == "127.0.0.1:9464")
    #expect(config.metrics.perPartner)
}

@Test("a null section or bind means no metrics endpoint", arguments: ["metrics:\n", "metrics: null\n", "metrics:\n  bind: null\n"])
func nullMetricsMeansOff(yaml: String) throws {
    #expect(try ConfigLoader.load(yaml: partnerHead + yaml).metrics.bind == nil)
}

struct AddressCase: Sendable, CustomTestStringConvertible {
    var text: String
    var host: String
    var port: Int
    var loopback: Bool
    var testDescription: String { text }
}

@Test("valid metrics.bind addresses", arguments: [
    AddressCase(text: "127.0.0.1:9464", host: "127.0.0.1", port: 9464, loopback: true),
    AddressCase(text: "localhost:9464", host: "127.0.0.1", port: 9464, loopback: true),
    AddressCase(text: "127.0.0.2:0", host: "127.0.0.2", port: 0, loopback: true),
    AddressCase(text: "[::1]:9464", host: "::1", port: 9464, loopback: true),
    AddressCase(text: "0.0.0.0:9464", host: "0.0.0.0", port: 9464, loopback: false),
    AddressCase(text: "[fe80::1:2]:80", host: "fe80::1:2", port: 80, loopback: false),
    AddressCase(text: "10.1.2.3:65535", host: "10.1.2.3", port: 65535, loopback: false),
])
func validMetricsAddresses(_ c: AddressCase) throws {
    let address = try #require(MetricsAddress(validating: c.text))
    #expect(address.host == c.host)
    #expect(address.port == c.port)
    #expect(address.isLoopback == c.loopback)
    #expect(MetricsAddress.problem(in: c.text) == nil)
}

@Test("invalid metrics.bind values are refused at their key and line", arguments: [
    ProblemCase(name: "no port", yaml: "metrics:\n  bind: \"127.0.0.1\"\n", path: "metrics.bind", line: 2,
                mentions: ["HOST:PORT", "127.0.0.1:9464"]),
    ProblemCase(name: "a scheme", yaml: "metrics:\n  bind: \"http://127.0.0.1:9464\"\n", path: "metrics.bind", line: 2,
                mentions: ["without a scheme"]),
    ProblemCase(name: "a ZeroMQ endpoint", yaml: "metrics:\n  bind: \"tcp://127.0.0.1:9464\"\n", path: "metrics.bind", line: 2,
                mentions: ["without a scheme"]),
    ProblemCase(name: "port too large", yaml: "metrics:\n  bind: \"127.0.0.1:65536\"\n", path: "metrics.bind", line: 2,
                mentions: ["invalid port \"65536\""]),
    ProblemCase(name: "port not a number", yaml: "metrics:\n  bind: \"127.0.0.1:http\"\n", path: "metrics.bind", line: 2,
                mentions: ["invalid port"]),
    ProblemCase(name: "a host name", yaml: "metrics:\n  bind: \"metrics.example:9464\"\n", path: "metrics.bind", line: 2,
                mentions: ["invalid host \"metrics.example\"", "IPv4"]),
    ProblemCase(name: "an octet too large", yaml: "metrics:\n  bind: \"127.0.0.256:9464\"\n", path: "metrics.bind", line: 2,
                mentions: ["invalid host"]),
    ProblemCase(name: "IPv6 without brackets", yaml: "metrics:\n  bind: \"::1:9464\"\n", path: "metrics.bind", line: 2,
                mentions: ["invalid host"]),
    ProblemCase(name: "IPv6 with two ::", yaml: "metrics:\n  bind: \"[1::2::3]:9464\"\n", path: "metrics.bind", line: 2,
                mentions: ["invalid host"]),
    ProblemCase(name: "a number", yaml: "metrics:\n  bind: 9464\n", path: "metrics.bind", line: 2,
                mentions: ["HOST:PORT"]),
    ProblemCase(name: "a list", yaml: "metrics:\n  bind: [\"127.0.0.1:9464\"]\n", path: "metrics.bind", line: 2,
                mentions: ["expected HOST:PORT"]),
    ProblemCase(name: "per_partner not a boolean", yaml: "metrics:\n  per_partner: yes\n", path: "metrics.per_partner", line: 2,
                mentions: ["true or false"]),
    ProblemCase(name: "an unknown key", yaml: "metrics:\n  bnd: \"127.0.0.1:9464\"\n", path: "metrics.bnd", line: 2,
                mentions: ["unknown key \"bnd\"", "did you mean \"bind\""]),
    ProblemCase(name: "not a mapping", yaml: "metrics: \"127.0.0.1:9464\"\n", path: "metrics", line: 1,
                mentions: ["a mapping with the keys bind, per_partner"]),
])
func invalidMetricsConfig(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func metricsBindCannotTakeAPortASocketBinds() {
    expectOneProblem("publish:\n  bind: \"tcp://127.0.0.1:9464\"\nmetrics:\n  bind: \"127.0.0.1:9464\"\n",
                     path: "metrics.bind", line: 4, mentions: ["also bound by publish.bind (line 2)"])
    expectOneProblem("metrics:\n  bind: \"127.0.0.1:5560\"\n",
                     path: "metrics.bind", line: 2, mentions: ["also bound by publish.bind (its default)"])
    // Port 0: any free port, never a collision.
    #expect(problems("metrics:\n  bind: \"127.0.0.1:0\"\nintake:\n  bind: \"tcp://127.0.0.1:0\"\n").isEmpty)
}

@Test("off loopback, the metrics endpoint needs allow_plaintext_network in either security mode", arguments: ["none", "curve"])
func metricsOnTheNetworkNeedsPlaintextAllowed(mode: String) {
    let security = mode == "curve" ? "security:\n  mode: curve\n  server_key: server.key_secret\n" : "security:\n  mode: none\n"
    let yaml = "metrics:\n  bind: \"0.0.0.0:9464\"\n" + security
    expectOneProblem(yaml, path: "metrics.bind", line: 2,
                     mentions: ["0.0.0.0:9464 is reachable from the network", "plain HTTP", "allow_plaintext_network: true"])
    #expect(problems(yaml + "  allow_plaintext_network: true\n").isEmpty)
    #expect(problems("metrics:\n  bind: \"[::1]:9464\"\n" + security).isEmpty)
}

@Test func metricsChangesNeedARestart() throws {
    let plain = try ConfigLoader.load(yaml: partnerHead)
    let bound = try ConfigLoader.load(yaml: partnerHead + "metrics:\n  bind: \"127.0.0.1:9464\"\n")
    let perPartner = try ConfigLoader.load(yaml: partnerHead + "metrics:\n  bind: \"127.0.0.1:9464\"\n  per_partner: true\n")
    #expect(bound.restartRequired(comparedTo: plain) == ["metrics.bind"])
    #expect(perPartner.restartRequired(comparedTo: bound) == ["metrics.per_partner"])
}
