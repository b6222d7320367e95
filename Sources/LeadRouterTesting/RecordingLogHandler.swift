public import Logging
import Synchronization

/// A swift-log handler that keeps every line, so tests assert on what the daemon logged.
public final class LogRecorder: Sendable {
    public struct Line: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])
    public init() {}

    /// A logger whose lines this recorder keeps.
    public func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in RecordingHandler(recorder: self) }
    }

    public var all: [Line] { lines.withLock { $0 } }

    /// Lines whose message contains `text`.
    public func lines(containing text: String) -> [Line] { all.filter { $0.message.contains(text) } }

    fileprivate func append(_ line: Line) { lines.withLock { $0.append(line) } }
}

private struct RecordingHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flat: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) { flat[key] = "\(value)" }
        recorder.append(LogRecorder.Line(level: event.level, message: "\(event.message)", metadata: flat))
    }
}
