import Foundation
import LeadRouterClient
import Testing

/// Prometheus's own tools, which the metrics tests read scrapes and rules with: `promtool`
/// (Debian's prometheus package) and the parser of Python's prometheus_client. Both are
/// installed by `scripts/deps --test`; a test that needs one fails, saying so, without it.
enum PrometheusTools {
    static var promtoolInstalled: Bool { (try? run("/usr/bin/env", ["promtool", "--version"], timeout: 30).status) == 0 }

    /// `promtool ARGUMENTS`, from `directory` when given (rule files name each other relative to it).
    static func promtool(_ arguments: [String], input: String? = nil, in directory: String? = nil) throws -> RunResult {
        guard promtoolInstalled else { throw HarnessError("promtool is missing: run scripts/deps --test (Debian's prometheus package)") }
        let command = directory.map { ["-C", $0] } ?? []
        return try run("/usr/bin/env", command + ["promtool"] + arguments, input: input, timeout: 60)
    }

    /// Every sample of `exposition` as prometheus_client's parser reads it.
    static func parse(_ exposition: String) throws -> [Sample] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    out.append({"family": family.name, "type": family.type, "help": family.documentation,
                                "name": sample.name, "labels": sample.labels, "value": sample.value})
            print(json.dumps(out))
            """
        let result = try run("/usr/bin/env", ["python3", "-c", script], input: exposition, timeout: 60)
        guard result.status == 0 else {
            throw HarnessError("prometheus_client could not parse the scrape (pip install prometheus_client, or scripts/deps --test): \(result.stderr)")
        }
        guard let list = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw HarnessError("unexpected parser output: \(result.stdout.prefix(200))")
        }
        return list.map { item in
            Sample(family: item["family"] as? String ?? "", type: item["type"] as? String ?? "", help: item["help"] as? String ?? "",
                   name: item["name"] as? String ?? "", labels: item["labels"] as? [String: String] ?? [:],
                   value: item["value"] as? Double ?? .nan)
        }
    }
}

/// One sample of a scrape, as Prometheus's parser read it.
struct Sample {
    var family: String
    var type: String
    var help: String
    var name: String
    var labels: [String: String]
    var value: Double
}

extension [Sample] {
    /// The value of the sample `name` whose labels include `labels`; `nil` when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }

    /// The sum of every sample `name` (across its label values).
    func total(_ name: String) -> Double { filter { $0.name == name }.reduce(0) { $0 + $1.value } }
}

/// Scrapes until `condition` holds for the parsed samples, for at most `timeout` seconds;
/// returns the last scrape either way (the routing thread folds its counts once per turn).
func scrape(_ daemon: Daemon, timeout: TimeInterval = 15, until condition: ([Sample]) -> Bool = { _ in true }) throws -> (text: String, samples: [Sample]) {
    var last: (text: String, samples: [Sample]) = ("", [])
    try poll(timeout: timeout, every: 0.1) {
        let text = try HTTPProbe.scrape(daemon.metrics)
        last = (text, try PrometheusTools.parse(text))
        return condition(last.samples)
    }
    return last
}

/// A config section binding the metrics endpoint on a free loopback port.
func metricsYAML(perPartner: Bool = false) -> String {
    "metrics:\n  bind: \"127.0.0.1:0\"\n  per_partner: \(perPartner)\n"
}
