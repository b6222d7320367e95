import Foundation
import Testing

/// A worked example in README.md, between `<!-- NAME` and `<!-- /NAME -->`: its `json`
/// block is the lead file, its `console` blocks the commands (`$ …`) and their output.
struct ReadmeExample {
    struct Step {
        var command: [String]
        var output: [String]
    }

    var lead: String
    var steps: [Step]
    /// The block without commands: what the backgrounded `leadctl tail` printed.
    var tailOutput: [String]

    init(named name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "<!-- \(name)"), let end = readme.range(of: "<!-- /\(name) -->") else {
            throw HarnessError("README.md has no example \(name)")
        }
        let text = readme[start.upperBound..<end.lowerBound]
        var blocks: [(kind: String, lines: [String])] = []
        var current: (kind: String, lines: [String])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let block = current { blocks.append(block); current = nil } else { current = (String(line.dropFirst(3)), []) }
            } else if current != nil {
                current!.lines.append(String(line))
            }
        }
        lead = blocks.first { $0.kind == "json" }?.lines.joined(separator: "\n") ?? ""
        steps = []
        tailOutput = []
        for block in blocks where block.kind == "console" {
            guard block.lines.first?.hasPrefix("$ ") == true else {
                tailOutput = block.lines
                continue
            }
            for line in block.lines {
                if line.hasPrefix("$ ") {
                    steps.append(Step(command: ReadmeExample.words(String(line.dropFirst(2))), output: []))
                } else {
                    steps[steps.count - 1].output.append(line)
                }
            }
        }
    }

    /// Splits a command line as a shell would, for plain words and double-quoted ones.
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var quoted = false
        var started = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
                started = true
            } else if character == " " && !quoted {
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

    /// Times and assignment ids differ from run to run.
    static func normalized(_ line: String) -> String {
        var text = line.replacingOccurrences(
            of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#, with: "<time>", options: .regularExpression)
        text = text.replacingOccurrences(of: #"a-[0-9A-HJKMNP-TV-Z]{26}"#, with: "<assignment>", options: .regularExpression)
        return text
    }
}

@Suite("README examples run as shown")
struct ReadmeExampleTests {
    @Test("offers: a lead offered, declined, offered on, accepted, escalated to vendor sales, won")
    func offersExample() throws {
        let example = try ReadmeExample(named: "offers-example")
        #expect(example.steps.count >= 8 && !example.tailOutput.isEmpty && !example.lead.isEmpty)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var yaml = try String(contentsOf: root.appendingPathComponent("Config/offers-example.yaml"), encoding: .utf8)
        let ports = ["5550", "5551", "5560", "5561", "5562"]
        for port in ports { yaml = yaml.replacingOccurrences(of: "tcp://127.0.0.1:\(port)", with: "tcp://127.0.0.1:0") }
        let daemon = try Daemon(partnersYAML: "", start: false, configText: yaml)
        daemon.logLevel = "debug"  // to see when tail's subscriptions arrive
        try daemon.start()
        try daemon.waitUntilReady()
        let bound = [daemon.ingest, daemon.intake, daemon.publish, daemon.replay, daemon.control]
        let leadFile = daemon.directory.file("lead.json")
        try example.lead.write(toFile: leadFile, atomically: true, encoding: .utf8)
        func substituted(_ words: [String]) -> [String] {
            words.map { word in
                var word = word
                for (port, endpoint) in zip(ports, bound) { word = word.replacingOccurrences(of: "tcp://127.0.0.1:\(port)", with: endpoint) }
                if word == "state-offers" { word = daemon.stateDir }
                if word == "lead.json" { word = leadFile }
                return word
            }
        }
        var tail: Spawned?
        var transcript: [String] = []
        var mismatches: [String] = []
        // The daemon is the harness's; every other command is leadctl, as built (`.build/debug/leadctl`).
        for step in example.steps where step.command.first?.hasSuffix("leadrouterd") != true {
            let words = substituted(step.command)
            if words.dropFirst().first == "tail" {
                tail = try Spawned(Binaries.path("leadctl"), Array(words.dropFirst()))
                // Every topic it follows is subscribed before anything is published.
                let topics = words.filter { $0.hasSuffix("/") }.count
                let deadline = Date().addingTimeInterval(30)
                while daemon.log.components(separatedBy: "feed subscription").count - 1 < topics && Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.02)
                }
                transcript.append("$ " + step.command.joined(separator: " "))
                continue
            }
            let result = try run(Binaries.path("leadctl"), Array(words.dropFirst()))
            // Outputs name the endpoints and directories as the README does.
            let actual = (result.stderr + result.stdout).split(separator: "\n").map { line in
                var text = String(line)
                for (port, endpoint) in zip(ports, bound) { text = text.replacingOccurrences(of: endpoint, with: "tcp://127.0.0.1:\(port)") }
                return text.replacingOccurrences(of: daemon.stateDir, with: "state-offers")
            }
            transcript += ["$ " + step.command.joined(separator: " ")] + actual
            if actual.map(ReadmeExample.normalized) != step.output.map(ReadmeExample.normalized) {
                mismatches.append(step.command.joined(separator: " "))
            }
        }
        let follower = try #require(tail)
        let printed = try follower.finish().stdout.split(separator: "\n").map { String($0) }
        #expect(printed.map(ReadmeExample.normalized) == example.tailOutput.map(ReadmeExample.normalized),
                "leadctl tail printed:\n\(printed.joined(separator: "\n"))")
        #expect(mismatches.isEmpty, "README differs for \(mismatches); the run printed:\n\(transcript.joined(separator: "\n"))")
        #expect(daemon.terminate() == 0)
    }
}

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
