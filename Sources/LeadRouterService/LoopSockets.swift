import LeadRouting
import Logging
import ZeroMQ

/// A message taken off an inbound socket, with what is needed to answer it.
struct Received {
    var channel: InboundChannel
    /// For intake and control: the ROUTER's routing frames (identity, and the empty delimiter of a REQ client).
    var replyRoute: [[UInt8]]
    var message: InboundMessage
    var receivedAt: Int64
    /// Who sent it, as the connection's ZAP handler said (with CURVE, the key's holder);
    /// `nil` without security. Read from the message itself, never from what a client sets.
    var peer: String? = nil
}

/// A socket leads come in on: the ingest SUB, or the intake ROUTER. The routing thread takes
/// one message from each in turn until a batch is full, so neither starves the other.
final class InboundEndpoint {
    let channel: InboundChannel
    let socket: Socket
    /// The endpoints as bound: libzmq unbinds a port of 0 or * only by the port it chose.
    private let bound: [String]
    private let connected: [Endpoint]
    private let logger: Logger

    init(channel: InboundChannel, socket: Socket, bound: [String], connected: [Endpoint] = [], logger: Logger) {
        self.channel = channel
        self.socket = socket
        self.bound = bound
        self.connected = connected
        self.logger = logger
    }

    /// The next waiting message, copying at most `copyLimit` bytes of each frame out of
    /// libzmq's (lent, never copied whole) frames; `nil` when none waits.
    func receive(copyLimit: Int, now: Int64) -> Received? {
        var frames: [[UInt8]] = []
        var totalSize = 0
        var peer: String?
        do {
            let count = try socket.receiveFrames(wait: false) { index, frame in
                // Not from the routing-id frame alone: when zmq_poll has prefetched a
                // message, libzmq 4.3.4's ROUTER makes that frame without the connection's
                // metadata; the frames the peer sent always carry it.
                if peer == nil { peer = frame.userID }
                frames.append(frame.copyBytes(limit: copyLimit))
                totalSize += frame.size
            }
            guard count != nil else { return nil }
        } catch {
            logger.error("\(channel.rawValue) receive failed", metadata: ["error": "\(error)"])
            return nil
        }
        switch channel {
        case .ingest:
            return Received(channel: .ingest, replyRoute: [], message: InboundMessage(frames: frames, totalSize: totalSize),
                            receivedAt: now, peer: peer)
        case .intake, .control:
            let (route, payload) = RouterFrames.split(frames)
            let payloadSize = totalSize - route.reduce(0) { $0 + $1.count }
            return Received(channel: channel, replyRoute: route, message: InboundMessage(frames: payload, totalSize: payloadSize),
                            receivedAt: now, peer: peer)
        }
    }

    /// Answers a ROUTER client.
    func reply(_ route: [[UInt8]], _ body: [UInt8]) {
        RouterFrames.reply(route, [body], on: socket, logger: logger)
    }

    /// Takes no new messages: unbinds and disconnects (a ROUTER's clients are disconnected).
    func stopTaking() {
        for endpoint in bound { try? socket.unbind(endpoint) }
        for endpoint in connected { try? socket.disconnect(endpoint.description) }
    }
}

/// The assignment feed's socket: an XPUB, so the loop sees subscriptions come and go (and,
/// with CURVE, who asked); it publishes envelopes and heartbeats.
final class FeedEndpoint {
    let socket: Socket
    private let logger: Logger
    /// With CURVE: the socket is an XPUB_MANUAL, and each subscription is applied as the
    /// subscriber's grants allow (``Grants/subscriptions(for:by:)``).
    let manual: Bool
    private var refusals = LogLimiter()
    /// Subscriptions refused, for metrics.
    private(set) var refusedSubscriptions = 0

    init(socket: Socket, logger: Logger, manual: Bool = false) {
        self.socket = socket
        self.logger = logger
        self.manual = manual
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

    /// Reads the subscription messages waiting; libzmq has applied them already (with
    /// CURVE grants, this is where each is applied or refused for its `User-Id`). Logged at
    /// debug level.
    func takeSubscriptions() {
        var message = Message()
        for _ in 0..<1024 {
            guard (try? socket.receive(into: &message, wait: false)) == true else { return }
            guard let subscription = message.subscription else { continue }
            logger.debug(subscription.isSubscribe ? "feed subscription" : "feed unsubscription", metadata: [
                "prefix": "\(String(decoding: subscription.prefix, as: UTF8.self))",
                "peer": "\(message.userID ?? "-")",
            ])
            if manual { apply(subscription, from: message.userID) }
        }
    }

    /// Applies (to the pipe it came from: before the next receive) what the subscriber's
    /// grants allow of a subscription, or refuses it. One that libzmq made itself when a
    /// subscriber left has no User-Id: libzmq has already dropped that pipe's subscriptions.
    private func apply(_ subscription: SubscriptionMessage, from userID: String?) {
        guard let userID, let principal = Principal(userID: userID) else { return }
        let applied = Grants.subscriptions(for: subscription.prefix, by: principal)
        for topic in applied {
            do {
                try socket.set(subscription.isSubscribe ? .subscribe : .unsubscribe, topic)
            } catch {
                logger.error("could not apply a feed subscription", metadata: ["peer": "\(userID)", "error": "\(error)"])
            }
        }
        guard applied.isEmpty && subscription.isSubscribe else { return }
        refusedSubscriptions += 1
        if let suppressed = refusals.take(now: ContinuousClock.now, perSecond: 10) {
            logger.warning("feed subscription refused: outside the subscriber's grants", metadata: [
                "peer": "\(userID)", "prefix": "\(String(decoding: subscription.prefix, as: UTF8.self))",
                "suppressed_before": "\(suppressed)",
            ])
        }
    }
}

/// ROUTER framing, shared by every ROUTER endpoint.
enum RouterFrames {
    /// Splits a ROUTER message into its routing frames and payload: `[identity][payload]`
    /// from a DEALER, `[identity][empty][payload]` from a REQ.
    static func split(_ frames: [[UInt8]]) -> (route: [[UInt8]], payload: [[UInt8]]) {
        guard let identity = frames.first else { return ([], []) }
        if frames.count >= 2 && frames[1].isEmpty {
            return ([identity, []], Array(frames.dropFirst(2)))
        }
        return ([identity], Array(frames.dropFirst()))
    }

    static func reply(_ route: [[UInt8]], _ body: [[UInt8]], on socket: Socket, logger: Logger) {
        do {
            try socket.send(route + body, wait: false)
        } catch {
            logger.warning("reply could not be sent", metadata: ["error": "\(error)"])
        }
    }
}
