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

    /// A record in version 1's layout, as builds before version 2 wrote it (their writer,
    /// transcribed): stores keep such records, and they must read as they did.
    static func versionOne(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>, partnerList: Int64) -> [UInt8] {
        guard case .verdicts(let verdicts) = decision.candidateRecord else { return [] }
        var out: [UInt8] = [BinaryRecord.marker, 1]
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        func u32(_ v: Int) { withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        func text(_ t: String) { u16(t.utf8.count); out += Array(t.utf8) }
        text(decision.assignment.description)
        if let partner = decision.partnerID { text(partner) } else { u16(0xFFFF) }
        withUnsafeBytes(of: partnerList.littleEndian) { out += $0 }
        u32(verdicts.list)
        u32(verdicts.chosen.map { verdicts.partners[$0] } ?? -1)
        let countAt = out.count
        out.append(0)
        RoutingDecision.forEachBitGroup(verdicts) { verdict, bytes in
            out.append(UInt8(verdict))
            u16(bytes.count)
            out += bytes
            out[countAt] += 1
        }
        u32(decision.candidatesOmitted)
        var mask: UInt8 = 0
        for verdict in 0..<CandidateVerdicts.sets where decision.omittedCounts[verdict] > 0 { mask |= 1 << UInt8(verdict) }
        out.append(mask)
        for verdict in 0..<CandidateVerdicts.sets where decision.omittedCounts[verdict] > 0 { u32(Int(decision.omittedCounts[verdict])) }
        u32(decision.outsideTerritory)
        let pairs = min(decision.assignments.count, messages.count)
        out.append(UInt8(pairs))
        for k in 0..<pairs {
            text(decision.assignments[k].topic)
            withUnsafeBytes(of: Int64(messages[messages.startIndex + k].seq).littleEndian) { out += $0 }
            out.append(decision.assignments[k].role.code)
        }
        return out
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
        var sizes = (v1: 0, v2: 0)
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
            let row = (assignmentID: decision.assignment.description, partnerID: decision.partnerID)
            #expect(BinaryRecord.json(binary, assignmentID: row.assignmentID, partnerID: row.partnerID) == json,
                    "lead \(i): \(String(decoding: json, as: UTF8.self))")
            #expect(binary.count < json.count)
            // The version before, as stores written by earlier builds hold it, reads the same.
            let v1 = Self.versionOne(decision, messages: messages[...], partnerList: Int64(i % 2 == 0 ? 7 : 1 << 40))
            #expect(BinaryRecord.json(v1, assignmentID: "ignored", partnerID: nil) == json)
            #expect(binary.count < v1.count - 30)
            sizes.v1 += v1.count
            sizes.v2 += binary.count
        }
        #expect(binaryForms > 300)
        print("binary records, bytes: version 1 \(sizes.v1 / binaryForms), version 2 \(sizes.v2 / binaryForms) (recorded \(recorded))")
        #expect(unmatched > 0 && twoAssignments > 0)
        if recorded < 100 { #expect(omitted > 0) }
    }

    @Test("a record gives the chosen partner's, vendor sales' and nurture's topics as one byte, any other written out")
    func topicCodes() {
        func code(_ topic: String, _ partner: String?) -> UInt8 {
            var topic = topic, partner = partner
            return topic.withUTF8 { BinaryRecord.topicCode($0, partner: &partner) }
        }
        #expect(code(FeedTopic.partner("acme"), "acme") == BinaryRecord.TopicCode.chosenPartner)
        #expect(code(FeedTopic.vendorSales, "acme") == BinaryRecord.TopicCode.vendorSales)
        #expect(code(FeedTopic.nurture, nil) == BinaryRecord.TopicCode.nurture)
        for (topic, partner) in [(FeedTopic.partner("acme"), "acm"), (FeedTopic.partner("acme"), nil), ("partner/acme", "acme"),
                                 ("partneR/acme/", "acme"), ("partner/acme/x", "acme"), ("vendor-sales", nil), ("", nil)] as [(String, String?)] {
            #expect(code(topic, partner) == BinaryRecord.TopicCode.written, "\(topic) for \(partner ?? "none")")
        }
    }

    @Test("a role's number is its index among all roles")
    func roleCodes() {
        for (index, role) in Assignment.Role.allCases.enumerated() { #expect(Int(role.code) == index) }
    }

    @Test("a record with no envelope or no partner list stays JSON, and a JSON record reads as it is; long texts (a 70,000-byte assignment id, a long topic) are binary and read back")
    func otherRecordsStayJSON() throws {
        var rng = SplitMix64(seed: 9)
        let partners = CandidateVerdictTests.partners(50, &rng)
        var router = Router(partners: partners, unmatched: .vendorSales, recordedCandidates: 50)
        let decision = router.route(CandidateVerdictTests.lead(1, &rng), context: .init(now: CandidateVerdictTests.t0))
        let messages = Self.messages(decision, firstSeq: 1)
        var arena = ByteArena()
        for (decision, messages, list, inEnvelope) in [(decision, messages[0..<0], Int64?(3), true), (decision, messages[...], nil, true),
                                                       (decision, messages[...], 3, false)] {
            let stored = decision.record(in: &arena, messages: messages, partnerList: list, reasonsInEnvelope: inEnvelope).array
            #expect(stored.first == UInt8(ascii: "{"))
            #expect(stored == decision.record(messages: messages, partnerList: list, reasonsInEnvelope: inEnvelope))
            #expect(BinaryRecord.json(stored, assignmentID: "x", partnerID: nil) == stored)
        }
        // Version 1 gave texts a 16-bit length and kept such records JSON; version 2 has no limit.
        var long = decision
        long.assignment = AssignmentID(String(repeating: "x", count: 70_000))
        try #require(!long.assignments.isEmpty)
        long.assignments[0].topic = "custom/" + String(repeating: "t", count: 70_000) + "/"
        let longMessages = Self.messages(long, firstSeq: 1)
        let (binary, json) = Self.bothRecords(long, messages: longMessages[...], partnerList: 3)
        #expect(binary.first == BinaryRecord.marker)
        #expect(BinaryRecord.json(binary, assignmentID: long.assignment.description, partnerID: long.partnerID) == json)
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
        let id = decision.assignment.description, partner = decision.partnerID
        #expect(BinaryRecord.json(binary, assignmentID: id, partnerID: partner) == json)
        let v1 = Self.versionOne(decision, messages: Self.messages(decision, firstSeq: 1)[...], partnerList: 2)
        for record in [binary, v1] {
            for length in 0..<record.count {
                // Each prefix in a buffer of its own, so reading past it would be caught by ASan.
                let cut = Array(record[..<length])
                #expect(cut.withUnsafeBytes { BinaryRecord.json($0, assignmentID: id, partnerID: partner) } == nil, "cut at \(length)")
            }
            #expect((record + [0]).withUnsafeBytes { BinaryRecord.json($0, assignmentID: id, partnerID: partner) } == nil)
        }
        var wrongVersion = binary
        wrongVersion[1] = 3
        #expect(wrongVersion.withUnsafeBytes { BinaryRecord.json($0, assignmentID: id, partnerID: partner) } == nil)
        // A topic code no writer uses, and a varint longer than ten bytes.
        var badTopic = binary
        badTopic[binary.count - 3] = 9  // the last assignment's topic code: a one-byte seq and the role follow
        #expect(badTopic.withUnsafeBytes { BinaryRecord.json($0, assignmentID: id, partnerID: partner) } == nil)
        let longVarint = [BinaryRecord.marker, 2] + [UInt8](repeating: 0xFF, count: 11) + [0]
        #expect(longVarint.withUnsafeBytes { BinaryRecord.json($0, assignmentID: id, partnerID: partner) } == nil)
    }
}
