import Foundation
import Testing

/// Whether pyzmq is installed, to run the Python examples (scripts/test installs it).
let pyzmqAvailable: Bool = {
    (try? run("/usr/bin/env", ["python3", "-c", "import zmq"], timeout: 30).status) == 0
}()

/// The verbs that run examples: `run`, `output`, `output-of`, `log`, `stop`, `config`,
/// `partner-config` and `lead`.
extension DocRunner {
    /// `run`: a shell, console or Python example runs in the session. A shell or Python
    /// example's output is the unmarked block right after it (nothing when there is none);
    /// a console example shows each command's output after its `$ ` line.
    func runBlock(_ block: DocBlock, _ marker: DocMarker, output: DocBlock?) throws -> Bool {
        if block.info == "python" { return try runPython(block, marker, output: output) }
        if block.info == "console" || block.lines.first?.hasPrefix("$ ") == true {
            try runConsole(block, marker)
            return false
        }
        let outcome = try execute(DocCommand.parse(block.lines))
        let expected = output?.lines ?? []
        let line = output?.line ?? block.line
        if outcome.status != expectedStatus(marker) {
            report.fail(block.line, "the commands exited with status \(outcome.status), not \(expectedStatus(marker)); they printed:\n\(outcome.output.joined(separator: "\n"))")
        } else if outcome.startedDaemon {
            checkInOrder(expected, in: outcome.output, line: line, what: "the daemon's log")
        } else {
            report.compare(expected, outcome.output, line: line, what: "what the commands printed", vary: marker.vary)
        }
        return output != nil
    }

    /// A console example: each `$ ` line runs on its own and is followed by what it prints.
    /// A daemon's lines are looked for in its log; a background command's are its next lines.
    private func runConsole(_ block: DocBlock, _ marker: DocMarker) throws {
        var segments: [(line: Int, command: String, expected: [String])] = []
        for (offset, text) in block.lines.enumerated() {
            if text.hasPrefix("$ ") {
                segments.append((block.line + 1 + offset, text, []))
            } else if !segments.isEmpty {
                segments[segments.count - 1].expected.append(text)
            }
        }
        for segment in segments {
            let commands = DocCommand.parse([segment.command])
            if commands.count == 1 && commands[0].kind == .background {
                _ = try execute(commands)
                if segment.expected.isEmpty { continue }
                let got = session.nextLines(of: nil, count: segment.expected.count)
                report.compare(segment.expected, (got?.lines ?? []).map(session.toDoc), line: segment.line,
                               what: "what `\(segment.command.dropFirst(2))` printed", vary: marker.vary)
                continue
            }
            let outcome = try execute(commands)
            if outcome.startedDaemon {
                checkInOrder(segment.expected, in: outcome.output, line: segment.line, what: "the daemon's log")
            } else {
                report.compare(segment.expected, outcome.output, line: segment.line,
                               what: "what `\(segment.command.dropFirst(2))` printed", vary: marker.vary)
            }
        }
    }

    /// A Python example (with the endpoints it names replaced), in the foreground or, with
    /// `run background subscribes=PREFIX,…` (the feed prefixes it subscribes to), in the background. Without pyzmq it is only parsed.
    private func runPython(_ block: DocBlock, _ marker: DocMarker, output: DocBlock?) throws -> Bool {
        let file = ".example-\(block.line).py"
        try session.write(file, session.toReal(block.text) + "\n")
        guard pyzmqAvailable || !block.text.contains("import zmq") else {
            let parsed = try session.shell("python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' \(file)")
            if parsed.status != 0 { report.fail(block.line, "not valid Python:\n\(parsed.stdout)") }
            return output != nil
        }
        if marker.arguments.contains("background") {
            let prefixes = marker.options["subscribes"].map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
            try session.startBackground("python3 -u \(file)", name: "python", prefixes: prefixes)
            return false
        }
        let result = try session.shell("python3 \(file)")
        if result.status != expectedStatus(marker) {
            report.fail(block.line, "the example exited with status \(result.status); it printed:\n\(session.toDoc(result.stdout))")
            return output != nil
        }
        report.compare(output?.lines ?? [], lines(session.toDoc(result.stdout)), line: output?.line ?? block.line,
                       what: "what the example printed", vary: marker.vary)
        return output != nil
    }

    /// `output [of=NAME]`: the next lines a background command printed (the last one started).
    func checkOutput(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let got = session.nextLines(of: marker.options["of"], count: block.lines.count) else {
            throw HarnessError("no background command runs in this session to have printed this")
        }
        let note = got.lines.count < block.lines.count && !got.stderr.isEmpty ? " (its standard error: \(got.stderr))" : ""
        report.compare(block.lines, got.lines.map(session.toDoc), line: block.line, what: "what `\(got.name)` printed\(note)", vary: marker.vary)
    }

    /// `output-of COMMAND [status=N]`: the block is what COMMAND (not shown) prints.
    func checkOutputOf(_ block: DocBlock, _ marker: DocMarker) throws {
        let result = try session.shell(session.toReal(marker.rest))
        if result.status != expectedStatus(marker) {
            report.fail(block.line, "`\(marker.rest)` exited with status \(result.status), not \(expectedStatus(marker))")
        }
        report.compare(block.lines, lines(session.toDoc(result.stdout)), line: block.line, what: "what `\(marker.rest)` printed", vary: marker.vary)
    }

    /// `log`: every line of the block appears in the daemon's log, in this order (waiting for
    /// them up to 10 s). `stop`: the same once the daemon has stopped on SIGTERM, with status 0.
    func checkLog(_ block: DocBlock, _ marker: DocMarker) throws {
        guard let daemon = session.daemon else { throw HarnessError("no daemon runs in this session") }
        if marker.verb == "stop" {
            let status = session.stopDaemon()
            if status != 0 { report.fail(block.line, "the daemon exited with \(status.map(String.init) ?? "nothing (killed)") on SIGTERM, not 0") }
        }
        poll(timeout: 10, every: 0.05) { missingInOrder(block.lines, lines(session.toDoc(daemon.log))).isEmpty }
        checkInOrder(block.lines, in: lines(session.toDoc(daemon.log)), line: block.line, what: "the daemon's log")
    }

    /// The documented lines that are not found, in order, among the actual ones.
    func missingInOrder(_ documented: [String], _ actual: [String]) -> [String] {
        var rest = actual[...].map { DocCompare.normalised($0) }[...]
        var missing: [String] = []
        for line in documented {
            let expected = DocCompare.normalised(line)
            if let found = rest.firstIndex(where: { DocCompare.matches(expected, $0) }) {
                rest = rest[(found + 1)...]
            } else {
                missing.append(line)
            }
        }
        return missing
    }

    func checkInOrder(_ documented: [String], in actual: [String], line: Int, what: String) {
        let missing = missingInOrder(documented, actual)
        guard !missing.isEmpty else { return }
        let shown = actual.filter { !$0.contains(" debug ") && !$0.contains(" trace ") }
        report.fail(line, """
            these documented lines are not in \(what) (in this order; times, ids, endpoints and paths normalised):
            \(missing.joined(separator: "\n"))
            \(what), without debug lines:
            \(shown.joined(separator: "\n"))
            """)
    }

    /// `config [status=N]`: a whole config, checked with `leadrouterd --check`.
    /// `partner-config`: entries of `partners:` (an `engagement` added when they have none).
    func checkConfig(_ block: DocBlock, _ marker: DocMarker) throws {
        var text = block.text
        if marker.verb == "partner-config" { text = partnerConfig(block.lines) }
        let path = ".config-\(block.line).yaml"
        try session.write(path, session.toReal(text, endpoints: false) + "\n")
        let result = try session.shell("leadrouterd --config \(path) --check")
        if result.status != expectedStatus(marker) {
            report.fail(block.line, "`leadrouterd --check` exited with \(result.status), not \(expectedStatus(marker)), for:\n\(text)\nit printed:\n\(session.toDoc(result.stdout))")
        }
    }

    private func partnerConfig(_ lines: [String]) -> String {
        let indent = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        var entries = lines.map { "  " + $0.dropFirst(indent) }
        if !entries.joined().contains("engagement:"), let first = entries.firstIndex(where: { $0.hasPrefix("  - ") }) {
            entries.insert("    engagement: leads_only", at: first + 1)
        }
        return "partners:\n" + entries.joined(separator: "\n")
    }

    /// `lead`: a lead that the example config's dry run routes (not rejects).
    func checkLead(_ block: DocBlock) throws {
        let path = ".lead-\(block.line).jsonl"
        try session.write(path, block.lines.joined(separator: " ") + "\n")
        let result = try session.shell("leadrouterd --config Config/leadrouter.yaml --dry-run \(path)")
        let first = lines(result.stdout).first ?? ""
        if result.status != 0 || first.contains(" rejected: ") || first.hasPrefix("line ") {
            report.fail(block.line, "the example config's dry run does not route this lead:\n\(result.stdout)")
        }
    }
}
