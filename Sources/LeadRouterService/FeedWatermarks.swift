import Synchronization

/// What the feed has published, shared by the routing thread (which writes it after each
/// publish) and the replay thread (which serves only through it: later envelopes may be
/// committed but not yet synced). One lock per published batch, not per envelope.
final class FeedWatermarks: Sendable {
    private struct State {
        var published: [String: Int]
        var topics: Set<String>
    }

    private let state: Mutex<State>

    init(published: [String: Int], topics: some Sequence<String>) {
        state = Mutex(State(published: published, topics: Set(topics).union(published.keys)))
    }

    /// Records the last `seq` published per topic (each only rises).
    func record(_ published: [String: Int]) {
        guard !published.isEmpty else { return }
        state.withLock { s in
            for (topic, seq) in published {
                s.published[topic] = max(s.published[topic] ?? 0, seq)
                s.topics.insert(topic)
            }
        }
    }

    /// Serves `topics` from now on (partners added by a reload), with nothing published yet.
    func serve(_ topics: [String]) {
        guard !topics.isEmpty else { return }
        state.withLock { s in s.topics.formUnion(topics) }
    }

    /// Whether the feed serves `topic`, and its last published `seq` (0 when none yet).
    func lookUp(_ topic: String) -> (served: Bool, lastSeq: Int) {
        state.withLock { s in (s.topics.contains(topic), s.published[topic] ?? 0) }
    }
}
