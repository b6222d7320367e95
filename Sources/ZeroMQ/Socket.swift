internal import CZeroMQ
#if canImport(Glibc)
internal import Glibc
#endif

/// The kinds of ZeroMQ socket LeadRouter uses.
public enum SocketType: Sendable {
    case pub, sub, xpub, xsub, router, dealer, req, rep, push, pull, pair

    var raw: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        }
    }
}

/// Integer socket options.
public enum IntOption: Sendable {
    /// Messages queued per peer for sending before the socket drops (PUB) or blocks.
    case sendHighWaterMark
    /// Messages queued per peer on receipt.
    case receiveHighWaterMark
    /// Milliseconds unsent messages linger after `close` (-1 forever, 0 drop).
    case linger
    /// Milliseconds a blocking receive waits before failing with `EAGAIN` (-1 forever).
    case receiveTimeout
    /// Milliseconds a blocking send waits before failing with `EAGAIN` (-1 forever).
    case sendTimeout
    /// Milliseconds between reconnection attempts.
    case reconnectInterval
    /// Maximum reconnection interval in milliseconds (0: only `reconnectInterval`).
    case reconnectIntervalMax
    /// 1: queue messages only to completed connections.
    case immediate
    /// 1: ROUTER fails with `EHOSTUNREACH` instead of dropping an unroutable message.
    case routerMandatory
    /// 1: XPUB passes every subscription message up, duplicates included.
    case xpubVerbose
    /// 1: XPUB/PUB fails a send with `EAGAIN` at the high-water mark instead of dropping.
    case xpubNoDrop
    /// 1: allow IPv6 on tcp sockets.
    case ipv6
    /// Milliseconds between ZMTP heartbeats (0: off).
    case heartbeatInterval
    /// Milliseconds without traffic after a heartbeat before the peer is dropped.
    case heartbeatTimeout
    /// 1: a REQ socket may send again without waiting for the reply (Lazy Pirate).
    case requestRelaxed
    /// 1: a REQ socket tags requests and drops stale replies.
    case requestCorrelate

    var raw: Int32 {
        switch self {
        case .sendHighWaterMark: ZMQ_SNDHWM
        case .receiveHighWaterMark: ZMQ_RCVHWM
        case .linger: ZMQ_LINGER
        case .receiveTimeout: ZMQ_RCVTIMEO
        case .sendTimeout: ZMQ_SNDTIMEO
        case .reconnectInterval: ZMQ_RECONNECT_IVL
        case .reconnectIntervalMax: ZMQ_RECONNECT_IVL_MAX
        case .immediate: ZMQ_IMMEDIATE
        case .routerMandatory: ZMQ_ROUTER_MANDATORY
        case .xpubVerbose: ZMQ_XPUB_VERBOSE
        case .xpubNoDrop: ZMQ_XPUB_NODROP
        case .ipv6: ZMQ_IPV6
        case .heartbeatInterval: ZMQ_HEARTBEAT_IVL
        case .heartbeatTimeout: ZMQ_HEARTBEAT_TIMEOUT
        case .requestRelaxed: ZMQ_REQ_RELAXED
        case .requestCorrelate: ZMQ_REQ_CORRELATE
        }
    }
}

/// One frame received, copied out of libzmq; `size` is the frame's full size even when
/// only a prefix was copied (see ``Socket/receiveMessage(copyLimit:)``).
public struct Frame: Sendable, Equatable {
    public var bytes: [UInt8]
    public var size: Int
    public init(bytes: [UInt8], size: Int) {
        self.bytes = bytes
        self.size = size
    }
    public init(_ bytes: [UInt8]) {
        self.init(bytes: bytes, size: bytes.count)
    }
    /// Whether only a prefix of the frame was copied.
    public var isTruncated: Bool { bytes.count < size }
}

/// A whole multipart message as received.
public struct ReceivedMessage: Sendable, Equatable {
    public var frames: [Frame]
    /// Bytes of all frames together.
    public var totalSize: Int { frames.reduce(0) { $0 + $1.size } }
    public init(frames: [Frame]) { self.frames = frames }
}

/// A ZeroMQ socket. Not thread-safe, as libzmq sockets are not: create it, use it and
/// let it go on one thread (the type is deliberately not `Sendable`).
public final class Socket {
    public let type: SocketType
    let handle: UnsafeMutableRawPointer
    private let context: Context
    private var closed = false

    public init(_ context: Context, type: SocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.raw) else {
            throw ZMQError(code: zmq_errno(), operation: "zmq_socket")
        }
        self.handle = handle
        self.context = context
        self.type = type
    }

    deinit { close() }

    /// Closes the socket; pending outgoing messages linger per ``IntOption/linger``.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = zmq_close(handle)
    }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("bind \(endpoint)") { zmq_bind(handle, endpoint) }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("connect \(endpoint)") { zmq_connect(handle, endpoint) }
    }

    public func unbind(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("unbind \(endpoint)") { zmq_unbind(handle, endpoint) }
    }

    public func disconnect(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("disconnect \(endpoint)") { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint last bound, with a wildcard port resolved (`tcp://127.0.0.1:41235`).
    public var lastEndpoint: String {
        get throws(ZMQError) {
            var buffer = [CChar](repeating: 0, count: 1024)
            var size = buffer.count
            _ = try zmqCall("getsockopt ZMQ_LAST_ENDPOINT") {
                zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
            }
            let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    // MARK: - Options

    public func set(_ option: IntOption, _ value: Int) throws(ZMQError) {
        var v = Int32(clamping: value)
        _ = try zmqCall("setsockopt \(option)") {
            zmq_setsockopt(handle, option.raw, &v, MemoryLayout<Int32>.size)
        }
    }

    public func get(_ option: IntOption) throws(ZMQError) -> Int {
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        _ = try zmqCall("getsockopt \(option)") { zmq_getsockopt(handle, option.raw, &v, &size) }
        return Int(v)
    }

    /// Inbound messages larger than this many bytes make libzmq drop the peer: a hard
    /// safety cap, above any size the application rejects politely.
    public func setMaximumMessageSize(_ bytes: Int64) throws(ZMQError) {
        var v = bytes
        _ = try zmqCall("setsockopt ZMQ_MAXMSGSIZE") {
            zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &v, MemoryLayout<Int64>.size)
        }
    }

    /// SUB: receive messages whose first frame starts with `prefix` ("" for all).
    public func subscribe(_ prefix: String) throws(ZMQError) {
        try setBytes(ZMQ_SUBSCRIBE, Array(prefix.utf8), name: "ZMQ_SUBSCRIBE")
    }

    public func unsubscribe(_ prefix: String) throws(ZMQError) {
        try setBytes(ZMQ_UNSUBSCRIBE, Array(prefix.utf8), name: "ZMQ_UNSUBSCRIBE")
    }

    /// The identity a DEALER or REQ socket presents to a ROUTER.
    public func setRoutingID(_ id: [UInt8]) throws(ZMQError) {
        try setBytes(ZMQ_ROUTING_ID, id, name: "ZMQ_ROUTING_ID")
    }

    private func setBytes(_ option: Int32, _ bytes: [UInt8], name: String) throws(ZMQError) {
        _ = try zmqCall("setsockopt \(name)") {
            bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        }
    }

    /// Whether a message can be received (`ZMQ_POLLIN`) or sent (`ZMQ_POLLOUT`) now.
    public var events: (readable: Bool, writable: Bool) {
        get throws(ZMQError) {
            var v: Int32 = 0
            var size = MemoryLayout<Int32>.size
            _ = try zmqCall("getsockopt ZMQ_EVENTS") { zmq_getsockopt(handle, ZMQ_EVENTS, &v, &size) }
            return (v & Int32(ZMQ_POLLIN) != 0, v & Int32(ZMQ_POLLOUT) != 0)
        }
    }

    // MARK: - Sending

    /// Sends `frames` as one multipart message.
    ///
    /// - Parameter wait: `false` to fail at once instead of blocking when the message
    ///   cannot be queued.
    /// - Returns: `false` when `wait` is `false` and the message could not be queued
    ///   (`EAGAIN`) before its first frame; nothing was sent.
    @discardableResult
    public func send<Bytes: Collection<UInt8>>(_ frames: [Bytes], wait: Bool = true) throws(ZMQError) -> Bool {
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            if !wait { flags |= ZMQ_DONTWAIT }
            do {
                try sendFrame(frame, flags: flags)
            } catch let error where error.isWouldBlock && index == 0 {
                return false
            }
        }
        return true
    }

    /// Sends one single-frame message.
    @discardableResult
    public func send<Bytes: Collection<UInt8>>(_ frame: Bytes, wait: Bool = true) throws(ZMQError) -> Bool {
        try send([frame], wait: wait)
    }

    /// Sends `[topic][body]`, as a PUB socket publishes, straight from the caller's storage:
    /// no array of frames, no copy of the topic's bytes.
    ///
    /// - Returns: `false` when `wait` is `false` and the message could not be queued
    ///   (`EAGAIN`); nothing was sent.
    @discardableResult
    public func send(topic: String, body: [UInt8], wait: Bool = true) throws(ZMQError) -> Bool {
        let h = handle
        let dontWait = wait ? 0 : ZMQ_DONTWAIT
        var topic = topic
        let first = topic.withUTF8 { sendRetrying(h, $0.baseAddress, $0.count, ZMQ_SNDMORE | dontWait) }
        if first < 0 {
            let error = ZMQError(code: zmq_errno(), operation: "send")
            if error.isWouldBlock { return false }
            throw error
        }
        let second = body.withUnsafeBufferPointer { sendRetrying(h, $0.baseAddress, $0.count, dontWait) }
        if second < 0 { throw ZMQError(code: zmq_errno(), operation: "send") }
        return true
    }

    private func sendFrame<Bytes: Collection<UInt8>>(_ frame: Bytes, flags: Int32) throws(ZMQError) {
        let h = handle
        let sent: Int32? = frame.withContiguousStorageIfAvailable { buffer in
            sendRetrying(h, buffer.baseAddress, buffer.count, flags)
        }
        let result: Int32
        if let sent {
            result = sent
        } else {
            let copy = Array(frame)
            result = copy.withUnsafeBufferPointer { sendRetrying(h, $0.baseAddress, $0.count, flags) }
        }
        if result < 0 { throw ZMQError(code: zmq_errno(), operation: "send") }
    }

    // MARK: - Receiving

    /// Receives one whole multipart message.
    ///
    /// - Parameters:
    ///   - wait: `false` to return `nil` at once when no message is waiting.
    ///   - copyLimit: frames larger than this are copied only up to it (their real size
    ///     is still reported), so an oversized message costs no more memory than the cap.
    public func receiveMessage(wait: Bool = true, copyLimit: Int = Int.max) throws(ZMQError) -> ReceivedMessage? {
        var frames: [Frame] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            let flags: Int32 = (wait || !frames.isEmpty) ? 0 : ZMQ_DONTWAIT
            let size = zmq_msg_recv(&message, handle, flags)
            if size < 0 {
                let code = zmq_errno()
                if code == EINTR { continue }
                if code == EAGAIN && frames.isEmpty && !wait { return nil }
                throw ZMQError(code: code, operation: "receive")
            }
            let total = zmq_msg_size(&message)
            let copied = min(total, copyLimit)
            let bytes: [UInt8]
            if copied == 0 {
                bytes = []
            } else {
                let base = zmq_msg_data(&message)!.assumingMemoryBound(to: UInt8.self)
                bytes = Array(UnsafeBufferPointer(start: base, count: copied))
            }
            frames.append(Frame(bytes: bytes, size: total))
            if zmq_msg_more(&message) == 0 { return ReceivedMessage(frames: frames) }
        }
    }

    /// Receives one whole multipart message as byte arrays.
    public func receive(wait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        try receiveMessage(wait: wait).map { $0.frames.map(\.bytes) }
    }

    /// Receives one whole multipart message, waiting at most `timeoutMilliseconds` (-1:
    /// forever); `nil` when none arrived in time. Sets ``IntOption/receiveTimeout``.
    public func receive(timeoutMilliseconds: Int) throws(ZMQError) -> [[UInt8]]? {
        try set(.receiveTimeout, timeoutMilliseconds)
        do {
            return try receive()
        } catch where error.isWouldBlock {
            return nil
        }
    }
}

private func sendRetrying(_ socket: UnsafeMutableRawPointer, _ base: UnsafePointer<UInt8>?, _ count: Int, _ flags: Int32) -> Int32 {
    while true {
        let r = zmq_send(socket, base, count, flags)
        if r >= 0 || zmq_errno() != EINTR { return r }
    }
}
