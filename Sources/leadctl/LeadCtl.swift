import ArgumentParser
import Foundation
import LeadRouterClient
import LeadRouting

@main
struct LeadCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leadctl",
        abstract: "Publish leads to leadrouterd, follow its assignment feed, and act on leads as a partner.",
        version: LeadRouterVersion.current,
        subcommands: [
            Publish.self, Tail.self, Explain.self, Register.self, Offers.self, Partners.self,
            Accept.self, Decline.self, Claim.self, RequestVendor.self, HandBack.self, Outcome.self, Status.self,
            Keygen.self,
        ]
    )

    /// `leadctl` with no subcommand: a usage error (exit 2, the usage on standard error), as the
    /// contract's exit codes have it; `leadctl --help` still prints the help and exits 0.
    func run() throws {
        throw ValidationError("a subcommand is required")
    }

    /// Runs the command, mapping argument errors to exit code 2 (ArgumentParser uses 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish leads (JSON lines, from FILE or standard input) on a PUB socket, topic `lead`.")

    @Option(help: "The daemon's ingest endpoint, such as tcp://127.0.0.1:5550.")
    var endpoint: String

    @Option(help: "The topic frame sent before each lead.")
    var topic: String = "lead"

    @Option(help: "Seconds to wait for the daemon's subscription before giving up.")
    var wait: Double = 10

    @Flag(help: "Submit to the intake endpoint (ROUTER) and wait for each lead to be acknowledged as durably stored; resend on timeout (Lazy Pirate).")
    var reliable = false

    @Option(help: "With --reliable: seconds to wait for a reply before reconnecting and resending.")
    var timeout: Double = 2.5

    @Option(help: "With --reliable: tries without any reply before giving up.")
    var retries: Int = 5

    @Option(help: "With --reliable: leads in flight at once.")
    var window: Int = 64

    @Argument(help: "A file of leads, one JSON object a line. Standard input when absent.")
    var file: String?

    @OptionGroup var curve: CurveOptions

    func run() throws {
        if reliable {
            try runReliable()
            return
        }
        let input: FileHandle
        if let file {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw fail("cannot open \(file)")
            }
            input = handle
        } else {
            input = FileHandle.standardInput
        }
        let keys = try curve.clientKeys()
        let publisher: LeadPublisher
        do {
            publisher = try LeadPublisher(endpoint: endpoint, topic: topic, curve: keys)
            guard try publisher.waitForSubscriber(timeout: .milliseconds(Int64(wait * 1000))) else {
                throw fail("no subscriber for topic \"\(topic)\" at \(endpoint) within \(wait) s: is leadrouterd running with this ingest endpoint and topic?")
            }
        } catch let error as ClientError {
            throw fail(error.description)
        }
        var lines = LineReader(handle: input)
        var lineNumber = 0
        while let line = lines.next() {
            lineNumber += 1
            let trimmed = line.trimmingJSONWhitespace()
            if trimmed.isEmpty { continue }
            if trimmed.first != UInt8(ascii: "{") {
                FileHandle.standardError.write(Data("leadctl: line \(lineNumber): not a JSON object; published anyway, the daemon will reject it\n".utf8))
            }
            try publisher.publish(trimmed)
        }
        publisher.close()
        FileHandle.standardError.write(Data("leadctl: published \(publisher.sent) lead(s) to \(endpoint)\n".utf8))
    }
}

extension Publish {
    func openInput() throws -> FileHandle {
        guard let file else { return FileHandle.standardInput }
        guard let handle = FileHandle(forReadingAtPath: file) else { throw fail("cannot open \(file)") }
        return handle
    }

    /// Reads every non-empty line, with its line number.
    func readLeads() throws -> [(line: Int, bytes: [UInt8])] {
        var lines = LineReader(handle: try openInput())
        var leads: [(Int, [UInt8])] = []
        var number = 0
        while let line = lines.next() {
            number += 1
            let trimmed = line.trimmingJSONWhitespace()
            if !trimmed.isEmpty { leads.append((number, trimmed)) }
        }
        return leads
    }

    func runReliable() throws {
        let leads = try readLeads()
        let keys = try curve.clientKeys()
        var accepted = 0, duplicates = 0, rejected = 0
        do {
            let publisher = ClientLifetime.keep(try ReliablePublisher(
                endpoint: endpoint, window: window, timeout: .milliseconds(Int64(timeout * 1000)), retries: retries, curve: keys))
            try publisher.publish(leads.map(\.bytes)) { index, status in
                switch status {
                case .accepted: accepted += 1
                case .duplicate: duplicates += 1
                case .rejected(let code, let field, let message):
                    rejected += 1
                    let at = field.map { " \($0)" } ?? ""
                    FileHandle.standardError.write(Data("leadctl: line \(leads[index].line): rejected: \(code)\(at): \(message)\n".utf8))
                }
            }
            publisher.close()
        } catch let error as ClientError {
            throw fail(error.description)
        }
        FileHandle.standardError.write(Data("leadctl: \(accepted) accepted, \(duplicates) duplicate, \(rejected) rejected at \(endpoint)\n".utf8))
        if rejected > 0 { throw ExitCode(1) }
    }
}

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribe to the assignment feed and print each message as one JSON line.")

    @Option(help: "The daemon's publish endpoint, such as tcp://127.0.0.1:5560.")
    var endpoint: String

    @Option(name: .customLong("topic"), help: "A topic prefix to subscribe to, such as partner/acme/ (repeatable; all topics when absent).")
    var topics: [String] = []

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Option(help: "Exit when no message arrives for this many seconds.")
    var idleTimeout: Double?

    @Flag(help: "Also subscribe to and print the heartbeats of the chosen topics (heartbeat/<topic>, sent on idle topics).")
    var heartbeats = false

    @Flag(help: "Never miss an envelope: fill seq gaps from the replay endpoint and resume from --state after a restart. Needs --replay-endpoint, --state and whole topics.")
    var recover = false

    @Option(help: "With --recover: the daemon's replay endpoint, such as tcp://127.0.0.1:5561.")
    var replayEndpoint: String?

    @Option(help: "With --recover: a file holding the last seq delivered on each topic.")
    var state: String?

    @OptionGroup var curve: CurveOptions

    func validate() throws {
        if recover && (replayEndpoint == nil || state == nil) {
            throw ValidationError("--recover needs --replay-endpoint and --state")
        }
    }

    func runRecovering() throws {
        guard let replayEndpoint, let state else { return }
        let keys = try curve.clientKeys()
        let subscriber: RecoveringSubscriber
        do {
            subscriber = ClientLifetime.keep(try RecoveringSubscriber(
                feedEndpoint: endpoint, replayEndpoint: replayEndpoint, topics: topics, statePath: state, curve: keys))
        } catch let error as ClientError {
            throw fail(error.description)
        }
        var seen = 0
        var lastDelivery = ContinuousClock.now
        let idleLimit = idleTimeout.map { Duration.milliseconds(Int64($0 * 1000)) }
        do {
            try subscriber.run(shouldStop: {
                if let count, seen >= count { return true }
                if let idleLimit, ContinuousClock.now - lastDelivery >= idleLimit { return true }
                return false
            }) { _, envelope in
                var line = envelope.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
                line.append(0x0A)
                FileHandle.standardOutput.write(Data(line))
                seen += 1
                lastDelivery = ContinuousClock.now
            }
        } catch let error as ClientError {
            throw fail(error.description)
        }
    }

    func run() throws {
        if recover {
            try runRecovering()
            return
        }
        let keys = try curve.clientKeys()
        let subscriber: FeedSubscriber
        do {
            let heartbeatTopics = heartbeats ? (topics.isEmpty ? ["heartbeat/"] : topics.map { "heartbeat/" + $0 }) : []
            subscriber = ClientLifetime.keep(try FeedSubscriber(endpoint: endpoint, topics: topics.isEmpty ? [""] : topics + heartbeatTopics, curve: keys))
        } catch let error as ClientError {
            throw fail(error.description)
        }
        var seen = 0
        while count.map({ seen < $0 }) ?? true {
            let timeout = idleTimeout.map { Duration.milliseconds(Int64($0 * 1000)) }
            guard let message = try subscriber.next(timeout: timeout) else { break }
            if !heartbeats && FeedSubscriber.isHeartbeat(topic: message.topic) { continue }
            if message.frames != 2 {
                FileHandle.standardError.write(Data("leadctl: topic \(message.topic): expected 2 frames, got \(message.frames)\n".utf8))
            }
            // Raw newlines in JSON can only be whitespace: fold them so each message is one line.
            var line = message.envelope.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
            line.append(0x0A)
            FileHandle.standardOutput.write(Data(line))
            seen += 1
        }
    }
}

/// Prints `message` on standard error and makes the command exit 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("leadctl: \(message)\n".utf8))
    return ExitCode(1)
}

/// Reads a file handle line by line without loading it whole.
struct LineReader {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var position = 0
    var atEnd = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> [UInt8]? {
        while true {
            if let newline = buffer[position...].firstIndex(of: 0x0A) {
                let line = Array(buffer[position..<newline])
                position = newline + 1
                return line
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                defer { buffer.removeAll(); position = 0 }
                return Array(buffer[position...])
            }
            buffer.removeSubrange(..<position)
            position = 0
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

extension Array where Element == UInt8 {
    func trimmingJSONWhitespace() -> [UInt8] {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return [] }
        return Array(self[start...end])
    }
}
