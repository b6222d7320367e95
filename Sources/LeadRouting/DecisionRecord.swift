import Foundation

/// A decision's reasons as its envelopes carry them: each a JSON string, with commas between
/// them (`"a","b"`, the array's brackets left out). The router writes them once, straight
/// into this buffer, and every envelope of the decision splices them in: no `String` is built
/// for a reason of a routed lead.
struct Reasons: Sendable, Equatable {
    var elements: [UInt8]

    init(elements: [UInt8]) { self.elements = elements }

    init(_ strings: [String]) {
        var json = JSONWriter(capacity: 64 + strings.reduce(0) { $0 + $1.utf8.count + 3 })
        for string in strings { json.element(string) }
        elements = json.bytes
    }

    /// The reasons as text.
    var strings: [String] {
        guard !elements.isEmpty else { return [] }
        let array = [UInt8(ascii: "[")] + elements + [UInt8(ascii: "]")]
        return (try? JSONSerialization.jsonObject(with: Data(array))) as? [String] ?? []
    }
}

/// The candidates a decision records, in one of two forms.
enum CandidateRecord: Sendable, Equatable {
    /// Codes (``CandidateCode``) in recording order: a lead with a deal registration.
    case codes([UInt32])
    /// The verdicts as the router found them, one bit set per verdict.
    case verdicts(CandidateVerdicts)

    /// How many candidates are recorded.
    var count: Int {
        switch self {
        case .codes(let codes): codes.count
        case .verdicts(let verdicts): verdicts.recorded + (verdicts.chosen.map { $0 >= verdicts.recorded ? 1 : 0 } ?? 0)
        }
    }
}

/// The verdicts on a lead's candidates as the router finds them: for each verdict code
/// (``CandidateCode/verdict(_:)``: 0 eligible, then one per exclusion) a bit set over the
/// positions of the candidate list, each position's bit set in exactly one of them. The first
/// `recorded` positions are recorded, and the chosen partner's wherever it is.
struct CandidateVerdicts: Sendable, Equatable {
    static let sets = 8
    static let inactive = 1, paused = 2, product = 4, capacity = 5, grade = 6

    /// Each position's partner (its index in config order), ascending: the router's list, shared.
    var partners: [Int]
    /// The list's number in ``Router/candidateLists``, -1 for a list merged for this lead.
    var list = -1
    /// `sets` bit sets of ``words`` words each, one after another.
    var bits: [UInt64]
    /// How many positions, from the first, are recorded.
    var recorded: Int
    /// The chosen partner's position.
    var chosen: Int?

    var words: Int { bits.count / CandidateVerdicts.sets }

    /// Equal when they record the same verdicts on the same partners: ``list`` only says where
    /// the router keeps those partners (a list merged for a lead and the same list merged at
    /// start-up are the same candidates).
    static func == (a: CandidateVerdicts, b: CandidateVerdicts) -> Bool {
        a.partners == b.partners && a.bits == b.bits && a.recorded == b.recorded && a.chosen == b.chosen
    }

    /// The verdict code of `position` in `bits` (`words` words a set).
    static func verdict(at position: Int, in bits: [UInt64], words: Int) -> UInt32 {
        let bit: UInt64 = 1 << UInt64(position % 64)
        for verdict in 0..<sets where bits[verdict * words + position / 64] & bit != 0 { return UInt32(verdict) }
        return 0
    }

    /// How many positions of `bits` have verdict `verdict`.
    static func count(_ verdict: Int, in bits: [UInt64]) -> Int {
        let words = bits.count / sets
        var count = 0
        for w in 0..<words { count += bits[verdict * words + w].nonzeroBitCount }
        return count
    }

    /// Where partner `index` is in `partners` (ascending), by binary search.
    static func position(of index: Int, in partners: [Int]) -> Int? {
        var low = 0, high = partners.count
        while low < high {
            let middle = (low + high) / 2
            if partners[middle] < index { low = middle + 1 } else { high = middle }
        }
        return low < partners.count && partners[low] == index ? low : nil
    }

    /// Word `w` of set `verdict` in `bits` (this record's), only the recorded positions, the
    /// chosen one left out.
    @inline(__always)
    func recordedWord(_ bits: UnsafeBufferPointer<UInt64>, _ verdict: Int, _ w: Int) -> UInt64 {
        var word = bits[verdict * words + w]
        let first = w * 64
        if recorded - first < 64 { word &= recorded <= first ? 0 : (1 << UInt64(recorded - first)) - 1 }
        if verdict == 0, let chosen, chosen / 64 == w { word &= ~(1 << UInt64(chosen % 64)) }
        return word
    }

    /// The recorded candidates as codes, in recording order: the recorded positions, then the
    /// chosen partner when it is past them.
    var codes: [UInt32] {
        var codes: [UInt32] = []
        codes.reserveCapacity(recorded + 1)
        for position in 0..<recorded {
            let verdict = position == chosen ? 0 : CandidateVerdicts.verdict(at: position, in: bits, words: words)
            codes.append(UInt32(truncatingIfNeeded: partners[position]) << 3 | verdict)
        }
        if let chosen, chosen >= recorded { codes.append(UInt32(truncatingIfNeeded: partners[chosen]) << 3) }
        return codes
    }
}

/// A list of partner positions as a short ASCII string, for stored decision records: the
/// gaps between positions in ascending order (each the distance from the one before, minus
/// one; the first from -1), each as a little-endian base-32 varint written in the URL-safe
/// base64 alphabet, 32 added to every digit but a number's last. Positions a few apart, as
/// a territory's partners are, take one character each.
public enum PackedPositions {
    /// The character of digit `value` (0-63), from a literal: a global array would cost a
    /// lazy-initialisation check and a retain for every character written.
    @inline(__always)
    static func character(_ value: Int) -> UInt8 {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return alphabet.utf8Start[value & 63]
    }

    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for value in 0..<64 { table[Int(character(value))] = Int8(value) }
        return table
    }()

    /// Appends `positions` (sorted first when they are not) to `bytes`.
    public static func encode(_ positions: [Int], into bytes: inout [UInt8]) {
        var sorted = positions
        if zip(positions, positions.dropFirst()).contains(where: { $0 >= $1 }) { sorted = Array(Set(positions)).sorted() }
        var previous = -1
        for position in sorted where position > previous {
            appendGap(position - previous - 1, to: &bytes)
            previous = position
        }
    }

    /// How many characters ``writeGap(_:to:)`` writes for `gap` (1 for a negative one).
    @inline(__always)
    static func gapBytes(_ gap: Int) -> Int {
        var gap = gap, count = 1
        while gap >= 32 {
            gap >>= 5
            count += 1
        }
        return count
    }

    /// Writes `gap` at `out` as ``appendGap(_:to:)`` appends it; returns the bytes written.
    @inline(__always)
    static func writeGap(_ gap: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var gap = gap, count = 0
        while gap >= 32 {
            out[count] = character(32 | (gap & 31))
            gap >>= 5
            count += 1
        }
        out[count] = character(gap)
        return count + 1
    }

    @inline(__always)
    static func appendGap(_ gap: Int, to bytes: inout [UInt8]) {
        var gap = gap
        while gap >= 32 {
            bytes.append(character(32 | (gap & 31)))
            gap >>= 5
        }
        bytes.append(character(gap))
    }

    /// The positions `text` encodes, or `nil` when it is not such a string.
    public static func decode(_ text: String) -> [Int]? {
        var positions: [Int] = []
        var previous = -1
        var gap = 0
        var shift = 0
        for char in text.utf8 {
            guard char < 128, case let value = Int(values[Int(char)]), value >= 0, shift < 55 else { return nil }
            gap |= (value & 31) << shift
            if value & 32 != 0 {
                shift += 5
                continue
            }
            let (next, overflow) = previous.addingReportingOverflow(gap + 1)
            guard !overflow else { return nil }
            previous = next
            positions.append(previous)
            gap = 0
            shift = 0
        }
        return shift == 0 ? positions : nil
    }
}

/// A group of candidates as a bit set over the positions of a candidate list, for stored
/// decision records: bit `p` (bit `p % 8` of byte `p / 8`) says position `p` is in the group.
/// The bytes, their trailing zero bytes left out, are written in the URL-safe base64
/// alphabet without padding (as ``PackedPositions``'s characters): 64 positions in 11
/// characters.
public enum BitGroups {
    /// How many characters ``encode(_:to:)`` writes for `count` bytes.
    @inline(__always)
    static func encodedCount(_ count: Int) -> Int { (count * 8 + 5) / 6 }

    /// Writes `bytes` at `out`; returns the characters written.
    @inline(__always)
    static func encode(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var written = 0, i = 0
        let count = bytes.count
        while i + 3 <= count {
            let v = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            out[written] = PackedPositions.character(v >> 18)
            out[written + 1] = PackedPositions.character(v >> 12)
            out[written + 2] = PackedPositions.character(v >> 6)
            out[written + 3] = PackedPositions.character(v)
            written += 4
            i += 3
        }
        if i < count {
            let v = Int(bytes[i]) << 16 | (i + 1 < count ? Int(bytes[i + 1]) << 8 : 0)
            out[written] = PackedPositions.character(v >> 18)
            out[written + 1] = PackedPositions.character(v >> 12)
            written += 2
            if i + 1 < count {
                out[written] = PackedPositions.character(v >> 6)
                written += 1
            }
        }
        return written
    }

    /// Appends the group of `positions` (each at least 0) to `text`.
    public static func encode(_ positions: [Int], into text: inout [UInt8]) {
        guard let last = positions.max() else { return }
        var bytes = [UInt8](repeating: 0, count: last / 8 + 1)
        for position in positions where position >= 0 { bytes[position / 8] |= 1 << UInt8(position % 8) }
        bytes.withUnsafeBytes { raw in
            let start = text.count
            Buffers.appendZeros(&text, count: encodedCount(raw.count))
            text.withUnsafeMutableBufferPointer { out in _ = encode(raw, to: out.baseAddress! + start) }
        }
    }

    /// The positions in the group `text` encodes, ascending; `nil` when it is not one.
    public static func decode(_ text: String) -> [Int]? {
        var positions: [Int] = []
        var bits = 0, pending = 0, byte = 0
        for char in text.utf8 {
            guard char < 128, case let value = Int(PackedPositions.values[Int(char)]), value >= 0 else { return nil }
            bits = (bits << 6 | value) & 0x3fff
            pending += 6
            if pending >= 8 {
                pending -= 8
                let value = (bits >> pending) & 0xff
                for bit in 0..<8 where value & (1 << bit) != 0 { positions.append(byte * 8 + bit) }
                byte += 1
            }
        }
        // What is left are the padding bits of the last character: zero in a group this wrote.
        return bits & ((1 << pending) - 1) == 0 ? positions : nil
    }
}

/// Packing a candidate's verdict with its partner index (see ``RoutingDecision/candidateCodes``).
enum CandidateCode {
    @inline(__always)
    static func make(_ index: Int, _ exclusion: Exclusion?) -> UInt32 {
        UInt32(truncatingIfNeeded: index) << 3 | verdict(exclusion)
    }

    /// 0 for eligible, else 1 + the exclusion's position in `Exclusion.allCases`.
    @inline(__always)
    static func verdict(_ exclusion: Exclusion?) -> UInt32 {
        switch exclusion {
        case nil: 0
        case .inactive: 1
        case .paused: 2
        case .territory: 3
        case .product: 4
        case .capacity: 5
        case .grade: 6
        case .registration: 7
        }
    }

    static func exclusion(_ code: UInt32) -> Exclusion? {
        code & 7 == 0 ? nil : Exclusion.allCases[Int(code & 7) - 1]
    }
}
