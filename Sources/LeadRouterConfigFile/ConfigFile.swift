import Foundation
public import LeadRouting

/// Reading the config file from disk: the I/O around the pure ``ConfigLoader``.
///
/// Both executables read the same file: `leadrouterd` to run (and for `--check` and
/// `--dry-run`), `leadctl register` for the partners and `state_dir`. So this lives in a
/// module of its own, which needs only LeadRouting, Foundation, and ZeroMQ for checking
/// CURVE keys (``keyRing(for:relativeTo:)``):
/// - not in LeadRouting, which stays pure (no file I/O), so that it is tested and used
///   with strings alone;
/// - not in LeadStore, whose business is the SQLite store, not the operator's YAML file;
/// - not in LeadRouterClient, which talks to a running daemon over its sockets, whereas the
///   config file is read on the daemon's host;
/// - not in LeadRouterService, which would make `leadctl` link the service lifecycle.
///
/// Preparing the state directory is a start-up step of the daemon, and stays there
/// (`StateDirectory.prepare` in LeadRouterService), with the `StartupError` it throws.
public enum ConfigFile {
    /// Problems that make a config unusable, one line each, ready to print.
    public struct Problems: Error, Sendable {
        public let lines: [String]
    }

    /// Reads and validates the YAML file at `path`; `stateDirOverride` replaces `state_dir`.
    public static func load(path: String, stateDirOverride: String? = nil) -> Result<RouterConfig, Problems> {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read as UTF-8 text" : "does not exist"
            return .failure(Problems(lines: ["\(path): the config file \(reason)"]))
        }
        do {
            var config = try ConfigLoader.load(yaml: text)
            if let stateDirOverride { config.stateDir = stateDirOverride }
            return .success(config)
        } catch {
            return .failure(Problems(lines: error.problems.map { "\(path): \($0)" }))
        }
    }

    /// The one line `--check` prints for a valid config.
    public static func summary(_ config: RouterConfig, path: String) -> String {
        let active = config.partners.filter(\.active).count
        var byModel: [String] = []
        for model in EngagementModel.allCases {
            let n = config.partners.filter { $0.engagement == model }.count
            if n > 0 { byModel.append("\(n) \(model.rawValue)") }
        }
        let models = byModel.isEmpty ? "" : " (\(byModel.joined(separator: ", ")))"
        return "\(path): valid: \(config.partners.count) partners, \(active) active\(models); ingest \(config.ingest.bind.count) bind + \(config.ingest.connect.count) connect; publish \(config.publish.bind); unmatched leads to \(config.routing.unmatched.rawValue)\(offersSummary(config))\(securitySummary(config))\(metricsSummary(config))"
    }
}

/// `; offers: accept within 4h, max 3, then vendor-sales; control tcp://…` (nothing when both are off).
func offersSummary(_ config: RouterConfig) -> String {
    var text = ""
    let offers = config.offers
    if config.rules.offersLeads {
        let overrides = config.partners.filter { $0.offers != nil }.count
        text += "; offers: accept within \(duration(offers.acceptWithin)), max \(offers.maxOffers), then \(offers.then.rawValue)"
        if overrides > 0 { text += " (\(overrides) partner\(overrides == 1 ? "" : "s") with their own)" }
    }
    if let control = config.control.bind { text += "; control \(control)" }
    return text
}

/// `; security curve (3 keys)`: the client public keys listed (nothing with `mode: none`).
func securitySummary(_ config: RouterConfig) -> String {
    guard config.security.mode == .curve else { return "" }
    let keys = config.partners.reduce(0) { $0 + $1.keys.count } + config.clients.reduce(0) { $0 + $1.keys.count }
    return "; security curve (\(keys) key\(keys == 1 ? "" : "s"))"
}

/// `; metrics 127.0.0.1:9464` (with `, per partner` when `metrics.per_partner`); nothing when off.
func metricsSummary(_ config: RouterConfig) -> String {
    guard let bind = config.metrics.bind else { return "" }
    return "; metrics \(bind)\(config.metrics.perPartner ? ", per partner" : "")"
}

/// `4h`, `90s`, `0`: the largest unit that divides the seconds.
func duration(_ seconds: Int64) -> String {
    if seconds == 0 { return "0" }
    for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where seconds % size == 0 {
        return "\(seconds / size)\(unit)"
    }
    return "\(seconds)s"
}
