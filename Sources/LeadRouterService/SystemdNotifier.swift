#if canImport(Glibc)
import Glibc
#endif

/// Sends sd_notify(3) messages (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`) to the
/// datagram socket systemd names in `$NOTIFY_SOCKET`. Does nothing when the variable is
/// unset, so the daemon runs the same outside systemd. Safe from any thread.
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading `@` names an abstract socket.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1`, from `$WATCHDOG_USEC` (and `$WATCHDOG_PID`, when set, naming us).
    public let watchdogInterval: Duration?

    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            let pidMatches = environment["WATCHDOG_PID"].flatMap(Int32.init).map { $0 == getpid() } ?? true
            if pidMatches { interval = .microseconds(Int64(usec)) }
        }
        watchdogInterval = interval
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments). Returns whether it was sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let payload = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                payload.withUnsafeBytes { bytes in
                    var result: Int
                    // Never blocks: the routing thread sends WATCHDOG=1 and READY=1, and a
                    // manager that stopped reading must not stall routing.
                    repeat {
                        result = sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, length)
                    } while result < 0 && errno == EINTR
                    return result
                }
            }
        }
        return sent == payload.count
    }
}
