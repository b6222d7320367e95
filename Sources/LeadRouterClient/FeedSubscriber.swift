import ZeroMQ

/// Subscribes to the assignment feed the way a partner or vendor sales does.
public final class FeedSubscriber {
    private let context: Context
    private let socket: Socket

    /// - Parameter curve: the keys to present when the daemon runs `security.mode: curve`.
    public init(endpoint: String, topics: [String], curve: CurveClientKeys? = nil) throws {
        context = try Context()
        socket = try Socket(context, type: .sub)
        try socket.set(.receiveHighWaterMark, 1_000_000)
        try socket.set(.linger, 0)
        for topic in topics.isEmpty ? [""] : topics { try socket.subscribe(topic) }
        try socket.connect(endpoint, curve: curve, describing: endpoint)
    }

    /// The next feed message: its topic and envelope. `nil` when `timeout` passed first.
    public func next(timeout: Duration? = nil) throws -> (topic: String, envelope: [UInt8], frames: Int)? {
        let ms = timeout.map { Int($0 / .milliseconds(1)) } ?? -1
        guard let frames = try socket.receive(timeoutMilliseconds: ms) else { return nil }
        let topic = String(decoding: frames[0], as: UTF8.self)
        return (topic, frames.count > 1 ? frames[frames.count - 1] : [], frames.count)
    }

    /// Whether a feed message is a heartbeat (on a `heartbeat/…` topic) rather than an envelope.
    public static func isHeartbeat(topic: String) -> Bool {
        topic.hasPrefix("heartbeat/")
    }
}
