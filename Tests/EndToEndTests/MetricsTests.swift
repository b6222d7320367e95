import Foundation
import LeadRouterClient
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The metrics endpoint of a real daemon, scraped over HTTP and read by Prometheus's own
/// parsers (promtool, prometheus_client).
@Suite("Metrics end to end", .serialized, .timeLimit(.minutes(3)), .daemonLogsOnFailure)
struct MetricsTests {
    @Test("a scrape after publishing counts what was routed, passes promtool, and has no per-partner series by default")
    func scrapeCountsWhatWasRouted() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: metricsYAML())
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        let routed = 20
        for i in 0..<routed {
            #expect(try intake.reply(lead("m-\(i)", country: "US", region: "CO"))["status"] as? String == "accepted")
        }
        for i in 0..<2 {
            #expect(try intake.reply(#"{"lead_id": "no-country-\#(i)", "company": {"name": "X"}}"#)["status"] as? String == "rejected")
        }
        let received = Double(routed + 2)
        // Received counts when a lead is taken; routed and published when its batch is released
        // (after the sync): wait for both, the routing thread folds them once per turn.
        let (text, samples) = try scrape(daemon) {
            $0.value("leadrouter_leads_received_total", ["channel": "intake"]) == received
                && $0.total("leadrouter_leads_routed_total") == Double(routed)
                && $0.value("leadrouter_envelopes_published_total", ["kind": "rejected"]) == 2
        }

        let lint = try PrometheusTools.promtool(["check", "metrics"], input: text)
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout) \(lint.stderr)")
        #expect(samples.value("leadrouter_leads_received_total", ["channel": "intake"]) == received)
        #expect(samples.value("leadrouter_leads_received_total", ["channel": "ingest"]) == 0)
        #expect(samples.value("leadrouter_leads_routed_total", ["rule": "only_eligible"]) == Double(routed))
        #expect(samples.total("leadrouter_leads_routed_total") == Double(routed))
        #expect(samples.value("leadrouter_leads_rejected_total", ["code": "missing_field"]) == 2)
        #expect(samples.value("leadrouter_envelopes_published_total", ["kind": "partner"]) == Double(routed))
        #expect(samples.value("leadrouter_envelopes_published_total", ["kind": "rejected"]) == 2)
        #expect(samples.value("leadrouter_route_seconds_count") ?? 0 >= received)
        #expect(samples.value("leadrouter_route_seconds_bucket", ["le": "+Inf"]) == samples.value("leadrouter_route_seconds_count"))
        #expect(samples.value("leadrouter_store_commit_seconds_count") ?? 0 >= 1)
        #expect(samples.value("leadrouter_store_sync_seconds_count") ?? 0 >= 1, "durability: full syncs the log")
        #expect(samples.value("leadrouter_partners", ["state": "active"]) == 3)
        #expect(samples.value("leadrouter_partners", ["state": "inactive"]) == 1)
        #expect(samples.value("leadrouter_storage_failing") == 0)
        #expect(samples.value("leadrouter_store_size_bytes") ?? 0 > 0)
        #expect(samples.value("leadrouter_build_info")?.isEqual(to: 1) == true)
        #expect(samples.value("leadrouter_start_time_seconds") ?? 0 > 1_700_000_000)
        #expect(!samples.contains { $0.name.hasPrefix("leadrouter_partner_leads") }, "per-partner series are off by default")
        #expect(samples.filter { $0.family.hasPrefix("leadrouter_") }.allSatisfy { !$0.help.isEmpty }, "every metric has help")
        #expect(daemon.terminate() == 0)
    }

    @Test("metrics.per_partner: true adds one series per partner, counting its leads")
    func perPartnerSeries() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: metricsYAML(perPartner: true))
        try daemon.waitUntilReady()
        let intake = try TestRequester(endpoint: daemon.intake)
        for i in 0..<3 { #expect(try intake.reply(lead("p-\(i)", country: "US", region: "CO"))["partner_id"] as? String == "acme") }
        #expect(try intake.reply(lead("p-de", country: "DE"))["partner_id"] as? String == "globex")
        let (_, samples) = try scrape(daemon) { $0.value("leadrouter_partner_leads_total", ["partner": "globex"]) == 1 }
        #expect(samples.value("leadrouter_partner_leads_total", ["partner": "acme"]) == 3)
        #expect(samples.value("leadrouter_partner_leads_total", ["partner": "globex"]) == 1)
        #expect(samples.value("leadrouter_partner_leads_total", ["partner": "acme-east"]) == 0)
        #expect(samples.value("leadrouter_partner_leads_total", ["partner": "sleepy"]) == 0)
        #expect(daemon.terminate() == 0)
    }

    @Test("GET /metrics only: other paths 404, other methods 405 with Allow; the address is in endpoints.json and the ready line")
    func httpRoutesAndEndpoints() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: metricsYAML())
        try daemon.waitUntilReady()
        #expect(daemon.metrics.hasPrefix("127.0.0.1:") && !daemon.metrics.hasSuffix(":0"), "\(daemon.metrics)")
        #expect(daemon.log.contains("metrics=\(daemon.metrics)"))
        let get = try HTTPProbe.request(daemon.metrics)
        #expect(get.status == 200)
        #expect(get.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(try HTTPProbe.request(daemon.metrics, target: "/metrics?name[]=up").status == 200)
        #expect(try HTTPProbe.request(daemon.metrics, method: "HEAD").status == 200)
        for target in ["/", "/metrics/", "/metricsx", "/health"] {
            #expect(try HTTPProbe.request(daemon.metrics, target: target).status == 404, "\(target)")
        }
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let answer = try HTTPProbe.request(daemon.metrics, method: method)
            #expect(answer.status == 405, "\(method)")
            #expect(answer.headers["allow"] == "GET, HEAD", "\(method)")
        }
        #expect(daemon.terminate() == 0)
    }

    @Test("without metrics.bind there is no metrics endpoint, and endpoints.json says null")
    func offByDefault() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML)
        try daemon.waitUntilReady()
        #expect(daemon.metrics.isEmpty)
        let json = try String(contentsOfFile: daemon.stateDir + "/endpoints.json", encoding: .utf8)
        #expect(json.contains("\"metrics\":null"), "\(json)")
        #expect(daemon.log.contains("metrics=-"))
        #expect(daemon.terminate() == 0)
    }

    @Test("bad requests, huge headers, floods and idle connections never stop the daemon: it routes and answers scrapes after")
    func badInputNeverStopsTheDaemon() throws {
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: metricsYAML())
        try daemon.waitUntilReady()
        let address = daemon.metrics
        // Not HTTP at all, and a request line without a version: answered 400 or closed.
        for garbage in ["\u{0}\u{1}\u{2} not http\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n"] {
            let probe = try HTTPProbe(address)
            probe.send(garbage)
            let answer = try? HTTPAnswer(probe.readAll())
            #expect(answer == nil || answer!.status >= 400, "\(garbage.debugDescription) -> \(answer?.status ?? 0)")
        }
        // One header far past the limit: refused (431 or 400) or closed, never served.
        let huge = try HTTPProbe(address)
        huge.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: \(String(repeating: "a", count: 1 << 20))\r\n\r\n")
        let refused = try? HTTPAnswer(huge.readAll())
        #expect(refused == nil || refused!.status >= 400, "a 1 MiB header was answered \(refused?.status ?? 0)")
        // A header that never ends, as fast as loopback goes, for 2 seconds.
        var flood: HTTPProbe? = try HTTPProbe(address, timeout: 2)
        flood?.send("GET /metrics HTTP/1.1\r\nX-Flood: ")
        let chunk = [UInt8](repeating: UInt8(ascii: "b"), count: 1 << 16)
        let floodEnd = Date().addingTimeInterval(2)
        while Date() < floodEnd && flood?.send(chunk) == true {}
        // More connections than the server serves at once, each stuck halfway through its headers.
        var stuck = try (0..<48).map { _ in try HTTPProbe(address) }
        for probe in stuck { probe.send("GET /metrics HTTP/1.1\r\nX-Slow: ") }
        // At most 32 are served at once: a whole request on one more waits in the listen backlog.
        let waiting = try HTTPProbe(address, timeout: 1)
        waiting.send("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(waiting.readAll().isEmpty, "a connection past the cap was served")

        // Routing never noticed.
        let intake = try TestRequester(endpoint: daemon.intake)
        #expect(try intake.reply(lead("after-abuse", country: "US", region: "CO"))["status"] as? String == "accepted")
        // Once the stuck connections go, scrapes are served again and count that lead.
        stuck.removeAll()
        flood = nil
        let (_, samples) = try scrape(daemon) { $0.value("leadrouter_leads_received_total", ["channel": "intake"]) == 1 }
        #expect(samples.value("leadrouter_leads_received_total", ["channel": "intake"]) == 1)
        #expect(daemon.process.isRunning)
        #expect(daemon.terminate() == 0)
    }

    @Test("a metrics port already in use stops the start with exit 1, naming metrics.bind")
    func portInUseFailsTheStart() throws {
        let holder = try ListeningSocket()
        let daemon = try Daemon(partnersYAML: partnersYAML, extraYAML: "metrics:\n  bind: \"127.0.0.1:\(holder.port)\"\n")
        #expect(daemon.waitForExit(timeout: 60) == 1)
        #expect(daemon.log.contains("cannot start: cannot bind metrics.bind 127.0.0.1:\(holder.port)"), "\(daemon.log.suffix(2000))")
    }

    @Test("--check validates metrics.bind with its key and line, and names the endpoint in its summary")
    func checkNamesMetrics() throws {
        let dir = try TemporaryDirectory()
        let good = dir.file("good.yaml"), bad = dir.file("bad.yaml")
        try (partnersYAML + "\nmetrics:\n  bind: \"127.0.0.1:9464\"\n  per_partner: true\n").write(toFile: good, atomically: true, encoding: .utf8)
        try "metrics:\n  bind: \"9464\"\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let valid = try run(Binaries.path("leadrouterd"), ["--config", good, "--check"])
        #expect(valid.status == 0)
        #expect(valid.stdout.contains("; metrics 127.0.0.1:9464, per partner"), "\(valid.stdout)")
        let invalid = try run(Binaries.path("leadrouterd"), ["--config", bad, "--check"])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("\(bad): metrics.bind (line 2): must be HOST:PORT"), "\(invalid.stderr)")
    }
}

/// A TCP socket listening on a free loopback port, held until released.
final class ListeningSocket {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sin) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw HarnessError("cannot listen on a free port: errno \(errno)")
        }
        self.fd = fd
        port = UInt16(bigEndian: sin.sin_port)
    }

    deinit { close(fd) }
}
