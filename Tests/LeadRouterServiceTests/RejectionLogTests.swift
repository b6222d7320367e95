import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Testing
import ZeroMQ

/// What operators read about rejected input: each `input rejected` line names the channel and,
/// when it can be read, the lead; a `too_large` intake reply names the lead from its first bytes.
@Suite("Rejections in the log and in intake replies", .timeLimit(.minutes(2)))
struct RejectionLogTests {
    /// Waits up to 10 s for `count` lines containing `text`.
    func lines(_ harness: LoopHarness, _ text: String, count: Int) -> [LogRecorder.Line] {
        let deadline = Date().addingTimeInterval(10)
        while harness.logs.lines(containing: text).count < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return harness.logs.lines(containing: text)
    }

    @Test("each input rejected line carries its channel, and its lead_id when readable, from ingest and intake alike")
    func rejectionLinesNameChannelAndLead() throws {
        let harness = try LoopHarness(store: MemoryRoutingStore()) { $0.ingest.maxMessageBytes = 2048 }
        try harness.start()
        let source = try harness.source()
        try source.send([Array("lead".utf8), Array(#"{"lead_id": "sub-1", "company": {"name": "X"}}"#.utf8)])
        let intake = try harness.intakeClient()
        #expect(try intake.ask(#"{"lead_id": "req-1", "company": {"name": "X", "country": "Mars"}}"#)["lead_id"] as? String == "req-1")
        #expect(try intake.ask("not json")["lead_id"] is NSNull)
        let big = #"{"lead_id": "big-1", "company": {"name": "X", "country": "US"}, "pad": "\#(String(repeating: "p", count: 4000))"}"#
        let tooLarge = try intake.ask(big)
        #expect((tooLarge["error"] as? [String: Any])?["code"] as? String == "too_large")
        #expect(tooLarge["lead_id"] as? String == "big-1")

        let logged = lines(harness, "input rejected", count: 4)
        let byLead = Dictionary(logged.map { ($0.metadata["lead_id"] ?? "-", $0.metadata) }, uniquingKeysWith: { a, _ in a })
        #expect(byLead["sub-1"]?["channel"] == "ingest" && byLead["sub-1"]?["code"] == "missing_field", "\(logged.map(\.metadata))")
        #expect(byLead["req-1"]?["channel"] == "intake" && byLead["req-1"]?["field"] == "company.country", "\(logged.map(\.metadata))")
        #expect(byLead["big-1"]?["code"] == "too_large", "\(logged.map(\.metadata))")
        // Unreadable: the channel all the same, and no lead_id at all.
        #expect(byLead["-"]?["channel"] == "intake" && byLead["-"]?["code"] == "invalid_json", "\(logged.map(\.metadata))")
        try #require(harness.stop()).get()
    }
}
