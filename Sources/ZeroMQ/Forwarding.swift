internal import CZeroMQ
#if canImport(Glibc)
internal import Glibc
#endif

/// Zero-copy primitives for code that moves or inspects messages at full speed (the
/// benchmark's no-op forwarder and its feed subscriber): the frames stay in libzmq's
/// buffers, nothing is copied into Swift arrays.
extension Socket {
    /// Receives one whole multipart message and sends it on `destination` frame by frame,
    /// moving each `zmq_msg_t` (no copy), with `ZMQ_SNDMORE` as the frame was flagged:
    /// the loop of a forwarder that does no work, like `zmq_proxy`.
    ///
    /// Blocks on receive (per this socket's ``IntOption/receiveTimeout``) and on send (per
    /// `destination`'s high-water mark and ``IntOption/xpubNoDrop``).
    ///
    /// - Returns: the frames forwarded; 0 when the receive timed out before a message arrived.
    /// - Throws: ``ZMQError``; ``ZMQError/isContextTerminated`` once the context is shut down.
    @discardableResult
    public func forwardMessage(to destination: Socket) throws(ZMQError) -> Int {
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        var frames = 0
        while true {
            if zmq_msg_recv(&message, handle, 0) < 0 {
                let code = zmq_errno()
                if code == EINTR { continue }
                if code == EAGAIN && frames == 0 { return 0 }
                throw ZMQError(code: code, operation: "forward: receive")
            }
            let more = zmq_msg_more(&message) != 0
            // On success, zmq_msg_send takes the frame's content and leaves `message` empty.
            while zmq_msg_send(&message, destination.handle, more ? ZMQ_SNDMORE : 0) < 0 {
                let code = zmq_errno()
                if code == EINTR { continue }
                throw ZMQError(code: code, operation: "forward: send")
            }
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
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        var index = 0
        while true {
            let flags: Int32 = (wait || index > 0) ? 0 : ZMQ_DONTWAIT
            let size = zmq_msg_recv(&message, handle, flags)
            if size < 0 {
                let code = zmq_errno()
                if code == EINTR { continue }
                if code == EAGAIN && index == 0 { return nil }
                throw ZMQError(code: code, operation: "receive")
            }
            let count = zmq_msg_size(&message)
            body(index, UnsafeRawBufferPointer(start: count == 0 ? nil : zmq_msg_data(&message), count: count))
            index += 1
            if zmq_msg_more(&message) == 0 { return index }
        }
    }
}
