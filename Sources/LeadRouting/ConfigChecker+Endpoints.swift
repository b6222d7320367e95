internal import Yams

/// Checking values: timestamps and endpoints.
extension Checker {
    // MARK: Timestamps

    /// An RFC 3339 timestamp with an offset, in milliseconds since 1970; `nil` after
    /// reporting a problem. Takes the scalar as written, whatever tag YAML gave it.
    mutating func timestamp(_ entry: Fields.Entry, at path: String, nullHint: String = "") -> Int64? {
        let expected = "an RFC 3339 timestamp with an offset, such as 2026-12-01T00:00:00Z or 2026-12-01T00:00:00+02:00"
        guard let text = string(entry, at: path, expected: expected, nullHint: nullHint) else { return nil }
        switch RFC3339.parse(text) {
        case let .instant(milliseconds):
            return milliseconds
        case let .invalid(reason):
            report(path, line(entry), "must be \(expected), got \"\(text)\": \(reason)")
            return nil
        }
    }

    /// A registration's `expires` (``RegistrationExpiry``): a date alone or an RFC 3339
    /// time; `nil` after reporting a problem.
    mutating func registrationExpiry(_ entry: Fields.Entry, at path: String) -> Int64? {
        let expected = RegistrationExpiry.expected
        guard let text = string(entry, at: path, expected: expected) else { return nil }
        switch RegistrationExpiry.parse(text) {
        case let .instant(milliseconds):
            return milliseconds
        case let .invalid(reason):
            report(path, line(entry), "must be \(expected), got \"\(text)\": \(reason)")
            return nil
        }
    }

    // MARK: Endpoints

    /// One bound endpoint, or `fallback` after reporting a problem. Null is not allowed.
    mutating func endpoint(_ entry: Fields.Entry, at path: String, default fallback: Endpoint?) -> Endpoint? {
        let hint = fallback.map { " (omit the key to use the default, \($0))" } ?? ""
        guard let text = string(entry, at: path, expected: "an endpoint such as tcp://127.0.0.1:5551", nullHint: hint)
        else { return fallback }
        return endpoint(text, at: path, line: line(entry), bound: true) ?? fallback
    }

    /// Records endpoints a socket binds because the config does not say otherwise.
    mutating func bindByDefault(_ endpoints: [Endpoint], at path: String) {
        bound.append(contentsOf: endpoints.map { BoundEndpoint(endpoint: $0, path: path, line: nil) })
    }

    mutating func endpoint(_ text: String, at path: String, line: Int?, bound isBound: Bool) -> Endpoint? {
        if let problem = Endpoint.problem(in: text) {
            report(path, line, problem)
            return nil
        }
        guard let endpoint = Endpoint(validating: text) else { return nil }
        if isBound { bound.append(BoundEndpoint(endpoint: endpoint, path: path, line: line)) }
        return endpoint
    }

    /// An endpoint or a list of them; `nil` after reporting a problem.
    mutating func endpointList(_ entry: Fields.Entry, at path: String, bound isBound: Bool) -> [Endpoint]? {
        if case .scalar = entry.value, !isNull(entry.value) {
            guard let text = string(entry, at: path) else { return nil }
            return endpoint(text, at: path, line: line(entry), bound: isBound).map { [$0] }
        }
        guard let list = list(entry, at: path, expected: "an endpoint or a list of endpoints") else { return nil }
        var endpoints: [Endpoint] = []
        var valid = true
        var firstIndex: [Endpoint: Int] = [:]
        for (index, node) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = string(node, at: itemPath, fallbackLine: line(entry)),
                  let endpoint = endpoint(text, at: itemPath, line: node.mark?.line, bound: isBound) else {
                valid = false
                continue
            }
            // Bound endpoints are checked against every socket at the end.
            if !isBound, let first = firstIndex[endpoint] {
                report(itemPath, node.mark?.line, "\(endpoint) is already listed at \(path)[\(first)]")
                valid = false
                continue
            }
            firstIndex[endpoint] = index
            endpoints.append(endpoint)
        }
        return valid ? endpoints : nil
    }

    /// Reports every bound endpoint that another socket binds too, at the one written
    /// later in the document (or at the explicit one when the other is a default).
    mutating func checkBoundEndpoints() {
        var reported = Set<Int>()
        for j in bound.indices {
            for i in bound.indices where i < j {
                guard let collision = Checker.collision(bound[i].endpoint, bound[j].endpoint) else { continue }
                let (a, b) = (bound[i], bound[j])
                if a.line == nil, b.line == nil { continue }
                // Report at `here`; name `other`.
                let hereIndex = (b.line ?? 0) >= (a.line ?? 0) ? j : i
                let (here, other) = hereIndex == j ? (b, a) : (a, b)
                guard !reported.contains(hereIndex) else { continue }
                reported.insert(hereIndex)
                let at = other.line.map { " (line \($0))" } ?? " (its default)"
                let what = switch collision {
                case .same: "\(here.endpoint) is also bound by \(other.path)\(at)"
                case .overlapping: "\(here.endpoint) overlaps \(other.endpoint), bound by \(other.path)\(at)"
                }
                report(here.path, here.line, "\(what); every socket needs its own endpoint")
            }
        }
    }

    enum Collision { case same, overlapping }

    /// Whether binding both `a` and `b` would fail. A port of `*` or `0` (ephemeral) never collides.
    static func collision(_ a: Endpoint, _ b: Endpoint) -> Collision? {
        guard a.transport == .tcp, b.transport == .tcp else { return a == b ? .same : nil }
        func split(_ endpoint: Endpoint) -> (host: Substring, port: Substring)? {
            let rest = endpoint.description.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            return (rest[..<colon], rest[rest.index(after: colon)...])
        }
        guard let x = split(a), let y = split(b), x.port != "*", x.port != "0", x.port == y.port else { return nil }
        if x.host == y.host { return .same }
        if x.host == "*" || y.host == "*" { return .overlapping }
        return nil
    }
}
