import Foundation
@testable import LeadRouterService
import LeadRouterTesting
import LeadRouting
import Testing
import ZeroMQ

/// libzmq 4.3.4's XPUB queues a subscriber's *data* message (an XSUB may send any) in
/// `_pending_data` without an entry in `_pending_pipes`, so in XPUB_MANUAL mode every
/// `zmq_recv` after it sets `_last_pipe` to the pipe of a *later* subscription: the
/// subscription the feed then applies (``FeedEndpoint/takeSubscriptions()``) goes to
/// another subscriber's connection.
@Suite("CURVE: a subscriber's data frames cannot move another's subscription", .serialized)
struct FeedDataFrameTests {
    @Test("an XSUB partner that sends a data frame before subscribing never receives another partner's feed, and that partner keeps its own")
    func dataFrameStealsSubscription() throws {
        let context = try Context()
        let server = try CurveKeyPair.generate()
        let acme = try CurveKeyPair.generate(), globex = try CurveKeyPair.generate()
        let ring = KeyRing(serverSecretKey: server.secretKey.z85, principals: [
            acme.publicKey.z85: .partner("acme"), globex.publicKey.z85: .partner("globex"),
        ])
        let logs = LogRecorder()
        let zap = ZAPServer(keys: LiveKeys(ring), logger: logs.logger())
        try zap.start(context: context)
        defer { zap.stop() }
        // The feed socket exactly as DaemonSockets makes it with CURVE on.
        let make = { () throws -> Socket in
            let socket = try Socket(context, type: .xpub)
            try socket.makeCurveServer(secretKey: server.secretKey, zapDomain: Grants.Endpoint.publish.rawValue)
            try socket.set(.xpubManual, 1)
            try socket.set(.linger, 0)
            return socket
        }
        let xpub = try make()
        try xpub.bind("tcp://127.0.0.1:0")
        let endpoint = try xpub.lastEndpoint
        let feed = FeedEndpoint(socket: xpub, logger: logs.logger(), manual: true, endpoint: endpoint, make: make)
        defer { feed.socket.close() }

        // globex (the attacker) connects with an XSUB and sends one data frame.
        let attacker = try Socket(context, type: .xsub)
        try attacker.set(.linger, 0)
        try attacker.makeCurveClient(serverKey: server.publicKey, keyPair: globex)
        try attacker.connect(endpoint)
        defer { attacker.close() }
        try attacker.send(Array("x".utf8))
        Thread.sleep(forTimeInterval: 0.5)
        _ = try feed.socket.events          // the daemon's zmq_poll: the data frame is queued
        // acme (the victim) subscribes as any subscriber does.
        let victim = try Socket(context, type: .sub)
        try victim.set(.linger, 0)
        try victim.makeCurveClient(serverKey: server.publicKey, keyPair: acme)
        try victim.subscribe("partner/acme/")
        try victim.connect(endpoint)
        defer { victim.close() }
        Thread.sleep(forTimeInterval: 0.5)
        _ = try feed.socket.events
        // The attacker subscribes to its own topic, which it may.
        try attacker.send([UInt8(1)] + Array("partner/globex/".utf8))
        Thread.sleep(forTimeInterval: 0.5)
        _ = try feed.socket.events
        feed.takeSubscriptions()
        // Whatever the feed did about it (a rebuild: subscribers reconnect), let it settle.
        for _ in 0..<40 {
            // (Subscribers resend their subscriptions after a reconnect when their own socket is used.)
            _ = try victim.events
            _ = try attacker.events
            _ = try feed.socket.events
            feed.takeSubscriptions()
            Thread.sleep(forTimeInterval: 0.05)
        }

        for _ in 0..<5 {
            feed.publish(OutgoingMessage(topic: "partner/acme/", seq: 1, envelope: SharedBytes(Array(#"{"secret":"acme"}"#.utf8))))
            Thread.sleep(forTimeInterval: 0.05)
        }
        var stolen: [String] = []
        while let frames = try attacker.receive(timeoutMilliseconds: 300) {
            stolen.append(String(decoding: frames.first ?? [], as: UTF8.self))
        }
        // The scenario happened: the feed read the attacker's data frame (else the test proves nothing).
        #expect(feed.refusedSubscriptions >= 1 && !logs.lines(containing: "sent a data frame").isEmpty, "the data frame never reached the feed")
        #expect(stolen.isEmpty, "globex received acme's feed: \(stolen)")
        #expect(try victim.receive(timeoutMilliseconds: 300) != nil, "acme lost its own subscription")
    }
}

@Suite("CURVE: a reload that changes the server's key", .serialized, .timeLimit(.minutes(2)))
struct ServerKeyReloadTests {
    @Test("a new secret in the same server_key file is refused as needing a restart, not reported as reloaded while the old key stays in use")
    func serverKeyRotationIsNotSilentlyIgnored() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        // The operator replaced the (leaked) server certificate at the same path and sent SIGHUP:
        // the config text is unchanged, the key ring read from the files has a new server key.
        let rotated = try CurveKeyPair.generate()
        var ring = KeyRing(serverSecretKey: rotated.secretKey.z85)
        for (name, pair) in secure.keys { ring.principals[pair.publicKey.z85] = SecureLoop.principals[name] }
        let line = try secure.harness.reload(keyRing: ring) { _ in }
        // Every socket still uses the old key: clients holding only the old server public key still get in.
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        #expect(try secure.ask(intake, lead("k-1"))?["status"] as? String == "accepted")
        #expect(line.message.hasPrefix("config not reloaded"), "the reload reported \(line.message) \(line.metadata) though the new server key is not in use")
    }
}
