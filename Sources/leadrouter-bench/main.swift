import ArgumentParser
import Dispatch
import Foundation
import LeadRouting
import Synchronization
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

struct LeadRouterBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leadrouter-bench",
        abstract: "Measure leadrouterd from outside (leads/s, latency, scale, start-up) against the raw ZeroMQ transport, in one run.",
        discussion: """
            Starts the real leadrouterd on free 127.0.0.1 ports with generated configs, publishes \
            realistic leads to its ingest endpoint and subscribes to its feed, as a lead source and \
            partners would. Prints a table with each figure next to its target; --json writes them \
            for tools. Targets are reported, never enforced: the exit code is 0 unless a measurement \
            could not be made.
            """
    )

    @Option(help: "Leads in each throughput run (default 200,000; 20,000 with --quick). The scale runs use half.")
    var leads: Int?

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @Option(help: "The leadrouterd to measure (default: the one next to this executable).")
    var daemon: String?

    @Option(help: "Seconds of each fixed-rate run at 10,000 leads/s (default 5; 2 with --quick). The run at 1,000 leads/s lasts twice as long.")
    var latencySeconds: Double?

    @Option(help: "Leads in the store for the start-up test (default 1,000,000; 100,000 with --quick).")
    var storedLeads: Int?

    @Option(help: "Partners in the throughput and latency runs.")
    var partners: Int = 1000

    @Flag(help: "A fast smoke run: 20,000 leads, short latency runs, scale with 10 and 1,000 partners only, 100,000 stored leads.")
    var quick = false

    @Flag(help: "Also measure 100,000 partners in the scale runs (slow).")
    var huge = false

    @Option(help: "Skip a section: raw, store, durable, relaxed, scale or ready (repeatable).")
    var skip: [String] = []

    @Option(help: "Directory for the durable runs' state and the stored-leads store (default: the system temporary directory; it should be on disk, not tmpfs).")
    var tmpdir: String?

    @Option(help: "Longest a throughput run may take, in seconds (default 30; 10 with --quick). When the warm-up shows the daemon would need longer for all the leads, it gets as many as fit, and the output says so.")
    var maxSeconds: Double?

    @Flag(help: "Keep temporary directories and daemon logs, and print where they are.")
    var keepTemp = false

    func validate() throws {
        if let leads, leads < 1 { throw ValidationError("--leads must be at least 1") }
        if let latencySeconds, latencySeconds <= 0 { throw ValidationError("--latency-seconds must be positive") }
        if let maxSeconds, maxSeconds <= 0 { throw ValidationError("--max-seconds must be positive") }
        if let storedLeads, storedLeads < 0 { throw ValidationError("--stored-leads must be 0 or more") }
        guard (1...100_000).contains(partners) else { throw ValidationError("--partners must be 1 to 100000") }
        let sections: Set<String> = ["raw", "store", "durable", "relaxed", "scale", "ready"]
        for s in skip where !sections.contains(s) {
            throw ValidationError("--skip takes raw, store, durable, relaxed, scale or ready, got \(s)")
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let signals: [Int32] = [SIGINT, SIGTERM]
        let interrupts = signals.map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                RunningDaemons.killAll()
                FileHandle.standardError.write(Data("\nleadrouter-bench: interrupted; every leadrouterd it started was stopped\n".utf8))
                Glibc.exit(130)
            }
            source.resume()
            return source
        }
        defer {
            for source in interrupts { source.cancel() }
            RunningDaemons.killAll()
        }
        RunningDaemons.keepDirectories.store(keepTemp, ordering: .relaxed)
        let bench = try Bench(self)
        try bench.runAll()
    }
}

/// The whole run: settings, sections, results.
struct Bench {
    let options: LeadRouterBench
    let daemonPath: String
    let n: Int
    let latencySeconds: Double
    let scaleLatencySeconds: Double
    let storedLeads: Int
    let maxSeconds: Double
    let scalePartners: [Int]
    let workBase: String
    let relaxedBase: String
    let machine = MachineInfo.current()
    let started = Clock.now
    let results = Results()

    init(_ options: LeadRouterBench) throws {
        self.options = options
        daemonPath = try Bench.findDaemon(options.daemon)
        n = options.leads ?? (options.quick ? 20_000 : 200_000)
        latencySeconds = options.latencySeconds ?? (options.quick ? 2 : 5)
        scaleLatencySeconds = options.quick ? 1 : 2
        storedLeads = options.storedLeads ?? (options.quick ? 100_000 : 1_000_000)
        maxSeconds = options.maxSeconds ?? (options.quick ? 10 : 30)
        var scale = options.quick ? [10, 1000] : [10, 1000, 10_000]
        if options.huge { scale.append(100_000) }
        scalePartners = scale
        var base = options.tmpdir ?? NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        workBase = base
        var isDirectory: ObjCBool = false
        relaxedBase = FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue ? "/dev/shm" : base
    }

    static func findDaemon(_ explicit: String?) throws -> String {
        if let explicit {
            guard FileManager.default.isExecutableFile(atPath: explicit) else { throw BenchError("--daemon \(explicit) is not an executable file") }
            return explicit
        }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [me.deletingLastPathComponent().appendingPathComponent("leadrouterd").path]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("leadrouterd").path)
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        throw BenchError("no leadrouterd next to \(me.path); build it (swift build -c release) or pass --daemon PATH")
    }

    func note(_ text: String) {
        let t = Double(Clock.now - started) / 1e9
        FileHandle.standardError.write(Data((String(format: "[%6.1fs] ", t) + text + "\n").utf8))
    }

    func skipping(_ section: String) -> Bool { options.skip.contains(section) }

    // MARK: - The run

    func runAll() throws {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        results.benchBuild = build
        note("leadrouter-bench (\(build) build) measuring \(daemonPath)")
        note("machine: \(machine.nproc) cores, \(machine.cpuModel), libzmq \(machine.libzmq), load average \(machine.loadAverage)")
        if fileSystemIsTmpfs(workBase) { note("warning: \(workBase) is tmpfs; the durable runs will not touch a disk (use --tmpdir)") }

        // Everything sent is generated before any timing.
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

        // 1. (c) The raw transport: the same leads through a forwarder that does nothing
        // (at least 200,000 messages, repeating the leads when --leads is smaller).
        if !skipping("raw") {
            section("raw") {
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
        }

        // (e), (f) The daemon's halves apart, in process: routing alone, then the durable
        // store alone committing what it routed (StoreAlone.swift).
        if !skipping("store") {
            section("store") {
                let storeDir = try TemporaryDirectory(base: workBase, label: "store-alone")
                defer { if !options.keepTemp { storeDir.remove() } }
                let alone = try StoreAlone.measure(directory: storeDir.path, leads: throughputLeads, partners: mainPartners)
                results.storeAlone = alone
                note(String(format: "(f) routing alone: %.1f µs per lead on one thread (%d leads, no I/O)", alone.routingMicrosecondsPerLead, alone.leads))
                note("(e) durable store alone: \(Table.number(alone.storeLeadsPerSecond)) leads/s (\(Table.number(Double(alone.leads))) leads, "
                     + "\(Table.number(Double(alone.envelopes))) envelopes, \(alone.commits) commits, \(alone.syncs) log syncs); "
                     + String(format: "%.0f µs CPU per lead", alone.storeCPUMicrosecondsPerLead))
            }
        }

        // 2. (a) The daemon as shipped: durable store on disk. First the disk's own floor:
        // appends and fdatasyncs at 1,000/s in the same directory, with nothing else writing.
        if !skipping("durable") {
            section("disk") {
                let probe = try DiskProbe.measure(directory: workBase)
                results.diskSync = probe
                if let s = probe.syncs {
                    note(String(format: "(d) disk alone: append %d KB + fdatasync at 1,000/s: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms",
                                probe.bytes / 1024, s.p50, s.p99, s.p999))
                }
            }
            section("durable") {
                let daemon = try DaemonProcess(label: "durable", executable: daemonPath, partnersYAML: mainYAML,
                                               workBase: workBase, stateDir: nil, durability: nil)
                defer { finish(daemon) }
                try daemon.start(timeout: 60)
                results.readyEmpty = daemon.readySeconds
                results.durable = try throughputRun("(a) durable", daemon, warmup: warmup, leads: throughputLeads)
                let capacity = results.durable?.rate
                results.latency1k = try latencyRun(daemonPlan("durable latency 1k/s", daemon, leads: latency1k, rate: 1_000, capacity: capacity), label: "(a) durable")
                results.latency10k = try latencyRun(daemonPlan("durable latency 10k/s", daemon,
                                                               leads: latency10k.prefix(Int(10_000 * latencySeconds)), rate: 10_000, capacity: capacity), label: "(a) durable")
                results.durablePeakRSS = daemon.peakRSSMegabytes()
            }
        }

        // 3. (b) Durability relaxed: synchronous off, state on tmpfs.
        if !skipping("relaxed") {
            section("relaxed") {
                let daemon = try DaemonProcess(label: "relaxed", executable: daemonPath, partnersYAML: mainYAML,
                                               workBase: relaxedBase, stateDir: nil, durability: .off)
                defer { finish(daemon) }
                try daemon.start(timeout: 60)
                results.relaxed = try throughputRun("(b) relaxed", daemon, warmup: warmup, leads: throughputLeads)
                results.relaxedLatency10k = try latencyRun(daemonPlan("relaxed latency 10k/s", daemon,
                                                                      leads: latency10k.prefix(Int(10_000 * latencySeconds)), rate: 10_000,
                                                                      capacity: results.relaxed?.rate), label: "(b) relaxed")
            }
        }

        // 4. Scale: partners 10 / 1,000 / 10,000 (/ 100,000), durable as shipped.
        if !skipping("scale") {
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

        // 5. Start-up with many stored leads.
        if !skipping("ready") && storedLeads > 0 {
            section("ready") {
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

        results.storedLeads = storedLeads
        results.loadAverageAtEnd = MachineInfo.current().loadAverage
        results.totalSeconds = Double(Clock.now - started) / 1e9
        print(report())
        if let path = options.json {
            let data = try JSONSerialization.data(withJSONObject: jsonObject(), options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: path))
            note("wrote \(path)")
        }
        if !results.errors.isEmpty { throw ExitCode(1) }
    }

    // MARK: - Helpers

    func daemonPlan(_ name: String, _ daemon: DaemonProcess, warmup: LeadSet? = nil, leads: LeadSet, rate: Double?,
                    capacity: Double? = nil) -> PhasePlan {
        var plan = PhasePlan(name: name, ingest: daemon.ingest, publish: daemon.publish, subscriptions: ["partner/", FeedTopic.vendorSales],
                             warmup: warmup, leads: leads, rate: rate)
        plan.knownCapacity = capacity
        return plan
    }

    /// As fast as possible, within `--max-seconds`; with the daemon's CPU time per lead.
    func throughputRun(_ label: String, _ daemon: DaemonProcess, warmup: LeadSet, leads: LeadSet) throws -> ThroughputRun {
        var plan = daemonPlan("\(label) throughput", daemon, warmup: warmup, leads: leads, rate: nil)
        plan.budgetSeconds = maxSeconds
        if let pid = daemon.pid { plan.cpuSeconds = { DaemonProcess.cpuSeconds(pid: pid) } }
        let t = try runPhase(plan)
        try check(t)
        let run = ThroughputRun(t)
        note("\(label): \(Table.number(t.rate)) leads/s (\(Table.number(Double(t.sent))) leads\(t.sent < t.planned ? ", capped by --max-seconds" : ""))"
             + (run.cpuMicrosecondsPerLead.map { String(format: "; daemon CPU %.0f µs per lead, %.2f cores busy", $0, run.cpuCores ?? 0) } ?? ""))
        return run
    }

    /// On a fixed schedule: latency from the scheduled send time to the assignment.
    func latencyRun(_ plan: PhasePlan, label: String) throws -> LatencyRun {
        let l = try runPhase(plan)
        try check(l)
        let run = LatencyRun(l, offered: plan.rate ?? 0)
        var text = "\(label) at \(Table.number(run.offered))/s: p50 \(Table.ms(run.summary?.p50)) ms, p99 \(Table.ms(run.summary?.p99)) ms, p99.9 \(Table.ms(run.summary?.p999)) ms"
        if run.saturated {
            text += " (saturated: offered above the daemon's throughput" + (run.sent < run.planned ? String(format: "; cut short to %d of %d leads, %.1f s", run.sent, run.planned, run.sendSeconds) : "") + ")"
        }
        note(text)
        return run
    }

    func check(_ result: PhaseResult) throws {
        if result.received < result.sent {
            throw BenchError("\(result.name): only \(result.received) of \(result.sent) assignments arrived")
        }
    }

    /// Runs one section, recording (not propagating) its failure so the others still run.
    func section(_ name: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            note("\(name) failed: \(error)")
            results.errors.append("\(name): \(error)")
        }
    }

    func finish(_ daemon: DaemonProcess) {
        if daemon.isRunning { stop(daemon) }
        if options.keepTemp { note("kept \(daemon.work.path)") }
        daemon.cleanUp(keep: options.keepTemp)
    }

    /// SIGTERM, and a note when the daemon did not exit 0 within 20 s.
    func stop(_ daemon: DaemonProcess) {
        let status = daemon.stop()
        if status != 0 { note("leadrouterd (\(daemon.label)) exited with \(status.map { "status \($0)" } ?? "SIGKILL after 20 s"); log:\n\(daemon.logTail())") }
    }

    func unmatchedShare(_ leads: LeadSet, partners: [Partner]) -> Double {
        var router = Router(partners: partners, unmatched: .vendorSales)
        var unmatched = 0
        for i in 0..<leads.count {
            guard case .success(let lead) = LeadParser.parse(Array(leads.lead(i))) else { continue }
            if router.route(lead.facts).partnerID == nil { unmatched += 1 }
        }
        return leads.count == 0 ? 0 : Double(unmatched) / Double(leads.count)
    }

    /// Whether `path` is on tmpfs, from the longest matching mount point in /proc/mounts.
    func fileSystemIsTmpfs(_ path: String) -> Bool {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        var best = (length: -1, type: "")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1])
            let matches = resolved == point || resolved.hasPrefix(point == "/" ? "/" : point + "/")
            if matches && point.count > best.length { best = (point.count, String(fields[2])) }
        }
        return best.type == "tmpfs"
    }
}

LeadRouterBench.main()
