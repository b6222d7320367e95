import Foundation
import LeadRouting
import Testing

/// The defaults the docs state, checked against the code's: every markdown table in README.md
/// and docs/*.md whose columns include `key` (or `setting`) first and `default` is read, and
/// for each key a config that sets it to the documented default must load exactly as one
/// that leaves it out; a default of `required` must be reported missing when left out.
@Suite("Documented config defaults are the code's")
struct DocDefaultsTests {
    @Test("every default in the docs' key tables", arguments: DocDefaultsTests.rows())
    func documentedDefault(row: DefaultRow) {
        let location = SourceLocation(fileID: "LeadRouter/\(row.file)", filePath: row.file, line: row.line, column: 1)
        switch row.expectation {
        case .literal(let value):
            let without = ConfigTree.yaml(for: row.key, value: nil)
            let with = ConfigTree.yaml(for: row.key, value: value)
            let unset = Result { try ConfigLoader.load(yaml: without) }
            let set = Result { try ConfigLoader.load(yaml: with) }
            #expect(throws: Never.self, "\(row.file):\(row.line): \(row.key) unset:\n\(without)", sourceLocation: location) { try unset.get() }
            #expect(throws: Never.self, "\(row.file):\(row.line): \(row.key): \(value):\n\(with)", sourceLocation: location) { try set.get() }
            if let a = try? unset.get(), let b = try? set.get() {
                #expect(a == b, "\(row.file):\(row.line): \(row.key) defaults to something else than the documented \(value)", sourceLocation: location)
            }
        case .required:
            let yaml = ConfigTree.yaml(for: row.key, value: nil)
            let path = row.key.replacingOccurrences(of: "[]", with: "[0]")
            #expect(problems(yaml).contains { $0.path == path }, "\(row.file):\(row.line): \(row.key) is documented as required, but leaving it out is not reported:\n\(yaml)\n\(problems(yaml))", sourceLocation: location)
        case .unreadable(let cell):
            Issue.record("\(row.file):\(row.line): cannot read the default of \(row.key): \(cell) (teach DocDefaultsTests to read it, or write it as `value`, required or absent (…))", sourceLocation: location)
        }
    }

    /// Every key row of every table with a `default` column.
    static func rows() -> [DefaultRow] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)) ?? []
        let files = ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return files.flatMap { file -> [DefaultRow] in
            let text = (try? String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)) ?? ""
            return DefaultRow.parse(text, file: file)
        }
    }
}

/// One documented key and what its default cell says.
struct DefaultRow: Sendable, CustomTestStringConvertible {
    enum Expectation: Sendable {
        case literal(String)
        case required
        case unreadable(String)
    }

    let file: String
    let line: Int
    let key: String
    let expectation: Expectation

    var testDescription: String { "\(key) (\(file):\(line))" }

    /// The rows of the tables of a markdown text whose first column is `key` or `setting` and
    /// that have a `default` column. Defaults written `absent (…)` or as prose are left out.
    static func parse(_ text: String, file: String) -> [DefaultRow] {
        let lines = text.components(separatedBy: "\n")
        var rows: [DefaultRow] = []
        var column: Int?
        for (index, line) in lines.enumerated() {
            guard line.hasPrefix("|") else { column = nil; continue }
            let cells = DefaultRow.cells(line)
            if index + 1 < lines.count, lines[index + 1].hasPrefix("| ---") {
                let header = cells.map { $0.lowercased() }
                column = ["key", "setting"].contains(header.first ?? "") ? header.firstIndex(of: "default") : nil
                continue
            }
            guard let column, column < cells.count, !line.hasPrefix("| ---") else { continue }
            rows += rowsOf(keys: cells[0], cell: cells[column], file: file, line: index + 1)
        }
        return rows
    }

    private static func cells(_ line: String) -> [String] {
        line.replacingOccurrences(of: "\\|", with: "\u{1}").split(separator: "|", omittingEmptySubsequences: false)
            .dropFirst().dropLast()
            .map { $0.replacingOccurrences(of: "\u{1}", with: "|").trimmingCharacters(in: .whitespaces) }
    }

    private static func spans(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// `a.b.c`, `.d`, `.e` name a.b.c, a.b.d and a.b.e; their defaults are listed in order.
    private static func rowsOf(keys cell: String, cell value: String, file: String, line: Int) -> [DefaultRow] {
        var keys: [String] = []
        for span in spans(cell) {
            if span.hasPrefix("."), let first = keys.first, let dot = first.lastIndex(of: ".") {
                keys.append(String(first[..<dot]) + span)
            } else if keys.isEmpty {
                keys.append(span)
            }
        }
        if value.hasPrefix("absent") || value.hasPrefix("the defaults") || value.hasPrefix("required with") { return [] }
        if value == "required" { return keys.map { DefaultRow(file: file, line: line, key: $0, expectation: .required) } }
        if value.hasPrefix("the `"), let sibling = spans(value).first {
            return keys.map { DefaultRow(file: file, line: line, key: $0, expectation: .literal(ConfigTree.minimalValue(of: $0, sibling: sibling) ?? "?")) }
        }
        let literals = keys.count > 1 ? value.components(separatedBy: ", ") : [spans(value).first ?? value.replacingOccurrences(of: ",", with: "")]
        guard literals.count == keys.count, literals.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            return keys.map { DefaultRow(file: file, line: line, key: $0, expectation: .unreadable(value)) }
        }
        return zip(keys, literals).map { DefaultRow(file: file, line: line, key: $0, expectation: .literal($1)) }
    }
}
