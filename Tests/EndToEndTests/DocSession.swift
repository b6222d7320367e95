import Foundation
import LeadRouting

#if canImport(Glibc)
import Glibc
#endif

/// Where a run of doc examples happens, as a reader would at the repository's root: a working
/// directory with a copy of `Config/`, `docs/` and `.build/debug` (the built binaries), the
/// binaries on `PATH`, at most one daemon and any background commands.
///
/// Examples name the default endpoints (`tcp://127.0.0.1:5550` …) and system paths
/// (`/etc/leadrouter` …). ``toReal(_:endpoints:)`` turns them into the daemon's real endpoints
/// (it binds port 0) and paths inside the working directory, and ``toDoc(_:)`` turns output
/// back, so that output reads as documented.
final class DocSession {
    let name: String
    let directory: TemporaryDirectory
    private(set) var daemon: DocDaemon?
    private var daemons = 0
    private var background: [(name: String, process: Spawned)] = []
    private var printed: [String: Int] = [:]
    /// Absolute paths that examples use, kept inside the working directory.
    static let remappedPaths = try! NSRegularExpression(pattern: #"(?<![\w.~/-])(/etc/leadrouter|/var/lib/|/var/backups|/tmp/)"#)
    /// Why the rest of this session's examples cannot run here (a setup needed pyzmq).
    var unavailable: String?

    var root: String { directory.path }

    init(name: String) throws {
        self.name = name
        directory = try TemporaryDirectory()
        let files = FileManager.default
        try files.copyItem(atPath: repositoryRoot.appendingPathComponent("Config").path, toPath: directory.file("Config"))
        try files.createSymbolicLink(atPath: directory.file("docs"), withDestinationPath: repositoryRoot.appendingPathComponent("docs").path)
        try files.createDirectory(atPath: directory.file(".build"), withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: directory.file(".build/debug"), withDestinationPath: Binaries.directory.path)
        for path in ["tmp", "etc/leadrouter", "var/lib", "var/backups"] {
            try files.createDirectory(atPath: directory.file(path), withIntermediateDirectories: true)
        }
    }

    /// An example's text as it runs here: system paths under the working directory, and (for
    /// commands, not for files) the documented endpoints replaced by the daemon's.
    func toReal(_ text: String, endpoints: Bool = true) -> String {
        var text = text
        text = DocCompare.replacingMatches(of: DocSession.remappedPaths, in: text) { root + $0 }
        if endpoints, let daemon {
            for endpoint in daemon.endpoints { text = text.replacingOccurrences(of: endpoint.documented, with: endpoint.bound) }
        }
        return text
    }

    /// Output as the example shows it: the daemon's endpoints and the working directory's
    /// paths back to the documented ones.
    func toDoc(_ text: String) -> String {
        var text = text
        if let daemon {
            for endpoint in daemon.endpoints.sorted(by: { $0.bound.count > $1.bound.count }) {
                text = text.replacingOccurrences(of: endpoint.bound, with: endpoint.documented)
            }
        }
        for path in ["/etc/", "/var/", "/tmp/"] { text = text.replacingOccurrences(of: root + path, with: path) }
        return text.replacingOccurrences(of: root + "/", with: "").replacingOccurrences(of: root, with: ".")
    }

    /// Runs a script with bash in the working directory, the binaries first on `PATH`, standard
    /// error merged into standard output, stopping at the first failing command.
    func shell(_ script: String, timeout: TimeInterval = 60) throws -> RunResult {
        return try run("/bin/bash", ["-c", "set -eo pipefail\n" + prologue + "exec 2>&1\n" + script], timeout: timeout)
    }

    /// The working directory, the binaries first on `PATH`, `$DAEMON_LOG` (the daemon's log),
    /// `$DAEMON_PID` and `$DAEMON_CONFIG` (the config it runs: the example's, on port 0).
    private var prologue: String {
        "cd '\(root)'\nexport PATH='\(Binaries.directory.path)':\"$PATH\"\nexport DAEMON_LOG='\(daemon?.logPath ?? "/dev/null")'\n"
            + "export DAEMON_PID=\(daemon?.process.processIdentifier ?? 0)\nexport DAEMON_CONFIG='\(daemon?.configPath ?? "/dev/null")'\n"
    }

    /// Writes a file of the working directory (creating its directory).
    func write(_ name: String, _ contents: String) throws {
        let path = name.hasPrefix("/") ? name : directory.file(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Starts the daemon on a config of the working directory (stopping one already running).
    func startDaemon(config: String, arguments: [String]) throws {
        if let running = daemon { _ = running.stop() }
        daemons += 1
        daemon = try DocDaemon(session: self, config: config, arguments: arguments, number: daemons)
    }

    /// SIGTERM to the daemon; its exit status (nil: still running after the timeout).
    func stopDaemon() -> Int32? { daemon?.stop() }

    /// Starts a command that runs until stopped, and waits until the daemon has its feed
    /// subscriptions to `prefixes`, so that nothing published next is lost to it. The daemon
    /// logs every subscriber's subscription, to a prefix already subscribed to as well.
    func startBackground(_ script: String, name: String, prefixes: [String]) throws {
        let start = daemon?.logLines.count ?? 0
        let process = try Spawned("/bin/bash", ["-c", prologue + "exec " + script])
        background.append((name, process))
        guard let daemon, !prefixes.isEmpty else { return }
        var missing = Set(prefixes)
        poll(timeout: 20) {
            missing.subtract(daemon.subscriptionLines(from: start))
            return missing.isEmpty || !process.isRunning
        }
        if !missing.isEmpty {
            throw HarnessError("`\(script)` did not subscribe to \(missing.sorted()); it printed:\n\(process.stdout)\(process.stderr)")
        }
    }

    /// The next `count` lines a background command prints (the last started when `name` is
    /// nil), waiting up to `timeout` seconds for them; fewer if it does not print them.
    func nextLines(of name: String?, count: Int, timeout: TimeInterval = 20) -> (name: String, lines: [String], stderr: String)? {
        guard let entry = name.map({ wanted in background.last { $0.name == wanted } }) ?? background.last else { return nil }
        let from = printed[entry.name] ?? 0
        _ = entry.process.waitForLines(timeout: timeout) { $0.count >= from + count }
        let lines = entry.process.lines.map(String.init)
        let taken = Array(lines.dropFirst(from).prefix(count))
        printed[entry.name] = from + taken.count
        return (entry.name, taken, entry.process.stderr)
    }

    /// Ends the background commands and the daemon.
    func finish() {
        // SIGKILL: children of the test process may have SIGTERM ignored (an inherited
        // disposition), and nothing of theirs needs a graceful end.
        for entry in background where entry.process.isRunning {
            entry.process.signal(SIGKILL)
            _ = try? entry.process.finish(timeout: 5)
        }
        background = []
        if let daemon, daemon.process.isRunning { _ = daemon.stop() }
    }
}

/// A `leadrouterd` a doc example started: on a copy of the example's config whose endpoints
/// are bound on port 0, in the session's working directory, logging at debug level (its
/// `feed subscription` lines tell when a subscriber is ready).
final class DocDaemon {
    let process = Process()
    let logPath: String
    /// The config it runs: the example's, its endpoints on port 0 (what a reload re-reads).
    let configPath: String
    private let notify: NotifyListener
    /// The endpoints as the example names them (from its config, or the defaults) and as bound.
    private(set) var endpoints: [(role: String, documented: String, bound: String)] = []

    init(session: DocSession, config: String, arguments: [String], number: Int) throws {
        let configPath = config.hasPrefix("/") ? config : session.directory.file(config)
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        let parsed = try ConfigLoader.load(yaml: text)
        let declared = DocDaemon.declaredEndpoints(parsed)
        let portZero = (configPath as NSString).deletingLastPathComponent + "/.port0-\(number).yaml"
        self.configPath = portZero
        try DocDaemon.boundOnPortZero(text, declared: declared).write(toFile: portZero, atomically: true, encoding: .utf8)
        var stateDir = parsed.stateDir
        if let at = arguments.firstIndex(of: "--state-dir"), at + 1 < arguments.count { stateDir = arguments[at + 1] }
        if !stateDir.hasPrefix("/") { stateDir = session.directory.file(stateDir) }
        try? FileManager.default.removeItem(atPath: stateDir + "/endpoints.json")
        var rest = arguments
        if let at = rest.firstIndex(of: "--log-level"), at + 1 < rest.count { rest.removeSubrange(at...(at + 1)) }
        notify = try NotifyListener(path: session.directory.file(".notify-\(number).sock"))
        logPath = session.directory.file(".daemon-\(number).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Binaries.path("leadrouterd"))
        process.arguments = ["--config", portZero, "--log-level", "debug"] + rest
        process.currentDirectoryURL = URL(fileURLWithPath: session.root)
        process.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": notify.path]) { _, new in new }
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try waitUntilReady(stateDir: stateDir, declared: declared)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var logLines: [Substring] { log.split(separator: "\n") }

    /// The prefixes of the feed subscriptions logged from line `start` on.
    func subscriptionLines(from start: Int) -> [String] {
        logLines.dropFirst(start).filter { $0.hasSuffix("] feed subscription") }.compactMap(DocDaemon.prefix)
    }

    private static func prefix(_ line: Substring) -> String? {
        guard let range = line.range(of: #" prefix=\S*"#, options: .regularExpression) else { return nil }
        return String(line[range].dropFirst(" prefix=".count))
    }

    func endpoint(_ role: String) -> String? { endpoints.first { $0.role == role }?.bound }

    func stop() -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        poll(timeout: 30) { !process.isRunning }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    private func waitUntilReady(stateDir: String, declared: [(String, String)]) throws {
        let deadline = Date().addingTimeInterval(60)
        while !notify.waitFor("READY=1", timeout: 0.25).found {
            if !process.isRunning || Date() > deadline {
                throw HarnessError("the daemon did not start (exit \(process.isRunning ? "-" : "\(process.terminationStatus)")); log:\n\(log.suffix(4000))")
            }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: stateDir + "/endpoints.json"))
        let bound = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        for (role, documented) in declared {
            let real = role == "ingest" ? (bound[role] as? [String])?.first : bound[role] as? String
            if let real { endpoints.append((role, documented, real)) }
        }
    }

    /// The endpoint of each socket as the config names it (or its default).
    static func declaredEndpoints(_ config: RouterConfig) -> [(String, String)] {
        var out: [(String, String)] = []
        if let ingest = config.ingest.bind.first { out.append(("ingest", ingest.description)) }
        if let intake = config.intake.bind { out.append(("intake", intake.description)) }
        out.append(("publish", config.publish.bind.description))
        if let replay = config.replay.bind { out.append(("replay", replay.description)) }
        if let control = config.control.bind { out.append(("control", control.description)) }
        return out
    }

    /// The config with each declared endpoint on port 0: replaced where the text names it,
    /// added (under its section) where it is a default.
    static func boundOnPortZero(_ text: String, declared: [(String, String)]) -> String {
        var text = text
        for (role, endpoint) in declared {
            let zero = endpoint.replacingOccurrences(of: #":\d+$"#, with: ":0", options: .regularExpression)
            if text.contains(endpoint) {
                text = text.replacingOccurrences(of: endpoint, with: zero)
                continue
            }
            let value = role == "ingest" ? "[\"\(zero)\"]" : "\"\(zero)\""
            if let section = text.range(of: "(?m)^\(role):[ \\t]*(#.*)?$", options: .regularExpression) {
                text.insert(contentsOf: "\n  bind: \(value)", at: section.upperBound)
            } else {
                text += "\n\(role):\n  bind: \(value)\n"
            }
        }
        return text
    }
}
