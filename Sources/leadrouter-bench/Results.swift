import Foundation
import Synchronization

/// A run as fast as possible: leads/s from the first send to the last assignment received.
struct ThroughputRun {
    var rate: Double
    var leads: Int
    var planned: Int
    var cpuMicrosecondsPerLead: Double?
    var cpuCores: Double?

    init(_ r: PhaseResult) {
        rate = r.rate
        leads = r.sent
        planned = r.planned
        if let cpu = r.cpuSeconds, r.received > 0, r.lastReceive > r.firstSend {
            cpuMicrosecondsPerLead = cpu / Double(r.received) * 1e6
            cpuCores = cpu / (Double(r.lastReceive - r.firstSend) / 1e9)
        }
    }

    var capped: Bool { leads < planned }

    var json: [String: Any] {
        var j: [String: Any] = ["leads_per_s": round1(rate), "leads": leads, "capped_by_max_seconds": capped]
        if let c = cpuMicrosecondsPerLead { j["daemon_cpu_us_per_lead"] = round1(c) }
        if let c = cpuCores { j["daemon_cpu_cores"] = round3(c) }
        return j
    }
}

/// A run on a fixed schedule: latency from each lead's scheduled send time.
struct LatencyRun {
    var offered: Double
    var summary: LatencySummary?
    var sendLag: LatencySummary?
    var planned: Int
    var sent: Int
    var received: Int
    var saturated: Bool
    var sendSeconds: Double

    init(_ r: PhaseResult, offered: Double) {
        self.offered = offered
        summary = LatencySummary(r.latencies)
        sendLag = LatencySummary(r.sendLag)
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
    var durable: ThroughputRun?
    var durablePeakRSS: Double?
    var readyEmpty: Double?
    var latency1k: LatencyRun?
    var latency10k: LatencyRun?
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
        let ready = readyStoredMedian
        out.append(Target(name: "ready_seconds_with_1m_leads", goal: "READY <= 2 s with 1,000,000 stored leads",
                          value: ready.map { String(format: "%.2f s", $0) + (storedLeads < 1_000_000 ? " (\(Table.number(Double(storedLeads))) leads)" : "") } ?? "-",
                          met: storedLeads >= 1_000_000 ? ready.map { $0 <= 2 } : nil))
        return out
    }
}

extension Bench {
    func report() -> String {
        let r = results
        var out = "\n"
        out += "LeadRouter benchmark: \(Table.number(Double(r.n))) leads (\(r.leadBytes.min)-\(r.leadBytes.max) bytes, average \(Table.number(r.leadBytes.average))) against \(Table.number(Double(r.partners))) partners; \(r.benchBuild) bench\n"
        out += "machine: \(machine.nproc) cores, \(machine.cpuModel), \(Table.number(Double(machine.memoryMB) / 1024, decimals: 1)) GB RAM, Linux \(machine.kernel), libzmq \(machine.libzmq); load average at start \(machine.loadAverage)\n"
        out += "daemon: \(daemonPath)\n"
        out += String(format: "leads with no eligible partner (to vendor-sales/): %.1f%%; every lead yields exactly one assignment message\n\n", r.unmatchedShare * 100)

        let goals = Dictionary(uniqueKeysWithValues: r.targets.map { ($0.name, $0) })
        func verdict(_ name: String) -> String {
            guard let t = goals[name] else { return "" }
            return "\(t.goal): \(Table.met(t.met))"
        }

        out += "Throughput: leads/s from the first send to the last assignment received (longest run \(Table.number(r.maxSeconds)) s)\n"
        var rows: [[String]] = [["run", "leads/s", "vs raw", "leads", "CPU µs/lead", "target"]]
        func throughputRow(_ label: String, _ t: ThroughputRun?, _ ratio: Double?, _ target: String) -> [String] {
            [label, t.map { Table.number($0.rate) } ?? "-", ratio.map { Table.percent($0) } ?? "-",
             t.map { Table.number(Double($0.leads)) + ($0.capped ? "*" : "") } ?? "-",
             t?.cpuMicrosecondsPerLead.map { Table.number($0) } ?? "-", target]
        }
        rows.append(throughputRow("(c) raw ZeroMQ forwarder, no work", r.raw, r.raw == nil ? nil : 1, ""))
        rows.append(throughputRow("(a) durable, as shipped", r.durable, r.durableRatio, verdict("durable_ratio")))
        rows.append(throughputRow("(b) relaxed: durability off, tmpfs", r.relaxed, r.relaxedRatio, ""))
        if let e = r.storeAlone {
            rows.append(["(e) durable store alone, no routing", Table.number(e.storeLeadsPerSecond), r.storeAloneRatio.map { Table.percent($0) } ?? "-",
                         Table.number(Double(e.leads)), Table.number(e.storeCPUMicrosecondsPerLead), "the most (a) can reach here"])
        }
        out += Table.render(rows)
        if [r.durable, r.relaxed].contains(where: { $0?.capped == true }) {
            out += "  * fewer than --leads: the warm-up showed that all of them would take longer than \(Table.number(r.maxSeconds)) s\n"
        }
        if let e = r.storeAlone {
            out += String(format: "  (f) routing alone, no I/O: %.1f µs per lead on one thread; (e) commits what it routed as the daemon does, in process: batches of %d, log synced beside, checkpoints every 200 ms\n",
                          e.routingMicrosecondsPerLead, StoreAlone.batchSize)
        }
        if let cores = r.durable?.cpuCores { out += String(format: "  leadrouterd kept %.2f cores busy during (a)", cores) + (r.relaxed?.cpuCores.map { String(format: ", %.2f during (b)", $0) } ?? "") + "\n" }
        out += "\n"

        out += "Latency: lead to assignment, send times from a fixed schedule (no coordinated omission)\n"
        rows = [["offered load", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "leads", "target"]]
        func latencyRow(_ label: String, _ l: LatencyRun?, _ target: String) -> [String] {
            let s = l?.summary
            let leads = l.map { Table.number(Double($0.sent)) + ($0.saturated ? "!" : "") } ?? "-"
            return [label, Table.ms(s?.p50), Table.ms(s?.p99), Table.ms(s?.p999), Table.ms(s?.max), leads, target]
        }
        rows.append(latencyRow("(a) durable, 1,000 leads/s", r.latency1k, ""))
        rows.append(latencyRow("(a) durable, 10,000 leads/s", r.latency10k, verdict("p99_ms_at_10k")))
        rows.append(latencyRow("(b) relaxed, 10,000 leads/s", r.relaxedLatency10k, ""))
        rows.append(latencyRow("(c) raw forwarder, 10,000 msg/s", r.rawLatency10k, ""))
        if let disk = r.diskSync, let s = disk.syncs {
            rows.append(["(d) disk alone: fdatasync of a \(disk.bytes / 1024) KB append, 1,000/s", Table.ms(s.p50), Table.ms(s.p99),
                         Table.ms(s.p999), Table.ms(s.max), Table.number(Double(s.count)), ""])
        }
        out += Table.render(rows)
        let allLatency = [r.latency1k, r.latency10k, r.relaxedLatency10k, r.rawLatency10k] + r.scale.map(\.latency)
        if allLatency.contains(where: { $0?.saturated == true }) {
            out += "  ! saturated: the offered load is above the daemon's throughput, so latency grows for as long as the load lasts;\n"
            out += "    runs whose backlog would take over 5 s to clear were cut short (leads = those sent)\n"
        }
        if let lag = r.latency10k?.sendLag ?? r.rawLatency10k?.sendLag {
            out += "  the bench's own lateness against the schedule at 10,000/s: p50 \(Table.ms(lag.p50)) ms, p99 \(Table.ms(lag.p99)) ms (included above)\n"
        }
        out += "\n"

        out += "Scale: durable as shipped; up to \(Table.number(Double(max(1, r.n / 2)))) leads for throughput, p99 at 10,000 leads/s offered for \(Table.number(scaleLatencySeconds)) s\n"
        rows = [["partners", "leads/s", "CPU µs/lead", "p99 ms", "p99.9 ms", "idle RSS MB", "peak RSS MB", "READY s", ""]]
        for row in r.scale {
            var noteText: [String] = []
            if let t = row.throughput, t.capped { noteText.append("\(Table.number(Double(t.leads))) leads") }
            if row.latency?.saturated == true { noteText.append("saturated at 10,000/s") }
            rows.append([Table.number(Double(row.partners)), row.throughput.map { Table.number($0.rate) } ?? "-",
                         row.throughput?.cpuMicrosecondsPerLead.map { Table.number($0) } ?? "-",
                         Table.ms(row.latency?.summary?.p99), Table.ms(row.latency?.summary?.p999),
                         row.idleRSS.map { Table.number($0) } ?? "-", row.peakRSS.map { Table.number($0) } ?? "-",
                         String(format: "%.2f", row.readySeconds), noteText.joined(separator: "; ")])
        }
        out += Table.render(rows)
        out += "  idle RSS: right after READY; peak RSS: VmHWM after the runs, which includes the leads queued in the daemon's\n"
        out += "  ingest socket while the throughput run sends faster than it routes (up to ingest.receive_hwm messages)\n"
        out += "  \(verdict("scale_10k_vs_10_partners")) (\(goals["scale_10k_vs_10_partners"]?.value ?? "-"))\n"
        out += "  \(verdict("peak_rss_mb_10k_partners")) (\(goals["peak_rss_mb_10k_partners"]?.value ?? "-"))\n"
        if let rss = r.durablePeakRSS { out += "  peak RSS of (a), \(Table.number(Double(r.partners))) partners, after its throughput and latency runs: \(Table.number(rss)) MB\n" }
        out += "\n"

        out += "Start-up: spawn to READY=1\n"
        if !r.readyStored.isEmpty {
            let size = r.storeBuild.map { String(format: ", %.2f GB on disk", Double($0.bytesOnDisk) / 1e9) } ?? ""
            out += "  \(Table.number(Double(r.storedLeads))) stored leads\(size): \(String(format: "%.2f s", r.readyStoredMedian ?? 0)) median of \(r.readyStored.map { String(format: "%.2f", $0) }.joined(separator: ", ")); \(verdict("ready_seconds_with_1m_leads"))\n"
        }
        if let empty = r.readyEmpty { out += String(format: "  empty store, %d partners: %.2f s\n", r.partners, empty) }
        out += "\n"

        let evaluated = r.targets.filter { $0.met != nil }
        out += "Targets met: \(evaluated.filter { $0.met == true }.count) of \(evaluated.count) evaluated (reported, never enforced)\n"
        for t in r.targets { out += "  \(Table.met(t.met).padding(toLength: 8, withPad: " ", startingAt: 0)) \(t.goal): \(t.value)\n" }
        if !r.errors.isEmpty {
            out += "\nFailed sections:\n"
            for e in r.errors { out += "  \(e)\n" }
        }
        out += String(format: "\ntotal run time %.0f s", r.totalSeconds) + "; load average at the end \(r.loadAverageAtEnd) (on a shared machine, compare ratios rather than absolute figures)\n"
        return out
    }

    func jsonObject() -> [String: Any] {
        let r = results
        var j: [String: Any] = [:]
        func put(_ key: String, _ value: Double?, _ round: (Double) -> Double = round1) {
            j[key] = value.map(round) ?? NSNull()
        }
        j["leads"] = r.n
        j["warmup_leads"] = r.warmup
        j["partners"] = r.partners
        j["lead_bytes"] = ["min": r.leadBytes.min, "average": round1(r.leadBytes.average), "max": r.leadBytes.max]
        j["unmatched_share"] = round3(r.unmatchedShare)
        put("durable_leads_per_s", r.durableRate)
        put("relaxed_leads_per_s", r.relaxedRate)
        put("raw_forwarder_msgs_per_s", r.rawRate)
        put("durable_ratio", r.durableRatio, round3)
        put("relaxed_ratio", r.relaxedRatio, round3)
        put("store_alone_leads_per_s", r.storeAlone?.storeLeadsPerSecond)
        put("store_alone_ratio", r.storeAloneRatio, round3)
        put("routing_alone_us_per_lead", r.storeAlone?.routingMicrosecondsPerLead)
        j["throughput"] = [
            "raw": r.raw?.json ?? NSNull(), "raw_runs_msgs_per_s": r.rawRuns.map(round1), "durable": r.durable?.json ?? NSNull(), "relaxed": r.relaxed?.json ?? NSNull(),
            "store_alone": r.storeAlone?.json ?? NSNull(),
            "max_seconds": r.maxSeconds,
        ] as [String: Any]
        put("p50_ms_at_1k", r.latency1k?.summary?.p50, round3)
        put("p99_ms_at_1k", r.latency1k?.summary?.p99, round3)
        put("p999_ms_at_1k", r.latency1k?.summary?.p999, round3)
        put("p50_ms_at_10k", r.latency10k?.summary?.p50, round3)
        put("p99_ms_at_10k", r.latency10k?.summary?.p99, round3)
        put("p999_ms_at_10k", r.latency10k?.summary?.p999, round3)
        var latency: [String: Any] = [:]
        if let l = r.latency1k { latency["durable_1k"] = l.json }
        if let l = r.latency10k { latency["durable_10k"] = l.json }
        if let l = r.relaxedLatency10k { latency["relaxed_10k"] = l.json }
        if let l = r.rawLatency10k { latency["raw_10k"] = l.json }
        if let d = r.diskSync, var disk = d.syncs?.json {
            disk["append_bytes"] = d.bytes
            disk["per_second"] = d.rate
            latency["disk_fdatasync"] = disk
        }
        put("disk_fdatasync_p99_ms", r.diskSync?.syncs?.p99, round3)
        j["latency"] = latency
        j["latency_seconds_at_10k"] = latencySeconds
        put("durable_peak_rss_mb", r.durablePeakRSS)
        j["scale"] = r.scale.map { row -> [String: Any] in
            [
                "partners": row.partners,
                "leads": row.throughput?.leads ?? 0,
                "leads_per_s": row.throughput.map { round1($0.rate) } ?? NSNull(),
                "daemon_cpu_us_per_lead": row.throughput?.cpuMicrosecondsPerLead.map(round1) ?? NSNull(),
                "p99_ms": row.latency?.summary.map { round3($0.p99) } ?? NSNull(),
                "p999_ms": row.latency?.summary.map { round3($0.p999) } ?? NSNull(),
                "saturated_at_10k": row.latency?.saturated ?? NSNull(),
                "peak_rss_mb": row.peakRSS.map(round1) ?? NSNull(),
                "idle_rss_mb": row.idleRSS.map(round1) ?? NSNull(),
                "ready_seconds": round3(row.readySeconds),
            ]
        }
        j["scale_latency_seconds"] = scaleLatencySeconds
        put("ready_seconds_empty_store", r.readyEmpty, round3)
        put("ready_seconds_with_1m_leads", r.readyStoredMedian, round3)
        j["ready_seconds_runs"] = r.readyStored.map(round3)
        j["stored_leads"] = r.storedLeads
        if let b = r.storeBuild {
            j["stored_store"] = ["leads": b.leads, "envelopes": b.envelopes, "bytes": b.bytesOnDisk, "build_seconds": round1(b.seconds),
                                 "average_decision_bytes": round1(b.averageDecisionBytes), "average_envelope_bytes": round1(b.averageEnvelopeBytes)]
        }
        j["targets"] = Dictionary(uniqueKeysWithValues: r.targets.map { t -> (String, Any) in
            (t.name, ["goal": t.goal, "value": t.value, "met": t.met.map { $0 as Any } ?? NSNull()] as [String: Any])
        })
        var machineJSON = machine.json
        machineJSON["load_average_at_end"] = r.loadAverageAtEnd
        machineJSON["libzmq"] = machine.libzmq
        j["machine"] = machineJSON
        j["libzmq_version"] = machine.libzmq
        j["bench_build"] = r.benchBuild
        j["daemon"] = daemonPath
        j["durable_state_dir_base"] = workBase
        j["relaxed_state_dir_base"] = relaxedBase
        j["total_seconds"] = round1(r.totalSeconds)
        j["errors"] = r.errors
        j["generated_at"] = ISO8601DateFormatter().string(from: Date())
        return j
    }
}
