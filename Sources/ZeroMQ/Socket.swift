internal import CZeroMQ

/// A ZeroMQ socket. Not thread-safe, as libzmq sockets are not: create it, use it and
/// let it go on one thread (the type is deliberately not `Sendable`).
///
/// Sending and receiving are in `Socket+Send.swift` and `Socket+Receive.swift`; CURVE set-up
/// in `Curve.swift`.
public final class Socket {
    public let type: SocketType
    let handle: UnsafeMutableRawPointer
    private let context: Context
    private var closed = false
    /// Whether a ``SocketMonitor`` watches it (its events stop before it closes).
    var monitored = false

    public init(_ context: Context, type: SocketType) throws(ZMQError) {
        handle = try zmqPointerCall("zmq_socket \(type)") { zmq_socket(context.handle, type.raw) }
        self.context = context
        self.type = type
    }

    deinit { close() }

    /// Closes the socket; pending outgoing messages linger per ``IntOption/linger``. A
    /// monitor's events stop first (``stopMonitor()``).
    public func close() {
        guard !closed else { return }
        stopMonitor()
        closed = true
        _ = try? zmqCall("zmq_close") { zmq_close(handle) }
    }

    /// Stops the events of a ``SocketMonitor`` watching it, at once. libzmq sends them from its
    /// I/O thread without a timeout, so one sent after the monitor's reader closed (the
    /// connections a closing socket ends, say) would wait for good, and every socket of the
    /// context with it: stopped here, none is sent.
    func stopMonitor() {
        guard monitored, !closed else { return }
        monitored = false
        _ = try? zmqCall("zmq_socket_monitor stop") { zmq_socket_monitor(handle, nil, 0) }
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

    /// Sets a byte option: a key, a domain, a routing id, a subscription prefix. Security
    /// options (CURVE keys, ZAP domain) apply to later binds and connects only.
    public func set(_ option: ByteOption, _ value: some Collection<UInt8>) throws(ZMQError) {
        let bytes = Array(value)
        _ = try zmqCall("setsockopt \(option)") {
            bytes.withUnsafeBytes { zmq_setsockopt(handle, option.raw, $0.baseAddress, $0.count) }
        }
    }

    /// Sets a byte option from a string's UTF-8 bytes (a ZAP domain, a Z85 CURVE key).
    public func set(_ option: ByteOption, _ value: String) throws(ZMQError) {
        try set(option, value.utf8)
    }

    /// Reads a byte option back: a CURVE key as its 32 bytes, a ZAP domain without its
    /// terminating NUL, a routing id as set.
    public func get(_ option: ByteOption) throws(ZMQError) -> [UInt8] {
        // libzmq returns a CURVE key in binary only when asked for exactly 32 bytes.
        var buffer = [UInt8](repeating: 0, count: option.isCurveKey ? 32 : 256)
        var size = buffer.count
        _ = try zmqCall("getsockopt \(option)") {
            buffer.withUnsafeMutableBytes { zmq_getsockopt(handle, option.raw, $0.baseAddress, &size) }
        }
        let value = buffer.prefix(size)
        return option == .zapDomain ? Array(value.prefix(while: { $0 != 0 })) : Array(value)
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
    ///
    /// XPUB with ``IntOption/xpubManual``: gives `prefix` to the subscriber whose message
    /// was received last (whatever it asked for), so call it before the next receive.
    public func subscribe(_ prefix: String) throws(ZMQError) {
        try set(.subscribe, prefix)
    }

    /// The reverse of ``subscribe(_:)``, for SUB and manual XPUB alike.
    public func unsubscribe(_ prefix: String) throws(ZMQError) {
        try set(.unsubscribe, prefix)
    }

    /// The identity a DEALER or REQ socket presents to a ROUTER.
    public func setRoutingID(_ id: [UInt8]) throws(ZMQError) {
        try set(.routingID, id)
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
}
