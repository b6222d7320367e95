import Foundation

/// The daemon's configuration, as decoded and validated from YAML.
///
/// Every value here has passed validation: endpoints are well formed, partner ids
/// are unique, weights are positive. Build one with ``ConfigLoader``.
public struct RouterConfig: Sendable, Equatable {
    public var stateDir: String
    public var ingest: IngestConfig
    public var intake: IntakeConfig
    public var publish: PublishConfig
    public var replay: ReplayConfig
    public var routing: RoutingPolicy
    public var store: StoreConfig
    public var qualification: QualificationConfig
    public var partners: [Partner]
    /// Deal registrations from the config (more can be added at run time; see docs/routing.md).
    public var registrations: [Registration]

    public init(
        stateDir: String = RouterConfig.defaultStateDir,
        ingest: IngestConfig = IngestConfig(),
        intake: IntakeConfig = IntakeConfig(),
        publish: PublishConfig = PublishConfig(),
        replay: ReplayConfig = ReplayConfig(),
        routing: RoutingPolicy = RoutingPolicy(),
        store: StoreConfig = StoreConfig(),
        qualification: QualificationConfig = QualificationConfig(),
        partners: [Partner] = [],
        registrations: [Registration] = []
    ) {
        self.stateDir = stateDir
        self.ingest = ingest
        self.intake = intake
        self.publish = publish
        self.replay = replay
        self.routing = routing
        self.store = store
        self.qualification = qualification
        self.partners = partners
        self.registrations = registrations
    }

    public static let defaultStateDir = "/var/lib/leadrouter"
}

/// Where lead sources publish best-effort lead events (a SUB socket).
public struct IngestConfig: Sendable, Equatable {
    /// Endpoints the SUB socket binds; lead sources connect their PUB here.
    public var bind: [Endpoint]
    /// Endpoints the SUB socket connects to, for sources that bind their PUB.
    public var connect: [Endpoint]
    /// Subscription prefixes. A message whose topic starts with none of them never arrives.
    public var topics: [String]
    /// Messages (all frames together) larger than this are rejected with `too_large`.
    public var maxMessageBytes: Int
    /// ZeroMQ receive high-water mark of the SUB socket, in messages.
    public var receiveHighWaterMark: Int

    public init(
        bind: [Endpoint] = [Endpoint(validating: "tcp://127.0.0.1:5550")!],
        connect: [Endpoint] = [],
        topics: [String] = ["lead"],
        maxMessageBytes: Int = 65_536,
        receiveHighWaterMark: Int = 10_000
    ) {
        self.bind = bind
        self.connect = connect
        self.topics = topics
        self.maxMessageBytes = maxMessageBytes
        self.receiveHighWaterMark = receiveHighWaterMark
    }
}

/// The reliable, acknowledged submission endpoint (a ROUTER socket).
public struct IntakeConfig: Sendable, Equatable {
    public var bind: Endpoint?
    public init(bind: Endpoint? = Endpoint(validating: "tcp://127.0.0.1:5551")!) {
        self.bind = bind
    }
}

/// The embedded store's durability and retention.
public struct StoreConfig: Sendable, Equatable {
    public var durability: Durability
    /// Routed leads and published envelopes older than this are pruned.
    public var retentionDays: Int
    /// A batch of this many messages or more (a backlog) commits on a thread of its own while
    /// the next batch is routed; a smaller one commits on the routing thread
    /// (`store.pipeline_batch`, 1-2048; the default, 2048, pipelines only full batches).
    public var pipelineBatch: Int

    public init(durability: Durability = .full, retentionDays: Int = 180, pipelineBatch: Int = 2048) {
        self.durability = durability
        self.retentionDays = retentionDays
        self.pipelineBatch = pipelineBatch
    }
}

/// How hard SQLite works to keep a commit across failures (`PRAGMA synchronous`, WAL mode).
public enum Durability: String, Sendable, Equatable, CaseIterable {
    /// fsync the write-ahead log at every commit: an acknowledged lead survives a process
    /// crash, a kernel panic and a power loss. The default.
    case full
    /// fsync only at checkpoints: an acknowledged lead survives a crash of leadrouterd, but
    /// the last commits before a power loss or kernel panic may be lost.
    case normal
    /// Never fsync: for benchmarks and throwaway stores only.
    case off
}

/// The assignment feed (a PUB socket).
public struct PublishConfig: Sendable, Equatable {
    public var bind: Endpoint
    /// ZeroMQ send high-water mark per subscriber, in messages. A subscriber further
    /// behind than this loses messages (and sees a `seq` gap it can recover by replay).
    public var sendHighWaterMark: Int
    /// How often an idle topic gets a heartbeat carrying its last `seq`, in milliseconds.
    public var heartbeatMilliseconds: Int

    public init(
        bind: Endpoint = Endpoint(validating: "tcp://127.0.0.1:5560")!,
        sendHighWaterMark: Int = 1_000_000,
        heartbeatMilliseconds: Int = 1000
    ) {
        self.bind = bind
        self.sendHighWaterMark = sendHighWaterMark
        self.heartbeatMilliseconds = heartbeatMilliseconds
    }
}

/// Gap recovery for subscribers (a ROUTER socket).
public struct ReplayConfig: Sendable, Equatable {
    public var bind: Endpoint?
    /// The most envelopes one replay reply carries, whatever `limit` asks for.
    public var maxLimit: Int
    public init(bind: Endpoint? = Endpoint(validating: "tcp://127.0.0.1:5561")!, maxLimit: Int = 10_000) {
        self.bind = bind
        self.maxLimit = maxLimit
    }
}

/// Where a lead goes when no partner is eligible.
public enum UnmatchedDestination: String, Sendable, Equatable, CaseIterable {
    /// Vendor sales works it directly (`vendor-sales/`, role `direct`).
    case vendorSales = "vendor-sales"
    /// Marketing nurtures it (`nurture/`).
    case nurture
}

public struct RoutingPolicy: Sendable, Equatable {
    public var unmatched: UnmatchedDestination
    public init(unmatched: UnmatchedDestination = .vendorSales) {
        self.unmatched = unmatched
    }
}

/// How much of the vendor's help a partner wants on the leads it receives.
public enum EngagementModel: String, Sendable, Equatable, CaseIterable {
    /// The partner works the lead alone.
    case leadsOnly = "leads_only"
    /// The partner owns the lead; vendor sales co-sells with it.
    case coSell = "co_sell"
    /// Vendor sales closes the deal; the partner keeps the customer relationship.
    case vendorCloses = "vendor_closes"
}

/// A country (ISO 3166-1 alpha-2) and, optionally, some of its regions.
public struct Territory: Sendable, Equatable {
    /// Upper-case ISO 3166-1 alpha-2 code, such as `US`.
    public var country: String
    /// Upper-case region codes (the part after the dash of ISO 3166-2, such as `CO`).
    /// `nil`: the whole country.
    public var regions: [String]?

    public init(country: String, regions: [String]? = nil) {
        self.country = country
        self.regions = regions
    }
}

/// A channel partner and the rules for which leads it receives.
public struct Partner: Sendable, Equatable {
    /// `^[a-z0-9][a-z0-9-]{0,62}$`, unique.
    public var id: String
    public var name: String
    public var engagement: EngagementModel
    /// Empty: anywhere.
    public var territories: [Territory]
    /// Empty: every product. Compared case-insensitively (stored lower-cased).
    public var products: [String]
    /// Share of leads among equally eligible partners; greater than zero.
    public var weight: Int
    /// `false`: never receives new leads.
    public var active: Bool
    /// The lowest qualification grade this partner accepts; `nil`: any.
    public var minGrade: Grade?
    /// At most `max` leads in any rolling window of `per`; `nil`: unlimited.
    public var capacity: Capacity?
    /// Receives no leads before this instant (milliseconds since 1970); `nil`: not paused.
    public var pausedUntil: Int64?
    /// Customers the partner already owns: domains (`acme.example`) or company names, as
    /// written (trimmed); the router normalises them (see ``AccountKey``).
    public var accounts: [String]

    public init(
        id: String,
        name: String? = nil,
        engagement: EngagementModel = .leadsOnly,
        territories: [Territory] = [],
        products: [String] = [],
        weight: Int = 1,
        active: Bool = true,
        minGrade: Grade? = nil,
        capacity: Capacity? = nil,
        pausedUntil: Int64? = nil,
        accounts: [String] = []
    ) {
        self.id = id
        self.name = name ?? id
        self.engagement = engagement
        self.territories = territories
        self.products = products.map { $0.lowercased() }
        self.weight = weight
        self.active = active
        self.minGrade = minGrade
        self.capacity = capacity
        self.pausedUntil = pausedUntil
        self.accounts = accounts
    }

    /// The feed topic this partner subscribes to: `partner/<id>/`.
    public var topic: String { "partner/\(id)/" }

    /// Whether `id` is a valid partner id: `^[a-z0-9][a-z0-9-]{0,62}$`.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func allowed(_ b: UInt8, first: Bool) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || (!first && b == 0x2D)
        }
        for (i, b) in bytes.enumerated() where !allowed(b, first: i == 0) { return false }
        return true
    }
}

/// A lead's qualification grade, `A` (best) to `D`.
public enum Grade: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    case A, B, C, D

    /// `A` > `B` > `C` > `D`.
    public static func < (lhs: Grade, rhs: Grade) -> Bool { lhs.rank > rhs.rank }

    private var rank: Int {
        switch self {
        case .A: 0
        case .B: 1
        case .C: 2
        case .D: 3
        }
    }
}

/// A partner's rolling-window cap: at most `max` leads in any `perSeconds`.
public struct Capacity: Sendable, Equatable {
    public var max: Int
    public var perSeconds: Int64
    /// The window as written in the config (`7d`).
    public var perText: String

    public init(max: Int, perSeconds: Int64, perText: String? = nil) {
        self.max = max
        self.perSeconds = perSeconds
        self.perText = perText ?? "\(perSeconds)s"
    }

    /// Parses a window such as `30m`, `12h`, `7d`, `2w` into seconds.
    public static func seconds(in text: String) -> Int64? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let scale: Int64
        switch unit {
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        case "w": scale = 604_800
        default: return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: scale)
        return overflow ? nil : seconds
    }
}

/// A deal registration: `partner` has registered the account `domain` until `expires`.
public struct Registration: Sendable, Equatable {
    public var partnerID: String
    /// Normalised domain (lower case, no `www.`).
    public var domain: String
    /// Milliseconds since 1970.
    public var expires: Int64

    public init(partnerID: String, domain: String, expires: Int64) {
        self.partnerID = partnerID
        self.domain = AccountKey.normalizedDomain(domain)
        self.expires = expires
    }
}

/// How leads are scored 0-100 and graded A-D. Each signal earns up to its weight in
/// points; the score is the points earned over the points possible, times 100.
public struct QualificationConfig: Sendable, Equatable {
    public var needWeight: Int
    public var budgetWeight: Int
    public var authorityWeight: Int
    public var timelineWeight: Int
    public var companySizeWeight: Int
    public var estimatedValueWeight: Int
    /// Lowest score for grade A, B and C; below `gradeC` is D.
    public var gradeA: Int
    public var gradeB: Int
    public var gradeC: Int
    /// A timeline within this many days earns full points; within twice as many, half.
    public var timelineDays: Int
    /// Companies this large (employees) or larger earn full size points; smaller, a share.
    public var fullEmployees: Int
    /// Estimated values this large or larger earn full points; smaller, a share.
    public var fullValue: Double

    public init(
        needWeight: Int = 20, budgetWeight: Int = 20, authorityWeight: Int = 20, timelineWeight: Int = 20,
        companySizeWeight: Int = 10, estimatedValueWeight: Int = 10,
        gradeA: Int = 75, gradeB: Int = 50, gradeC: Int = 25,
        timelineDays: Int = 90, fullEmployees: Int = 500, fullValue: Double = 50_000
    ) {
        self.needWeight = needWeight
        self.budgetWeight = budgetWeight
        self.authorityWeight = authorityWeight
        self.timelineWeight = timelineWeight
        self.companySizeWeight = companySizeWeight
        self.estimatedValueWeight = estimatedValueWeight
        self.gradeA = gradeA
        self.gradeB = gradeB
        self.gradeC = gradeC
        self.timelineDays = timelineDays
        self.fullEmployees = fullEmployees
        self.fullValue = fullValue
    }
}

/// Keys that identify a customer account across leads: its domain, else its normalised name.
public enum AccountKey {
    /// `www.Acme.Example.` → `acme.example`.
    public static func normalizedDomain(_ domain: String) -> String {
        if domain.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }),
           !domain.hasPrefix("www."), !domain.hasSuffix(".") {
            return domain  // already normal: lower-case ASCII, no www., no trailing dot
        }
        var d = domain.trimmingCharacters(in: .whitespaces).lowercased()
        while d.hasSuffix(".") { d.removeLast() }
        if d.hasPrefix("www.") { d.removeFirst(4) }
        return d
    }

    /// `Acme Corp., Inc.` → `acme`: lower case, punctuation dropped, legal-form words removed.
    public static func normalizedName(_ name: String) -> String {
        var cleaned = ""
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII, the common case: no Unicode tables needed.
            // Words are runs of letters and digits, lower-cased; legal forms are dropped.
            var out: [UInt8] = []
            out.reserveCapacity(name.utf8.count)
            var word: [UInt8] = []
            func endWord() {
                guard !word.isEmpty else { return }
                if !legalFormBytes.contains(word) {
                    if !out.isEmpty { out.append(0x20) }
                    out.append(contentsOf: word)
                }
                word.removeAll(keepingCapacity: true)
            }
            for b in name.utf8 {
                switch b {
                case 0x41...0x5A: word.append(b + 0x20)
                case 0x61...0x7A, 0x30...0x39: word.append(b)
                default: endWord()
                }
            }
            endWord()
            return String(decoding: out, as: UTF8.self)
        } else {
            for scalar in name.lowercased().unicodeScalars {
                if CharacterSet.alphanumerics.contains(scalar) {
                    cleaned.unicodeScalars.append(scalar)
                } else {
                    cleaned.append(" ")
                }
            }
        }
        let words = cleaned.split(separator: " ").map(String.init).filter { !legalForms.contains($0) }
        return words.joined(separator: " ")
    }

    /// ``legalForms`` as bytes, for the ASCII path.
    static let legalFormBytes: [[UInt8]] = legalForms.map { Array($0.utf8) }

    /// Words of legal form dropped from company names.
    static let legalForms: Set<String> = [
        "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "ltd", "limited", "plc",
        "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "oy", "ab", "as", "spa", "srl", "kg", "pty", "the",
    ]

    /// Why `domain` (already normalised) is not a valid domain name, or `nil` when it is.
    public static func domainProblem(_ domain: String) -> String? {
        if domain.isEmpty { return "it is empty" }
        if let bad = domain.first(where: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) {
            return bad.isWhitespace
                ? "it contains a space" : "it contains \"\(bad)\"; only letters, digits, hyphens and dots are allowed"
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < 2 { return "it has no dot" }
        if labels.contains(where: \.isEmpty) { return "it has an empty label (a leading dot or two dots in a row)" }
        if let label = labels.first(where: { $0.count > 63 }) {
            return "the label \"\(label)\" is longer than 63 characters"
        }
        if let label = labels.first(where: { $0.hasPrefix("-") || $0.hasSuffix("-") }) {
            return "the label \"\(label)\" starts or ends with a hyphen"
        }
        if domain.count > 253 { return "it is longer than 253 characters" }
        return nil
    }

    /// Whether an `accounts` entry names a domain (has a dot, no spaces) rather than a company.
    public static func isDomain(_ entry: String) -> Bool {
        entry.contains(".") && !entry.contains(" ")
    }

    /// The normalised form of an `accounts` entry: `d:acme.example` or `n:acme`.
    public static func key(forAccountEntry entry: String) -> String {
        isDomain(entry) ? "d:" + normalizedDomain(entry) : "n:" + normalizedName(entry)
    }
}
