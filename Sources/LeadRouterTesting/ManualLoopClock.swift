public import LeadRouterService
import Synchronization

/// A ``LoopClock`` that moves only when told: tests advance it past a deadline and wake the
/// loop (``RoutingLoop/wake()``) instead of waiting for real time to pass.
public final class ManualLoopClock: LoopClock {
    private let start = ContinuousClock.now
    private let offset = Mutex(Duration.zero)
    private let wallStart: Int64

    /// - Parameter wallMilliseconds: the wall clock's reading at the start.
    public init(wallMilliseconds: Int64 = 1_795_000_000_000) {
        wallStart = wallMilliseconds
    }

    public var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
    public var wallMilliseconds: Int64 { wallStart + Int64(offset.withLock { $0 } / .milliseconds(1)) }

    /// Moves both clocks forward.
    public func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}
