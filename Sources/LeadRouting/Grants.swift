/// Who may do what, with CURVE on (the contract's role table): which endpoints a principal
/// may connect to, which feed topics it may receive and replay, and what a subscription
/// prefix it asks for becomes.
public enum Grants {
    /// The ZAP domain of each endpoint, as the daemon sets it on the socket.
    public enum Endpoint: String, Sendable, CaseIterable {
        case ingest, intake, publish, replay, control
    }

    /// Whether `principal` may connect to `endpoint` at all.
    public static func allows(_ principal: Principal, on endpoint: Endpoint) -> Bool {
        switch (principal, endpoint) {
        case (.client(_, .source), .ingest), (.client(_, .source), .intake): true
        case (.partner, .publish), (.partner, .replay), (.partner, .control): true
        case (.client(_, let role), .publish), (.client(_, let role), .replay): role != .source
        default: false
        }
    }

    /// The envelope topics `principal` may read (feed and replay); `nil`: every topic.
    public static func topics(for principal: Principal) -> [String]? {
        switch principal {
        case .partner(let id): [FeedTopic.partner(id)]
        case .client(_, .vendorSales): [FeedTopic.vendorSales, FeedTopic.outcomes]
        case .client(_, .marketing): [FeedTopic.nurture]
        case .client(_, .operator): nil
        case .client(_, .source): []
        }
    }

    /// Whether `principal` may replay `topic`.
    public static func mayRead(_ principal: Principal, topic: String) -> Bool {
        topics(for: principal).map { $0.contains(topic) } ?? true
    }

    /// What a subscription to `prefix` by `principal` applies: each granted topic (and its
    /// heartbeat topic) that starts with `prefix`, or `prefix` itself when it lies inside a
    /// granted topic. Empty: refused. An operator's applies as asked.
    public static func subscriptions(for prefix: [UInt8], by principal: Principal) -> [[UInt8]] {
        guard let granted = topics(for: principal) else { return [prefix] }
        let topics = granted.flatMap { [Array($0.utf8), Array(Heartbeat.topic(for: $0).utf8)] }
        var applied: [[UInt8]] = []
        for topic in topics {
            if topic.starts(with: prefix) {
                applied.append(topic)
            } else if prefix.starts(with: topic) {
                applied.append(prefix)
            }
        }
        return applied
    }
}
