import Foundation
import GRDB
import GRDBSQLite
import LeadRouting

// MARK: - Account owners, written by a sweep

/// Who each account was last routed to, waiting to be written to `account_owners`.
///
/// Writing every routed lead's account keys as it was committed dirtied one leaf page of
/// `account_owners` per key: two random pages per lead, most of a small commit's pages (a
/// steady 10,000 leads/s commits in batches of tens). So a commit leaves its owners *pending*
/// here, and the table is written by a sweep: each key belongs to one of
/// ``LeadStore/ownerBuckets`` buckets (a hash of the key, the table's first key column), and
/// each commit writes the pending owners of the next buckets in turn, as many buckets as its
/// share of a cycle (``LeadStore/ownerCycleLeads`` leads, or ``LeadStore/ownerCycleMilliseconds``,
/// whichever comes first). The owners of a bucket's range are written together, a leaf page
/// once for all of them.
///
/// Routing reads pending owners before the table (``LeadStore/lookUp(leadIDs:accountKeys:besideCommit:)``).
/// After a crash they are found again from the leads they came from: every key pending at the
/// start of a cycle is written during it, so once a cycle ends, every pending owner came from a
/// lead at or after the start of the cycle that just ended, and that lead's row id is stored as
/// `owners_pending_from`. At start-up the leads from there are read again (at most about two
/// cycles of them).
struct PendingOwners {
    typealias Owner = AccountOwner

    /// A pending owner: its key, the key's hash in the tables (``StringTable/hash(_:)``, so
    /// that a sweep need not work it out again), and the owner.
    struct Entry {
        var key: String
        var hash: UInt64
        var owner: Owner
    }

    /// Per bucket, its pending owners, each key once. Kept by bucket, not in one table of
    /// every key: a sweep writes and then drops whole buckets, and a key is found by a scan
    /// of its bucket's few entries (a cycle's keys over 4,096 buckets), hashes compared
    /// first, where a table of tens of thousands of keys cost a commit two or three cache
    /// misses for each key it merged, wrote or dropped (docs/benchmarks.md).
    var buckets = [[Entry]](repeating: [], count: LeadStore.ownerBuckets)
    /// How many owners are pending, in all buckets.
    private(set) var count = 0
    var isEmpty: Bool { count == 0 }
    /// Every pending owner's hash (for the store's owner filter).
    var hashes: [UInt64] { buckets.flatMap { $0.lazy.map(\.hash) } }
    /// How many buckets this cycle has swept, with a fraction.
    var cursor = 0.0
    /// The row id of the first lead whose owners this cycle left pending (`nil`: none yet).
    var cycleStart: Int64?
    /// When the last commit was made (its `createdAt`).
    var lastTime: Int64?
    /// Owners read from the table, so that an account's next leads need not read it again:
    /// a returning account is most of what routing looks up. When the sweep writes a key kept
    /// here, the entry becomes what the row then holds; pruning drops those past retention,
    /// another connection's commit all of them; at ``storedCapacity`` entries they all go.
    var stored = StringTable<Owner>()
    /// Moves on whenever the table's owners may change: a read that began before cannot
    /// add to ``stored`` (``remember(_:readAt:)``).
    var epoch = 0
    static let storedCapacity = 32_768

    /// The owner of `key` and since when, when one is pending or was read from the table.
    func owner(_ key: String) -> Owner? {
        let h = stored.hash(key)
        return pendingOwner(key, hash: h, in: LeadStore.ownerBucket(key)) ?? stored.value(key, hash: h)
    }

    /// `key`'s pending owner (its hash `hash`, its bucket `bucket`), when there is one.
    func pendingOwner(_ key: String, hash: UInt64, in bucket: Int) -> Owner? {
        pending(key, hash: hash, in: bucket).map { buckets[bucket][$0].owner }
    }

    /// Where `key` (its hash `hash`) is in bucket `bucket`, when it is pending.
    func pending(_ key: String, hash: UInt64, in bucket: Int) -> Int? {
        buckets[bucket].withUnsafeBufferPointer { entries in
            for i in entries.indices where entries[i].hash == hash && entries[i].key == key { return i }
            return nil
        }
    }

    /// Sets `key`'s pending owner in its bucket (`hash` its hash there).
    mutating func setPending(_ owner: Owner, forKey key: String, hash: UInt64, bucket: Int) {
        if let at = pending(key, hash: hash, in: bucket) {
            buckets[bucket][at].owner = owner
        } else {
            buckets[bucket].append(Entry(key: key, hash: hash, owner: owner))
            count += 1
        }
    }

    /// Keeps the owners `found` in the table by a read that began at `epoch`, unless the
    /// table's owners may have changed since.
    mutating func remember(_ found: some Sequence<(key: String, owner: Owner)>, readAt epoch: Int) {
        guard epoch == self.epoch else { return }
        for (key, owner) in found {
            if stored.count >= PendingOwners.storedCapacity { stored.removeAll(keepingCapacity: true) }
            stored.set(owner, forKey: key)
        }
    }

    /// Forgets the owners read from the table that `isStale` picks (all of them: `nil`).
    mutating func forgetStored(where isStale: ((Owner) -> Bool)? = nil) {
        epoch += 1
        if let isStale { stored.filter { !isStale($0.value) } } else { stored.removeAll(keepingCapacity: true) }
    }

    /// What a commit writes of the owners, and leaves pending.
    struct Plan {
        /// Rows to write now, in the table's order; `hash` is the key's in the tables.
        var write: [(bucket: Int, key: String, owner: Owner, hash: UInt64)] = []
        /// The batch's owners left pending.
        var keep: [(bucket: Int, key: String, owner: Owner, hash: UInt64)] = []
        /// Every bucket swept by this commit (whose pending keys are all written).
        var swept: [Range<Int>] = []
        var cursor = 0.0
        /// When a cycle ended: the lower bound to store, and the new cycle's first lead row.
        var bound: Int64?
        var wrapped = false
        var firstLeadRow: Int64?
        var time: Int64 = 0
        /// The hash of each key the batch routed (``StringTable/processHash(of:)``), for the
        /// store's owner filter.
        var hashes: [UInt64] = []
    }

    /// The same owner again only moves its time on once it is ``LeadStore/ownerRefreshMilliseconds``
    /// old, as the table's upsert does; another owner replaces it at once.
    static func merged(_ old: Owner?, _ new: Owner) -> Owner {
        guard let old, old.isCurrent(for: new.partnerID, at: new.routedAt) else { return new }
        return old
    }

    /// The plan for a commit at `time` of `leads` leads (the first of them at row
    /// `firstLeadRow`) routing accounts to `added`, in order (the last owner of a key wins).
    func plan(adding added: [OwnerChange], leads: Int, firstLeadRow: Int64?, at time: Int64, nextLeadRow: () throws -> Int64) rethrows -> Plan {
        var plan = Plan()
        plan.time = time
        plan.firstLeadRow = firstLeadRow
        // The batch's owners, each key once, in the order first routed (a table's entries
        // keep their order until a removal, and this one has none), each with its bucket.
        var batch = StringTable<BatchOwner>(minimumCapacity: added.count)
        plan.hashes.reserveCapacity(added.count)
        for change in added {
            let (key, partnerID) = (change.key, change.partnerID)
            // One hash serves the tables (seeded alike), the store's filter and the sweep.
            let h = batch.hash(key)
            plan.hashes.append(h)
            let owner = Owner(partnerID: partnerID, routedAt: time)
            if let at = batch.index(of: key, hash: h) {
                batch[position: at].owner = PendingOwners.merged(batch[position: at].owner, owner)
            } else {
                let bucket = LeadStore.ownerBucket(key)
                let old = pendingOwner(key, hash: h, in: bucket)
                batch.updateValue(BatchOwner(owner: PendingOwners.merged(old, owner), bucket: bucket), forKey: key, hash: h)
            }
        }
        let count = LeadStore.ownerBuckets
        var advance = Double(count) * Double(leads) / Double(LeadStore.ownerCycleLeads)
        if let lastTime, time > lastTime {
            advance += Double(count) * Double(time - lastTime) / Double(LeadStore.ownerCycleMilliseconds)
        }
        let from = Int(cursor)
        var to = cursor + advance
        if advance >= Double(count) {
            plan.swept = [0..<count]
            to = to.truncatingRemainder(dividingBy: Double(count))
            plan.wrapped = true
        } else if to >= Double(count) {
            to -= Double(count)
            plan.swept = [from..<count, 0..<Int(to)]
            plan.wrapped = true
        } else {
            plan.swept = [from..<Int(to)]
        }
        plan.cursor = to
        if plan.wrapped {
            // Every owner pending when the ended cycle began is written by now.
            plan.bound = try cycleStart ?? firstLeadRow ?? nextLeadRow()
        }
        fill(&plan, batch: batch)
        return plan
    }

    /// The plan that writes every pending owner (at a clean stop); `next` is the next lead's row id.
    func planWritingAll(next: Int64) -> Plan {
        var plan = Plan()
        plan.swept = [0..<LeadStore.ownerBuckets]
        plan.wrapped = true
        plan.bound = next
        plan.cursor = cursor
        plan.time = lastTime ?? 0
        fill(&plan, batch: StringTable())
        return plan
    }

    /// A batch's owner of a key, and the key's bucket.
    struct BatchOwner {
        var owner: Owner
        var bucket: Int
    }

    /// Adds to `plan` what its swept buckets write (pending owners, and the batch's there, in
    /// table order) and the batch's owners it leaves pending.
    ///
    /// An owner whose row, kept from the table (``stored``), already has it within the hour
    /// is not written: the upsert would leave that row as it is. An account that returns to
    /// the partner it went to then costs the commit no statement (an index seek, and a `WHERE`
    /// that finds nothing to change). The bench's accounts mostly change partners (their
    /// leads ask for other products), so its figures do not show it (docs/benchmarks.md).
    private func fill(_ plan: inout Plan, batch: StringTable<BatchOwner>) {
        for range in plan.swept {
            for bucket in range {
                for entry in buckets[bucket] where batch.index(of: entry.key, hash: entry.hash) == nil {
                    guard !rowHolds(entry.owner, key: entry.key, hash: entry.hash) else { continue }
                    plan.write.append((bucket, entry.key, entry.owner, entry.hash))
                }
            }
        }
        for entry in batch.entries {
            let bucket = entry.value.bucket
            if plan.swept.contains(where: { $0.contains(bucket) }) {
                guard !rowHolds(entry.value.owner, key: entry.key, hash: entry.hash) else { continue }
                plan.write.append((bucket, entry.key, entry.value.owner, entry.hash))
            } else {
                plan.keep.append((bucket, entry.key, entry.value.owner, entry.hash))
            }
        }
        plan.write.sort { ($0.bucket, $0.key) < ($1.bucket, $1.key) }
    }

    /// Whether `key`'s row (its hash `hash`), as kept from the table, already has `owner`
    /// within the hour, so that writing it would change nothing. Only as exact as ``stored``:
    /// a commit that finds another connection's forgets it first (``LeadStore/commit(_:published:)``).
    func rowHolds(_ owner: Owner, key: String, hash: UInt64) -> Bool {
        guard !stored.isEmpty, let row = stored.value(key, hash: hash) else { return false }
        return row.isCurrent(for: owner.partnerID, at: owner.routedAt)
    }

    /// After the commit of `plan`.
    mutating func apply(_ plan: Plan) {
        if !plan.write.isEmpty {
            epoch += 1
            // A key kept from the table now holds what the upsert left there: the owner written,
            // unless the row already had that owner within the hour (the same rule as ``merged``).
            if !stored.isEmpty {
                for entry in plan.write {
                    guard let at = stored.index(of: entry.key, hash: entry.hash) else { continue }
                    stored[position: at] = PendingOwners.merged(stored[position: at], entry.owner)
                }
            }
        }
        for range in plan.swept {
            for bucket in range {
                count -= buckets[bucket].count
                // Kept for the next cycle's keys: a bucket holds a few, and freeing and
                // allocating its array again each cycle was a malloc and a free a bucket.
                buckets[bucket].removeAll(keepingCapacity: true)
            }
        }
        for (bucket, key, owner, hash) in plan.keep { setPending(owner, forKey: key, hash: hash, bucket: bucket) }
        cursor = plan.cursor
        lastTime = max(lastTime ?? plan.time, plan.time)
        if plan.wrapped {
            cycleStart = plan.keep.isEmpty ? nil : plan.firstLeadRow
        } else if cycleStart == nil, !plan.keep.isEmpty {
            cycleStart = plan.firstLeadRow
        }
    }

    /// After pruning, when no lead at or past `next` is left: a cycle that began at a pruned
    /// lead began, for the bound it will store, where rows numbered again from 1 begin.
    mutating func lowerCycleStart(to next: Int64) {
        if let start = cycleStart, start > next { cycleStart = next }
    }

    /// Adds an owner found again at start-up.
    mutating func recover(_ key: String, _ owner: Owner) {
        let hash = stored.hash(key), bucket = LeadStore.ownerBucket(key)
        setPending(PendingOwners.merged(pendingOwner(key, hash: hash, in: bucket), owner), forKey: key, hash: hash, bucket: bucket)
    }
}

extension LeadStore {
    /// Buckets of the sweep (the table's first key column).
    static let ownerBuckets = 4096
    /// A cycle of the sweep writes every bucket once within this many leads…
    public static let ownerCycleLeads = 16_384
    /// …or this long, whichever comes first.
    static let ownerCycleMilliseconds: Int64 = 60_000
    static let ownersPendingFromKey = "owners_pending_from"

    /// The bucket of an account key: the top bits of its FNV-1a digest, mixed.
    static func ownerBucket(_ key: String) -> Int {
        var z = UInt64(bitPattern: digest(key))
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z >> 52)
    }

    /// Finds the owners pending at the last stop again, from the leads since `owners_pending_from`.
    static func loadPendingOwners(_ db: Database) throws -> PendingOwners {
        var pending = PendingOwners()
        guard var from = try Int64.fetchOne(db, sql: "SELECT value FROM store_state WHERE key = ?", arguments: [ownersPendingFromKey]) else {
            return pending
        }
        // Row ids start again from 1 once pruning has deleted every lead: a bound past the
        // newest lead then means rows were numbered again below it, so read them all (few).
        if from > (try nextRowID("leads", db)) { from = 0 }
        let rows = try Row.fetchCursor(
            db, sql: "SELECT id, partner_id, routed_at, lead FROM leads WHERE id >= ? AND partner_id IS NOT NULL ORDER BY id",
            arguments: [from])
        while let row = try rows.next() {
            let id: Int64 = row[0]
            let partnerID: String = row[1]
            let routedAt: Int64 = row[2]
            let lead: [UInt8] = [UInt8](row[3] as Data)
            // The keys routing used: the lead's bytes as received parse as they did then.
            guard case .success(let parsed) = LeadParser.parse(lead) else { continue }
            if pending.cycleStart == nil { pending.cycleStart = id }
            for key in parsed.facts.account.keys { pending.recover(key, PendingOwners.Owner(partnerID: partnerID, routedAt: routedAt)) }
        }
        if pending.isEmpty { pending.cycleStart = nil }
        return pending
    }

    /// A row changes only when the owner changes, or its time is over an hour old: a
    /// returning account costs no write (its ownership lapses at most an hour early, against
    /// a retention of days).
    static let ownerUpsertSQL = RawSQL.insertSQL("account_owners", ["bucket", "account_key", "partner_id", "routed_at"], then: """
         ON CONFLICT (bucket, account_key) DO UPDATE SET partner_id = excluded.partner_id, routed_at = excluded.routed_at
        WHERE account_owners.partner_id != excluded.partner_id
           OR account_owners.routed_at < excluded.routed_at - \(LeadStore.ownerRefreshMilliseconds)
        """)

    /// Inside a commit: writes the owners the sweep reaches (and, when a cycle ended, the bound).
    static func writeOwners(_ plan: PendingOwners.Plan, _ db: Database) throws {
        if !plan.write.isEmpty {
            let write = plan.write
            try RawSQL.insert(
                rows: write.count, db, sql: ownerUpsertSQL, columns: 4,
                lend: { i, s, p, next in
                    let (bucket, key, owner, _) = write[i]
                    try RawSQL.withUTF8(key, owner.partnerID, nil, nil) { key, partnerID, _, _ in
                        sqlite3_bind_int64(s, p + 1, Int64(bucket))
                        RawSQL.lent(s, p + 2, text: key)
                        RawSQL.lent(s, p + 3, text: partnerID)
                        sqlite3_bind_int64(s, p + 4, owner.routedAt)
                        try next()
                    }
                })
        }
        if let bound = plan.bound {
            // Not `max`: a bound may go back (row ids start again once every lead is pruned).
            try db.execute(
                sql: "INSERT INTO store_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                arguments: [ownersPendingFromKey, bound])
        }
    }

    /// Writes every pending owner now (at a clean stop, so the next start reads no leads again).
    public func flushAccountOwners() throws(StoreError) {
        do {
            let plan = try pool.write { db -> PendingOwners.Plan? in
                let next = try LeadStore.nextRowID("leads", db)
                // Owners kept from the table are not trusted to leave a write out here: unlike a
                // commit, a flush does not look for another connection's commits.
                let plan = pendingOwners.withLock { pending -> PendingOwners.Plan? in
                    guard !pending.isEmpty else { return nil }
                    pending.forgetStored()
                    return pending.planWritingAll(next: next)
                }
                guard let plan else { return nil }
                try LeadStore.writeOwners(plan, db)
                return plan
            }
            if let plan { pendingOwners.withLock { $0.apply(plan) } }
        } catch {
            throw StoreError.wrap(error, "writing account owners", path: path)
        }
    }

    /// The owners of `keys` in memory (pending, or read from the table before), the keys
    /// that are not, and the epoch to remember the others' owners at. Taken before the table
    /// is read: an owner written meanwhile is still pending here.
    func pendingOwners(_ keys: [String]) -> (owners: StringTable<AccountOwner>, rest: [String], epoch: Int) {
        var owners = StringTable<AccountOwner>(minimumCapacity: keys.count)
        var rest: [String] = []
        guard !keys.isEmpty else { return (owners, rest, 0) }
        return pendingOwners.withLock { pending in
            for key in keys {
                if let owner = pending.owner(key) {
                    owners.set(owner, forKey: key)
                } else {
                    rest.append(key)
                }
            }
            return (owners, rest, pending.epoch)
        }
    }

    /// Keeps the owners of `rest` that a read beginning at `epoch` found in the table.
    func rememberStoredOwners(_ rest: [String], in owners: StringTable<AccountOwner>, readAt epoch: Int) {
        guard !rest.isEmpty else { return }
        let found = rest.lazy.compactMap { key in owners[key].map { (key: key, owner: $0) } }
        pendingOwners.withLock { $0.remember(found, readAt: epoch) }
    }

    /// `owners` with the stored owners of `rest` (keys not pending) added.
    func storedOwners(_ rest: [String], _ db: Database, adding owners: StringTable<AccountOwner>) throws -> StringTable<AccountOwner> {
        guard !rest.isEmpty else { return owners }
        var owners = owners
        let probe = try db.cachedStatement(sql: "SELECT partner_id, routed_at FROM account_owners WHERE bucket = ? AND account_key = ?")
        for key in rest {
            let found = try RawSQL.firstRow(probe, db, bind: { s in
                sqlite3_bind_int64(s, 1, Int64(LeadStore.ownerBucket(key)))
                RawSQL.text(s, 2, key)
            }, read: { s in
                AccountOwner(partnerID: sqlite3_column_text(s, 0).map { String(cString: $0) } ?? "", routedAt: sqlite3_column_int64(s, 1))
            })
            if let found { owners.set(found, forKey: key) }
        }
        return owners
    }
}

/// Who an account was last routed to, and when that was recorded.
public struct AccountOwner: Sendable, Equatable {
    public var partnerID: String
    /// Milliseconds since 1970. The same owner again is recorded anew only once this is
    /// ``LeadStore/ownerRefreshMilliseconds`` old.
    public var routedAt: Int64

    /// Whether routing the account to `partnerID` at `now` would change nothing stored.
    public func isCurrent(for partnerID: String, at now: Int64) -> Bool {
        self.partnerID == partnerID && routedAt >= now - LeadStore.ownerRefreshMilliseconds
    }
}
