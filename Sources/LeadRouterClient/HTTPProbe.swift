public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.1 client over a TCP socket, for the metrics endpoint: sends exactly the bytes
/// it is given (well formed or not) and reads the answer until the server closes or `timeout`
/// passes. What a scraper, or a careless or hostile client, sends; the bench scrapes with it
/// and the end-to-end tests probe the endpoint's limits.
public final class HTTPProbe {
    let fd: Int32

    /// Connects to `address` (`HOST:PORT`, IPv4).
    public init(_ address: String, timeout: TimeInterval = 10) throws {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw ClientError("not HOST:PORT: \(address)")
        }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError("socket: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        inet_pton(AF_INET, String(address[..<colon]), &sin.sin_addr)
        let connected = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw ClientError("cannot connect to \(address): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends `bytes`; false once the server has closed the connection (or the send timed out).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Everything the server sends until it closes the connection (or the receive timeout).
    public func readAll() -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }

    /// One request with `Connection: close`, and its response.
    public static func request(_ address: String, method: String = "GET", target: String = "/metrics",
                        headers: [String] = []) throws -> HTTPAnswer {
        let probe = try HTTPProbe(address)
        let lines = ["\(method) \(target) HTTP/1.1", "Host: \(address)", "Connection: close"] + headers
        probe.send(lines.joined(separator: "\r\n") + "\r\n\r\n")
        return try HTTPAnswer(probe.readAll())
    }

    /// The scrape of a daemon's metrics endpoint: its body, after checking it is a 200 of text.
    public static func scrape(_ address: String) throws -> String {
        let answer = try request(address)
        guard answer.status == 200 else { throw ClientError("GET /metrics answered \(answer.status): \(answer.body)") }
        return answer.body
    }
}

/// An HTTP response as received: status, headers (names lower-cased), body.
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: String

    public init(_ bytes: [UInt8]) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw ClientError("no complete HTTP response: \(text.prefix(200))") }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw ClientError("not an HTTP status line: \(head.first ?? "")")
        }
        self.status = status
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        body = String(text[split.upperBound...])
    }
}
