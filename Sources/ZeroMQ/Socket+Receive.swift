internal import CZeroMQ

/// One frame received, copied out of libzmq; `size` is the frame's full size even when
/// only a prefix was copied (see ``Socket/receiveMessage(wait:copyLimit:)``).
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
    /// A copy of `message`'s first `copyLimit` bytes, and its full size.
    public init(copying message: borrowing Message, copyLimit: Int = Int.max) {
        self.init(bytes: message.copyBytes(limit: copyLimit), size: message.size)
    }
    /// Whether only a prefix of the frame was copied.
    public var isTruncated: Bool { bytes.count < size }
}

/// A whole multipart message as received, copied out of libzmq.
public struct ReceivedMessage: Sendable, Equatable {
    public var frames: [Frame]
    /// Bytes of all frames together.
    public var totalSize: Int { frames.reduce(0) { $0 + $1.size } }
    public init(frames: [Frame]) { self.frames = frames }
    /// A copy of `message`'s frames, each cut at `copyLimit` bytes.
    public init(copying message: borrowing MultipartMessage, copyLimit: Int = Int.max) {
        frames = (0..<message.count).map { Frame(copying: message[$0], copyLimit: copyLimit) }
    }
}

extension Socket {
    /// Receives one frame into `message`, replacing what it held. Check ``Message/more``
    /// to know whether another frame of the same multipart message follows; once the first
    /// frame arrived, the rest are already there (libzmq delivers messages whole).
    ///
    /// - Parameter wait: `false` to return at once when nothing is waiting.
    /// - Returns: `false` when no frame arrived: nothing waiting with `wait: false`, or
    ///   ``IntOption/receiveTimeout`` passed.
    public func receive(into message: inout Message, wait: Bool = true) throws(ZMQError) -> Bool {
        let flags: Int32 = wait ? 0 : ZMQ_DONTWAIT
        return try zmqCallUnlessWouldBlock("receive") { zmq_msg_recv(message.raw, handle, flags) } != nil
    }

    /// Receives one whole multipart message into `message`, replacing what it held,
    /// without copying any frame. Reusing one `MultipartMessage` across receives reuses
    /// its storage.
    ///
    /// ```swift
    /// var request = MultipartMessage()
    /// while try router.receive(into: &request, wait: false) {
    ///     let user = request[0].userID  // who sent it, from the routing-id frame
    /// }
    /// ```
    ///
    /// - Returns: `false` when no message arrived (nothing waiting with `wait: false`, or
    ///   ``IntOption/receiveTimeout`` passed); `message` is then empty.
    public func receive(into message: inout MultipartMessage, wait: Bool = true) throws(ZMQError) -> Bool {
        message.removeAll()
        repeat {
            let first = message.isEmpty
            let received = try message.receiveFrame { (frame) throws(ZMQError) in
                try receive(into: &frame, wait: wait || !first)
            }
            if !received {
                if first { return false }
                throw ZMQError.wouldBlock("receive: frame \(message.count) of a multipart message")
            }
        } while message.last.more
        return true
    }

    /// Receives one whole multipart message and lends each frame in turn to `body`, in
    /// place (valid only during the call), with its metadata (``Message/userID``).
    ///
    /// `body` cannot throw: every frame of the message is received, so the next receive
    /// starts at a message's first frame.
    ///
    /// - Parameters:
    ///   - wait: `false` to return `nil` at once when no message is waiting.
    ///   - body: called once per frame with its index.
    /// - Returns: the number of frames; `nil` when no message arrived (nothing waiting with
    ///   `wait: false`, or ``IntOption/receiveTimeout`` passed).
    @discardableResult
    public func receiveFrames(wait: Bool = true, _ body: (_ index: Int, _ frame: borrowing Message) -> Void) throws(ZMQError) -> Int? {
        var frame = Message()
        var index = 0
        while true {
            guard try receive(into: &frame, wait: wait || index > 0) else {
                if index == 0 { return nil }
                throw ZMQError.wouldBlock("receive: frame \(index) of a multipart message")
            }
            body(index, frame)
            index += 1
            if !frame.more { return index }
        }
    }

    /// Receives one whole multipart message, copied into arrays.
    ///
    /// - Parameters:
    ///   - wait: `false` to return `nil` at once when no message is waiting.
    ///   - copyLimit: frames larger than this are copied only up to it (their real size
    ///     is still reported), so an oversized message costs no more memory than the cap.
    /// - Throws: ``ZMQError``; with `wait: true`, ``ZMQError/isWouldBlock`` when
    ///   ``IntOption/receiveTimeout`` passed.
    public func receiveMessage(wait: Bool = true, copyLimit: Int = Int.max) throws(ZMQError) -> ReceivedMessage? {
        var frames: [Frame] = []
        let received = try receiveFrames(wait: wait) { _, frame in
            frames.append(Frame(copying: frame, copyLimit: copyLimit))
        }
        if received == nil {
            if wait { throw ZMQError.wouldBlock("receive") }
            return nil
        }
        return ReceivedMessage(frames: frames)
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
