import Foundation
import Testing

/// README's shell commands, as a reader runs them from the repository root.
@Suite("README commands run from the repository root")
struct ReadmeCommandTests {
    /// Each command line in README's `sh` and `console` blocks (and `$ ` lines of plain
    /// blocks), with the section it is in.
    static func commands(in readme: String) -> [(section: String, line: String)] {
        var found: [(String, String)] = []
        var section = "", kind: String?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                kind = kind == nil ? String(line.dropFirst(3)) : nil
                continue
            }
            guard let kind else {
                if line.hasPrefix("## ") { section = line }
                continue
            }
            if line.hasPrefix("$ ") { found.append((section, String(line.dropFirst(2)))) }
            else if kind == "sh", !line.hasPrefix("#"), !line.hasPrefix(" "), !line.isEmpty, !line.hasPrefix("EOF"), !line.hasPrefix("{") {
                found.append((section, line))
            }
        }
        return found
    }

    @Test("every program a README command runs is a script, a binary scripts/run builds (.build/debug/…), or, in the install section, an installed one")
    func commandsNameProgramsThatExist() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let run = try String(contentsOf: root.appendingPathComponent("scripts/run"), encoding: .utf8)
        let built = Set(run.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("swift build --product ") else { return nil }
            return String(line.dropFirst("swift build --product ".count))
        })
        #expect(built == ["leadrouterd", "leadctl"])
        let commands = Self.commands(in: readme)
        #expect(commands.count > 20)
        for (section, line) in commands {
            for part in line.components(separatedBy: " | ") + line.components(separatedBy: " && ").dropFirst() {
                var words = part.split(separator: " ").map(String.init)
                while let first = words.first, ["sudo", "|", "("].contains(first) || first.contains("=") { words.removeFirst() }
                guard let program = words.first else { continue }
                if program.hasPrefix(".build/debug/") {
                    let name = String(program.dropFirst(".build/debug/".count))
                    #expect(built.contains(name), "\(section): \(line): scripts/run does not build \(name)")
                } else if ["leadctl", "leadrouterd"].contains(program) {
                    #expect(section == "## Running under systemd", "\(section): \(line): \(program) is not on PATH in a checkout; use .build/debug/\(program)")
                }
            }
        }
    }
}
