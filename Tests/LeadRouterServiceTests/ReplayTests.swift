@testable import LeadRouterService
import LeadRouterTesting
import LeadStore
import Testing
import ZeroMQ

@Suite("Replay on a thread of its own, fair between clients", .timeLimit(.minutes(2)))
struct ReplayTests {
    @Test("each round serves one request per client, oldest first: a client with 50 waiting cannot hold back one with 1")
    func roundRobin() {
        var queues = ReplayQueues<String>(limit: 64)
        for i in 1...50 { _ = queues.add("a\(i)", from: [1]) }
        #expect(add(&queues, "b1", from: [2]))
        #expect(next(&queues) == ["a1", "b1"])
        #expect(next(&queues) == ["a2"])
        #expect(add(&queues, "b2", from: [2]))
        #expect(next(&queues) == ["a3", "b2"])
        var rest: [String] = []
        while !queues.isEmpty { rest += queues.nextRound() }
        #expect(rest == (4...50).map { "a\($0)" })
    }

    @Test("a client with the limit waiting has its next request refused; others are not")
    func perClientLimit() {
        var queues = ReplayQueues<Int>(limit: 2)
        #expect(add(&queues, 1, from: [1]))
        #expect(add(&queues, 2, from: [1]))
        #expect(!add(&queues, 3, from: [1]))
        #expect(add(&queues, 4, from: [2]))
        #expect(next(&queues) == [1, 4])
        #expect(add(&queues, 5, from: [1]))
    }

    @Test("while a replay read is stuck in the store, the routing thread goes on: a lead is accepted and published; then the replay is answered")
    func replayNeverDelaysRouting() throws {
        let (harness, intake, store) = try startedOnFaultyStore()
        let feed = try harness.feedReader(["partner/acme/"])
        #expect(try intake.ask(lead("before"))["status"] as? String == "accepted")
        store.hangEnvelopeReads()
        let replay = try Socket(harness.context, type: .dealer)
        try replay.set(.linger, 0)
        try replay.connect(harness.config.replay.bind!.description)
        try replay.send(Array(#"{"topic": "partner/acme/", "from_seq": 1}"#.utf8))
        #expect(eventually { store.envelopeReadsStarted >= 1 })
        #expect(try intake.ask(lead("during"))["status"] as? String == "accepted")
        #expect(try feed.first { _, body in body["lead_id"] as? String == "during" } != nil)
        store.releaseEnvelopeReads()
        let reply = try #require(try replay.receive(timeoutMilliseconds: 10_000))
        #expect(json(reply[0])["count"] as? Int ?? 0 >= 1)
        try #require(harness.stop()).get()
    }
}

private func add<T>(_ queues: inout ReplayQueues<T>, _ request: T, from client: [UInt8]) -> Bool { queues.add(request, from: client) }
private func next<T>(_ queues: inout ReplayQueues<T>) -> [T] { queues.nextRound() }
