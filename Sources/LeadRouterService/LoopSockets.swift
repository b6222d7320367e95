import Foundation
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
    /// When the routing thread took it off its socket (with metrics on: route time starts here).
    var takenAt: ContinuousClock.Instant? = nil
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
    /// Where received frames are copied (one allocation for dozens of leads, each frame a
    /// run read in place from then on).
    private var frameBlocks = ByteArena()

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
        channel == .ingest ? receiveIngest(copyLimit: copyLimit, now: now) : receiveRouted(copyLimit: copyLimit, now: now)
    }

    /// A SUB message, its frames kept as they come. The topic frame of a message with more
    /// frames after it is not copied: only the frame after it (the lead) is ever read, and
    /// `totalSize` still counts it.
    private func receiveIngest(copyLimit: Int, now: Int64) -> Received? {
        var message = InboundMessage()
        var peer: String?
        do {
            let count = try socket.receiveFrames(wait: false) { index, frame in
                if peer == nil { peer = frame.userID }
                message.append(index == 0 && frame.more ? SharedBytes.empty : copy(frame, limit: copyLimit))
                message.totalSize += frame.size
            }
            guard count != nil else { return nil }
        } catch {
            logger.error("\(channel.rawValue) receive failed", metadata: ["error": "\(error)"])
            return nil
        }
        return Received(channel: .ingest, replyRoute: [], message: message, receivedAt: now, peer: peer)
    }

    /// An intake or control message: its routing frames apart from its payload.
    private func receiveRouted(copyLimit: Int, now: Int64) -> Received? {
        var frames: [SharedBytes] = []
        frames.reserveCapacity(3)
        var totalSize = 0
        var peer: String?
        do {
            let count = try socket.receiveFrames(wait: false) { index, frame in
                // Not from the routing-id frame alone: when zmq_poll has prefetched a
                // message, libzmq 4.3.4's ROUTER makes that frame without the connection's
                // metadata; the frames the peer sent always carry it.
                if peer == nil { peer = frame.userID }
                frames.append(copy(frame, limit: copyLimit))
                totalSize += frame.size
            }
            guard count != nil else { return nil }
        } catch {
            logger.error("\(channel.rawValue) receive failed", metadata: ["error": "\(error)"])
            return nil
        }
        let (route, payload) = RouterFrames.split(frames)
        var message = InboundMessage()
        for frame in payload { message.append(frame) }
        message.totalSize = totalSize - route.reduce(0) { $0 + $1.count }
        return Received(channel: channel, replyRoute: route.map(\.array), message: message, receivedAt: now, peer: peer)
    }

    /// The first `limit` bytes of `frame`, copied into ``frameBlocks``.
    private func copy(_ frame: borrowing Message, limit: Int) -> SharedBytes {
        frame.withUnsafeBytes { bytes in
            frameBlocks.copy(UnsafeBufferPointer(rebasing: bytes.bindMemory(to: UInt8.self).prefix(limit)))
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
///
/// With CURVE the socket is an XPUB_MANUAL: each subscription is applied as the subscriber's
/// grants allow (``Grants/subscriptions(for:by:)``), to the connection it came from. libzmq
/// 4.3.4 applies such a subscription even to a connection that ended before its
/// subscription was read (fixed upstream by libzmq PR #4137): a stale entry that can
/// deliver that topic to whichever connection later takes the dead one's place. That case
/// shows as an unsubscription libzmq makes for the ended connection (no User-Id) of a
/// prefix applied since the queue was last empty: the feed then closes the socket and binds
/// a new one (``rebuild(because:)``). Subscribers reconnect and subscribe again by themselves, and
/// recover anything published meanwhile by `seq` and replay; nothing is ever delivered
/// through the stale entry, since the rebuild happens before the next publish.
final class FeedEndpoint {
    private(set) var socket: Socket
    private let logger: Logger
    let manual: Bool
    private let make: () throws -> Socket
    private let endpoint: String
    private var refusals = LogLimiter()
    /// Prefixes applied since the subscription queue was last empty.
    private var appliedSinceEmpty: Set<[UInt8]> = []
    /// Whether a subscriber sent a data frame (anything but a subscription: an XSUB may)
    /// since the queue was last empty. libzmq 4.3.4's XPUB queues such a frame without the
    /// pipe entry it queues with each subscription, so until the queue is next empty every
    /// receive sets `_last_pipe` to a later subscription's connection: a subscription
    /// applied then would reach another subscriber. None is applied meanwhile.
    private var misalignedSinceEmpty = false
    /// With CURVE, the granted prefixes each key's subscribers hold, counted. libzmq applies
    /// a topic to a connection once however many prefixes asked for it, so without these,
    /// taking back `partner/` while `""` is still held cut the partner's own topic off: an
    /// unsubscription takes away only the topics no other prefix of the key maps to. Counted
    /// per key, not per connection, which libzmq does not name (a connection that ends takes
    /// its subscriptions away without a User-Id): a topic kept for it reaches only a
    /// subscriber holding that key, whose SUB socket drops what it did not ask for. At most
    /// ``heldPrefixLimit`` prefixes a key; emptied when the socket is rebuilt.
    private var heldPrefixes: [String: [[UInt8]: Int]] = [:]
    static let heldPrefixLimit = 64
    /// Subscriptions refused, and sockets rebuilt, for logs and metrics.
    private(set) var refusedSubscriptions = 0
    private(set) var rebuilds = 0

    /// - Parameters:
    ///   - make: makes a new socket with the feed's options (before it binds), for ``rebuild(because:)``.
    ///   - endpoint: where the socket is bound (the port chosen), bound again by ``rebuild(because:)``.
    init(socket: Socket, logger: Logger, manual: Bool = false, endpoint: String = "", make: @escaping () throws -> Socket = { throw StartupError("no feed socket factory") }) {
        self.socket = socket
        self.logger = logger
        self.manual = manual
        self.endpoint = endpoint
        self.make = make
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
    /// debug level. Returns true when the socket was rebuilt (the caller polls the new one).
    @discardableResult
    func takeSubscriptions() -> Bool {
        var message = Message()
        var stale = false
        var skipped = false
        for _ in 0..<1024 {
            guard (try? socket.receive(into: &message, wait: false)) == true else {
                appliedSinceEmpty.removeAll(keepingCapacity: true)
                misalignedSinceEmpty = false
                break
            }
            guard let subscription = message.subscription else {
                if manual { refuseDataFrame(from: message.userID) }
                continue
            }
            logger.debug(subscription.isSubscribe ? "feed subscription" : "feed unsubscription", metadata: [
                "prefix": "\(String(decoding: subscription.prefix, as: UTF8.self))",
                "peer": "\(message.userID ?? "-")",
            ])
            guard manual else { continue }
            if misalignedSinceEmpty {
                // libzmq would apply it to another connection: not applied; the subscribers
                // resubscribe to a rebuilt socket.
                if subscription.isSubscribe && message.userID != nil { skipped = true }
                continue
            }
            if let userID = message.userID {
                apply(subscription, from: userID)
            } else if !subscription.isSubscribe && appliedSinceEmpty.contains(subscription.prefix) {
                stale = true
            }
        }
        if skipped {
            rebuild(because: "a subscriber sent data frames, after which libzmq cannot tell which connection a subscription came from; subscribers reconnect and resubscribe")
            return true
        }
        guard stale else { return false }
        rebuild(because: "a subscription may have reached a connection that had just ended; subscribers reconnect and resubscribe")
        return true
    }

    /// A data frame on the feed socket: subscribers only subscribe. Logged (rate-limited)
    /// with the sender; the subscriptions read after it until the queue is empty are not applied.
    private func refuseDataFrame(from userID: String?) {
        misalignedSinceEmpty = true
        refusedSubscriptions += 1
        if let suppressed = refusals.take(now: ContinuousClock.now, perSecond: 10) {
            logger.warning("feed: a subscriber sent a data frame (only subscriptions are taken); subscriptions are held back until the queue is empty", metadata: [
                "peer": "\(userID ?? "-")", "suppressed_before": "\(suppressed)",
            ])
        }
    }

    /// Applies (to the connection it came from: before the next receive) what the
    /// subscriber's grants allow of a subscription, or refuses it.
    private func apply(_ subscription: SubscriptionMessage, from userID: String) {
        guard let principal = Principal(userID: userID) else { return }
        let applied = Grants.subscriptions(for: subscription.prefix, by: principal)
        let kept = subscription.isSubscribe || applied.isEmpty ? [] : release(subscription.prefix, of: userID, principal)
        for topic in applied where !kept.contains(topic) {
            do {
                try socket.set(subscription.isSubscribe ? .subscribe : .unsubscribe, topic)
            } catch {
                logger.error("could not apply a feed subscription", metadata: ["peer": "\(userID)", "error": "\(error)"])
            }
        }
        if subscription.isSubscribe && !applied.isEmpty {
            appliedSinceEmpty.insert(subscription.prefix)
            hold(subscription.prefix, of: userID)
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

    /// Counts `prefix` among those `key`'s subscribers hold (``heldPrefixes``).
    private func hold(_ prefix: [UInt8], of key: String) {
        if heldPrefixes[key]?[prefix] == nil && (heldPrefixes[key]?.count ?? 0) >= FeedEndpoint.heldPrefixLimit { return }
        heldPrefixes[key, default: [:]][prefix, default: 0] += 1
    }

    /// Takes one `prefix` away from `key`'s count; returns the topics its other prefixes still
    /// map to, which an unsubscription must leave.
    private func release(_ prefix: [UInt8], of key: String, _ principal: Principal) -> Set<[UInt8]> {
        guard var held = heldPrefixes[key] else { return [] }
        if let count = held[prefix] { held[prefix] = count > 1 ? count - 1 : nil }
        heldPrefixes[key] = held.isEmpty ? nil : held
        var kept: Set<[UInt8]> = []
        for other in held.keys { kept.formUnion(Grants.subscriptions(for: other, by: principal)) }
        return kept
    }

    /// Closes the socket and binds a new one at the same endpoint (see the type's notes).
    func rebuild(because reason: String) {
        rebuilds += 1
        logger.warning("feed socket rebuilt: \(reason)", metadata: ["rebuilds": "\(rebuilds)"])
        try? socket.set(.linger, 0)
        socket.close()
        appliedSinceEmpty.removeAll()
        heldPrefixes.removeAll()
        misalignedSinceEmpty = false
        for attempt in 0..<200 {
            do {
                let fresh = try make()
                try fresh.bind(endpoint)
                socket = fresh
                return
            } catch {
                // The old listener closes on libzmq's I/O thread: wait for the port.
                if attempt == 199 { logger.critical("the feed socket could not be bound again", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"]) }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }
}

/// ROUTER framing, shared by every ROUTER endpoint.
enum RouterFrames {
    /// Splits a ROUTER message into its routing frames and payload: `[identity][payload]`
    /// from a DEALER, `[identity][empty][payload]` from a REQ.
    static func split<Frame: Collection & ExpressibleByArrayLiteral>(_ frames: [Frame]) -> (route: [Frame], payload: [Frame]) {
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
