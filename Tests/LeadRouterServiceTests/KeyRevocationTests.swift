import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Testing
import ZeroMQ

@Suite("CURVE: a reload that revokes keys", .serialized, .timeLimit(.minutes(2)))
struct KeyRevocationTests {
    /// The ring the loop started with, `name`'s key replaced by `replacement` (or removed).
    func ring(_ secure: SecureLoop, replacing name: String, with replacement: CurveKeyPair?) -> KeyRing {
        var ring = KeyRing(serverSecretKey: secure.server.secretKey.z85)
        for (holder, pair) in secure.keys where holder != name {
            ring.principals[pair.publicKey.z85] = SecureLoop.principals[holder]
        }
        if let replacement { ring.principals[replacement.publicKey.z85] = SecureLoop.principals[name] }
        return ring
    }

    /// Whether `socket` receives anything within `milliseconds`.
    func hears(_ socket: Socket, within milliseconds: Int) throws -> Bool {
        try socket.receive(timeoutMilliseconds: milliseconds) != nil
    }

    @Test("a rotated-out key stops at once: control and replay answer unauthorized, the feed drops it; the new key works")
    func rotatedKeyStops() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let feed = try secure.socket(.sub, as: "acme", to: "publish")
        try feed.subscribe("")
        #expect(try hears(feed, within: 5000), "no heartbeat before the reload")
        let control = try secure.socket(.dealer, as: "acme", to: "control")
        let replay = try secure.socket(.dealer, as: "acme", to: "replay")
        let statusRequest = #"{"action": "status", "lead_id": "nope"}"#
        #expect((try secure.ask(control, statusRequest)?["error"] as? [String: Any])?["code"] as? String == "not_found")
        #expect(try secure.ask(replay, #"{"topic": "partner/acme/", "from_seq": 1}"#)?["count"] != nil)

        let newKey = try CurveKeyPair.generate()
        let line = try secure.harness.reload(keyRing: ring(secure, replacing: "acme", with: newKey)) { _ in }
        #expect(line.metadata["keys_revoked"] == "1", "\(line)")
        #expect(!secure.harness.logs.lines(containing: "feed socket rebuilt: keys were revoked").isEmpty)

        let refused = try secure.ask(control, #"{"request_id": "r-revoked", "action": "status", "lead_id": "nope"}"#)
        #expect((refused?["error"] as? [String: Any])?["code"] as? String == "unauthorized", "\(refused ?? [:])")
        // Refused before the request is read, it still echoes what the request named.
        #expect(refused?["request_id"] as? String == "r-revoked" && refused?["lead_id"] as? String == "nope", "\(refused ?? [:])")
        let replayRefused = try secure.ask(replay, #"{"topic": "partner/acme/", "from_seq": 1}"#)
        #expect(replayRefused?["code"] as? String == "unauthorized" || (replayRefused?["error"] as? [String: Any])?["code"] as? String == "unauthorized",
                "\(replayRefused ?? [:])")
        // The old subscriber reconnects to the rebuilt feed and is refused at the handshake.
        while try feed.receive(timeoutMilliseconds: 0) != nil {}
        #expect(try !hears(feed, within: 1500), "the revoked key still receives the feed")

        let fresh = try Socket(secure.harness.context, type: .sub)
        try fresh.set(.linger, 0)
        try fresh.makeCurveClient(serverKey: secure.server.publicKey, keyPair: newKey)
        try fresh.subscribe("")
        try fresh.connect(secure.endpoint("publish"))
        #expect(try hears(fresh, within: 5000), "the new key gets no heartbeat")
        let newControl = try Socket(secure.harness.context, type: .dealer)
        try newControl.set(.linger, 0)
        try newControl.makeCurveClient(serverKey: secure.server.publicKey, keyPair: newKey)
        try newControl.connect(secure.endpoint("control"))
        #expect((try secure.ask(newControl, statusRequest)?["error"] as? [String: Any])?["code"] as? String == "not_found")
    }

    @Test("a lead source whose key is removed is no longer heard; other sources are")
    func revokedSourceDropped() throws {
        let secure = try SecureLoop()
        defer { secure.stop() }
        let intake = try secure.socket(.dealer, as: "web", to: "intake")
        #expect(try secure.ask(intake, lead("r-1"))?["status"] as? String == "accepted")
        try secure.harness.reload(keyRing: ring(secure, replacing: "web", with: nil)) { _ in }
        #expect(try secure.ask(intake, lead("r-2"), timeout: 1000) == nil, "a revoked source's lead was answered")
        #expect(eventually { !secure.harness.logs.lines(containing: "CURVE key was revoked by a reload").isEmpty })
        // Nothing of it was routed.
        let replay = try secure.socket(.dealer, as: "ops", to: "replay")
        #expect(try secure.ask(replay, #"{"topic": "partner/acme/", "from_seq": 1}"#)?["count"] as? Int == 1)
    }
}
