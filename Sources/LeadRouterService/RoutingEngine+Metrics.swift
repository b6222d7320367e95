import CoreMetrics
import LeadRouting
import LeadStore

/// What one batch adds to the metrics beyond its ``PipelineCounters``: which rule chose each
/// routed lead, to which partner (with `metrics.per_partner`), and when each lead that got
/// an envelope was taken off its socket, run-length encoded (a batch's leads share the instant
/// its take began; messages held for a log sync keep an earlier one).
struct BatchTally {
    var arrivals: [(at: ContinuousClock.Instant, count: Int)] = []
    var byRule = [Int](repeating: 0, count: ChoiceRule.all.count)
    var partnerLeads: [String: Int] = [:]
    var perPartner = false

    init(perPartner: Bool = false) {
        self.perPartner = perPartner
    }

    /// A lead routed by `decision` (an assignment, or an offer).
    mutating func routed(_ decision: RoutingDecision, takenAt: ContinuousClock.Instant?) {
        byRule[decision.rule.index] += 1
        if perPartner, let partner = decision.partnerID { partnerLeads[partner, default: 0] += 1 }
        arrived(takenAt)
    }

    /// A lead that got an envelope (routed, or rejected) was taken at `takenAt`; `nil` when
    /// metrics are off.
    mutating func arrived(_ takenAt: ContinuousClock.Instant?) {
        guard let takenAt else { return }
        if let last = arrivals.last, last.at == takenAt {
            arrivals[arrivals.count - 1].count += 1
        } else {
            arrivals.append((takenAt, 1))
        }
    }
}

/// The routing thread's side of the metrics: what it counted and has not yet folded into the
/// instruments, and the gauges' last values. ``RoutingEngine/foldMetrics(batchSize:)`` folds
/// once per turn: a few increments whatever the number of leads, never a call per lead
/// (except the route-time histogram, which records each lead's time, a batch's at once).
struct MetricsFold {
    let metrics: RouterMetrics
    /// Leads taken off intake; ingest's are the rest of ``PipelineCounters/received``.
    var intakeReceived = 0
    private var folded = PipelineCounters()
    private var foldedIntake = 0
    private var foldedStorageFailures = 0
    private var foldedRefusals = 0
    /// Released since the last fold: route times, rules, partners, envelope kinds.
    private var routeTimes: [(nanoseconds: Int64, count: Int)] = []
    private var byRule = [Int](repeating: 0, count: ChoiceRule.all.count)
    private var partnerLeads: [String: Int] = [:]
    private var byKind = [Int](repeating: 0, count: EnvelopeKind.allCases.count)
    /// The gauges ``setGauges(_:)`` sets, in its order.
    private let gaugeInstruments: [Gauge]
    /// The gauges' last values (``setGauges(_:)``); -1 before the first.
    private var gauges = SIMD8<Int>(repeating: -1)
    private var nextCensus: ContinuousClock.Instant

    /// How often the partners' states are counted (they change with time, not only with leads).
    static let censusEvery = Duration.seconds(5)

    init(metrics: RouterMetrics, now: ContinuousClock.Instant) {
        self.metrics = metrics
        gaugeInstruments = [metrics.openOffers, metrics.batchMessages, metrics.heldMessages, metrics.batchesAwaitingSync, metrics.storageFailing]
        nextCensus = now
    }

    /// A batch was released at `now`: its leads' route times, rules, partners and envelopes.
    mutating func released(_ batch: CommittedBatch, now: ContinuousClock.Instant) {
        for run in batch.tally.arrivals {
            routeTimes.append(((now - run.at).nanoseconds, run.count))
        }
        for (i, n) in batch.tally.byRule.enumerated() where n > 0 { byRule[i] += n }
        partnerLeads.merge(batch.tally.partnerLeads, uniquingKeysWith: +)
        for envelope in batch.envelopes {
            if let kind = EnvelopeKind(topic: envelope.topic) { byKind[kind.index] += 1 }
        }
    }

    /// Adds what changed since the last fold to the counters and histograms.
    mutating func foldCounts(_ counters: PipelineCounters, storageFailures: Int, refusedSubscriptions: Int) {
        if counters != folded {
            let intake = intakeReceived - foldedIntake
            add(metrics.received[.intake], intake)
            add(metrics.received[.ingest], counters.received - folded.received - intake)
            add(metrics.controlRequests, counters.controlRequests - folded.controlRequests)
            add(metrics.duplicates, counters.duplicates - folded.duplicates)
            for (code, n) in counters.rejected { add(metrics.rejected[code], n - folded.rejected[code, default: 0]) }
            for (name, n) in counters.offerEvents {
                add(metrics.offers[name] ?? Counter(label: MetricName.offers, dimensions: [("result", name)], factory: metrics.factory),
                    n - folded.offerEvents[name, default: 0])
            }
            folded = counters
            foldedIntake = intakeReceived
        }
        add(metrics.storageFailures, storageFailures - foldedStorageFailures)
        foldedStorageFailures = storageFailures
        add(metrics.subscriptionsRefused, refusedSubscriptions - foldedRefusals)
        foldedRefusals = refusedSubscriptions
        foldReleased()
    }

    private mutating func foldReleased() {
        for run in routeTimes {
            for _ in 0..<run.count { metrics.routeSeconds.recordNanoseconds(run.nanoseconds) }
        }
        routeTimes.removeAll(keepingCapacity: true)
        for (i, n) in byRule.enumerated() where n > 0 {
            add(metrics.routed[ChoiceRule.all[i]], n)
            byRule[i] = 0
        }
        for (i, n) in byKind.enumerated() where n > 0 {
            add(metrics.published[EnvelopeKind.allCases[i]], n)
            byKind[i] = 0
        }
        if !partnerLeads.isEmpty {
            metrics.addPartnerLeads(partnerLeads)
            partnerLeads.removeAll(keepingCapacity: true)
        }
    }

    private func add(_ counter: Counter?, _ n: Int) {
        if n > 0 { counter?.increment(by: Int64(n)) }
    }

    /// Sets the gauges whose value changed: open offers, the last batch's size, messages
    /// held for a sync, committed batches awaiting one, and whether the store is failing (the
    /// first five lanes; once a turn, so no array is made for them).
    mutating func setGauges(_ values: SIMD8<Int>) {
        guard values != gauges else { return }
        for (i, gauge) in gaugeInstruments.enumerated() where gauges[i] != values[i] {
            gauge.record(values[i])
        }
        gauges = values
    }

    /// Whether the partners are due to be counted again.
    func isCensusDue(now: ContinuousClock.Instant) -> Bool { now >= nextCensus }

    /// Counts the partners by state when due (every ``censusEvery``), or now when `force`.
    mutating func takeCensus(of router: Router, now: ContinuousClock.Instant, wallMilliseconds: Int64, force: Bool = false) {
        guard force || now >= nextCensus else { return }
        nextCensus = now + MetricsFold.censusEvery
        let census = router.census(at: wallMilliseconds)
        for (state, gauge) in metrics.partners { gauge.record(census[state]) }
    }
}

extension RoutingEngine {
    /// Folds this turn's counts into the instruments and refreshes the gauges: called once at
    /// the end of every turn (at least once a second), so a scrape is at most a turn behind.
    func foldMetrics(batchSize: Int) {
        guard let metrics else { return }
        // In place: taking the fold out and putting it back copied its arrays every turn.
        metricsFold?.foldCounts(counters, storageFailures: storageFailures, refusedSubscriptions: sockets.feed.refusedSubscriptions)
        let gauges = SIMD8<Int>(offers.count, batchSize, held.count, durability.heldBatches, storageFailing ? 1 : 0, 0, 0, 0)
        metricsFold?.setGauges(gauges)
        let now = clock.now
        if metricsFold?.isCensusDue(now: now) == true {
            let router = pipeline.router, wall = clock.wallMilliseconds
            metricsFold?.takeCensus(of: router, now: now, wallMilliseconds: wall)
        }
        let loopPause = metrics.loopPauseSeconds
        pauses.takeUnfolded { part, nanoseconds in loopPause[part.rawValue].recordNanoseconds(nanoseconds) }
    }

    /// For SIGHUP reload, once per attempt: counts it (`leadrouter_config_reloads_total`)
    /// and, when the new config was applied, makes the new partners' series and counts the
    /// partners by state again at once.
    func recordConfigReload(success: Bool) {
        guard var fold = metricsFold else { return }
        fold.metrics.recordConfigReload(success: success)
        guard success else { return }
        metricsFold = nil
        defer { metricsFold = fold }
        fold.metrics.addPartners(pipeline.router.partnerIDs)
        fold.takeCensus(of: pipeline.router, now: clock.now, wallMilliseconds: clock.wallMilliseconds, force: true)
    }
}

extension RoutingStore {
    /// ``commit(_:published:)``, timed into `timer` when metrics are on (on whichever thread commits).
    func commit(_ batch: StoreBatch, published: [String: Int], timer: CoreMetrics.Timer?) throws(StoreError) {
        guard let timer else { return try commit(batch, published: published) }
        let started = ContinuousClock.now
        defer { timer.recordNanoseconds((ContinuousClock.now - started).nanoseconds) }
        try commit(batch, published: published)
    }

    /// ``syncLog()``, timed into `timer` when metrics are on.
    func syncLog(timer: CoreMetrics.Timer?) throws(StoreError) {
        guard let timer else { return try syncLog() }
        let started = ContinuousClock.now
        defer { timer.recordNanoseconds((ContinuousClock.now - started).nanoseconds) }
        try syncLog()
    }
}

extension Duration {
    /// Whole nanoseconds (saturating far beyond any time measured here).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
