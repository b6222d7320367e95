/// A whole multipart message, owned: its frames are ``Message``s that stay in libzmq's
/// memory. Filled by ``Socket/receive(into:wait:)-(MultipartMessage,_)`` or by
/// ``append(_:)``, sent with ``Socket/send(_:wait:)-(MultipartMessage,_)``.
///
/// Meant to be reused: receiving into it again releases the frames it held but keeps
/// their storage, so a loop that keeps one allocates nothing per message of the same or
/// fewer frames.
///
/// Frames are lent by ``subscript(_:)``: `message[0].userID` reads who sent a ROUTER's
/// request (its routing-id frame) or an XPUB's subscription message, and
/// `message[1].withBytes { ... }` reads a body in place.
public struct MultipartMessage: ~Copyable, @unchecked Sendable {
    /// `slots` frames are initialised (the first `count` hold this message's frames, the
    /// rest are empty and ready to receive into); room for `capacity`.
    private var storage: UnsafeMutablePointer<Message>
    private var capacity: Int
    private var slots = 0
    /// The number of frames.
    public private(set) var count = 0

    /// An empty message with room for `capacity` frames before it grows.
    public init(capacity: Int = 4) {
        self.capacity = max(1, capacity)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deinitialize(count: slots)
        storage.deallocate()
    }

    /// Whether the message has no frames (before a receive, or after one that got none).
    public var isEmpty: Bool { count == 0 }

    /// The frame at `index`, lent.
    public subscript(index: Int) -> Message {
        _read {
            precondition(index >= 0 && index < count, "frame \(index) of a \(count)-frame message")
            yield storage[index]
        }
    }

    /// The last frame, lent. The message must not be empty.
    public var last: Message {
        _read {
            precondition(count > 0, "the last frame of an empty message")
            yield storage[count - 1]
        }
    }

    /// Bytes of all frames together.
    public var totalSize: Int {
        var total = 0
        for index in 0..<count { total += storage[index].size }
        return total
    }

    /// The `User-Id` of the connection the message came from (see ``Message/userID``);
    /// `nil` when it has none or the message is empty.
    public var userID: String? { count == 0 ? nil : storage[0].userID }

    /// Adds `frame` after the last frame.
    public mutating func append(_ frame: consuming Message) {
        if count < slots {
            storage[count] = frame
        } else {
            reserveSlot()
            (storage + count).initialize(to: frame)
            slots += 1
        }
        count += 1
    }

    /// Releases every frame's content (libzmq's buffers) and empties the message; the
    /// storage stays for the next receive.
    public mutating func removeAll() {
        for index in 0..<count { storage[index].release() }
        count = 0
    }

    /// Lends frame `index` to `body` to be changed (sent, which empties it).
    mutating func withFrame<Result, Failure: Error>(
        _ index: Int,
        _ body: (inout Message) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        precondition(index >= 0 && index < count, "frame \(index) of a \(count)-frame message")
        return try body(&storage[index])
    }

    /// Lends the slot after the last frame to `receive`; when it returns `true` (a frame
    /// arrived), the frame becomes part of the message.
    mutating func receiveFrame(_ receive: (inout Message) throws(ZMQError) -> Bool) throws(ZMQError) -> Bool {
        if count == slots {
            reserveSlot()
            (storage + count).initialize(to: Message())
            slots += 1
        }
        guard try receive(&storage[count]) else { return false }
        count += 1
        return true
    }

    /// Makes room for one more slot, doubling the storage when it is full.
    private mutating func reserveSlot() {
        guard slots == capacity else { return }
        let larger = UnsafeMutablePointer<Message>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: storage, count: slots)
        storage.deallocate()
        storage = larger
        capacity *= 2
    }
}
