@testable import LeadRouterService
import Testing

/// How the routing loop spreads saving the partners' rotation counters over its commits.
@Suite("Rotation counters saved in shares, at most every 100 ms")
struct StoreUpkeepTests {
    @Test("commits a millisecond apart save nothing until 100 ms have passed, then a share of what waited; a whole window saves it all")
    func rotationSharesAreSpaced() {
        let start = ContinuousClock.now
        var upkeep = StoreUpkeep(now: start, registrationsVersion: 0, partnerList: nil)
        // The window begins with 1,000 changed counters waiting, and a save at `start`.
        upkeep.lastRotationSave = start
        #expect(upkeep.rotationShare(pending: 1_000, now: start) == 0)
        for ms in 1..<100 {
            #expect(upkeep.rotationShare(pending: 1_000, now: start + .milliseconds(ms)) == 0, "at \(ms) ms")
        }
        // 100 ms of a 5 s window: a fiftieth of what waited when the window began.
        #expect(upkeep.rotationShare(pending: 1_000, now: start + .milliseconds(100)) == 20)
        upkeep.lastRotationSave = start + .milliseconds(100)
        #expect(upkeep.rotationShare(pending: 980, now: start + .milliseconds(150)) == 0)
        #expect(upkeep.rotationShare(pending: 980, now: start + .milliseconds(250)) == 30)
        // Nothing saved for a whole window: everything that waited when it began.
        #expect(upkeep.rotationShare(pending: 980, now: start + .milliseconds(250) + StoreUpkeep.rotationSaveInterval) == 980)
    }
}
