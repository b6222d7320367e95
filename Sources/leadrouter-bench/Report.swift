import Foundation
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Percentiles of a latency sample, in milliseconds.
struct LatencySummary {
    var count: Int
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double

    init?(_ nanoseconds: [Int64]) {
        guard !nanoseconds.isEmpty else { return nil }
        let sorted = nanoseconds.sorted()
        func at(_ q: Double) -> Double {
            let index = Swift.min(sorted.count - 1, Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1e6
        }
        count = sorted.count
        p50 = at(0.50)
        p99 = at(0.99)
        p999 = at(0.999)
        max = Double(sorted[sorted.count - 1]) / 1e6
        mean = Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
    }

    var json: [String: Any] {
        ["count": count, "p50_ms": round3(p50), "p99_ms": round3(p99), "p999_ms": round3(p999), "max_ms": round3(max), "mean_ms": round3(mean)]
    }
}

func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }

/// The machine the figures come from.
struct MachineInfo {
    var nproc: Int
    var cpuModel: String
    var memoryMB: Int
    var kernel: String
    var loadAverage: String
    var libzmq: String

    static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
            .flatMap { Int($0) } ?? 0
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "")
            .split(separator: " ").prefix(3).joined(separator: " ")
        let v = Context.libraryVersion
        return MachineInfo(nproc: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model, memoryMB: memKB / 1024,
                           kernel: release, loadAverage: load, libzmq: "\(v.major).\(v.minor).\(v.patch)")
    }

    var json: [String: Any] {
        ["nproc": nproc, "cpu_model": cpuModel, "memory_mb": memoryMB, "kernel": kernel, "load_average_at_start": loadAverage]
    }
}

/// CPU seconds (user + system) this process used so far.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Text table helpers.
enum Table {
    static func number(_ x: Double, decimals: Int = 0) -> String {
        guard x.isFinite else { return "-" }
        if decimals > 0 { return String(format: "%.\(decimals)f", x) }
        let n = Int(x.rounded())
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func ms(_ x: Double?) -> String {
        guard let x else { return "-" }
        if x >= 100 { return String(format: "%.0f", x) }
        if x >= 10 { return String(format: "%.1f", x) }
        return String(format: "%.2f", x)
    }

    static func percent(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "-" }
        return String(format: "%.1f%%", x * 100)
    }

    static func met(_ value: Bool?) -> String {
        switch value {
        case .some(true): "met"
        case .some(false): "NOT met"
        case .none: "n/a"
        }
    }

    /// Renders rows with columns padded; the first column left-aligned, the rest right-aligned
    /// except the last (a note), left-aligned.
    static func render(_ rows: [[String]], indent: String = "  ") -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in rows {
            var line = indent
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if i == 0 || i == width - 1 { line += cell + (i == width - 1 ? "" : pad) } else { line += pad + cell }
                if i < row.count - 1 { line += "  " }
            }
            out += line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        return out
    }
}
