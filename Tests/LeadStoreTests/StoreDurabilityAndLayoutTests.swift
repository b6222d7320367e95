import Foundation
import GRDB
import Synchronization
import LeadRouting
import LeadStore
import Testing

// MARK: - Durability

@Test(arguments: Durability.allCases)
func everyDurabilityOpensAndCommits(_ durability: Durability) throws {
    try withStateDirectory { directory throws in
        try withStore(directory, durability: durability) { store throws in
            #expect(store.durability == durability)
            // Every commit runs on the writer's connection at the configured level.
            let level: [Durability: Int] = [.full: 2, .normal: 1, .off: 0]
            #expect(try store.writerSynchronousLevel() == level[durability])
            try store.commit(batch(leads: [storedLead("web-1")], envelopes: [message("t", 1)], leadIDs: ["web-1"]), published: ["t": 1])
            #expect(try store.leadCount() == 1)
        }
        try withStore(directory, durability: durability) { store throws in
            #expect(try store.lead("web-1") == storedLead("web-1"))
            #expect(try numbering(store) == ["t": state(1, 1)])
            #expect(try store.envelopes(topic: "t", fromSeq: 1, limit: 10) == [message("t", 1)])
            try store.commit(batch(leads: [storedLead("web-2")], envelopes: [message("t", 2)]))
        }
        // A store is not tied to the durability it was written with.
        for other in Durability.allCases {
            try withStore(directory, durability: other) { store throws in
                #expect(try store.knownLeads(["web-1", "web-2"]) == ["web-1", "web-2"])
                #expect(try numbering(store) == ["t": state(2, 1)])
            }
        }
    }
}

@Test("syncing on request: with durability full, commits only write and syncLog makes them durable, also after the log starts afresh; other levels sync as they go")
func syncOnRequest() throws {
    for durability in Durability.allCases {
        try withStateDirectory { directory throws in
            let store = try LeadStore(directory: directory, durability: durability, syncLogOnRequest: true)
            #expect(store.syncsLogOnRequest == (durability == .full))
            // Opening syncs what a crashed process may have left unsynced in the log.
            #expect(store.logSyncs == (durability == .full ? 1 : 0))
            let level: [Durability: Int] = [.full: 1, .normal: 1, .off: 0]
            #expect(try store.writerSynchronousLevel() == level[durability])
            guard durability == .full else { return }
            for i in 0..<10 {
                try store.commit(batch(leads: [storedLead("s\(i)")], envelopes: [message("partner/acme/", i + 1)], leadIDs: ["s\(i)"]))
                try store.syncLog()
            }
            #expect(store.logSyncs == 11)
            // Once a finished checkpoint has the next commit start the log afresh.
            _ = try store.finishCheckpoint()
            try store.commit(batch(leads: [storedLead("s10")], envelopes: [message("partner/acme/", 11)], leadIDs: ["s10"]))
            try store.syncLog()
            #expect(store.logSyncs == 12)
            // Replay's bound: only through the last published seq.
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 3, limit: 20, throughSeq: 5).map(\.seq) == [3, 4, 5])
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 3, limit: 20, throughSeq: 0).isEmpty)
            try withStore(directory) { reopened throws in
                #expect(try reopened.leadCount() == 11)
                #expect(try reopened.envelopes(topic: "partner/acme/", fromSeq: 1, limit: 20).count == 11)
            }
        }
    }
}

// MARK: - Checkpoints and bounded pruning

@Test("a checkpoint from its own connection succeeds beside the writer and moves the log into the database")
func checkpointMovesTheLog() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            for i in 0..<20 {
                try store.commit(batch(leads: [storedLead("c\(i)")], envelopes: [message("partner/acme/", i + 1)], leadIDs: ["c\(i)"]))
            }
            store.waitForKeyFilters()  // a filling key filter's read would hold the log back
            let result = try store.checkpoint()
            #expect(result.walPages > 0)
            #expect(result.checkpointed == result.walPages)
            #expect(try store.leadCount() == 20)
        }
    }
}

@Test("pruning looks only at the oldest rows: new rows behind old ones are never touched, and a store with nothing old is left alone")
func pruningStopsAtNewRows() throws {
    try withStateDirectory { directory in
        try withStore(directory) { store in
            let old: Int64 = 1_700_000_000_000
            let new = old + 86_400_000 * 400
            try store.commit(batch(leads: (0..<5).map { storedLead("o\($0)", routedAt: old) }, createdAt: old))
            try store.commit(batch(leads: (0..<5).map { storedLead("n\($0)", routedAt: new) }, createdAt: new))
            #expect(try store.prune(olderThan: old + 1, limit: 3) == 3)
            #expect(try store.prune(olderThan: old + 1, limit: 3) == 2)
            #expect(try store.prune(olderThan: old + 1, limit: 3) == 0)
            #expect(try store.leadCount() == 5)
            #expect(try store.knownLeads((0..<5).map { "n\($0)" }).count == 5)
        }
    }
}

@Test("an envelope is stored without its lead, which is kept once, and comes back byte for byte")
func envelopesAreStoredWithoutTheirLead() throws {
    // A lead with escapes, non-ASCII text and a NUL escape: the splice must not touch it.
    let leadBytes = Array(#"{"lead_id":"web-1","notes":"caf\u00e9 \"quoted\" ünïcode \u0000"}"#.utf8)
    let lead = storedLead("web-1", bytes: leadBytes)
    func envelope(_ topic: String, _ seq: Int) -> OutgoingMessage {
        let head = Array(#"{"seq":\#(seq),"topic":"\#(topic)","lead":"#.utf8)
        let tail = Array(#","rule":"rotation"}"#.utf8)
        return OutgoingMessage(
            topic: topic, seq: seq, envelope: head + leadBytes + tail, leadRange: head.count..<(head.count + leadBytes.count))
    }
    let owner = envelope("partner/acme", 1), coSeller = envelope("vendor-sales/", 1)
    let rejection = message("rejected/", 1)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [lead], envelopes: [owner, coSeller, rejection], leadIDs: ["web-1", "web-1", nil]))
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10).map(\.envelope) == [owner.envelope])
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 1, limit: 10).map(\.envelope) == [coSeller.envelope])
            #expect(try store.envelopes(topic: "rejected/", fromSeq: 1, limit: 10).map(\.envelope) == [rejection.envelope])
        }
        let rows = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: "SELECT topic, length(envelope) AS size, lead_at FROM envelopes ORDER BY topic")
        }
        let stored = Dictionary(uniqueKeysWithValues: rows.map { ($0["topic"] as String, ($0["size"] as Int, $0["lead_at"] as Int?)) })
        #expect(stored["partner/acme"]?.0 == owner.envelope.count - leadBytes.count)
        #expect(stored["partner/acme"]?.1 == owner.leadRange?.lowerBound)
        #expect(stored["vendor-sales/"]?.0 == coSeller.envelope.count - leadBytes.count)
        #expect(stored["rejected/"]?.0 == rejection.envelope.count)
        #expect(stored["rejected/"]?.1 == nil)
        // A lead pruned a moment before its envelopes: they are not replayed without it.
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "DELETE FROM leads") }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10).isEmpty)
            #expect(try store.envelopes(topic: "rejected/", fromSeq: 1, limit: 10).map(\.envelope) == [rejection.envelope])
        }
    }
}

@Test("a partner list is stored once and found again by its content, across restarts")
func partnerListsAreKeptByContent() throws {
    try withStateDirectory { directory throws in
        var first: Int64 = 0
        try withStore(directory) { store throws in
            first = try store.partnerListID(["acme", "beta", "gamma"])
            #expect(try store.partnerListID(["acme", "beta", "gamma"]) == first)
            let reordered = try store.partnerListID(["beta", "acme", "gamma"])
            #expect(reordered != first)
            #expect(try store.partnerList(reordered) == ["beta", "acme", "gamma"])
            #expect(try store.partnerListID([]) != first)
            #expect(try store.partnerList(9_999) == nil)
        }
        try withStore(directory) { store throws in
            #expect(try store.partnerListID(["acme", "beta", "gamma"]) == first)
            #expect(try store.partnerList(first) == ["acme", "beta", "gamma"])
            #expect(try store.candidateLists(first) == [])
        }
    }
}

@Test("a router's candidate lists are kept with its partner list: the same ids with other lists are another entry")
func candidateListsAreKeptWithThePartnerList() throws {
    try withStateDirectory { directory throws in
        let ids = ["acme", "beta", "gamma", "delta"]
        let lists = [[0, 1, 2, 3], [], [1, 3], [2]]
        try withStore(directory) { store throws in
            let plain = try store.partnerListID(ids)
            let withLists = try store.partnerListID(ids, candidateLists: lists)
            #expect(withLists != plain)
            #expect(try store.partnerListID(ids, candidateLists: lists) == withLists)
            #expect(try store.partnerListID(ids, candidateLists: [[0, 1, 2, 3], [], [1, 2], [2]]) != withLists)
            #expect(try store.candidateLists(withLists) == lists)
            #expect(try store.candidateLists(plain) == [])
            #expect(try store.candidateLists(9_999) == nil)
            #expect(try store.partnerList(withLists) == ids)
        }
        // A router's lists with 10,000 partners, as the daemon keeps them: positions far apart too.
        let many = (0..<40).map { k in Array(stride(from: k, to: 10_000, by: 7 + k)) }
        try withStore(directory) { store throws in
            let id = try store.partnerListID(ids, candidateLists: many)
            #expect(try store.candidateLists(id) == many)
        }
    }
}

@Test("account owners: the last owner in a batch wins; a returning account is rewritten only when its owner changes or its time is an hour old")
func accountOwnersAreWrittenOnlyWhenTheyChange() throws {
    let t0: Int64 = 1_700_000_000_000
    func owners(_ list: [(String, String)], at time: Int64) -> StoreBatch {
        var b = batch(createdAt: time)
        b.accountOwners = list.map { OwnerChange($0.0, $0.1) }
        return b
    }
    try withStateDirectory { directory throws in
        func routedAt(_ key: String) throws -> Int64? {
            try DatabaseQueue(path: storeFile(directory)).read { db in
                try Int64.fetchOne(db, sql: "SELECT routed_at FROM account_owners WHERE account_key = ?", arguments: [key])
            }
        }
        try withStore(directory) { store throws in
            try store.commit(owners([("d:a.example", "acme"), ("n:a", "acme"), ("d:a.example", "beta")], at: t0))
            let found = try store.lookUp(leadIDs: [], accountKeys: ["d:a.example", "n:a", "n:unknown"]).owners.mapValues(\.partnerID)
            #expect(found == ["d:a.example": "beta", "n:a": "acme"])
            // Same owner, 10 minutes later: not rewritten.
            try store.commit(owners([("n:a", "acme")], at: t0 + 600_000))
        }
        #expect(try routedAt("n:a") == t0)
        try withStore(directory) { store throws in
            // Another owner within the hour: rewritten at once.
            try store.commit(owners([("n:a", "gamma")], at: t0 + 700_000))
            #expect(try store.lookUp(leadIDs: [], accountKeys: ["n:a"]).owners.mapValues(\.partnerID) == ["n:a": "gamma"])
        }
        #expect(try routedAt("n:a") == t0 + 700_000)
        try withStore(directory) { store throws in
            // Same owner, over an hour later: its time moves on, so retention counts from there.
            try store.commit(owners([("d:a.example", "beta")], at: t0 + 2 * 3_600_000))
        }
        #expect(try routedAt("d:a.example") == t0 + 2 * 3_600_000)
        try withStore(directory) { store throws in
            _ = try store.prune(olderThan: t0 + 3_600_000)
            #expect(try store.lookUp(leadIDs: [], accountKeys: ["d:a.example", "n:a"]).owners.mapValues(\.partnerID) == ["d:a.example": "beta"])
        }
    }
}

@Test("after commits raced by checkpoints from another connection, a checkpoint finished from the writer copies everything back and the next commit starts the log afresh")
func finishedCheckpointRewindsTheLog() throws {
    let payload = [UInt8](repeating: 0x61, count: 4_000)
    func leads(_ from: Int, _ count: Int) -> StoreBatch {
        batch(leads: (from..<(from + count)).map { storedLead("wal-\($0)", bytes: Array(#"{"lead_id":"wal-\#($0)","x":""#.utf8) + payload + Array(#""}"#.utf8)) })
    }
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            let walPath = store.path + "-wal"
            func walBytes() -> Int { ((try? FileManager.default.attributesOfItem(atPath: walPath))?[.size] as? Int) ?? 0 }
            // Commits with a background checkpoint racing them, as in the daemon under load.
            let stop = Atomic<Bool>(false)
            let stopped = DispatchSemaphore(value: 0)
            let checkpoints = Thread {
                while !stop.load(ordering: .relaxed) { _ = try? store.checkpoint() }
                stopped.signal()
            }
            checkpoints.start()
            var next = 0
            for _ in 0..<40 {
                try store.commit(leads(next, 50))
                next += 50
            }
            stop.store(true, ordering: .relaxed)
            stopped.wait()
            // The race may have let the log start afresh at any point; with no checkpoint
            // running, these commits leave it holding hundreds of pages whatever happened.
            for _ in 0..<10 {
                try store.commit(leads(next, 50))
                next += 50
            }
            let grown = walBytes()
            // Finished from the writer: everything is copied back...
            store.waitForKeyFilters()  // a filling key filter's read would hold the log back
            let finished = try #require(try store.finishCheckpoint())
            #expect(finished.walPages > 400, "the log should hold hundreds of pages before it is rewound (\(finished.walPages))")
            #expect(finished.checkpointed == finished.walPages)
            // ...so the next commit writes from the start of the log again, not after its end.
            try store.commit(leads(next, 1))
            let after = try store.checkpoint()
            #expect(after.walPages < 100, "the log was not rewound: \(after.walPages) pages")
            #expect(store.lastKnownWALPages == after.walPages)
            #expect(walBytes() == grown, "the file keeps its size; only its use starts again")
        }
    }
}

private func spliced(_ topic: String, _ seq: Int, _ lead: [UInt8]) -> OutgoingMessage {
    let head = Array(#"{"seq":\#(seq),"topic":"\#(topic)","lead":"#.utf8)
    let tail = Array(#","rule":"rotation"}"#.utf8)
    return OutgoingMessage(topic: topic, seq: seq, envelope: head + lead + tail, leadRange: head.count..<(head.count + lead.count))
}

@Test("replay's limit counts only the envelopes it returns: one whose lead is gone does not use up the page")
func replayLimitSkipsEnvelopesWithoutTheirLead() throws {
    let a = Array(#"{"lead_id":"a"}"#.utf8), b = Array(#"{"lead_id":"b"}"#.utf8)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("a", bytes: a), storedLead("b", bytes: b)],
                                   envelopes: [spliced("partner/acme/", 1, a), spliced("partner/acme/", 2, b)], leadIDs: ["a", "b"]))
        }
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "DELETE FROM leads WHERE lead_id = 'a'") }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 1, limit: 1).map(\.seq) == [2])
        }
    }
}

@Test("an old envelope is never spliced with a later lead of the same lead_id, and pruning keeps a lead while an envelope needs it")
func envelopesKeepTheirOwnLead() throws {
    let old = Array(#"{"lead_id":"x","v":1}"#.utf8), new = Array(#"{"lead_id":"x","v":2}"#.utf8)
    let t0: Int64 = 1_700_000_000_000
    let owner = spliced("partner/acme/", 1, old), coSeller = spliced("vendor-sales/", 1, old)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("x", routedAt: t0, bytes: old)], envelopes: [owner, coSeller], leadIDs: ["x", "x"], createdAt: t0))
            // One small pruning step takes one envelope; the lead stays while the other needs it.
            #expect(try store.prune(olderThan: t0 + 1, limit: 1) == 1)
            #expect(try store.knownLeads(["x"]) == ["x"])
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 1, limit: 10).map(\.envelope) == [coSeller.envelope])
            // The next step takes the other envelope, then the lead.
            _ = try store.prune(olderThan: t0 + 1, limit: 1)
            _ = try store.prune(olderThan: t0 + 1, limit: 1)
            #expect(try store.knownLeads(["x"]).isEmpty)
        }
        // Even if a lead row went first (only by hand: pruning keeps it), a lead with the same id
        // routed later is not spliced into the old envelope: it is left out instead.
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("y", routedAt: t0, bytes: old)], envelopes: [spliced("vendor-sales/", 2, old)], leadIDs: ["y"], createdAt: t0))
            try store.commit(batch(leads: [storedLead("z", routedAt: t0, bytes: old)], createdAt: t0))
        }
        try DatabaseQueue(path: storeFile(directory)).write { db in try db.execute(sql: "DELETE FROM leads WHERE lead_id = 'y'") }
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("y", routedAt: t0 + 10, bytes: new)], envelopes: [spliced("partner/acme/", 2, new)], leadIDs: ["y"], createdAt: t0 + 10))
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 1, limit: 10).isEmpty)
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 2, limit: 10).map(\.envelope) == [spliced("partner/acme/", 2, new).envelope])
        }
    }
}

@Test("a store written before schema v4 (envelopes stored whole, records naming partners) opens, migrates and replays as before")
func storeFromBeforeV4Migrates() throws {
    let whole = message("partner/acme", 1)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [storedLead("old-1")], envelopes: [whole], leadIDs: ["old-1"]))
        }
        // Take the file back to schema v3, as the previous leadrouterd left it.
        try DatabaseQueue(path: storeFile(directory)).write { db in
            try rewindToV4(db)
            try db.execute(sql: """
                ALTER TABLE envelopes DROP COLUMN lead_row;
                ALTER TABLE envelopes DROP COLUMN lead_at;
                DROP TABLE partner_lists;
                DELETE FROM grdb_migrations WHERE identifier LIKE 'v4%';
                """)
        }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme", fromSeq: 1, limit: 10) == [whole])
            #expect(try store.lead("old-1")?.decisionText.contains("territory") == true)
            #expect(try store.partnerListID(["acme"]) > 0)
        }
        let columns = try DatabaseQueue(path: storeFile(directory)).read { db in try db.columns(in: "envelopes").map(\.name) }
        #expect(columns.contains("lead_at") && columns.contains("lead_row"))
    }
}

@Test("batches of every size up to 40 are inserted 16, 4 and 1 rows a statement: each lead, its envelopes and their lead rows come back right", arguments: [0, 1, 3, 4, 5, 15, 16, 17, 20, 21, 33, 40])
func batchesOfEverySizeInsertTheirRowsRight(size: Int) throws {
    // Each lead of a different length, with two envelopes (its partner's and vendor sales')
    // that splice it, and a rejection without a lead after every third: the row ids the
    // envelopes point at must be their own lead's, whichever statement inserted it.
    func leadBytes(_ i: Int) -> [UInt8] { Array(#"{"lead_id":"web-\#(i)","notes":"\#(String(repeating: "x", count: i * 7 % 23))"}"#.utf8) }
    func envelope(_ topic: String, _ seq: Int, _ lead: [UInt8]) -> OutgoingMessage {
        let head = Array(#"{"seq":\#(seq),"topic":"\#(topic)","lead":"#.utf8)
        let tail = Array(#","rule":"rotation"}"#.utf8)
        return OutgoingMessage(topic: topic, seq: seq, envelope: head + lead + tail, leadRange: head.count..<(head.count + lead.count))
    }
    let leads = (0..<size).map { storedLead("web-\($0)", partner: "p\($0 % 3)", routedAt: 1_700_000_000_000 + Int64($0), bytes: leadBytes($0)) }
    var envelopes: [OutgoingMessage] = [], leadIDs: [String?] = [], rejected = 0
    for i in 0..<size {
        envelopes.append(envelope("partner/p\(i % 3)", i / 3 + 1, leadBytes(i)))
        envelopes.append(envelope("vendor-sales/", i + 1, leadBytes(i)))
        leadIDs += ["web-\(i)", "web-\(i)"]
        if i % 3 == 2 {
            rejected += 1
            envelopes.append(message("rejected/", rejected))
            leadIDs.append(nil)
        }
    }
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            // A lead before, so that row ids do not start at 1.
            try store.commit(batch(leads: [storedLead("earlier")], envelopes: [message("earlier", 1)], leadIDs: ["earlier"]))
            try store.commit(batch(leads: leads, envelopes: envelopes, leadIDs: leadIDs))
            #expect(try store.leadCount() == size + 1)
            for lead in leads { #expect(try store.lead(lead.leadID) == lead) }
            for topic in ["partner/p0", "partner/p1", "partner/p2", "vendor-sales/", "rejected/"] {
                let expected = envelopes.filter { $0.topic == topic }
                #expect(try store.envelopes(topic: topic, fromSeq: 1, limit: 100).map(\.envelope) == expected.map(\.envelope), "\(topic)")
            }
        }
        let pointers = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: "SELECT e.lead_id AS envelope_lead, l.lead_id AS row_lead FROM envelopes e JOIN leads l ON l.id = e.lead_row")
        }
        #expect(pointers.count == 2 * size)
        for row in pointers { #expect(row["envelope_lead"] as String == row["row_lead"] as String) }
    }
}

@Test("a batch's decision records are written one after another into one buffer: each is the lead's own record byte for byte, and a store keeps each with its lead, beside leads given their record directly")
func batchRecordsShareOneBuffer() throws {
    let partners = (0..<40).map { i in
        Partner(id: "p\(i)", engagement: .leadsOnly, territories: [Territory(country: i % 2 == 0 ? "US" : "DE")],
                products: i % 3 == 0 ? [] : ["email-security"], weight: 1 + i % 4, active: i % 7 != 0)
    }
    func lead(_ i: Int) throws -> ParsedLead {
        let country = ["US", "DE", "FR"][i % 3]
        let json = #"{"lead_id":"web-\#(i)","source":"webform","kind":"lead","received_at":"2026-11-22T10:00:00Z","company":{"name":"Acme \#(i)","domain":"acme\#(i).example","country":"\#(country)","employees":250},"contact":{"name":"Dana","email":"dana@acme\#(i).example"},"products":["email-security"],"qualification":{"need":"yes","budget":50000,"authority":"decision_maker","timeline_days":90}}"#
        return try LeadParser.parse(Array(json.utf8)).get()
    }
    var pipeline = LeadPipeline(config: RouterConfig(partners: partners), seed: 11)
    var batch = StoreBatch()
    batch.createdAt = 1_700_000_000_000
    // One lead given its record directly first, as a caller building a batch by hand would.
    batch.leads.append(storedLead("direct-0"))
    var expected: [String: [UInt8]] = ["direct-0": storedLead("direct-0").decision]
    var decision = RoutingDecision()
    for i in 0..<30 {
        let parsed = try lead(i)
        guard case .routed(_, let range) = pipeline.route(parsed, now: 1_700_000_000_000, appendingTo: &batch.envelopes, decision: &decision) else {
            Issue.record("lead \(i) was not routed")
            return
        }
        expected["web-\(i)"] = decision.record(messages: batch.envelopes[range], partnerList: 7, reasonsInEnvelope: true)
        batch.add(routed: parsed, channel: .ingest, receivedAt: 1_700_000_000_000, decision: decision, envelopes: range, partnerList: 7)
        if i == 10 {
            batch.leads.append(storedLead("direct-1"))
            expected["direct-1"] = storedLead("direct-1").decision
        }
    }
    #expect(batch.leads.count == 32)
    for i in batch.leads.indices {
        let id = batch.leads[i].leadID
        #expect(Array(batch.record(of: i)) == expected[id], "\(id)")
        #expect(batch.storedLead(i).decision == expected[id], "\(id)")
    }
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch)
            for i in batch.leads.indices {
                #expect(try store.lead(batch.leads[i].leadID) == batch.storedLead(i))
            }
        }
        // The routed leads' records are binary blobs (BinaryRecord), the two given directly JSON text: both read back as JSON.
        let kinds = try DatabaseQueue(path: storeFile(directory)).read { try String.fetchAll($0, sql: "SELECT typeof(decision) || count(*) FROM leads GROUP BY typeof(decision) ORDER BY 1") }
        #expect(kinds == ["blob30", "text2"])
    }
    let runs = batch.recordRuns.filter { $0.count > 0 }
    #expect(runs.count == 30 && runs.allSatisfy { $0.first == BinaryRecord.marker })
    let memory = MemoryRoutingStore()
    try memory.commit(batch, published: [:])
    #expect(memory.contains(leadID: "web-29") && memory.contains(leadID: "direct-1"))
}
