import Foundation
import Testing

/// `Config/monitoring/`: the alerting rules pass promtool and fire on synthetic series; the
/// dashboard is an importable Grafana model whose queries parse; and every metric either
/// names exists in a real scrape of the daemon, so neither can drift from the code.
@Suite("Monitoring: dashboard and alerting rules", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct MonitoringTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Config/monitoring").path
    static let rules = directory + "/leadrouter-alerts.yml"
    static let dashboard = directory + "/leadrouter-dashboard.json"

    static func dashboardModel() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dashboard))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every query of the dashboard's panels.
    static func dashboardQueries() throws -> [String] {
        let panels = try dashboardModel()["panels"] as? [[String: Any]] ?? []
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    /// Every `leadrouter_…` name in `text`.
    static func metricNames(in text: String) -> Set<String> {
        let regex = /leadrouter_[a-z0-9_]+/
        return Set(text.matches(of: regex).map { String($0.output) })
    }

    @Test("the scrape job in docs/operations.md is the job the alerting rules select")
    func scrapeJobMatchesRules() throws {
        let doc = try String(contentsOfFile: Self.directory + "/../../docs/operations.md", encoding: .utf8)
        let rules = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let documented = try #require(doc.firstMatch(of: /job_name: ([a-z0-9_-]+)/)?.output.1)
        let selected = try #require(rules.firstMatch(of: /up\{job="([a-z0-9_-]+)"\}/)?.output.1)
        #expect(documented == selected)
    }

    @Test("promtool check rules accepts the alerting rules, and its unit tests fire the alerts they expect")
    func rulesCheckAndFire() throws {
        let check = try PrometheusTools.promtool(["check", "rules", Self.rules])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 8 rules found"), "\(check.stdout)")
        let unit = try PrometheusTools.promtool(["test", "rules", "leadrouter-alerts.test.yml"], in: Self.directory)
        #expect(unit.status == 0, "\(unit.stdout)\(unit.stderr)")
        // The unit tests expect each alert to fire: the rules must name them all.
        let tests = try String(contentsOfFile: Self.directory + "/leadrouter-alerts.test.yml", encoding: .utf8)
        let rules = try String(contentsOfFile: Self.rules, encoding: .utf8)
        for alert in ["LeadRouterDown", "LeadRouterStoreFailing", "LeadRouterRouteLatencyHigh", "LeadRouterRejectionRatioHigh",
                      "LeadRouterOffersExpiringUnaccepted", "LeadRouterPartnersAtCapacity", "LeadRouterConfigReloadFailed"] {
            #expect(rules.contains("alert: \(alert)"), "\(alert)")
            #expect(tests.contains("alertname: \(alert)\n        exp_alerts:\n          - exp_labels"), "no test fires \(alert)")
        }
    }

    @Test("promtool test rules fails when an alert's condition is changed: the unit tests can fail")
    func ruleTestsCanFail() throws {
        let dir = try TemporaryDirectory()
        let rules = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let broken = rules.replacingOccurrences(of: "expr: leadrouter_storage_failing == 1", with: "expr: leadrouter_storage_failing == 2")
        #expect(broken != rules)
        try broken.write(toFile: dir.file("leadrouter-alerts.yml"), atomically: true, encoding: .utf8)
        let tests = try String(contentsOfFile: Self.directory + "/leadrouter-alerts.test.yml", encoding: .utf8)
        try tests.write(toFile: dir.file("leadrouter-alerts.test.yml"), atomically: true, encoding: .utf8)
        let unit = try PrometheusTools.promtool(["test", "rules", "leadrouter-alerts.test.yml"], in: dir.path)
        #expect(unit.status != 0)
        #expect((unit.stdout + unit.stderr).contains("alertname: LeadRouterStoreFailing"), "\(unit.stdout)\(unit.stderr)")
    }

    @Test("the dashboard is a Grafana model with a templated Prometheus data source and the panels operators need")
    func dashboardIsImportable() throws {
        let model = try Self.dashboardModel()
        #expect(model["title"] as? String == "LeadRouter")
        #expect(model["uid"] as? String == "leadrouter-overview")
        #expect((model["schemaVersion"] as? Int ?? 0) >= 36)
        let variables = (model["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        let source = try #require(variables.first { $0["name"] as? String == "DS_PROMETHEUS" })
        #expect(source["type"] as? String == "datasource")
        #expect(source["query"] as? String == "prometheus")
        let panels = model["panels"] as? [[String: Any]] ?? []
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count && Set(ids).count == ids.count, "every panel has its own id")
        for panel in panels where panel["type"] as? String != "row" {
            let datasource = panel["datasource"] as? [String: Any]
            #expect(datasource?["uid"] as? String == "${DS_PROMETHEUS}", "\(panel["title"] ?? "")")
            #expect(!(panel["targets"] as? [[String: Any]] ?? []).isEmpty, "\(panel["title"] ?? "")")
            #expect(panel["gridPos"] is [String: Any])
        }
        let queries = try Self.dashboardQueries().joined(separator: "\n")
        for needed in ["leadrouter_leads_routed_total", "leadrouter_envelopes_published_total", "leadrouter_leads_rejected_total",
                       "histogram_quantile(0.99, sum by (le) (rate(leadrouter_route_seconds_bucket", "leadrouter_storage_failing",
                       "result=\"expired\"", "state=\"at_capacity\""] {
            #expect(queries.contains(needed), "no panel queries \(needed)")
        }
    }

    @Test("every dashboard query is valid PromQL (promtool parses each as a recording rule)")
    func dashboardQueriesParse() throws {
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 20)
        var yaml = "groups:\n  - name: dashboard\n    rules:\n"
        for (i, query) in queries.enumerated() {
            // Grafana's variables, as Grafana would fill them in.
            let filled = query.replacingOccurrences(of: "$__rate_interval", with: "1m").replacingOccurrences(of: "$instance", with: ".*")
            let quoted = String(data: try JSONSerialization.data(withJSONObject: filled, options: [.fragmentsAllowed, .withoutEscapingSlashes]), encoding: .utf8) ?? ""
            yaml += "      - record: dashboard:query\(i)\n        expr: \(quoted)\n"
        }
        let dir = try TemporaryDirectory()
        try yaml.write(toFile: dir.file("dashboard-rules.yml"), atomically: true, encoding: .utf8)
        let check = try PrometheusTools.promtool(["check", "rules", dir.file("dashboard-rules.yml")])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test("every metric the dashboard and the rules name exists in a real scrape of the daemon")
    func namesExistInARealScrape() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: metricsYAML(perPartner: true))
        try daemon.waitUntilReady()
        let (_, samples) = try scrape(daemon)
        let scraped = Set(samples.map(\.name))
        let dashboardNames = Self.metricNames(in: try Self.dashboardQueries().joined(separator: "\n"))
        let ruleNames = Self.metricNames(in: try String(contentsOfFile: Self.rules, encoding: .utf8))
        #expect(dashboardNames.count >= 15, "\(dashboardNames.sorted())")
        #expect(ruleNames.count >= 7, "\(ruleNames.sorted())")
        #expect(dashboardNames.subtracting(scraped).isEmpty, "the dashboard names metrics the daemon lacks: \(dashboardNames.subtracting(scraped).sorted())")
        #expect(ruleNames.subtracting(scraped).isEmpty, "the rules name metrics the daemon lacks: \(ruleNames.subtracting(scraped).sorted())")
        // Including the contract's own names.
        for name in ["leadrouter_leads_received_total", "leadrouter_leads_routed_total", "leadrouter_leads_rejected_total",
                     "leadrouter_envelopes_published_total", "leadrouter_offers_total", "leadrouter_route_seconds_bucket",
                     "leadrouter_store_commit_seconds_bucket", "leadrouter_config_reloads_total", "leadrouter_auth_failures_total"] {
            #expect(scraped.contains(name), "\(name)")
        }
        #expect(daemon.terminate() == 0)
    }
}
