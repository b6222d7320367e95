import LeadRouting

/// What must hold for any input to the pure entry points that read bytes from outside:
/// the lead parser, control and replay requests, and the config loader. Each check traps
/// (`precondition`) when a property fails, which is what a fuzzer reports as a finding;
/// the same checks run over the seed corpus in the unit tests.
public enum FuzzProperties {
    /// A lead is parsed or rejected; a parsed lead's facts are ones routing can trust.
    public static func leadParser(_ bytes: [UInt8]) {
        switch LeadParser.parse(bytes) {
        case .failure(let rejection):
            precondition(!rejection.message.isEmpty, "a rejection says why")
        case .success(let lead):
            let facts = lead.facts
            precondition(isLeadID(facts.leadID), "lead_id \(facts.leadID) is not a valid id")
            precondition(isCountryCode(facts.country), "country \(facts.country) is not two capital letters")
            if let region = facts.region {
                precondition((1...3).contains(region.count), "region \(region) is 1-3 characters")
                precondition(region.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }, "region \(region)")
            }
            precondition(!facts.companyName.isEmpty, "company.name is not empty")
            precondition(facts.products.allSatisfy { !$0.isEmpty }, "no empty product")
            precondition((facts.employees ?? 0) >= 0, "employees is 0 or more")
            if let value = facts.estimatedValue { precondition(value >= 0 && value.isFinite, "estimated_value") }
            if let budget = facts.qualification?.budget { precondition(budget >= 0 && budget.isFinite, "budget") }
            precondition((facts.qualification?.timelineDays ?? 0) >= 0, "timeline_days is 0 or more")
            let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
            precondition(lead.raw == body, "the raw lead is the input, less a byte order mark")
            // What a too_large reply names, read from the first bytes, is what a full parse reads.
            if bytes.count <= LeadIDScan.limit {
                precondition(LeadIDScan.leadID(in: bytes) == facts.leadID, "the scan of the first bytes finds lead_id \(facts.leadID)")
            }
        }
        // Any bytes at all: the scan ends, with a valid id or none.
        if let id = LeadIDScan.leadID(in: bytes) { precondition(isLeadID(id), "the scan found an invalid id \(id)") }
    }

    /// A control request is read or refused with a message; a read one names a valid lead.
    /// The input is split into frames at each 0xFF 0x00 pair, so the fuzzer also tries
    /// several frames.
    public static func controlRequest(_ bytes: [UInt8]) {
        let frames = split(bytes)
        switch PartnerRequest.parse(frames, totalSize: bytes.count) {
        case .failure(let error):
            precondition(!error.message.isEmpty, "an error says why")
        case .success(let request):
            precondition(frames.count == 1 && bytes.count <= PartnerRequest.maxBytes, "one frame, within the size cap")
            precondition(isLeadID(request.leadID), "lead_id \(request.leadID) is not a valid id")
            precondition(!request.partnerID.isEmpty, "a request names its partner")
            for text in [request.note, request.need, request.reasonText].compactMap({ $0 }) {
                precondition(text.count <= PartnerRequest.maxTextLength, "free text within its cap")
            }
        }
    }

    /// A replay request is read or refused; a read one asks for a topic, from 1, within the limit.
    public static func replayRequest(_ bytes: [UInt8]) {
        let maxLimit = 500
        switch ReplayRequest.parse(split(bytes), maxLimit: maxLimit) {
        case .failure(let error):
            precondition(error.code == "bad_request" && !error.message.isEmpty, "a bad request says why")
        case .success(let request):
            precondition(!request.topic.isEmpty, "a topic")
            precondition(request.fromSeq >= 1, "from_seq is 1 or more")
            precondition((1...maxLimit).contains(request.limit), "limit within 1...maxLimit")
        }
    }

    /// A config text gives a config or problems, each problem with a path or a line and a message.
    public static func configLoader(_ bytes: [UInt8]) {
        do {
            _ = try ConfigLoader.load(yaml: String(decoding: bytes, as: UTF8.self))
        } catch {
            precondition(!error.problems.isEmpty, "a refused config has problems")
            for problem in error.problems {
                precondition(!problem.path.isEmpty || problem.line != nil, "problem without a place: \(problem)")
                precondition(!problem.message.isEmpty, "problem without a message: \(problem)")
            }
        }
    }

    /// The input's frames: split at each 0xFF 0x00 pair (bytes that never occur in UTF-8).
    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = [[]]
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0xFF, i + 1 < bytes.count, bytes[i + 1] == 0x00 {
                frames.append([])
                i += 2
            } else {
                frames[frames.count - 1].append(bytes[i])
                i += 1
            }
        }
        return frames
    }

    static func isLeadID(_ id: String) -> Bool {
        (1...LeadParser.maxLeadIDLength).contains(id.utf8.count)
            && id.utf8.allSatisfy { b in
                (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
                    || b == 0x2E || b == 0x5F || b == 0x3A || b == 0x2D
            }
    }

    static func isCountryCode(_ code: String) -> Bool {
        code.utf8.count == 2 && code.utf8.allSatisfy { (0x41...0x5A).contains($0) }
    }
}
