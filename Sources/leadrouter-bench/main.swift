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

    @Option(help: "Skip a section: raw, store, durable, curve, replay, offers, relaxed, scale or ready (repeatable).")
    var skip: [String] = []

    @Option(help: "Directory for the durable runs' state and the stored-leads store (default: the system temporary directory; it should be on disk, not tmpfs).")
    var tmpdir: String?

    @Option(help: "Longest a throughput run may take, in seconds (default 30; 10 with --quick). When the warm-up shows the daemon would need longer for all the leads, it gets as many as fit, and the output says so.")
    var maxSeconds: Double?

    @Flag(help: "Keep temporary directories and daemon logs, and print where they are.")
    var keepTemp = false

    @Flag(help: "Run every daemon with metrics on (metrics.bind on a free port; nothing scrapes it), to measure their cost.")
    var metrics = false

    @Option(help: "Only count the mallocs of routing N leads through the routing core (row f: no daemon, no store) after a warm-up batch, and print them as JSON. The allocation budget test runs this.")
    var allocations: Int?

    @Flag(help: "Also count instructions per lead of rows (e) and (f): a second bench runs them under valgrind's callgrind (about a minute; needs valgrind).")
    var instructions = false

    @Option(help: .hidden)
    var probeStoreRows: Int?

    @Option(help: .hidden)
    var probeBatch: Int?

    @Flag(help: .hidden)
    var probeSnapshots = false

    func validate() throws {
        if let allocations, allocations < 1 { throw ValidationError("--allocations must be at least 1") }
        if let leads, leads < 1 { throw ValidationError("--leads must be at least 1") }
        if let latencySeconds, latencySeconds <= 0 { throw ValidationError("--latency-seconds must be positive") }
        if let maxSeconds, maxSeconds <= 0 { throw ValidationError("--max-seconds must be positive") }
        if let storedLeads, storedLeads < 0 { throw ValidationError("--stored-leads must be 0 or more") }
        guard (1...100_000).contains(partners) else { throw ValidationError("--partners must be 1 to 100000") }
        let sections: Set<String> = ["raw", "store", "durable", "curve", "replay", "offers", "relaxed", "scale", "ready"]
        for s in skip where !sections.contains(s) {
            throw ValidationError("--skip takes raw, store, durable, curve, replay, offers, relaxed, scale or ready, got \(s)")
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
        if let allocations {
            let json = try RoutingProbes.allocations(leads: allocations, partners: partners,
                                                     batchSize: probeBatch ?? StoreAlone.batchSize, snapshots: probeSnapshots)
            print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        if let probeStoreRows {
            try RoutingProbes.storeRowsUnderCallgrind(leads: probeStoreRows, partners: partners, batchSize: probeBatch ?? StoreAlone.batchSize,
                                                        workBase: tmpdir ?? NSTemporaryDirectory())
            return
        }
        RunningDaemons.keepDirectories.store(keepTemp, ordering: .relaxed)
        RunningDaemons.withMetrics.store(metrics, ordering: .relaxed)
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
        note("leadrouter-bench (\(build) build) measuring \(daemonPath)\(options.metrics ? ", metrics on" : "")")
        note("machine: \(machine.nproc) cores, \(machine.cpuModel), libzmq \(machine.libzmq), load average \(machine.loadAverage)")
        if fileSystemIsTmpfs(workBase) { note("warning: \(workBase) is tmpfs; the durable runs will not touch a disk (use --tmpdir)") }

        let work = generate()

        // 1. (c) The raw transport (Sections.swift has each section).
        if !skipping("raw") {
            section("raw") { try runRaw(work) }
        }

        // (e), (f) The daemon's halves apart, in process.
        if !skipping("store") {
            section("store") { try runStoreAlone(work) }
        }

        // 2. (a) The daemon as shipped: durable store on disk. First the disk's own floor.
        if !skipping("durable") {
            section("disk") { try runDisk() }
            section("durable") { try runDurable(work) }
        }

        // (i) CURVE on every endpoint, beside (a); (g) replay beside intake; (h) offers: the
        // rate with accept_within set, the accept round trip, a control flood, open offers.
        for (name, run) in [("curve", runCurve), ("replay", { _ in try runReplayUnderLoad() }), ("offers", runOffers)]
            as [(String, (Workload) throws -> Void)] where !skipping(name) {
            section(name) { try run(work) }
        }

        // 3. (b) Durability relaxed: synchronous off, state on tmpfs.
        if !skipping("relaxed") {
            section("relaxed") { try runRelaxed(work) }
        }

        // 4. Scale: partners 10 / 1,000 / 10,000 (/ 100,000), durable as shipped.
        if !skipping("scale") {
            runScale(work)
        }

        // 5. Start-up with many stored leads.
        if !skipping("ready") && storedLeads > 0 {
            section("ready") { try runReady(work) }
        }

        try finishRun()
    }

    /// The report on stdout, the JSON file, and exit 1 when a measurement failed.
    private func finishRun() throws {
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
        plan.curve = daemon.curve
        return plan
    }

    /// As fast as possible, within `--max-seconds`; with the daemon's CPU time per lead.
    func throughputRun(_ label: String, _ daemon: DaemonProcess, warmup: LeadSet, leads: LeadSet) throws -> ThroughputRun {
        var plan = daemonPlan("\(label) throughput", daemon, warmup: warmup, leads: leads, rate: nil)
        plan.budgetSeconds = maxSeconds
        if let pid = daemon.pid {
            plan.cpuSeconds = { DaemonProcess.cpuSeconds(pid: pid) }
            plan.threadCPUSeconds = { DaemonProcess.threadCPUSeconds(pid: pid) }
        }
        let t = try runPhase(plan)
        try check(t)
        let run = ThroughputRun(t)
        note("\(label): \(Table.number(t.rate)) leads/s (\(Table.number(Double(t.sent))) leads\(t.sent < t.planned ? ", capped by --max-seconds" : ""))"
             + (run.cpuMicrosecondsPerLead.map { String(format: "; daemon CPU %.0f µs per lead, %.2f cores busy", $0, run.cpuCores ?? 0) } ?? ""))
        if let line = run.threadLine { note("\(label), CPU per lead by thread: \(line)") }
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
