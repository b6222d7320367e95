/// `metrics`: where the daemon serves Prometheus metrics over HTTP, and whether it adds
/// series per partner. Only a restart changes it.
public struct MetricsConfig: Sendable, Equatable {
    /// `metrics.bind`: the address `GET /metrics` is served on; `nil` (absent): no metrics.
    public var bind: MetricsAddress?
    /// `metrics.per_partner`: also count leads per partner (`leadrouter_partner_leads_total`).
    /// Off by default: with 10,000 partners that is 10,000 series in every scrape.
    public var perPartner: Bool

    public init(bind: MetricsAddress? = nil, perPartner: Bool = false) {
        self.bind = bind
        self.perPartner = perPartner
    }
}

/// `HOST:PORT` as `metrics.bind` takes it: HOST is an IPv4 address, a bracketed IPv6
/// address, or `localhost` (127.0.0.1); PORT is 0-65535, 0 for any free port (the daemon
/// writes the port it got to `endpoints.json`).
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address as the socket binds it: an IPv4 or IPv6 literal, without brackets.
    public let host: String
    public let port: Int
    public let isIPv6: Bool

    /// `127.0.0.1:9464`, or `[::1]:9464`.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this host can reach it: 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isIPv6 ? host == "::1" : host.split(separator: ".").first == "127"
    }

    /// As a ZeroMQ tcp endpoint, for checking it against the sockets' endpoints (port 0 is `*`).
    public var asEndpoint: Endpoint? {
        Endpoint(validating: "tcp://\(isIPv6 ? "[\(host)]" : host):\(port == 0 ? "*" : String(port))")
    }

    /// Parses `text`, or returns `nil` when it is not valid; ``problem(in:)`` says why.
    public init?(validating text: String) {
        guard MetricsAddress.problem(in: text) == nil, let parsed = MetricsAddress.split(text) else { return nil }
        let bracketed = parsed.host.hasPrefix("[")
        host = parsed.host == "localhost" ? "127.0.0.1" : String(bracketed ? parsed.host.dropFirst().dropLast() : parsed.host)
        port = Int(parsed.port) ?? 0
        isIPv6 = bracketed
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
        self.isIPv6 = host.contains(":")
    }

    private static func split(_ text: String) -> (host: Substring, port: Substring)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        return (text[..<colon], text[text.index(after: colon)...])
    }

    /// Why `text` is not a valid `metrics.bind`, or `nil` when it is.
    public static func problem(in text: String) -> String? {
        let example = "such as 127.0.0.1:9464"
        if text.contains("://") {
            return "must be HOST:PORT without a scheme (\(example)), got \"\(text)\""
        }
        guard let (host, port) = split(text), !host.isEmpty else {
            return "must be HOST:PORT (\(example)), got \"\(text)\""
        }
        guard port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port), (0...65_535).contains(number), port.count <= 5 else {
            return "has an invalid port \"\(port)\": use 1-65535, or 0 for any free port"
        }
        if host == "localhost" || isIPv4(host) { return nil }
        if host.hasPrefix("["), host.hasSuffix("]"), isIPv6(host.dropFirst().dropLast()) { return nil }
        return "has an invalid host \"\(host)\": use an IPv4 address (127.0.0.1, 0.0.0.0 for every interface), "
            + "a bracketed IPv6 address ([::1]) or localhost"
    }

    /// Four decimal octets, 0-255, without leading zeros.
    static func isIPv4(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy({ $0.isASCII && $0.isNumber }) && (Int(octet) ?? 256) <= 255
                && (octet.count == 1 || octet.first != "0")
        }
    }

    /// Hex groups and colons, at most one `::`, at most 8 groups (no zone, no embedded IPv4).
    static func isIPv6(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return false }
        let compressed = text.ranges(of: "::").count
        guard compressed <= 1, !text.contains(":::") else { return false }
        if text.hasPrefix(":") != text.hasPrefix("::") || text.hasSuffix(":") != text.hasSuffix("::") { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: true)
        guard groups.allSatisfy({ $0.count <= 4 }) else { return false }
        if compressed == 1 { return groups.count <= 7 }
        return groups.count == 8 && !text.hasPrefix(":") && !text.hasSuffix(":")
    }
}
