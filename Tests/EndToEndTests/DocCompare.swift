import Foundation
import Testing

/// How a documented example is compared with what really ran: both sides are normalised
/// (times, assignment ids, generated keys, and the values of `vary=` fields, or with `port`
/// the port of every loopback endpoint, become placeholders), and in the example `…`, `{...}` and `[...]` stand for anything.
enum DocCompare {
    /// Times of the run (and of the day the example was captured) are replaced; a time more
    /// than 40 days ahead of now is a fixed one, such as an expiry, and is compared.
    static func normalised(_ line: String, vary: [String] = []) -> String {
        var text = replacingMatches(of: timePattern, in: line) { time in
            isNearNow(time) ? "<time>" : time
        }
        text = text.replacingOccurrences(of: #"a-[0-9A-HJKMNP-TV-Z]{26}"#, with: "a-<id>", options: .regularExpression)
        text = text.replacingOccurrences(of: #"(public key: |public_key=)\S{40}"#, with: "$1<key>", options: .regularExpression)
        for key in vary where key == "port" {
            text = text.replacingOccurrences(of: #"(127\.0\.0\.1|localhost):[0-9]+"#, with: "$1:<port>", options: .regularExpression)
        }
        for key in vary where key != "port" {
            let name = NSRegularExpression.escapedPattern(for: key)
            text = text.replacingOccurrences(of: #""\#(name)":\s*("[^"]*"|-?[0-9.]+)"#, with: #""\#(key)":<\#(key)>"#, options: .regularExpression)
            text = text.replacingOccurrences(of: #"\b\#(name)=\S+"#, with: "\(key)=<\(key)>", options: .regularExpression)
        }
        return text
    }

    private static let timePattern = try! NSRegularExpression(
        pattern: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)"#)
    private static func isNearNow(_ time: String) -> Bool {
        // The day is enough to tell a time of the run from a fixed one.
        guard let date = try? Date(String(time.prefix(10)) + "T00:00:00Z", strategy: .iso8601) else { return true }
        return date.timeIntervalSinceNow < 40 * 86_400
    }

    static func replacingMatches(of pattern: NSRegularExpression, in text: String, with replace: (String) -> String) -> String {
        let ns = text as NSString
        var out = ""
        var last = 0
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: last, length: match.range.location - last))
            out += replace(ns.substring(with: match.range))
            last = match.range.location + match.range.length
        }
        return out + ns.substring(from: last)
    }

    /// Whether an actual line matches a documented one (both normalised).
    static func matches(_ documented: String, _ actual: String) -> Bool {
        if documented == actual { return true }
        guard let regex = wildcardRegex(documented) else { return false }
        return regex.firstMatch(in: actual, range: NSRange(location: 0, length: (actual as NSString).length)) != nil
    }

    /// Whether `fragment` (with wildcards) occurs in `text`.
    static func contains(_ text: String, fragment: String) -> Bool {
        guard let regex = wildcardRegex(fragment, anchored: false) else { return text.contains(fragment) }
        return regex.firstMatch(in: text, range: NSRange(location: 0, length: (text as NSString).length)) != nil
    }

    private static func wildcardRegex(_ documented: String, anchored: Bool = true) -> NSRegularExpression? {
        let wildcards = ["…", "{...}", "[...]"]
        guard !anchored || wildcards.contains(where: documented.contains) else { return nil }
        var pattern = NSRegularExpression.escapedPattern(for: documented)
        pattern = pattern.replacingOccurrences(of: #"\{\.\.\.\}"#, with: #"\{.*\}"#)
        pattern = pattern.replacingOccurrences(of: #"\[\.\.\.\]"#, with: #"\[.*\]"#)
        pattern = pattern.replacingOccurrences(of: #"\[\.\.\.]"#, with: #"\[.*\]"#)  // `]` may stay unescaped
        pattern = pattern.replacingOccurrences(of: "…", with: ".*")
        return try? NSRegularExpression(pattern: anchored ? "^" + pattern + "$" : pattern, options: [.dotMatchesLineSeparators])
    }

    /// Documented and actual lines aligned (a longest common subsequence by ``matches``):
    /// each entry is a line of both (" "), of the example only ("-") or of the run only ("+").
    static func alignment(_ documented: [String], _ actual: [String]) -> [(mark: Character, text: String)] {
        let n = documented.count, m = actual.count
        var length = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                length[i][j] = matches(documented[i], actual[j]) ? length[i + 1][j + 1] + 1 : max(length[i + 1][j], length[i][j + 1])
            }
        }
        var out: [(Character, String)] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n && j < m && matches(documented[i], actual[j]) {
                out.append((" ", documented[i])); i += 1; j += 1
            } else if i < n && (j == m || length[i + 1][j] >= length[i][j + 1]) {
                out.append(("-", documented[i])); i += 1
            } else {
                out.append(("+", actual[j])); j += 1
            }
        }
        return out
    }

    /// A unified diff (three lines of context) of the example against the run; nil when they match.
    static func unifiedDiff(_ documented: [String], _ actual: [String], label: String) -> String? {
        let aligned = alignment(documented, actual)
        let changed = aligned.indices.filter { aligned[$0].mark != " " }
        guard !changed.isEmpty else { return nil }
        var hunks: [ClosedRange<Int>] = []
        for index in changed {
            let range = max(0, index - 3)...min(aligned.count - 1, index + 3)
            if let last = hunks.last, last.upperBound + 1 >= range.lowerBound {
                hunks[hunks.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                hunks.append(range)
            }
        }
        var text = "--- \(label) (documented)\n+++ actual\n"
        for hunk in hunks {
            let before = aligned[..<hunk.lowerBound]
            let oldStart = before.filter { $0.mark != "+" }.count + 1
            let newStart = before.filter { $0.mark != "-" }.count + 1
            let lines = aligned[hunk]
            text += "@@ -\(oldStart),\(lines.filter { $0.mark != "+" }.count) +\(newStart),\(lines.filter { $0.mark != "-" }.count) @@\n"
            text += lines.map { "\($0.mark)\($0.text)" }.joined(separator: "\n") + "\n"
        }
        return text
    }
}

/// Where a doc example's problems are recorded: as issues located at the example's line in
/// the markdown file, each naming the file and line.
struct DocReporter {
    let file: DocFile

    func location(_ line: Int) -> SourceLocation {
        SourceLocation(fileID: "LeadRouter/\(file.path)", filePath: file.url.path, line: max(line, 1), column: 1)
    }

    func fail(_ line: Int, _ message: String) {
        Issue.record(Comment(rawValue: "\(file.path):\(line): \(message)"), sourceLocation: location(line))
    }

    /// Compares documented lines with actual ones (both as the reader sees them, before
    /// normalisation); records a unified diff and the actual output when they differ.
    /// Returns whether they matched.
    @discardableResult
    func compare(_ documented: [String], _ actual: [String], line: Int, what: String, vary: [String] = []) -> Bool {
        let expected = documented.map { DocCompare.normalised($0, vary: vary) }
        let seen = actual.map { DocCompare.normalised($0, vary: vary) }
        guard let diff = DocCompare.unifiedDiff(expected, seen, label: "\(file.path):\(line)") else { return true }
        fail(line, """
            the example differs from \(what) (times, ids, endpoints and paths normalised; in the example \
            `…`, `{...}` and `[...]` match anything):
            \(diff)
            actual output:
            \(actual.joined(separator: "\n"))
            """)
        return false
    }
}
