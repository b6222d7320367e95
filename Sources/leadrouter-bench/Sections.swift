import Foundation
import LeadRouting

/// What the sections send, generated before any timing.
struct Workload {
    let mainPartners: [Partner]
    let mainYAML: String
    let warmup: LeadSet
    let throughputLeads: LeadSet
    let latency1k: LeadSet
    let latency10k: LeadSet
}

/// The sections of a run, in the order ``Bench/runAll()`` runs them.
extension Bench {
    /// Everything sent, generated before any timing.
    func generate() -> Workload {
        let generated = Clock.now
        let mainPartners = LeadFactory.partners(options.partners)
        let mainYAML = LeadFactory.partnersYAML(mainPartners)
        let warmupCount = min(5_000, max(100, n / 20))
        let warmup = LeadSet(0..<warmupCount, prefix: "warm")
        let throughputLeads = LeadSet(0..<n, prefix: "bench")
        let latency1k = LeadSet(0..<Int(1_000 * 2 * latencySeconds), prefix: "lat1k")
        let latency10k = LeadSet(0..<Int(10_000 * max(latencySeconds, scaleLatencySeconds)), prefix: "lat10k")
        results.leadBytes = (throughputLeads.minBytes, throughputLeads.averageBytes, throughputLeads.maxBytes)
        results.n = n
        results.warmup = warmupCount
        results.partners = options.partners
        results.maxSeconds = maxSeconds
        results.unmatchedShare = unmatchedShare(throughputLeads.prefix(min(n, 2_000)), partners: mainPartners)
        note(String(format: "generated %d + %d + %d leads (%d-%d bytes, average %.0f) and %d partners in %.1f s",
                    n, latency1k.count, latency10k.count, throughputLeads.minBytes, throughputLeads.maxBytes,
                    throughputLeads.averageBytes, options.partners, Double(Clock.now - generated) / 1e9))
        note(String(format: "with %d partners, %.1f%% of the leads have no eligible partner (they go to vendor-sales/)",
                    options.partners, results.unmatchedShare * 100))
        return Workload(mainPartners: mainPartners, mainYAML: mainYAML, warmup: warmup,
                        throughputLeads: throughputLeads, latency1k: latency1k, latency10k: latency10k)
    }

    /// 1. (c) The raw transport: the same leads through a forwarder that does nothing
    /// (at least 200,000 messages, repeating the leads when --leads is smaller).
    func runRaw(_ work: Workload) throws {
        let (warmup, throughputLeads, latency10k) = (work.warmup, work.throughputLeads, work.latency10k)
        let forwarder = try RawForwarder()
        defer { forwarder.stop() }
        var plan = PhasePlan(name: "raw throughput", ingest: forwarder.ingest, publish: forwarder.publish,
                             subscriptions: ["lead"], warmup: warmup, leads: throughputLeads, rate: nil)
        plan.repeats = max(1, (200_000 + n - 1) / n)
        // It takes about a second: the median of three, as the shared baseline's run.sh does.
        var runs: [PhaseResult] = []
        for _ in 0..<3 {
            let t = try runPhase(plan)
            try check(t)
            runs.append(t)
        }
        runs.sort { $0.rate < $1.rate }
        let t = runs[1]
        results.raw = ThroughputRun(t)
        results.rawRuns = runs.map(\.rate)
        note("(c) raw forwarder: \(Table.number(t.rate)) msg/s (\(Table.number(Double(t.sent))) messages; median of "
             + runs.map { Table.number($0.rate) }.joined(separator: ", ") + ")")
        results.rawLatency10k = try latencyRun(PhasePlan(
            name: "raw latency 10k/s", ingest: forwarder.ingest, publish: forwarder.publish, subscriptions: ["lead"],
            leads: latency10k.prefix(Int(10_000 * latencySeconds)), rate: 10_000), label: "(c) raw forwarder")
    }

    /// (e), (f) The daemon's halves apart, in process: routing alone, then the durable
    /// store alone committing what it routed (StoreAlone.swift).
    func runStoreAlone(_ work: Workload) throws {
        let (throughputLeads, mainPartners) = (work.throughputLeads, work.mainPartners)
        let storeDir = try TemporaryDirectory(base: workBase, label: "store-alone")
        defer { if !options.keepTemp { storeDir.remove() } }
        let alone = try StoreAlone.measure(directory: storeDir.path, leads: throughputLeads, partners: mainPartners)
        results.storeAlone = alone
        let passes = alone.routingRuns.count > 1
            ? "median of " + alone.routingRuns.map { String(format: "%.1f", $0) }.joined(separator: ", ") + "; " : ""
        note(String(format: "(f) routing alone: %.1f µs per lead on one thread (", alone.routingMicrosecondsPerLead)
             + passes + "\(alone.leads) leads, no I/O)"
             + (alone.routingMallocsPerLead.map { String(format: ", %.1f mallocs per lead", $0) } ?? ""))
        if options.instructions {
            let probeLeads = min(n, 20_000)
            note("(e), (f) instructions: \(Table.number(Double(probeLeads))) leads again under callgrind …")
            let counts = try RoutingProbes.instructions(bench: RoutingProbes.ownExecutable, leads: probeLeads,
                                                        partners: options.partners, workBase: workBase)
            results.storeAlone?.routingInstructionsPerLead = counts.routing
            results.storeAlone?.storeInstructionsPerLead = counts.store
            note("(f) routing alone: \(Table.number(counts.routing)) instructions per lead; (e) the store alone: \(Table.number(counts.store))")
        }
        note("(e) durable store alone: \(Table.number(alone.storeLeadsPerSecond)) leads/s (\(Table.number(Double(alone.leads))) leads, "
             + "\(Table.number(Double(alone.envelopes))) envelopes, \(alone.commits) commits, \(alone.syncs) log syncs); "
             + String(format: "%.0f µs CPU per lead", alone.storeCPUMicrosecondsPerLead))
    }

    /// (d) The disk's own floor: appends and fdatasyncs at 1,000/s in the durable runs'
    /// directory, with nothing else writing.
    func runDisk() throws {
        let probe = try DiskProbe.measure(directory: workBase)
        results.diskSync = probe
        if let s = probe.syncs {
            note(String(format: "(d) disk alone: append %d KB + fdatasync at 1,000/s: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms",
                        probe.bytes / 1024, s.p50, s.p99, s.p999))
        }
    }

    /// 2. (a) The daemon as shipped: durable store on disk.
    func runDurable(_ work: Workload) throws {
        let (mainYAML, warmup, throughputLeads) = (work.mainYAML, work.warmup, work.throughputLeads)
        let (latency1k, latency10k) = (work.latency1k, work.latency10k)
        // Metrics on (nothing else differs from the default): the routing thread's pauses
        // during the run at 10,000 leads/s are read from leadrouter_loop_pause_seconds.
        let daemon = try DaemonProcess(label: "durable", executable: daemonPath, partnersYAML: mainYAML,
                                       workBase: workBase, stateDir: nil, durability: nil, metrics: true)
        defer { finish(daemon) }
        try daemon.start(timeout: 60)
        results.readyEmpty = daemon.readySeconds
        results.durable = try throughputRun("(a) durable", daemon, warmup: warmup, leads: throughputLeads)
        let capacity = results.durable?.rate
        results.latency1k = try latencyRun(daemonPlan("durable latency 1k/s", daemon, leads: latency1k, rate: 1_000, capacity: capacity), label: "(a) durable")
        let pausesBefore = LoopPauseScrape(daemon)
        results.latency10k = try latencyRun(daemonPlan("durable latency 10k/s", daemon,
                                                       leads: latency10k.prefix(Int(10_000 * latencySeconds)), rate: 10_000, capacity: capacity), label: "(a) durable")
        if let before = pausesBefore, let after = LoopPauseScrape(daemon) {
            let pauses = after.since(before)
            results.pauses10k = pauses
            note("(a) routing thread at 10,000/s: " + pauses.summary)
            let cycle = after.cycle(since: before)
            results.cycle10k = cycle
            note("(a) the daemon at 10,000/s: " + cycle.summary)
        }
        results.durablePeakRSS = daemon.peakRSSMegabytes()
    }

    /// 3. (b) Durability relaxed: synchronous off, state on tmpfs.
    func runRelaxed(_ work: Workload) throws {
        let (mainYAML, warmup, throughputLeads, latency10k) = (work.mainYAML, work.warmup, work.throughputLeads, work.latency10k)
        let daemon = try DaemonProcess(label: "relaxed", executable: daemonPath, partnersYAML: mainYAML,
                                       workBase: relaxedBase, stateDir: nil, durability: .off)
        defer { finish(daemon) }
        try daemon.start(timeout: 60)
        results.relaxed = try throughputRun("(b) relaxed", daemon, warmup: warmup, leads: throughputLeads)
        results.relaxedLatency10k = try latencyRun(daemonPlan("relaxed latency 10k/s", daemon,
                                                              leads: latency10k.prefix(Int(10_000 * latencySeconds)), rate: 10_000,
                                                              capacity: results.relaxed?.rate), label: "(b) relaxed")
    }

    /// (g) Intake round trips alone and beside a client replaying 10,000 envelopes in a loop.
    func runReplayUnderLoad() throws {
        let daemon = try DaemonProcess(label: "replay", executable: daemonPath, partnersYAML: "partners: []\n",
                                       workBase: workBase, stateDir: nil, durability: nil)
        defer { finish(daemon) }
        try daemon.start(timeout: 60)
        let result = try ReplayUnderLoad.measure(daemon, leads: LeadSet(0..<ReplayUnderLoad.stored, prefix: "replay"),
                                                 probes: LeadSet(0..<(2 * ReplayUnderLoad.roundTrips), prefix: "probe"))
        results.replayUnderLoad = result
        note("(g) intake round trips: p99 \(Table.ms(result.alone?.p99)) ms alone, \(Table.ms(result.beside?.p99)) ms beside \(result.replays) replays of \(result.stored) envelopes")
    }

    /// 4. Scale: partners 10 / 1,000 / 10,000 (/ 100,000), durable as shipped; a section each.
    func runScale(_ work: Workload) {
        let (mainYAML, warmup, throughputLeads, latency10k) = (work.mainYAML, work.warmup, work.throughputLeads, work.latency10k)
        let scaleLeads = throughputLeads.prefix(max(1, n / 2))
        let scaleWarmup = warmup.prefix(min(warmup.count, 500))
        for count in scalePartners {
            section("scale-\(count)") {
                let generatedAt = Clock.now
                let yaml = count == options.partners ? mainYAML : LeadFactory.partnersYAML(LeadFactory.partners(count))
                if count >= 10_000 { note(String(format: "generated %d partners in %.1f s", count, Double(Clock.now - generatedAt) / 1e9)) }
                let daemon = try DaemonProcess(label: "scale\(count)", executable: daemonPath, partnersYAML: yaml,
                                               workBase: workBase, stateDir: nil, durability: nil)
                defer { finish(daemon) }
                try daemon.start(timeout: count >= 100_000 ? 600 : 120)
                var row = ScaleRow(partners: count, readySeconds: daemon.readySeconds)
                row.idleRSS = daemon.rssMegabytes()
                row.throughput = try throughputRun("\(Table.number(Double(count))) partners", daemon, warmup: scaleWarmup, leads: scaleLeads)
                row.latency = try latencyRun(daemonPlan("scale \(count) latency 10k/s", daemon,
                                                        leads: latency10k.prefix(Int(10_000 * scaleLatencySeconds)), rate: 10_000,
                                                        capacity: row.throughput?.rate),
                                             label: "\(Table.number(Double(count))) partners")
                row.peakRSS = daemon.peakRSSMegabytes()
                results.scale.append(row)
                note("\(Table.number(Double(count))) partners: RSS \(Table.number(row.idleRSS ?? 0)) MB idle, \(Table.number(row.peakRSS ?? 0)) MB peak, READY \(String(format: "%.2f", row.readySeconds)) s")
            }
        }
    }

    /// 5. Start-up with many stored leads.
    func runReady(_ work: Workload) throws {
        let (mainYAML, mainPartners) = (work.mainYAML, work.mainPartners)
        let storeDir = try TemporaryDirectory(base: workBase, label: "store")
        defer { if !options.keepTemp { storeDir.remove() } }
        note("building a store with \(Table.number(Double(storedLeads))) routed leads in \(storeDir.path)")
        var lastNote = Clock.now
        let summary = try StoreBuilder.build(directory: storeDir.path, count: storedLeads, partners: mainPartners) { done in
            if Clock.now - lastNote > 10_000_000_000 {
                lastNote = Clock.now
                note("  \(Table.number(Double(done))) leads stored")
            }
        }
        results.storeBuild = summary
        note(String(format: "store built: %d leads, %d envelopes, %.2f GB (decision records %.0f bytes, envelopes %.0f bytes on average), in %.1f s",
                    summary.leads, summary.envelopes, Double(summary.bytesOnDisk) / 1e9, summary.averageDecisionBytes,
                    summary.averageEnvelopeBytes, summary.seconds))
        let daemon = try DaemonProcess(label: "ready", executable: daemonPath, partnersYAML: mainYAML,
                                       workBase: workBase, stateDir: storeDir.path, durability: nil)
        defer { finish(daemon) }
        var times: [Double] = []
        for _ in 0..<3 {
            times.append(try daemon.start(timeout: 120))
            stop(daemon)
        }
        results.readyStored = times
        note("READY with \(Table.number(Double(storedLeads))) stored leads: " + times.map { String(format: "%.3f s", $0) }.joined(separator: ", "))
    }
}
