/// The daemon's configuration, as decoded and validated from YAML: its ``DaemonSettings``
/// (endpoints, state directory, store), which only a restart changes, and its
/// ``RoutingRules`` (partners, routing, qualification, registrations), which a reload may
/// change. ``restartRequired(comparedTo:)`` tells which.
///
/// Each section is also reached by its own name, in the part it belongs to, for reading and
/// writing: `config.partners` is `config.rules.partners`, `config.ingest` is
/// `config.daemon.ingest`.
///
/// Every value here has passed validation: endpoints are well formed, partner ids
/// are unique, weights are positive. Build one with ``ConfigLoader``.
@dynamicMemberLookup
public struct RouterConfig: Sendable, Equatable {
    /// What only a restart can change.
    public var daemon: DaemonSettings
    /// What a reload may change.
    public var rules: RoutingRules

    public init(daemon: DaemonSettings, rules: RoutingRules) {
        self.daemon = daemon
        self.rules = rules
    }

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
        daemon = DaemonSettings()
        daemon.stateDir = stateDir
        daemon.ingest = ingest
        daemon.intake = intake
        daemon.publish = publish
        daemon.replay = replay
        daemon.store = store
        rules = RoutingRules(
            routing: routing, qualification: qualification, partners: partners, registrations: registrations)
    }

    public static let defaultStateDir = "/var/lib/leadrouter"

    /// A section that only a restart changes, such as `config.ingest` or `config.stateDir`.
    @inlinable public subscript<Value>(dynamicMember path: WritableKeyPath<DaemonSettings, Value>) -> Value {
        get { daemon[keyPath: path] }
        set { daemon[keyPath: path] = newValue }
    }

    /// A section that a reload may change, such as `config.partners` or `config.routing`.
    @inlinable public subscript<Value>(dynamicMember path: WritableKeyPath<RoutingRules, Value>) -> Value {
        get { rules[keyPath: path] }
        set { rules[keyPath: path] = newValue }
    }
}

/// The daemon's sockets, state directory and store: the part of the config that only a
/// restart can change (a running daemon keeps its sockets bound and its store open).
/// What a reload may change is in ``RoutingRules``.
public struct DaemonSettings: Sendable, Equatable {
    /// `state_dir`: where the store lives.
    public var stateDir = RouterConfig.defaultStateDir
    public var ingest = IngestConfig()
    public var intake = IntakeConfig()
    public var publish = PublishConfig()
    public var replay = ReplayConfig()
    public var store = StoreConfig()
    /// `control`: partners' actions on their leads.
    public var control = ControlConfig()
    /// `security`: its `mode`, `server_key` and `allow_plaintext_network` (its `clients` are
    /// in ``RoutingRules/clients``, which a reload may change).
    public var security = SecurityConfig()
    /// `metrics`: the Prometheus endpoint.
    public var metrics = MetricsConfig()

    /// The defaults: what a config file that names none of these keys gets.
    public init() {}
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
