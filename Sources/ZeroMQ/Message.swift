internal import CZeroMQ

/// One frame, owned: a `zmq_msg_t` that lives as long as this value and is closed when it
/// goes away. Received frames stay in libzmq's memory; their bytes are lent, never copied.
///
/// Non-copyable, as a `zmq_msg_t` must be: pass it `borrowing` to read it, `inout` to
/// receive into it or send it. Receiving into a message replaces what it held; sending one
/// hands its content to libzmq and leaves it empty, ready to be used again.
///
/// A message may move to another thread (it is `Sendable`, and being non-copyable, the
/// sender gives it up); the socket it came from may not.
///
/// ### Properties
/// A received frame carries its connection's metadata, read with ``property(_:)``. Which
/// of them to trust:
/// - `User-Id`: set by this process's ZAP handler when it accepted the peer (with CURVE,
///   from the peer's verified public key). The only property that says who the peer is.
/// - `Peer-Address`: the peer's IP address, as the kernel reported it (tcp only).
/// - `Socket-Type`, `Routing-Id`, `Identity` and any `X-*` property are sent by the peer
///   in its handshake: anyone can claim anything there. Never authorise on them.
public struct Message: ~Copyable, @unchecked Sendable {
    /// Heap storage, so the `zmq_msg_t` never moves while libzmq may point into it (small
    /// messages keep their bytes inside the struct itself).
    let raw: UnsafeMutablePointer<zmq_msg_t>

    /// An empty message, to receive into.
    public init() {
        raw = .allocate(capacity: 1)
        zmq_msg_init(raw)  // Cannot fail.
    }

    /// A message holding a copy of `bytes`, to send.
    public init(copying bytes: some Collection<UInt8>) throws(ZMQError) {
        // Assigned to `self.raw` only once initialised: a throw before then runs no deinit.
        let raw = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        let count = bytes.count
        do {
            _ = try zmqCall("zmq_msg_init_size \(count)") { zmq_msg_init_size(raw, count) }
        } catch {
            raw.deallocate()
            throw error
        }
        self.raw = raw
        if count > 0 {
            UnsafeMutableRawBufferPointer(start: zmq_msg_data(raw), count: count).copyBytes(from: bytes)
        }
    }

    deinit {
        _ = try? zmqCall("zmq_msg_close") { zmq_msg_close(raw) }
        raw.deallocate()
    }

    /// Releases the content (libzmq's buffer and metadata), leaving an empty message.
    mutating func release() {
        _ = try? zmqCall("zmq_msg_close") { zmq_msg_close(raw) }
        zmq_msg_init(raw)
    }

    /// The frame's size in bytes.
    public var size: Int { zmq_msg_size(raw) }

    /// Whether another frame of the same multipart message follows this one (for a
    /// received frame).
    public var more: Bool { zmq_msg_more(raw) != 0 }

    /// Lends the frame's bytes to `body`, in place. The buffer is valid only during the call.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let count = zmq_msg_size(raw)
        return try body(UnsafeRawBufferPointer(start: count == 0 ? nil : zmq_msg_data(raw), count: count))
    }

    /// Lends the frame's bytes to `body` as a `RawSpan`: the safe way to read them in place.
    public func withBytes<Result, Failure: Error>(
        _ body: (RawSpan) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeBytes { (buffer) throws(Failure) -> Result in try body(buffer.bytes) }
    }

    /// A copy of the first `limit` bytes (all of them by default).
    public func copyBytes(limit: Int = Int.max) -> [UInt8] {
        withUnsafeBytes { Array($0.prefix(limit)) }
    }

    /// Whether the frame's bytes start with `prefix` (a topic check without a copy).
    public func starts(with prefix: some Collection<UInt8>) -> Bool {
        withUnsafeBytes { $0.starts(with: prefix) }
    }

    /// A metadata property of the connection this frame came from, such as `User-Id` or
    /// `Peer-Address`; `nil` when the connection has none by that name (a plaintext peer
    /// has no `User-Id`, nor does a message libzmq made itself, such as the unsubscribe an
    /// XPUB reports when a subscriber goes away).
    ///
    /// Only `User-Id` (set by this process's ZAP handler) and `Peer-Address` can be
    /// trusted: `Routing-Id`, `Identity`, `Socket-Type` and `X-*` are whatever the peer
    /// sent. See the type's documentation.
    public func property(_ name: String) -> String? {
        // No error is built when there is none: the routing thread asks every frame it
        // receives for `User-Id`, and a plaintext connection has none.
        guard let value = zmq_msg_gets(raw, name) else { return nil }
        return String(cString: value)
    }

    /// The `User-Id` the ZAP handler gave this frame's connection (with CURVE: who holds
    /// the client key), or `nil` when it has none. The one identity a peer cannot forge.
    public var userID: String? { property("User-Id") }

    /// The XPUB subscription message this frame holds, or `nil` when it is not one (an
    /// empty frame, or a first byte other than 0 or 1).
    public var subscription: SubscriptionMessage? {
        withUnsafeBytes { bytes in
            guard let first = bytes.first, first <= 1 else { return nil }
            return SubscriptionMessage(isSubscribe: first == 1, prefix: Array(bytes.dropFirst()))
        }
    }
}

/// What an XPUB socket receives when a subscriber subscribes or unsubscribes: one frame,
/// `1` or `0` then the prefix. With ``IntOption/xpubManual`` the XPUB applies nothing by
/// itself: the owner decides with ``Socket/subscribe(_:)`` before its next receive.
public struct SubscriptionMessage: Sendable, Equatable {
    /// `true` for a subscribe, `false` for an unsubscribe.
    public var isSubscribe: Bool
    /// The topic prefix the subscriber asked for.
    public var prefix: [UInt8]

    public init(isSubscribe: Bool, prefix: [UInt8]) {
        self.isSubscribe = isSubscribe
        self.prefix = prefix
    }
}
