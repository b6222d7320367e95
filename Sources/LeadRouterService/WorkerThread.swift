import Foundation
import LeadStore

/// A thread of its own for blocking work (SQLite commits, log syncs, checkpoints, pruning),
/// so it never runs on the routing thread's turn nor on Swift's cooperative pool.
///
/// It is the service layer's one way of running something elsewhere: the owner hands it a
/// job, goes on, and collects the result later (``result()``, or ``waitForResult()``); when a
/// job ends the worker signals the ``Wakeup`` it was given, so a thread blocked in `zmq_poll`
/// comes back for it. ``runPeriodically(every:_:)`` turns it into a timer thread, stopped by
/// ``stop()``. All state is behind one `NSCondition`.
final class WorkerThread: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var job: (@Sendable () -> Result<Void, StoreError>)?
    private var outcome: Result<Void, StoreError>?
    private var stopping = false
    private var ended = false
    private var endWaiters: [CheckedContinuation<Void, Never>] = []

    private let wakeup: (@Sendable () -> Void)?

    /// Starts the thread, named `label` (at most 15 bytes: what `top -H`, `ps -L` and `perf`
    /// show); `wakeup` is called after each job ends. Returns once the thread has named
    /// itself, so that every worker bears its name by the time the daemon is READY.
    init(label: String, wakeup: (@Sendable () -> Void)? = nil, niceness: Int32 = 0) {
        self.wakeup = wakeup
        let named = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            CurrentThread.name(label)
            if niceness != 0 { CurrentThread.lowerPriority(to: niceness) }
            named.signal()
            runJobs()
        }
        thread.start()
        named.wait()
    }

    /// Starts `operation`. Collect its result before starting another.
    func start(_ operation: @escaping @Sendable () -> Result<Void, StoreError>) {
        condition.lock()
        precondition(job == nil && outcome == nil, "a worker runs one job at a time")
        job = operation
        condition.broadcast()
        condition.unlock()
    }

    /// The result of the job in flight, once it has ended; `nil` while it runs (or when none was started).
    func result() -> Result<Void, StoreError>? {
        condition.lock()
        defer { condition.unlock() }
        let value = outcome
        outcome = nil
        return value
    }

    /// Waits for the job in flight and returns its result.
    func waitForResult() -> Result<Void, StoreError> {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        let value = outcome!
        outcome = nil
        return value
    }

    /// Asks the thread to end once its job (if any) is done.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits, without blocking a thread of the async pool, until the thread has ended.
    func ended() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if ended {
                condition.unlock()
                continuation.resume()
            } else {
                endWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    private func runJobs() {
        while true {
            condition.lock()
            while job == nil && !stopping { condition.wait() }
            guard let operation = job else { return finish() }
            condition.unlock()
            let result = operation()
            condition.lock()
            job = nil
            outcome = result
            condition.broadcast()
            condition.unlock()
            wakeup?()
        }
    }

    /// Called with the lock held.
    private func finish() {
        ended = true
        let waiters = endWaiters
        endWaiters.removeAll()
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Waits `interval`, or less if ``stop()`` was called; true when stopping.
    private func pause(_ interval: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: interval)) }
        return stopping
    }

    /// Whether ``stop()`` was called: a long job checks it to end early.
    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Runs `body` on this thread after every `every()` (asked anew each time) until
    /// ``stop()``, then `finally`; use instead of ``start(_:)``.
    func runPeriodically(every: @escaping @Sendable () -> TimeInterval, _ body: @escaping @Sendable () -> Void,
                         finally: @escaping @Sendable () -> Void = {}) {
        start { [self] in
            while !pause(every()) { body() }
            finally()
            return .success(())
        }
        // The periodic job ends only at stop(); its result is never collected.
    }
}

/// Runs `body` on a thread of its own and returns its result, without blocking a thread of
/// Swift's cooperative pool: for the blocking work of start-up (opening the store).
public func onThreadOfItsOwn<T: Sendable>(_ label: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        // Named from inside: set before `start()`, Foundation drops the name.
        let thread = Thread {
            CurrentThread.name(label)
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
