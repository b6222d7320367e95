/// The `"qualification"` objects envelopes carry, kept once written: a lead's qualification
/// is its score, its grade and six signals' points, which take few values, so most leads'
/// objects were written before. Writing one cost about 1,100 instructions a lead (eight keys
/// and numbers); copying it back, about a tenth.
///
/// Direct-mapped: each qualification has one slot, chosen by a hash of its values, which keeps
/// the last one written there. Signals set by hand (``Qualification/custom``) are written
/// each time.
struct QualificationText {
    static let slots = 1024
    /// Room for one object: `,"qualification":{"score":100,"grade":"A","signals":{…}}` is
    /// under 150 bytes with the qualifier's six signals at any points a config gives them
    /// (192 KB in all).
    static let room = 192

    /// Each slot's qualification: the six points, then the score and the grade's rank.
    private var keys: [SIMD8<Int32>]
    /// Each slot's text (a comma first), `room` bytes a slot, and its length (0: empty).
    private var text: [UInt8]
    private var counts: [Int]
    /// Where an object is written before it is kept: reused, so a slot filled again
    /// allocates nothing.
    private var scratch: [UInt8] = []

    init() {
        keys = Array(repeating: .zero, count: QualificationText.slots)
        text = Array(repeating: 0, count: QualificationText.slots * QualificationText.room)
        counts = Array(repeating: 0, count: QualificationText.slots)
    }

    /// Writes `q` as ``JSONWriter/qualification(_:)`` does, from its slot when it holds it.
    mutating func write(_ q: Qualification, to json: inout JSONWriter) {
        guard q.custom == nil, q.score >= 0, q.score <= Int(Int32.max) else { return json.qualification(q) }
        var key = q.points
        key[6] = Int32(q.score)
        key[7] = Int32(q.grade.rank)
        let slot = QualificationText.slot(key)
        if counts[slot] == 0 || keys[slot] != key {
            guard fill(slot, key, q) else { return json.qualification(q) }
        }
        let start = slot * QualificationText.room, count = counts[slot]
        text.withUnsafeBufferPointer { all in
            // Stored with its comma: left out when the object opens the text.
            let skip = json.needsComma ? 0 : 1
            json.raw(UnsafeBufferPointer(rebasing: all[start + skip..<start + count]))
        }
        json.needsComma = true
    }

    /// Writes `q` into `slot`; `false` when it does not fit (then nothing is kept).
    private mutating func fill(_ slot: Int, _ key: SIMD8<Int32>, _ q: Qualification) -> Bool {
        var writer = JSONWriter(reusing: &scratch, capacity: QualificationText.room)
        writer.needsComma = true
        writer.qualification(q)
        scratch = writer.bytes
        let written = scratch
        guard written.count <= QualificationText.room else { return false }
        let start = slot * QualificationText.room
        text.withUnsafeMutableBufferPointer { all in
            written.withUnsafeBufferPointer { (all.baseAddress! + start).update(from: $0.baseAddress!, count: $0.count) }
        }
        keys[slot] = key
        counts[slot] = written.count
        return true
    }

    /// A slot for `key`: its lanes mixed by multiplication, the top bits kept.
    @inline(__always)
    static func slot(_ key: SIMD8<Int32>) -> Int {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        for lane in 0..<8 { h = (h ^ UInt64(UInt32(bitPattern: key[lane]))) &* 0xFF51_AFD7_ED55_8CCD }
        return Int(truncatingIfNeeded: h >> UInt64(64 - slots.trailingZeroBitCount))
    }
}
