import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Prometheus
import Synchronization
import Testing
import ZeroMQ

/// A daemon loop with CURVE on, over tcp on ports the kernel picks, and the keys of two
/// partners, a vendor-sales client, an operator and a lead source.
final class SecureLoop {
    let server: CurveKeyPair
    let keys: [String: CurveKeyPair]
    let harness: LoopHarness
    let directory: TemporaryDirectory
    let endpoints: [String: Any]

    static let principals: [String: Principal] = [
        "acme": .partner("acme"), "globex": .partner("globex"), "initech": .partner("initech"),
        "sales": .client("sales", .vendorSales),
        "ops": .client("ops", .operator), "web": .client("web", .source),
    ]

    init(metrics: RouterMetrics? = nil) throws {
        server = try CurveKeyPair.generate()
        var keys: [String: CurveKeyPair] = [:]
        var ring = KeyRing(serverSecretKey: server.secretKey.z85)
        for (name, principal) in SecureLoop.principals {
            let pair = try CurveKeyPair.generate()
            keys[name] = pair
            ring.principals[pair.publicKey.z85] = principal
        }
        self.keys = keys
        directory = try TemporaryDirectory()
        harness = try LoopHarness(store: MemoryRoutingStore(), keyRing: ring, stateDir: directory.path, metrics: metrics) { config in
            config.bindEveryEndpointOnLoopback()
            config.publish.heartbeatMilliseconds = 100
            config.rules.partners.append(Partner(id: "initech", engagement: .leadsOnly, territories: [Territory(country: "FR")]))
        }
        try harness.start()
        let data = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/endpoints.json"))
        endpoints = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func endpoint(_ name: String) -> String {
        name == "ingest" ? ((endpoints["ingest"] as? [String])?.first ?? "") : (endpoints[name] as? String ?? "")
    }

    /// A socket of `type` holding `name`'s key (or a fresh unknown one; or none: plaintext).
    func socket(_ type: SocketType, as name: String?, unknown: Bool = false, to endpointName: String) throws -> Socket {
        let socket = try Socket(harness.context, type: type)
        try socket.set(.linger, 0)
        if unknown {
            try socket.makeCurveClient(serverKey: server.publicKey, keyPair: try CurveKeyPair.generate())
        } else if let name, let pair = keys[name] {
            try socket.makeCurveClient(serverKey: server.publicKey, keyPair: pair)
        }
        try socket.connect(endpoint(endpointName))
        return socket
    }

    /// One request and its reply (a DEALER speaking as a REQ); `nil` when none came in time.
    /// One request and its reply's first frame (a replay header, or the whole reply).
    func ask(_ socket: Socket, _ body: String, timeout: Int = 3000) throws -> [String: Any]? {
        try socket.send([[], Array(body.utf8)])
        return try socket.receive(timeoutMilliseconds: timeout).map { json($0.dropFirst().first ?? []) }
    }

    /// Waits until the feed has taken `count` subscriptions (each is applied, or refused, as
    /// it is logged, before the loop publishes anything else): what a subscriber whose prefix
    /// matches no heartbeat cannot show otherwise.
    func waitForSubscriptions(_ count: Int, timeout: Double = 30) -> Bool {
        eventually(timeout) { harness.logs.all.filter { $0.message == "feed subscription" }.count >= count }
    }

    func stop() { _ = harness.stop() }
}

@Suite("CURVE: who may connect, subscribe, replay and act", .serialized)
struct SecurityLoopTests {
    @Test("each partner's subscription delivers only its own topic, whatever prefix it asks for")
    func feedIsolation() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        var subscribers: [String: Socket] = [:]
        for (name, prefix) in [("acme", ""), ("globex", "partner/"), ("sales", ""), ("ops", "")] {
            let sub = try secure.socket(.sub, as: name, to: "publish")
            try sub.subscribe(prefix)
            subscribers[name] = sub
        }
        // globex's prefix matches no heartbeat: the feed's log shows its subscription taken.
        #expect(secure.waitForSubscriptions(subscribers.count), "the feed never took every subscription")
        // The subscriptions are applied once each has a heartbeat of its own topic.
        for name in ["acme", "ops"] {
            #expect(try subscribers[name]!.receive(timeoutMilliseconds: 5000) != nil, "\(name) got no heartbeat")
        }
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        #expect(try secure.ask(intake, lead("s-1"))?["status"] as? String == "accepted")
        #expect(try secure.ask(intake, lead("s-2", country: "DE", region: nil))?["status"] as? String == "accepted")
        var seen: [String: Set<String>] = [:]
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            for (name, sub) in subscribers {
                while let frames = try sub.receive(timeoutMilliseconds: 10), let topic = frames.first {
                    seen[name, default: []].insert(String(decoding: topic, as: UTF8.self))
                }
            }
        }
        #expect(seen["acme"] == ["heartbeat/partner/acme/", "partner/acme/"], "\(seen)")
        // `partner/` covers its envelopes, not its heartbeats (those are under `heartbeat/`).
        #expect(seen["globex"] == ["partner/globex/"], "\(seen)")
        #expect(seen["sales"]?.allSatisfy { $0.hasSuffix("vendor-sales/") || $0.hasSuffix("outcomes/") } ?? true, "\(seen)")
        #expect(seen["ops"]?.isSuperset(of: ["partner/acme/", "partner/globex/"]) == true, "\(seen)")
    }

    @Test("a partner taking back one of two prefixes that both cover its topic still gets it through the other")
    func overlappingPrefixes() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let sub = try secure.socket(.sub, as: "acme", to: "publish")
        try sub.subscribe("")
        try sub.subscribe("partner/")
        #expect(secure.waitForSubscriptions(2), "the feed never took both subscriptions")
        try sub.unsubscribe("partner/")
        #expect(eventually { !secure.harness.logs.lines(containing: "feed unsubscription").isEmpty }, "the unsubscription never came")
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        #expect(try secure.ask(intake, lead("ov-1"))?["partner_id"] as? String == "acme")
        var topics: Set<String> = []
        let deadline = Date().addingTimeInterval(5)
        while !topics.contains("partner/acme/") && Date() < deadline {
            if let frames = try sub.receive(timeoutMilliseconds: 100), let topic = frames.first {
                topics.insert(String(decoding: topic, as: UTF8.self))
            }
        }
        #expect(topics.contains("partner/acme/"), "acme's own topic stopped with `partner/` taken back, `\"\"` still held: \(topics)")
    }

    @Test("replay and control answer a partner for its own topic and leads only")
    func replayAndControl() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        #expect(try secure.ask(intake, lead("s-3"))?["partner_id"] as? String == "acme")
        let replay = try secure.socket(.dealer, as: "acme", to: "replay")
        let own = try #require(try secure.ask(replay, #"{"topic": "partner/acme/", "from_seq": 1}"#))
        #expect(own["count"] as? Int == 1, "\(own)")
        let other = try #require(try secure.ask(replay, #"{"topic": "partner/globex/", "from_seq": 1}"#))
        #expect((other["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        let control = try secure.socket(.dealer, as: "acme", to: "control")
        let asOwn = try #require(try secure.ask(control, #"{"action": "status", "lead_id": "s-3"}"#))
        #expect(asOwn["state"] as? String == "accepted", "\(asOwn)")
        #expect(asOwn["partner_id"] as? String == "acme", "\(asOwn)")
        let asOther = try #require(try secure.ask(control, #"{"action": "status", "lead_id": "s-3", "partner_id": "globex"}"#))
        #expect((asOther["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        let globex = try secure.socket(.dealer, as: "globex", to: "control")
        let foreign = try #require(try secure.ask(globex, #"{"action": "status", "lead_id": "s-3"}"#))
        #expect((foreign["error"] as? [String: Any])?["code"] as? String == "not_found", "\(foreign)")
    }

    @Test("unknown keys, plaintext clients and keys on the wrong endpoint never get an answer")
    func refusedAtTheHandshake() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let unknown = try secure.socket(.dealer, as: nil, unknown: true, to: "intake")
        #expect(try secure.ask(unknown, lead("s-4"), timeout: 1000) == nil)
        let plaintext = try secure.socket(.dealer, as: nil, to: "intake")
        #expect(try secure.ask(plaintext, lead("s-5"), timeout: 1000) == nil)
        let partnerOnIntake = try secure.socket(.dealer, as: "acme", to: "intake")
        #expect(try secure.ask(partnerOnIntake, lead("s-6"), timeout: 1000) == nil)
        let sourceOnReplay = try secure.socket(.dealer, as: "web", to: "replay")
        #expect(try secure.ask(sourceOnReplay, #"{"topic": "partner/acme/", "from_seq": 1}"#, timeout: 1000) == nil)
        let sourceOnControl = try secure.socket(.dealer, as: "web", to: "control")
        #expect(try secure.ask(sourceOnControl, #"{"action": "status", "lead_id": "s-6"}"#, timeout: 1000) == nil)
        #expect(!secure.harness.logs.lines(containing: "connection refused at the handshake").isEmpty)
        // The source itself gets through.
        let source = try secure.socket(.dealer, as: "web", to: "intake")
        #expect(try secure.ask(source, lead("s-7"))?["status"] as? String == "accepted")
    }

    @Test("clients refused by libzmq before any key is seen (plaintext, another server key) are logged and counted")
    func refusedBeforeTheKey() throws {
        let registry = PrometheusCollectorRegistry()
        let secure = try SecureLoop(metrics: RouterMetrics(factory: RouterMetrics.prometheusFactory(registry), perPartner: false, partnerIDs: []))
        defer { secure.stop() }
        let plaintext = try secure.socket(.dealer, as: nil, to: "intake")
        _ = try? plaintext.send([[], Array(lead("s-8").utf8)], wait: false)
        let subscriber = try secure.socket(.sub, as: nil, to: "publish")
        try subscriber.subscribe("")
        let replayer = try secure.socket(.dealer, as: nil, to: "replay")
        _ = try? replayer.send([[], Array(#"{"topic": "partner/acme/", "from_seq": 1}"#.utf8)], wait: false)
        // A partner's own key, but another server's public key.
        let wrongServer = try Socket(secure.harness.context, type: .dealer)
        try wrongServer.set(.linger, 0)
        try wrongServer.makeCurveClient(serverKey: try CurveKeyPair.generate().publicKey, keyPair: secure.keys["acme"]!)
        try wrongServer.connect(secure.endpoint("control"))
        // Not waiting to send: a refused handshake leaves the DEALER no peer to queue for.
        _ = try? wrongServer.send([[], Array(#"{"action": "status", "lead_id": "s-8"}"#.utf8)], wait: false)

        func refusals(_ endpoint: String) -> [LogRecorder.Line] {
            secure.harness.logs.lines(containing: "connection refused at the handshake").filter { $0.metadata["endpoint"] == endpoint }
        }
        #expect(eventually { ["intake", "publish", "replay", "control"].allSatisfy { !refusals($0).isEmpty } },
                "\(secure.harness.logs.lines(containing: "refused"))")
        for endpoint in ["intake", "publish", "replay"] {
            let line = try #require(refusals(endpoint).first)
            #expect(line.metadata["reason"]?.contains("did not offer CURVE") == true, "\(line)")
            // The peer's address when libzmq's report came before the connection closed (it
            // names the connection's descriptor only); else "-".
            #expect(line.metadata["peer_address"] != nil && line.metadata["bound"] == secure.endpoint(endpoint), "\(line)")
            #expect(line.level == .warning)
        }
        #expect(refusals("control").first?.metadata["reason"]?.contains("another server public key") == true, "\(refusals("control"))")
        // Counted as the ZAP handler counts an unknown key.
        #expect(eventually { ["intake", "publish", "replay", "control"].allSatisfy {
            (Exposition(registry)[#"leadrouter_auth_failures_total{endpoint="\#($0)"}"#] ?? 0) >= 1
        } }, "\(Exposition(registry).text)")
        // Nothing of it reached the loop: no lead, no reply.
        #expect(try plaintext.receive(timeoutMilliseconds: 200) == nil && wrongServer.receive(timeoutMilliseconds: 200) == nil
                && replayer.receive(timeoutMilliseconds: 200) == nil)
        #expect(secure.harness.logs.lines(containing: "s-8").isEmpty)
    }
}

@Suite("CURVE under churn", .serialized)
struct SecurityChurnTests {
    @Test("subscribers come and go by the thousand while leads are published: nobody receives another partner's topic")
    func subscribeDisconnectChurn() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let stop = Atomic(false)
        let sent = Atomic(0)
        let context = secure.harness.context, endpoint = secure.endpoint("intake")
        let serverKey = secure.server.publicKey, keys = secure.keys["web"]!
        // Leads for both partners, as fast as intake answers, for as long as the churn lasts.
        let publisher = Thread {
            guard let source = try? Socket(context, type: .dealer) else { return }
            defer { source.close() }
            try? source.set(.linger, 0)
            try? source.makeCurveClient(serverKey: serverKey, keyPair: keys)
            try? source.connect(endpoint)
            var i = 0
            while !stop.load(ordering: .relaxed) {
                let body = i % 2 == 0 ? lead("churn-\(i)") : lead("churn-\(i)", country: "DE", region: nil)
                guard (try? source.send([[], Array(body.utf8)])) != nil,
                      (try? source.receive(timeoutMilliseconds: 5000)) != nil else { break }
                i += 1
                sent.store(i, ordering: .relaxed)
            }
        }
        publisher.start()
        defer { stop.store(true, ordering: .relaxed) }
        let prefixes = ["", "partner/", "partner/a", "partner/g", "heartbeat/", "p"]
        var delivered = 0
        var wrong: [String] = []
        for cycle in 0..<2000 {
            let name = cycle % 2 == 0 ? "acme" : "globex"
            let sub = try secure.socket(.sub, as: name, to: "publish")
            try sub.subscribe(prefixes[cycle % prefixes.count])
            // A few messages at most: the feed never pauses while leads flow.
            var taken = 0
            while taken < 20, let frames = try sub.receive(timeoutMilliseconds: cycle % 50 == 0 ? 200 : 2), let topic = frames.first {
                taken += 1
                delivered += 1
                let text = String(decoding: topic, as: UTF8.self)
                if text != "partner/\(name)/" && text != "heartbeat/partner/\(name)/" { wrong.append("\(name) got \(text)") }
            }
            sub.close()
        }
        stop.store(true, ordering: .relaxed)
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(delivered > 0, "no subscriber received anything: the test proved nothing")
        #expect(sent.load(ordering: .relaxed) > 100, "too few leads were published during the churn")
        let rebuilds = secure.harness.logs.lines(containing: "feed socket rebuilt").count
        print("churn: \(delivered) delivered, \(sent.load(ordering: .relaxed)) leads, \(rebuilds) feed rebuilds")
    }
}

@Suite("CURVE: every pair of partners on every endpoint", .serialized)
struct SecurityMatrixTests {
    static let partners = ["acme", "globex", "initech"]
    static let leads = ["acme": lead("m-acme"), "globex": lead("m-globex", country: "DE", region: nil),
                        "initech": lead("m-initech", country: "FR", region: nil)]

    @Test("feed: each partner, with every prefix, receives its own topic only")
    func feedMatrix() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        var subs: [(partner: String, prefix: String, socket: Socket)] = []
        for partner in Self.partners {
            let other = Self.partners.first { $0 != partner }!
            for prefix in ["", "partner/", "partner/\(partner)/", "partner/\(other)/", "heartbeat/", "heartbeat/partner/\(other)/", "p"] {
                let sub = try secure.socket(.sub, as: partner, to: "publish")
                try sub.subscribe(prefix)
                subs.append((partner, prefix, sub))
            }
        }
        // Every subscription taken (applied or refused) before the first lead: most of these
        // prefixes match no heartbeat, so only the feed's log can show it (a fixed pause could not).
        try #require(secure.waitForSubscriptions(subs.count), "the feed never took every subscription")
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        for partner in Self.partners {
            #expect(try secure.ask(intake, Self.leads[partner]!)?["partner_id"] as? String == partner)
        }
        for (partner, prefix, sub) in subs {
            var topics = Set<String>()
            // Heartbeats never stop: read for a while, not until silence.
            let until = Date().addingTimeInterval(0.3)
            while Date() < until, let frames = try sub.receive(timeoutMilliseconds: 50), let topic = frames.first {
                topics.insert(String(decoding: topic, as: UTF8.self))
            }
            let own: Set<String> = ["partner/\(partner)/", "heartbeat/partner/\(partner)/"]
            #expect(topics.isSubset(of: own), "\(partner) with \"\(prefix)\" got \(topics)")
            if "partner/\(partner)/".hasPrefix(prefix) {
                #expect(topics.contains("partner/\(partner)/"), "\(partner) with \"\(prefix)\" missed its own envelope")
            }
        }
    }

    @Test("replay and control: each partner reaches its own topic and leads, never another's")
    func replayAndControlMatrix() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        for partner in Self.partners { _ = try secure.ask(intake, Self.leads[partner]!) }
        for partner in Self.partners {
            let replay = try secure.socket(.dealer, as: partner, to: "replay")
            let control = try secure.socket(.dealer, as: partner, to: "control")
            for owner in Self.partners {
                let header = try #require(try secure.ask(replay, #"{"topic": "partner/\#(owner)/", "from_seq": 1}"#))
                let status = try #require(try secure.ask(control, #"{"action": "status", "lead_id": "m-\#(owner)"}"#))
                let named = try #require(try secure.ask(control, #"{"action": "status", "lead_id": "m-\#(owner)", "partner_id": "\#(owner)"}"#))
                if owner == partner {
                    #expect(header["count"] as? Int == 1, "\(partner) replaying its own: \(header)")
                    #expect(status["state"] as? String == "accepted", "\(status)")
                    #expect(named["state"] as? String == "accepted", "\(named)")
                } else {
                    #expect((header["error"] as? [String: Any])?["code"] as? String == "unauthorized", "\(partner) replaying \(owner): \(header)")
                    #expect((status["error"] as? [String: Any])?["code"] as? String == "not_found", "\(partner) on \(owner)'s lead: \(status)")
                    #expect((named["error"] as? [String: Any])?["code"] as? String == "unauthorized", "\(partner) as \(owner): \(named)")
                }
            }
        }
    }
}

extension RouterConfig {
    /// Every endpoint on TCP loopback, port 0 (CURVE needs TCP; `endpoints.json` says where).
    mutating func bindEveryEndpointOnLoopback() {
        let any = Endpoint(validating: "tcp://127.0.0.1:0")!
        daemon.ingest.bind = [any]
        daemon.intake.bind = any
        daemon.publish.bind = any
        daemon.replay.bind = any
        daemon.control.bind = any
    }
}
