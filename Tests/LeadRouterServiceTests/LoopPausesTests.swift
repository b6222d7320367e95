@testable import LeadRouterService
import Testing

@Suite("The routing thread's pauses, by part")
struct LoopPausesTests {
    @Test("pauses of 1 ms or more are stalls; the longest of each part is kept; the summary names every part")
    func stallsAndLongest() {
        var pauses = LoopPauses(keepsForMetrics: false)
        pauses.add(.route, .microseconds(400))
        pauses.add(.commit, .milliseconds(2))
        pauses.add(.commit, .microseconds(999))
        pauses.add(.commit, .milliseconds(3))
        pauses.add(.checkpoint, .milliseconds(1))
        #expect(pauses.stalls[LoopPauses.Part.route.rawValue] == 0)
        #expect(pauses.stalls[LoopPauses.Part.commit.rawValue] == 2)
        #expect(pauses.stalls[LoopPauses.Part.checkpoint.rawValue] == 1, "1 ms exactly is a stall")
        #expect(pauses.longest[LoopPauses.Part.commit.rawValue] == .milliseconds(3))
        #expect(pauses.longest[LoopPauses.Part.route.rawValue] == .microseconds(400))
        let summary = pauses.summary
        #expect(summary.contains("route 0 (longest 0.40 ms)"), "\(summary)")
        #expect(summary.contains("commit 2 (longest 3.00 ms)"), "\(summary)")
        #expect(summary.contains("wait_sync 0 (longest 0.00 ms)"), "\(summary)")
        #expect(LoopPauses.Part.allCases.allSatisfy { summary.contains($0.label + " ") })
    }

    @Test("with metrics on, each pause is handed over once for the histogram; off, none is kept")
    func unfoldedPausesForTheHistogram() {
        var on = LoopPauses(keepsForMetrics: true)
        on.add(.publish, .microseconds(120))
        on.add(.waitSync, .milliseconds(7))
        var seen: [(LoopPauses.Part, Int64)] = []
        on.takeUnfolded { seen.append(($0, $1)) }
        #expect(seen.map(\.0) == [.publish, .waitSync])
        #expect(seen.map(\.1) == [120_000, 7_000_000])
        seen.removeAll()
        on.takeUnfolded { seen.append(($0, $1)) }
        #expect(seen.isEmpty, "handed over once")

        var off = LoopPauses(keepsForMetrics: false)
        off.add(.route, .milliseconds(5))
        off.takeUnfolded { seen.append(($0, $1)) }
        #expect(seen.isEmpty)
        #expect(off.stalls[LoopPauses.Part.route.rawValue] == 1, "still counted for the log")
    }

    @Test("a pause is timed from a start on the monotonic clock")
    func timedSinceAStart() {
        var pauses = LoopPauses(keepsForMetrics: false)
        let start = ContinuousClock.now - .milliseconds(20)
        pauses.add(.timers, since: start)
        #expect(pauses.stalls[LoopPauses.Part.timers.rawValue] == 1)
        #expect(pauses.longest[LoopPauses.Part.timers.rawValue] >= .milliseconds(20))
    }
}
