import LeadRouting
import Testing

// Helpers shared by the config tests.

/// The problems `yaml` has; empty when it loads.
func problems(_ yaml: String) -> [ConfigProblem] {
    do {
        _ = try ConfigLoader.load(yaml: yaml)
        return []
    } catch {
        return error.problems
    }
}

/// Expects exactly one problem, at `path` and `line`, whose message mentions every
/// string in `mentions`.
func expectOneProblem(
    _ yaml: String, path: String, line: Int?, mentions: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let found = problems(yaml)
    #expect(found.count == 1, "\(found)", sourceLocation: sourceLocation)
    guard let problem = found.first else { return }
    #expect(problem.path == path, sourceLocation: sourceLocation)
    #expect(problem.line == line, sourceLocation: sourceLocation)
    for text in mentions {
        #expect(
            problem.message.contains(text), "\(problem.message) should mention \(text)",
            sourceLocation: sourceLocation
        )
    }
}

/// One expected problem, for parameterized tests.
struct ProblemCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var path: String
    var line: Int?
    var mentions: [String]

    var testDescription: String { name }
}

/// Lets a config bind endpoints other than loopback and ipc (appended to its YAML).
let plaintextAllowed = "security: {allow_plaintext_network: true}\n"

/// A minimal valid partner entry on lines 1-3, to be followed by more keys at four
/// spaces from line 4.
let partnerHead = """
    partners:
      - id: acme
        engagement: leads_only

    """

/// One partner with one more key (on line 4).
func partner(_ line: String) -> String {
    partnerHead + "    \(line)\n"
}

/// `partnerHead`, then a registration of `acme.example` to `acme` on lines 4-7 with
/// `line` in place of the key it names.
func registration(replacing key: String, with line: String?) -> String {
    var lines = [
        "partner: acme",
        "domain: acme.example",
        "expires: 2027-03-01T00:00:00Z",
    ]
    if let index = lines.firstIndex(where: { $0.hasPrefix("\(key):") }) {
        if let line { lines[index] = line } else { lines.remove(at: index) }
    } else if let line {
        lines.append(line)
    }
    return partnerHead + "registrations:\n  - " + lines.joined(separator: "\n    ") + "\n"
}

let ms20261201 = Int64(1_796_083_200_000)
