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

/// A free TCP port on loopback, found by binding port 0.
func freeTCPEndpoint() throws -> String {
    try freeTCPEndpoints(1)[0]
}

/// `count` distinct free TCP ports on loopback: each bound to port 0 and all held until the
/// last is found (closed one at a time, the kernel may hand the same port out twice).
func freeTCPEndpoints(_ count: Int) throws -> [String] {
    let context = try Context()
    var sockets: [Socket] = []
    defer { for socket in sockets { socket.close() } }
    var endpoints: [String] = []
    for _ in 0..<count {
        let socket = try Socket(context, type: .pull)
        sockets.append(socket)
        try socket.bind("tcp://127.0.0.1:*")
        endpoints.append(try socket.lastEndpoint)
    }
    return endpoints
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

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A `leadrouterd` on free ports with a temporary config; it can be killed and started
/// again on the same ports and store.
final class Daemon {
    let directory: TemporaryDirectory
    let ingest: String
    let publish: String
    let intake: String
    let replay: String
    private(set) var process = Process()
    let notify: NotifyListener
    let logPath: String
    let configPath: String
    let stateDir: String
    private let environment: [String: String]

    /// - Parameters:
    ///   - partnersYAML: the `partners:` list and anything else, appended to the config.
    ///   - stateDir: where the store lives (a fresh directory when nil).
    init(partnersYAML: String, maxMessageBytes: Int = 65_536, unmatched: String = "vendor-sales",
         stateDir: String? = nil, extraYAML: String = "", environment extra: [String: String] = [:], start: Bool = true) throws {
        directory = try TemporaryDirectory()
        let endpoints = try freeTCPEndpoints(4)
        (ingest, publish, intake, replay) = (endpoints[0], endpoints[1], endpoints[2], endpoints[3])
        self.stateDir = stateDir ?? directory.file("state")
        let config = """
            state_dir: \(self.stateDir)
            ingest:
              bind: ["\(ingest)"]
              topics: ["lead"]
              max_message_bytes: \(maxMessageBytes)
            intake:
              bind: "\(intake)"
            publish:
              bind: "\(publish)"
            replay:
              bind: "\(replay)"
            routing:
              unmatched: \(unmatched)
            \(extraYAML)
            \(partnersYAML)
            """
        configPath = directory.file("leadrouter.yaml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        notify = try NotifyListener(path: directory.file("notify.sock"))
        logPath = directory.file("daemon.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment.merge(extra) { _, new in new }
        self.environment = environment
        if start { try self.start() }
    }

    /// Starts the daemon (again), appending to its log.
    func start() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Binaries.path("leadrouterd"))
        process.arguments = ["--config", configPath, "--log-level", "info"]
        process.environment = environment
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    /// Waits for `READY=1` on the notify socket.
    func waitUntilReady() throws {
        let (found, seen) = notify.waitFor("READY=1", timeout: 30)
        if !found { throw HarnessError("no READY=1 within 30 s (saw \(seen)); log:\n\(log)") }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: TimeInterval = 30) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        return waitForExit(timeout: timeout)
    }

    /// SIGKILL: no chance to finish anything.
    func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// A lead source: an XPUB connected to the daemon's ingest, which waits for the daemon's
/// subscription before sending (so nothing is lost to the slow-joiner effect) and never drops.
final class TestSource {
    let context: Context
    let socket: Socket

    init(endpoint: String) throws {
        context = try Context()
        socket = try Socket(context, type: .xpub)
        try socket.set(.xpubNoDrop, 1)
        try socket.set(.sendHighWaterMark, 1_000_000)
        try socket.set(.linger, 5000)
        try socket.connect(endpoint)
        try socket.set(.receiveTimeout, 10_000)
        guard let subscription = try socket.receive(), subscription.first?.first == 1 else {
            throw HarnessError("the daemon never subscribed at \(endpoint)")
        }
    }

    func send(_ frames: [[UInt8]]) throws {
        while try !socket.send(frames, wait: false) { Thread.sleep(forTimeInterval: 0.001) }
    }

    func sendLead(_ json: String, topic: String = "lead") throws {
        try send([Array(topic.utf8), Array(json.utf8)])
    }
}

/// A feed subscriber, as a partner or vendor sales runs one.
final class TestSubscriber {
    let context: Context
    let socket: Socket

    init(endpoint: String, topics: [String]) throws {
        context = try Context()
        socket = try Socket(context, type: .sub)
        try socket.set(.receiveHighWaterMark, 1_000_000)
        for topic in topics { try socket.subscribe(topic) }
        try socket.connect(endpoint)
    }

    /// The next envelope (heartbeats skipped unless asked for), or nil after `timeout` ms.
    func next(timeout: Int = 10_000, heartbeats: Bool = false) throws -> FeedMessage? {
        let deadline = Date().addingTimeInterval(Double(timeout) / 1000)
        while true {
            let remaining = Int(deadline.timeIntervalSinceNow * 1000)
            guard remaining > 0, let message = try nextMessage(timeout: remaining) else { return nil }
            if heartbeats || !message.isHeartbeat { return message }
        }
    }

    private func nextMessage(timeout: Int) throws -> FeedMessage? {
        try socket.receive(timeoutMilliseconds: timeout).map(FeedMessage.init)
    }

    /// Receives until `count` messages arrived or `timeout` ms pass without one.
    func collect(_ count: Int, timeout: Int = 10_000) throws -> [FeedMessage] {
        var out: [FeedMessage] = []
        while out.count < count, let message = try next(timeout: timeout) { out.append(message) }
        return out
    }
}

/// A REQ-like client of the intake or replay ROUTER (a DEALER sending the empty delimiter).
final class TestRequester {
    let context: Context
    let socket: Socket

    init(endpoint: String) throws {
        context = try Context()
        socket = try Socket(context, type: .dealer)
        try socket.set(.linger, 0)
        try socket.connect(endpoint)
    }

    /// Sends one request frame and returns the reply frames (delimiter removed).
    func request(_ body: [UInt8], timeout: Int = 10_000) throws -> [[UInt8]] {
        try socket.send([[], body])
        guard let frames = try socket.receive(timeoutMilliseconds: timeout) else { throw HarnessError("no reply within \(timeout) ms") }
        return Array(frames.dropFirst())
    }

    func request(json: String, timeout: Int = 10_000) throws -> [[UInt8]] {
        try request(Array(json.utf8), timeout: timeout)
    }

    /// Every envelope of `topic` from replay, in order.
    func replayAll(_ topic: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var from = 1
        while true {
            let frames = try request(json: #"{"topic": "\#(topic)", "from_seq": \#(from), "limit": 500}"#)
            let header = try JSONSerialization.jsonObject(with: Data(frames[0])) as? [String: Any] ?? [:]
            guard let count = header["count"] as? Int, count > 0 else { return out }
            out += frames.dropFirst()
            from = (header["last_seq"] as? Int ?? from) + 1
        }
    }
}

func jsonObject(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:]
}

struct FeedMessage {
    let frames: [[UInt8]]
    var topic: String { String(decoding: frames[0], as: UTF8.self) }
    var raw: [UInt8] { frames.last ?? [] }
    var isHeartbeat: Bool { topic.hasPrefix("heartbeat/") }
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any]) ?? [:]
    }
}

/// Makes sure every subscriber's subscription reached the daemon before the test starts:
/// publishes invalid probes (answered on `rejected/`) until each subscriber has seen one,
/// then drains them. Returns how many probes were rejected, i.e. the last `rejected/` seq used.
func warmUp(source: TestSource, subscribers: [TestSubscriber]) throws -> Int {
    var ready = Array(repeating: false, count: subscribers.count)
    var probes = 0
    while !ready.allSatisfy({ $0 }) {
        guard probes < 200 else { throw HarnessError("subscribers never saw a probe") }
        try source.sendLead("probe \(probes)")
        probes += 1
        for (i, subscriber) in subscribers.enumerated() where !ready[i] {
            while let message = try subscriber.next(timeout: 50) {
                if message.topic == "rejected/" { ready[i] = true }
            }
        }
    }
    // Let the last probes arrive everywhere, then discard them.
    Thread.sleep(forTimeInterval: 0.2)
    for subscriber in subscribers { while try subscriber.next(timeout: 100) != nil {} }
    return probes
}
