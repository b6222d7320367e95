public import CoreMetrics
public import Foundation
import LeadRouting
import Synchronization

/// The daemon's instruments (swift-metrics), every one made at start from the factory it is
/// given, so each series exists from the first scrape, at 0.
///
/// The routing thread never touches them per lead: it counts in plain integers, as it always
/// did, and folds what changed into these once per turn (``MetricsFold``). Counters and
/// histograms are thread-safe (the backend locks), so the committer, syncer and ZAP threads
/// record their own timings and refusals directly, and the HTTP server reads the registry.
///
/// Only `leadrouterd` bootstraps the global metrics system; libraries and tests pass a
/// factory in (``prometheusFactory(_:)`` over a registry of their own).
public final class RouterMetrics: Sendable {
    let received: [InboundChannel: Counter]
    let controlRequests: Counter
    let routed: [ChoiceRule: Counter]
    let duplicates: Counter
    let rejected: [LeadRejection.Code: Counter]
    let storageFailures: Counter
    let published: [EnvelopeKind: Counter]
    let offers: [String: Counter]
    let reloads: (success: Counter, failure: Counter)
    let authFailures: [String: Counter]
    let subscriptionsRefused: Counter
    let routeSeconds: CoreMetrics.Timer
    let storeCommitSeconds: CoreMetrics.Timer
    let storeSyncSeconds: CoreMetrics.Timer
    /// One per ``LoopPauses/Part``, in its order.
    let loopPauseSeconds: [CoreMetrics.Timer]
    let openOffers: Gauge
    let batchMessages: Gauge
    let heldMessages: Gauge
    let batchesAwaitingSync: Gauge
    let storeSizeBytes: Gauge
    let partners: [PartnerCensus.State: Gauge]
    let storageFailing: Gauge
    /// `metrics.per_partner`: one counter per configured partner (more after a reload).
    let perPartner: Bool
    private let partnerLeads: Mutex<[String: Counter]>
    let factory: any MetricsFactory
    /// The store's files (the database, `-wal`, `-shm`), measured at each scrape.
    let storePath: String

    /// The LeadRouter release the binary is, for `leadrouter_build_info`.
    public static let version = "2.0.0"

    /// - Parameters:
    ///   - partnerIDs: the configured partners, whose per-partner series exist from the start
    ///     (with `perPartner` only).
    ///   - storePath: the store's database file, measured at each scrape (`leadrouter_store_size_bytes`).
    ///   - startedAt: when the process started, for `leadrouter_start_time_seconds`.
    public init(factory: any MetricsFactory, perPartner: Bool = false, partnerIDs: [String] = [], storePath: String = "",
                startedAt: Date = Date()) {
        self.factory = factory
        func counter(_ name: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: name, dimensions: dimensions, factory: factory)
        }
        func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> Gauge {
            Gauge(label: name, dimensions: dimensions, factory: factory)
        }
        received = Dictionary(uniqueKeysWithValues: [InboundChannel.ingest, .intake].map {
            ($0, counter(MetricName.leadsReceived, [("channel", $0.rawValue)]))
        })
        controlRequests = counter(MetricName.controlRequests)
        routed = Dictionary(uniqueKeysWithValues: ChoiceRule.all.map { ($0, counter(MetricName.leadsRouted, [("rule", $0.rawValue)])) })
        duplicates = counter(MetricName.leadsDuplicate)
        rejected = Dictionary(uniqueKeysWithValues: LeadRejection.Code.allCases.filter { $0 != .storageUnavailable }.map {
            ($0, counter(MetricName.leadsRejected, [("code", $0.rawValue)]))
        })
        storageFailures = counter(MetricName.storageFailures)
        published = Dictionary(uniqueKeysWithValues: EnvelopeKind.allCases.map {
            ($0, counter(MetricName.envelopesPublished, [("kind", $0.rawValue)]))
        })
        offers = Dictionary(uniqueKeysWithValues: MetricName.offerResults.map { ($0, counter(MetricName.offers, [("result", $0)])) })
        reloads = (counter(MetricName.configReloads, [("result", "success")]), counter(MetricName.configReloads, [("result", "failure")]))
        authFailures = Dictionary(uniqueKeysWithValues: Grants.Endpoint.allCases.map {
            ($0.rawValue, counter(MetricName.authFailures, [("endpoint", $0.rawValue)]))
        })
        subscriptionsRefused = counter(MetricName.subscriptionsRefused)
        routeSeconds = CoreMetrics.Timer(label: MetricName.routeSeconds, factory: factory)
        storeCommitSeconds = CoreMetrics.Timer(label: MetricName.storeCommitSeconds, factory: factory)
        storeSyncSeconds = CoreMetrics.Timer(label: MetricName.storeSyncSeconds, factory: factory)
        loopPauseSeconds = LoopPauses.Part.allCases.map {
            CoreMetrics.Timer(label: MetricName.loopPauseSeconds, dimensions: [("part", $0.label)], factory: factory)
        }
        openOffers = gauge(MetricName.openOffers)
        batchMessages = gauge(MetricName.batchMessages)
        heldMessages = gauge(MetricName.heldMessages)
        batchesAwaitingSync = gauge(MetricName.batchesAwaitingSync)
        storeSizeBytes = gauge(MetricName.storeSizeBytes)
        partners = Dictionary(uniqueKeysWithValues: PartnerCensus.State.allCases.map {
            ($0, gauge(MetricName.partners, [("state", $0.rawValue)]))
        })
        storageFailing = gauge(MetricName.storageFailing)
        gauge(MetricName.buildInfo, [("version", RouterMetrics.version)]).record(1)
        gauge(MetricName.startTimeSeconds).record(startedAt.timeIntervalSince1970)
        self.perPartner = perPartner
        self.storePath = storePath
        partnerLeads = Mutex([:])
        if perPartner { addPartners(partnerIDs) }
    }

    // MARK: Recorded where they happen (not per lead)

    /// A SIGHUP reload was applied (`success`) or refused: a reload's code calls this once
    /// per attempt. See also ``RoutingEngine/recordConfigReload(success:)``, which also
    /// refreshes the partner gauges.
    public func recordConfigReload(success: Bool) {
        (success ? reloads.success : reloads.failure).increment()
    }

    /// A handshake the ZAP handler refused on `endpoint` (a ZAP domain: `ingest`, `intake`, …).
    func recordAuthFailure(endpoint: String) {
        authFailures[endpoint]?.increment()
    }

    /// Makes the per-partner series of partners not seen before (at start, and after a
    /// reload that adds partners). Nothing without ``perPartner``.
    public func addPartners(_ ids: [String]) {
        guard perPartner else { return }
        partnerLeads.withLock { counters in
            for id in ids where counters[id] == nil {
                counters[id] = Counter(label: MetricName.partnerLeads, dimensions: [("partner", id)], factory: factory)
            }
        }
    }

    /// Adds leads routed to partners (offered or assigned), once per turn.
    func addPartnerLeads(_ counts: [String: Int]) {
        guard perPartner, !counts.isEmpty else { return }
        let missing = partnerLeads.withLock { counters in counts.keys.filter { counters[$0] == nil } }
        if !missing.isEmpty { addPartners(missing) }
        partnerLeads.withLock { counters in
            for (id, n) in counts { counters[id]?.increment(by: Int64(n)) }
        }
    }

    // MARK: At each scrape

    /// What is measured when scraped rather than counted: the store's size on disk.
    public func updateBeforeScrape() {
        guard !storePath.isEmpty, storePath != ":memory:" else { return }
        var total: Int64 = 0
        var found = false
        for suffix in ["", "-wal", "-shm"] {
            var info = stat()
            if stat(storePath + suffix, &info) == 0 {
                total += Int64(info.st_size)
                found = true
            }
        }
        if found { storeSizeBytes.record(total) }
    }
}

/// Where an envelope went, by its topic: the `kind` of `leadrouter_envelopes_published_total`.
enum EnvelopeKind: String, CaseIterable, Sendable {
    case partner, vendorSales = "vendor_sales", nurture, rejected, outcomes

    /// By the topic's first byte (topics are `partner/…/`, `vendor-sales/`, `nurture/`,
    /// `rejected/`, `outcomes/`); `nil` for any other.
    init?(topic: String) {
        switch topic.utf8.first {
        case UInt8(ascii: "p"): self = .partner
        case UInt8(ascii: "v"): self = .vendorSales
        case UInt8(ascii: "n"): self = .nurture
        case UInt8(ascii: "r"): self = .rejected
        case UInt8(ascii: "o"): self = .outcomes
        default: return nil
        }
    }

    /// The kind's position in ``allCases``, for counting into a fixed array.
    var index: Int {
        switch self {
        case .partner: 0
        case .vendorSales: 1
        case .nurture: 2
        case .rejected: 3
        case .outcomes: 4
        }
    }
}

extension ChoiceRule {
    /// Every rule, in a fixed order (``index``).
    static let all: [ChoiceRule] = [.registration, .registrationHeld, .account, .affinity, .rotation, .onlyEligible, .belowGrade, .unmatched]

    /// The rule's position in ``all``: counting per lead into a fixed array, not a dictionary.
    var index: Int {
        switch self {
        case .registration: 0
        case .registrationHeld: 1
        case .account: 2
        case .affinity: 3
        case .rotation: 4
        case .onlyEligible: 5
        case .belowGrade: 6
        case .unmatched: 7
        }
    }
}
