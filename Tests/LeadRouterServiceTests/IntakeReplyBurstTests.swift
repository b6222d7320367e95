import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Testing
import ZeroMQ

/// A batch answers up to `RoutingLoop.batchLimit` requests at once. A ROUTER silently drops
/// what it sends past its send high-water mark, so with libzmq's default (1,000) a client
/// with more requests than that in one batch lost replies to leads that were stored and
/// routed.
@Suite("Intake replies in a burst", .timeLimit(.minutes(2)))
struct IntakeReplyBurstTests {
    @Test("every request of a batch larger than libzmq's default high-water mark is answered")
    func everyReplyOfALargeBatchArrives() throws {
        let memory = MemoryRoutingStore()
        let store = FaultInjectingStore(memory)
        let harness = try LoopHarness(store: store)
        try harness.start()
        // A DEALER that reads its replies after sending (over inproc:// the pipe towards it
        // holds the daemon's send high-water mark plus this one's receive mark).
        let client = try Socket(harness.context, type: .dealer)
        try client.set(.linger, 0)
        try client.set(.receiveHighWaterMark, 10)
        try client.set(.sendHighWaterMark, 0)
        try client.connect(harness.config.intake.bind!.description)
        // The first lead's commit hangs, so the others wait on the socket and are routed and
        // answered in one batch when it is released.
        store.hangCommits()
        try client.send(Array(lead("burst-0").utf8))
        #expect(eventually { store.commitsStarted >= 1 })
        let count = 1_800
        for i in 1..<count { try client.send(Array(lead("burst-\(i)").utf8)) }
        store.releaseCommits()
        #expect(eventually(30) { (0..<count).allSatisfy { memory.contains(leadID: "burst-\($0)") } })
        var answered = Set<String>()
        while answered.count < count, let frames = try client.receive(timeoutMilliseconds: 3_000) {
            let reply = json(frames.last ?? [])
            #expect(reply["status"] as? String == "accepted")
            if let id = reply["lead_id"] as? String { answered.insert(id) }
        }
        #expect(answered.count == count)
        try #require(harness.stop()).get()
    }
}
