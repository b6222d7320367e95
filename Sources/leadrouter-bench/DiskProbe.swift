import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The disk's own floor for a durable acknowledgement, measured in the directory the durable
/// runs use: a file grows by `bytes` at a time, each append followed by an `fdatasync`, at a
/// fixed rate, as the daemon's log syncs would be with nothing else writing. The daemon's
/// latency under `durability: full` cannot be below this; its p99 is read against it.
enum DiskProbe {
    struct Result {
        var bytes: Int
        var rate: Double
        var syncs: LatencySummary?
    }

    static func measure(directory: String, count: Int = 2_000, rate: Double = 1_000, bytes: Int = 16_384) throws -> Result {
        let path = (directory as NSString).appendingPathComponent("lrb-disk-probe-\(getpid())")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw BenchError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 0x5A, count: bytes)
        var durations: [Int64] = []
        durations.reserveCapacity(count)
        let start = Clock.now
        let interval = 1e9 / rate
        for i in 0..<count {
            Clock.sleep(until: start + UInt64(Double(i) * interval))
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress, bytes) }
            guard written == bytes else { throw BenchError("writing \(path): \(String(cString: strerror(errno)))") }
            let before = Clock.now
            guard fdatasync(fd) == 0 else { throw BenchError("fdatasync \(path): \(String(cString: strerror(errno)))") }
            durations.append(Int64(Clock.now - before))
        }
        return Result(bytes: bytes, rate: rate, syncs: LatencySummary(durations))
    }
}
