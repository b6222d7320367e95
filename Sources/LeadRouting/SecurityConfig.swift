/// `security.mode`.
public enum SecurityMode: String, Sendable, Equatable, CaseIterable {
    /// No encryption or authentication: only loopback and ipc endpoints may be bound unless
    /// `allow_plaintext_network` is true.
    case none
    /// CURVE on every endpoint; every client must present a configured key.
    case curve
}

/// The role of a client that is not a partner (`security.clients[].role`).
public enum ClientRole: String, Sendable, Equatable, CaseIterable {
    /// Submits leads (ingest, intake).
    case source
    /// Reads `vendor-sales/` and `outcomes/`.
    case vendorSales = "vendor_sales"
    /// Reads `nurture/`.
    case marketing
    /// Reads every topic.
    case `operator`
}

/// A key as written in the config: a certificate file's path, or a Z85 string (40
/// characters), with where it was written, for problems found when it is read.
public struct KeySource: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case z85(String)
        case file(String)
    }
    public var kind: Kind
    /// The key path in the config, such as `partners[2].keys[0]`, and its line.
    public var path: String
    public var line: Int?

    public init(_ kind: Kind, path: String, line: Int? = nil) {
        self.kind = kind
        self.path = path
        self.line = line
    }

    /// A key written in the config: Z85 when it is 40 characters of the Z85 alphabet, else a
    /// path. Z85's alphabet has `/` and `.`: about one key in 85 starts with `/`, so a text
    /// that is both is Z85 here, and LeadRouterConfigFile reads it as a file when that file
    /// exists (`KeyResolver.kind(of:)`).
    public static func parse(_ text: String, path: String, line: Int?) -> KeySource {
        let z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
        let looksZ85 = text.count == 40 && text.allSatisfy { z85.contains($0) }
        return KeySource(looksZ85 ? .z85(text) : .file(text), path: path, line: line)
    }
}

/// `security.clients[]`: everyone but partners.
public struct SecurityClient: Sendable, Equatable {
    /// `^[a-z0-9][a-z0-9-]{0,62}$`, unique among clients.
    public var id: String
    public var role: ClientRole
    public var keys: [KeySource]

    public init(id: String, role: ClientRole, keys: [KeySource]) {
        self.id = id
        self.role = role
        self.keys = keys
    }
}

/// The `security:` section but its `clients`: what only a restart changes. The clients (in
/// ``RoutingRules/clients``) and partners' `keys` a reload may change.
public struct SecurityConfig: Sendable, Equatable {
    public var mode: SecurityMode
    /// The server's secret certificate (`server_key`); required with `mode: curve`.
    public var serverKey: KeySource?
    public var allowPlaintextNetwork: Bool

    public init(mode: SecurityMode = .none, serverKey: KeySource? = nil, allowPlaintextNetwork: Bool = false) {
        self.mode = mode
        self.serverKey = serverKey
        self.allowPlaintextNetwork = allowPlaintextNetwork
    }
}

/// Who a connection's key belongs to. Its ``userID`` is what the ZAP handler answers, and
/// what every message of that connection carries (`User-Id`).
public enum Principal: Sendable, Hashable {
    case partner(String)
    case client(String, ClientRole)

    /// `partner:acme`, `source:web-forms`, `operator:ops`.
    public var userID: String {
        switch self {
        case .partner(let id): "partner:\(id)"
        case .client(let id, let role): "\(role.rawValue):\(id)"
        }
    }

    /// The principal a `User-Id` names: ``userID``, or a ``ConnectionIdentity``'s (the
    /// principal, a space, and the key).
    public init?(userID: String) {
        let principalPart = userID.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let colon = principalPart.firstIndex(of: ":") else { return nil }
        let kind = String(principalPart[..<colon]), id = String(principalPart[principalPart.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        if kind == "partner" {
            self = .partner(id)
        } else if let role = ClientRole(rawValue: kind) {
            self = .client(id, role)
        } else {
            return nil
        }
    }

    /// The partner's id, for a partner.
    public var partnerID: String? {
        if case .partner(let id) = self { return id }
        return nil
    }
}

/// The keys resolved from the config's certificate files and Z85 strings (by
/// LeadRouterConfigFile): the server's secret key, and who each client public key belongs to.
public struct KeyRing: Sendable, Equatable {
    /// The server's secret key, Z85; `nil` with `mode: none`.
    public var serverSecretKey: String?
    /// Each client public key (Z85) and its principal.
    public var principals: [String: Principal]

    public init(serverSecretKey: String? = nil, principals: [String: Principal] = [:]) {
        self.serverSecretKey = serverSecretKey
        self.principals = principals
    }

    /// Whether CURVE is on.
    public var isCurve: Bool { serverSecretKey != nil }

    /// Whether a connection's key still belongs to the principal it was admitted as (a
    /// reload may have removed the key or given it to someone else).
    public func admits(_ identity: ConnectionIdentity) -> Bool {
        principals[identity.key] == identity.principal
    }

    /// The keys that were in this ring and are not in `newer` under the same principal:
    /// connections made with them must not go on acting as before.
    public func revoked(in newer: KeyRing) -> [String] {
        principals.compactMap { key, principal in newer.principals[key] == principal ? nil : key }.sorted()
    }
}

/// Who holds a connection, as the ZAP handler admitted it: the principal and the client's
/// public key (Z85). Its ``userID`` is the connection's `User-Id`, `partner:acme KEY`, so that
/// after a reload each message can be checked against the keys then configured.
public struct ConnectionIdentity: Sendable, Hashable {
    public var principal: Principal
    public var key: String

    public init(principal: Principal, key: String) {
        self.principal = principal
        self.key = key
    }

    /// `partner:acme` and the key, separated by a space (Z85 has no space).
    public var userID: String { "\(principal.userID) \(key)" }

    /// The identity a `User-Id` set by ``userID`` names; `nil` for any other text.
    public init?(userID: String) {
        let parts = userID.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, let principal = Principal(userID: String(parts[0])) else { return nil }
        self.init(principal: principal, key: String(parts[1]))
    }
}
