/// A routed lead's decision record in a compact binary form, as the daemon stores it: the
/// values its JSON record (``RoutingDecision/record(messages:partnerList:reasonsInEnvelope:)``)
/// is written from, copied as they are. Writing the JSON record cost about 3,700
/// instructions a lead on the routing thread; this costs a few hundred, and the JSON is
/// written only when a record is read (``json(_:)``: `leadctl explain`, the store's readers),
/// byte for byte the text the JSON writer gives.
///
/// Only the daemon's usual record has this form: a lead with envelopes (its rule, reasons and
/// qualification are in them), its candidates as bit sets over a numbered candidate list of a
/// stored partner list. Every other record is JSON, as before; a reader tells them apart by
/// the first byte (``marker``; JSON starts with `{`).
///
/// Layout, version 2 (what the daemon writes): the marker and the version; `partner_list`,
/// `candidate_list` and the chosen partner's index in the partner list plus one (0 for none),
/// each an unsigned LEB128 varint; the groups (`u8` count; each its verdict `u8`, a varint
/// length and its bit set's bytes, ``RoutingDecision/forEachBitGroup(_:_:)``);
/// `candidates_omitted` (varint); the verdicts with candidates omitted (`u8` mask, then a
/// varint count each, in verdict order); `outside_territory` (varint); the assignments (`u8`
/// count; each its topic (`u8`: 0 the chosen partner's `partner/<id>/`, 1 `vendor-sales/`, 2
/// `nurture/`, 3 written out: a varint length and the bytes), its `seq` (varint) and its role
/// (`u8`, the index in ``Assignment/Role/allCases``)). The record's `assignment_id` and
/// `partner_id` are not in it: they are the lead row's own columns, which every reader passes
/// in (``json(_:assignmentID:partnerID:)``). Version 1 (stores written before) had them, and
/// fixed-width integers: the assignment id (`u16` length, bytes); `partner_id` (`u16` length,
/// 0xFFFF for none, bytes); `partner_list` (`i64`); `candidate_list` (`u32`); the chosen
/// partner's index (`i32`, -1 for none); the groups with `u16` lengths; `candidates_omitted`,
/// the omitted counts and `outside_territory` as `u32`s; each assignment's topic (`u16` length
/// and bytes), `seq` (`i64`) and role. Version 2 is about 80 bytes shorter a lead, which lets
/// four leads' rows share a page of the store where three did (docs/benchmarks.md).
public enum BinaryRecord {
    /// The first byte of a binary record.
    public static let marker: UInt8 = 0x01
    static let version: UInt8 = 2

    /// Whether `record` is binary (else JSON).
    @inline(__always)
    public static func isBinary(_ record: UnsafeRawBufferPointer) -> Bool { record.first == marker }

    /// `record` as JSON: a binary record decoded, a JSON one as it is. `assignmentID` and
    /// `partnerID` are its lead's (the row's columns), which a version 2 record leaves out.
    public static func json(_ record: [UInt8], assignmentID: String, partnerID: String?) -> [UInt8] {
        record.withUnsafeBytes { json($0, assignmentID: assignmentID, partnerID: partnerID) } ?? record
    }

    /// A binary `record` as JSON, `nil` when it is not binary or cannot be read.
    public static func json(_ record: UnsafeRawBufferPointer, assignmentID: String, partnerID: String?) -> [UInt8]? {
        guard isBinary(record) else { return nil }
        var reader = Reader(record)
        return reader.json(assignmentID: assignmentID, partnerID: partnerID)
    }

    /// Whether `decision`'s record, with `messages`, has the binary form: its candidates are
    /// bit sets over a numbered list, and it has envelopes (which carry its reasons). Its
    /// texts are any length (varints), and its ids are the row's.
    static func fits(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>, partnerList: Int64?, reasonsInEnvelope: Bool) -> Bool {
        guard reasonsInEnvelope, !messages.isEmpty, partnerList != nil, case .verdicts(let verdicts) = decision.candidateRecord,
              verdicts.list >= 0, decision.assignments.count <= 255 else { return false }
        return true
    }

    /// At most how many bytes `decision`'s binary record takes (a varint takes up to 10).
    static func capacity(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>) -> Int {
        var bytes = 2 + 3 * 10 + 1 + 10 + 1 + 10 * CandidateVerdicts.sets + 10 + 1
        if case .verdicts(let verdicts) = decision.candidateRecord {
            bytes += CandidateVerdicts.sets * (11 + 8 * ((verdicts.recorded + 63) / 64))
        }
        for (assignment, _) in zip(decision.assignments, messages) { bytes += 1 + 10 + assignment.topic.utf8.count + 10 + 1 }
        return bytes
    }

    /// Writes `decision`'s binary record at `out` (``capacity(_:messages:)`` bytes of room);
    /// returns the bytes written. Only for a record that ``fits(_:messages:partnerList:reasonsInEnvelope:)``.
    static func write(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>, partnerList: Int64,
                      to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard case .verdicts(let verdicts) = decision.candidateRecord else { return 0 }
        var w = Writer(out)
        w.byte(marker)
        w.byte(version)
        w.varint(UInt64(bitPattern: partnerList))
        w.varint(UInt64(truncatingIfNeeded: verdicts.list))
        w.varint(UInt64(truncatingIfNeeded: (verdicts.chosen.map { verdicts.partners[$0] } ?? -1) + 1))
        let countAt = w.at
        w.byte(0)
        var groups: UInt8 = 0
        RoutingDecision.forEachBitGroup(verdicts) { verdict, bytes in
            w.byte(UInt8(verdict))
            w.varint(UInt64(bytes.count))
            w.bytes(bytes)
            groups += 1
        }
        out[countAt] = groups
        w.varint(UInt64(truncatingIfNeeded: decision.candidatesOmitted))
        var mask: UInt8 = 0
        for verdict in 0..<CandidateVerdicts.sets where decision.omittedCounts[verdict] > 0 { mask |= 1 << UInt8(verdict) }
        w.byte(mask)
        for verdict in 0..<CandidateVerdicts.sets where decision.omittedCounts[verdict] > 0 {
            w.varint(UInt64(truncatingIfNeeded: Int(decision.omittedCounts[verdict])))
        }
        w.varint(UInt64(truncatingIfNeeded: decision.outsideTerritory))
        // By index: a `zip` of the two cost about 400 instructions a lead, its iterator
        // made and destroyed.
        let pairs = min(decision.assignments.count, messages.count)
        w.byte(UInt8(pairs))
        var partner = decision.partnerID
        for k in 0..<pairs {
            var topic = decision.assignments[k].topic
            topic.withUTF8 { topic in
                let code = topicCode(topic, partner: &partner)
                w.byte(code)
                if code == TopicCode.written {
                    w.varint(UInt64(topic.count))
                    w.bytes(UnsafeRawBufferPointer(topic))
                }
            }
            w.varint(UInt64(truncatingIfNeeded: messages[messages.startIndex + k].seq))
            w.byte(decision.assignments[k].role.code)
        }
        return w.at
    }

    /// How a version 2 record gives an assignment's topic.
    enum TopicCode {
        static let chosenPartner: UInt8 = 0, vendorSales: UInt8 = 1, nurture: UInt8 = 2, written: UInt8 = 3
    }

    /// The code of `topic` in a record whose lead went to `partner`, compared as bytes (no
    /// `String` made).
    static func topicCode(_ topic: UnsafeBufferPointer<UInt8>, partner: inout String?) -> UInt8 {
        let prefix: StaticString = "partner/", p = prefix.utf8CodeUnitCount
        if let count = partner?.utf8.count, topic.count == p + count + 1, topic[topic.count - 1] == UInt8(ascii: "/"),
           prefix.matches(UnsafeBufferPointer(rebasing: topic[0..<p])),
           partner!.withUTF8({ $0.sameBytes(as: UnsafeBufferPointer(rebasing: topic[p..<(p + count)])) }) {
            return TopicCode.chosenPartner
        }
        if ("vendor-sales/" as StaticString).matches(topic) { return TopicCode.vendorSales }
        if ("nurture/" as StaticString).matches(topic) { return TopicCode.nurture }
        return TopicCode.written
    }

    private struct Writer {
        let out: UnsafeMutablePointer<UInt8>
        var at = 0
        init(_ out: UnsafeMutablePointer<UInt8>) { self.out = out }

        @inline(__always) mutating func byte(_ b: UInt8) {
            out[at] = b
            at += 1
        }
        @inline(__always) mutating func bytes(_ source: UnsafeRawBufferPointer) {
            guard let base = source.baseAddress, !source.isEmpty else { return }
            UnsafeMutableRawPointer(out + at).copyMemory(from: base, byteCount: source.count)
            at += source.count
        }
        @inline(__always) mutating func integer<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes($0) }
        }
        /// Unsigned LEB128: seven bits a byte, low first, the high bit set on all but the last.
        @inline(__always) mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                out[at] = UInt8(truncatingIfNeeded: v) | 0x80
                at += 1
                v >>= 7
            }
            out[at] = UInt8(v)
            at += 1
        }
    }

    /// Reads a binary record back, bounds checked: a record cut short or otherwise unreadable
    /// reads as `nil`, never past its end.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0
        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func take(_ n: Int) -> UnsafeRawBufferPointer? {
            guard n >= 0, at + n <= bytes.count else { return nil }
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<at + n])
        }
        mutating func byte() -> UInt8? { take(1)?.first }
        mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard let raw = take(MemoryLayout<T>.size) else { return nil }
            return T(littleEndian: raw.loadUnaligned(as: T.self))
        }
        mutating func u16() -> Int? { integer(UInt16.self).map(Int.init) }
        mutating func u32() -> Int? { integer(Int32.self).map(Int.init) }
        mutating func text() -> String? {
            guard let count = u16(), let raw = take(count) else { return nil }
            return String(decoding: raw, as: UTF8.self)
        }
        /// An unsigned LEB128 varint of at most 10 bytes (`nil` past that, or cut short).
        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 70, by: 7) {
                guard let b = byte() else { return nil }
                guard shift < 63 || b <= 1 else { return nil }
                value |= UInt64(b & 0x7F) << UInt64(shift)
                if b & 0x80 == 0 { return value }
            }
            return nil
        }
        mutating func int() -> Int? { varint().map { Int(truncatingIfNeeded: $0) } }

        /// The record as the JSON writer writes it (``RoutingDecision/record(messages:partnerList:reasonsInEnvelope:)``,
        /// the daemon's form); a version 2 record with its lead's `assignmentID` and `partnerID`.
        mutating func json(assignmentID: String, partnerID: String?) -> [UInt8]? {
            guard byte() == BinaryRecord.marker, let version = byte() else { return nil }
            let assignment: String, partner: String?
            let partnerList: Int, candidateList: Int, chosen: Int
            switch version {
            case 1:
                guard let a = text(), let partnerLength = u16() else { return nil }
                assignment = a
                if partnerLength != 0xFFFF {
                    guard let raw = take(partnerLength) else { return nil }
                    partner = String(decoding: raw, as: UTF8.self)
                } else {
                    partner = nil
                }
                guard let list = integer(Int64.self), let candidates = u32(), let c = u32() else { return nil }
                (partnerList, candidateList, chosen) = (Int(list), candidates, c)
            case 2:
                (assignment, partner) = (assignmentID, partnerID)
                guard let list = int(), let candidates = int(), let c = int() else { return nil }
                (partnerList, candidateList, chosen) = (list, candidates, c - 1)
            default:
                return nil
            }
            let v1 = version == 1
            guard let groups = byte() else { return nil }
            var json = JSONWriter(capacity: 512)
            json.beginObject()
            json.field("assignment_id", assignment)
            json.field("partner_id", partner)
            json.field("partner_list", partnerList)
            json.field("candidate_list", candidateList)
            json.objectField("candidates")
            if chosen >= 0 {
                json.field("chosen", asciiUpTo: PackedPositions.gapBytes(chosen)) { PackedPositions.writeGap(chosen, to: $0) }
            }
            for _ in 0..<groups {
                guard let verdict = byte(), verdict < CandidateVerdicts.sets, let count = v1 ? u16() : int(),
                      let set = take(count) else { return nil }
                json.field(RoutingDecision.bucketName(1 + Int(verdict)), asciiUpTo: BitGroups.encodedCount(count)) {
                    BitGroups.encode(set, to: $0)
                }
            }
            json.endObject()
            guard let omitted = v1 ? u32() : int(), let mask = byte() else { return nil }
            json.field("candidates_omitted", omitted)
            var counts = SIMD8<Int32>.zero
            for verdict in 0..<CandidateVerdicts.sets where mask & (1 << UInt8(verdict)) != 0 {
                guard let count = v1 ? u32() : int() else { return nil }
                counts[verdict] = Int32(truncatingIfNeeded: count)
            }
            RoutingDecision.writeOmitted(counts, to: &json)
            guard let outside = v1 ? u32() : int(), let assignments = byte() else { return nil }
            json.field("outside_territory", outside)
            json.arrayField("assignments")
            for _ in 0..<assignments {
                guard let topic = v1 ? text() : topic(partner: partner), let seq = v1 ? integer(Int64.self).map(Int.init) : int(),
                      let role = byte(), Int(role) < Assignment.Role.allCases.count else { return nil }
                json.beginElement()
                json.beginObject()
                json.field("topic", topic)
                json.field("seq", seq)
                json.field("role", literal: Assignment.Role.allCases[Int(role)].literal)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            guard at == bytes.count else { return nil }
            return json.bytes
        }

        /// A version 2 assignment's topic (``TopicCode``).
        mutating func topic(partner: String?) -> String? {
            switch byte() {
            case BinaryRecord.TopicCode.chosenPartner: partner.map(FeedTopic.partner)
            case BinaryRecord.TopicCode.vendorSales: FeedTopic.vendorSales
            case BinaryRecord.TopicCode.nurture: FeedTopic.nurture
            case BinaryRecord.TopicCode.written:
                int().flatMap { take($0) }.map { String(decoding: $0, as: UTF8.self) }
            default: nil
            }
        }
    }
}

extension Assignment.Role {
    /// The role's number in a binary record: its index in ``allCases``.
    var code: UInt8 {
        switch self {
        case .owner: 0
        case .coSeller: 1
        case .relationshipOwner: 2
        case .closer: 3
        case .direct: 4
        case .nurture: 5
        }
    }
}
