import Foundation
import Testing
import ZeroMQ

/// Whether pyzmq is installed, for checking that it reads what `leadctl keygen` writes.
private let pyzmqInstalled: Bool = {
    (try? run("/usr/bin/env", ["python3", "-c", "import zmq.auth"], timeout: 30).status) == 0
}()

/// The `public-key` and `secret-key` of a certificate, read line by line (independently of
/// LeadRouterConfigFile's reader).
private func keys(inCertificate path: String) throws -> (public: String?, secret: String?) {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    func value(_ name: String) -> String? {
        let prefix = "    \(name) = \""
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count).dropLast()) }
    }
    return (value("public-key"), value("secret-key"))
}

private func mode(_ path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}

@Suite("CURVE keys: leadctl keygen, --check", .serialized, .timeLimit(.minutes(3)))
struct KeygenTests {
    @Test("keygen writes NAME.key (0644) and NAME.key_secret (0600), creating the directory; never overwrites")
    func keygen() throws {
        let dir = try TemporaryDirectory()
        let keyDir = dir.file("etc/leadrouter/keys")
        let made = try run(Binaries.path("leadctl"), ["keygen", "acme", "--dir", keyDir])
        #expect(made.status == 0, "\(made.stderr)")
        let publicPath = keyDir + "/acme.key", secretPath = keyDir + "/acme.key_secret"
        #expect(made.stdout.contains(publicPath) && made.stdout.contains(secretPath), "\(made.stdout)")
        #expect(try mode(publicPath) == 0o644)
        #expect(try mode(secretPath) == 0o600)

        let (publicKey, none) = try keys(inCertificate: publicPath)
        let (secretPublicKey, secretKey) = try keys(inCertificate: secretPath)
        #expect(none == nil)
        let printed = try #require(made.stdout.split(separator: "\n").first { $0.hasPrefix("public key: ") }?.dropFirst(12))
        #expect(publicKey == String(printed))
        #expect(secretPublicKey == publicKey)
        let secret = try CurveKey(z85: try #require(secretKey))
        #expect(try CurveKey.publicKey(of: secret).z85 == publicKey)
        for path in [publicPath, secretPath] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.hasPrefix("#   ****  Generated on ") && text.contains(" by leadctl  ****\n"))
            #expect(text.contains("\n\nmetadata\ncurve\n    public-key = \""))
        }

        let secretBefore = try String(contentsOfFile: secretPath, encoding: .utf8)
        let again = try run(Binaries.path("leadctl"), ["keygen", "acme", "--dir", keyDir])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"), "\(again.stderr)")
        #expect(try String(contentsOfFile: secretPath, encoding: .utf8) == secretBefore)
        let badName = try run(Binaries.path("leadctl"), ["keygen", "../acme", "--dir", keyDir])
        #expect(badName.status == 2)
    }

    @Test("pyzmq's zmq.auth.load_certificate reads what keygen wrote", .enabled(if: pyzmqInstalled, "pyzmq is not installed"))
    func pyzmqReadsKeygen() throws {
        let dir = try TemporaryDirectory()
        let made = try run(Binaries.path("leadctl"), ["keygen", "server", "--dir", dir.path])
        #expect(made.status == 0, "\(made.stderr)")
        let script = """
            import sys, zmq, zmq.auth
            public, none = zmq.auth.load_certificate(sys.argv[1] + ".key")
            assert none is None
            public2, secret = zmq.auth.load_certificate(sys.argv[1] + ".key_secret")
            assert public2 == public and zmq.curve_public(secret) == public
            print(public.decode())
            """
        let result = try run("/usr/bin/env", ["python3", "-c", script, dir.file("server")])
        #expect(result.status == 0, "\(result.stderr)")
        let printed = made.stdout.split(separator: "\n").first { $0.hasPrefix("public key: ") }?.dropFirst(12)
        #expect(result.stdout == "\(printed ?? "")\n")
    }

    @Test("--check with mode: curve reads the certificates: a summary with the keys, or each problem and exit 1")
    func checkCurve() throws {
        let dir = try TemporaryDirectory()
        for name in ["server", "acme", "ops"] {
            #expect(try run(Binaries.path("leadctl"), ["keygen", name, "--dir", dir.file("keys")]).status == 0)
        }
        let config = dir.file("leadrouter.yaml")
        func write(_ extra: String) throws {
            try """
                state_dir: \(dir.path)/state
                security:
                  mode: curve
                  server_key: keys/server.key_secret
                  clients:
                    - {id: ops, role: operator, keys: [keys/ops.key]}
                \(extra)
                partners:
                  - {id: acme, engagement: leads_only, keys: [keys/acme.key]}
                """.write(toFile: config, atomically: true, encoding: .utf8)
        }
        try write("")
        let ok = try run(Binaries.path("leadrouterd"), ["--config", config, "--check"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasSuffix("; security curve (2 keys)\n"), "\(ok.stdout)")

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.file("keys/server.key_secret"))
        try write("    - {id: web, role: source, keys: [\"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\", keys/acme.key]}")
        let failed = try run(Binaries.path("leadrouterd"), ["--config", config, "--check"])
        #expect(failed.status == 1)
        #expect(failed.stdout.isEmpty)
        let lines = failed.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(failed.stderr)")
        #expect(lines.first?.hasPrefix("\(config): security.server_key (line 4): ") == true, "\(lines)")
        #expect(lines.first?.contains("chmod 600 \(dir.path)/keys/server.key_secret") == true)
        #expect(lines.dropFirst().first?.hasPrefix("\(config): security.clients[1].keys[0] (line 7): ") == true, "\(lines)")
        #expect(lines.dropFirst().first?.contains("published test client public key") == true)
        #expect(lines.last?.hasPrefix("\(config): partners[0].keys[0] (line 9): ") == true, "\(lines)")
        #expect(lines.last?.contains("the same public key as security.clients[1].keys[1] (line 7)") == true)

        // Starting refuses the same config the same way, before binding anything.
        let start = try run(Binaries.path("leadrouterd"), ["--config", config])
        #expect(start.status == 1)
        #expect(start.stderr.split(separator: "\n").map(String.init) == lines)
    }
}
