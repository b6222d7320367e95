import Foundation
import LeadRouterClient

/// The routing thread's pauses, as the daemon's `leadrouter_loop_pause_seconds{part}`
/// histogram counts them: scraped from its `/metrics` (the durable daemon (a) runs with
/// `metrics.bind`) before and after a run, the difference is the run's distribution.
struct LoopPauseScrape {
    static let metric = "leadrouter_loop_pause_seconds"

    /// Per part: each bucket's upper bound in seconds (`+Inf` last) and its cumulative count.
    var buckets: [String: [(le: Double, count: Double)]] = [:]

    /// Scrapes `daemon`, whose `endpoints.json` names its metrics address; `nil` when it has
    /// none or the scrape fails.
    init?(_ daemon: DaemonProcess) {
        guard let data = FileManager.default.contents(atPath: daemon.stateDir + "/endpoints.json"),
              let endpoints = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let address = endpoints["metrics"] as? String,
              let text = try? HTTPProbe.scrape(address) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(LoopPauseScrape.metric + "_bucket{") {
            guard let part = LoopPauseScrape.label("part", in: line), let le = LoopPauseScrape.label("le", in: line),
                  let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            buckets[part, default: []].append((le == "+Inf" ? .infinity : Double(le) ?? .infinity, count))
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
