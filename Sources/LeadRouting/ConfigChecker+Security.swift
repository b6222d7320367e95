internal import Yams

/// Checking `security` and a partner's `keys`, and that plaintext stays off the network.
///
/// Keys are only read here as written (a certificate file's path or a Z85 string): the
/// files are opened, and the keys checked, by LeadRouterConfigFile (`ConfigFile.keyRing`).
extension Checker {
    /// `security`, into `config.security` and `config.clients`. Returns whether its `mode`
    /// and `allow_plaintext_network` are known (both valid or absent), so that bound
    /// endpoints can be checked against them.
    mutating func security(_ entry: Fields.Entry, into config: inout RouterConfig) -> Bool {
        guard let fields = section(entry, at: "security", allowed: Keys.security) else { return false }
        var known = true
        var security = SecurityConfig()
        if let entry = fields["mode"] {
            if let mode = choice(entry, at: "security.mode", of: SecurityMode.self) {
                security.mode = mode
            } else {
                known = false
            }
        }
        if let entry = fields["server_key"] {
            security.serverKey = serverKey(entry)
        } else if security.mode == .curve {
            report("security.server_key", fields.line,
                   "is required with security.mode: curve: the server's secret certificate, such as "
                       + "/etc/leadrouter/server.key_secret (leadctl keygen server writes one)")
        }
        if let entry = fields["allow_plaintext_network"] {
            if let value = bool(entry, at: "security.allow_plaintext_network") {
                security.allowPlaintextNetwork = value
            } else {
                known = false
            }
        }
        if let entry = fields["clients"] { config.clients = clients(entry, curve: security.mode == .curve) }
        config.security = security
        return known
    }

    /// `security.server_key`: a secret certificate's path or a Z85 secret key.
    private mutating func serverKey(_ entry: Fields.Entry) -> KeySource? {
        let path = "security.server_key"
        let expected = "the path of the server's secret certificate, such as /etc/leadrouter/server.key_secret"
        guard let text = string(entry, at: path, expected: expected) else { return nil }
        let trimmed = Checker.trimmed(text)
        guard !trimmed.isEmpty else {
            report(path, line(entry), "must not be empty; expected \(expected)")
            return nil
        }
        return KeySource.parse(trimmed, path: path, line: line(entry))
    }

    // MARK: Clients

    /// `security.clients`: the valid clients (each problem reported).
    private mutating func clients(_ entry: Fields.Entry, curve: Bool) -> [SecurityClient] {
        let expected = "a list of clients, such as [{id: web-forms, role: source, keys: [/etc/leadrouter/keys/web-forms.key]}]"
        guard let list = list(entry, at: "security.clients", expected: expected) else { return [] }
        var firstIndex: [String: (index: Int, line: Int?)] = [:]
        let clients = mappings(list, at: "security.clients", fallbackLine: line(entry), kind: "a client", allowed: Keys.client) {
            checker, fields, path, index in
            checker.client(fields, at: path, index: index, curve: curve, firstIndex: &firstIndex)
        }
        return clients
    }

    /// One client's mapping; `nil` when any of its keys is invalid (each problem reported).
    private mutating func client(_ fields: Fields, at path: String, index: Int, curve: Bool,
                                 firstIndex: inout [String: (index: Int, line: Int?)]) -> SecurityClient? {
        let id = clientID(fields, at: path, index: index, firstIndex: &firstIndex)
        var role: ClientRole?
        if let entry = fields["role"] {
            role = choice(entry, at: "\(path).role", of: ClientRole.self)
        } else {
            report("\(path).role", fields.line, "is required: one of \(Checker.allowed(ClientRole.self))")
        }
        var keys: [KeySource]? = []
        if let entry = fields["keys"] {
            keys = keyList(entry, at: "\(path).keys", nonEmpty: curve)
        } else if curve {
            report("\(path).keys", fields.line,
                   "is required with security.mode: curve: the client's public certificate files or Z85 keys, "
                       + "such as [/etc/leadrouter/keys/web-forms.key]")
            keys = nil
        }
        guard let id, let role, let keys else { return nil }
        return SecurityClient(id: id, role: role, keys: keys)
    }

    /// A client's id: required, well formed (as a partner's) and unique among clients.
    private mutating func clientID(_ fields: Fields, at path: String, index: Int,
                                   firstIndex: inout [String: (index: Int, line: Int?)]) -> String? {
        uniqueID(fields, at: path, index: index, kind: "client", example: "web-forms", list: "security.clients", firstIndex: &firstIndex)
    }

    // MARK: Keys

    /// A list of public keys, each a certificate file's path or a Z85 string, with its own key
    /// path and line; `nil` after reporting a problem. `nonEmpty`: at least one is needed.
    mutating func keyList(_ entry: Fields.Entry, at path: String, nonEmpty: Bool) -> [KeySource]? {
        let expected = "a list of public certificate files or Z85 keys, such as [/etc/leadrouter/keys/acme.key]"
        guard let list = list(entry, at: path, expected: expected) else { return nil }
        if nonEmpty, list.isEmpty {
            report(path, line(entry),
                   "must list at least one key with security.mode: curve (a public certificate file or a Z85 key); "
                       + "remove the client to refuse it every connection")
            return nil
        }
        let (values, valid) = distinctStrings(list, at: path, fallbackLine: line(entry)) { text in
            let key = Checker.trimmed(text)
            return key.isEmpty
                ? .failure(ItemProblem(message: "must be a public certificate file or a Z85 key, got an empty string"))
                : .success((key, key))
        } repeated: { key, first in
            let what = if case .z85 = KeySource.parse(key, path: "", line: nil).kind { "the Z85 key" } else { "\"\(key)\"" }
            return "duplicate key: \(path)[\(first)] already lists \(what)"
        }
        guard valid else { return nil }
        return zip(values, list).enumerated().map { index, item in
            KeySource.parse(item.0, path: "\(path)[\(index)]", line: item.1.mark?.line)
        }
    }

    // MARK: Plaintext on the network

    /// With `mode: none` and without `allow_plaintext_network`, reports every bound endpoint
    /// that is neither loopback nor ipc.
    mutating func checkPlaintextEndpoints(_ security: SecurityConfig) {
        guard security.mode == .none, !security.allowPlaintextNetwork else { return }
        // metrics.bind is HTTP, not ZeroMQ: checkMetricsOnNetwork(_:) says so in its own words.
        for endpoint in bound where !Checker.isLocal(endpoint.endpoint) && endpoint.path != "metrics.bind" {
            report(endpoint.path, endpoint.line,
                   "\(endpoint.endpoint) is reachable from the network, and security.mode is none: "
                       + "plaintext on the network needs security.allow_plaintext_network: true or security.mode: curve "
                       + "(or bind a loopback address such as tcp://127.0.0.1:PORT, or ipc://)")
        }
    }

    /// Whether only this host can reach `endpoint`: ipc, or tcp on 127.0.0.0/8, `[::1]` or
    /// `localhost`. `*` (every interface) is not.
    static func isLocal(_ endpoint: Endpoint) -> Bool {
        guard endpoint.transport == .tcp else { return true }
        let rest = endpoint.description.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return false }
        let host = rest[..<colon].lowercased()
        if host == "localhost" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) && UInt8($0) != nil }
    }
}
