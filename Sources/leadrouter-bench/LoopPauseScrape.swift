import Foundation
import LeadRouterClient

/// The routing thread's pauses, as the daemon's `leadrouter_loop_pause_seconds{part}`
/// histogram counts them: scraped from its `/metrics` (the durable daemon (a) runs with
/// `metrics.bind`) before and after a run, the difference is the run's distribution. The
/// same scrape keeps the totals ``DaemonCycle`` reads (its store's and route's histograms).
struct LoopPauseScrape {
    static let metric = "leadrouter_loop_pause_seconds"

    /// Per part: each bucket's upper bound in seconds (`+Inf` last) and its cumulative count.
    var buckets: [String: [(le: Double, count: Double)]] = [:]
    /// The sum and count of each histogram ``DaemonCycle`` reads, by metric name.
    var totals: [String: (sum: Double, count: Double)] = [:]

    /// Scrapes `daemon`, whose `endpoints.json` names its metrics address; `nil` when it has
    /// none or the scrape fails.
    init?(_ daemon: DaemonProcess) {
        guard let data = FileManager.default.contents(atPath: daemon.stateDir + "/endpoints.json"),
              let endpoints = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let address = endpoints["metrics"] as? String,
              let text = try? HTTPProbe.scrape(address) else { return nil }
        for line in text.split(separator: "\n") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            if line.hasPrefix(LoopPauseScrape.metric + "_bucket{") {
                guard let part = LoopPauseScrape.label("part", in: line), let le = LoopPauseScrape.label("le", in: line) else { continue }
                buckets[part, default: []].append((le == "+Inf" ? .infinity : Double(le) ?? .infinity, value))
            } else if let name = DaemonCycle.metrics.first(where: { line.hasPrefix($0 + "_sum ") }) {
                totals[name, default: (0, 0)].sum = value
            } else if let name = DaemonCycle.metrics.first(where: { line.hasPrefix($0 + "_count ") }) {
                totals[name, default: (0, 0)].count = value
            }
        }
        for part in buckets.keys { buckets[part]?.sort { $0.le < $1.le } }
        if buckets.isEmpty { return nil }
    }

    /// What was counted between `before` and this scrape.
    func since(_ before: LoopPauseScrape) -> LoopPauseDistribution {
        var parts: [LoopPauseDistribution.Part] = []
        for (name, now) in buckets.sorted(by: { $0.key < $1.key }) {
            let then = before.buckets[name] ?? []
            var cumulative: [(le: Double, count: Int)] = []
            for (i, bucket) in now.enumerated() {
                let earlier = i < then.count && then[i].le == bucket.le ? then[i].count : 0
                cumulative.append((bucket.le, Int(bucket.count - earlier)))
            }
            parts.append(LoopPauseDistribution.Part(name: name, cumulative: cumulative))
        }
        return LoopPauseDistribution(parts: parts)
    }

    /// The daemon's cycle between `before` and this scrape (``DaemonCycle``).
    func cycle(since before: LoopPauseScrape) -> DaemonCycle {
        func delta(_ name: String) -> (sum: Double, count: Int) {
            let now = totals[name] ?? (0, 0), then = before.totals[name] ?? (0, 0)
            return (now.sum - then.sum, Int(now.count - then.count))
        }
        return DaemonCycle(commits: delta(DaemonCycle.commitSeconds), syncs: delta(DaemonCycle.syncSeconds),
                           routed: delta(DaemonCycle.routeSeconds))
    }

    /// The value of `name="…"` in a sample's labels.
    static func label(_ name: String, in line: Substring) -> String? {
        guard let start = line.range(of: name + "=\"") else { return nil }
        let rest = line[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

/// The routing thread's pauses during one run, by part.
struct LoopPauseDistribution {
    struct Part {
        var name: String
        /// Each bucket's upper bound (seconds) and the pauses up to it, cumulative.
        var cumulative: [(le: Double, count: Int)]

        var count: Int { cumulative.last?.count ?? 0 }
        /// Pauses over 1 ms: the stalls.
        var stalls: Int { count - (cumulative.first { $0.le >= 0.001 }?.count ?? 0) }
        /// The upper bound of the bucket holding the longest pause, in ms (`nil`: no pause).
        var longestUpToMs: Double? {
            var previous = 0
            var longest: Double?
            for bucket in cumulative {
                if bucket.count > previous { longest = bucket.le * 1000 }
                previous = bucket.count
            }
            return longest
        }
    }

    var parts: [Part]

    var stalls: Int { parts.reduce(0) { $0 + $1.stalls } }

    /// `commit 3 over 1 ms of 120 (longest ≤ 5 ms), …`
    var summary: String {
        "\(stalls) pauses over 1 ms; " + parts.map { part in
            let longest = part.longestUpToMs.map { $0.isFinite ? "≤ \(Table.ms($0)) ms" : "> 5 s" } ?? "none"
            return "\(part.name) \(part.stalls) of \(part.count) (longest \(longest))"
        }.joined(separator: ", ")
    }

    var json: [String: Any] {
        var out: [String: Any] = ["stalls_over_1ms": stalls]
        for part in parts {
            out[part.name] = [
                "pauses": part.count, "over_1ms": part.stalls,
                "longest_up_to_ms": part.longestUpToMs.map { $0.isFinite ? $0 as Any : "inf" } ?? NSNull(),
                "cumulative": part.cumulative.map { ["le_ms": $0.le.isFinite ? $0.le * 1000 : -1, "count": $0.count] },
            ] as [String: Any]
        }
        return out
    }
}

/// What the daemon's own histograms say of a run (scraped before and after it): how many
/// commits and log syncs it made, and the mean time of a commit, of a log sync, and of a lead
/// from being taken off its socket to its envelopes being published. At 10,000 leads/s this
/// is the cycle a lead waits through (docs/benchmarks.md, "The cycle at 10,000 leads/s").
struct DaemonCycle {
    static let commitSeconds = "leadrouter_store_commit_seconds"
    static let syncSeconds = "leadrouter_store_sync_seconds"
    static let routeSeconds = "leadrouter_route_seconds"
    static let metrics = [commitSeconds, syncSeconds, routeSeconds]

    var commits: (sum: Double, count: Int)
    var syncs: (sum: Double, count: Int)
    /// One a lead published (`leadrouter_route_seconds`).
    var routed: (sum: Double, count: Int)

    private static func meanMs(_ total: (sum: Double, count: Int)) -> Double? {
        total.count > 0 ? total.sum / Double(total.count) * 1000 : nil
    }

    var leadsPerCommit: Double? { commits.count > 0 ? Double(routed.count) / Double(commits.count) : nil }
    var commitMs: Double? { DaemonCycle.meanMs(commits) }
    var syncMs: Double? { DaemonCycle.meanMs(syncs) }
    var routedMs: Double? { DaemonCycle.meanMs(routed) }

    /// `8,412 commits of 5.9 leads; means: commit 0.111 ms, log sync 0.284 ms (8,412 syncs), …`
    var summary: String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.3f ms", $0) } ?? "-" }
        let perCommit = leadsPerCommit.map { String(format: "%.1f", $0) } ?? "-"
        return "\(Table.number(Double(commits.count))) commits of \(perCommit) leads; means: commit \(ms(commitMs)), "
            + "log sync \(ms(syncMs)) (\(Table.number(Double(syncs.count))) syncs), a lead taken off its socket to published \(ms(routedMs))"
    }

    var json: [String: Any] {
        func value(_ v: Double?) -> Any { v.map { ($0 * 1000).rounded() / 1000 } ?? NSNull() }
        return [
            "commits": commits.count, "syncs": syncs.count, "leads": routed.count,
            "leads_per_commit": value(leadsPerCommit), "commit_ms": value(commitMs),
            "sync_ms": value(syncMs), "taken_to_published_ms": value(routedMs),
        ]
    }
}
