import Foundation
import Testing

/// Whether pyzmq is installed, to run the README's partner client.
private let pyzmqInstalled: Bool = {
    (try? run("/usr/bin/env", ["python3", "-c", "import zmq"], timeout: 30).status) == 0
}()

/// A daemon with `security.mode: curve`, partners acme (US) and globex (DE) working offers,
/// a lead source `web` and an operator `ops`; their certificates written by `leadctl keygen`
/// into the daemon's directory, under `keys/` (the config names them relative to itself).
final class CurveDaemon {
    let daemon: Daemon

    init() throws {
        let partners = """
            partners:
              - {id: acme, engagement: leads_only, territories: [{country: US}], keys: [keys/acme.key]}
              - {id: globex, engagement: leads_only, territories: [{country: DE}], keys: [keys/globex.key]}
            """
        let security = """
            security:
              mode: curve
              server_key: keys/server.key_secret
              clients:
                - {id: web, role: source, keys: [keys/web.key]}
                - {id: ops, role: operator, keys: [keys/ops.key]}
            """
        daemon = try Daemon(partnersYAML: partners, extraYAML: security + "\n" + offersYAML(acceptWithin: "1h"),
                            start: false, withControl: true)
        for name in ["server", "acme", "globex", "web", "ops"] {
            let made = try run(Binaries.path("leadctl"), ["keygen", name, "--dir", daemon.directory.file("keys")])
            try #require(made.status == 0, "\(made.stderr)")
        }
        try daemon.start()
        try daemon.waitUntilReady()
    }

    /// A secret certificate's path.
    func key(_ name: String) -> String { daemon.directory.file("keys/\(name).key_secret") }

    /// `--server-key` (the server's public certificate) and `--key` of `name`.
    func curveArguments(_ name: String) -> [String] {
        ["--server-key", daemon.directory.file("keys/server.key"), "--key", key(name)]
    }

    /// `leadctl publish --reliable` of `leads` to intake, as `web`.
    func publish(_ leads: [String]) throws -> RunResult {
        let file = daemon.directory.file("leads-\(UUID().uuidString.prefix(6)).jsonl")
        try (leads.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        // --timeout past a slow log sync's reply (the default 2.5 s is not, on a busy disk).
        return try run(Binaries.path("leadctl"), ["publish", "--reliable", "--timeout", "10", "--endpoint", daemon.intake, file] + curveArguments("web"))
    }

    /// `leadctl status LEAD` as `name`, with more arguments.
    func status(_ leadID: String, as name: String, _ more: [String] = []) throws -> (status: Int32, reply: [String: Any]) {
        let result = try run(Binaries.path("leadctl"), ["status", leadID, "--endpoint", daemon.control] + curveArguments(name) + more)
        return (result.status, jsonObject(Array(result.stdout.utf8)))
    }
}

private func isHeartbeat(_ line: Substring) -> Bool { line.contains(#""type":"heartbeat""#) }

@Suite("CURVE end to end: leadctl and pyzmq clients with keys", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct CurveClientTests {
    @Test("leadctl with keys: publish --reliable as a source; tail (also --recover) and status see only the partner's own leads")
    func leadctlWithKeys() throws {
        let curve = try CurveDaemon()
        let daemon = curve.daemon
        let tail = try Spawned(Binaries.path("leadctl"), ["tail", "--endpoint", daemon.publish, "--topic", "partner/", "--heartbeats"]
                               + curve.curveArguments("acme"))
        try #require(tail.waitForLines { $0.contains(where: isHeartbeat) }, "no heartbeat from tail: \(tail.stdout) \(tail.stderr)")
        // acme's leads first and last: when the last arrives, globex's have been published too.
        let published = try curve.publish([lead("k-1", country: "US"), lead("k-2", country: "DE"), lead("k-3", country: "DE"),
                                           lead("k-4", country: "US")])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stderr.contains("4 accepted"), "\(published.stderr)")
        // k-4 is the sentinel: published last, so once it is printed nothing of globex's can follow.
        let seen = tail.waitForLines { $0.contains { $0.contains(#""lead_id":"k-4""#) } }
        tail.signal(SIGKILL)
        let result = try tail.finish(timeout: 30)
        #expect(seen, "\(result.stdout) \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        let envelopes = lines.filter { !isHeartbeat($0) }.map { jsonObject(Array($0.utf8)) }
        #expect(envelopes.map { $0["lead_id"] as? String } == ["k-1", "k-4"], "\(lines)")
        #expect(envelopes.allSatisfy { $0["topic"] as? String == "partner/acme/" }, "\(lines)")
        #expect(lines.filter(isHeartbeat).allSatisfy { $0.contains(#""topic":"partner/acme/""#) }, "\(lines)")

        // --recover takes the same keys for its replay connection: acme's two, from replay.
        let recovered = try run(Binaries.path("leadctl"), ["tail", "--recover", "--endpoint", daemon.publish, "--replay-endpoint", daemon.replay,
                                                           "--state", daemon.directory.file("acme.state"), "--topic", "partner/acme/",
                                                           "--count", "2", "--idle-timeout", "10"] + curve.curveArguments("acme"))
        #expect(recovered.status == 0, "\(recovered.stderr)")
        let replayed = recovered.stdout.split(separator: "\n").map { jsonObject(Array($0.utf8))["lead_id"] as? String }
        #expect(replayed == ["k-1", "k-4"], "\(recovered.stdout) \(recovered.stderr)")

        let own = try curve.status("k-1", as: "acme")
        #expect(own.status == 0 && own.reply["status"] as? String == "ok", "\(own.reply)")
        #expect(own.reply["partner_id"] as? String == "acme", "\(own.reply)")
        let foreign = try curve.status("k-2", as: "acme")
        #expect(foreign.status == 1 && errorCode(foreign.reply) == "not_found", "\(foreign.reply)")
        let posing = try curve.status("k-2", as: "acme", ["--partner", "globex"])
        #expect(posing.status == 1 && errorCode(posing.reply) == "unauthorized", "\(posing.reply)")
        #expect(daemon.terminate() == 0)
    }

    @Test("a plaintext client, or one with an unknown key, gets no answer; the unknown key is logged at the handshake")
    func strangersRefused() throws {
        let curve = try CurveDaemon()
        let file = curve.daemon.directory.file("plain.jsonl")
        try (lead("p-1", country: "US") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let publish = [Binaries.path("leadctl"), "publish", "--reliable", "--endpoint", curve.daemon.intake, "--timeout", "0.5", "--retries", "2", file]
        let plain = try run(publish[0], Array(publish.dropFirst()))
        #expect(plain.status == 1)
        #expect(plain.stderr.contains("no reply from \(curve.daemon.intake)"), "\(plain.stderr)")
        // libzmq ends a plaintext client's handshake itself (a mechanism mismatch, no ZAP
        // request), so only a CURVE client with a key the config lacks reaches the log.
        #expect(try run(Binaries.path("leadctl"), ["keygen", "stranger", "--dir", curve.daemon.directory.file("other")]).status == 0)
        let stranger = try run(publish[0], Array(publish.dropFirst()) + ["--server-key", curve.daemon.directory.file("keys/server.key"),
                                                                         "--key", curve.daemon.directory.file("other/stranger.key_secret")])
        #expect(stranger.status == 1, "\(stranger.stderr)")
        #expect(curve.daemon.waitForLog("connection refused at the handshake"), "\(curve.daemon.log.suffix(2000))")
        #expect(curve.daemon.log.contains("unknown key"), "\(curve.daemon.log.suffix(2000))")
        #expect(curve.daemon.terminate() == 0)
    }

    @Test("leadctl refuses keys given by halves (exit 2) and unreadable key files (exit 1, naming the file)")
    func keyOptionErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(try run(Binaries.path("leadctl"), ["keygen", "acme", "--dir", dir.path]).status == 0)
        let endpoint = ["--endpoint", "tcp://127.0.0.1:9"]
        let half = try run(Binaries.path("leadctl"), ["tail"] + endpoint + ["--key", dir.file("acme.key_secret")])
        #expect(half.status == 2 && half.stderr.contains("--server-key and --key go together"), "\(half.stderr)")
        let noPartner = try run(Binaries.path("leadctl"), ["accept", "L-1"] + endpoint)
        #expect(noPartner.status == 2, "\(noPartner.stderr)")
        let missing = dir.file("missing.key")
        let unreadable = try run(Binaries.path("leadctl"), ["status", "L-1"] + endpoint
                                 + ["--server-key", missing, "--key", dir.file("acme.key_secret")])
        #expect(unreadable.status == 1 && unreadable.stderr.contains("\(missing): No such file or directory"), "\(unreadable.stderr)")
        let publicOnly = try run(Binaries.path("leadctl"), ["publish", "--reliable"] + endpoint
                                 + ["--server-key", dir.file("acme.key"), "--key", dir.file("acme.key"), "/dev/null"])
        #expect(publicOnly.status == 1 && publicOnly.stderr.contains("\(dir.file("acme.key")): a public certificate"), "\(publicOnly.stderr)")
    }

    @Test("the README's pyzmq partner client follows its topic and accepts its offer under CURVE",
          .enabled(if: pyzmqInstalled, "pyzmq is not installed: python3 -c \"import zmq\" failed"))
    func pyzmqPartner() throws {
        let curve = try CurveDaemon()
        let daemon = curve.daemon
        let script = repositoryRoot.appendingPathComponent("docs/examples/curve_partner.py").path
        let partner = try Spawned("/usr/bin/env", ["python3", script, daemon.publish, daemon.control,
                                                   daemon.directory.file("keys/server.key"), curve.key("acme"), "acme"])
        try #require(partner.waitForLines { $0.contains { $0.hasPrefix("heartbeat partner/acme/") } },
                     "no heartbeat: \(partner.stdout) \(partner.stderr)")
        let published = try curve.publish([lead("py-1", country: "DE"), lead("py-2", country: "US")])
        #expect(published.status == 0, "\(published.stderr)")
        let result = try partner.finish(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        let reply = jsonObject(Array((result.stdout.split(separator: "\n").last { !$0.hasPrefix("heartbeat") } ?? "").utf8))
        #expect(reply["status"] as? String == "ok", "\(result.stdout)")
        #expect(reply["lead_id"] as? String == "py-2" && reply["state"] as? String == "accepted", "\(reply)")
        let status = try curve.status("py-2", as: "acme")
        #expect(status.reply["state"] as? String == "accepted", "\(status.reply)")
        #expect(daemon.terminate() == 0)
    }
}

/// The repository's root directory.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
