import LeadRouting
import Logging
import ZeroMQ

/// A message taken off an inbound socket, with what is needed to answer it.
struct Received {
    var channel: InboundChannel
    /// For intake: the ROUTER's routing frames (identity, and the empty delimiter of a REQ client).
    var replyRoute: [[UInt8]]
    var message: InboundMessage
    var receivedAt: Int64
}

/// A socket leads come in on: the ingest SUB, or the intake ROUTER. The routing thread takes
/// one message from each in turn until a batch is full, so neither starves the other.
final class InboundEndpoint {
    let channel: InboundChannel
    let socket: Socket
    private let bound: [Endpoint]
    private let connected: [Endpoint]
    private let logger: Logger

    init(channel: InboundChannel, socket: Socket, bound: [Endpoint], connected: [Endpoint] = [], logger: Logger) {
        self.channel = channel
        self.socket = socket
        self.bound = bound
        self.connected = connected
        self.logger = logger
    }

    /// The next waiting message, copying at most `copyLimit` bytes of each frame; `nil` when none waits.
    func receive(copyLimit: Int, now: Int64) -> Received? {
        let received: ReceivedMessage?
        do { received = try socket.receiveMessage(wait: false, copyLimit: copyLimit) } catch {
            logger.error("\(channel.rawValue) receive failed", metadata: ["error": "\(error)"])
            return nil
        }
        guard let received else { return nil }
        switch channel {
        case .ingest:
            return Received(channel: .ingest, replyRoute: [],
                            message: InboundMessage(frames: received.frames.map(\.bytes), totalSize: received.totalSize),
                            receivedAt: now)
        case .intake:
            let (route, payload) = RouterFrames.split(received.frames)
            return Received(channel: .intake, replyRoute: route,
                            message: InboundMessage(frames: payload.map(\.bytes), totalSize: payload.reduce(0) { $0 + $1.size }),
                            receivedAt: now)
        }
    }

    /// Answers a ROUTER client.
    func reply(_ route: [[UInt8]], _ body: [UInt8]) {
        RouterFrames.reply(route, [body], on: socket, logger: logger)
    }

    /// Takes no new messages: unbinds and disconnects (a ROUTER's clients are disconnected).
    func stopTaking() {
        for endpoint in bound { try? socket.unbind(endpoint.description) }
        for endpoint in connected { try? socket.disconnect(endpoint.description) }
    }
}

/// The assignment feed's socket: an XPUB, so the loop sees subscriptions come and go (and,
/// with CURVE, who asked); it publishes envelopes and heartbeats.
final class FeedEndpoint {
    let socket: Socket
    private let logger: Logger

    init(socket: Socket, logger: Logger) {
        self.socket = socket
        self.logger = logger
    }

    func publish(_ message: OutgoingMessage) {
        do {
            try socket.send(topic: message.topic, body: message.envelope, wait: false)
        } catch {
            logger.error("publish failed", metadata: ["topic": "\(message.topic)", "seq": "\(message.seq)", "error": "\(error)"])
        }
    }

    func heartbeat(topic: String, body: [UInt8]) {
        do {
            try socket.send(topic: topic, body: body, wait: false)
        } catch {
            logger.warning("heartbeat failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }

    /// Reads the subscription messages waiting (`\x01prefix` subscribe, `\x00prefix`
    /// unsubscribe); libzmq has applied them already. Logged at debug level.
    func takeSubscriptions() {
        for _ in 0..<1024 {
            guard let message = try? socket.receiveMessage(wait: false, copyLimit: 256), let frame = message.frames.first,
                  let kind = frame.bytes.first else { return }
            logger.debug(kind == 1 ? "feed subscription" : "feed unsubscription", metadata: [
                "prefix": "\(String(decoding: frame.bytes.dropFirst(), as: UTF8.self))",
            ])
        }
    }
}

/// ROUTER framing, shared by every ROUTER endpoint.
enum RouterFrames {
    /// Splits a ROUTER message into its routing frames and payload: `[identity][payload]`
    /// from a DEALER, `[identity][empty][payload]` from a REQ.
    static func split(_ frames: [Frame]) -> (route: [[UInt8]], payload: [Frame]) {
        guard let identity = frames.first else { return ([], []) }
        if frames.count >= 2 && frames[1].size == 0 {
            return ([identity.bytes, []], Array(frames.dropFirst(2)))
        }
        return ([identity.bytes], Array(frames.dropFirst()))
    }

    static func reply(_ route: [[UInt8]], _ body: [[UInt8]], on socket: Socket, logger: Logger) {
        do {
            try socket.send(route + body, wait: false)
        } catch {
            logger.warning("reply could not be sent", metadata: ["error": "\(error)"])
        }
    }
}
