import Foundation
@testable import LeadRouting
import Testing

/// The daemon stores its usual decision record in a binary form (``BinaryRecord``) and reads
/// it back as JSON. These tests hold that JSON to the JSON writer's record, byte for byte.
@Suite("Decision records in binary")
struct BinaryRecordTests {
    /// A decision's record both ways: binary, written as the store's batch writes it, and the
    /// JSON writer's.
    static func bothRecords(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>, partnerList: Int64) -> (binary: [UInt8], json: [UInt8]) {
        var arena = ByteArena(blockSize: 256)
        let stored = decision.record(in: &arena, messages: messages, partnerList: partnerList, reasonsInEnvelope: true)
        return (stored.array, decision.record(messages: messages, partnerList: partnerList, reasonsInEnvelope: true))
    }

    /// Envelopes standing in for a decision's, one an assignment, with `seq`s of any size.
    static func messages(_ decision: RoutingDecision, firstSeq: Int) -> [OutgoingMessage] {
        decision.assignments.enumerated().map { k, assignment in
            OutgoingMessage(topic: assignment.topic, seq: firstSeq + k, envelope: Array("{}".utf8))
        }
    }

    @Test("each record read back from binary is the JSON writer's record byte for byte: any verdicts, recording caps, omitted counts, no partner, two assignments",
          arguments: [(7, 1), (40, 2), (200, 3), (1_000, 4)] as [(Int, UInt64)])
    func binaryReadsBackAsTheJSONRecord(recorded: Int, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var partners = CandidateVerdictTests.partners(400, &rng)
        // Some partners have vendor sales close: their leads get two assignments. None covers
        // France, so its leads find no partner (paused, inactive and full ones aside).
        for i in partners.indices {
            if i % 5 == 0 { partners[i].engagement = .vendorCloses }
            partners[i].territories.removeAll { $0.country == "FR" }
            if partners[i].territories.isEmpty { partners[i].territories = [Territory(country: "US")] }
        }
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: recorded)
        var binaryForms = 0, unmatched = 0, twoAssignments = 0, omitted = 0
        for i in 0..<400 {
            var decision = router.route(CandidateVerdictTests.lead(i, &rng), context: .init(now: CandidateVerdictTests.t0 + Int64(i) * 1_000))
            decision.assignment = AssignmentID(i % 50 == 0 ? #"id "with" \escapes\ "# + String(i) : "asg-\(i)")
            let messages = Self.messages(decision, firstSeq: i % 3 == 0 ? Int(Int32.max) + i : i + 1)
            let (binary, json) = Self.bothRecords(decision, messages: messages[...], partnerList: Int64(i % 2 == 0 ? 7 : 1 << 40))
            guard binary.first == BinaryRecord.marker else {
                // Only a lead whose candidates are not on a numbered list keeps a JSON record.
                #expect(binary == json)
                continue
            }
            binaryForms += 1
            if decision.partnerID == nil { unmatched += 1 }
            if messages.count == 2 { twoAssignments += 1 }
            if decision.candidatesOmitted > 0 { omitted += 1 }
            #expect(BinaryRecord.json(binary) == json, "lead \(i): \(String(decoding: json, as: UTF8.self))")
            #expect(binary.count < json.count)
        }
        #expect(binaryForms > 300)
        #expect(unmatched > 0 && twoAssignments > 0)
        if recorded < 100 { #expect(omitted > 0) }
    }

    @Test("a role's number is its index among all roles")
    func roleCodes() {
        for (index, role) in Assignment.Role.allCases.enumerated() { #expect(Int(role.code) == index) }
    }

    @Test("a record with no envelope, no partner list or a text too long for its length field stays JSON; a JSON record reads as it is")
    func otherRecordsStayJSON() {
        var rng = SplitMix64(seed: 9)
        let partners = CandidateVerdictTests.partners(50, &rng)
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: 50)
        let decision = router.route(CandidateVerdictTests.lead(1, &rng), context: .init(now: CandidateVerdictTests.t0))
        let messages = Self.messages(decision, firstSeq: 1)
        var arena = ByteArena()
        var longID = decision
        longID.assignment = AssignmentID(String(repeating: "x", count: 70_000))
        for (decision, messages, list, inEnvelope) in [(decision, messages[0..<0], Int64?(3), true), (decision, messages[...], nil, true),
                                                       (decision, messages[...], 3, false), (longID, messages[...], 3, true)] {
            let stored = decision.record(in: &arena, messages: messages, partnerList: list, reasonsInEnvelope: inEnvelope).array
            #expect(stored.first == UInt8(ascii: "{"))
            #expect(stored == decision.record(messages: messages, partnerList: list, reasonsInEnvelope: inEnvelope))
            #expect(BinaryRecord.json(stored) == stored)
        }
    }

    @Test("a binary record cut short, or with a byte changed to an impossible value, reads as nil, never past its end")
    func damagedRecordsReadAsNil() throws {
        var rng = SplitMix64(seed: 5)
        let partners = CandidateVerdictTests.partners(300, &rng)
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: 100)
        var decision = RoutingDecision()
        for i in 0..<50 {
            decision = router.route(CandidateVerdictTests.lead(i, &rng), context: .init(now: CandidateVerdictTests.t0 + Int64(i)))
            if decision.partnerID != nil, decision.candidatesOmitted > 0 || decision.candidates.count > 60 { break }
        }
        let (binary, json) = Self.bothRecords(decision, messages: Self.messages(decision, firstSeq: 1)[...], partnerList: 2)
        try #require(binary.first == BinaryRecord.marker)
        #expect(BinaryRecord.json(binary) == json)
        for length in 0..<binary.count {
            // Each prefix in a buffer of its own, so reading past it would be caught by ASan.
            let cut = Array(binary[..<length])
            #expect(cut.withUnsafeBytes { BinaryRecord.json($0) } == nil, "cut at \(length)")
        }
        #expect((binary + [0]).withUnsafeBytes { BinaryRecord.json($0) } == nil)
        var wrongVersion = binary
        wrongVersion[1] = 2
        #expect(wrongVersion.withUnsafeBytes { BinaryRecord.json($0) } == nil)
    }
}
