import Dispatch
import LeadStore
import Synchronization
import ZeroMQ

/// Syncs the store's write-ahead log on a thread of its own, so that with
/// `durability: full` the routing thread routes and commits the next batch while the disk
/// flushes the last ones (see ``LeadStore/syncLog()``). One sync at a time; when it ends,
/// it wakes the routing thread, which then acknowledges and publishes what it covered.
final class LogSyncer: Sendable {
    private let store: LeadStore
    private let wakeup: Wakeup
    private let queue = DispatchQueue(label: "leadrouter-log-sync")
    private let outcome = Mutex<Result<Void, StoreError>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(store: LeadStore, wakeup: Wakeup) {
        self.store = store
        self.wakeup = wakeup
    }

    /// Starts a sync, covering every commit that has returned. Collect its result (with
    /// ``result()`` or ``waitForResult()``) before starting another.
    func start() {
        queue.async { [self] in
            let result: Result<Void, StoreError>
            do throws(StoreError) {
                try store.syncLog()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
            wakeup.signal()
        }
    }

    /// The result of the sync in flight, once it has ended.
    func result() -> Result<Void, StoreError>? {
        guard done.wait(timeout: .now()) == .success else { return nil }
        return take()
    }

    /// Waits for the sync in flight and returns its result.
    func waitForResult() -> Result<Void, StoreError> {
        done.wait()
        return take()
    }

    private func take() -> Result<Void, StoreError> {
        outcome.withLock { value in
            defer { value = nil }
            return value ?? .failure(StoreError(.other, "a log sync ended without a result"))
        }
    }
}
