import Foundation
import Testing

/// Runs the examples of one markdown file, in order, in sessions (``DocSession``), and
/// records each example that differs from what really ran, at the example's line.
final class DocRunner {
    let file: DocFile
    let report: DocReporter
    var session: DocSession
    /// Every session of the file by name; `session NAME` starts one or goes back to it.
    private var sessions: [String: DocSession] = [:]

    init(file: DocFile) throws {
        self.file = file
        report = DocReporter(file: file)
        session = try DocSession(name: "")
        sessions[""] = session
    }

    /// Every step of the file; a failing step is recorded and the next one runs.
    func runAll() {
        let steps = file.steps
        var index = 0
        while index < steps.count {
            switch steps[index] {
            case .hidden(let marker):
                attempt(marker.line) { try perform(marker) }
            case .block(let block):
                var next: DocBlock?
                if index + 1 < steps.count, case .block(let candidate) = steps[index + 1],
                   candidate.followsBlockDirectly, candidate.markers.isEmpty {
                    next = candidate
                }
                var usedNext = false
                if let why = session.unavailable {
                    print("\(file.path):\(block.line): not checked: \(why)")
                    usedNext = next != nil && block.markers.contains { $0.verb == "run" }
                }
                for marker in block.markers where session.unavailable == nil {
                    attempt(marker.line) { usedNext = try check(block, marker, output: next) || usedNext }
                }
                if usedNext { index += 1 }
            }
            index += 1
        }
        for session in sessions.values { session.finish() }
    }

    /// Runs a step; with `DOC_TIMING` set, prints how long it took.
    private func attempt(_ line: Int, _ body: () throws -> Void) {
        let start = Date()
        do { try body() } catch { report.fail(line, "\(error)") }
        if ProcessInfo.processInfo.environment["DOC_TIMING"] != nil {
            print("\(file.path):\(line): \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        }
    }

    /// A step of its own: `session NAME`, `setup` (its body runs as a shell example whose
    /// output is not shown) or `write NAME` (its body is the file's contents).
    func perform(_ marker: DocMarker) throws {
        switch marker.verb {
        case "session":
            let name = marker.arguments.first ?? ""
            if let existing = sessions[name] {
                session = existing
            } else {
                session = try DocSession(name: name)
                sessions[name] = session
            }
        case "setup":
            guard session.unavailable == nil else { return }
            if !pyzmqAvailable && marker.body.joined().contains("import zmq") {
                session.unavailable = "pyzmq is not installed (scripts/deps --test installs it)"
                return print("\(file.path):\(marker.line): \(session.unavailable!): the rest of session \(session.name) is not checked")
            }
            let result = try execute(DocCommand.parse(marker.body))
            if result.status != 0 {
                report.fail(marker.line, "the setup failed with status \(result.status):\n\(result.output.joined(separator: "\n"))")
            }
        case "write":
            guard let name = marker.arguments.first else { throw HarnessError("write needs a file name") }
            try session.write(session.toReal(name, endpoints: false), session.toReal(marker.body.joined(separator: "\n"), endpoints: false) + "\n")
        default:
            throw HarnessError("unknown step `\(marker.verb)`")
        }
    }

    /// Checks a block as its marker says; returns whether it took the next block as its output.
    func check(_ block: DocBlock, _ marker: DocMarker, output: DocBlock?) throws -> Bool {
        switch marker.verb {
        case "run": return try runBlock(block, marker, output: output)
        case "output": try checkOutput(block, marker)
        case "output-of": try checkOutputOf(block, marker)
        case "file":
            guard let name = marker.arguments.first else { throw HarnessError("file needs a file name") }
            try session.write(session.toReal(name, endpoints: false), session.toReal(block.text, endpoints: false) + "\n")
        case "log", "stop": try checkLog(block, marker)
        case "config", "partner-config": try checkConfig(block, marker)
        case "lead": try checkLead(block)
        case "envelope": try checkEnvelopes(block, marker)
        case "fragment-of": try checkFragment(block, marker)
        case "replies", "request": try checkReplies(block, marker)
        case "usage": try checkUsage(block)
        case "same-as": try checkSameAs(block, marker)
        case "part-of": try checkPartOf(block, marker)
        case "not-run": try checkNotRun(block, marker)
        case "checked-by": try checkCheckedBy(block, marker)
        default: throw HarnessError("unknown marker verb `\(marker.verb)`")
        }
        return false
    }

    /// What running some commands printed (as documented), the last status, and whether one
    /// of them started the daemon (then the output ends with its log so far).
    struct Outcome {
        var output: [String] = []
        var status: Int32 = 0
        var startedDaemon = false
    }

    /// Runs commands in the session: consecutive shell commands as one script, a daemon or
    /// a background command each on its own, builds not at all (the products must exist).
    func execute(_ commands: [DocCommand]) throws -> Outcome {
        var outcome = Outcome()
        var script: [String] = []
        func flush() throws {
            guard !script.isEmpty else { return }
            let result = try session.shell(session.toReal(script.joined(separator: "\n")))
            outcome.output += lines(session.toDoc(result.stdout))
            outcome.status = result.status
            script = []
        }
        for command in commands {
            if command.kind != .shell {
                try flush()
                if outcome.status != 0 { return outcome }
            }
            switch command.kind {
            case .shell:
                script.append(command.text)
            case .daemon(let config, let arguments):
                try session.startDaemon(config: session.toReal(config, endpoints: false),
                                        arguments: arguments.map { session.toReal($0, endpoints: false) })
                outcome.startedDaemon = true
            case .background:
                try session.startBackground(session.toReal(command.text), name: command.words.dropFirst().first ?? command.program,
                                            prefixes: command.feedPrefixes)
            case .build:
                try checkBuild(command)
            }
        }
        try flush()
        if outcome.startedDaemon, let daemon = session.daemon { outcome.output += lines(session.toDoc(daemon.log)) }
        return outcome
    }

    /// `swift build --product P`: P must be a product of Package.swift (the tests run the
    /// binaries already built).
    private func checkBuild(_ command: DocCommand) throws {
        let manifest = try String(contentsOf: repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        for (option, value) in zip(command.words, command.words.dropFirst()) where option == "--product" {
            if !manifest.contains("name: \"\(value)\"") { throw HarnessError("Package.swift has no product \(value)") }
        }
    }

    func lines(_ text: String) -> [String] {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    func expectedStatus(_ marker: DocMarker) -> Int32 { Int32(marker.options["status"] ?? "0") ?? 0 }
}
