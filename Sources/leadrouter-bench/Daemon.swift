import Foundation
import LeadRouting
import Synchronization
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every `leadrouterd` the bench started and has not yet seen exit, so that any exit path
/// (an error, Ctrl-C) can stop them.
enum RunningDaemons {
    private static let pids = Mutex<Set<Int32>>([])
    private static let directories = Mutex<Set<String>>([])
    /// `--keep-temp`: leave temporary directories in place.
    static let keepDirectories = Atomic<Bool>(false)
    /// `--metrics`: every daemon also serves metrics (on a free port), to measure what they cost.
    static let withMetrics = Atomic<Bool>(false)

    static func add(_ pid: Int32) { pids.withLock { _ = $0.insert(pid) } }
    static func remove(_ pid: Int32) { pids.withLock { _ = $0.remove(pid) } }
    static func addDirectory(_ path: String) { directories.withLock { _ = $0.insert(path) } }
    static func removeDirectory(_ path: String) { directories.withLock { _ = $0.remove(path) } }

    /// SIGKILLs every daemon still running and removes the temporary directories.
    static func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        guard !keepDirectories.load(ordering: .relaxed) else { return }
        for path in directories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Free TCP endpoints on 127.0.0.1, found by binding port 0 (all held open together, so
/// they are distinct).
func freeEndpoints(_ count: Int) throws -> [String] {
    let context = try Context()
    var sockets: [Socket] = []
    var endpoints: [String] = []
    for _ in 0..<count {
        let socket = try Socket(context, type: .pull)
        try socket.set(.linger, 0)
        try socket.bind("tcp://127.0.0.1:*")
        endpoints.append(try socket.lastEndpoint)
        sockets.append(socket)
    }
    for socket in sockets { socket.close() }
    return endpoints
}

/// A temporary directory, removed by ``remove()`` (and by ``RunningDaemons/killAll()``).
final class TemporaryDirectory {
    let path: String

    init(base: String, label: String) throws {
        path = "\(base)/lrb-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        RunningDaemons.addDirectory(path)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        RunningDaemons.removeDirectory(path)
    }
}

/// The datagram socket systemd would own: receives what the daemon sends to `$NOTIFY_SOCKET`.
final class NotifyListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("cannot create the notify socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw BenchError("notify socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            close(fd)
            throw BenchError("cannot bind the notify socket \(path): errno \(errno)")
        }
    }

    /// Waits for a datagram with the line `line` (such as `READY=1`), at most until `deadline`
    /// (monotonic ns), giving up early when `stillWaiting` returns false. Returns when it arrived.
    func waitFor(_ line: String, deadline: UInt64, stillWaiting: () -> Bool) -> UInt64? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Clock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) > 0 else {
                if !stillWaiting() { return nil }
                continue
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            let at = Clock.now
            guard n > 0 else { continue }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            if text.split(separator: "\n").contains(Substring(line)) { return at }
        }
        return nil
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

/// One `leadrouterd` run by the bench: a temporary config on free loopback ports, its own
/// state directory, `NOTIFY_SOCKET` pointing at a socket the bench reads.
final class DaemonProcess {
    let label: String
    let executable: String
    let work: TemporaryDirectory
    let stateDir: String
    let ingest: String
    let publish: String
    let intake: String
    let replay: String
    /// `control.bind`, when the daemon has one (``init(label:executable:partnersYAML:workBase:stateDir:durability:extraYAML:)``).
    let control: String
    let configPath: String
    let logPath: String
    /// With `security.mode: curve`: the keys the bench's clients present.
    var curve: BenchCurve?
    private let notify: NotifyListener
    private var process: Process?
    /// Spawn to `READY=1`, in seconds.
    private(set) var readySeconds: Double = 0

    /// - Parameters:
    ///   - stateDir: the store's directory; `nil` for a fresh one inside the work directory.
    ///   - durability: `nil` leaves `store.durability` at its default (as shipped).
    init(label: String, executable: String, partnersYAML: String, workBase: String, stateDir: String?, durability: Durability?,
         extraYAML: String = "", withControl: Bool = false, metrics: Bool = false) throws {
        self.label = label
        self.executable = executable
        work = try TemporaryDirectory(base: workBase, label: label)
        self.stateDir = stateDir ?? work.file("state")
        let endpoints = try freeEndpoints(5)
        control = endpoints[4]
        ingest = endpoints[0]
        publish = endpoints[1]
        intake = endpoints[2]
        replay = endpoints[3]
        var config = """
            state_dir: "\(self.stateDir)"
            ingest:
              bind: ["\(ingest)"]
              topics: ["lead"]
            intake:
              bind: "\(endpoints[2])"
            publish:
              bind: "\(publish)"
            replay:
              bind: "\(endpoints[3])"
            routing:
              unmatched: vendor-sales

            """
        if let durability { config += "store:\n  durability: \(durability.rawValue)\n" }
        if withControl { config += "control:\n  bind: \"\(control)\"\n" }
        if !extraYAML.isEmpty { config += extraYAML + "\n" }
        if metrics || RunningDaemons.withMetrics.load(ordering: .relaxed) { config += "metrics:\n  bind: \"127.0.0.1:0\"\n" }
        config += partnersYAML
        configPath = work.file("leadrouter.yaml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        logPath = work.file("daemon.log")
        notify = try NotifyListener(path: work.file("notify.sock"))
    }

    /// Spawns the daemon and waits for `READY=1`; returns the seconds it took.
    @discardableResult
    func start(timeout: Double) throws -> Double {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw BenchError("cannot write \(logPath)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--config", configPath, "--log-level", "notice"]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment.removeValue(forKey: "WATCHDOG_USEC")
        environment.removeValue(forKey: "WATCHDOG_PID")
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let started = Clock.now
        do { try process.run() } catch { throw BenchError("cannot start \(executable): \(error)") }
        self.process = process
        RunningDaemons.add(process.processIdentifier)
        let ready = notify.waitFor("READY=1", deadline: started + UInt64(timeout * 1e9)) { process.isRunning }
        guard let ready else {
            let why = process.isRunning ? "no READY=1 within \(Int(timeout)) s" : "it exited with status \(process.terminationStatus)"
            stop()
            throw BenchError("leadrouterd (\(label)) did not start: \(why); log:\n\(logTail())")
        }
        readySeconds = Double(ready - started) / 1e9
        return readySeconds
    }

    var pid: Int32? { process?.processIdentifier }
    var isRunning: Bool { process?.isRunning ?? false }

    /// Peak resident set size so far (VmHWM), in MB.
    func peakRSSMegabytes() -> Double? { statusMegabytes("VmHWM:") }

    /// Resident set size now (VmRSS), in MB.
    func rssMegabytes() -> Double? { statusMegabytes("VmRSS:") }

    private func statusMegabytes(_ key: String) -> Double? {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key) {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) }
            return kb.map { $0 / 1024 }
        }
        return nil
    }

    /// Total CPU seconds (user + system) the daemon used so far.
    func cpuSeconds() -> Double? { pid.flatMap(DaemonProcess.cpuSeconds(pid:)) }

    /// CPU seconds of each thread of process `pid` so far, by thread id, with the thread's
    /// name (the daemon names its own, `lr-…`; ZeroMQ's are `ZMQbg/…`; every other one counts
    /// as `other`), from /proc/PID/task/TID/schedstat (time on a CPU, in ns).
    @Sendable
    static func threadCPUSeconds(pid: Int32) -> [String: ThreadCPU] {
        var threads: [String: ThreadCPU] = [:]
        let tasks = "/proc/\(pid)/task"
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            guard let comm = try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8),
                  let stat = try? String(contentsOfFile: "\(tasks)/\(tid)/schedstat", encoding: .utf8),
                  let ns = stat.split(separator: " ").first.flatMap({ Double($0) }) else { continue }
            let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            threads[tid] = ThreadCPU(name: name.hasPrefix("lr-") || name.hasPrefix("ZMQbg/") ? name : "other", seconds: ns / 1e9)
        }
        return threads
    }

    /// One thread's name and CPU seconds (``threadCPUSeconds(pid:)``).
    struct ThreadCPU: Sendable {
        var name: String
        var seconds: Double

        /// CPU seconds by name between two samples, thread by thread: a thread started
        /// meanwhile counts from zero, one that ended meanwhile takes its time with it.
        static func spent(from start: [String: ThreadCPU], to end: [String: ThreadCPU]) -> [String: Double] {
            var spent: [String: Double] = [:]
            for (tid, thread) in end { spent[thread.name, default: 0] += thread.seconds - (start[tid]?.seconds ?? 0) }
            return spent
        }
    }

    /// CPU seconds (user + system) of process `pid`, from /proc/PID/stat.
    @Sendable
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After "(comm)": state is field 3 of stat, so utime (14) and stime (15) are at 11 and 12 here.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGTERM, then SIGKILL after `timeout` seconds. Returns the exit status (nil if killed).
    @discardableResult
    func stop(timeout: Double = 20) -> Int32? {
        guard let process else { return nil }
        defer {
            RunningDaemons.remove(process.processIdentifier)
            self.process = nil
        }
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Clock.now + UInt64(timeout * 1e9)
        while process.isRunning && Clock.now < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Stops the daemon if needed and removes its work directory (and a state dir inside it).
    func cleanUp(keep: Bool) {
        stop()
        if !keep { work.remove() }
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            RunningDaemons.remove(process.processIdentifier)
        }
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the one clock every timestamp of the bench uses.
enum Clock {
    @inline(__always)
    static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Sleeps until the monotonic time `ns`.
    @inline(__always)
    static func sleep(until ns: UInt64) {
        var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    static func sleep(seconds: Double) { sleep(until: now + UInt64(seconds * 1e9)) }
}
