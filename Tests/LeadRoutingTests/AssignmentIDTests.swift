import Foundation
@testable import LeadRouting
import Testing

/// Assignment ids are kept inline (``AssignmentID``): these tests hold the inline form to the
/// text it stands for, in every place the text is read.
@Suite("Assignment ids kept inline")
struct AssignmentIDTests {
    @Test("a new id is `a-` and 26 characters of Crockford's base 32, later ids sort after earlier ones")
    func made() {
        var random = SplitMix64(seed: 7)
        var previous = ""
        for step in 0..<200 {
            let id = AssignmentID.make(millisecondsSince1970: 1_795_000_000_000 + Int64(step) * 1_000, using: &random)
            let text = id.description
            #expect(text.hasPrefix("a-") && text.utf8.count == 28)
            #expect(text.dropFirst(2).allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) })
            #expect(text > previous)
            #expect(AssignmentID(text) == id && AssignmentID(text).hashValue == id.hashValue)
            previous = text
        }
    }

    @Test("a new id's characters are its time (48 bits) and two draws of 40 bits, most significant first")
    func digits() {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        func value(_ characters: ArraySlice<UInt8>) -> UInt64 {
            characters.reduce(0) { $0 << 5 | UInt64(alphabet.firstIndex(of: $1)!) }
        }
        var random = SplitMix64(seed: 11), draws = random
        for ms: Int64 in [0, 1, 31, 32, 1_795_000_000_000, 0xFFFF_FFFF_FFFF] {
            let text = Array(AssignmentID.make(millisecondsSince1970: ms, using: &random).description.utf8)
            #expect(text.count == 28)
            #expect(value(text[2..<12]) == UInt64(ms))
            #expect(value(text[12..<20]) == draws.next() & 0xFF_FFFF_FFFF)
            #expect(value(text[20..<28]) == draws.next() & 0xFF_FFFF_FFFF)
        }
    }

    @Test("any text reads back as it was: empty, short, 32 bytes, longer, non-ASCII",
          arguments: ["", "a-1", String(repeating: "x", count: 32), String(repeating: "y", count: 33), "a-ünïcode", "as-\"quoted\""])
    func texts(text: String) throws {
        let id = AssignmentID(text)
        #expect(id.description == text)
        #expect(id.isEmpty == text.isEmpty)
        #expect(id.withUTF8 { Array($0) } == Array(text.utf8))
        #expect(id != AssignmentID(text + "z"))
        // Written into JSON as the string it is, escaped where it must be.
        var json = JSONWriter()
        json.beginObject()
        json.field("assignment_id", id)
        json.endObject()
        let object = try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String: String]
        #expect(object == ["assignment_id": text])
    }

    @Test("a routed lead's decision, intake reply and envelopes carry the same id")
    func carried() throws {
        var pipeline = LeadPipeline(config: RouterConfig(partners: [partner("acme", .coSell)]), seed: 3)
        let bytes = Array(#"{"lead_id":"l-1","company":{"name":"Acme","country":"US"}}"#.utf8)
        let lead = try LeadParser.parse(bytes).get()
        guard case .routed(_, let decision, let messages) = pipeline.route(lead, now: 1_795_000_000_000) else {
            Issue.record("not routed")
            return
        }
        let id = decision.assignmentID
        #expect(id.utf8.count == 28 && decision.assignment == AssignmentID(id))
        let reply = try JSONSerialization.jsonObject(with: Data(IntakeReply.accepted("l-1", decision: decision))) as? [String: Any]
        #expect(reply?["assignment_id"] as? String == id)
        #expect(!messages.isEmpty)
        for message in messages {
            let envelope = try JSONSerialization.jsonObject(with: Data(message.envelope)) as? [String: Any]
            #expect(envelope?["assignment_id"] as? String == id)
        }
    }
}
