import Foundation

/// One command of a shell example: a line, with its `\` continuations and any here-document.
struct DocCommand {
    /// The command as written (several lines when continued or with a here-document).
    let text: String
    /// The words of its first logical line (continuations joined), as a shell splits them.
    let words: [String]

    /// What running it means in a test.
    enum Kind: Equatable {
        /// Start `leadrouterd` on this config (port 0, debug log), with these other arguments.
        case daemon(config: String, arguments: [String])
        /// A command that does not end by itself (`leadctl tail`): started in the background.
        case background
        /// Not run: building is done before the tests run (the products it names are checked).
        case build
        /// Run in the shell.
        case shell
    }

    var program: String { words.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "" }

    var kind: Kind {
        let program = self.program
        if words.first == "scripts/run" {
            return .daemon(config: "Config/leadrouter.yaml", arguments: Array(words.dropFirst()))
        }
        if program == "leadrouterd" && !words.contains(where: { ["--check", "--dry-run", "--help", "-h"].contains($0) }) {
            guard let at = words.firstIndex(of: "--config"), at + 1 < words.count else { return .shell }
            return .daemon(config: words[at + 1], arguments: Array(words[1..<at]) + Array(words[(at + 2)...]))
        }
        if program == "leadctl" && words.dropFirst().first == "tail" { return .background }
        if program == "swift" && words.dropFirst().first == "build" { return .build }
        return .shell
    }

    /// The commands of a shell example, in order. Blank lines and comment lines are dropped;
    /// a `$ ` prompt, if any, is removed.
    static func parse(_ lines: [String]) -> [DocCommand] {
        var commands: [DocCommand] = []
        var index = 0
        while index < lines.count {
            var line = lines[index]
            if line.hasPrefix("$ ") { line = String(line.dropFirst(2)) }
            index += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var text = [line]
            var logical = line
            while logical.hasSuffix("\\"), index < lines.count {
                logical = String(logical.dropLast()) + " " + lines[index].trimmingCharacters(in: .whitespaces)
                text.append(lines[index])
                index += 1
            }
            if let terminator = hereDocumentTerminator(logical) {
                while index < lines.count {
                    text.append(lines[index])
                    index += 1
                    if text.last == terminator { break }
                }
            }
            commands.append(DocCommand(text: text.joined(separator: "\n"), words: ShellWords.split(withoutComment(logical))))
        }
        return commands
    }

    private static func hereDocumentTerminator(_ line: String) -> String? {
        guard let range = line.range(of: #"<<-?\s*'?"?([A-Za-z_]+)"#, options: .regularExpression) else { return nil }
        return String(line[range]).trimmingCharacters(in: CharacterSet(charactersIn: "<-'\" "))
    }

    /// The line without a trailing `# comment` (outside quotes).
    private static func withoutComment(_ line: String) -> String {
        var quote: Character?
        var previous: Character = " "
        for (offset, character) in line.enumerated() {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "#" && previous == " " {
                return String(line.prefix(offset))
            }
            previous = character
        }
        return line
    }

    /// The feed prefixes a `leadctl tail` command subscribes to: its topics (`""`, everything,
    /// when none), and their heartbeat topics with `--heartbeats` or `--recover`.
    var feedPrefixes: [String] {
        let topics = zip(words, words.dropFirst()).filter { $0.0 == "--topic" }.map(\.1)
        guard !topics.isEmpty else { return [""] }
        return words.contains("--heartbeats") || words.contains("--recover") ? topics + topics.map { "heartbeat/" + $0 } : topics
    }
}
