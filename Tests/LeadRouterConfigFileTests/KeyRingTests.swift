import Foundation
import LeadRouterConfigFile
import LeadRouting
import Testing
import ZeroMQ

// Resolving the config's CURVE keys from certificate files and Z85 strings.

/// A temporary directory of certificates, removed when dropped.
final class KeyDirectory {
    let path: String

    init() throws {
        path = "/tmp/lr-keys-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path + "/keys", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` at `name` (relative to the directory) with `mode`; returns its full path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return file
    }

    /// A new pair as `keys/NAME.key` (0644) and `keys/NAME.key_secret` (0600).
    func pair(_ name: String) throws -> CurveKeyPair {
        let pair = try CurveKeyPair.generate()
        try write("keys/\(name).key", CurveCertificate(publicKey: pair.publicKey.z85).fileText())
        try write("keys/\(name).key_secret",
                  CurveCertificate(publicKey: pair.publicKey.z85, secretKey: pair.secretKey.z85).fileText(), mode: 0o600)
        return pair
    }

    func ring(_ yaml: String) throws -> Result<KeyRing, ConfigError> {
        ConfigFile.keyRing(for: try ConfigLoader.load(yaml: yaml), relativeTo: path)
    }

    /// The problems resolving `yaml` finds; fails the test when it resolves.
    func problems(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [ConfigProblem] {
        switch try ring(yaml) {
        case .success:
            Issue.record("expected problems", sourceLocation: sourceLocation)
            return []
        case .failure(let error):
            return error.problems
        }
    }
}

/// `security:` with curve and `server_key` on lines 1-3, `clients:` on line 4.
func curve(serverKey: String = "keys/server.key_secret") -> String {
    "security:\n  mode: curve\n  server_key: \"\(serverKey)\"\n  clients:\n"
}

/// Expects exactly one problem, at `path` and `line`, mentioning every string of `mentions`.
func expectOne(_ problems: [ConfigProblem], path: String, line: Int?, mentions: [String],
               sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(problems.count == 1, "\(problems)", sourceLocation: sourceLocation)
    guard let problem = problems.first else { return }
    #expect(problem.path == path, "\(problem)", sourceLocation: sourceLocation)
    #expect(problem.line == line, "\(problem)", sourceLocation: sourceLocation)
    for text in mentions {
        #expect(problem.message.contains(text), "\(problem.message) should mention \(text)", sourceLocation: sourceLocation)
    }
}

@Test func aValidRingHasTheServerSecretAndEveryPrincipal() throws {
    let dir = try KeyDirectory()
    let server = try dir.pair("server"), acme = try dir.pair("acme"), ops = try dir.pair("ops")
    let web = try CurveKeyPair.generate(), acme2 = try dir.pair("acme-2")
    let yaml = curve() + """
            - {id: web-forms, role: source, keys: ["\(web.publicKey.z85)"]}
            - {id: ops, role: operator, keys: [\(dir.path)/keys/ops.key]}
        partners:
          - {id: acme, engagement: leads_only, keys: [keys/acme.key, ./keys/acme-2.key]}
          - {id: globex, engagement: co_sell}
        """
    let ring = try dir.ring(yaml).get()
    #expect(ring.serverSecretKey == server.secretKey.z85)
    #expect(ring.isCurve)
    #expect(ring.principals == [
        web.publicKey.z85: .client("web-forms", .source),
        ops.publicKey.z85: .client("ops", .operator),
        acme.publicKey.z85: .partner("acme"),
        acme2.publicKey.z85: .partner("acme"),
    ])
    // From the config file's path, relative paths are taken from its directory.
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(try ConfigFile.loadKeys(for: config, path: dir.path + "/leadrouter.yaml").get() == ring)
    #expect(ConfigFile.summary(config, path: "c.yaml").hasSuffix("; security curve (4 keys)"))
}

@Test func aServerKeyMayBeAZ85SecretKey() throws {
    let dir = try KeyDirectory()
    let server = try CurveKeyPair.generate()
    let ops = try CurveKeyPair.generate()
    let yaml = curve(serverKey: server.secretKey.z85) + "    - {id: ops, role: operator, keys: [\"\(ops.publicKey.z85)\"]}\n"
    let ring = try dir.ring(yaml).get()
    #expect(ring.serverSecretKey == server.secretKey.z85)
}

@Test func withModeNoneTheKeysAreCheckedButNotUsed() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("ops")
    // Good keys, and no server key: an empty ring (nothing is encrypted).
    let good = "partners:\n  - {id: acme, engagement: leads_only, keys: [keys/ops.key]}\n"
    #expect(try dir.ring(good).get() == KeyRing())
    #expect(!ConfigFile.summary(try ConfigLoader.load(yaml: good), path: "c.yaml").contains("security"))
    // What curve would refuse is refused all the same: a missing file, a malformed key, a
    // published test key, each where it is written.
    let yaml = """
        security:
          server_key: missing.key_secret
          clients: [{id: ops, role: operator, keys: [missing.key]}]
        partners:
          - {id: acme, engagement: leads_only, keys: ["not-a-z85-key!!"]}
          - {id: beta, engagement: leads_only, keys: ["Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"]}

        """
    let problems = try dir.problems(yaml)
    #expect(problems.map(\.path) == ["security.server_key", "security.clients[0].keys[0]", "partners[0].keys[0]", "partners[1].keys[0]"],
            "\(problems)")
    #expect(problems.map(\.line) == [2, 3, 5, 6], "\(problems)")
    #expect(problems[2].message.contains("does not exist") && problems[3].message.contains("published test client public key"), "\(problems)")
}

@Test func aSecretCertificateGroupOrOthersCanReadIsRefused() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    let secret = dir.path + "/keys/server.key_secret"
    for mode in [0o640, 0o604, 0o620] {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: secret)
        expectOne(try dir.problems(curve() + "    []\n"), path: "security.server_key", line: 3,
                  mentions: [secret, "group or others", String(mode, radix: 8), "chmod 600 \(secret)"])
    }
}

@Test func aPublicCertificateIsNotAServerKey() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    expectOne(try dir.problems(curve(serverKey: "keys/server.key") + "    []\n"), path: "security.server_key", line: 3,
              mentions: ["public certificate", "no secret-key", "key_secret"])
}

@Test func aDamagedSecretCertificateIsRefused() throws {
    let dir = try KeyDirectory()
    let server = try CurveKeyPair.generate(), other = try CurveKeyPair.generate()
    try dir.write("keys/server.key_secret", CurveCertificate(publicKey: other.publicKey.z85, secretKey: server.secretKey.z85)
        .fileText(), mode: 0o600)
    expectOne(try dir.problems(curve() + "    []\n"), path: "security.server_key", line: 3, mentions: ["not a pair"])
}

@Test(arguments: [
    ("39 characters", String(repeating: "a", count: 39), "this has 39"),
    ("outside the alphabet", String(repeating: "a", count: 39) + ",", "outside Z85's alphabet"),
    ("above 2^32-1", String(repeating: "#", count: 40), "does not decode"),
])
func malformedZ85InACertificate(_ name: String, _ key: String, _ mention: String) throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    try dir.write("keys/bad.key", "curve\n    public-key = \"\(key)\"\n")
    let yaml = curve() + "    - id: ops\n      role: operator\n      keys: [keys/bad.key]\n"
    expectOne(try dir.problems(yaml), path: "security.clients[0].keys[0]", line: 7,
              mentions: ["the public-key of \(dir.path)/keys/bad.key is not a CURVE key", mention])
}

@Test func aMalformedZ85StringInTheConfigIsNeitherKeyNorFile() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    let yaml = curve() + "    - {id: ops, role: operator, keys: [\"\(String(repeating: "x", count: 39))\"]}\n"
    expectOne(try dir.problems(yaml), path: "security.clients[0].keys[0]", line: 5,
              mentions: ["neither a Z85 key", "this has 39", "does not exist"])
    let undecodable = curve() + "    - {id: ops, role: operator, keys: [\"\(String(repeating: "#", count: 40))\"]}\n"
    expectOne(try dir.problems(undecodable), path: "security.clients[0].keys[0]", line: 5,
              mentions: ["the key is not a CURVE key", "does not decode"])
}

@Test func aKeyListedUnderTwoPrincipalsNamesBoth() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    let shared = try dir.pair("shared")
    let yaml = curve() + """
            - {id: ops, role: operator, keys: ["\(shared.publicKey.z85)"]}
        partners:
          - id: acme
            engagement: leads_only
            keys: [keys/shared.key]
        """
    expectOne(try dir.problems(yaml), path: "partners[0].keys[0]", line: 9,
              mentions: ["the same public key as security.clients[0].keys[0] (line 5)"])
}

@Test func theSameFileTwiceUnderOnePrincipalIsRefusedToo() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    _ = try dir.pair("ops")
    let yaml = curve() + "    - {id: ops, role: operator, keys: [keys/ops.key, ./keys/ops.key]}\n"
    expectOne(try dir.problems(yaml), path: "security.clients[0].keys[1]", line: 5,
              mentions: ["the same public key as security.clients[0].keys[0] (line 5)"])
}

@Test func libzmqsPublishedTestKeysAreRefused() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    let clientPublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    let asClient = curve() + "    - {id: ops, role: operator, keys: [\"\(clientPublic)\"]}\n"
    expectOne(try dir.problems(asClient), path: "security.clients[0].keys[0]", line: 5,
              mentions: ["published test client public key", "leadctl keygen"])

    try dir.write("keys/test.key_secret", CurveCertificate(
        publicKey: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", secretKey: "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").fileText(),
        mode: 0o600)
    let problems = try dir.problems(curve(serverKey: "keys/test.key_secret") + "    []\n")
    #expect(problems.count == 1, "\(problems)")
    #expect(problems.first?.path == "security.server_key")
    #expect(problems.first?.message.contains("published test server public key") == true)

    let inline = curve(serverKey: "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6") + "    []\n"
    expectOne(try dir.problems(inline), path: "security.server_key", line: 3, mentions: ["published test server secret key"])
}

@Test func aMissingOrForeignFileIsNamed() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    try dir.write("keys/notes.key", "# just notes\nmetadata\n    public-key = \"not here\"\n")
    let yaml = curve() + "    - {id: ops, role: operator, keys: [keys/gone.key]}\n    - {id: web, role: source, keys: [keys/notes.key]}\n"
    let problems = try dir.problems(yaml)
    #expect(problems.count == 2, "\(problems)")
    #expect(problems.first?.path == "security.clients[0].keys[0]")
    #expect(problems.first?.line == 5)
    #expect(problems.first?.message.contains("cannot read the certificate \(dir.path)/keys/gone.key") == true)
    #expect(problems.first?.message.contains("config file's directory") == true)
    #expect(problems.last?.path == "security.clients[1].keys[0]")
    #expect(problems.last?.message.contains("is not a CURVE certificate: it has no public-key under curve") == true)
}

@Test func aZ85KeyWithASlashIsAKeyUnlessAFileHasThatName() throws {
    let dir = try KeyDirectory()
    _ = try dir.pair("server")
    var key = try CurveKeyPair.generate()
    while !key.publicKey.z85.contains("/") { key = try CurveKeyPair.generate() }
    let yaml = curve() + "    - {id: ops, role: operator, keys: [\"\(key.publicKey.z85)\"]}\n"
    #expect(try dir.ring(yaml).get().principals == [key.publicKey.z85: .client("ops", .operator)])

    // Keys that look like paths (one generated key in 85 starts with `/`) are keys when no
    // such file exists.
    let tail = String(key.publicKey.z85.dropFirst(5))
    for text in ["/0000" + tail, "./000" + tail, "../00" + tail, String(tail.prefix(35)) + "0.key"] {
        let lookalike = curve() + "    - {id: ops, role: operator, keys: [\"\(text)\"]}\n"
        #expect(try dir.ring(lookalike).get().principals == [text: .client("ops", .operator)], "\(text)")
    }

    // A relative path of 40 characters of Z85's alphabet that names a certificate is read as one.
    let other = try CurveKeyPair.generate()
    let name = "keys/" + String(repeating: "p", count: 35)
    try dir.write(name, CurveCertificate(publicKey: other.publicKey.z85).fileText())
    let byFile = curve() + "    - {id: ops, role: operator, keys: [\"\(name)\"]}\n"
    #expect(try dir.ring(byFile).get().principals == [other.publicKey.z85: .client("ops", .operator)])
}

@Test func theDirectoryOfAConfigPath() {
    #expect(ConfigFile.directory(of: "leadrouter.yaml") == ".")
    #expect(ConfigFile.directory(of: "conf/leadrouter.yaml") == "conf")
    #expect(ConfigFile.directory(of: "/etc/leadrouter/leadrouter.yaml") == "/etc/leadrouter")
    #expect(ConfigFile.directory(of: "/leadrouter.yaml") == "/")
}
