import Foundation
@testable import LeadRouting
import Testing

@Suite("JSON writer: escaping, growing and handing its buffer over")
struct JSONWriterTests {
    @Test("a time written through the cache of the last one formatted is the time formatted afresh: the same time again, another, one before 1970, one past year 9999")
    func cachedTimesAreFormattedTimes() {
        var cache = RFC3339Cache()
        let times: [Int64] = [1_764_547_200_000, 1_764_547_200_000, 1_764_547_200_001, 0, -1, 1_764_547_200_001,
                              253_402_300_800_000, 1_764_547_200_001, 86_399_999]
        for ms in times {
            var cached = JSONWriter(capacity: 16)
            cached.field("routed_at", rfc3339: ms, cache: &cache)
            var fresh = JSONWriter(capacity: 16)
            fresh.field("routed_at", rfc3339: ms)
            let text = cached.bytes
            #expect(text == fresh.bytes, "\(ms)")
            #expect(String(decoding: text, as: UTF8.self) == "\"routed_at\":\"\(Timestamp.rfc3339(millisecondsSince1970: ms))\"")
        }
    }

    @Test("a qualification written through the kept objects is the one the writer writes: hits, slots taken over by another, first in an object or after a field, signals set by hand")
    func keptQualificationsAreWrittenOnes() {
        var kept = QualificationText()
        var rng = SplitMix64(seed: 3)
        // Few distinct values, so most are hits; thousands of them, so slots are taken over.
        var qualifications: [Qualification] = (0..<3_000).map { _ in
            var points = SIMD8<Int32>.zero
            for lane in 0..<6 { points[lane] = Int32(Int.random(in: 0...(lane == 0 ? 3 : 20), using: &rng)) }
            return Qualification(score: Int.random(in: 0...100, using: &rng), grade: Grade.allCases.randomElement(using: &rng)!,
                                 points: points, possible: .zero)
        }
        qualifications += qualifications.prefix(500)
        qualifications.append(Qualification(score: 70, grade: .B, signals: [.init(name: "fit", points: 70, possible: 100)]))
        var slots = Set<Int>()
        for (i, q) in qualifications.enumerated() {
            let first = i % 3 == 0
            var cached = JSONWriter(capacity: 16)
            var fresh = JSONWriter(capacity: 16)
            cached.beginObject()
            fresh.beginObject()
            if !first {
                cached.field("rule", literal: "rotation")
                fresh.field("rule", literal: "rotation")
            }
            kept.write(q, to: &cached)
            fresh.qualification(q)
            cached.field("after", 1)
            fresh.field("after", 1)
            #expect(cached.bytes == fresh.bytes, "\(i)")
            var key = q.points
            key[6] = Int32(q.score)
            key[7] = Int32(q.grade.rank)
            slots.insert(QualificationText.slot(key))
        }
        // The hash spreads over the slots (a shift that kept 8 bits used a quarter of them).
        #expect(slots.count > QualificationText.slots / 2)
    }

    @Test("what the writer handed over stays as it was when more is written after, in its spare capacity or past it")
    func writerHandsOverItsBuffer() {
        var json = JSONWriter(capacity: 64)
        json.beginObject()
        json.field("a", 1)
        let first = json.bytes
        #expect(first == Array(#"{"a":1"#.utf8))
        // Room for these was in the buffer `first` now holds: written, they go to a copy.
        json.field("b", literal: "x")
        json.field("c", asciiUpTo: 4) { p in
            p[0] = UInt8(ascii: "y")
            return 1
        }
        let second = json.bytes
        #expect(first == Array(#"{"a":1"#.utf8))
        #expect(second == Array(#"{"a":1,"b":"x","c":"y""#.utf8))
        for i in 0..<100 { json.field("n", i) }
        json.endObject()
        #expect(second == Array(#"{"a":1,"b":"x","c":"y""#.utf8))
        #expect(json.bytes.count > 600 && json.bytes.last == UInt8(ascii: "}"))
    }

    @Test("a copy of any length up to 64 bytes writes those bytes exactly, and nothing before or after them")
    func copiesExactly() {
        let source = (0..<64).map { UInt8($0 + 1) }
        for n in 0...64 {
            var target = [UInt8](repeating: 0xEE, count: 80)
            source.withUnsafeBufferPointer { from in
                target.withUnsafeMutableBufferPointer { to in JSONWriter.copy(from.baseAddress!, to: to.baseAddress! + 8, count: n) }
            }
            #expect(Array(target[8..<(8 + n)]) == Array(source[0..<n]), "\(n)")
            #expect(target[0..<8].allSatisfy { $0 == 0xEE } && target[(8 + n)...].allSatisfy { $0 == 0xEE }, "\(n)")
        }
    }

    @Test("a text needs escaping exactly when a byte of it is a control character, a quote or a backslash, at any position of any length")
    func escapingIsFoundAtEveryPosition() {
        for length in 0...40 {
            // Read from a buffer of exactly `length` bytes, followed by one that needs escaping:
            // a check that reads past the end would find it.
            var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length) + [0x22]
            #expect(bytes.withUnsafeBufferPointer { JSONWriter.needsNoEscaping(UnsafeBufferPointer(rebasing: $0[0..<length])) }, "\(length)")
            for at in 0..<length {
                for special: UInt8 in [0x00, 0x1F, 0x22, 0x5C] {
                    bytes[at] = special
                    #expect(!bytes.withUnsafeBufferPointer { JSONWriter.needsNoEscaping(UnsafeBufferPointer(rebasing: $0[0..<length])) },
                            "\(special) at \(at) of \(length)")
                }
                for plain: UInt8 in [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xFF] {
                    bytes[at] = plain
                    #expect(bytes.withUnsafeBufferPointer { JSONWriter.needsNoEscaping(UnsafeBufferPointer(rebasing: $0[0..<length])) },
                            "\(plain) at \(at) of \(length)")
                }
                bytes[at] = UInt8(ascii: "a")
            }
        }
    }

    @Test("the writer escapes exactly what RFC 8259 requires, at any position of an 8-byte word, and grows past its capacity")
    func writerEscapesAtEveryPosition() throws {
        // What the writer must produce, byte by byte.
        func reference(_ text: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for b in text.utf8 {
                switch b {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
                default: out.append(b)
                }
            }
            return out + [0x22]
        }
        let specials: [String] = ["\"", "\\", "\n", "\u{0}", "\u{1f}", "\u{7f}", " ", "!", "#", "[", "]", "ü", "✓", "\u{1F600}"]
        var generator = SystemRandomNumberGenerator()
        for length in 0...40 {
            for special in specials {
                // Near the start, and near the end (the last word overlaps the one before).
                for at in Set(Array(0...min(length, 17)) + Array(max(0, length - 17)...length)) {
                    var text = String(repeating: "a", count: at) + special + String(repeating: "b", count: max(0, length - at))
                    if length % 3 == 0 { text += specials.randomElement(using: &generator)! }
                    var json = JSONWriter(capacity: 16)
                    json.string(text)
                    let written = json.bytes
                    #expect(written == reference(text), "\(text.debugDescription)")
                    let parsed = try JSONSerialization.jsonObject(with: Data(written), options: .fragmentsAllowed) as? String
                    #expect(parsed == text)
                }
            }
        }
        // Far past the initial capacity, in every kind of piece.
        var json = JSONWriter(capacity: 16)
        json.beginObject()
        for i in 0..<500 {
            json.field("n", i)
            json.field("s", "value \(i) with a \"quote\"")
            json.field("lead", rawJSON: Array(#"{"k":[1,2,3]}"#.utf8))
        }
        json.endObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String: Any])
        #expect(object["n"] as? Int == 499)
        #expect(object["s"] as? String == "value 499 with a \"quote\"")
    }
}
