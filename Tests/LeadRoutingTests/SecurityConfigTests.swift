import LeadRouting
import Testing

// The `security:` section and partners' `keys`, as written (the files are read by
// LeadRouterConfigFile), and plaintext endpoints off loopback.

/// A well-formed Z85 key with a `/` in it (Z85's alphabet has one).
private let z85Key = "SIs(*TVLKD/9Ek71^3HBr]p4EaQSpbsMh8/nFHPv"

@Test func securityKeysAreReadWithTheirPathsAndLines() throws {
    let yaml = """
        security:
          mode: curve
          server_key: keys/server.key_secret
          allow_plaintext_network: false
          clients:
            - id: web-forms
              role: source
              keys: [keys/web-forms.key, "\(z85Key)"]
            - id: ops
              role: operator
              keys:
                - /etc/leadrouter/keys/ops.key
        partners:
          - id: acme
            engagement: leads_only
            keys: [keys/acme-1.key, ./acme-2.key]
          - id: globex
            engagement: co_sell
        """
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.security == SecurityConfig(
        mode: .curve, serverKey: KeySource(.file("keys/server.key_secret"), path: "security.server_key", line: 3)))
    #expect(config.clients == [
        SecurityClient(id: "web-forms", role: .source, keys: [
            KeySource(.file("keys/web-forms.key"), path: "security.clients[0].keys[0]", line: 8),
            KeySource(.z85(z85Key), path: "security.clients[0].keys[1]", line: 8),
        ]),
        SecurityClient(id: "ops", role: .operator, keys: [
            KeySource(.file("/etc/leadrouter/keys/ops.key"), path: "security.clients[1].keys[0]", line: 12),
        ]),
    ])
    #expect(config.partners[0].keys == [
        KeySource(.file("keys/acme-1.key"), path: "partners[0].keys[0]", line: 16),
        KeySource(.file("./acme-2.key"), path: "partners[0].keys[1]", line: 16),
    ])
    #expect(config.partners[1].keys.isEmpty)
}

@Test func withoutASecuritySectionNothingIsEncryptedAndOnlyLoopbackIsBound() throws {
    let config = try ConfigLoader.load(yaml: "state_dir: /tmp/lr\n")
    #expect(config.security == SecurityConfig())
    #expect(config.clients.isEmpty)
    // mode none: clients need no keys.
    let none = try ConfigLoader.load(yaml: "security:\n  clients: [{id: ops, role: operator}]\n")
    #expect(none.clients == [SecurityClient(id: "ops", role: .operator, keys: [])])
}

@Test func aKeyThatCannotBeZ85IsAPath() {
    let forty = String(repeating: "a", count: 36)
    #expect(KeySource.parse(z85Key, path: "k", line: 1).kind == .z85(z85Key))
    // 40 characters of Z85 are Z85 here even when they look like a path (one generated key in
    // 85 starts with `/`); the config file's loader reads them as a file when it exists.
    for text in ["/" + String(z85Key.dropFirst()), "./" + String(z85Key.dropFirst(2)), String(z85Key.dropLast(4)) + ".key"] {
        #expect(KeySource.parse(text, path: "k", line: 1).kind == .z85(text))
    }
    #expect(KeySource.parse("/\(forty)abcd", path: "k", line: 1).kind == .file("/\(forty)abcd"))
    #expect(KeySource.parse("\(forty)ab.key", path: "k", line: 1).kind == .file("\(forty)ab.key"))
    #expect(KeySource.parse("short.key", path: "k", line: 1).kind == .file("short.key"))
    #expect(KeySource.parse(String(repeating: "a", count: 39) + "~", path: "k", line: 1).kind == .file(String(repeating: "a", count: 39) + "~"))
}

/// `security:` with curve and a server key on lines 1-3, then `clients:` on line 4 and
/// one client (`item`) on line 5.
private func curveClient(_ item: String) -> String {
    "security:\n  mode: curve\n  server_key: s.key_secret\n  clients:\n    - \(item)\n"
}

@Test(arguments: [
    ProblemCase(name: "unknown key", yaml: "security:\n  server_keys: s.key_secret\n", path: "security.server_keys",
                line: 2, mentions: ["\"server_keys\"", "mode, server_key, allow_plaintext_network, clients",
                                    "did you mean \"server_key\""]),
    ProblemCase(name: "not a mapping", yaml: "security: curve\n", path: "security", line: 1, mentions: ["a mapping"]),
    ProblemCase(name: "mode", yaml: "security:\n  mode: tls\n", path: "security.mode", line: 2,
                mentions: ["none, curve", "\"tls\""]),
    ProblemCase(name: "server_key required with curve", yaml: "security:\n  mode: curve\n", path: "security.server_key",
                line: 2, mentions: ["required", "mode: curve", "key_secret", "leadctl keygen"]),
    ProblemCase(name: "server_key empty", yaml: "security:\n  server_key: \"\"\n", path: "security.server_key", line: 2,
                mentions: ["must not be empty"]),
    ProblemCase(name: "server_key a list", yaml: "security:\n  server_key: [a]\n", path: "security.server_key", line: 2,
                mentions: ["secret certificate", "a list"]),
    ProblemCase(name: "allow_plaintext_network", yaml: "security:\n  allow_plaintext_network: yes\n",
                path: "security.allow_plaintext_network", line: 2, mentions: ["true or false", "yes"]),
    ProblemCase(name: "clients not a list", yaml: "security:\n  clients: {id: a}\n", path: "security.clients", line: 2,
                mentions: ["a list of clients", "a mapping"]),
    ProblemCase(name: "client not a mapping", yaml: curveClient("web-forms"), path: "security.clients[0]", line: 5,
                mentions: ["a client mapping with the keys id, role, keys"]),
    ProblemCase(name: "unknown client key", yaml: curveClient("{id: a, role: source, key: [a.key], keys: [b.key]}"),
                path: "security.clients[0].key", line: 5, mentions: ["did you mean \"keys\""]),
    ProblemCase(name: "client id missing", yaml: curveClient("{role: source, keys: [a.key]}"), path: "security.clients[0].id",
                line: 5, mentions: ["required"]),
    ProblemCase(name: "client id", yaml: curveClient("{id: Web_Forms, role: source, keys: [a.key]}"),
                path: "security.clients[0].id", line: 5, mentions: ["\"Web_Forms\"", "^[a-z0-9][a-z0-9-]{0,62}$"]),
    ProblemCase(name: "role missing", yaml: curveClient("{id: a, keys: [a.key]}"), path: "security.clients[0].role", line: 5,
                mentions: ["required", "source, vendor_sales, marketing, operator"]),
    ProblemCase(name: "role", yaml: curveClient("{id: a, role: admin, keys: [a.key]}"), path: "security.clients[0].role",
                line: 5, mentions: ["\"admin\"", "source, vendor_sales, marketing, operator"]),
    ProblemCase(name: "keys missing with curve", yaml: curveClient("{id: a, role: source}"), path: "security.clients[0].keys",
                line: 5, mentions: ["required", "mode: curve"]),
    ProblemCase(name: "keys empty with curve", yaml: curveClient("{id: a, role: source, keys: []}"),
                path: "security.clients[0].keys", line: 5, mentions: ["at least one key"]),
    ProblemCase(name: "keys not a list", yaml: curveClient("{id: a, role: source, keys: a.key}"),
                path: "security.clients[0].keys", line: 5, mentions: ["a list of public certificate files or Z85 keys"]),
    ProblemCase(name: "key empty", yaml: curveClient("{id: a, role: source, keys: [\" \"]}"),
                path: "security.clients[0].keys[0]", line: 5, mentions: ["empty"]),
    ProblemCase(name: "key not a string", yaml: curveClient("{id: a, role: source, keys: [[a.key]]}"),
                path: "security.clients[0].keys[0]", line: 5, mentions: ["a list"]),
    ProblemCase(name: "key listed twice", yaml: curveClient("{id: a, role: source, keys: [a.key, b.key, a.key]}"),
                path: "security.clients[0].keys[2]", line: 5, mentions: ["security.clients[0].keys[0]", "\"a.key\""]),
    ProblemCase(name: "partner's keys not a list", yaml: partner("keys: acme.key"), path: "partners[0].keys", line: 4,
                mentions: ["a list of public certificate files"]),
    ProblemCase(name: "partner's Z85 key twice", yaml: partner("keys: [\"\(z85Key)\", \"\(z85Key)\"]"),
                path: "partners[0].keys[1]", line: 4, mentions: ["partners[0].keys[0]", "the Z85 key"]),
])
func securityProblems(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func duplicateClientIDsNameTheFirst() {
    let yaml = curveClient("{id: ops, role: operator, keys: [a.key]}") + "    - {id: ops, role: marketing, keys: [b.key]}\n"
    expectOneProblem(yaml, path: "security.clients[1].id", line: 6,
                     mentions: ["duplicate client id \"ops\"", "security.clients[0] (line 5)"])
}

@Test func aClientMayShareItsIDWithAPartner() throws {
    let config = try ConfigLoader.load(yaml: partnerHead + curveClient("{id: acme, role: marketing, keys: [a.key]}"))
    #expect(config.clients.map(\.id) == ["acme"])
}

// MARK: - Plaintext on the network

@Test(arguments: [
    ProblemCase(name: "ingest, every interface", yaml: "ingest:\n  bind: tcp://*:6000\n", path: "ingest.bind", line: 2,
                mentions: ["tcp://*:6000", "security.allow_plaintext_network: true", "security.mode: curve"]),
    ProblemCase(name: "ingest, one of a list", yaml: "ingest:\n  bind: [tcp://127.0.0.1:6000, tcp://0.0.0.0:6001]\n",
                path: "ingest.bind[1]", line: 2, mentions: ["tcp://0.0.0.0:6001", "plaintext"]),
    ProblemCase(name: "intake, an address", yaml: "intake:\n  bind: tcp://10.0.0.5:6002\n", path: "intake.bind", line: 2,
                mentions: ["tcp://10.0.0.5:6002"]),
    ProblemCase(name: "publish, an interface", yaml: "publish:\n  bind: tcp://eth0:6003\n", path: "publish.bind", line: 2,
                mentions: ["tcp://eth0:6003"]),
    ProblemCase(name: "replay, IPv6", yaml: "replay:\n  bind: \"tcp://[2001:db8::1]:6004\"\n", path: "replay.bind",
                line: 2, mentions: ["tcp://[2001:db8::1]:6004"]),
    ProblemCase(name: "control, any port on every interface", yaml: "control:\n  bind: tcp://*:*\n", path: "control.bind",
                line: 2, mentions: ["tcp://*:*"]),
    ProblemCase(name: "almost loopback", yaml: "intake:\n  bind: tcp://127.0.0.1.example:6005\n", path: "intake.bind",
                line: 2, mentions: ["tcp://127.0.0.1.example:6005"]),
    ProblemCase(name: "explicit mode none", yaml: "security:\n  mode: none\nintake:\n  bind: tcp://*:6006\n",
                path: "intake.bind", line: 4, mentions: ["security.mode is none"]),
    ProblemCase(name: "an invalid mode is the only problem", yaml: "security:\n  mode: tls\nintake:\n  bind: tcp://*:6006\n",
                path: "security.mode", line: 2, mentions: ["\"tls\""]),
])
func plaintextOnTheNetworkNeedsConsent(_ c: ProblemCase) {
    expectOneProblem(c.yaml, path: c.path, line: c.line, mentions: c.mentions)
}

@Test func loopbackAndIPCNeedNoConsent() throws {
    let yaml = """
        ingest:
          bind: [tcp://127.0.0.1:6000, tcp://127.9.8.7:6001, tcp://localhost:6002, "tcp://[::1]:6003", ipc:///run/lr/ingest]
        intake:
          bind: tcp://LOCALHOST:6004
        publish:
          bind: tcp://127.0.0.1:*
        control:
          bind: ipc:///run/lr/control
        """
    _ = try ConfigLoader.load(yaml: yaml)
}

@Test func everyInterfaceWithConsentOrCurve() throws {
    let endpoints = "ingest:\n  bind: tcp://*:6000\nintake:\n  bind: tcp://10.0.0.5:6001\n"
    let allowed = try ConfigLoader.load(yaml: endpoints + "security:\n  allow_plaintext_network: true\n")
    #expect(allowed.security.allowPlaintextNetwork)
    let curve = try ConfigLoader.load(yaml: endpoints + "security:\n  mode: curve\n  server_key: /etc/lr/s.key_secret\n")
    #expect(curve.security.mode == .curve)
}

// MARK: - Restart or reload

@Test func modeServerKeyAndPlaintextNeedARestartClientsAndKeysDoNot() throws {
    let base = try ConfigLoader.load(yaml: "security:\n  mode: curve\n  server_key: s.key_secret\n" + partnerHead)
    func changed(_ yaml: String) throws -> [String] {
        try ConfigLoader.load(yaml: yaml).restartRequired(comparedTo: base)
    }
    #expect(try changed("security:\n  mode: none\n  server_key: s.key_secret\n" + partnerHead) == ["security.mode"])
    #expect(try changed("security:\n  mode: curve\n  server_key: b.key_secret\n" + partnerHead) == ["security.server_key"])
    #expect(try changed("security:\n  mode: curve\n  server_key: s.key_secret\n  allow_plaintext_network: true\n"
        + partnerHead) == ["security.allow_plaintext_network"])
    // The same key written on another line is no change.
    #expect(try changed("\n\nsecurity:\n  server_key: s.key_secret\n  mode: curve\n" + partnerHead) == [])
    // Clients and partners' keys a reload applies.
    let reloadable = try ConfigLoader.load(yaml: curveClient("{id: ops, role: operator, keys: [ops.key]}")
        + partnerHead + "    keys: [acme.key]\n")
    #expect(reloadable.restartRequired(comparedTo: base) == [])
}
