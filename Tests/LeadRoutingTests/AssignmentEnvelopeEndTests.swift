@testable import LeadRouting
import Testing

// An assignment envelope's end (`qualification`, `routed_at`) as one number, which the store
// keeps instead of the bytes (AssignmentEnvelope.endCode and end(code:routedAt:)).

@Suite("Assignment envelopes: the end kept as a number")
struct AssignmentEnvelopeEndTests {
    static let routedAt: Int64 = 1_795_341_600_123  // 2026-11-22T10:00:00.123Z

    static func qualification(_ score: Int, _ grade: Grade, _ points: [Int32]) -> Qualification {
        var simd = SIMD8<Int32>.zero
        for (i, p) in points.enumerated() { simd[i] = p }
        return Qualification(score: score, grade: grade, points: simd, possible: SIMD8(repeating: 255))
    }

    @Test("an end is written again from its code byte for byte: with a qualification, and without one")
    func endWrittenAgain() throws {
        let q = Self.qualification(70, .B, [20, 20, 15, 15, 0, 0])
        let code = AssignmentEnvelope.endCode(q)
        #expect(code > 1)
        let end = try #require(AssignmentEnvelope.end(code: code, routedAt: Self.routedAt))
        #expect(String(decoding: end, as: UTF8.self) == #","qualification":{"score":70,"grade":"B","signals":{"need":20,"budget":20,"authority":15,"timeline":15,"company_size":0,"estimated_value":0}},"routed_at":"2026-11-22T10:00:00.123Z"}"#)
        #expect(AssignmentEnvelope.endCode(nil) == 1)
        #expect(AssignmentEnvelope.end(code: 1, routedAt: Self.routedAt).map { String(decoding: $0, as: UTF8.self) } == #","routed_at":"2026-11-22T10:00:00.123Z"}"#)
    }

    @Test("every score, grade and points within the code's range read back as they were; the same as the writer routing uses")
    func codesRoundTrip() throws {
        var seen = Set<Int>()
        var rng = SystemRandomNumberGenerator()
        for score in 0...127 {
            for grade in Grade.allCases {
                let points = (0..<6).map { k in Int32(k == score % 6 ? 255 : Int.random(in: 0...255, using: &rng)) }
                let q = Self.qualification(score, grade, points)
                let code = AssignmentEnvelope.endCode(q)
                #expect(seen.insert(code).inserted)
                let back = try #require(AssignmentEnvelope.qualification(code: code) ?? nil)
                #expect(back.score == score && back.grade == grade && back.points == q.points && back.custom == nil)
                // What routing writes (its own writer, not the one the store reads with).
                var json = JSONWriter(capacity: 256)
                json.needsComma = true
                json.qualification(q)
                json.field("routed_at", rfc3339: Self.routedAt)
                json.endObject()
                #expect(AssignmentEnvelope.end(code: code, routedAt: Self.routedAt) == json.bytes)
            }
        }
    }

    @Test("an end the code cannot hold is kept as it is: signals set by hand, a score over 127, points over 255 or below 0")
    func endsKeptWhole() {
        var custom = Self.qualification(50, .C, [1, 2, 3, 4, 5, 6])
        custom.signals = [Qualification.Signal(name: "fit", points: 3, possible: 5)]
        #expect(AssignmentEnvelope.endCode(custom) == 0)
        #expect(AssignmentEnvelope.endCode(Self.qualification(128, .A, [0, 0, 0, 0, 0, 0])) == 0)
        #expect(AssignmentEnvelope.endCode(Self.qualification(-1, .D, [0, 0, 0, 0, 0, 0])) == 0)
        #expect(AssignmentEnvelope.endCode(Self.qualification(90, .A, [256, 0, 0, 0, 0, 0])) == 0)
        #expect(AssignmentEnvelope.endCode(Self.qualification(90, .A, [0, 0, 0, 0, 0, -1])) == 0)
        for code in [0, 2, -1, 1 << 56, 1 << 58, Int.max] {
            #expect(AssignmentEnvelope.end(code: code, routedAt: Self.routedAt) == nil, "\(code)")
        }
    }
}
