import Foundation
import GRDB
import LeadRouting
@testable import LeadStore
import Synchronization
import Testing

// MARK: - The filters beside the store's keys (KeyFilter.swift)

@Suite("Key filters: look-ups skip the keys the store cannot hold")
struct StoreKeyFilterTests {
    static func hash(_ key: String) -> UInt64 { StringTable<Int>.processHash(of: key) }

    @Test func aFilterHoldsEveryKeyInsertedAndFewOthers() {
        var filter = KeyFilter(capacity: 50_000)
        for i in 0..<50_000 { filter.insert(Self.hash("web-\(i)")) }
        #expect(filter.count == 50_000)
        #expect((0..<50_000).allSatisfy { filter.mayContain(Self.hash("web-\($0)")) })
        // About 1% of absent keys pass at capacity; far fewer than 3% must.
        let passed = (0..<50_000).filter { filter.mayContain(Self.hash("tel-\($0)")) }.count
        #expect(passed < 1_500, "\(passed) of 50,000 absent keys passed")
        #expect(passed > 0, "a filter at capacity that lets no absent key pass is suspect")

        var other = KeyFilter(capacity: 50_000)
        other.insert(Self.hash("only-in-other"))
        #expect(!filter.mayContain(Self.hash("only-in-other")) || passed > 0)
        filter.formUnion(other)
        #expect(filter.mayContain(Self.hash("only-in-other")))
        #expect(filter.count == 50_001)
    }

    /// A table of `keys` in a fresh file, and the filter over it.
    static func withKeys(_ keys: [String], minimumCapacity: Int, _ body: (DatabasePool, StoredKeys) throws -> Void) throws {
        try withStateDirectory { directory in
            let pool = try DatabasePool(path: storeFile(directory))
            try pool.write { db in
                try db.execute(sql: "CREATE TABLE keys (k TEXT NOT NULL)")
                for key in keys { try db.execute(sql: "INSERT INTO keys (k) VALUES (?)", arguments: [key]) }
            }
            let stored = StoredKeys(path: storeFile(directory), sql: "SELECT k FROM keys", minimumCapacity: minimumCapacity)
            defer { stored.close() }
            try body(pool, stored)
        }
    }

    @Test func untilFilledEveryKeyIsProbedThenOnlyThoseThatMayBeStored() throws {
        let keys = (0..<100).map { "web-\($0)" }
        let absent = (0..<1_000).map { "tel-\($0)" }
        try Self.withKeys(keys, minimumCapacity: 1_000) { _, stored in
            #expect(!stored.isReady)
            #expect(stored.mayHold(absent) == absent)
            stored.rebuild(capacity: 0, holding: { [Self.hash("held-in-memory")] })
            stored.waitUntilFilled()
            #expect(stored.isReady)
            #expect(stored.mayHold(keys) == keys)
            #expect(stored.mayHold(["held-in-memory"]) == ["held-in-memory"])
            let passed = stored.mayHold(absent)
            #expect(passed.count < 50, "\(passed.count) of 1,000 absent keys passed")
            #expect(stored.rebuilds.load(ordering: .relaxed) == 1)
        }
    }

    @Test func aFilterPastItsCapacityIsRefilledLarger() throws {
        let keys = (0..<100).map { "web-\($0)" }
        try Self.withKeys(keys, minimumCapacity: 16) { pool, stored in
            // The table holds more keys than the first filter was sized for: filled again at once.
            stored.rebuild(capacity: 0)
            stored.waitUntilFilled()
            #expect(stored.rebuilds.load(ordering: .relaxed) == 2)
            #expect(stored.isReady)
            #expect(stored.state.withLock { $0.filter.capacity } >= 200)
            #expect(stored.mayHold(keys) == keys)
            // Keys written later, added once committed: a filter past its capacity is filled
            // again from the table.
            let more = (0..<500).map { "late-\($0)" }
            try pool.write { db in
                for key in more { try db.execute(sql: "INSERT INTO keys (k) VALUES (?)", arguments: [key]) }
            }
            // …holding what memory holds for the table too (asked for only then).
            stored.insert(more.map(Self.hash), holding: { [Self.hash("held-in-memory")] })
            stored.waitUntilFilled()
            #expect(stored.rebuilds.load(ordering: .relaxed) == 3)
            #expect(stored.isReady)
            #expect(stored.state.withLock { $0.filter.capacity } >= 1_200)
            #expect(stored.mayHold(keys + more + ["held-in-memory"]) == keys + more + ["held-in-memory"])
        }
    }

    @Test func theStoreFindsItsLeadsAndOwnersThroughTheFilters() throws {
        try withStateDirectory { directory in
            try withStore(directory, durability: .off) { store in
                var first = batch(leads: [storedLead("web-1"), storedLead("web-2")])
                first.accountOwners = [OwnerChange("d:a.example", "acme"), OwnerChange("n:a", "acme")]
                try store.commit(first)
                try store.flushAccountOwners()
            }
            // Reopened: the filters are filled from the tables.
            let store = try LeadStore(directory: directory, durability: .off)
            store.waitForKeyFilters()
            #expect(store.keyFilterStatus.ready)
            var second = batch(leads: [storedLead("web-3")])
            second.accountOwners = [OwnerChange("d:b.example", "beta")]
            try store.commit(second)
            let found = try store.lookUp(
                leadIDs: ["web-1", "web-2", "web-3", "web-4"], accountKeys: ["d:a.example", "n:a", "d:b.example", "n:nobody"])
            #expect(found.known == ["web-1", "web-2", "web-3"])
            #expect(found.owners.mapValues(\.partnerID) == ["d:a.example": "acme", "n:a": "acme", "d:b.example": "beta"])
            #expect(try store.lookUp(leadIDs: ["web-9"], accountKeys: ["n:nobody"], besideCommit: true).known.isEmpty)
            // Written to the table after the filter was filled: found through what the commit added.
            try store.flushAccountOwners()
            #expect(try store.lookUp(leadIDs: [], accountKeys: ["d:b.example"]).owners.mapValues(\.partnerID) == ["d:b.example": "beta"])
            #expect(store.keyFilterStatus.fills == 2)
        }
    }

    @Test func anotherConnectionsCommitRefillsTheFilters() throws {
        try withStateDirectory { directory in
            let store = try LeadStore(directory: directory, durability: .off)
            store.waitForKeyFilters()
            let fills = store.keyFilterStatus.fills
            #expect(fills == 2)
            // Another store on the same file commits a lead this one's filter has never seen.
            try withStore(directory, durability: .off) { other in
                try other.commit(batch(leads: [storedLead("web-elsewhere")]))
            }
            // This store's next commit notices (SQLite's data_version) and fills both again.
            try store.commit(batch(leads: [storedLead("web-here")]))
            store.waitForKeyFilters()
            #expect(store.keyFilterStatus.fills == fills + 2)
            #expect(store.keyFilterStatus.ready)
            #expect(try store.lookUp(leadIDs: ["web-elsewhere", "web-here", "web-never"], accountKeys: []).known == ["web-elsewhere", "web-here"])
            // Its own commits change nothing.
            try store.commit(batch(leads: [storedLead("web-here-2")]))
            #expect(store.keyFilterStatus.fills == fills + 2)
        }
    }

    /// A gate the filling thread waits at before it reads the table.
    final class Gate: Sendable {
        let open = DispatchSemaphore(value: 0)
        let reached = DispatchSemaphore(value: 0)
        func pass() {
            reached.signal()
            open.wait()
        }

        /// Waits until the filling thread is at the gate (a minute at most: a test that hangs
        /// would hold up the whole suite).
        func awaitFill() throws {
            try #require(reached.wait(timeout: .now() + 60) == .success, "no filling thread reached the gate")
        }
    }

    @Test func aFilterGrownFullAnswersUntilTheLargerOneIsFilled() throws {
        let keys = (0..<100).map { "web-\($0)" }
        let absent = (0..<1_000).map { "tel-\($0)" }
        let gate = Gate()
        try withStateDirectory { directory in
            let pool = try DatabasePool(path: storeFile(directory))
            try pool.write { db in
                try db.execute(sql: "CREATE TABLE keys (k TEXT NOT NULL)")
                for key in keys { try db.execute(sql: "INSERT INTO keys (k) VALUES (?)", arguments: [key]) }
            }
            let stored = StoredKeys(path: storeFile(directory), sql: "SELECT k FROM keys", minimumCapacity: 128, beforeScan: gate.pass)
            defer {
                gate.open.signal()
                stored.close()
            }
            stored.rebuild(capacity: 0)
            try gate.awaitFill()
            gate.open.signal()
            stored.waitUntilFilled()
            #expect(stored.isReady)
            // Past its capacity (128): rebuilt twice as large, and held at the gate before it reads the table.
            let more = (0..<100).map { "late-\($0)" }
            try pool.write { db in
                for key in more { try db.execute(sql: "INSERT INTO keys (k) VALUES (?)", arguments: [key]) }
            }
            stored.insert(more.map(Self.hash))
            try gate.awaitFill()
            #expect(!stored.isReady)
            #expect(stored.rebuilds.load(ordering: .relaxed) == 2)
            // Meanwhile the full filter answers: every stored key passes, few absent ones do.
            #expect(stored.mayHold(keys + more) == keys + more)
            let passed = stored.mayHold(absent)
            #expect(passed.count < 200, "\(passed.count) of 1,000 absent keys passed while the larger filter filled")
            // A key committed meanwhile goes into both.
            stored.insert([Self.hash("during-the-fill")])
            #expect(stored.mayHold(["during-the-fill"]) == ["during-the-fill"])
            gate.open.signal()
            stored.waitUntilFilled()
            #expect(stored.isReady)
            #expect(stored.state.withLock { $0.previous == nil && $0.filter.capacity >= 400 })
            #expect(stored.mayHold(keys + more + ["during-the-fill"]) == keys + more + ["during-the-fill"])
            #expect(stored.mayHold(absent).count < 50)

            // Rebuilt because another connection committed: the filter lacks its keys, so every
            // key is probed until the new one is filled.
            stored.rebuild(capacity: 400)
            try gate.awaitFill()
            #expect(stored.mayHold(absent) == absent)
            gate.open.signal()
            stored.waitUntilFilled()
            #expect(stored.isReady)
        }
    }

    /// Linux's `SCHED_IDLE`, which `sched_getscheduler` returns for a thread in the idle class.
    static let idleClass: Int32 = 5

    @Test("the filling thread is lr-keys, in the idle class: a routing thread woken on its core takes the core at once")
    func theFillingThreadYieldsAtOnce() throws {
        let seen = Mutex<(name: String?, policy: Int32)?>(nil)
        try withStateDirectory { directory in
            let pool = try DatabasePool(path: storeFile(directory))
            try pool.write { db in try db.execute(sql: "CREATE TABLE keys (k TEXT NOT NULL)") }
            let stored = StoredKeys(path: storeFile(directory), sql: "SELECT k FROM keys", minimumCapacity: 128) {
                seen.withLock { $0 = (Thread.current.name, sched_getscheduler(0)) }
            }
            defer { stored.close() }
            stored.rebuild(capacity: 0)
            stored.waitUntilFilled()
            #expect(stored.isReady)
        }
        let thread = try #require(seen.withLock { $0 }, "the filling thread never ran")
        #expect(thread.name == "lr-keys")
        #expect(thread.policy == Self.idleClass)
        // The thread that asked for the fill is left as it was.
        #expect(sched_getscheduler(0) == 0)
    }

    @Test("a thread put in the idle class is in it; other threads are not")
    func runOnlyWhenIdleChangesTheCallingThreadOnly() {
        let policy = Mutex<Int32?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let changed = CurrentThread.runOnlyWhenIdle()
            policy.withLock { $0 = changed ? sched_getscheduler(0) : -1 }
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(policy.withLock { $0 } == Self.idleClass)
        #expect(sched_getscheduler(0) == 0)
    }
}

@Test("a thread that names itself bears that name in the kernel, every time (64 threads started at once)")
func threadsNameThemselves() {
    let names = Mutex<[String: String]>([:])
    let done = DispatchGroup()
    for i in 0..<64 {
        done.enter()
        Thread {
            let label = "lr-test-\(i)"
            CurrentThread.name(label)
            let seen = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            names.withLock { $0[label] = seen }
            done.leave()
        }.start()
    }
    done.wait()
    let wrong = names.withLock { $0.filter { $0.key != $0.value } }
    #expect(names.withLock { $0.count } == 64)
    #expect(wrong.isEmpty, "\(wrong)")
}
