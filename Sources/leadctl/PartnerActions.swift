import ArgumentParser
import Foundation
import LeadRouterClient
import LeadRouting

/// What every partner command takes: the lead, the control endpoint, the partner (which,
/// under CURVE, the key names when `--partner` is absent).
struct PartnerOptions: ParsableArguments {
    @Argument(help: "The lead_id.")
    var leadID: String

    @Option(help: "The daemon's control endpoint, such as tcp://127.0.0.1:5562.")
    var endpoint: String

    @Option(help: "The partner acting (its id in the config). Optional with --server-key/--key: the key's partner.")
    var partner: String?

    @Option(help: "Echoed in the reply; a random one when absent.")
    var requestID: String?

    @Option(help: "Seconds to wait for the reply.")
    var timeout: Double = 5

    @OptionGroup var curve: CurveOptions

    func validate() throws {
        if partner == nil && !curve.enabled {
            throw ValidationError("--partner is required without CURVE keys (--server-key and --key)")
        }
    }

    /// Sends the request and prints the reply; exits 1 when the reply is an error.
    func send(_ action: PartnerAction, _ fields: [(String, Any?)] = []) throws {
        let id = requestID ?? "leadctl-" + String(UInt64.random(in: 0 ... .max), radix: 16)
        let request = ControlClient.request(action: action, leadID: leadID, partnerID: partner, requestID: id, fields: fields)
        let keys = try curve.clientKeys()
        let reply: [UInt8]
        do {
            reply = try ClientLifetime.keep(ControlClient(endpoint: endpoint, curve: keys)).send(request, timeout: .milliseconds(Int(timeout * 1000)))
        } catch {
            throw fail("\(error)")
        }
        print(String(decoding: reply, as: UTF8.self))
        let status = (try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any])?["status"] as? String
        if status != "ok" { throw ExitCode(1) }
    }
}

/// Allowed values of a code, for help and errors: `not_in_territory, no_capacity, …`.
func allowedValues<Code: RawRepresentable & CaseIterable>(_ type: Code.Type) -> String where Code.RawValue == String {
    type.allCases.map(\.rawValue).joined(separator: ", ")
}

/// Reads a code option, or fails as a usage error naming the allowed values.
func code<Code: RawRepresentable & CaseIterable>(_ text: String?, _ type: Code.Type, option: String) throws -> Code?
where Code.RawValue == String {
    guard let text else { return nil }
    guard let value = Code(rawValue: text) else {
        throw ValidationError("--\(option) must be one of \(allowedValues(type)), got \"\(text)\"")
    }
    return value
}

struct Accept: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accept a lead offered to the partner; the reply carries the whole lead.")
    @OptionGroup var options: PartnerOptions
    func run() throws { try options.send(.accept) }
}

struct Decline: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decline a lead offered to the partner: it moves on, and the partner is never offered it again.")
    @OptionGroup var options: PartnerOptions
    @Option(help: "Why: \(allowedValues(DeclineReason.self)) (left out: other).")
    var reason: String?
    @Option(help: "Free text.")
    var note: String?
    func validate() throws { _ = try code(reason, DeclineReason.self, option: "reason") }
    func run() throws { try options.send(.decline, [("reason", reason), ("note", note)]) }
}

struct Claim: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Claim a pooled lead: the first claim wins.")
    @OptionGroup var options: PartnerOptions
    func run() throws { try options.send(.claim) }
}

struct RequestVendor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-vendor",
        abstract: "Ask vendor sales to co-sell or close an accepted lead; the partner keeps the customer relationship.")
    @OptionGroup var options: PartnerOptions
    @Option(help: "\(allowedValues(VendorMode.self)).")
    var mode: String
    @Option(help: "What the partner needs from vendor sales.")
    var need: String?
    @Option(help: "Free text.")
    var note: String?
    func validate() throws { _ = try code(mode, VendorMode.self, option: "mode") }
    func run() throws { try options.send(.requestVendor, [("mode", mode), ("need", need), ("note", note)]) }
}

struct HandBack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hand-back", abstract: "Return an accepted lead: vendor sales gets it to work directly.")
    @OptionGroup var options: PartnerOptions
    @Option(help: "Why (free text).")
    var reason: String?
    @Option(help: "Free text.")
    var note: String?
    func run() throws { try options.send(.handBack, [("reason", reason), ("note", note)]) }
}

struct Outcome: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Report how an accepted lead is going; won and lost are final.")
    @OptionGroup var options: PartnerOptions
    @Option(help: "\(allowedValues(OutcomeStage.self)).")
    var stage: String
    @Option(help: "The deal's value.")
    var value: Double?
    @Option(help: "ISO 4217 currency of --value, such as USD.")
    var currency: String?
    @Option(help: "With --stage lost: \(allowedValues(LostReason.self)).")
    var reason: String?
    @Option(help: "Free text.")
    var note: String?

    func validate() throws {
        let stage = try code(stage, OutcomeStage.self, option: "stage")
        if stage != .lost && reason != nil { throw ValidationError("--reason is for --stage lost only") }
        _ = try code(reason, LostReason.self, option: "reason")
    }

    func run() throws {
        try options.send(.outcome, [("stage", stage), ("value", value), ("currency", currency), ("reason", reason), ("note", note)])
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show where a lead stands for the partner, with its accept_by or claim_by.")
    @OptionGroup var options: PartnerOptions
    func run() throws { try options.send(.status) }
}
