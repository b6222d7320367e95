import Foundation

/// The results as a table for people and as JSON for tools.
extension Bench {
    func report() -> String {
        let r = results
        var out = "\n"
        out += "LeadRouter benchmark: \(Table.number(Double(r.n))) leads (\(r.leadBytes.min)-\(r.leadBytes.max) bytes, average \(Table.number(r.leadBytes.average))) against \(Table.number(Double(r.partners))) partners; \(r.benchBuild) bench\n"
        out += "machine: \(machine.nproc) cores, \(machine.cpuModel), \(Table.number(Double(machine.memoryMB) / 1024, decimals: 1)) GB RAM, Linux \(machine.kernel), libzmq \(machine.libzmq); load average at start \(machine.loadAverage)\n"
        out += "daemon: \(daemonPath)\n"
        out += String(format: "leads with no eligible partner (to vendor-sales/): %.1f%%; every lead yields exactly one assignment message\n\n", r.unmatchedShare * 100)
        let goals = Dictionary(uniqueKeysWithValues: r.targets.map { ($0.name, $0) })
        let verdict = { (name: String) -> String in
            guard let t = goals[name] else { return "" }
            return "\(t.goal): \(Table.met(t.met))"
        }
        out += throughputReport(r, verdict)
        out += latencyReport(r, verdict)
        out += scaleReport(r, goals, verdict)
        out += startupReport(r, verdict)
        out += targetsReport(r)
        return out
    }

    /// Throughput: leads/s of each run against the raw forwarder's.
    private func throughputReport(_ r: Results, _ verdict: (String) -> String) -> String {
        var out = "Throughput: leads/s from the first send to the last assignment received (longest run \(Table.number(r.maxSeconds)) s)\n"
        var rows: [[String]] = [["run", "leads/s", "vs raw", "leads", "CPU µs/lead", "target"]]
        func throughputRow(_ label: String, _ t: ThroughputRun?, _ ratio: Double?, _ target: String) -> [String] {
            [label, t.map { Table.number($0.rate) } ?? "-", ratio.map { Table.percent($0) } ?? "-",
             t.map { Table.number(Double($0.leads)) + ($0.capped ? "*" : "") } ?? "-",
             t?.cpuMicrosecondsPerLead.map { Table.number($0) } ?? "-", target]
        }
        rows.append(throughputRow("(c) raw ZeroMQ forwarder, no work", r.raw, r.raw == nil ? nil : 1, ""))
        rows.append(throughputRow("(a) durable, as shipped", r.durable, r.durableRatio, verdict("durable_ratio")))
        rows.append(throughputRow("(b) relaxed: durability off, tmpfs", r.relaxed, r.relaxedRatio, ""))
        if let curve = r.curve {
            let versus = r.durable.map { String(format: "%.0f%% of (a)", curve.rate / $0.rate * 100) } ?? ""
            rows.append(throughputRow("(i) durable, CURVE on every endpoint", curve, r.raw.map { curve.rate / $0.rate }, versus))
        }
        if let h = r.offers {
            let ratio = { (t: ThroughputRun?) -> Double? in
                guard let t, let raw = r.raw?.rate, raw > 0 else { return nil }
                return t.rate / raw
            }
            rows.append(throughputRow("(h) durable, offers on (accept_within 1h)", h.throughput, ratio(h.throughput), ""))
            rows.append(throughputRow("(h) the same beside a flood of control requests", h.flooded, ratio(h.flooded),
                                      "\(Table.number(Double(h.floodReplies))) control replies meanwhile"))
            rows.append(throughputRow("(h) the same with \(Table.number(Double(h.openOffers))) offers open", h.besideOpenOffers,
                                      ratio(h.besideOpenOffers), h.openOffersRSS.map { "RSS \(Table.number($0)) MB idle" } ?? ""))
        }
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
            out += "  (f) per lead: " + (e.routingMallocsPerLead.map { String(format: "%.1f mallocs", $0) } ?? "mallocs not counted")
                + ", " + (e.routingInstructionsPerLead.map { Table.number($0) + " instructions" } ?? "instructions not counted (--instructions)")
                + (e.storeInstructionsPerLead.map { "; (e) per lead: " + Table.number($0) + " instructions" } ?? "") + "\n"
        }
        if let cores = r.durable?.cpuCores { out += String(format: "  leadrouterd kept %.2f cores busy during (a)", cores) + (r.relaxed?.cpuCores.map { String(format: ", %.2f during (b)", $0) } ?? "") + "\n" }
        out += "\n"
        return out
    }

    /// Latency: lead to assignment, on a fixed schedule.
    private func latencyReport(_ r: Results, _ verdict: (String) -> String) -> String {
        var out = "Latency: lead to assignment, send times from a fixed schedule (no coordinated omission)\n"
        var rows: [[String]] = [["offered load", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "leads", "target"]]
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
        if let g = r.replayUnderLoad {
            rows.append(["(g) intake round trip, one at a time, alone", Table.ms(g.alone?.p50), Table.ms(g.alone?.p99),
                         Table.ms(g.alone?.p999), Table.ms(g.alone?.max), Table.number(Double(g.alone?.count ?? 0)), ""])
            rows.append(["(g) the same beside a client replaying \(Table.number(Double(g.stored))) envelopes in a loop",
                         Table.ms(g.beside?.p50), Table.ms(g.beside?.p99), Table.ms(g.beside?.p999), Table.ms(g.beside?.max),
                         Table.number(Double(g.beside?.count ?? 0)), "\(g.replays) replays meanwhile"])
        }
        if let h = r.offers, let a = h.accept {
            rows.append(["(h) accept: control request to its reply, one at a time", Table.ms(a.p50), Table.ms(a.p99),
                         Table.ms(a.p999), Table.ms(a.max), Table.number(Double(a.count)), "each stored before its reply"])
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
        if let pauses = r.pauses10k {
            out += "  (a) the routing thread at 10,000/s (leadrouter_loop_pause_seconds): \(pauses.summary)\n"
        }
        if let cycle = r.cycle10k {
            out += "  (a) the daemon at 10,000/s (its store and route histograms): \(cycle.summary)\n"
        }
        for (label, run) in [("(a) durable", r.latency10k), ("(b) relaxed", r.relaxedLatency10k), ("(c) raw forwarder", r.rawLatency10k)] {
            if let run, run.summary != nil { out += "  \(label) at 10,000/s: \(run.tail.summary)\n" }
        }
        out += "\n"
        return out
    }

    /// Scale: throughput, latency, memory and start-up against the number of partners.
    private func scaleReport(_ r: Results, _ goals: [String: Results.Target], _ verdict: (String) -> String) -> String {
        var out = "Scale: durable as shipped; up to \(Table.number(Double(max(1, r.n / 2)))) leads for throughput, p99 at 10,000 leads/s offered for \(Table.number(scaleLatencySeconds)) s\n"
        var rows: [[String]] = [["partners", "leads/s", "CPU µs/lead", "p99 ms", "p99.9 ms", "idle RSS MB", "peak RSS MB", "READY s", ""]]
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
        return out
    }

    /// Start-up: spawn to READY=1, with many stored leads and with none.
    private func startupReport(_ r: Results, _ verdict: (String) -> String) -> String {
        var out = "Start-up: spawn to READY=1\n"
        if !r.readyStored.isEmpty {
            let size = r.storeBuild.map { String(format: ", %.2f GB on disk", Double($0.bytesOnDisk) / 1e9) } ?? ""
            out += "  \(Table.number(Double(r.storedLeads))) stored leads\(size): \(String(format: "%.2f s", r.readyStoredMedian ?? 0)) median of \(r.readyStored.map { String(format: "%.2f", $0) }.joined(separator: ", ")); \(verdict("ready_seconds_with_1m_leads"))\n"
        }
        if let empty = r.readyEmpty { out += String(format: "  empty store, %d partners: %.2f s\n", r.partners, empty) }
        if let h = r.offers, let ready = h.readyWithOpenOffers {
            let read = h.readWithOpenOffersMilliseconds.map { String(format: " (reading them back: %.0f ms)", $0) } ?? ""
            out += "  (h) \(Table.number(Double(h.openOffers))) open offers: \(String(format: "%.2f s", ready))\(read); target READY <= 2 s\n"
        }
        out += "\n"
        return out
    }

    /// The targets met, the failed sections, and the run's length and load.
    private func targetsReport(_ r: Results) -> String {
        var out = ""
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
        putFigures(r, into: &j)
        putLatency(r, into: &j)
        putScaleAndStartup(r, into: &j)
        putRun(r, into: &j)
        return j
    }

    /// The settings, the headline figures and the throughput runs.
    private func putFigures(_ r: Results, into j: inout [String: Any]) {
        j["leads"] = r.n
        j["warmup_leads"] = r.warmup
        j["partners"] = r.partners
        j["lead_bytes"] = ["min": r.leadBytes.min, "average": round1(r.leadBytes.average), "max": r.leadBytes.max]
        j["unmatched_share"] = round3(r.unmatchedShare)
        j.put("durable_leads_per_s", r.durableRate)
        j.put("relaxed_leads_per_s", r.relaxedRate)
        j.put("raw_forwarder_msgs_per_s", r.rawRate)
        j.put("durable_ratio", r.durableRatio, round3)
        j.put("relaxed_ratio", r.relaxedRatio, round3)
        j.put("store_alone_leads_per_s", r.storeAlone?.storeLeadsPerSecond)
        j.put("store_alone_ratio", r.storeAloneRatio, round3)
        j.put("routing_alone_us_per_lead", r.storeAlone?.routingMicrosecondsPerLead)
        j.put("routing_alone_mallocs_per_lead", r.storeAlone?.routingMallocsPerLead)
        j.put("routing_alone_instructions_per_lead", r.storeAlone?.routingInstructionsPerLead)
        j.put("store_alone_instructions_per_lead", r.storeAlone?.storeInstructionsPerLead)
        j["throughput"] = [
            "raw": r.raw?.json ?? NSNull(), "raw_runs_msgs_per_s": r.rawRuns.map(round1), "durable": r.durable?.json ?? NSNull(), "relaxed": r.relaxed?.json ?? NSNull(),
            "store_alone": r.storeAlone?.json ?? NSNull(),
            "max_seconds": r.maxSeconds,
        ] as [String: Any]
    }

    /// The latency runs and the disk's syncs.
    private func putLatency(_ r: Results, into j: inout [String: Any]) {
        j.put("p50_ms_at_1k", r.latency1k?.summary?.p50, round3)
        j.put("p99_ms_at_1k", r.latency1k?.summary?.p99, round3)
        j.put("p999_ms_at_1k", r.latency1k?.summary?.p999, round3)
        j.put("p50_ms_at_10k", r.latency10k?.summary?.p50, round3)
        j.put("p99_ms_at_10k", r.latency10k?.summary?.p99, round3)
        j.put("p999_ms_at_10k", r.latency10k?.summary?.p999, round3)
        var latency: [String: Any] = [:]
        if let l = r.latency1k { latency["durable_1k"] = l.json }
        if let l = r.latency10k {
            var json = l.json
            if let pauses = r.pauses10k { json["routing_thread_pauses"] = pauses.json }
            if let cycle = r.cycle10k { json["cycle"] = cycle.json }
            latency["durable_10k"] = json
        }
        j.put("stalls_over_1ms_at_10k", r.pauses10k.map { Double($0.stalls) })
        if let l = r.relaxedLatency10k { latency["relaxed_10k"] = l.json }
        if let l = r.rawLatency10k { latency["raw_10k"] = l.json }
        if let g = r.replayUnderLoad { latency["replay_under_load"] = g.json }
        if let h = r.offers { latency["offers"] = h.json }
        if let d = r.diskSync, var disk = d.syncs?.json {
            disk["append_bytes"] = d.bytes
            disk["per_second"] = d.rate
            latency["disk_fdatasync"] = disk
        }
        j.put("disk_fdatasync_p99_ms", r.diskSync?.syncs?.p99, round3)
        j["latency"] = latency
        j["latency_seconds_at_10k"] = latencySeconds
        j.put("durable_peak_rss_mb", r.durablePeakRSS)
    }

    /// The scale rows, start-up times and the stored store.
    private func putScaleAndStartup(_ r: Results, into j: inout [String: Any]) {
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
        j.put("ready_seconds_empty_store", r.readyEmpty, round3)
        j.put("ready_seconds_with_1m_leads", r.readyStoredMedian, round3)
        j["ready_seconds_runs"] = r.readyStored.map(round3)
        j["stored_leads"] = r.storedLeads
        if let b = r.storeBuild {
            j["stored_store"] = ["leads": b.leads, "envelopes": b.envelopes, "bytes": b.bytesOnDisk, "build_seconds": round1(b.seconds),
                                 "average_decision_bytes": round1(b.averageDecisionBytes), "average_envelope_bytes": round1(b.averageEnvelopeBytes)]
        }
    }

    /// The targets, the machine, the build, where state was kept, errors and when.
    private func putRun(_ r: Results, into j: inout [String: Any]) {
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
    }
}

extension [String: Any] {
    /// `value` under `key`, rounded, or null when there is none.
    mutating func put(_ key: String, _ value: Double?, _ round: (Double) -> Double = round1) {
        self[key] = value.map(round) ?? NSNull()
    }
}
