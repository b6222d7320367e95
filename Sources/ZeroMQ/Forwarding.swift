/// Zero-copy primitives for code that moves or inspects messages at full speed (the
/// benchmark's no-op forwarder and its feed subscriber): the frames stay in libzmq's
/// buffers, nothing is copied into Swift arrays.
extension Socket {
    /// Receives one whole multipart message and sends it on `destination` frame by frame,
    /// moving each frame (no copy), with `ZMQ_SNDMORE` as the frame was flagged: the loop
    /// of a forwarder that does no work, like `zmq_proxy`.
    ///
    /// Blocks on receive (per this socket's ``IntOption/receiveTimeout``) and on send (per
    /// `destination`'s high-water mark and ``IntOption/xpubNoDrop``).
    ///
    /// - Returns: the frames forwarded; 0 when the receive timed out before a message arrived.
    /// - Throws: ``ZMQError``; ``ZMQError/isContextTerminated`` once the context is shut down.
    @discardableResult
    public func forwardMessage(to destination: Socket) throws(ZMQError) -> Int {
        var frame = Message()
        var frames = 0
        while true {
            guard try receive(into: &frame, wait: true) else {
                if frames == 0 { return 0 }
                throw ZMQError.wouldBlock("forward: receive")
            }
            let more = frame.more  // Read before the send empties the frame.
            try destination.send(&frame, more: more)
            frames += 1
            if !more { return frames }
        }
    }

    /// Receives one whole multipart message and shows each frame to `body` in place, in
    /// libzmq's buffer (valid only during the call), without copying it.
    ///
    /// - Parameters:
    ///   - wait: `false` to return `nil` at once when no message is waiting.
    ///   - body: called once per frame with its index and bytes.
    /// - Returns: the number of frames; `nil` when no message arrived (nothing waiting with
    ///   `wait: false`, or ``IntOption/receiveTimeout`` passed).
    @discardableResult
    public func inspectMessage(wait: Bool = true, _ body: (_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Void) throws(ZMQError) -> Int? {
        try receiveFrames(wait: wait) { index, frame in
            frame.withUnsafeBytes { body(index, $0) }
        }
    }
}
