/// What the metrics endpoint answers, whatever HTTP server carries it: `GET /metrics` (and
/// `HEAD`) the registry's Prometheus text; another method on `/metrics` 405 with `Allow`;
/// any other path 404. A query string is ignored, as Prometheus adds none.
public struct MetricsAnswer: Equatable, Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
}

public enum MetricsRoute {
    public static let path = "/metrics"
    /// Prometheus text exposition format 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The answer to `method` on `target` (a request target: the path and any query);
    /// `scrape` makes the body, and is called only for a `GET` of ``path``.
    public static func answer(method: String, target: String, scrape: () -> [UInt8]) -> MetricsAnswer {
        let pathOnly = target.prefix { $0 != "?" && $0 != "#" }
        guard pathOnly == path else {
            return MetricsAnswer(status: 404, headers: ["Content-Type": "text/plain; charset=utf-8"],
                                 body: Array("not found: the metrics are at GET \(path)\n".utf8))
        }
        switch method {
        case "GET":
            return MetricsAnswer(status: 200, headers: ["Content-Type": contentType], body: scrape())
        case "HEAD":
            return MetricsAnswer(status: 200, headers: ["Content-Type": contentType], body: [])
        default:
            return MetricsAnswer(status: 405, headers: ["Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"],
                                 body: Array("method not allowed: use GET \(path)\n".utf8))
        }
    }
}

extension MetricName {
    /// `exposition` with a `# HELP` line before each `# TYPE` line of a metric in ``help``.
    public static func withHelp(_ exposition: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(exposition.count + 4096)
        let typePrefix = Array("# TYPE ".utf8)
        var lineStart = exposition.startIndex
        while lineStart < exposition.endIndex {
            let lineEnd = exposition[lineStart...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? exposition.endIndex
            let line = exposition[lineStart..<lineEnd]
            if line.starts(with: typePrefix) {
                let nameStart = lineStart + typePrefix.count
                let nameEnd = exposition[nameStart..<lineEnd].firstIndex(of: UInt8(ascii: " ")) ?? lineEnd
                if let text = help[String(decoding: exposition[nameStart..<nameEnd], as: UTF8.self)] {
                    out += Array("# HELP ".utf8) + exposition[nameStart..<nameEnd] + Array(" \(text)\n".utf8)
                }
            }
            out += line
            lineStart = lineEnd
        }
        return out
    }
}
