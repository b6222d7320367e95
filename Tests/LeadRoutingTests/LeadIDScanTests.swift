import LeadRouting
import Testing

// The top-level lead_id of a frame too large to parse whole, from its first bytes.

@Test(arguments: [
    (#"{"lead_id": "web-1", "company": {}}"#, "web-1"),
    (#"  {"source": "x", "company": {"lead_id": "nested", "n": [1, {"lead_id": "deeper"}]}, "lead_id": "top-1", "#, "top-1"),
    (#"{"note": "a \"lead_id\": \"in-a-string\"", "lead_id": "after-string"}"#, "after-string"),
    (#"{"lead\u005fid": "escaped-key"}"#, "escaped-key"),
    (#"{"lead_id": "web\u002d2"}"#, "web-2"),
    ("\u{FEFF}" + #"{"lead_id": "after-bom"}"#, "after-bom"),
    (#"{"n": -1.5e3, "t": true, "f": false, "z": null, "a": [], "o": {}, "lead_id": "after-values"}"#, "after-values"),
    (#"{"lead_id": "first", "lead_id": "second"}"#, "first"),
    (#"{"lead_id": "cut-off-"#, nil),
    (#"{"company": {"name": "x", "lead_id": "only-nested"}, "pad": "xxxx"#, nil),
    (#"{"lead_id": "has space"}"#, nil),
    (#"{"lead_id": 12}"#, nil),
    (#"{"company": tru, "lead_id": "after-bad-literal"}"#, nil),
    (#"{"a": 1 2, "lead_id": "after-bad-number"}"#, nil),
    (#"["lead_id", "array"]"#, nil),
    (#"{"lead_id": "l\u00e9ad"}"#, nil),
    ("", nil),
] as [(String, String?)])
func leadIDFromTheFirstBytes(_ text: String, _ expected: String?) {
    #expect(LeadIDScan.leadID(in: Array(text.utf8)) == expected, "\(text)")
}

@Test func theScanStopsAtItsLimit() {
    let pad = String(repeating: "p", count: LeadIDScan.limit)
    #expect(LeadIDScan.leadID(in: Array(#"{"pad": "\#(pad)", "lead_id": "too-far"}"#.utf8)) == nil)
    #expect(LeadIDScan.leadID(in: Array(#"{"lead_id": "near", "pad": "\#(pad)"}"#.utf8)) == "near")
}

@Test func aRejectedInputsLeadIDComesFromItsLeadFrame() {
    let lead = Array(#"{"lead_id": "r-1", "company": {"name": "X"}}"#.utf8)
    let ingest = InboundMessage(frames: [Array("lead".utf8), lead])
    #expect(LeadParser.rejectedLeadID(ingest, from: .ingest, code: .missingField) == "r-1")
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [lead]), from: .intake, code: .missingField) == "r-1")
    // Frames not as expected: which one is the lead cannot be told.
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [lead, lead]), from: .intake, code: .badFrames) == nil)
    // Too large: the first bytes of the lead frame, which is cut short.
    let prefix = Array(lead.prefix(30))
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [Array("lead".utf8), prefix], totalSize: 70_000), from: .ingest, code: .tooLarge) == "r-1")
}

@Test func aRejectedInputsLeadIDIsReadEvenWhenTheProblemComesFirst() {
    // A wrong field before lead_id, and a byte order mark: the JSON is valid, so the id is named.
    let early = Array(#"{"contact":"x","lead_id":"r-2","company":{"name":"A","country":"US"}}"#.utf8)
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [early]), from: .intake, code: .invalidField) == "r-2")
    let bom = [0xEF, 0xBB, 0xBF] + Array(#"{"lead_id":"r-3","company":{"name":"A","country":"Mars"}}"#.utf8)
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [bom]), from: .intake, code: .invalidField) == "r-3")
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [Array("lead".utf8), bom]), from: .ingest, code: .invalidField) == "r-3")
    // Invalid JSON still names none, even with a lead_id ahead of the break.
    let truncated = Array(#"{"lead_id":"r-4","company":{"name":"T""#.utf8)
    #expect(LeadParser.rejectedLeadID(InboundMessage(frames: [truncated]), from: .intake, code: .invalidJSON) == nil)
}
