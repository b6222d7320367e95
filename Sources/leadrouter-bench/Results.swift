import Foundation
import Synchronization

/// A run as fast as possible: leads/s from the first send to the last assignment received.
struct ThroughputRun {
    var rate: Double
    var leads: Int
    var planned: Int
    var cpuMicrosecondsPerLead: Double?
    var cpuCores: Double?
    /// The daemon's CPU time per lead on each of its threads, by name (``DaemonProcess/threadCPUSeconds(pid:)``).
    var threadMicrosecondsPerLead: [String: Double]?

    init(_ r: PhaseResult) {
        rate = r.rate
        leads = r.sent
        planned = r.planned
        if let cpu = r.cpuSeconds, r.received > 0, r.lastReceive > r.firstSend {
            cpuMicrosecondsPerLead = cpu / Double(r.received) * 1e6
            cpuCores = cpu / (Double(r.lastReceive - r.firstSend) / 1e9)
        }
        if let threads = r.threadCPUSeconds, r.received > 0 {
            threadMicrosecondsPerLead = threads.mapValues { $0 / Double(r.received) * 1e6 }
        }
    }

    /// "lr-route 7.1 µs, lr-commit 5.0, …", the busiest first; threads under 0.05 µs left out.
    var threadLine: String? {
        guard let threads = threadMicrosecondsPerLead else { return nil }
        let shown = threads.filter { $0.value >= 0.05 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        guard !shown.isEmpty else { return nil }
        return shown.enumerated().map { i, t in "\(t.key) " + String(format: i == 0 ? "%.1f µs" : "%.1f", t.value) }.joined(separator: ", ")
    }

    var capped: Bool { leads < planned }

    var json: [String: Any] {
        var j: [String: Any] = ["leads_per_s": round1(rate), "leads": leads, "capped_by_max_seconds": capped]
        if let c = cpuMicrosecondsPerLead { j["daemon_cpu_us_per_lead"] = round1(c) }
        if let c = cpuCores { j["daemon_cpu_cores"] = round3(c) }
        if let t = threadMicrosecondsPerLead { j["daemon_thread_cpu_us_per_lead"] = t.mapValues(round1) }
        return j
    }
}

/// How a run's leads over the target are spread, in the order they arrived: a stall delays
/// every lead queued behind it, so its leads come in a row; a slow lead here and there does not.
struct TailRuns {
    /// Leads over ``thresholdMilliseconds``.
    var over = 0
    /// Runs of at least ``minimumRun`` leads in a row over it, and the leads in them.
    var stalls = 0
    var stalledLeads = 0
    /// The longest run, in leads.
    var longest = 0

    static let thresholdMilliseconds = 2.0
    static let minimumRun = 10

    init(_ nanoseconds: [Int64]) {
        let threshold = Int64(TailRuns.thresholdMilliseconds * 1e6)
        var run = 0
        func close() {
            if run >= TailRuns.minimumRun { stalls += 1; stalledLeads += run }
            longest = max(longest, run)
            run = 0
        }
        for latency in nanoseconds {
            if latency > threshold { over += 1; run += 1 } else { close() }
        }
        close()
    }

    var json: [String: Any] {
        ["over_2ms": over, "stalls": stalls, "stalled_leads": stalledLeads, "longest_stall_leads": longest]
    }

    var summary: String {
        "\(Table.number(Double(over))) leads over 2 ms, \(Table.number(Double(stalledLeads))) of them in \(Table.number(Double(stalls))) stalls "
            + "(runs of \(TailRuns.minimumRun) or more in a row over 2 ms; the longest \(Table.number(Double(longest))) leads)"
    }
}

/// A run on a fixed schedule: latency from each lead's scheduled send time.
struct LatencyRun {
    var offered: Double
    var summary: LatencySummary?
    var sendLag: LatencySummary?
    /// The leads over 2 ms, in stalls or spread (``TailRuns``).
    var tail: TailRuns
    var planned: Int
    var sent: Int
    var received: Int
    var saturated: Bool
    var sendSeconds: Double

    init(_ r: PhaseResult, offered: Double) {
        self.offered = offered
        summary = LatencySummary(r.latencies)
        sendLag = LatencySummary(r.sendLag)
        tail = TailRuns(r.latencies)
        planned = r.planned
        sent = r.sent
        received = r.received
        saturated = r.saturated
        sendSeconds = r.sendSeconds
    }

    var json: [String: Any] {
        var j = summary?.json ?? [:]
        j["offered_per_s"] = offered
        j["planned"] = planned
        j["sent"] = sent
        j["saturated"] = saturated
        j["send_seconds"] = round3(sendSeconds)
        if let lag = sendLag { j["bench_send_lateness"] = lag.json }
        if summary != nil { j["tail"] = tail.json }
        return j
    }
}

struct ScaleRow {
    var partners: Int
    var readySeconds: Double
    var throughput: ThroughputRun?
    var latency: LatencyRun?
    var peakRSS: Double?
    /// RSS right after READY, before any lead.
    var idleRSS: Double?
}

/// Everything measured, filled in section by section (a section that fails leaves its
/// fields nil and adds to `errors`).
final class Results {
    var benchBuild = ""
    var n = 0
    var warmup = 0
    var partners = 0
    var maxSeconds = 0.0
    var leadBytes: (min: Int, average: Double, max: Int) = (0, 0, 0)
    var unmatchedShare = 0.0

    var raw: ThroughputRun?
    /// Each of the raw forwarder's runs (`raw` is their median).
    var rawRuns: [Double] = []
    var rawLatency10k: LatencyRun?
    /// (d) The disk alone: how long an fdatasync of a small append takes where the durable runs keep their state.
    var diskSync: DiskProbe.Result?
    /// (e) The durable store alone and (f) routing alone, in process.
    var storeAlone: StoreAlone.Result?
    var replayUnderLoad: ReplayUnderLoad.Result?
    var offers: OffersBench.Result?
    /// (i) The durable daemon with CURVE on every endpoint.
    var curve: ThroughputRun?
    var durable: ThroughputRun?
    var durablePeakRSS: Double?
    var readyEmpty: Double?
    var latency1k: LatencyRun?
    var latency10k: LatencyRun?
    /// The routing thread's pauses during (a)'s run at 10,000 leads/s (its metrics, scraped).
    var pauses10k: LoopPauseDistribution?
    /// The daemon's commits, syncs and lead-to-publish time during that run (its metrics, scraped).
    var cycle10k: DaemonCycle?
    var relaxed: ThroughputRun?
    var relaxedLatency10k: LatencyRun?

    var scale: [ScaleRow] = []

    var storedLeads = 0
    var storeBuild: StoreBuilder.Summary?
    var readyStored: [Double] = []

    var totalSeconds = 0.0
    var loadAverageAtEnd = ""
    var errors: [String] = []

    var rawRate: Double? { raw?.rate }
    var durableRate: Double? { durable?.rate }
    var relaxedRate: Double? { relaxed?.rate }
    var durableRatio: Double? { ratio(durableRate, rawRate) }
    var relaxedRatio: Double? { ratio(relaxedRate, rawRate) }
    var storeAloneRatio: Double? { ratio(storeAlone?.storeLeadsPerSecond, rawRate) }

    var readyStoredMedian: Double? {
        guard !readyStored.isEmpty else { return nil }
        return readyStored.sorted()[readyStored.count / 2]
    }

    func row(_ partners: Int) -> ScaleRow? { scale.first { $0.partners == partners } }

    /// 10,000 partners' throughput over 10 partners'.
    var scaleThroughputRatio: Double? {
        guard let small = row(10)?.throughput, let big = row(10_000)?.throughput, small.rate > 0 else { return nil }
        return big.rate / small.rate
    }

    private func ratio(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b, b > 0 else { return nil }
        return a / b
    }

    // MARK: - Targets (reported, never enforced)

    struct Target {
        var name: String
        var goal: String
        var value: String
        var met: Bool?
    }

    var targets: [Target] {
        var out: [Target] = []
        out.append(Target(name: "durable_ratio", goal: ">= 25% of the raw forwarder",
                          value: Table.percent(durableRatio), met: durableRatio.map { $0 >= 0.25 }))
        out.append(Target(name: "p99_ms_at_10k", goal: "p99 <= 2 ms at 10,000 leads/s",
                          value: latency10k?.summary.map { Table.ms($0.p99) + " ms" + (latency10k?.saturated == true ? " (saturated)" : "") } ?? "-",
                          met: latency10k?.summary.map { $0.p99 <= 2 && latency10k?.saturated == false }))
        out.append(Target(name: "scale_10k_vs_10_partners", goal: "10,000 partners >= 1/2 the throughput of 10",
                          value: scaleThroughputRatio.map { String(format: "%.2fx", $0) } ?? "-",
                          met: scaleThroughputRatio.map { $0 >= 0.5 }))
        let rss10k = row(10_000)?.peakRSS
        out.append(Target(name: "peak_rss_mb_10k_partners", goal: "peak RSS <= 150 MB with 10,000 partners",
                          value: rss10k.map { Table.number($0) + " MB" } ?? "-", met: rss10k.map { $0 <= 150 }))
        out.append(Target(name: "stalls_over_1ms_at_10k", goal: "no routing-thread pause over 1 ms at 10,000 leads/s",
                          value: pauses10k.map { "\($0.stalls)" } ?? "-", met: pauses10k.map { $0.stalls == 0 }))
        let f = storeAlone
        out.append(Target(name: "routing_alone_us_per_lead", goal: "routing alone (f) <= 4 µs per lead",
                          value: f.map { String(format: "%.1f µs", $0.routingMicrosecondsPerLead) } ?? "-",
                          met: f.map { $0.routingMicrosecondsPerLead <= 4 }))
        out.append(Target(name: "routing_alone_mallocs_per_lead", goal: "routing alone (f) <= 2 mallocs per lead",
                          value: f?.routingMallocsPerLead.map { String(format: "%.1f", $0) } ?? "-",
                          met: f?.routingMallocsPerLead.map { $0 <= 2 }))
        out.append(Target(name: "routing_alone_instructions_per_lead", goal: "routing alone (f) <= 30,000 instructions per lead",
                          value: f?.routingInstructionsPerLead.map { Table.number($0) } ?? "-",
                          met: f?.routingInstructionsPerLead.map { $0 <= 30_000 }))
        let ready = readyStoredMedian
        out.append(Target(name: "ready_seconds_with_1m_leads", goal: "READY <= 2 s with 1,000,000 stored leads",
                          value: ready.map { String(format: "%.2f s", $0) + (storedLeads < 1_000_000 ? " (\(Table.number(Double(storedLeads))) leads)" : "") } ?? "-",
                          met: storedLeads >= 1_000_000 ? ready.map { $0 <= 2 } : nil))
        return out
    }
}
