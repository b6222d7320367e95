import Foundation

/// A `<!-- check: VERB ARGUMENTS … -->` comment in README.md or docs/*.md: how the doc
/// examples test runs or checks the fenced block right after it (or, for the verbs in
/// ``DocMarker/hiddenVerbs``, a step of its own that the reader does not see). Lines after
/// the first, up to `-->`, are its body. The verbs are described in DocExamplesTests.swift.
struct DocMarker {
    /// Verbs that are steps of their own, not attached to a block.
    static let hiddenVerbs: Set<String> = ["session", "setup", "write"]
    /// Words of the form `KEY=VALUE` with one of these keys are options, not arguments.
    static let optionKeys: Set<String> = ["status", "vary", "of", "in", "subscribes"]

    let line: Int
    let verb: String
    let arguments: [String]
    let options: [String: String]
    /// The first line after the verb, options removed: the command of `output-of`.
    let rest: String
    let body: [String]

    var isHidden: Bool { DocMarker.hiddenVerbs.contains(verb) }

    /// Parses the comment's lines (the first starting with `<!-- check:`).
    init(line: Int, lines: [String]) {
        self.line = line
        var first = lines[0].trimmingCharacters(in: .whitespaces)
        first = String(first.dropFirst("<!-- check:".count))
        var body = Array(lines.dropFirst())
        if first.hasSuffix("-->") {
            first = String(first.dropLast(3))
        } else if let last = body.last {
            body[body.count - 1] = last.replacingOccurrences(of: "-->", with: "")
            if body[body.count - 1].trimmingCharacters(in: .whitespaces).isEmpty { body.removeLast() }
        }
        let words = ShellWords.split(first)
        verb = words.first ?? ""
        var arguments: [String] = []
        var options: [String: String] = [:]
        for word in words.dropFirst() {
            if let key = DocMarker.optionKey(word) {
                options[key] = String(word.dropFirst(key.count + 1))
            } else {
                arguments.append(word)
            }
        }
        // The command of `output-of` as written (quotes kept), without the options.
        let raw = first.split(separator: " ", omittingEmptySubsequences: true).dropFirst()
        let restWords = raw.filter { DocMarker.optionKey(String($0)) == nil }
        self.arguments = arguments
        self.options = options
        self.rest = restWords.joined(separator: " ")
        self.body = body
    }

    /// `KEY` when the word is `KEY=VALUE` with KEY one of ``optionKeys``.
    static func optionKey(_ word: String) -> String? {
        guard let eq = word.firstIndex(of: "=") else { return nil }
        let key = String(word[..<eq])
        return optionKeys.contains(key) ? key : nil
    }

    /// The `vary=` option: JSON keys and log fields whose values differ from run to run.
    var vary: [String] { options["vary"].map { $0.split(separator: ",").map(String.init) } ?? [] }
}

/// A fenced code block.
struct DocBlock {
    /// The line of its opening fence, from 1.
    let line: Int
    /// The info string: `sh`, `console`, `json`, `yaml`, `python` or empty.
    let info: String
    /// Its lines, without the fence's indentation.
    let lines: [String]
    /// The markers just before it.
    var markers: [DocMarker]
    /// Its opening fence is on the line right after the previous block's closing fence: the
    /// output of that block when that one is run.
    let followsBlockDirectly: Bool

    var text: String { lines.joined(separator: "\n") }
}

enum DocStep {
    case hidden(DocMarker)
    case block(DocBlock)
}

/// A markdown file of the repository, read as a sequence of steps.
struct DocFile {
    /// The path from the repository's root, such as `docs/routing.md`.
    let path: String
    let url: URL
    let steps: [DocStep]
    /// Mistakes in the markers themselves, and code blocks written by indentation.
    let problems: [(line: Int, message: String)]

    var blocks: [DocBlock] {
        steps.compactMap { if case .block(let block) = $0 { return block } else { return nil } }
    }

    /// README.md and every docs/*.md.
    static var allPaths: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    init(_ path: String) throws {
        try self.init(path: path, text: String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8))
    }

    /// A file's text (tests of the checker itself pass their own).
    init(path: String, text: String) {
        self.path = path
        url = repositoryRoot.appendingPathComponent(path)
        var parser = DocParser(lines: text.components(separatedBy: "\n"))
        parser.parse()
        steps = parser.steps
        problems = parser.problems
    }
}

/// Reads a markdown file's lines into steps: hidden markers, and blocks with their markers.
private struct DocParser {
    let lines: [String]
    var steps: [DocStep] = []
    var problems: [(line: Int, message: String)] = []
    private var pending: [DocMarker] = []
    private var lastClosingFence = -2

    init(lines: [String]) { self.lines = lines }

    mutating func parse() {
        var index = 0
        while index < lines.count {
            let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("<!-- check:") {
                index = readMarker(at: index)
            } else if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                index = readBlock(at: index)
            } else {
                if !trimmed.isEmpty, let marker = pending.first {
                    problems.append((marker.line, "the marker `\(marker.verb)` is not followed by a fenced block"))
                    pending = []
                }
                if lines[index].hasPrefix("    ") || lines[index].hasPrefix("\t") {
                    problems.append((index + 1, "a code block written by indentation: write it as a fenced block with a marker"))
                }
                index += 1
            }
        }
        if let marker = pending.first { problems.append((marker.line, "the marker `\(marker.verb)` is not followed by a fenced block")) }
    }

    private mutating func readMarker(at start: Int) -> Int {
        var end = start
        while end < lines.count && !lines[end].contains("-->") { end += 1 }
        let marker = DocMarker(line: start + 1, lines: Array(lines[start...min(end, lines.count - 1)]))
        if marker.isHidden {
            steps.append(.hidden(marker))
        } else {
            pending.append(marker)
        }
        return end + 1
    }

    private mutating func readBlock(at start: Int) -> Int {
        let opening = lines[start]
        let indent = opening.prefix { $0 == " " }.count
        let fence = String(opening.dropFirst(indent).prefix { $0 == "`" || $0 == "~" })
        var end = start + 1
        var body: [String] = []
        while end < lines.count {
            let trimmed = lines[end].trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(fence) && trimmed.allSatisfy({ $0 == fence.first }) { break }
            body.append(String(lines[end].dropFirst(min(indent, lines[end].prefix { $0 == " " }.count))))
            end += 1
        }
        let info = String(opening.dropFirst(indent + fence.count)).trimmingCharacters(in: .whitespaces)
        steps.append(.block(DocBlock(line: start + 1, info: info, lines: body, markers: pending,
                                     followsBlockDirectly: lastClosingFence == start - 1)))
        pending = []
        lastClosingFence = end
        return end + 1
    }
}

/// Splits a line into words as a shell would: spaces separate words, and single or double
/// quotes keep spaces (and each other) inside a word.
enum ShellWords {
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var quote: Character?
        var started = false
        for character in line {
            if let open = quote {
                if character == open { quote = nil } else { word.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                started = true
            } else if character == " " || character == "\t" {
                if started { words.append(word) }
                word = ""
                started = false
            } else {
                word.append(character)
                started = true
            }
        }
        if started { words.append(word) }
        return words
    }
}
