import Foundation
import Testing

// Docs that cannot drift: every fenced block in README.md and docs/*.md carries a marker, an
// HTML comment just before it that the reader does not see, saying how it is checked:
//
//   <!-- check: VERB ARGUMENTS [status=N] [vary=KEY,…] -->
//
// Blocks that run or are compared (in a session: a working directory like the repository's
// root, with the binaries on PATH and at most one daemon, which binds port 0; the examples'
// default endpoints and /etc/leadrouter, /var/lib/leadrouter paths are mapped to it and back):
//   run                 shell, console or Python: runs. The output is the unmarked block right
//                       after it (no line between), or each `$ ` line's following lines, or
//                       nothing. `scripts/run` and `leadrouterd --config F` start the daemon
//                       (its output: lines found in order in its log); `leadctl tail` runs in
//                       the background until its topics are subscribed. `status=N`: exit status.
//   output [of=NAME]    the next lines a background command printed
//   output-of COMMAND   what COMMAND (not shown) prints
//   log / stop          lines found in order in the daemon's log (after SIGTERM, exit 0)
//   envelope            envelopes (and heartbeats) the daemon published, found by replay
//   fragment-of ID in=T part of lead ID's envelope on topic T
//   replies ROLE        the replies of intake, control or replay to the marker's body lines
//   request ROLE        requests (one a line) that intake, control or replay answer without error
//   file NAME           the block is a file of the session (lead.json, bad.yaml)
//   config              a whole config that `leadrouterd --check` accepts (status=N)
//   partner-config      entries of `partners:` that `--check` accepts
//   lead                a lead the example config routes
// Blocks checked without running:
//   usage               a synopsis: every option exists, every command and option is named
//   same-as PATH        the block is that file (which a test runs)
//   part-of PATH        the block's lines are in that file, in a row
//   checked-by ID       a test that produces the output compares it (DocExample.named)
//   not-run ID          allowlisted in DocAllowlist with the reason; still checked statically
// Steps of their own (no block): `session NAME` (start session NAME, or go back to it), `setup`
// (its body runs as shell, unseen; `$DAEMON_LOG` is the daemon's log; one that needs pyzmq,
// where it is missing, leaves the rest of the session unchecked), `write NAME` (a file).
//
// Comparison is exact after normalising times, assignment ids, generated keys, endpoints,
// paths and the values of `vary=` keys; in an example, `…`, `{...}` and `[...]` match anything.
// A failure names the file and line and shows a unified diff and the actual output, to paste.
// `DOC_TIMING=1` prints how long each step took.

@Suite("Doc examples: every example in README.md and docs/*.md runs as shown", .timeLimit(.minutes(5)))
struct DocExamplesTests {
    @Test("every example of the file runs (or is checked) as shown", arguments: DocFile.allPaths)
    func examplesRunAsShown(path: String) throws {
        let runner = try DocRunner(file: DocFile(path))
        runner.runAll()
    }

    @Test("every fenced block is marked with a known verb, and every allowlist entry is used with its reason")
    func everyBlockIsChecked() throws {
        var usedAllowlist: Set<String> = []
        for path in DocFile.allPaths {
            let file = try DocFile(path)
            let report = DocReporter(file: file)
            for problem in file.problems { report.fail(problem.line, problem.message) }
            var previousRuns = false
            for step in file.steps {
                guard case .block(let block) = step else {
                    if case .hidden(let marker) = step, !DocMarker.hiddenVerbs.contains(marker.verb) { report.fail(marker.line, "unknown step \(marker.verb)") }
                    continue
                }
                let isOutput = block.markers.isEmpty && block.followsBlockDirectly && previousRuns
                if block.markers.isEmpty && !isOutput {
                    report.fail(block.line, "this block has no `<!-- check: … -->` marker: run it, compare it, or allowlist it (see DocExamplesTests.swift)")
                }
                for marker in block.markers where !DocExamplesTests.verbs.contains(marker.verb) {
                    report.fail(marker.line, "unknown marker verb `\(marker.verb)`")
                }
                for marker in block.markers where marker.verb == "not-run" { usedAllowlist.formUnion(marker.arguments.prefix(1)) }
                previousRuns = block.markers.contains { $0.verb == "run" } && block.info != "console"
            }
        }
        for unused in Set(DocAllowlist.reasons.keys).subtracting(usedAllowlist).sorted() {
            Issue.record("DocAllowlist has \(unused), which no block uses: remove it")
        }
    }

    static let verbs: Set<String> = [
        "run", "output", "output-of", "log", "stop", "envelope", "fragment-of", "replies", "request", "file", "config",
        "partner-config", "lead", "usage", "same-as", "part-of", "checked-by", "not-run",
    ]

    @Test("a changed example fails, naming the file and line, with a unified diff")
    func changedExampleFails() throws {
        let text = """
            Some prose.

            <!-- check: output-of printf 'one\\ntwo\\nthree\\n' -->
            ```
            one
            two (edited)
            three
            ```
            """
        let runner = try DocRunner(file: DocFile(path: "docs/self-test.md", text: text))
        withKnownIssue {
            runner.runAll()
        } matching: { issue in
            let text = issue.comments.map(\.rawValue).joined()
            return text.contains("docs/self-test.md:4:") && text.contains("--- docs/self-test.md:4 (documented)")
                && text.contains("-two (edited)\n+two") && issue.sourceLocation?.line == 4
        }
    }

    @Test("an unmarked block is found")
    func unmarkedBlockFound() {
        let file = DocFile(path: "docs/self-test.md", text: "Text.\n\n```sh\nleadctl tail\n```\n\n    indented code\n")
        #expect(file.blocks.count == 1 && file.blocks[0].markers.isEmpty)
        #expect(file.problems.map(\.line) == [7])
    }

    @Test("normalising: run times, ids and keys; fixed future times kept; wildcards in examples")
    func normalising() {
        #expect(DocCompare.normalised(#"{"at":"2026-12-04T20:05:28.995Z","assignment_id":"a-01M91AJTM0X92QJDSATQ8NHNMF"}"#)
                == #"{"at":"<time>","assignment_id":"a-<id>"}"#)
        #expect(DocCompare.normalised("until 2099-01-01T00:00:00.000Z") == "until 2099-01-01T00:00:00.000Z")
        #expect(DocCompare.normalised(#"{"seq":3,"x":1}"#, vary: ["seq"]) == #"{"seq":<seq>,"x":1}"#)
        #expect(DocCompare.matches(#"{"lead":{...},"reasons":[...],"n":1}"#, #"{"lead":{"a":{"b":1}},"reasons":["x","y"],"n":1}"#))
        #expect(!DocCompare.matches(#"{"lead":{...},"n":1}"#, #"{"lead":{"a":1},"n":2}"#))
        #expect(DocCompare.matches(#"{"seq":1,…,"role":"owner"}"#, #"{"seq":1,"topic":"t","role":"owner"}"#))
    }
}
