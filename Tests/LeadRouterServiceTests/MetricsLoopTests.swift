import Foundation
import LeadRouterService
import LeadRouterTesting
import LeadRouting
import LeadStore
import Prometheus
import Testing
import ZeroMQ

/// The metrics the routing loop folds into a registry, read back from its Prometheus text:
/// what was received, routed, rejected and published, the timings, and the gauges.
@Suite("Metrics from the routing loop in process", .timeLimit(.minutes(2)))
struct MetricsLoopTests {
    /// A loop with metrics over a registry of its own (nothing global is bootstrapped).
    static func started(perPartner: Bool = false, store: any RoutingStore = MemoryRoutingStore(),
                        pipelineBatch: Int? = nil) throws -> (LoopHarness, PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        let metrics = RouterMetrics(factory: RouterMetrics.prometheusFactory(registry), perPartner: perPartner,
                                    partnerIDs: ["acme", "globex"])
        let harness = try LoopHarness(store: store, pipelineBatch: pipelineBatch, metrics: metrics)
        try harness.start()
        return (harness, registry)
    }

    @Test("counts match what was received, routed, rejected and published", arguments: [nil, 1] as [Int?])
    func countsMatchWhatWasRouted(pipelineBatch: Int?) throws {
        let (harness, registry) = try Self.started(pipelineBatch: pipelineBatch)
        let intake = try harness.intakeClient()
        for id in ["a1", "a2", "a3"] { #expect(try intake.ask(lead(id))["status"] as? String == "accepted") }
        #expect(try intake.ask(lead("g1", country: "DE", region: nil))["partner_id"] as? String == "globex")
        #expect(try intake.ask(lead("fr1", country: "FR", region: nil))["status"] as? String == "accepted")
        #expect(try intake.ask(#"{"lead_id": "bad-1", "company": {"name": "No Country"}}"#)["status"] as? String == "rejected")
        #expect(try intake.ask(lead("a1"))["status"] as? String == "duplicate")
        let source = try harness.source()
        try source.send([Array("lead".utf8), Array(lead("i1").utf8)])
        try source.send([Array("lead".utf8), Array("{not json".utf8)])

        let expected: [String: Double] = [
            #"leadrouter_leads_received_total{channel="intake"}"#: 7,
            #"leadrouter_leads_received_total{channel="ingest"}"#: 2,
            #"leadrouter_leads_routed_total{rule="only_eligible"}"#: 5,
            #"leadrouter_leads_routed_total{rule="unmatched"}"#: 1,
            #"leadrouter_leads_routed_total{rule="rotation"}"#: 0,
            #"leadrouter_leads_rejected_total{code="missing_field"}"#: 1,
            #"leadrouter_leads_rejected_total{code="invalid_json"}"#: 1,
            #"leadrouter_leads_rejected_total{code="too_large"}"#: 0,
            "leadrouter_leads_duplicate_total": 1,
            // acme: a1 a2 a3 i1; globex (co_sell): g1, and its copy on vendor-sales; fr1 direct.
            #"leadrouter_envelopes_published_total{kind="partner"}"#: 5,
            #"leadrouter_envelopes_published_total{kind="vendor_sales"}"#: 2,
            #"leadrouter_envelopes_published_total{kind="rejected"}"#: 2,
            #"leadrouter_envelopes_published_total{kind="nurture"}"#: 0,
            // Every lead that got an envelope: six routed, two rejected.
            "leadrouter_route_seconds_count": 8,
            #"leadrouter_partners{state="active"}"#: 2,
            #"leadrouter_partners{state="at_capacity"}"#: 0,
            "leadrouter_storage_failing": 0,
        ]
        let settled = eventually { Exposition(registry).matches(expected) }
        let scrape = Exposition(registry)
        #expect(settled, "\(scrape.mismatches(expected))")
        #expect(scrape["leadrouter_store_commit_seconds_count"] ?? 0 >= 1)
        #expect(scrape["leadrouter_store_sync_seconds_count"] ?? 0 >= 1)
        // The routing thread's steps: each batch routed and each published is one pause of
        // its part (where it commits depends on pipelineBatch); every part's series exists.
        for part in ["route", "publish"] {
            #expect(scrape[#"leadrouter_loop_pause_seconds_count{part="\#(part)"}"#] ?? 0 >= 1, "\(part)")
        }
        for part in ["commit", "wait_commit", "wait_sync", "checkpoint", "timers"] {
            #expect(scrape[#"leadrouter_loop_pause_seconds_count{part="\#(part)"}"#] != nil, "\(part)")
        }
        #expect(scrape[#"leadrouter_build_info{version="\#(RouterMetrics.version)"}"#] == 1)
        #expect(scrape.names.allSatisfy { !$0.hasPrefix("leadrouter_partner_leads") }, "per-partner series are off by default")
        try #require(harness.stop()).get()
    }

    @Test func perPartnerSeriesCountEachPartnersLeads() throws {
        let (harness, registry) = try Self.started(perPartner: true)
        let intake = try harness.intakeClient()
        for id in ["p1", "p2"] { #expect(try intake.ask(lead(id))["partner_id"] as? String == "acme") }
        let expected: [String: Double] = [
            #"leadrouter_partner_leads_total{partner="acme"}"#: 2,
            #"leadrouter_partner_leads_total{partner="globex"}"#: 0,
        ]
        #expect(eventually { Exposition(registry).matches(expected) }, "\(Exposition(registry).mismatches(expected))")
        try #require(harness.stop()).get()
    }

    @Test("a failing store shows in storage_failing and storage_failures, and clears once commits go through")
    func storageFailingGauge() throws {
        let store = FaultInjectingStore(MemoryRoutingStore())
        let (harness, registry) = try Self.started(store: store)
        let intake = try harness.intakeClient()
        store.failCommits(1)
        #expect((try intake.ask(lead("f1"))["error"] as? [String: Any])?["code"] as? String == "storage_unavailable")
        #expect(eventually { Exposition(registry)["leadrouter_storage_failing"] == 1 })
        #expect(Exposition(registry)["leadrouter_storage_failures_total"] == 1)
        #expect(try intake.ask(lead("f1"))["status"] as? String == "accepted")
        #expect(eventually { Exposition(registry)["leadrouter_storage_failing"] == 0 })
        try #require(harness.stop()).get()
    }

    @Test func configReloadsAreCountedBySuccessAndFailure() {
        let registry = PrometheusCollectorRegistry()
        let metrics = RouterMetrics(factory: RouterMetrics.prometheusFactory(registry))
        metrics.recordConfigReload(success: true)
        metrics.recordConfigReload(success: false)
        metrics.recordConfigReload(success: false)
        let scrape = Exposition(registry)
        #expect(scrape[#"leadrouter_config_reloads_total{result="success"}"#] == 1)
        #expect(scrape[#"leadrouter_config_reloads_total{result="failure"}"#] == 2)
    }

    @Test func theStoreSizeIsMeasuredAtEachScrape() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/leadrouter.sqlite"
        try Data(count: 4096).write(to: URL(fileURLWithPath: path))
        try Data(count: 1000).write(to: URL(fileURLWithPath: path + "-wal"))
        let registry = PrometheusCollectorRegistry()
        let metrics = RouterMetrics(factory: RouterMetrics.prometheusFactory(registry), storePath: path)
        metrics.updateBeforeScrape()
        #expect(Exposition(registry)["leadrouter_store_size_bytes"] == 5096)
    }
}

/// A registry's Prometheus text, by series: `name{label="value",…}` (labels sorted) to value.
struct Exposition {
    let text: String
    private(set) var series: [String: Double] = [:]

    init(_ registry: PrometheusCollectorRegistry) {
        self.init(text: registry.emitToString())
    }

    init(text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[Exposition.key(line[..<space])] = value
        }
    }

    /// `name{b="2",a="1"}` as `name{a="1",b="2"}`.
    static func key(_ series: Substring) -> String {
        guard let brace = series.firstIndex(of: "{") else { return String(series) }
        let labels = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
            .split(separator: ",").map(String.init).sorted()
        return "\(series[..<brace]){\(labels.joined(separator: ","))}"
    }

    subscript(series: String) -> Double? { self.series[Exposition.key(Substring(series))] }

    /// Every metric name, without labels.
    var names: Set<String> { Set(series.keys.map { String($0.prefix { $0 != "{" }) }) }

    func matches(_ expected: [String: Double]) -> Bool { mismatches(expected).isEmpty }

    /// The expected series whose value differs, with the value found.
    func mismatches(_ expected: [String: Double]) -> [String: Double?] {
        var found: [String: Double?] = [:]
        for (key, value) in expected where self[key] != value { found[key] = self[key] }
        return found
    }
}

@Suite("The metrics endpoint's answers")
struct MetricsRouteTests {
    @Test func getMetricsServesTheScrape() {
        let answer = MetricsRoute.answer(method: "GET", target: "/metrics?debug=1") { Array("x 1\n".utf8) }
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(answer.body == Array("x 1\n".utf8))
    }

    @Test("other paths are 404 and other methods 405, without scraping", arguments: [
        ("GET", "/", 404), ("GET", "/metrics/", 404), ("GET", "/Metrics", 404), ("POST", "/other", 404),
        ("POST", "/metrics", 405), ("PUT", "/metrics", 405), ("DELETE", "/metrics", 405), ("HEAD", "/metrics", 200),
    ])
    func otherRequests(method: String, target: String, status: Int) {
        var scraped = false
        let answer = MetricsRoute.answer(method: method, target: target) {
            scraped = true
            return []
        }
        #expect(answer.status == status)
        #expect(!scraped)
        if status == 405 { #expect(answer.headers["Allow"] == "GET, HEAD") }
    }

    @Test func helpLinesPrecedeTheTypeLinesOfKnownMetrics() {
        let text = "# TYPE leadrouter_storage_failing gauge\nleadrouter_storage_failing 0.0\n# TYPE other gauge\nother 1\n"
        let annotated = String(decoding: MetricName.withHelp(Array(text.utf8)), as: UTF8.self)
        #expect(annotated == "# HELP leadrouter_storage_failing 1 while the store refuses writes, else 0.\n" + text)
    }
}
