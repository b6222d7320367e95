import Foundation
import ZeroMQ

/// Publishes leads the way a lead source does: a PUB socket connected to the daemon's
/// ingest endpoint, two frames `[topic][lead JSON]` a lead.
///
/// ZeroMQ's PUB drops messages until the subscriber's subscription has arrived (the "slow
/// joiner"), so this uses an XPUB socket and waits until a subscriber for `topic` is
/// there before sending; it never drops at the high-water mark (it waits instead), and
/// lingers on close until everything queued is delivered.
public final class LeadPublisher {
    private let context: Context
    private let socket: Socket
    public let topic: String
    public private(set) var sent = 0

    /// - Parameter curve: the keys to present when the daemon runs `security.mode: curve`.
    public init(endpoint: String, topic: String = "lead", curve: CurveClientKeys? = nil) throws {
        context = try Context()
        socket = try Socket(context, type: .xpub)
        self.topic = topic
        try socket.set(.xpubNoDrop, 1)
        try socket.set(.sendHighWaterMark, 100_000)
        try socket.set(.linger, 30_000)
        try socket.connect(endpoint, curve: curve, describing: endpoint)
    }

    /// Waits until a subscriber whose subscription matches ``topic`` is connected.
    /// - Returns: `false` if none appeared within `timeout`.
    public func waitForSubscriber(timeout: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        try socket.set(.receiveTimeout, 100)
        while ContinuousClock.now < deadline {
            // Subscription messages: 0x01 followed by the prefix (0x00 to unsubscribe).
            guard let frames = try? socket.receive(), let frame = frames.first, frame.first == 1 else { continue }
            let prefix = frame.dropFirst()
            if Array(topic.utf8).starts(with: prefix) { return true }
        }
        return false
    }

    /// Publishes one lead. Waits (never drops) while the subscriber is a high-water mark behind.
    public func publish(_ lead: [UInt8]) throws {
        let frames = [Array(topic.utf8), lead]
        while try !socket.send(frames, wait: false) {
            Thread.sleep(forTimeInterval: 0.001)
        }
        sent += 1
    }

    /// Closes the socket, waiting up to its linger time for queued leads to be delivered.
    public func close() {
        socket.close()
    }
}
