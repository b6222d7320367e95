import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Synchronization
import Testing
import ZeroMQ

let partnersYAML = """
    partners:
      - {id: acme, name: Acme Partners, engagement: leads_only, territories: [{country: US, regions: [CO, WY]}]}
      - {id: globex, name: Globex, engagement: co_sell, territories: [{country: DE}]}
    """

func lead(_ id: String, country: String = "US", region: String? = "CO") -> String {
    let regionField = region.map { #", "region": "\#($0)""# } ?? ""
    return #"{"lead_id": "\#(id)", "source": "webform", "company": {"name": "Co \#(id)", "country": "\#(country)"\#(regionField)}, "products": ["email-security"]}"#
}

func json(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The daemon's routing loop, run in process on a thread of its own, with every endpoint on
/// `inproc://` in a context the test shares, and clients that talk to it as integrators do.
final class LoopHarness: @unchecked Sendable {
    let context: Context
    let config: RouterConfig
    let loop: RoutingLoop
    let logs = LogRecorder()
    private let finished = Mutex<Result<Void, any Error>?>(nil)
    private let ended = DispatchSemaphore(value: 0)

    init(store: any RoutingStore, clock: any LoopClock = SystemLoopClock(), pipelineBatch: Int? = nil,
         context: Context? = nil, heartbeatMilliseconds: Int = 1000, keyRing: KeyRing = KeyRing(), stateDir: String? = nil,
         metrics: RouterMetrics? = nil, configure: (inout RouterConfig) -> Void = { _ in }) throws {
        self.context = try context ?? Context()
        var config = try ConfigLoader.load(yaml: """
            state_dir: /nonexistent
            ingest: {bind: ["tcp://127.0.0.1:1"], topics: ["lead"]}
            intake: {bind: "tcp://127.0.0.1:2"}
            publish: {bind: "tcp://127.0.0.1:3", heartbeat_ms: \(heartbeatMilliseconds)}
            replay: {bind: "tcp://127.0.0.1:4"}
            \(partnersYAML)
            """)
        let name = UUID().uuidString
        config.ingest.bind = [.inProcess("ingest-\(name)")]
        config.intake.bind = .inProcess("intake-\(name)")
        config.publish.bind = .inProcess("publish-\(name)")
        config.replay.bind = .inProcess("replay-\(name)")
        config.control.bind = .inProcess("control-\(name)")
        if let stateDir { config.stateDir = stateDir }
        configure(&config)
        self.config = config
        loop = try RoutingLoop(config: config, store: store, logger: logs.logger(), notifier: SystemdNotifier(environment: [:]),
                               keyRing: keyRing, context: self.context, clock: clock, pipelineBatch: pipelineBatch,
                               metrics: metrics)
    }

    /// Starts the loop and waits until it is ready (or has failed to start).
    func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let result = Result { try loop.run(onReady: { ready.signal() }) }
            finished.withLock { $0 = result }
            ready.signal()
            ended.signal()
        }
        thread.start()
        guard ready.wait(timeout: .now() + 30) == .success else { throw HarnessError("the loop did not start within 30 s") }
        if let result = finished.withLock({ $0 }), case .failure(let error) = result { throw error }
    }

    /// Waits up to `timeout` seconds for the loop to return on its own.
    func waitForExit(timeout: Double = 30) -> Result<Void, any Error>? {
        guard ended.wait(timeout: .now() + timeout) == .success else { return nil }
        return finished.withLock { $0 }
    }

    /// Asks the loop to stop gracefully and waits for it.
    func stop() -> Result<Void, any Error>? {
        loop.requestStop()
        return waitForExit()
    }

    /// A partner's control client (a DEALER, as an integration that pipelines requests would use).
    func controlClient() throws -> IntakeClient { try IntakeClient(context: context, endpoint: config.control.bind!.description) }

    func intakeClient() throws -> IntakeClient { try IntakeClient(context: context, endpoint: config.intake.bind!.description) }
    func feedReader(_ topics: [String]) throws -> FeedReader { try FeedReader(context: context, endpoint: config.publish.bind.description, topics: topics) }
    /// A lead source's socket, connected to ingest once the daemon's subscription arrived
    /// (an XPUB sees it; a PUB would drop what it sent before).
    func source() throws -> Socket {
        let socket = try Socket(context, type: .xpub)
        try socket.set(.linger, 0)
        try socket.connect(config.ingest.bind[0].description)
        guard try socket.receive(timeoutMilliseconds: 10_000) != nil else { throw HarnessError("ingest never subscribed") }
        return socket
    }

    /// Replays every envelope of `topic`, 1,000 at a time, failing on an error reply.
    func replay(_ topic: String) throws -> [[UInt8]] {
        let socket = try Socket(context, type: .dealer)
        try socket.set(.linger, 0)
        try socket.connect(config.replay.bind!.description)
        var envelopes: [[UInt8]] = []
        while true {
            try socket.send(Array(#"{"topic": "\#(topic)", "from_seq": \#(envelopes.count + 1), "limit": 1000}"#.utf8))
            guard let frames = try socket.receive(timeoutMilliseconds: 10_000), let header = frames.first else {
                throw HarnessError("no replay reply for \(topic)")
            }
            guard let count = json(header)["count"] as? Int else {
                throw HarnessError("replay of \(topic) failed: \(String(decoding: header, as: UTF8.self))")
            }
            envelopes += frames.dropFirst()
            if count < 1000 { return envelopes }
        }
    }
}

/// An intake client as integrators write one: a DEALER that sends leads and reads replies.
final class IntakeClient {
    let socket: Socket
    init(context: Context, endpoint: String) throws {
        socket = try Socket(context, type: .dealer)
        try socket.set(.linger, 0)
        try socket.connect(endpoint)
    }
    func send(_ lead: String) throws { try socket.send(Array(lead.utf8)) }
    /// The next reply, or `nil` after `timeout` milliseconds.
    func reply(timeout: Int = 10_000) throws -> [String: Any]? {
        try socket.receive(timeoutMilliseconds: timeout).map { json($0.last ?? []) }
    }
    func ask(_ lead: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try send(lead)
        return try #require(try reply(), "no reply", sourceLocation: sourceLocation)
    }
}

/// A feed subscriber.
final class FeedReader {
    let socket: Socket
    init(context: Context, endpoint: String, topics: [String]) throws {
        socket = try Socket(context, type: .sub)
        try socket.set(.linger, 0)
        for topic in topics { try socket.subscribe(topic) }
        try socket.connect(endpoint)
    }
    /// The next message, or `nil` after `timeout` milliseconds.
    func next(timeout: Int = 10_000) throws -> (topic: String, body: [String: Any], bytes: [UInt8])? {
        guard let frames = try socket.receive(timeoutMilliseconds: timeout), frames.count == 2 else { return nil }
        return (String(decoding: frames[0], as: UTF8.self), json(frames[1]), frames[1])
    }
    /// Reads until a message satisfies `match`; `nil` when none did within `timeout` seconds.
    func first(within timeout: Double = 10, where match: (String, [String: Any]) -> Bool) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let message = try next(timeout: 100), match(message.topic, message.body) { return message.body }
        }
        return nil
    }
}

/// Waits until `condition` holds, checking every few milliseconds, for at most `timeout` seconds.
func eventually(_ timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return try condition()
}

/// A fresh directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "lr-service-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
