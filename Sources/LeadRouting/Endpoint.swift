/// A ZeroMQ endpoint LeadRouter accepts in its config: `tcp://HOST:PORT` or `ipc://PATH`.
///
/// For `tcp`, HOST is an IPv4 address, a bracketed IPv6 address, a host or interface
/// name, or `*` (bind to every interface); PORT is 1-65535, or `*` or `0` for an
/// ephemeral port when binding (the daemon reports the port it got in `endpoints.json`).
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Transport: String, Sendable, Hashable {
        case tcp
        case ipc
        /// Within one process's ZeroMQ context: never from a config file, only from
        /// ``inProcess(_:)`` (tests that run the loop in process).
        case inproc
    }

    public let transport: Transport
    /// The endpoint exactly as ZeroMQ takes it.
    public let description: String

    /// Parses `text`, or returns `nil` when it is not a valid endpoint. ``problem(in:)``
    /// says why.
    public init?(validating text: String) {
        guard Endpoint.problem(in: text) == nil else { return nil }
        self.transport = text.hasPrefix("tcp://") ? .tcp : .ipc
        self.description = text
    }

    /// `inproc://name`: sockets of one ZeroMQ context, for tests that run the daemon's loop
    /// in process. Configs cannot name one (``problem(in:)`` refuses it).
    public static func inProcess(_ name: String) -> Endpoint { Endpoint(transport: .inproc, description: "inproc://\(name)") }

    private init(transport: Transport, description: String) {
        self.transport = transport
        self.description = description
    }

    /// Why `text` is not a valid endpoint, or `nil` when it is.
    public static func problem(in text: String) -> String? {
        if text.hasPrefix("tcp://") {
            let rest = text.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":") else {
                return "tcp endpoint \"\(text)\" has no port: write tcp://HOST:PORT"
            }
            let host = rest[..<colon]
            let port = rest[rest.index(after: colon)...]
            if host.isEmpty {
                return "tcp endpoint \"\(text)\" has no host: write tcp://HOST:PORT (HOST may be *)"
            }
            if host.hasPrefix("[") != host.hasSuffix("]") {
                return "tcp endpoint \"\(text)\" has an unbalanced IPv6 bracket"
            }
            let hostAllowed = host.allSatisfy { c in
                c.isASCII && (c.isLetter || c.isNumber || ".-_*[]:%".contains(c))
            }
            if !hostAllowed {
                return "tcp endpoint \"\(text)\" has an invalid host \"\(host)\""
            }
            if port == "*" || port == "0" { return nil }
            guard let number = Int(port), (1...65_535).contains(number), port.allSatisfy(\.isNumber) else {
                return "tcp endpoint \"\(text)\" has an invalid port \"\(port)\": use 1-65535, or * or 0 for any free port"
            }
            return nil
        }
        if text.hasPrefix("ipc://") {
            let path = text.dropFirst("ipc://".count)
            if path.isEmpty { return "ipc endpoint \"\(text)\" has no path: write ipc:///PATH" }
            if path.utf8.count > 107 { return "ipc endpoint \"\(text)\" has a path longer than 107 bytes" }
            return nil
        }
        return "endpoint \"\(text)\" must start with tcp:// or ipc://"
    }
}
