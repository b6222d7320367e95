import Dispatch
import LeadStore
import Synchronization
import ZeroMQ

/// Runs one store operation at a time on a thread of its own, so the routing thread routes
/// the next batch meanwhile. The daemon has two: the log syncer (`durability: full`: the
/// disk flushes the last batches while the next is committed, see ``LeadStore/syncLog()``)
/// and the committer (under a backlog, a batch commits while the next is routed). When the
/// operation ends, the worker wakes the routing thread, which collects the result before it
/// acknowledges or publishes anything the operation covered.
final class StoreWorker: Sendable {
    private let wakeup: Wakeup
    private let queue: DispatchQueue
    private let outcome = Mutex<Result<Void, StoreError>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(label: String, wakeup: Wakeup) {
        self.queue = DispatchQueue(label: label)
        self.wakeup = wakeup
    }

    /// Starts `operation`. Collect its result (with ``result()`` or ``waitForResult()``)
    /// before starting another.
    func start(_ operation: @escaping @Sendable () throws(StoreError) -> Void) {
        queue.async { [self] in
            let result = Result(catching: operation)
            outcome.withLock { $0 = result }
            done.signal()
            wakeup.signal()
        }
    }

    /// The result of the operation in flight, once it has ended.
    func result() -> Result<Void, StoreError>? {
        guard done.wait(timeout: .now()) == .success else { return nil }
        return take()
    }

    /// Waits for the operation in flight and returns its result.
    func waitForResult() -> Result<Void, StoreError> {
        done.wait()
        return take()
    }

    private func take() -> Result<Void, StoreError> {
        outcome.withLock { value in
            defer { value = nil }
            return value ?? .failure(StoreError(.other, "a store operation ended without a result"))
        }
    }
}
