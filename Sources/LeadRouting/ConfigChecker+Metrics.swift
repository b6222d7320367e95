internal import Yams

/// Checking `metrics`: the Prometheus endpoint's address and whether it counts per partner.
extension Checker {
    /// `metrics`: absent, null, or `bind: null`: no metrics endpoint. A valid `bind` is also
    /// checked against the sockets' endpoints (no two may take one port).
    mutating func metrics(_ entry: Fields.Entry?) -> MetricsConfig {
        var metrics = MetricsConfig()
        guard let entry, !isNull(entry.value),
              let fields = section(entry, at: "metrics", allowed: Keys.metrics) else { return metrics }
        if let bind = fields["bind"], !isNull(bind.value),
           let text = string(bind, at: "metrics.bind", expected: "HOST:PORT such as 127.0.0.1:9464") {
            if let problem = MetricsAddress.problem(in: text) {
                report("metrics.bind", line(bind), problem)
            } else if let address = MetricsAddress(validating: text) {
                metrics.bind = address
                if let endpoint = address.asEndpoint {
                    bound.append(BoundEndpoint(endpoint: endpoint, path: "metrics.bind", line: line(bind)))
                }
            }
        }
        if let entry = fields["per_partner"], let value = bool(entry, at: "metrics.per_partner") {
            metrics.perPartner = value
        }
        return metrics
    }

    /// The metrics endpoint is plain HTTP without authentication whatever `security.mode`
    /// says: off loopback it needs `allow_plaintext_network: true` in either mode.
    mutating func checkMetricsOnNetwork(_ config: RouterConfig) {
        guard !config.security.allowPlaintextNetwork, let address = config.metrics.bind, !address.isLoopback else { return }
        let line = bound.first { $0.path == "metrics.bind" }?.line
        report("metrics.bind", line,
               "\(address) is reachable from the network, and the metrics endpoint is plain HTTP without authentication "
                   + "(whatever security.mode says): it needs security.allow_plaintext_network: true "
                   + "(or bind a loopback address such as 127.0.0.1:9464)")
    }
}
