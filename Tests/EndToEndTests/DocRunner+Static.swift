import Foundation
import Testing

/// The verbs that check an example without running it: `usage`, `same-as`, `not-run` and
/// `checked-by`.
extension DocRunner {
    /// `usage`: a synopsis, one command per line. Every option it names exists (per the
    /// command's `--help`), and every subcommand and option of leadctl and leadrouterd is
    /// named, so a new one cannot go undocumented.
    func checkUsage(_ block: DocBlock) throws {
        var named: [String: Set<String>] = [:]
        for (offset, line) in block.lines.enumerated() where !line.isEmpty {
            let words = ShellWords.split(line)
            let command = DocRunner.commandName(words)
            let options = Set(words.flatMap(DocRunner.options))
            let known = try DocRunner.helpOptions(command)
            for option in options.subtracting(known).sorted() {
                report.fail(block.line + 1 + offset, "`\(command)` has no option \(option) (per its --help)")
            }
            named[command, default: []].formUnion(options)
        }
        let commands = ["leadrouterd"] + (try DocRunner.leadctlSubcommands()).map { "leadctl " + $0 }
        for command in commands {
            guard let seen = named[command] else {
                report.fail(block.line, "the synopsis has no line for `\(command)`")
                continue
            }
            let unnamed = try DocRunner.helpOptions(command).subtracting(seen).subtracting(["--help", "--version"])
            if !unnamed.isEmpty { report.fail(block.line, "the synopsis of `\(command)` lacks \(unnamed.sorted().joined(separator: ", "))") }
        }
    }

    /// `same-as PATH`: the block is the file, byte for byte (the file itself is run by a test).
    func checkSameAs(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let path = marker.arguments.first else { throw HarnessError("same-as needs a path") }
        let contents = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        report.compare(lines(contents), block.lines, line: block.line, what: "the block (compared with \(path), here the documented side)")
    }

    /// `part-of PATH`: the block's lines are lines of the file, in a row (a section of an
    /// example config that is itself checked).
    func checkPartOf(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let path = marker.arguments.first else { throw HarnessError("part-of needs a path") }
        let contents = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        if !contents.contains(block.text + "\n") { report.fail(block.line, "these lines are not in \(path), in a row") }
    }

    /// `not-run ID`: an example the tests do not run, listed with the reason in
    /// ``DocAllowlist``. What can be checked still is: shell syntax, leadctl, leadrouterd and
    /// leadrouter-bench options (per `--help`), the repository paths it names, Python syntax.
    func checkNotRun(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let id = marker.arguments.first, DocAllowlist.reasons[id] != nil else {
            return report.fail(block.line, "`not-run \(marker.arguments.first ?? "")` is not in DocAllowlist: run the example, or add it there with the reason")
        }
        if block.info == "python" {
            try session.write(".not-run-\(block.line).py", block.text + "\n")
            let parsed = try session.shell("python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' .not-run-\(block.line).py")
            if parsed.status != 0 { report.fail(block.line, "not valid Python:\n\(parsed.stdout)") }
        }
        guard ["sh", "console", "bash"].contains(block.info) else { return }
        let text = block.lines.map { $0.hasPrefix("$ ") ? String($0.dropFirst(2)) : $0 }
        try session.write(".not-run-\(block.line).sh", text.joined(separator: "\n") + "\n")
        let syntax = try session.shell("bash -n .not-run-\(block.line).sh")
        if syntax.status != 0 { report.fail(block.line, "not valid shell:\n\(syntax.stdout)") }
        for command in DocCommand.parse(text) { try checkStatically(command, line: block.line) }
    }

    private func checkStatically(_ command: DocCommand, line: Int) throws {
        let words = Array(command.words.drop { $0 == "sudo" })
        let program = words.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
        if ["leadctl", "leadrouterd", "leadrouter-bench"].contains(program) {
            let name = DocRunner.commandName([program] + words.dropFirst())
            for option in Set(words.flatMap(DocRunner.options)).subtracting(try DocRunner.helpOptions(name)).sorted() {
                report.fail(line, "`\(name)` has no option \(option) (per its --help)")
            }
        }
        for word in words where ["scripts/", "Config/", "systemd/", "docs/"].contains(where: word.hasPrefix) {
            let path = word.trimmingCharacters(in: CharacterSet(charactersIn: ".,;:)"))
            if !FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent(path).path) {
                report.fail(line, "\(path) does not exist in the repository")
            }
        }
    }

    /// `checked-by ID`: another test produces this example's output and compares it, through
    /// `DocExample.named("ID")`.
    func checkCheckedBy(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let id = marker.arguments.first else { throw HarnessError("checked-by needs an id") }
        let tests = repositoryRoot.appendingPathComponent("Tests")
        let files = FileManager.default.enumerator(atPath: tests.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        let uses = try files.filter { try String(contentsOf: tests.appendingPathComponent($0), encoding: .utf8).contains("DocExample.named(\"\(id)\")") }
        if uses.isEmpty { report.fail(block.line, "no test calls DocExample.named(\"\(id)\") to check this example") }
    }

    /// `leadctl SUB` or the program's name, from a command's words.
    static func commandName(_ words: [String]) -> String {
        let program = words.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
        if program == "leadctl", let sub = words.dropFirst().first, !sub.hasPrefix("-") { return "leadctl \(sub)" }
        return program
    }

    static func options(_ word: String) -> [String] {
        guard let range = word.range(of: #"^\[?--[a-z][a-z0-9-]*"#, options: .regularExpression) else { return [] }
        return [String(word[range]).trimmingCharacters(in: CharacterSet(charactersIn: "["))]
    }

    /// The options a command's `--help` lists.
    static func helpOptions(_ command: String) throws -> Set<String> {
        let words = command.split(separator: " ").map(String.init)
        let result = try run(Binaries.path(words[0]), Array(words.dropFirst()) + ["--help"])
        guard result.status == 0 else { throw HarnessError("`\(command) --help` failed: \(result.stderr)") }
        // The usage line and the option lines (descriptions may mention other commands' options).
        let lines = result.stdout.split(separator: "\n")
        let usage = lines.filter { $0.hasPrefix("USAGE:") }.map(String.init)
        let specs = lines.filter { $0.hasPrefix("  -") }.map { $0.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ")[0] }
        return Set((usage + specs).flatMap { $0.matches(of: /--[a-z][a-z0-9-]*/).map { String($0.output) } })
    }

    static func leadctlSubcommands() throws -> [String] {
        let help = try run(Binaries.path("leadctl"), ["--help"]).stdout
        guard let section = help.range(of: "SUBCOMMANDS:") else { return [] }
        return help[section.upperBound...].split(separator: "\n").compactMap { line in
            line.hasPrefix("  ") && !line.hasPrefix("   ") ? line.split(separator: " ").first.map(String.init) : nil
        }.filter { $0 != "See" && $0 != "help" }
    }
}

/// A block marked `checked-by ID`: a test that produces this output itself (such as a full
/// disk) compares it with the example through this.
struct DocExample {
    let reporter: DocReporter
    let block: DocBlock

    /// The block marked `checked-by ID`, in README.md or docs/*.md.
    static func named(_ id: String) throws -> DocExample {
        for path in DocFile.allPaths {
            let file = try DocFile(path)
            if let block = file.blocks.first(where: { $0.markers.contains { $0.verb == "checked-by" && $0.arguments.first == id } }) {
                return DocExample(reporter: DocReporter(file: file), block: block)
            }
        }
        throw HarnessError("no example is marked checked-by \(id)")
    }

    /// Records a diff at the example when `actual` differs from it.
    func expectMatches(_ actual: [String], what: String, vary: [String] = []) {
        reporter.compare(block.lines, actual, line: block.line, what: what, vary: vary)
    }
}
