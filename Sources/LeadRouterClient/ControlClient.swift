import Foundation
public import LeadRouting
import ZeroMQ

/// A partner's client of the daemon's control endpoint: sends one request frame and waits
/// for its reply. A DEALER sending the empty delimiter, as a REQ would, so a reply that
/// never comes leaves no socket stuck in REQ's lockstep: the client gives up after `timeout`
/// and may send again (the daemon answers a repeated action the same way).
public final class ControlClient {
    public let endpoint: String
    private let context: Context
    private let socket: Socket

    /// - Parameter curve: the keys to present when the daemon runs `security.mode: curve`.
    public init(endpoint: String, curve: CurveClientKeys? = nil) throws {
        self.endpoint = endpoint
        context = try Context()
        socket = try dealer(context, connectedTo: endpoint, describing: "the control endpoint \(endpoint)", curve: curve,
                            sendTimeout: .seconds(5))
    }

    /// Sends `request` (one frame of JSON) and returns the reply frame as received.
    public func send(_ request: [UInt8], timeout: Duration) throws -> [UInt8] {
        let milliseconds = max(1, Int(timeout / .milliseconds(1)))
        let sent: Bool
        do {
            try socket.set(.sendTimeout, milliseconds)
            sent = try socket.send([[], request])
        } catch {
            throw ClientError("cannot send to the control endpoint \(endpoint): \(error)")
        }
        // Not queued within the timeout (no connection to send on): as good as unanswered.
        var frames: [[UInt8]]?
        if sent {
            do { frames = try socket.receive(timeoutMilliseconds: milliseconds) } catch {
                throw ClientError("control endpoint \(endpoint): \(error)")
            }
        }
        guard let frames else {
            throw ClientError("no reply from the control endpoint \(endpoint) within \(timeout); is leadrouterd running with control.bind set?")
        }
        return frames.last ?? []
    }

    /// A control request: `{"request_id","action","lead_id","partner_id",…}`, `fields` in
    /// the order given, `nil` values left out. Under CURVE `partnerID` may be `nil`: the
    /// daemon takes the partner from the client's key.
    public static func request(action: PartnerAction, leadID: String, partnerID: String?, requestID: String,
                               fields: [(String, Any?)] = []) -> [UInt8] {
        var parts = [("request_id", requestID as Any?), ("action", action.rawValue), ("lead_id", leadID), ("partner_id", partnerID as Any?)]
        parts += fields
        let members = parts.compactMap { key, value -> String? in
            guard let value else { return nil }
            return "\(quoted(key)):\(encode(value))"
        }
        return Array("{\(members.joined(separator: ","))}".utf8)
    }

    private static func encode(_ value: Any) -> String {
        if let number = value as? Double { return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : "\(number)" }
        if let number = value as? Int { return String(number) }
        return quoted("\(value)")
    }

    private static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
