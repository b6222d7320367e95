@testable import LeadRouterService
import LeadStore
import Testing

/// The durability pipeline as a state machine: each step's actions, with numbers for batches.
@Suite("Durability: when committed batches are released")
struct DurabilityTests {
    let t0 = ContinuousClock.now
    let ioError = StoreError(.unavailable, "fdatasync: Input/output error")

    @Test("without log syncs, a committed batch is released at once")
    func noSyncs() {
        var d = Durability<Int>(syncsLog: false)
        guard case .release(let batches) = d.committed(1, now: t0).first else { Issue.record("no release"); return }
        #expect(batches == [1])
        #expect(d.isSettled)
    }

    @Test("with log syncs: a commit starts a sync; commits during it wait for the next; each sync releases what it covered, in order")
    func syncsCoverEarlierCommits() {
        var d = Durability<Int>(syncsLog: true)
        #expect(kinds(d.committed(1, now: t0)) == ["startSync"])
        #expect(d.syncInFlight)
        #expect(kinds(d.committed(2, now: t0)) == [])
        #expect(kinds(d.committed(3, now: t0)) == [])
        let first = d.syncEnded(.success(()), now: t0)
        #expect(kinds(first) == ["release [1]", "startSync"])
        let second = d.syncEnded(.success(()), now: t0)
        #expect(kinds(second) == ["release [2, 3]"])
        #expect(d.isSettled)
    }

    @Test("a failed sync stops everything: what it covered and what waited are held, never released, and no sync starts again")
    func failedSyncStops() {
        var d = Durability<Int>(syncsLog: true)
        _ = d.committed(1, now: t0)
        _ = d.committed(2, now: t0)
        let actions = d.syncEnded(.failure(ioError), now: t0)
        guard case .stop(_, let held) = actions.first, actions.count == 1 else { Issue.record("\(kinds(actions))"); return }
        #expect(held == [1, 2])
        #expect(d.failure != nil)
        #expect(kinds(d.committed(3, now: t0)) == [])
        #expect(kinds(d.startSyncIfDue(now: t0)) == [])
    }

    @Test("small batches wait for the sync in flight; a backlog does not; too many held batches make the loop wait")
    func holdingAndWaiting() {
        var d = Durability<Int>(syncsLog: true, heldBatchLimit: 2, overlapBatch: 256)
        #expect(!d.shouldHold(batchOf: 10))
        _ = d.committed(1, now: t0)
        #expect(d.shouldHold(batchOf: 10))
        #expect(!d.shouldHold(batchOf: 0))
        #expect(!d.shouldHold(batchOf: 256))
        _ = d.committed(2, now: t0)
        #expect(!d.mustWaitForSync)
        _ = d.committed(3, now: t0)
        #expect(d.mustWaitForSync)
    }

    @Test("a sync in flight past hungAfter is unhealthy, reported once; healthy again once it ends")
    func hungSync() {
        var d = Durability<Int>(syncsLog: true, hungAfter: .seconds(10))
        _ = d.committed(1, now: t0)
        #expect(d.hangDeadline == t0 + .seconds(10))
        #expect(d.health(now: t0 + .seconds(9)) == .healthy)
        #expect(d.health(now: t0 + .seconds(10)) == .syncHung(firstReport: true))
        #expect(d.health(now: t0 + .seconds(11)) == .syncHung(firstReport: false))
        #expect(d.hangDeadline == nil)
        _ = d.syncEnded(.success(()), now: t0 + .seconds(12))
        #expect(d.health(now: t0 + .seconds(30)) == .healthy)
    }

    private func kinds(_ actions: [Durability<Int>.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .release(let batches): "release \(batches)"
            case .startSync: "startSync"
            case .stop: "stop"
            }
        }
    }
}
