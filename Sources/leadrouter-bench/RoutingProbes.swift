import Foundation
import LeadRouting

#if canImport(Glibc)
import Glibc
#endif

/// The bench's two probes of routing's own work, beside its timed runs:
///
/// - `--allocations N`: the mallocs of routing N leads (row (f) alone, no daemon, no store),
///   as JSON on stdout. The allocation budget test runs it.
/// - `--instructions`: rows (e) and (f) again, in a child bench under valgrind's callgrind,
///   which counts their instructions exactly whatever else the machine does.
enum RoutingProbes {
    /// Leads routed before the counted ones, so the count is the steady state's (tables and
    /// buffers grown, the first batch's one-off work done).
    static let warmupLeads = StoreAlone.batchSize

    /// Routes `warmupLeads`, then `leads` counted, with `partners` partners.
    static func allocations(leads: Int, partners count: Int, batchSize: Int = StoreAlone.batchSize, snapshots: Bool = false) throws -> [String: Any] {
        let partners = LeadFactory.partners(count)
        var pipeline = LeadPipeline(config: RouterConfig(partners: partners), seed: 0x5EED)
        // A fixed time: the count must not depend on when it runs.
        let now: Int64 = 1_764_547_200_000
        _ = try StoreAlone.route(LeadSet(0..<warmupLeads, prefix: "warm"), pipeline: &pipeline, partnerList: 1, now: now)
        let counted = LeadSet(0..<leads, prefix: "alloc")
        let cpuBefore = ownCPUSeconds()
        // Under callgrind (`valgrind --tool=callgrind --instr-atstart=no`), the counted part
        // is also dumped as "allocations": the callers of malloc in it, for profiling.
        let (batches, mallocs) = try Instructions.measure("allocations") {
            try Allocations.counting {
                try StoreAlone.route(counted, pipeline: &pipeline, partnerList: 1, now: now, batchSize: batchSize, snapshots: snapshots)
            }
        }
        let cpu = ownCPUSeconds() - cpuBefore
        guard let mallocs else { throw BenchError("malloc is not interposed in this process: cannot count allocations") }
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return ["build": build, "leads": leads, "partners": count, "warmup_leads": warmupLeads, "batches": batches.count,
                "mallocs": mallocs, "mallocs_per_lead": Double(mallocs) / Double(max(leads, 1)),
                "cpu_us_per_lead": round1(cpu / Double(max(leads, 1)) * 1e6)]
    }

    /// This bench's executable, to run again under callgrind.
    static var ownExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Instructions per lead of (f) routing alone and (e) the store alone: this bench run
    /// again as `--probe-store-rows LEADS` under callgrind, each row dumped under its name.
    static func instructions(bench: String, leads: Int, partners: Int, workBase: String) throws -> (routing: Double, store: Double) {
        guard let valgrind = ["/usr/bin/valgrind", "/usr/local/bin/valgrind"].first(where: FileManager.default.isExecutableFile) else {
            throw BenchError("--instructions needs valgrind (apt-get install valgrind)")
        }
        let dir = try TemporaryDirectory(base: workBase, label: "callgrind")
        defer { dir.remove() }
        // valgrind 3.19 cannot read the DWARF 5 that Swift 6 writes: run a copy without debug
        // information (symbols stay), beside a copy of the malloc interposer it loads.
        let copy = dir.file("leadrouter-bench")
        let interposer = URL(fileURLWithPath: bench).deletingLastPathComponent().appendingPathComponent("libMallocInterposerSwift.so").path
        for (from, to) in [(bench, copy), (interposer, dir.file("libMallocInterposerSwift.so"))] {
            try FileManager.default.copyItem(atPath: from, toPath: to)
            try run("/usr/bin/strip", ["--strip-debug", to])
        }
        try run(valgrind, ["--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=\(dir.file("out"))",
                           copy, "--probe-store-rows", String(leads), "--partners", String(partners), "--tmpdir", dir.path])
        let counts = try dumpedTotals(in: dir.path)
        guard let routing = counts["routing_alone"], let store = counts["store_alone"] else {
            throw BenchError("callgrind wrote no dump for routing_alone and store_alone (found \(counts.keys.sorted()))")
        }
        return (Double(routing) / Double(leads), Double(store) / Double(leads))
    }

    /// Runs `executable` with `arguments`, its output discarded; throws unless it exits 0.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.first ?? "") … exited \(process.terminationStatus)")
        }
    }

    /// The `totals:` instruction count of each callgrind dump in `directory`,
    /// by the name the client request gave it.
    static func dumpedTotals(in directory: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasPrefix("out") {
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            var trigger: String?, total: Int?
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("desc: Trigger: Client Request: ") {
                    trigger = String(line.dropFirst("desc: Trigger: Client Request: ".count))
                } else if line.hasPrefix("totals: ") {
                    total = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                }
            }
            if let trigger, let total { out[trigger] = total }
        }
        return out
    }

    /// The child's side of ``instructions(bench:leads:partners:workBase:)``: rows (e) and (f)
    /// on `leads` leads in batches of `batchSize` (`--probe-batch`; the daemon's largest by
    /// default), each wrapped in a callgrind dump (StoreAlone.measure does that).
    static func storeRowsUnderCallgrind(leads: Int, partners count: Int, batchSize: Int, workBase: String) throws {
        let partners = LeadFactory.partners(count)
        let dir = try TemporaryDirectory(base: workBase, label: "probe-store")
        defer { dir.remove() }
        _ = try StoreAlone.measure(directory: dir.path, leads: LeadSet(0..<leads, prefix: "probe"), partners: partners, batchSize: batchSize)
    }
}
