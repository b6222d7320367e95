internal import CZeroMQ
#if canImport(Glibc)
internal import Glibc
#endif

/// Waits on several sockets and file descriptors at once (`zmq_poll`).
///
/// Built once per loop with the sockets it watches; ``poll(timeoutMilliseconds:)``
/// returns which of them are ready to read. Like the sockets, use it on one thread.
public struct Poller: ~Copyable {
    private var items: [zmq_pollitem_t]

    public init() { items = [] }

    /// Watches `socket` for incoming messages; returns its index in ``poll(timeoutMilliseconds:)``'s result.
    @discardableResult
    public mutating func add(_ socket: Socket) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Watches a file descriptor (an eventfd, a pipe) for readability.
    @discardableResult
    public mutating func add(fileDescriptor: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for any item to become readable.
    /// Returns the readable items' indexes (empty on timeout or interruption by a signal).
    public mutating func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Int] {
        let count = items.count
        let result: Int32
        do {
            // Not retried on EINTR: the timeout would start over; the caller polls again.
            result = try zmqCall("poll", retryingInterrupts: false) {
                items.withUnsafeMutableBufferPointer { buffer in
                    zmq_poll(buffer.baseAddress, Int32(count), timeoutMilliseconds)
                }
            }
        } catch where error.isInterrupted {
            return []
        }
        var ready: [Int] = []
        if result > 0 {
            for i in 0..<count where items[i].revents & Int16(ZMQ_POLLIN) != 0 { ready.append(i) }
        }
        return ready
    }
}

/// A thread-safe way to wake a thread blocked in ``Poller/poll(timeoutMilliseconds:)``:
/// an eventfd that any thread may signal and the polling thread watches.
public final class Wakeup: @unchecked Sendable {
    public let fileDescriptor: Int32

    public init() throws(ZMQError) {
        fileDescriptor = try zmqCall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    /// Wakes the polling thread. Safe from any thread, any number of times.
    public func signal() {
        var one: UInt64 = 1
        // Fails only when the counter is full (EAGAIN): the thread will wake anyway.
        _ = try? zmqCall("eventfd write") { write(fileDescriptor, &one, 8) }
    }

    /// Clears pending signals; call from the polling thread after it woke.
    public func drain() {
        var value: UInt64 = 0
        // Fails with EAGAIN when nothing was pending: nothing to clear.
        _ = try? zmqCall("eventfd read") { read(fileDescriptor, &value, 8) }
    }

    deinit { Glibc.close(fileDescriptor) }
}
