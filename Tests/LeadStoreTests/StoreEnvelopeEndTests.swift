import Foundation
import GRDB
import LeadRouting
import LeadStore
import Testing

// Assignment envelopes are stored without their end (`qualification`, `routed_at`), which the
// store writes again from a number and the lead's `routed_at` when it reads them (schema v15,
// `AssignmentEnvelope`).

@Test("routed leads' envelopes are stored without their end as well as their start and lead, and replay writes all three again byte for byte")
func assignmentEnvelopesAreStoredWithoutTheirEnd() throws {
    let partners = [
        Partner(id: "acme", engagement: .coSell, territories: [Territory(country: "US")]),
        Partner(id: "beta", engagement: .leadsOnly, territories: [Territory(country: "DE")]),
    ]
    var pipeline = LeadPipeline(config: RouterConfig(partners: partners), seed: 3)
    var batch = StoreBatch(reservingFor: 4)
    batch.createdAt = 1_700_000_000_900
    var decision = RoutingDecision()
    // Two countries with a partner (co_sell: two envelopes a lead), one without (vendor-sales/
    // as `direct`); with a qualification of some points and of none.
    for (i, country) in ["US", "DE", "FR", "US"].enumerated() {
        let qualification = i % 2 == 0 ? #","qualification":{"need":"yes","budget":50000,"authority":"decision_maker","timeline_days":30}"# : ""
        let json = #"{"lead_id":"web-\#(i)","company":{"name":"Acme \#(i)","country":"\#(country)","employees":\#(40 * i)}\#(qualification)}"#
        let lead = try LeadParser.parse(Array(json.utf8)).get()
        let routedAt = 1_700_000_000_000 + Int64(i) * 1_001
        guard case .routed(_, let range) = pipeline.route(lead, now: routedAt, appendingTo: &batch.envelopes, decision: &decision) else {
            Issue.record("lead \(i) was not routed")
            return
        }
        batch.add(routed: lead, channel: .ingest, receivedAt: routedAt, decision: decision, envelopes: range, partnerList: nil)
    }
    let published = batch.envelopes.map { (topic: $0.topic, seq: $0.seq, bytes: Array($0.envelope)) }
    #expect(published.count == 6)
    #expect(batch.envelopes.allSatisfy { $0.assignmentEndCode > 1 && $0.assignmentEnd > $0.leadRange!.upperBound })
    func replayed(_ store: LeadStore) throws -> [[UInt8]] {
        try published.map { message in
            try store.envelopes(topic: message.topic, fromSeq: message.seq, limit: 1, throughSeq: message.seq).first.map { Array($0.envelope) } ?? []
        }
    }
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch)
            #expect(try replayed(store) == published.map(\.bytes))
        }
        let rows = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: "SELECT length(envelope) AS size, cut_end FROM envelopes ORDER BY id")
        }
        #expect(rows.count == published.count)
        for (row, whole) in zip(rows, batch.envelopes) {
            // What is left: from after the start to the lead, and from after the lead to the end.
            #expect(row["size"] == whole.assignmentEnd - whole.leadRange!.count - whole.assignmentStart)
            #expect(row["cut_end"] == whole.assignmentEndCode)
        }
        // After a restart (the pending index found again), and read by a reader (leadctl).
        try withStore(directory) { store throws in #expect(try replayed(store) == published.map(\.bytes)) }
        #expect(try replayed(LeadStore(readingDirectory: directory)) == published.map(\.bytes))
    }
}

@Test("an end without a qualification, an end the code cannot hold and a code that is not one: the first two read back as published, the third not at all")
func assignmentEndsOfEveryKind() throws {
    let lead = storedLead("w-1", routedAt: 1_795_341_600_123)
    func envelope(_ seq: Int, end: String, code: Int) -> OutgoingMessage {
        let head = Array(#"{"seq":\#(seq),"lead":"#.utf8), tail = Array(#","rule":"rotation","reasons":["r"]"#.utf8)
        let bytes = head + lead.lead + tail + Array(end.utf8)
        return OutgoingMessage(topic: "t/", seq: seq, envelope: bytes, leadRange: head.count..<(head.count + lead.lead.count),
                               assignmentEnd: code == 0 ? 0 : head.count + lead.lead.count + tail.count, assignmentEndCode: code)
    }
    let withoutQualification = envelope(1, end: #","routed_at":"2026-11-22T10:00:00.123Z"}"#, code: AssignmentEnvelope.endCode(nil))
    let kept = envelope(2, end: #","qualification":{"score":1,"grade":"D","signals":{"fit":1}},"routed_at":"2026-11-22T10:00:00.123Z"}"#, code: 0)
    // A number no release writes: the envelope cannot be read back, so it is left out, as
    // one whose lead is gone.
    let unknown = envelope(3, end: "}", code: 2)
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [lead], envelopes: [withoutQualification, kept, unknown], leadIDs: ["w-1", "w-1", "w-1"]))
            #expect(try store.envelopes(topic: "t/", fromSeq: 1, limit: 10).map(\.envelope) == [withoutQualification.envelope, kept.envelope])
        }
        let ends = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Int?.fetchAll(db, sql: "SELECT cut_end FROM envelopes ORDER BY id")
        }
        #expect(ends == [1, nil, 2])
    }
}

@Test("a store of schema v14 (envelopes stored to their end) is read as it is by a reader, and gets cut_end at its first open, its envelopes read as before")
func storeOfSchemaV14() throws {
    let lead = storedLead("w-1")
    let head = Array(#"{"seq":1,"lead":"#.utf8)
    let whole = OutgoingMessage(topic: "t/", seq: 1, envelope: head + lead.lead + Array(#","routed_at":"x"}"#.utf8),
                                leadRange: head.count..<(head.count + lead.lead.count))
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in try store.commit(batch(leads: [lead], envelopes: [whole], leadIDs: ["w-1"])) }
        try DatabaseQueue(path: storeFile(directory)).write { try rewindToV14($0) }
        #expect(try LeadStore(readingDirectory: directory).envelopes(topic: "t/", fromSeq: 1, limit: 10).map(\.envelope) == [whole.envelope])
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "t/", fromSeq: 1, limit: 10).map(\.envelope) == [whole.envelope])
        }
        let columns = try DatabaseQueue(path: storeFile(directory)).read { try $0.columns(in: "envelopes").map(\.name) }
        #expect(columns.contains("cut_end"))
    }
}
