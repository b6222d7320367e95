import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Prometheus
import Testing
import ZeroMQ

/// Partner actions at the edges: long requests, engagements changed since a lead was published,
/// actions received just before a deadline, refused commits under CURVE, and pruning.
@Suite("Offers: partner actions at the edges", .serialized)
struct OfferEdgeTests {
    /// The contract takes control requests of up to 16 KiB (notes of 2,000 characters), but
    /// the control socket copies at most max(ingest.max_message_bytes, 1 KiB) of a frame.
    @Test("a control request under 16 KiB is read whole, whatever ingest.max_message_bytes is")
    func controlRequestNotTruncated() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore()) { config in
            offerPartners(&config, policy: OfferPolicy(acceptWithin: 600))
            config.ingest.maxMessageBytes = 2048
        }
        try harness.start()
        defer { _ = harness.stop() }
        let partner = try #require(try harness.intakeClient().ask(offerLead("big-1"))["partner_id"] as? String)
        let note = String(repeating: "n", count: 2000)
        let need = String(repeating: "x", count: 2000)
        let control = try harness.controlClient()
        let accepted = try control.ask(action("accept", "big-1", partner, #", "note": "\#(note)""#))
        #expect(accepted["status"] as? String == "ok", "\(accepted)")
        let asked = try control.ask(action("request_vendor", "big-1", partner, #", "mode": "close", "need": "\#(need)", "note": "\#(note)""#))
        #expect(asked["status"] as? String == "ok", "\(asked)")
    }

    /// A lead assigned without an offer has no stored case: the daemon rebuilds one from the
    /// partner's engagement as configured *now*, not as it was when the lead was published.
    @Test("request_vendor after the partner's engagement changed: vendor sales gets the request it never had",
          arguments: [false, true])
    func engagementChangedAfterAssignment(onDisk: Bool) throws {
        let directory = try TemporaryDirectory()
        let store: any RoutingStore = onDisk ? try LeadStore(directory: directory.path) : MemoryRoutingStore()
        do {
            let harness = try LoopHarness(store: store)
            try harness.start()
            let reply = try harness.intakeClient().ask(lead("eng-1"))
            #expect(reply["partner_id"] as? String == "acme")
            _ = harness.stop()
        }
        // acme (leads_only when eng-1 was routed: vendor sales got no copy) now co-sells.
        let harness = try LoopHarness(store: store) { config in
            config.rules.partners[0].engagement = .coSell
        }
        try harness.start()
        defer { _ = harness.stop() }
        #expect(try harness.replay("vendor-sales/").isEmpty)
        let control = try harness.controlClient()
        let asked = try control.ask(action("request_vendor", "eng-1", "acme", #", "mode": "co_sell""#))
        #expect(asked["status"] as? String == "ok", "\(asked)")
        // Vendor sales held no co_seller role on eng-1: it must hear of the request.
        #expect(try eventually(2) { try harness.replay("vendor-sales/").count == 1 }, "no vendor_request published: \(asked)")
    }

    /// An accept the daemon received before accept_by, answered `expired` because the batch it
    /// joined was held behind a log sync and the deadline fired first in that batch.
    @Test("an accept received before accept_by is not expired by a deadline fired later in its batch")
    func acceptReceivedInTime() throws {
        let store = FaultInjectingStore(MemoryRoutingStore())
        let clock = ManualLoopClock()
        let registry = PrometheusCollectorRegistry()
        let metrics = RouterMetrics(factory: RouterMetrics.prometheusFactory(registry))
        let harness = try LoopHarness(store: store, clock: clock, metrics: metrics) {
            offerPartners(&$0, policy: OfferPolicy(acceptWithin: 60, maxOffers: 3))
        }
        try harness.start()
        defer { store.releaseSyncs(); _ = harness.stop() }
        let intake = try harness.intakeClient()
        let partner = try #require(try intake.ask(offerLead("t-1"))["partner_id"] as? String)
        // The next commit's sync hangs: small batches behind it are held.
        store.hangSyncs()
        let syncs = store.syncsStarted
        try intake.send(offerLead("t-2"))
        #expect(eventually { store.syncsStarted > syncs })
        // 10 s before accept_by, the partner accepts; the daemon takes it off the socket.
        clock.advance(by: .seconds(50))
        let control = try harness.controlClient()
        try control.send(action("accept", "t-1", partner))
        #expect(eventually { Exposition(registry)["leadrouter_control_requests_total"] == 1 }, "the accept was not taken")
        // The disk is slow: by the time the sync returns, accept_by has passed.
        clock.advance(by: .seconds(20))
        store.releaseSyncs()
        harness.loop.wake()
        let reply = try #require(try control.reply())
        #expect(reply["status"] as? String == "ok", "accepted 10 s before accept_by, answered \(reply)")
        #expect(reply["state"] as? String == "accepted")
    }

    /// With CURVE a partner may leave partner_id out. When the store fails, the
    /// storage_unavailable reply is built from a re-parse that ignores the key's partner, so
    /// it loses the request_id (and lead_id) a pipelining DEALER matches replies by.
    @Test("with CURVE, a storage_unavailable reply echoes the request_id of a request without partner_id")
    func storageFailureEchoesRequestID() throws {
        let server = try CurveKeyPair.generate()
        let acme = try CurveKeyPair.generate(), web = try CurveKeyPair.generate()
        var ring = KeyRing(serverSecretKey: server.secretKey.z85)
        ring.principals[acme.publicKey.z85] = .partner("acme")
        ring.principals[web.publicKey.z85] = .client("web", .source)
        let directory = try TemporaryDirectory()
        let store = FaultInjectingStore(MemoryRoutingStore())
        let harness = try LoopHarness(store: store, keyRing: ring, stateDir: directory.path) { $0.bindEveryEndpointOnLoopback() }
        try harness.start()
        defer { _ = harness.stop() }
        let data = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/endpoints.json"))
        let endpoints = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        func socket(_ pair: CurveKeyPair, _ name: String) throws -> Socket {
            let socket = try Socket(harness.context, type: .dealer)
            try socket.set(.linger, 0)
            try socket.makeCurveClient(serverKey: server.publicKey, keyPair: pair)
            try socket.connect(endpoints[name] as? String ?? "")
            return socket
        }
        func ask(_ socket: Socket, _ body: String) throws -> [String: Any]? {
            try socket.send([[], Array(body.utf8)])
            return try socket.receive(timeoutMilliseconds: 5000).map { json($0.dropFirst().first ?? []) }
        }
        let intake = try socket(web, "intake")
        #expect(try ask(intake, lead("c-1"))?["partner_id"] as? String == "acme")
        let control = try socket(acme, "control")
        let ok = try #require(try ask(control, #"{"request_id": "r-7", "action": "status", "lead_id": "c-1"}"#))
        #expect(ok["request_id"] as? String == "r-7", "\(ok)")
        store.failLookUps(1)
        let refused = try #require(try ask(control, #"{"request_id": "r-8", "action": "status", "lead_id": "c-1"}"#))
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "storage_unavailable", "\(refused)")
        #expect(refused["request_id"] as? String == "r-8", "\(refused)")
        #expect(refused["lead_id"] as? String == "c-1", "\(refused)")
    }

    /// Retention prunes leads oldest row first and cases in lead_id order, each a share at a
    /// time: a lead can outlive its case. A partner's action then finds the lead without a case
    /// and the daemon rebuilds it as "assigned to leads.partner_id" (the first partner offered),
    /// however the offer ended: a partner that declined gets it as accepted, contact and all.
    @Test("a lead whose case was pruned before it is not handed to the partner that declined it")
    func prunedCaseIsNotRebuiltAsAccepted() throws {
        let directory = try TemporaryDirectory()
        let store = try LeadStore(directory: directory.path)
        let clock = ManualLoopClock()
        let harness = try LoopHarness(store: store, clock: clock) {
            offerPartners(&$0, policy: OfferPolicy(acceptWithin: 600, maxOffers: 1, then: .vendorSales))
        }
        try harness.start()
        defer { _ = harness.stop() }
        let intake = try harness.intakeClient()
        _ = try #require(try intake.ask(offerLead("z-1"))["partner_id"] as? String)
        let decliner = try #require(try intake.ask(offerLead("a-2"))["partner_id"] as? String)
        let control = try harness.controlClient()
        let declined = try control.ask(action("decline", "a-2", decliner, #", "reason": "no_capacity""#))
        #expect(declined["state"] as? String == "declined", "\(declined)")
        // One pruning pass of a retention run with a backlog (limit 1 here, 1,000 in the daemon).
        _ = try store.prune(olderThan: clock.wallMilliseconds + 86_400_000, limit: 1)
        let status = try control.ask(action("status", "a-2", decliner))
        #expect(status["state"] as? String != "accepted", "\(status)")
        let accepted = try control.ask(action("accept", "a-2", decliner))
        #expect(accepted["status"] as? String == "error", "the partner that declined a-2 took it: \(accepted)")
    }
}
