import LeadRouting
import Testing

@Suite("Control requests: reading a partner's action")
struct PartnerRequestTests {
    func parse(_ json: String) -> Result<PartnerRequest, ControlError> {
        let bytes = Array(json.utf8)
        return PartnerRequest.parse([bytes], totalSize: bytes.count)
    }

    /// A request with `fields` added after the common ones.
    func request(_ action: String, _ fields: String = "") -> String {
        #"{"request_id": "r-7", "action": "\#(action)", "lead_id": "web-1", "partner_id": "acme""# + fields + "}"
    }

    static func expected(_ action: PartnerAction, _ fill: (inout PartnerRequest) -> Void = { _ in }) -> PartnerRequest {
        var request = PartnerRequest(requestID: "r-7", action: action, leadID: "web-1", partnerID: "acme")
        fill(&request)
        return request
    }

    @Test(
        "a valid request for each action",
        arguments: [
            ("accept", "", expected(.accept)),
            ("claim", #", "note": null"#, expected(.claim)),
            ("status", #", "later_field": [1, 2]"#, expected(.status)),
            ("decline", #", "reason": "no_capacity", "note": "full until May""#, expected(.decline) {
                $0.declineReason = .noCapacity
                $0.note = "full until May"
            }),
            ("request_vendor", #", "mode": "close", "need": "pricing approval""#, expected(.requestVendor) {
                $0.mode = .close
                $0.need = "pricing approval"
            }),
            ("request_vendor", #", "mode": "co_sell""#, expected(.requestVendor) { $0.mode = .coSell }),
            ("hand_back", #", "reason": "outside our vertical""#, expected(.handBack) { $0.reasonText = "outside our vertical" }),
            ("outcome", #", "stage": "contacted""#, expected(.outcome) { $0.stage = .contacted }),
            ("outcome", #", "stage": "won", "value": 48000.5, "currency": "EUR""#, expected(.outcome) {
                $0.stage = .won
                $0.value = 48_000.5
                $0.currency = "EUR"
            }),
            ("outcome", #", "stage": "lost", "reason": "competitor", "value": 0"#, expected(.outcome) {
                $0.stage = .lost
                $0.lostReason = .competitor
                $0.value = 0
            }),
        ])
    func valid(action: String, fields: String, expected: PartnerRequest) throws {
        #expect(try parse(request(action, fields)).get() == expected)
    }

    @Test("every action is read")
    func everyAction() {
        let fields: [PartnerAction: String] = [
            .decline: #", "reason": "other""#, .requestVendor: #", "mode": "co_sell""#,
            .handBack: #", "reason": "x""#, .outcome: #", "stage": "proposal""#,
        ]
        for action in PartnerAction.allCases {
            #expect((try? parse(request(action.rawValue, fields[action] ?? "")).get().action) == action)
        }
    }

    @Test(
        "a request that is not one JSON object in one frame is invalid_json",
        arguments: [
            ([Array("{nope".utf8)], 5),
            ([Array("[1, 2]".utf8)], 6),
            ([Array("\"accept\"".utf8)], 8),
            ([[0xFF, 0xFE]], 2),
            ([[UInt8]()], 0),
            ([Array("{}".utf8), Array("{}".utf8)], 4),
            ([], 0),
            ([Array("{}".utf8)], PartnerRequest.maxBytes + 1),
        ])
    func invalidJSON(frames: [[UInt8]], totalSize: Int) {
        let result = PartnerRequest.parse(frames, totalSize: totalSize)
        guard case .failure(let error) = result else {
            Issue.record("accepted")
            return
        }
        #expect(error.code == .invalidJSON)
        #expect(error.requestID == nil)
    }

    @Test(
        "a field of the wrong type or value is named, and the request_id is echoed",
        arguments: [
            (#"{"request_id": "r-7", "lead_id": "web-1", "partner_id": "acme"}"#, ControlErrorCode.invalidAction, "action"),
            (#"{"request_id": "r-7", "action": "approve", "lead_id": "web-1", "partner_id": "acme"}"#, .invalidAction, "action"),
            (#"{"request_id": "r-7", "action": 3, "lead_id": "web-1", "partner_id": "acme"}"#, .invalidAction, "action"),
            (#"{"request_id": "r-7", "action": "accept", "partner_id": "acme"}"#, .invalidField, "lead_id"),
            (#"{"request_id": "r-7", "action": "accept", "lead_id": "web 1", "partner_id": "acme"}"#, .invalidField, "lead_id"),
            (#"{"request_id": "r-7", "action": "accept", "lead_id": "web-1"}"#, .invalidField, "partner_id"),
            (#"{"request_id": "r-7", "action": "accept", "lead_id": "web-1", "partner_id": 7}"#, .invalidField, "partner_id"),
            (#"{"request_id": "r-7", "action": "accept", "lead_id": "web-1", "partner_id": "acme", "note": 5}"#, .invalidField, "note"),
            (#"{"request_id": "r-7", "action": "decline", "lead_id": "web-1", "partner_id": "acme", "reason": "busy"}"#, .invalidField, "reason"),
            (#"{"request_id": "r-7", "action": "request_vendor", "lead_id": "web-1", "partner_id": "acme", "mode": "solo"}"#, .invalidField, "mode"),
            (#"{"request_id": "r-7", "action": "hand_back", "lead_id": "web-1", "partner_id": "acme", "reason": ""}"#, .invalidField, "reason"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme"}"#, .invalidField, "stage"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme", "stage": "won", "value": "x"}"#, .invalidField, "value"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme", "stage": "won", "value": true}"#, .invalidField, "value"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme", "stage": "won", "value": -1}"#, .invalidField, "value"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme", "stage": "won", "currency": "usd"}"#, .invalidField, "currency"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme", "stage": "won", "reason": "price"}"#, .invalidField, "reason"),
            (#"{"request_id": "r-7", "action": "outcome", "lead_id": "web-1", "partner_id": "acme", "stage": "lost", "reason": "weather"}"#, .invalidField, "reason"),
        ])
    func invalidFields(json: String, code: ControlErrorCode, field: String) {
        guard case .failure(let error) = parse(json) else {
            Issue.record("accepted")
            return
        }
        #expect(error.code == code)
        #expect(error.field == field)
        #expect(error.requestID == "r-7")
        #expect(!error.message.isEmpty)
    }

    @Test("the lead_id of a rejected request is echoed when it is a string")
    func echoesLeadID() {
        guard case .failure(let error) = parse(request("outcome", #", "stage": "done""#)) else {
            Issue.record("accepted")
            return
        }
        #expect(error.leadID == "web-1")
        #expect(error.message.contains("contacted, qualified, proposal, won, lost"))
    }

    @Test("a reason may be left out: of a decline (taken as other), a hand_back, a lost outcome")
    func reasonsMayBeLeftOut() throws {
        #expect(try parse(request("decline")).get() == Self.expected(.decline))
        #expect(try parse(request("decline", #", "reason": null"#)).get() == Self.expected(.decline))
        #expect(try parse(request("hand_back")).get() == Self.expected(.handBack))
        #expect(try parse(request("outcome", #", "stage": "lost""#)).get() == Self.expected(.outcome) { $0.stage = .lost })
    }

    @Test("an outcome's optional fields given as null count as absent, as every other optional field does")
    func outcomeNullsAreAbsent() throws {
        for stage in ["won", "lost", "proposal"] {
            let parsed = try parse(request("outcome", #", "stage": "\#(stage)", "value": null, "currency": null, "reason": null, "note": null"#)).get()
            #expect(parsed == Self.expected(.outcome) { $0.stage = OutcomeStage(rawValue: stage) }, "\(stage)")
        }
    }

    @Test("a request_id that is not a short string is itself the fault")
    func badRequestID() {
        guard case .failure(let error) = parse(#"{"request_id": 7, "action": "accept", "lead_id": "web-1", "partner_id": "acme"}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(error.code == .invalidField && error.field == "request_id" && error.requestID == nil)
    }

    @Test("a request refused before it is read (its key may not act) echoes the request_id and lead_id it names")
    func refusalEchoes() {
        let refusal = ControlError(.unauthorized, "this key is no longer configured")
        let bytes = Array(request("status").utf8)
        let echoed = PartnerRequest.refusal(refusal, of: [bytes], totalSize: bytes.count)
        #expect(echoed.code == .unauthorized && echoed.requestID == "r-7" && echoed.leadID == "web-1")
        // Nothing to echo from what is not one JSON object received whole.
        for frames in [[Array("not json".utf8)], [bytes, bytes], [Array(#"["r-7"]"#.utf8)]] {
            let plain = PartnerRequest.refusal(refusal, of: frames, totalSize: frames.reduce(0) { $0 + $1.count })
            #expect(plain == refusal)
        }
        #expect(PartnerRequest.refusal(refusal, of: [bytes], totalSize: bytes.count + 1) == refusal)
    }

    @Test("a request over the size limit is invalid_json, with its request_id and lead_id echoed when it came whole")
    func oversizedEchoes() {
        let note = String(repeating: "n", count: PartnerRequest.maxBytes)
        let bytes = Array(request("status", #", "note": "\#(note)""#).utf8)
        guard case .failure(let error) = PartnerRequest.parse([bytes], totalSize: bytes.count) else {
            Issue.record("accepted")
            return
        }
        #expect(error.code == .invalidJSON && error.requestID == "r-7" && error.leadID == "web-1", "\(error)")
        #expect(error.message.contains("at most \(PartnerRequest.maxBytes) bytes"))
        // Cut short by the receiver's copy: not read.
        let cut = Array(bytes.prefix(PartnerRequest.maxBytes))
        guard case .failure(let short) = PartnerRequest.parse([cut], totalSize: bytes.count) else {
            Issue.record("accepted")
            return
        }
        #expect(short.code == .invalidJSON && short.requestID == nil)
    }

    @Test("notes longer than the limit are refused; the limit itself is fine")
    func noteLength() {
        let limit = String(repeating: "n", count: PartnerRequest.maxTextLength)
        #expect((try? parse(request("accept", #", "note": "\#(limit)""#)).get().note) == limit)
        guard case .failure(let error) = parse(request("accept", #", "note": "\#(limit)n""#)) else {
            Issue.record("accepted")
            return
        }
        #expect(error.field == "note")
    }
}
