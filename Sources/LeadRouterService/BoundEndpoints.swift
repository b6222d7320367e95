import Foundation
import Logging

/// The endpoints the daemon's sockets really bound, as libzmq reports them
/// (`ZMQ_LAST_ENDPOINT`): a config port of `0` or `*` becomes the port the kernel chose.
///
/// Written to `<state_dir>/endpoints.json` once every socket is bound and before `READY=1`,
/// so a supervisor or a test can start the daemon on port 0 and learn where to connect
/// without racing another process for a port it picked in advance.
struct BoundEndpoints: Codable, Equatable, Sendable {
    /// `ingest.bind`, in config order (not `ingest.connect`: those are the peers' endpoints).
    var ingest: [String] = []
    var intake: String?
    var publish: String = ""
    var replay: String?
    var control: String?
    /// `metrics.bind` as `HOST:PORT`, the port resolved (an HTTP address, not a ZeroMQ endpoint).
    var metrics: String?

    static let fileName = "endpoints.json"

    /// One line of JSON with sorted keys.
    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// An absent socket is `null`, not a missing key.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ingest, forKey: .ingest)
        try container.encode(intake, forKey: .intake)
        try container.encode(publish, forKey: .publish)
        try container.encode(replay, forKey: .replay)
        try container.encode(control, forKey: .control)
        try container.encode(metrics, forKey: .metrics)
    }

    /// Writes `endpoints.json` (see ``write(stateDir:)``). A failure is logged, not fatal:
    /// the daemon starts on a full disk too, and the ready line names the endpoints as well.
    func record(stateDir: String, logger: Logger) {
        do { try write(stateDir: stateDir) } catch {
            logger.warning("could not write the bound endpoints; the ready line names them", metadata: ["error": "\(error)"])
        }
    }

    /// Writes `<stateDir>/endpoints.json` atomically: a temporary file beside it, then
    /// `rename(2)`, so a reader sees the previous file or the whole new one, never a part.
    func write(stateDir: String) throws {
        let path = (stateDir as NSString).appendingPathComponent(BoundEndpoints.fileName)
        let temporary = path + ".tmp-\(getpid())"
        do {
            try json().write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw StartupError("cannot write \(path): \(reason)")
            }
        } catch let error as StartupError {
            throw error
        } catch {
            unlink(temporary)
            throw StartupError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
