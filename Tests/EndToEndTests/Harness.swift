import Foundation
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Where `swift build` put the executables: next to this test bundle, or `LEADROUTER_BIN_DIR`.
enum Binaries {
    static let directory: URL = {
        if let dir = ProcessInfo.processInfo.environment["LEADROUTER_BIN_DIR"] {
            return URL(fileURLWithPath: dir)
        }
        var candidates: [URL] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(Bundle.main.bundleURL)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("leadrouterd").path) {
            return candidate
        }
        return root.appendingPathComponent(".build/debug")
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// A temporary directory removed when the value is dropped.
final class TemporaryDirectory: Sendable {
    let path: String
    init() throws {
        let base = "/tmp/lr-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }
    func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A datagram socket playing systemd's part: receives what the daemon sends to `$NOTIFY_SOCKET`.
final class NotifyListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 { throw HarnessError("cannot bind notify socket \(path): errno \(errno)") }
    }

    /// Waits for a datagram containing `line` (such as `READY=1`); returns all datagrams seen.
    func waitFor(_ line: String, timeout: TimeInterval) -> (found: Bool, seen: [String]) {
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, min(remaining, 200)) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            seen.append(text)
            if text.split(separator: "\n").contains(Substring(line)) { return (true, seen) }
        }
        return (false, seen)
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

/// Loopback TCP ports kept from other processes while the daemon that bound them is down:
/// each bound by a socket of ours with SO_REUSEADDR, never listening. The kernel then gives
/// such a port to no other bind to port 0 (another test's daemon) and to no outgoing
/// connection, while the daemon's next start binds and listens on it all the same (libzmq's
/// listener sets SO_REUSEADDR too).
final class PortHold {
    private var fds: [Int32] = []

    init(endpoints: [String]) {
        for endpoint in endpoints where endpoint.hasPrefix("tcp://") {
            guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...]) else { continue }
            let host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { continue }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { fds.append(fd) } else { close(fd) }
        }
    }

    deinit { fds.forEach { close($0) } }
}

/// A `leadrouterd` with a temporary config and store. Its first start binds every socket to
/// port 0 and the harness learns the ports from `<state_dir>/endpoints.json`, so no other
/// process can take a port between its choice and the bind. A restart binds the same ports
/// again, as a daemon with ports in its config would, so clients that stay connected across
/// it find it again; from the daemon's exit until the restart is ready those ports are held
/// (``PortHold``), or another test's daemon binding port 0 meanwhile could take one.
final class Daemon {
    let directory: TemporaryDirectory
    private(set) var ingest = ""
    private(set) var publish = ""
    private(set) var intake = ""
    private(set) var replay = ""
    /// The control endpoint, when ``withControl``.
    private(set) var control = ""
    /// The metrics endpoint (`HOST:PORT`), when the config sets `metrics.bind`.
    private(set) var metrics = ""
    /// Binds `control.bind` (port 0 at first, then the port it chose).
    let withControl: Bool
    /// A whole config file to run instead of the harness's own (its state_dir overridden).
    private let configText: String?
    private(set) var process = Process()
    let notify: NotifyListener
    let logPath: String
    let configPath: String
    let stateDir: String
    /// Keys added under `replay:` from the next start on, such as `max_limit: 3`.
    var replayYAML = ""
    /// RLIMIT_FSIZE (bytes) from the next start on: a write past it fails with EFBIG, as on a
    /// full disk. `nil`: no limit.
    var fileSizeLimit: Int?
    /// A command that sets something up and then execs its arguments (the daemon's command
    /// line), from the next start on; empty: the daemon is started directly.
    var launcher: [String] = []
    /// `--log-level` from the next start on.
    var logLevel = "info"
    /// Where the daemon's file system is seen from, by its process id: `endpoints.json` is
    /// read under it (`/proc/PID/root` for a daemon in a mount namespace of its own).
    var endpointsRoot: (Int32) -> String = { _ in "" }
    private let rest: String
    private let maxMessageBytes: Int
    private let environment: [String: String]
    /// The bound ports, held while the daemon is down (from its exit to the next READY).
    private var portHold: PortHold?

    /// Holds the bound ports, once the daemon has exited (not already held).
    private func holdPorts() {
        guard portHold == nil, !process.isRunning else { return }
        portHold = PortHold(endpoints: [ingest, intake, publish, replay, control].filter { !$0.isEmpty })
    }

    /// - Parameters:
    ///   - partnersYAML: the `partners:` list and anything else, appended to the config.
    ///   - stateDir: where the store lives (a fresh directory when nil).
    init(partnersYAML: String, maxMessageBytes: Int = 65_536, unmatched: String = "vendor-sales",
         stateDir: String? = nil, extraYAML: String = "", environment extra: [String: String] = [:], start: Bool = true,
         withControl: Bool = false, configText: String? = nil) throws {
        directory = try TemporaryDirectory()
        self.withControl = withControl || configText?.contains("control:") == true
        self.configText = configText
        self.stateDir = stateDir ?? directory.file("state")
        self.maxMessageBytes = maxMessageBytes
        rest = "routing:\n  unmatched: \(unmatched)\n\(extraYAML)\n\(partnersYAML)\n"
        configPath = directory.file("leadrouter.yaml")
        notify = try NotifyListener(path: directory.file("notify.sock"))
        logPath = directory.file("daemon.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        TestRecord.current?.addDaemon(directory: directory, logPath: logPath)
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment.merge(extra) { _, new in new }
        self.environment = environment
        if start { try self.start() }
    }

    /// The config: port 0 until the daemon reported its ports, those ports afterwards.
    private func writeConfig() throws {
        if let configText {
            try configText.write(toFile: configPath, atomically: true, encoding: .utf8)
            return
        }
        func endpoint(_ bound: String) -> String { bound.isEmpty ? "tcp://127.0.0.1:0" : bound }
        let config = """
            state_dir: \(stateDir)
            ingest:
              bind: ["\(endpoint(ingest))"]
              topics: ["lead"]
              max_message_bytes: \(maxMessageBytes)
            intake:
              bind: "\(endpoint(intake))"
            publish:
              bind: "\(endpoint(publish))"
            replay:
              bind: "\(endpoint(replay))"
            \(replayYAML.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            \(withControl ? "control:\n  bind: \"\(endpoint(control))\"" : "")

            """ + rest
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts the daemon (again), appending to its log.
    func start() throws {
        if !ingest.isEmpty { holdPorts() }
        try writeConfig()
        process = Process()
        var command = launcher + [Binaries.path("leadrouterd"), "--config", configPath, "--log-level", logLevel]
        if configText != nil { command += ["--state-dir", stateDir] }
        if let fileSizeLimit {
            // prlimit sets the limit and execs the rest: the same process, the limit inherited.
            command = ["/usr/bin/prlimit", "--fsize=\(fileSizeLimit):unlimited", "--"] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    /// Waits for `READY=1` on the notify socket, then reads the bound endpoints.
    func waitUntilReady(timeout: TimeInterval = 60) throws {
        // In slices, so that a daemon that exits (a refused config) fails the test at once.
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [String] = []
        while true {
            let slice = notify.waitFor("READY=1", timeout: 0.25)
            seen += slice.seen
            if slice.found { break }
            if !process.isRunning || Date() >= deadline {
                let why = process.isRunning ? "within \(timeout) s" : "before it exited with \(process.terminationStatus)"
                throw HarnessError("no READY=1 \(why) (saw \(seen)); log:\n\(log.suffix(4000))")
            }
        }
        let path = endpointsRoot(process.processIdentifier) + stateDir + "/endpoints.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HarnessError("READY=1 came, but \(path) is missing; log:\n\(log.suffix(4000))")
        }
        let bound = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        guard let ingest = (bound["ingest"] as? [String])?.first, let intake = bound["intake"] as? String,
              let publish = bound["publish"] as? String, let replay = bound["replay"] as? String else {
            throw HarnessError("\(path) lacks an endpoint: \(String(decoding: data, as: UTF8.self))")
        }
        (self.ingest, self.intake, self.publish, self.replay) = (ingest, intake, publish, replay)
        portHold = nil
        metrics = bound["metrics"] as? String ?? ""
        if withControl {
            guard let control = bound["control"] as? String else { throw HarnessError("\(path) lacks control") }
            self.control = control
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text`; false after `timeout` s.
    func waitForLog(_ text: String, timeout: TimeInterval = 30) -> Bool {
        poll(timeout: timeout) { log.contains(text) }
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: TimeInterval = 30) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        return waitForExit(timeout: timeout)
    }

    /// SIGKILL: no chance to finish anything.
    func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        holdPorts()
    }

    func waitForExit(timeout: TimeInterval) -> Int32? {
        poll(timeout: timeout) { !process.isRunning }
        if process.isRunning { return nil }
        holdPorts()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
