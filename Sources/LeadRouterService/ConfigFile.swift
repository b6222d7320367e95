import Foundation
public import LeadRouting

/// Reading the config file from disk: the I/O around the pure ``ConfigLoader``.
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
        return "\(path): valid: \(config.partners.count) partners, \(active) active\(models); ingest \(config.ingest.bind.count) bind + \(config.ingest.connect.count) connect; publish \(config.publish.bind); unmatched leads to \(config.routing.unmatched.rawValue)"
    }

    /// Creates the state directory when missing and checks the daemon can write there.
    public static func prepareStateDir(_ path: String) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StartupError("state_dir \(path) cannot be created: \(error.localizedDescription)")
        }
        guard manager.isWritableFile(atPath: path) else {
            throw StartupError("state_dir \(path) is not writable by this user")
        }
    }
}
