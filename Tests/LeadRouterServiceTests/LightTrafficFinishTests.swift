import Foundation
@testable import LeadRouterService
import LeadRouterTesting
import LeadStore
import Testing

/// Under light traffic the routing loop finishes a long log's checkpoint between batches, so
/// the log starts afresh without waiting for a pause in the traffic (StoreUpkeep).
@Suite("A long log finished under light traffic")
struct LightTrafficFinishTests {
    @Test("the traffic is light under 2,000 messages a second, over the last 200 ms and so far in the next; not before a whole window, not once a burst begins")
    func lightTraffic() {
        let start = ContinuousClock.now
        var upkeep = StoreUpkeep(now: start, registrationsVersion: 0, partnerList: nil)
        // No whole window yet: not light, however few the messages.
        let early = upkeep.isLight(after: 1, now: start + .milliseconds(5))
        #expect(!early)
        // One message every `step` from `from`, `count` times; the time of the last.
        func feed(_ count: Int, every step: Duration, from: ContinuousClock.Instant) -> ContinuousClock.Instant {
            var now = from
            for _ in 0..<count {
                now += step
                _ = upkeep.isLight(after: 1, now: now)
            }
            return now
        }
        // A message every 5 ms: 200 a second.
        var now = feed(40, every: .milliseconds(5), from: start + .milliseconds(5))
        #expect(upkeep.lastWindowRate < StoreUpkeep.lightMessagesPerSecond)
        now += .milliseconds(5)
        let steady = upkeep.isLight(after: 1, now: now)
        #expect(steady)
        // A burst begins: 100 messages within a millisecond are not light, though the window
        // before was.
        let burst = upkeep.isLight(after: 100, now: now + .milliseconds(1))
        #expect(!burst)
        // Over a whole window at 10,000 a second: not light, for the next window too until it ends.
        let heavy = feed(2_100, every: .microseconds(100), from: now + .milliseconds(1))
        #expect(upkeep.lastWindowRate >= StoreUpkeep.lightMessagesPerSecond)
        let afterLoad = upkeep.isLight(after: 0, now: heavy + .milliseconds(100))
        #expect(!afterLoad)
        // A quiet window after it: light again.
        let quietAgain = upkeep.isLight(after: 1, now: heavy + .milliseconds(250))
        #expect(quietAgain)
    }

    @Test("under light traffic, a log past 64 MB is finished between batches once a background checkpoint completed and they have left little for three seconds, at most once a second; not a shorter log, not under load")
    func finishesUnderLightTraffic() throws {
        let clock = ManualLoopClock()
        let store = FaultInjectingStore(MemoryRoutingStore())
        let harness = try LoopHarness(store: store, clock: clock)
        try harness.start()
        let intake = try harness.intakeClient()
        var sent = 0
        // Leads one at a time, `step` apart on the loop's clock, for `duration`; a step under
        // the idle rule's 250 ms, so that only the light-traffic rule can finish.
        func send(every step: Duration, for duration: Duration) throws {
            var elapsed = Duration.zero
            while elapsed < duration {
                clock.advance(by: step)
                elapsed += step
                #expect(try intake.ask(lead("light-\(sent)"))["status"] as? String == "accepted")
                sent += 1
            }
        }
        // A log under 64 MB (past the idle rule's 16 MB): light traffic does not finish it.
        store.pretendLog(pages: StoreUpkeep.walFinishPagesWhenLight - 1, completedCheckpoints: 1)
        try send(every: .milliseconds(5), for: .milliseconds(1_300))
        #expect(store.finishesStarted == 0)
        // Past 64 MB, but the background checkpoint left too much to copy between commits.
        store.pretendLog(pages: 20_000, backlog: StoreUpkeep.lightFinishBacklog, completedCheckpoints: 1)
        try send(every: .milliseconds(5), for: .milliseconds(100))
        #expect(store.finishesStarted == 0)
        // Past 64 MB, a background checkpoint completed with little left: not at once (the
        // database file may still be writing out what the checkpoints before copied), but once
        // they have left little for three seconds: finished once.
        store.pretendLog(pages: 20_000, backlog: 100, completedCheckpoints: 1)
        try send(every: .milliseconds(5), for: StoreUpkeep.lightFinishSettle - .milliseconds(100))
        #expect(store.finishesStarted == 0)
        try send(every: .milliseconds(5), for: .milliseconds(200))
        #expect(store.finishesStarted == 1)
        // No background checkpoint has completed since: not again, however long.
        try send(every: .milliseconds(5), for: .milliseconds(1_100))
        #expect(store.finishesStarted == 1)
        // Under load (5,000 leads a second on the loop's clock), not even with over a second
        // since the last finish and another completed checkpoint.
        try send(every: .microseconds(200), for: .milliseconds(250))
        store.pretendLog(pages: 20_000, backlog: 100, completedCheckpoints: 2)
        try send(every: .microseconds(200), for: .milliseconds(20))
        #expect(store.finishesStarted == 1)
        // Light again (once a whole window has been): finished.
        try send(every: .milliseconds(5), for: .milliseconds(600))
        #expect(store.finishesStarted == 2)
        // A checkpoint that left much behind starts the three seconds again.
        store.pretendLog(pages: 20_000, backlog: StoreUpkeep.lightFinishBacklog, completedCheckpoints: 3)
        try send(every: .milliseconds(5), for: .milliseconds(1_100))
        store.pretendLog(pages: 20_000, backlog: 100, completedCheckpoints: 4)
        try send(every: .milliseconds(5), for: StoreUpkeep.lightFinishSettle - .milliseconds(100))
        #expect(store.finishesStarted == 2)
        try send(every: .milliseconds(5), for: .milliseconds(200))
        #expect(store.finishesStarted == 3)
        store.stopPretendingLog()
        try #require(harness.stop()).get()
    }
}
