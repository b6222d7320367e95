import Foundation
import LeadRouting
import Testing

/// protocol.md's table of `invalid_field` examples (`| input | error.field | error.message |`):
/// each input, put into an otherwise valid lead where its field belongs, is rejected with
/// exactly the documented field and message.
@Suite("protocol.md's invalid_field examples are what the lead parser says")
struct DocRejectionTableTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let line: Int
        let input: String
        let field: String
        let message: String
        var testDescription: String { "\(input) (protocol.md:\(line))" }
    }

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/protocol.md")

    static func rows() -> [Row] {
        let lines = ((try? String(contentsOf: path, encoding: .utf8)) ?? "").components(separatedBy: "\n")
        guard let header = lines.firstIndex(of: "| input | `error.field` | `error.message` |") else { return [] }
        return lines.enumerated().dropFirst(header + 2).prefix { $0.element.hasPrefix("|") }.map { index, line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            return Row(line: index + 1, input: cells[0], field: cells[1], message: cells[2])
        }
    }

    @Test("the table is there")
    func tableFound() {
        #expect(DocRejectionTableTests.rows().count >= 10, "protocol.md has no table `| input | error.field | error.message |`")
    }

    @Test("each example input is rejected with the documented field and message", arguments: DocRejectionTableTests.rows())
    func documentedRejection(row: Row) throws {
        let location = SourceLocation(fileID: "LeadRouter/docs/protocol.md", filePath: DocRejectionTableTests.path.path, line: row.line, column: 1)
        let lead = try DocRejectionTableTests.lead(with: row.input, at: row.field)
        switch LeadParser.parse(lead) {
        case .success:
            Issue.record("protocol.md:\(row.line): \(row.input) was accepted", sourceLocation: location)
        case .failure(let rejection):
            #expect(rejection.code == .invalidField && rejection.field == row.field && rejection.message == row.message,
                    "protocol.md:\(row.line): documented \(row.field): \(row.message); the parser says \(rejection)", sourceLocation: location)
        }
    }

    /// A valid lead with the input's keys written into the object that holds the field:
    /// `"name": "   "` for `company.name` goes into `company`, `"products": [...]` at the top.
    static func lead(with input: String, at field: String) throws -> [UInt8] {
        var lead: [String: Any] = ["lead_id": "t-1", "company": ["name": "Acme", "country": "US"]]
        let members = try #require(try JSONSerialization.jsonObject(with: Data("{\(input)}".utf8)) as? [String: Any])
        let path = field.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression).split(separator: ".").map(String.init)
        // The input names a key of the field's path (`"region"` of company.region, `"contact"` of
        // contact.email): it goes into the object above that key.
        let named = path.firstIndex { members[$0] != nil } ?? path.count - 1
        if let object = path.prefix(named).first {
            var inner = lead[object] as? [String: Any] ?? [:]
            inner.merge(members) { _, new in new }
            lead[object] = inner
        } else {
            lead.merge(members) { _, new in new }
        }
        return Array(try JSONSerialization.data(withJSONObject: lead))
    }
}
