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
/// Layout, integers little-endian: the marker and the version (1); the assignment id (`u16`
/// length, bytes); `partner_id` (`u16` length, 0xFFFF for none, bytes); `partner_list`
/// (`i64`); `candidate_list` (`u32`); the chosen partner's index in the partner list (`i32`,
/// -1 for none); the groups (`u8` count; each its verdict `u8`, `u16` length and its bit set's
/// bytes, ``RoutingDecision/forEachBitGroup(_:_:)``); `candidates_omitted` (`u32`); the
/// verdicts with candidates omitted (`u8` mask, then a `u32` count each, in verdict order);
/// `outside_territory` (`u32`); the assignments (`u8` count; each its topic, `u16` length and
/// bytes, its `seq`, `i64`, and its role, `u8`, the index in ``Assignment/Role/allCases``).
public enum BinaryRecord {
    /// The first byte of a binary record.
    public static let marker: UInt8 = 0x01
    static let version: UInt8 = 1

    /// Whether `record` is binary (else JSON).
    @inline(__always)
    public static func isBinary(_ record: UnsafeRawBufferPointer) -> Bool { record.first == marker }

    /// `record` as JSON: a binary record decoded, a JSON one as it is.
    public static func json(_ record: [UInt8]) -> [UInt8] {
        record.withUnsafeBytes { json($0) } ?? record
    }

    /// A binary `record` as JSON, `nil` when it is not binary or cannot be read.
    public static func json(_ record: UnsafeRawBufferPointer) -> [UInt8]? {
        guard isBinary(record) else { return nil }
        var reader = Reader(record)
        return reader.json()
    }

    /// Whether `decision`'s record, with `messages`, has the binary form (its texts' lengths
    /// fit its `u16`s: partner ids and topics are short by config, the daemon's assignment
    /// ids 28 bytes, but a decision could be given any).
    static func fits(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>, partnerList: Int64?, reasonsInEnvelope: Bool) -> Bool {
        guard reasonsInEnvelope, !messages.isEmpty, partnerList != nil, case .verdicts(let verdicts) = decision.candidateRecord,
              verdicts.list >= 0, decision.assignments.count <= 255,
              decision.assignment.withUTF8({ $0.count }) < 0xFFFF, (decision.partnerID?.utf8.count ?? 0) < 0xFFFF else { return false }
        for assignment in decision.assignments where assignment.topic.utf8.count >= 0xFFFF { return false }
        return true
    }

    /// At most how many bytes `decision`'s binary record takes.
    static func capacity(_ decision: RoutingDecision, messages: ArraySlice<OutgoingMessage>) -> Int {
        var bytes = 2 + 2 + 2 + 8 + 4 + 4 + 1 + 4 + 1 + 4 * CandidateVerdicts.sets + 4 + 1
        bytes += decision.assignment.withUTF8 { $0.count } + (decision.partnerID?.utf8.count ?? 0)
        if case .verdicts(let verdicts) = decision.candidateRecord {
            bytes += CandidateVerdicts.sets * (3 + 8 * ((verdicts.recorded + 63) / 64))
        }
        for (assignment, _) in zip(decision.assignments, messages) { bytes += 2 + assignment.topic.utf8.count + 8 + 1 }
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
        decision.assignment.withUTF8 { w.text($0) }
        if var partner = decision.partnerID { partner.withUTF8 { w.text($0) } } else { w.u16(0xFFFF) }
        w.i64(partnerList)
        w.u32(verdicts.list)
        w.u32(verdicts.chosen.map { verdicts.partners[$0] } ?? -1)
        let countAt = w.at
        w.byte(0)
        var groups: UInt8 = 0
        RoutingDecision.forEachBitGroup(verdicts) { verdict, bytes in
            w.byte(UInt8(verdict))
            w.u16(bytes.count)
            w.bytes(bytes)
            groups += 1
        }
        out[countAt] = groups
        w.u32(decision.candidatesOmitted)
        var mask: UInt8 = 0
        for verdict in 0..<CandidateVerdicts.sets where decision.omittedCounts[verdict] > 0 { mask |= 1 << UInt8(verdict) }
        w.byte(mask)
        for verdict in 0..<CandidateVerdicts.sets where decision.omittedCounts[verdict] > 0 { w.u32(Int(decision.omittedCounts[verdict])) }
        w.u32(decision.outsideTerritory)
        // By index: a `zip` of the two cost about 400 instructions a lead, its iterator
        // made and destroyed.
        let pairs = min(decision.assignments.count, messages.count)
        w.byte(UInt8(pairs))
        for k in 0..<pairs {
            var topic = decision.assignments[k].topic
            topic.withUTF8 { w.text($0) }
            w.i64(Int64(messages[messages.startIndex + k].seq))
            w.byte(decision.assignments[k].role.code)
        }
        return w.at
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
        mutating func u16(_ value: Int) { integer(UInt16(truncatingIfNeeded: value)) }
        mutating func u32(_ value: Int) { integer(Int32(truncatingIfNeeded: value)) }
        mutating func i64(_ value: Int64) { integer(value) }
        mutating func text(_ utf8: UnsafeBufferPointer<UInt8>) {
            u16(utf8.count)
            bytes(UnsafeRawBufferPointer(utf8))
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

        /// The record as the JSON writer writes it (``RoutingDecision/record(messages:partnerList:reasonsInEnvelope:)``,
        /// the daemon's form).
        mutating func json() -> [UInt8]? {
            guard byte() == BinaryRecord.marker, byte() == BinaryRecord.version, let assignment = text(),
                  let partnerLength = u16() else { return nil }
            var partnerID: String?
            if partnerLength != 0xFFFF {
                guard let raw = take(partnerLength) else { return nil }
                partnerID = String(decoding: raw, as: UTF8.self)
            }
            guard let partnerList = integer(Int64.self), let candidateList = u32(), let chosen = u32(), let groups = byte() else { return nil }
            var json = JSONWriter(capacity: 512)
            json.beginObject()
            json.field("assignment_id", assignment)
            json.field("partner_id", partnerID)
            json.field("partner_list", Int(partnerList))
            json.field("candidate_list", candidateList)
            json.objectField("candidates")
            if chosen >= 0 {
                json.field("chosen", asciiUpTo: PackedPositions.gapBytes(chosen)) { PackedPositions.writeGap(chosen, to: $0) }
            }
            for _ in 0..<groups {
                guard let verdict = byte(), verdict < CandidateVerdicts.sets, let count = u16(), let set = take(count) else { return nil }
                json.field(RoutingDecision.bucketName(1 + Int(verdict)), asciiUpTo: BitGroups.encodedCount(count)) {
                    BitGroups.encode(set, to: $0)
                }
            }
            json.endObject()
            guard let omitted = u32(), let mask = byte() else { return nil }
            json.field("candidates_omitted", omitted)
            var counts = SIMD8<Int32>.zero
            for verdict in 0..<CandidateVerdicts.sets where mask & (1 << UInt8(verdict)) != 0 {
                guard let count = u32() else { return nil }
                counts[verdict] = Int32(truncatingIfNeeded: count)
            }
            RoutingDecision.writeOmitted(counts, to: &json)
            guard let outside = u32(), let assignments = byte() else { return nil }
            json.field("outside_territory", outside)
            json.arrayField("assignments")
            for _ in 0..<assignments {
                guard let topic = text(), let seq = integer(Int64.self), let role = byte(),
                      Int(role) < Assignment.Role.allCases.count else { return nil }
                json.beginElement()
                json.beginObject()
                json.field("topic", topic)
                json.field("seq", Int(seq))
                json.field("role", literal: Assignment.Role.allCases[Int(role)].literal)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            guard at == bytes.count else { return nil }
            return json.bytes
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
