import Foundation
import GRDB
import LeadRouting
import LeadStore
import Testing

// Assignment envelopes are stored without their start, which the store writes again from the
// rows when it reads them (schema v14, `AssignmentEnvelope`).

@Test("an assignment envelope is stored without its start as well as its lead: both are written again from its row and its lead's, byte for byte")
func assignmentEnvelopesAreStoredWithoutTheirStart() throws {
    // A lead id that JSON escapes: the start written again must escape it as routing did.
    let leadID = "w\"eb\\1 ü"
    let leadBytes = Array(#"{"lead_id":"w\"eb\\1 \u00fc","notes":"x"}"#.utf8)
    let lead = storedLead(leadID, bytes: leadBytes)
    // A lead no partner took: `partner_id` null, no engagement.
    let unmatched = storedLead("u-1", partner: nil)
    func envelope(_ lead: StoredLead, _ topic: String, _ seq: Int, _ role: Assignment.Role, _ engagement: EngagementModel?) -> OutgoingMessage {
        let code = AssignmentEnvelope.code(role: role, engagement: engagement)
        let start = AssignmentEnvelope.start(code: code, seq: seq, topic: topic, assignmentID: lead.assignmentID,
                                             leadID: lead.leadID, partnerID: lead.partnerID)!
        let middle = Array(#","lead":"#.utf8)
        let tail = Array(#","rule":"rotation","reasons":["r"]}"#.utf8)
        let leadAt = start.count + middle.count
        return OutgoingMessage(topic: topic, seq: seq, envelope: start + middle + lead.lead + tail,
                               leadRange: leadAt..<(leadAt + lead.lead.count), assignmentStart: start.count, assignmentCode: code)
    }
    let owner = envelope(lead, "partner/acme/", 7, .owner, .coSell), coSeller = envelope(lead, "vendor-sales/", 3, .coSeller, .coSell)
    let direct = envelope(unmatched, "vendor-sales/", 4, .direct, nil)
    #expect(owner.envelope.elementsEqual(Array(#"{"seq":7,"topic":"partner/acme/","type":"assignment","assignment_id":"as-w\"eb\\1 ü","lead_id":"w\"eb\\1 ü","partner_id":"acme","engagement":"co_sell","role":"owner","lead":"#.utf8) + leadBytes + Array(#","rule":"rotation","reasons":["r"]}"#.utf8)))
    #expect(direct.envelope.starts(with: Array(#"{"seq":4,"topic":"vendor-sales/","type":"assignment","assignment_id":"as-u-1","lead_id":"u-1","partner_id":null,"engagement":null,"role":"direct","lead":"#.utf8)))
    try withStateDirectory { directory throws in
        try withStore(directory) { store throws in
            try store.commit(batch(leads: [lead, unmatched], envelopes: [owner, coSeller, direct], leadIDs: [leadID, leadID, "u-1"]))
            // Pending (not indexed yet), then indexed after a restart that found them again.
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 1, limit: 10).map(\.envelope) == [owner.envelope])
            #expect(try store.envelopes(topic: "vendor-sales/", fromSeq: 3, limit: 10).map(\.envelope) == [coSeller.envelope, direct.envelope])
        }
        let rows = try DatabaseQueue(path: storeFile(directory)).read { db in
            try Row.fetchAll(db, sql: "SELECT seq, length(envelope) AS size, lead_at, cut_start FROM envelopes ORDER BY id")
        }
        #expect(rows.count == 3)
        for (row, whole) in zip(rows, [owner, coSeller, direct]) {
            let start = whole.assignmentStart
            #expect(row["size"] == whole.envelope.count - whole.leadRange!.count - start)
            #expect(row["lead_at"] == whole.leadRange!.lowerBound - start)
            #expect(row["cut_start"] == whole.assignmentCode)
        }
        try withStore(directory) { store throws in
            #expect(try store.envelopes(topic: "partner/acme/", fromSeq: 0, limit: 10).map(\.envelope) == [owner.envelope])
        }
        // A reader (leadctl) writes the start again too.
        let reader = try LeadStore(readingDirectory: directory)
        #expect(try reader.envelopes(topic: "vendor-sales/", fromSeq: 0, limit: 10).map(\.envelope) == [coSeller.envelope, direct.envelope])
    }
}

@Test("every role and engagement has a start code of its own, read back as itself")
func assignmentStartCodes() {
    var seen = Set<Int>()
    for role in Assignment.Role.allCases {
        for engagement in [nil] + EngagementModel.allCases.map(Optional.some) {
            let code = AssignmentEnvelope.code(role: role, engagement: engagement)
            #expect(code >= 1 && seen.insert(code).inserted)
            let start = AssignmentEnvelope.start(code: code, seq: 1, topic: "t/", assignmentID: "a", leadID: "l", partnerID: "p")
            let engagementText = engagement.map { #""\#($0.rawValue)""# } ?? "null"
            #expect(start.map { String(decoding: $0, as: UTF8.self) }?.hasSuffix(#""engagement":\#(engagementText),"role":"\#(role.rawValue)""#) == true)
        }
    }
    for code in [0, -1, 25, 1_000] {
        #expect(AssignmentEnvelope.start(code: code, seq: 1, topic: "t/", assignmentID: "a", leadID: "l", partnerID: nil) == nil)
    }
}
