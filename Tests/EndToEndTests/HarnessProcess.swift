import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
    /// False when the process was ended by a signal (then `status` is the signal's number).
    let exited: Bool
}

/// A child process whose standard output and error are drained on threads of their own as
/// it runs (so neither pipe can fill and stall it), killed if it outlives its test.
final class Spawned: @unchecked Sendable {
    let process = Process()
    let name: String
    private let out = OutputBuffer()
    private let err = OutputBuffer()
    private let drained = DispatchGroup()

    init(_ path: String, _ arguments: [String], input: String? = nil) throws {
        name = ([URL(fileURLWithPath: path).lastPathComponent] + arguments).joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        drain(outPipe.fileHandleForReading, into: out)
        drain(errPipe.fileHandleForReading, into: err)
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
    }

    private func drain(_ handle: FileHandle, into buffer: OutputBuffer) {
        drained.enter()
        let thread = Thread { [drained] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.data.withLock { $0.append(chunk) }
            }
            drained.leave()
        }
        thread.start()
    }

    var stdout: String { String(decoding: out.data.withLock { $0 }, as: UTF8.self) }
    var stderr: String { String(decoding: err.data.withLock { $0 }, as: UTF8.self) }
    var isRunning: Bool { process.isRunning }

    /// Standard output's complete lines so far.
    var lines: [Substring] {
        let text = stdout
        guard let lastNewline = text.lastIndex(of: "\n") else { return [] }
        return text[..<lastNewline].split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Waits until `condition` holds for the output lines so far; false after `timeout` s or
    /// once the process exited without it.
    func waitForLines(timeout: TimeInterval = 30, _ condition: ([Substring]) -> Bool) -> Bool {
        var held = false
        poll(timeout: timeout, every: 0.01) {
            held = condition(lines)
            return held || !process.isRunning
        }
        // After an exit, once more: the pipes may have carried the last lines meanwhile.
        return held || (!process.isRunning && condition(lines))
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit and both pipes' end. A process still running after `timeout` s is
    /// killed, and that is an error carrying what it printed.
    func finish(timeout: TimeInterval = 60) throws -> RunResult {
        poll(timeout: timeout, every: 0.01) { !process.isRunning }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = drained.wait(timeout: .now() + 5)
            throw HarnessError("\(name) still ran after \(timeout) s and was killed; stdout:\n\(stdout.suffix(4000))\nstderr:\n\(stderr.suffix(4000))")
        }
        process.waitUntilExit()
        _ = drained.wait(timeout: .now() + 10)
        return RunResult(status: process.terminationStatus, stdout: stdout, stderr: stderr,
                         exited: process.terminationReason == .exit)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// What a child process printed on one of its pipes so far.
final class OutputBuffer: Sendable {
    let data = Mutex<Data>(Data())
}

/// Runs a program to completion, feeding `input` on standard input; killed (and an error)
/// after `timeout` seconds.
func run(_ path: String, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) throws -> RunResult {
    try Spawned(path, arguments, input: input).finish(timeout: timeout)
}

/// What the end-to-end tests of one test case started: each daemon's directory (kept until the
/// test ends, so its log can still be read) and notes such as a random seed.
final class TestRecord: Sendable {
    @TaskLocal static var current: TestRecord?
    private let logs = Mutex<[(TemporaryDirectory, String)]>([])
    private let notes = Mutex<[String]>([])

    func addDaemon(directory: TemporaryDirectory, logPath: String) {
        logs.withLock { $0.append((directory, logPath)) }
    }

    func note(_ text: String) { notes.withLock { $0.append(text) } }

    /// The notes and the end of every daemon's log.
    var summary: String {
        var text = notes.withLock { $0 }.joined(separator: "\n")
        for (i, entry) in logs.withLock({ $0 }).enumerated() {
            let log = (try? String(contentsOfFile: entry.1, encoding: .utf8)) ?? "(no log)"
            text += "\n--- daemon \(i + 1) log (\(entry.1)), last 6000 characters ---\n" + log.suffix(6000)
        }
        return text
    }
}

/// Adds the daemons' logs (and any notes, such as a seed) to every issue a test records.
struct DaemonLogsOnFailure: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        let record = TestRecord()
        let attach = IssueHandlingTrait.compactMapIssues { issue in
            var issue = issue
            let summary = record.summary
            if !summary.isEmpty { issue.comments.append(Comment(rawValue: summary)) }
            return issue
        }
        try await TestRecord.$current.withValue(record) {
            try await attach.provideScope(for: test, testCase: testCase) {
                // A thrown error is recorded here, inside the handler, so it carries the logs too.
                do { try await function() } catch let error as ExpectationFailedError { throw error } catch { Issue.record(error) }
            }
        }
    }
}

extension Trait where Self == DaemonLogsOnFailure {
    /// Every issue carries the logs of the daemons the test started.
    static var daemonLogsOnFailure: Self { Self() }
}

/// SplitMix64: a seeded generator, so a random schedule can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    let seed: UInt64

    /// Seeded from `LEADROUTER_TEST_SEED` when set, randomly otherwise; the seed is noted on
    /// the test's issues.
    init() {
        let fromEnvironment = ProcessInfo.processInfo.environment["LEADROUTER_TEST_SEED"].flatMap { UInt64($0) }
        seed = fromEnvironment ?? UInt64.random(in: .min ... .max)
        state = seed
        TestRecord.current?.note("random seed \(seed) (rerun with LEADROUTER_TEST_SEED=\(seed))")
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
