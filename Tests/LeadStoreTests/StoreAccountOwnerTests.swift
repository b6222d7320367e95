import Foundation
import GRDB
import LeadRouting
@testable import LeadStore
import Testing

// Account owners wait in memory and are written by a sweep over buckets of keys
// (LeadStore+AccountOwners.swift): a commit writes only the buckets its share of a cycle
// reaches; look-ups see pending owners; a crash loses none, since they are found again from
// the leads they came from.

private let t0: Int64 = 1_700_000_000_000

/// A lead routing can parse, of the account `company` (domain `company.example`).
private func accountLead(_ id: String, company: String, partner: String?, at time: Int64 = t0) -> StoredLead {
    let json = #"{"lead_id":"\#(id)","company":{"name":"\#(company)","domain":"\#(company).example","country":"US"}}"#
    return storedLead(id, partner: partner, routedAt: time, bytes: Array(json.utf8))
}

/// The account keys routing uses for `company`.
private func keys(_ company: String) -> [String] {
    AccountKey.keys(companyName: company, companyDomain: "\(company).example", contactEmail: nil).all
}

/// A batch routing each of `leads` to its partner, with the owners routing would record.
private func ownersBatch(_ leads: [StoredLead], companies: [String], at time: Int64 = t0) -> StoreBatch {
    var b = batch(leads: leads, createdAt: time)
    for (lead, company) in zip(leads, companies) {
        guard let partner = lead.partnerID else { continue }
        for key in keys(company) { b.accountOwners.append(OwnerChange(key, partner)) }
    }
    return b
}

/// Leads with no account owner to write, `count` of them from `start`: they move the sweep on.
private func fillerBatch(_ start: Int, _ count: Int, at time: Int64 = t0) -> StoreBatch {
    batch(leads: (start..<(start + count)).map { storedLead("filler-\($0)", partner: nil, routedAt: time) }, createdAt: time)
}

private func ownerRows(_ directory: String) throws -> [String: String] {
    try DatabaseQueue(path: storeFile(directory)).read { db in
        Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT account_key, partner_id FROM account_owners").map { ($0[0], $0[1]) })
    }
}

@Test("owners wait in memory and routing finds them; a commit writes the buckets its share of a cycle reaches, a cycle writes every one")
func ownersAreWrittenByTheSweep() throws {
    let companies = (0..<200).map { "company\($0)" }
    let leads = companies.enumerated().map { accountLead("lead-\($0.offset)", company: $0.element, partner: $0.offset % 2 == 0 ? "acme" : "beta") }
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory)
        try store.commit(ownersBatch(leads, companies: companies))
        let all = companies.flatMap(keys)
        let expected = Dictionary(uniqueKeysWithValues: companies.enumerated().flatMap { i, c in keys(c).map { ($0, i % 2 == 0 ? "acme" : "beta") } })
        #expect(try store.lookUp(leadIDs: [], accountKeys: all + ["n:nobody"]).owners.mapValues(\.partnerID) == expected)
        // 200 leads are 1/82 of a cycle: some of the 400 keys fall in the buckets it reached, most wait.
        let first = try ownerRows(directory)
        #expect(first.count < 50, "a commit wrote \(first.count) of 400 owners")
        // Half a cycle on: about half.
        try store.commit(fillerBatch(0, 8_000))
        let half = try ownerRows(directory)
        #expect(half.count > 100 && half.count < 300, "half a cycle wrote \(half.count) of 400")
        #expect(try store.lookUp(leadIDs: [], accountKeys: all).owners.mapValues(\.partnerID) == expected)
        // A whole cycle: every owner, as routed.
        for i in 0..<9 { try store.commit(fillerBatch(8_000 + i * 1_000, 1_000)) }
        #expect(try ownerRows(directory) == expected)
        #expect(try store.lookUp(leadIDs: [], accountKeys: all).owners.mapValues(\.partnerID) == expected)
    }
}

@Test("a cycle also ends with time: owners of a quiet store are written within a minute of commits")
func ownersOfAQuietStoreAreWrittenWithinAMinute() throws {
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory)
        try store.commit(ownersBatch([accountLead("l1", company: "quiet", partner: "acme")], companies: ["quiet"]))
        try store.commit(fillerBatch(0, 1, at: t0 + 61_000))
        #expect(try ownerRows(directory) == Dictionary(uniqueKeysWithValues: keys("quiet").map { ($0, "acme") }))
    }
}

@Test("after a crash, owners that were only pending are found again from their leads, the last owner of an account winning")
func pendingOwnersSurviveACrash() throws {
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory)
        // Written for good by a full cycle first; then changed, and new, only pending.
        try store.commit(ownersBatch([accountLead("l1", company: "moved", partner: "acme")], companies: ["moved"]))
        try store.commit(fillerBatch(0, LeadStore.ownerCycleLeads))
        #expect(try ownerRows(directory)["n:moved"] == "acme")
        try store.commit(ownersBatch(
            [accountLead("l2", company: "moved", partner: "beta", at: t0 + 1), accountLead("l3", company: "new", partner: "gamma", at: t0 + 1),
             accountLead("l4", company: "nobody", partner: nil, at: t0 + 1)],
            companies: ["moved", "new", "nobody"], at: t0 + 1))
        let copy = try crashCopy(directory)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        #expect(try ownerRows(copy)["n:moved"] == "acme", "the change was written before the crash: this test needs it pending")
        let recovered = try LeadStore(directory: copy)
        let found = try recovered.lookUp(leadIDs: [], accountKeys: keys("moved") + keys("new") + keys("nobody")).owners.mapValues(\.partnerID)
        #expect(found == Dictionary(uniqueKeysWithValues: keys("moved").map { ($0, "beta") } + keys("new").map { ($0, "gamma") }))
        _ = store
    }
}

@Test("a clean close writes every pending owner, so the next start has nothing to find again")
func aCleanCloseWritesPendingOwners() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(ownersBatch([accountLead("l1", company: "closing", partner: "acme")], companies: ["closing"]))
            #expect(try ownerRows(directory).isEmpty)
            try store.flushAccountOwners()
            #expect(try ownerRows(directory) == Dictionary(uniqueKeysWithValues: keys("closing").map { ($0, "acme") }))
        }
        try withStore(directory) { store throws in
            #expect(try store.lookUp(leadIDs: [], accountKeys: keys("closing")).owners.mapValues(\.partnerID) == Dictionary(uniqueKeysWithValues: keys("closing").map { ($0, "acme") }))
        }
    }
}

@Test("a store written before schema v6 (owners keyed by account alone) migrates and keeps its owners")
func ownersMigrateToBuckets() throws {
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(ownersBatch([accountLead("l1", company: "old", partner: "acme")], companies: ["old"]))
        }
        try DatabaseQueue(path: storeFile(directory)).write { try rewindToV5($0) }
        #expect(try ownerRows(directory) == Dictionary(uniqueKeysWithValues: keys("old").map { ($0, "acme") }))
        try withStore(directory) { store throws in
            #expect(try store.lookUp(leadIDs: ["l1"], accountKeys: keys("old") + ["n:other"]).owners.mapValues(\.partnerID)
                == Dictionary(uniqueKeysWithValues: keys("old").map { ($0, "acme") }))
        }
        let columns = try DatabaseQueue(path: storeFile(directory)).read { db in try db.columns(in: "account_owners").map(\.name) }
        #expect(columns.first == "bucket")
    }
}

/// Copies the open store at `directory` as a crash would leave it, checks that most owners of
/// `companies` were only pending then, and that the copy finds every one of them again.
private func expectOwnersAfterACrash(_ directory: String, companies: [String], partner: String) throws {
    let copy = try crashCopy(directory)
    defer { try? FileManager.default.removeItem(atPath: copy) }
    #expect(try ownerRows(copy).count < 10, "most owners must be pending for this test")
    let recovered = try LeadStore(directory: copy)
    let found = try recovered.lookUp(leadIDs: [], accountKeys: companies.flatMap(keys)).owners.mapValues(\.partnerID)
    #expect(found == Dictionary(uniqueKeysWithValues: companies.flatMap(keys).map { ($0, partner) }))
}

@Test("once every lead is pruned, row ids start again from 1: after a crash, owners of the leads numbered again are still found")
func pendingOwnersNumberedAgainSurviveACrash() throws {
    let old = (0..<10).map { "old\($0)" }
    let new = (0..<20).map { "new\($0)" }
    let later = t0 + 86_400_000
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory)
        try store.commit(ownersBatch(old.enumerated().map { accountLead("o-\($0.offset)", company: $0.element, partner: "acme") }, companies: old))
        // Written at a clean stop: the bound is then the next lead's row.
        try store.flushAccountOwners()
        #expect(try storedBound(directory, "owners_pending_from") == 11)
        while try store.prune(olderThan: later) > 0 {}
        #expect(try storedBound(directory, "owners_pending_from") == 1)
        // Rows 1 to 20 again, more than the old bound, their owners mostly pending (the commit is
        // a millisecond after the last, so the sweep moves on by a few buckets only).
        let leads = new.enumerated().map { accountLead("n-\($0.offset)", company: $0.element, partner: "beta", at: later) }
        try store.commit(ownersBatch(leads, companies: new, at: t0 + 1))
        try expectOwnersAfterACrash(directory, companies: new, partner: "beta")
        _ = store
    }
}

@Test("when every lead is pruned within a cycle, the cycle's bound comes down too: owners of leads numbered again below its start survive a crash")
func aCycleStartedBeforeRenumberingStillCoversItsLeads() throws {
    let new = (0..<20).map { "late\($0)" }
    let start = t0 + 61_000  // a minute on: the first commit then ends a cycle by time
    let later = t0 + 86_400_000
    try withStateDirectory { directory throws in
        let store = try LeadStore(directory: directory)
        try store.commit(fillerBatch(0, 10))
        try store.commit(fillerBatch(10, 1, at: start))
        // The new cycle begins at row 12; the sweep then goes almost all the way round.
        try store.commit(ownersBatch([accountLead("first", company: "first", partner: "acme", at: start)], companies: ["first"], at: start))
        try store.commit(fillerBatch(100, 16_076, at: start))
        while try store.prune(olderThan: later) > 0 {}
        // Rows 1 to 20 again, routed after the sweep passed most of their buckets: they wait for
        // the next cycle, and the one ending now must not store a bound past them.
        let leads = new.enumerated().map { accountLead("late-\($0.offset)", company: $0.element, partner: "beta", at: later) }
        try store.commit(ownersBatch(leads, companies: new, at: start))
        try store.commit(fillerBatch(20_000, 100, at: start))
        #expect(try storedBound(directory, "owners_pending_from") == 1)
        try expectOwnersAfterACrash(directory, companies: new, partner: "beta")
        _ = store
    }
}


@Test("a second process's store (leadctl register beside the daemon) closes without writing owners: the daemon's pending owners still survive its crash")
func anotherProcessesStoreLeavesTheBoundAlone() throws {
    let first = (0..<10).map { "first\($0)" }, later = (0..<20).map { "later\($0)" }
    func routed(_ companies: [String], _ prefix: String) -> StoreBatch {
        ownersBatch(companies.enumerated().map { accountLead("\(prefix)-\($0.offset)", company: $0.element, partner: "acme", at: t0 + 1) },
                    companies: companies, at: t0 + 1)
    }
    try withStateDirectory { directory throws in
        let daemon = try LeadStore(directory: directory)
        try daemon.commit(fillerBatch(0, LeadStore.ownerCycleLeads))
        try daemon.commit(routed(first, "f"))
        let bound = try storedBound(directory, "owners_pending_from")
        do {
            // Opened beside the daemon, as `leadctl register` does: it finds the first owners
            // pending; then the daemon routes more, which only the daemon holds.
            let other = try LeadStore(directory: directory)
            try daemon.commit(routed(later, "l"))
            withExtendedLifetime(other) {}
        }
        #expect(try storedBound(directory, "owners_pending_from") == bound)
        try expectOwnersAfterACrash(directory, companies: later, partner: "acme")
        _ = daemon
    }
}

@Test("account owners are pruned to the millisecond, found through their index by day (schema v12)")
func ownersPrunedThroughTheDayIndex() throws {
    let day: Int64 = 86_400_000
    let midnight = (t0 / day + 1) * day
    // Two days before a midnight, just before it, at it, an hour and two hours after it.
    let times: [Int64] = [midnight - 2 * day, midnight - 1, midnight, midnight + 3_600_000, midnight + 7_200_000]
    let companies = times.indices.map { "firm\($0)" }
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory)
        for (i, time) in times.enumerated() {
            try store.commit(ownersBatch([accountLead("l-\(i)", company: companies[i], partner: "acme", at: time)], companies: [companies[i]], at: time))
        }
        try store.flushAccountOwners()
        #expect(try ownerRows(directory).count == 2 * times.count)
        // An hour and a half after midnight: the owners of that day routed before it go with
        // those of the days before; the one routed after it stays.
        while try store.prune(olderThan: midnight + 5_400_000) > 0 {}
        #expect(Set(try ownerRows(directory).keys) == Set(keys(companies[4])))
        let (indexes, plan) = try DatabaseQueue(path: storeFile(directory)).read { db in
            (try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'account_owners'"),
             try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT bucket, account_key FROM account_owners WHERE routed_at / 86400000 <= ? AND routed_at < ? LIMIT ?
                """, arguments: [1, 2, 3]).map { $0["detail"] as String? ?? "" }.joined(separator: "; "))
        }
        #expect(indexes == ["CREATE INDEX account_owners_routed_day ON account_owners (routed_at / 86400000)"])
        #expect(plan.contains("account_owners_routed_day"), "\(plan)")
        _ = store
    }
}

@Test("a store of schema v11 opens as v12: its owners kept, indexed by day instead of by the millisecond")
func ownersIndexMigratesToDays() throws {
    let companies = (0..<30).map { "shop\($0)" }
    try withStateDirectory { directory in
        try withStore(directory) { store in
            try store.commit(ownersBatch(companies.enumerated().map { accountLead("m-\($0.offset)", company: $0.element, partner: "acme") }, companies: companies))
            try store.flushAccountOwners()
        }
        let before = try ownerRows(directory)
        #expect(before.count == 2 * companies.count)
        try DatabaseQueue(path: storeFile(directory)).write { try rewindToV11($0) }
        func indexes() throws -> [String] {
            try DatabaseQueue(path: storeFile(directory)).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'account_owners' ORDER BY name")
            }
        }
        #expect(try indexes() == ["account_owners_routed_at"])
        try withStore(directory) { store throws in
            #expect(try store.lookUp(leadIDs: [], accountKeys: keys("shop7")).owners.mapValues(\.partnerID) == Dictionary(uniqueKeysWithValues: keys("shop7").map { ($0, "acme") }))
        }
        #expect(try indexes() == ["account_owners_routed_day"])
        #expect(try ownerRows(directory) == before)
    }
}

@Test("an owner read from the table is kept in memory; the sweep writing its key, another process's commit and pruning each make routing read the table again")
func ownersReadFromTheTableAreKept() throws {
    let owners = { (partner: String) in Dictionary(uniqueKeysWithValues: keys("kept").map { ($0, partner) }) }
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory)
        try store.commit(ownersBatch([accountLead("l1", company: "kept", partner: "acme")], companies: ["kept"]))
        try store.flushAccountOwners()
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept")).owners.mapValues(\.partnerID) == owners("acme"))
        // Changed behind the store's back: the owners it read are still what routing gets…
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "UPDATE account_owners SET partner_id = 'zeta'") }
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept")).owners.mapValues(\.partnerID) == owners("acme"))
        // …until its next commit notices the other connection's.
        try store.commit(fillerBatch(0, 1, at: t0 + 1))
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept")).owners.mapValues(\.partnerID) == owners("zeta"))
        // Routed to another partner: pending first, then written by the sweep (here, at a
        // clean stop's flush): the owner kept from the table must not come back.
        try store.commit(ownersBatch([accountLead("l2", company: "kept", partner: "beta", at: t0 + 2)], companies: ["kept"], at: t0 + 2))
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept")).owners.mapValues(\.partnerID) == owners("beta"))
        try store.flushAccountOwners()
        #expect(try ownerRows(directory) == owners("beta"))
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept")).owners.mapValues(\.partnerID) == owners("beta"))
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept"), besideCommit: true).owners.mapValues(\.partnerID) == owners("beta"))
        // Past retention: pruned from the table, and from memory.
        while try store.prune(olderThan: t0 + 10) > 0 {}
        #expect(try ownerRows(directory).isEmpty)
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("kept")).owners.isEmpty)
    }
}

@Test("an owner kept from the table follows the sweep's writes as the row does; a read that began at an older epoch adds nothing")
func ownersKeptFollowTheSweep() {
    let hour = LeadStore.ownerRefreshMilliseconds
    func writing(_ partner: String, at time: Int64) -> PendingOwners.Plan {
        var plan = PendingOwners.Plan()
        plan.write = [(bucket: LeadStore.ownerBucket("n:kept"), key: "n:kept", owner: AccountOwner(partnerID: partner, routedAt: time),
                       hash: StringTable<AccountOwner>.processHash(of: "n:kept"))]
        return plan
    }
    var pending = PendingOwners()
    let before = pending.epoch
    pending.apply(writing("beta", at: t0))
    // A read that began before that commit found the old owner: too late to keep.
    pending.remember([(key: "n:kept", owner: AccountOwner(partnerID: "acme", routedAt: t0 - 1))], readAt: before)
    #expect(pending.owner("n:kept") == nil)
    // One that began after it is kept.
    pending.remember([(key: "n:kept", owner: AccountOwner(partnerID: "beta", routedAt: t0))], readAt: pending.epoch)
    #expect(pending.owner("n:kept") == AccountOwner(partnerID: "beta", routedAt: t0))
    // The same owner within the hour leaves the row, and the entry, as they were…
    pending.apply(writing("beta", at: t0 + hour))
    #expect(pending.owner("n:kept") == AccountOwner(partnerID: "beta", routedAt: t0))
    // …later, the row takes the new time; another owner at once.
    pending.apply(writing("beta", at: t0 + hour + 1))
    #expect(pending.owner("n:kept") == AccountOwner(partnerID: "beta", routedAt: t0 + hour + 1))
    pending.apply(writing("gamma", at: t0 + hour + 2))
    #expect(pending.owner("n:kept") == AccountOwner(partnerID: "gamma", routedAt: t0 + hour + 2))
}

@Test("a sweep writes no owner whose row, kept from the table, already has it within the hour; another connection's commit makes it write them all")
func ownersTheRowAlreadyHasAreNotWritten() throws {
    let hour = LeadStore.ownerRefreshMilliseconds
    var pending = PendingOwners()
    let keys = ["d:same.example", "d:later.example", "d:moved.example"]
    pending.remember(keys.map { (key: $0, owner: AccountOwner(partnerID: "acme", routedAt: t0)) }, readAt: pending.epoch)
    let changes = [OwnerChange(keys[0], "acme"), OwnerChange(keys[1], "acme"), OwnerChange(keys[2], "beta")]
    func written(at time: Int64) -> [String: AccountOwner] {
        // A whole cycle's leads: every bucket is swept, so every owner the plan keeps is written.
        let plan = pending.plan(adding: changes, leads: LeadStore.ownerCycleLeads, firstLeadRow: 1, at: time, nextLeadRow: { 2 })
        #expect(plan.keep.isEmpty)
        return Dictionary(uniqueKeysWithValues: plan.write.map { ($0.key, $0.owner) })
    }
    // Within the hour: the same owner is left out, another partner is written.
    #expect(written(at: t0 + hour) == [keys[2]: AccountOwner(partnerID: "beta", routedAt: t0 + hour)])
    // Past the hour, the same owner's time moves on.
    #expect(Set(written(at: t0 + hour + 1).keys) == Set(keys))
    // What is kept from the table may be stale once another connection committed.
    pending.forgetStored()
    #expect(Set(written(at: t0 + 1).keys) == Set(keys))
}

@Test("an owner left unwritten because its row had it still routes as before, and the row keeps its time")
func ownersLeftUnwrittenStillRoute() throws {
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory)
        try store.commit(ownersBatch([accountLead("l1", company: "again", partner: "acme")], companies: ["again"]))
        try store.flushAccountOwners()
        // Read from the table, and kept.
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("again")).owners.mapValues(\.partnerID) == Dictionary(uniqueKeysWithValues: keys("again").map { ($0, "acme") }))
        try store.commit(ownersBatch([accountLead("l2", company: "again", partner: "acme", at: t0 + 5)], companies: ["again"], at: t0 + 5))
        try store.flushAccountOwners()
        let times = try DatabaseQueue(path: storeFile(directory)).read { db in try Int64.fetchAll(db, sql: "SELECT routed_at FROM account_owners") }
        #expect(times == [t0, t0])
        let found = try store.lookUp(leadIDs: [], accountKeys: keys("again")).owners
        #expect(found.mapValues(\.partnerID) == Dictionary(uniqueKeysWithValues: keys("again").map { ($0, "acme") }))
    }
}

@Test("an owner changed by another connection is written again: the commit that finds its commit does not trust what it kept")
func ownersChangedElsewhereAreWrittenAgain() throws {
    let owners = { (partner: String) in Dictionary(uniqueKeysWithValues: keys("shared").map { ($0, partner) }) }
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory)
        try store.commit(ownersBatch([accountLead("l1", company: "shared", partner: "acme")], companies: ["shared"]))
        try store.flushAccountOwners()
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("shared")).owners.mapValues(\.partnerID) == owners("acme"))
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "UPDATE account_owners SET partner_id = 'zeta'") }
        // Routed to acme again within the hour, a cycle's time later (so this very commit
        // sweeps every bucket): the row (zeta) must become acme.
        let later = t0 + LeadStore.ownerCycleMilliseconds + 5
        try store.commit(ownersBatch([accountLead("l2", company: "shared", partner: "acme", at: later)], companies: ["shared"], at: later))
        #expect(try ownerRows(directory) == owners("acme"))
    }
}

@Test("a clean stop's flush writes every pending owner, even one the row held when it was read: another connection may have changed it since")
func flushTrustsNoOwnerKeptFromTheTable() throws {
    let owners = { (partner: String) in Dictionary(uniqueKeysWithValues: keys("shared").map { ($0, partner) }) }
    try withStateDirectory { directory in
        let store = try LeadStore(directory: directory, durability: .off)
        try store.commit(ownersBatch([accountLead("l1", company: "shared", partner: "acme")], companies: ["shared"]))
        try store.flushAccountOwners()
        #expect(try store.lookUp(leadIDs: [], accountKeys: keys("shared")).owners.mapValues(\.partnerID) == owners("acme"))
        try store.commit(ownersBatch([accountLead("l2", company: "shared", partner: "beta", at: t0 + 5)], companies: ["shared"], at: t0 + 5))
        try store.commit(ownersBatch([accountLead("l3", company: "shared", partner: "acme", at: t0 + 10)], companies: ["shared"], at: t0 + 10))
        try DatabaseQueue(path: storeFile(directory)).write { try $0.execute(sql: "UPDATE account_owners SET partner_id = 'zeta'") }
        try store.flushAccountOwners()
        #expect(try ownerRows(directory) == owners("acme"))
    }
}
