import Foundation

/// How long the routing thread spends in each step of its turns that leads waiting on its
/// sockets must sit out: routing a batch, committing one on this thread, waiting for the
/// commit in flight or for a log sync, finishing a checkpoint, the loop's timers, and
/// publishing a released batch. Counted without allocating (fixed arrays), timed with the
/// monotonic clock whatever clock the loop runs on, so a test's manual clock does not hide
/// a real pause.
///
/// Exposed as the histogram `leadrouter_loop_pause_seconds{part}` (with metrics on), and
/// summed up in the log at shutdown: how many pauses of each part were over 1 ms, and the
/// longest.
struct LoopPauses {
    enum Part: Int, CaseIterable, Sendable {
        case route, commit, waitCommit, waitSync, checkpoint, timers, publish

        /// The `part` label of the metric and the log.
        var label: String {
            switch self {
            case .route: "route"
            case .commit: "commit"
            case .waitCommit: "wait_commit"
            case .waitSync: "wait_sync"
            case .checkpoint: "checkpoint"
            case .timers: "timers"
            case .publish: "publish"
            }
        }
    }

    /// A pause at least this long counts as a stall.
    static let stall = Duration.milliseconds(1)

    /// Per part: pauses of at least ``stall``, and the longest pause.
    private(set) var stalls = [Int](repeating: 0, count: Part.allCases.count)
    private(set) var longest = [Duration](repeating: .zero, count: Part.allCases.count)
    /// Pauses since the last ``takeUnfolded(_:)``, kept only when metrics are on.
    private var unfolded: [(part: Part, nanoseconds: Int64)] = []
    private let keepsForMetrics: Bool

    init(keepsForMetrics: Bool) {
        self.keepsForMetrics = keepsForMetrics
        if keepsForMetrics { unfolded.reserveCapacity(64) }
    }

    /// Counts the time since `start` (``ContinuousClock/now``) as a pause of `part`. (Not a
    /// closure around the step: the step may itself record pauses on the same engine.)
    mutating func add(_ part: Part, since start: ContinuousClock.Instant) {
        add(part, ContinuousClock.now - start)
    }

    mutating func add(_ part: Part, _ duration: Duration) {
        if duration >= LoopPauses.stall { stalls[part.rawValue] += 1 }
        if duration > longest[part.rawValue] { longest[part.rawValue] = duration }
        if keepsForMetrics { unfolded.append((part, duration.nanoseconds)) }
    }

    /// Hands the pauses since the last call to `record`, then forgets them.
    mutating func takeUnfolded(_ record: (Part, Int64) -> Void) {
        for pause in unfolded { record(pause.part, pause.nanoseconds) }
        unfolded.removeAll(keepingCapacity: true)
    }

    /// `route 0 (longest 0.4 ms), commit 2 (longest 3.1 ms), …`: stalls and the longest pause
    /// of each part.
    var summary: String {
        Part.allCases.map { part in
            let ms = Double(longest[part.rawValue].nanoseconds) / 1e6
            return "\(part.label) \(stalls[part.rawValue]) (longest \(ms < 10 ? String(format: "%.2f", ms) : String(format: "%.0f", ms)) ms)"
        }.joined(separator: ", ")
    }
}
