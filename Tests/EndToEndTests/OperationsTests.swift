import Foundation
import Testing
import ZeroMQ

@Suite("Operations: systemd, leadctl, other ZeroMQ bindings", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct OperationsTests {
    @Test("READY=1 arrives on NOTIFY_SOCKET, then WATCHDOG=1 at half of WATCHDOG_USEC, and STOPPING=1 on SIGTERM")
    func systemdNotify() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, environment: ["WATCHDOG_USEC": "400000"])
        try daemon.waitUntilReady()
        // Bound on port 0: the ready line and endpoints.json name the ports the kernel chose.
        let ready = try #require(daemon.log.split(separator: "\n").first { $0.contains("leadrouterd ready") })
        for endpoint in [daemon.ingest, daemon.intake, daemon.publish, daemon.replay] {
            #expect(!endpoint.hasSuffix(":0") && endpoint.hasPrefix("tcp://127.0.0.1:"), "\(endpoint)")
            #expect(ready.contains(endpoint), "\(ready)")
        }
        #expect(Set([daemon.ingest, daemon.intake, daemon.publish, daemon.replay]).count == 4)
        let (watchdog, seen) = daemon.notify.waitFor("WATCHDOG=1", timeout: 30)
        #expect(watchdog, "saw \(seen)")
        #expect(daemon.terminate() == 0)
        #expect(daemon.notify.waitFor("STOPPING=1", timeout: 30).found)
    }

    @Test("the systemd unit passes systemd-analyze verify once the binary is where ExecStart says",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func unitVerifies() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let unit = try String(contentsOf: root.appendingPathComponent("systemd/leadrouterd.service"), encoding: .utf8)
        #expect(unit.contains("Type=notify"))
        #expect(unit.contains("WatchdogSec="))
        #expect(unit.contains("StateDirectory=leadrouter"))
        let dir = try TemporaryDirectory()
        let placed = unit.replacingOccurrences(of: "/usr/local/bin/leadrouterd", with: Binaries.path("leadrouterd"))
        try placed.write(toFile: dir.file("leadrouterd.service"), atomically: true, encoding: .utf8)
        let result = try run("/usr/bin/systemd-analyze", ["verify", dir.file("leadrouterd.service")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test("leadctl publish and leadctl tail carry leads through the daemon, one JSON line a message")
    func leadctlRoundTrip() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        // With --heartbeats, the first heartbeat line shows tail's subscription is live.
        let tail = try Spawned(Binaries.path("leadctl"), ["tail", "--endpoint", daemon.publish, "--topic", "partner/acme/",
                                                          "--topic", "vendor-sales/", "--heartbeats"])
        func isHeartbeat(_ line: Substring) -> Bool { line.hasPrefix(#"{"type":"heartbeat""#) || line.contains(#""type":"heartbeat""#) }
        try #require(tail.waitForLines { $0.contains(where: isHeartbeat) }, "no heartbeat line from tail: \(tail.stdout) \(tail.stderr)")
        let file = daemon.directory.file("leads.jsonl")
        let leads = [
            lead("ctl-1", country: "US", region: "CO"),
            lead("ctl-2", country: "DE"),
            lead("ctl-3", country: "FR"),
            lead("ctl-4", country: "US", region: "NY"),  // partner/acme-east/ and vendor-sales/ (co_seller)
        ]
        try (leads.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let publish = try run(Binaries.path("leadctl"), ["publish", "--endpoint", daemon.ingest, file])
        #expect(publish.status == 0, "\(publish.stderr)")
        #expect(publish.stderr.contains("published 4 lead(s)"))
        let envelopesSeen = tail.waitForLines { $0.filter { !isHeartbeat($0) }.count >= 4 }
        // SIGKILL: the test runner may leave SIGTERM ignored in its children.
        tail.signal(SIGKILL)
        let result = try tail.finish(timeout: 30)
        #expect(envelopesSeen, "\(result.stdout) \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").filter { !isHeartbeat($0) }
        let envelopes = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(envelopes.count == lines.count, "not one JSON object a line: \(lines)")
        #expect(envelopes.map { $0["topic"] as? String } == ["partner/acme/", "vendor-sales/", "vendor-sales/", "vendor-sales/"])
        #expect(envelopes.map { $0["lead_id"] as? String } == ["ctl-1", "ctl-2", "ctl-3", "ctl-4"])
        #expect(envelopes.map { $0["role"] as? String } == ["owner", "closer", "direct", "co_seller"])
        #expect(daemon.terminate() == 0)
    }

    @Test("leadctl tail --count N exits 0 after N messages")
    func leadctlTailCount() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        // Heartbeats are messages too: two arrive on an idle feed, and tail exits by itself.
        let tail = try run(Binaries.path("leadctl"), ["tail", "--endpoint", daemon.publish, "--topic", "nurture/",
                                                      "--heartbeats", "--count", "2"], timeout: 60)
        #expect(tail.status == 0 && tail.exited, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { jsonObject(Array($0.utf8))["topic"] as? String == "nurture/" }, "\(lines)")
        #expect(daemon.terminate() == 0)
    }

    @Test("leadctl publish says clearly when nothing listens at the endpoint")
    func leadctlNoDaemon() throws {
        // An ipc path that nothing binds: nothing listens there, and no other process can take it.
        let directory = try TemporaryDirectory()
        let endpoint = "ipc://" + directory.file("nobody.sock")
        let result = try run(Binaries.path("leadctl"), ["publish", "--endpoint", endpoint, "--wait", "0.5"], input: lead("x", country: "US") + "\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("no subscriber"))
        let usage = try run(Binaries.path("leadctl"), ["tail"])
        #expect(usage.status == 2)
        let bare = try run(Binaries.path("leadctl"), [])
        #expect(bare.status == 2 && bare.stderr.contains("a subcommand is required") && bare.stderr.contains("leadctl --help"), "\(bare.stderr)")
        #expect(try run(Binaries.path("leadctl"), ["--help"]).status == 0)
    }

    @Test("leadctl publish --reliable matches replies by lead_id: leads a restarted daemon never answered are sent again")
    func reliableRepliesMatchedByLeadID() throws {
        // A stand-in for intake that behaves as a daemon restarted under a connected client:
        // of the three leads in flight, only the last is answered (the old process took the
        // first two with it); the rest must come again after the timeout.
        let context = try Context()
        let intake = try Socket(context, type: .router)
        try intake.set(.linger, 0)
        try intake.bind("tcp://127.0.0.1:*")
        let endpoint = try intake.lastEndpoint
        let directory = try TemporaryDirectory()
        let file = directory.file("leads.jsonl")
        try ["rel-a", "rel-b", "rel-c"].map { lead($0, country: "US") }.joined(separator: "\n").appending("\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let client = try Spawned(Binaries.path("leadctl"), ["publish", "--reliable", "--endpoint", endpoint, "--timeout", "1",
                                                            "--retries", "5", "--window", "3", file])

        func leadID(_ frames: [[UInt8]]) -> String { jsonObject(frames.last ?? [])["lead_id"] as? String ?? "?" }
        func answer(_ frames: [[UInt8]]) throws {
            let reply = #"{"status":"accepted","lead_id":"\#(leadID(frames))"}"#
            try intake.send([frames[0], [], Array(reply.utf8)])
        }
        var firstRound: [[[UInt8]]] = []
        while firstRound.count < 3, let frames = try intake.receive(timeoutMilliseconds: 10_000) { firstRound.append(frames) }
        #expect(firstRound.map(leadID) == ["rel-a", "rel-b", "rel-c"])
        if let last = firstRound.last { try answer(last) }
        var resent: [String] = []
        while resent.count < 2, let frames = try intake.receive(timeoutMilliseconds: 10_000) {
            resent.append(leadID(frames))
            try answer(frames)
        }
        #expect(resent == ["rel-a", "rel-b"], "the unanswered leads were not sent again")
        let result = try client.finish()
        #expect(result.status == 0 && result.exited, "\(result.stderr)")
        intake.close()
        context.shutdown()
    }

    @Test("a pyzmq lead source and pyzmq subscriber talk to the daemon as any ZeroMQ binding would")
    func pyzmq() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        let script = """
            import json, sys, time, zmq
            ingest, feed = sys.argv[1], sys.argv[2]
            ctx = zmq.Context()
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt_string(zmq.SUBSCRIBE, "partner/globex/")
            sub.setsockopt_string(zmq.SUBSCRIBE, "vendor-sales/")
            sub.setsockopt_string(zmq.SUBSCRIBE, "rejected/")
            sub.connect(feed)
            pub = ctx.socket(zmq.XPUB)   # XPUB: learn when the daemon's subscription has arrived
            pub.connect(ingest)
            assert pub.recv()[0] == 1
            # Probe until our own subscription to the feed is live too.
            sub.RCVTIMEO = 100
            while True:
                pub.send_multipart([b"lead", b"probe"])
                try:
                    topic, body = sub.recv_multipart()
                    if topic == b"rejected/": break
                except zmq.Again:
                    pass
            # A last probe: the feed keeps order, so once it arrives no earlier probe can follow.
            pub.send_multipart([b"lead", b"last probe"])
            sub.RCVTIMEO = 10000
            while True:
                topic, body = sub.recv_multipart()
                if topic == b"rejected/" and json.loads(body)["input"] == "last probe": break
            lead = {"lead_id": "py-1", "company": {"name": "Berlin GmbH", "country": "DE", "employees": 40},
                    "products": ["firewall"], "x_custom": {"nested": [1, 2]}}
            pub.send_multipart([b"lead", json.dumps(lead).encode()])
            sub.RCVTIMEO = 10000
            for _ in range(2):
                topic, body = sub.recv_multipart()
                env = json.loads(body)
                assert env["topic"] == topic.decode(), env
                assert env["lead"] == lead, env
                print(topic.decode(), env["role"], env["partner_id"], env["seq"])
            """
        try script.write(toFile: daemon.directory.file("client.py"), atomically: true, encoding: .utf8)
        let result = try run("/usr/bin/env", ["python3", daemon.directory.file("client.py"), daemon.ingest, daemon.publish])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "partner/globex/ relationship_owner globex 1\nvendor-sales/ closer globex 1\n")
        #expect(daemon.terminate() == 0)
    }
}
