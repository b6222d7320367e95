internal import CZeroMQ

extension Socket {
    /// Sends one frame from the caller's memory: libzmq copies `bytes` before returning,
    /// so they need to live only during the call.
    ///
    /// - Parameters:
    ///   - more: another frame of the same multipart message follows (`ZMQ_SNDMORE`).
    ///   - wait: `false` to fail at once instead of blocking when the frame cannot be queued.
    /// - Returns: `false` when `wait` is `false` and the frame could not be queued (`EAGAIN`,
    ///   or ``IntOption/sendTimeout`` passed); nothing was sent.
    @discardableResult
    public func send(bytes: UnsafeRawBufferPointer, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let flags = Self.sendFlags(more: more, wait: wait)
        return try zmqCallUnlessWouldBlock("send") { zmq_send(handle, bytes.baseAddress, bytes.count, flags) } != nil
    }

    /// Sends `message` as one frame without copying it. On success libzmq takes its content
    /// and leaves `message` empty, ready to be reused; when it returns `false` or throws,
    /// `message` keeps its content.
    ///
    /// - Parameters:
    ///   - more: another frame of the same multipart message follows (`ZMQ_SNDMORE`).
    ///   - wait: `false` to fail at once instead of blocking when the frame cannot be queued.
    /// - Returns: `false` when `wait` is `false` and the frame could not be queued.
    @discardableResult
    public func send(_ message: inout Message, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let flags = Self.sendFlags(more: more, wait: wait)
        return try zmqCallUnlessWouldBlock("send") { zmq_msg_send(message.raw, handle, flags) } != nil
    }

    /// Sends every frame of `message` as one multipart message, without copying them;
    /// on success `message` is left empty.
    ///
    /// - Returns: `false` when `wait` is `false` and the first frame could not be queued;
    ///   nothing was sent.
    @discardableResult
    public func send(_ message: inout MultipartMessage, wait: Bool = true) throws(ZMQError) -> Bool {
        precondition(!message.isEmpty, "a ZeroMQ message has at least one frame")
        let count = message.count
        for index in 0..<count {
            let more = index < count - 1
            let sent = try message.withFrame(index) { (frame) throws(ZMQError) in
                try send(&frame, more: more, wait: wait)
            }
            if !sent {
                if index == 0 { return false }
                throw ZMQError.wouldBlock("send: frame \(index) of \(count)")
            }
        }
        message.removeAll()
        return true
    }

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
            let sent = try sendCollection(frame, more: index < frames.count - 1, wait: wait)
            if !sent {
                if index == 0 { return false }
                throw ZMQError.wouldBlock("send")
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
    public func send<Body: Collection<UInt8>>(topic: String, body: Body, wait: Bool = true) throws(ZMQError) -> Bool {
        var topic = topic
        let first = topic.withUTF8 { buffer in
            Result { () throws(ZMQError) in try send(bytes: UnsafeRawBufferPointer(buffer), more: true, wait: wait) }
        }
        guard try first.get() else { return false }
        if try !sendCollection(body, more: false, wait: wait) { throw ZMQError.wouldBlock("send") }
        return true
    }

    /// Sends one frame from any collection of bytes, from its own storage when it is
    /// contiguous, else from a copy.
    private func sendCollection<Bytes: Collection<UInt8>>(_ frame: Bytes, more: Bool, wait: Bool) throws(ZMQError) -> Bool {
        let sent = frame.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ZMQError) in try send(bytes: UnsafeRawBufferPointer(buffer), more: more, wait: wait) }
        }
        if let sent { return try sent.get() }
        let copy = Array(frame)
        return try copy.withUnsafeBytes { buffer in
            Result { () throws(ZMQError) in try send(bytes: buffer, more: more, wait: wait) }
        }.get()
    }

    static func sendFlags(more: Bool, wait: Bool) -> Int32 {
        (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
    }
}
