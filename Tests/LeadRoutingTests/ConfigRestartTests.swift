import LeadRouting
import Testing

// What a change of the config file needs: a restart (endpoints, state directory, store) or
// only a reload (partners, routing, offers, qualification, registrations).

/// `partnerHead` followed by `more`: a whole config file.
private func config(_ more: String = "") throws -> RouterConfig {
    try ConfigLoader.load(yaml: partnerHead + more)
}

/// A config file that differs from the plain one (`partnerHead`) in one value.
struct ChangeCase: Sendable, CustomTestStringConvertible {
    /// The key the change is to, or a description of it.
    var key: String
    /// YAML added to `partnerHead`.
    var yaml: String

    var testDescription: String { key }
}

let restartChanges: [ChangeCase] = [
    ChangeCase(key: "state_dir", yaml: "state_dir: /srv/leadrouter\n"),
    ChangeCase(key: "ingest.bind", yaml: "ingest:\n  bind: [\"tcp://127.0.0.1:6550\"]\n"),
    ChangeCase(key: "ingest.connect", yaml: "ingest:\n  connect: [\"tcp://10.0.0.7:5550\"]\n"),
    ChangeCase(key: "ingest.topics", yaml: "ingest:\n  topics: [\"lead\", \"web\"]\n"),
    ChangeCase(key: "ingest.max_message_bytes", yaml: "ingest:\n  max_message_bytes: 1024\n"),
    ChangeCase(key: "ingest.receive_hwm", yaml: "ingest:\n  receive_hwm: 500\n"),
    ChangeCase(key: "intake.bind", yaml: "intake:\n  bind: \"tcp://127.0.0.1:6551\"\n"),
    ChangeCase(key: "publish.bind", yaml: "publish:\n  bind: \"tcp://127.0.0.1:6560\"\n"),
    ChangeCase(key: "publish.send_hwm", yaml: "publish:\n  send_hwm: 1000\n"),
    ChangeCase(key: "publish.heartbeat_ms", yaml: "publish:\n  heartbeat_ms: 500\n"),
    ChangeCase(key: "replay.bind", yaml: "replay:\n  bind: \"tcp://127.0.0.1:6561\"\n"),
    ChangeCase(key: "replay.max_limit", yaml: "replay:\n  max_limit: 500\n"),
    ChangeCase(key: "control.bind", yaml: "control:\n  bind: \"tcp://127.0.0.1:5562\"\n"),
    ChangeCase(key: "store.durability", yaml: "store:\n  durability: normal\n"),
    ChangeCase(key: "store.retention_days", yaml: "store:\n  retention_days: 30\n"),
    ChangeCase(key: "store.pipeline_batch", yaml: "store:\n  pipeline_batch: 1\n"),
]

@Test("a change to an endpoint, the state directory or the store needs a restart, and names its key",
      arguments: restartChanges)
func restartNamesTheKey(_ change: ChangeCase) throws {
    let old = try config()
    let new = try config(change.yaml)
    #expect(new.restartRequired(comparedTo: old) == [change.key])
    #expect(old.restartRequired(comparedTo: new) == [change.key])
    #expect(new.rules == old.rules)
}

let reloadChanges: [ChangeCase] = [
    ChangeCase(key: "a partner's weight", yaml: "    weight: 3\n"),
    ChangeCase(key: "another partner", yaml: "  - id: globex\n    engagement: co_sell\n"),
    ChangeCase(key: "routing.unmatched", yaml: "routing:\n  unmatched: nurture\n"),
    ChangeCase(key: "offers.accept_within", yaml: "offers:\n  accept_within: 4h\n"),
    ChangeCase(key: "a partner's own offers", yaml: "    offers: {accept_within: 30m}\n"),
    ChangeCase(key: "qualification.timeline_days", yaml: "qualification:\n  timeline_days: 30\n"),
    ChangeCase(
        key: "registrations",
        yaml: "registrations:\n  - partner: acme\n    domain: acme.example\n    expires: 2027-03-01T00:00:00Z\n"),
]

@Test("a change to partners, routing, offers, qualification or registrations needs no restart",
      arguments: reloadChanges)
func reloadNeedsNoRestart(_ change: ChangeCase) throws {
    let old = try config()
    let new = try config(change.yaml)
    #expect(new != old)
    #expect(new.rules != old.rules)
    #expect(new.restartRequired(comparedTo: old) == [])
    #expect(new.daemon == old.daemon)
}

@Test func anUnchangedConfigNeedsNoRestart() throws {
    #expect(try config().restartRequired(comparedTo: config()) == [])
    #expect(RouterConfig().restartRequired(comparedTo: RouterConfig()) == [])
}

@Test func everyKeyThatNeedsARestartIsListedInTheOrderOfTheFile() throws {
    let old = try config()
    let new = try config("""
        store:
          durability: "off"
        routing:
          unmatched: nurture
        publish:
          heartbeat_ms: 250
        ingest:
          topics: ["web"]
          bind: ["tcp://127.0.0.1:6550"]
        state_dir: /srv/leadrouter
        control:
          bind: "tcp://127.0.0.1:5562"

        """)
    #expect(new.restartRequired(comparedTo: old) == [
        "state_dir", "ingest.bind", "ingest.topics", "publish.heartbeat_ms", "control.bind", "store.durability",
    ])
}

@Test func eachSectionReadsAndWritesThePartItBelongsTo() {
    var config = RouterConfig()
    config.partners = [Partner(id: "acme")]
    config.routing.unmatched = .nurture
    config.registrations = [Registration(partnerID: "acme", domain: "acme.example", expires: 1)]
    config.qualification.timelineDays = 30
    #expect(config.rules == RoutingRules(
        routing: RoutingPolicy(unmatched: .nurture), qualification: QualificationConfig(timelineDays: 30),
        partners: [Partner(id: "acme")],
        registrations: [Registration(partnerID: "acme", domain: "acme.example", expires: 1)]))
    #expect(config.daemon == DaemonSettings())

    config.stateDir = "/srv/leadrouter"
    config.ingest.topics = ["web"]
    config.store.durability = .normal
    #expect(config.daemon.stateDir == "/srv/leadrouter")
    #expect(config.daemon.ingest.topics == ["web"])
    #expect(config.daemon.store.durability == .normal)
    #expect(config.restartRequired(comparedTo: RouterConfig()) == ["state_dir", "ingest.topics", "store.durability"])
}

@Test("a pipeline built from the rules routes and rejects exactly as one built from the whole config")
func pipelineFromRulesMatchesPipelineFromConfig() throws {
    let loaded = try config("""
        routing:
          unmatched: nurture
        ingest:
          max_message_bytes: 2048

        """)
    var fromConfig = LeadPipeline(config: loaded, seed: 7)
    var fromRules = LeadPipeline(rules: loaded.rules, maxMessageBytes: loaded.ingest.maxMessageBytes, seed: 7)
    let now: Int64 = 1_795_341_600_123
    let inputs = [
        leadJSON(), leadJSON(id: "web-2", country: "FR", region: nil), leadJSON(),
        leadJSON(id: "web-3", extra: ", \"notes\": \"\(String(repeating: "x", count: 2048))\""),
    ]
    for json in inputs {
        let message = InboundMessage(frames: [Array("lead".utf8), Array(json.utf8)])
        #expect(fromRules.process(message, from: .ingest, now: now) == fromConfig.process(message, from: .ingest, now: now))
    }
}
