import Foundation
import Testing

/// Messages the docs list in tables (rather than in fenced blocks): the tests that produce them
/// check them here.
enum DocTable {
    /// The backticked texts of the table rows of a markdown file, with their lines.
    static func spans(in path: String) -> [(line: Int, text: String)] {
        let text = (try? String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)) ?? ""
        return text.components(separatedBy: "\n").enumerated().filter { $0.element.hasPrefix("|") }.flatMap { index, line in
            line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { (index + 1, String($0.element)) }
        }
    }

    /// Records an issue unless `actual` (as documented: paths and ids already replaced) is
    /// one of the messages in `path`'s tables (`…` in a message matches anything).
    static func expectDocumented(_ actual: String, in path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let documented = spans(in: path)
        let seen = DocCompare.normalised(actual)
        if documented.contains(where: { DocCompare.matches(DocCompare.normalised($0.text), seen) || DocCompare.normalised($0.text) == seen }) { return }
        let nearest = documented.max { commonPrefix($0.text, actual) < commonPrefix($1.text, actual) }
        Issue.record("\(path)\(nearest.map { ":\($0.line)" } ?? ""): no table there lists this message:\n\(actual)\nthe nearest is:\n\(nearest?.text ?? "(none)")",
                     sourceLocation: sourceLocation)
    }

    private static func commonPrefix(_ a: String, _ b: String) -> Int {
        zip(a, b).prefix { $0 == $1 }.count
    }
}

@Suite("Doc tables: README's log messages are the daemon's")
struct DocTableTests {
    @Test("every message of README's Logging table is in the sources, logged at the documented level (or printed on standard error)")
    func loggingTable() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8).components(separatedBy: "\n")
        let header = try #require(readme.firstIndex(of: "| message | level | when |"), "README.md has no table | message | level | when |")
        let sources = DocTableTests.sourceLines()
        let reporter = DocReporter(file: DocFile(path: "README.md", text: ""))
        for (offset, row) in readme[(header + 2)...].prefix(while: { $0.hasPrefix("|") }).enumerated() {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let levels = Set(cells[1].components(separatedBy: " or "))
            let messages = cells[0].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            for message in messages.map({ String($0.element) }) {
                // The longest part between `…`s, without the program's prefix, is in a string literal.
                let fragment = message.components(separatedBy: "…").map { $0.trimmingCharacters(in: .whitespaces) }
                    .max { $0.count < $1.count }?.replacingOccurrences(of: "leadrouterd: ", with: "") ?? message
                let found = sources.filter { $0.contains(fragment) }
                let logged = Set(found.compactMap(DocTableTests.level))
                if found.isEmpty {
                    reporter.fail(header + 3 + offset, "`\(message)` is not in Sources/: the daemon no longer says this")
                } else if logged.isDisjoint(with: levels) {
                    reporter.fail(header + 3 + offset, "`\(message)` is documented at \(cells[1]), but Sources/ has it at \(logged.sorted().joined(separator: ", "))")
                }
            }
        }
    }

    static func sourceLines() -> [String] {
        let sources = repositoryRoot.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        return files.flatMap { ((try? String(contentsOf: sources.appendingPathComponent($0), encoding: .utf8)) ?? "").components(separatedBy: "\n") }
    }

    /// `logger.LEVEL(` of a source line, or `standard error` for `printError(`.
    static func level(_ line: String) -> String? {
        if line.contains("printError(") { return "standard error" }
        guard let range = line.range(of: #"logger\.[a-z]+\("#, options: .regularExpression) else { return nil }
        return String(line[range].dropFirst("logger.".count).dropLast())
    }
}
