import LeadRouting
import LeadStore
import Logging

/// A reply to an intake or control client, sent once its batch is durable.
struct Reply {
    var channel: InboundChannel
    var route: [[UInt8]]
    var body: [UInt8]
}

/// What a batch's partner actions and due deadlines need from the store, read before
/// anything in the batch is routed (so a failed read fails the batch whole).
struct CaseInputs {
    var requests: [(item: Received, request: Result<PartnerRequest, ControlError>)] = []
    var due: [String] = []
    var records: [String: CaseRecord] = [:]
    var isEmpty: Bool { requests.isEmpty && due.isEmpty }
}

/// Offers and partner actions on the routing thread: control requests join the batch (at
/// most ``controlPerBatch`` of them, so a flood cannot starve routing), due deadlines fire
/// in it (at most ``duePerBatch`` a turn), and what they change is committed, published and
/// answered with the batch.
extension RoutingEngine {
    static let controlPerBatch = 256
    static let duePerBatch = 512

    /// The cases whose deadline has passed, up to a batch's share.
    func takeDueCases() -> [String] {
        offers.takeDue(now: clock.wallMilliseconds, limit: RoutingEngine.duePerBatch)
    }

    /// Parses the control requests and reads what the store holds of their leads and of
    /// the due ones. The caller has waited for any commit in flight, so the store is current.
    func readCaseInputs(control: [Received], due: [String]) throws(StoreError) -> CaseInputs {
        var inputs = CaseInputs(due: due)
        inputs.requests = control.map { ($0, parseRequest($0)) }
        guard !inputs.isEmpty else { return inputs }
        let ids = due + inputs.requests.compactMap { try? $0.request.get().leadID }
        inputs.records = try store.caseRecords(leadIDs: ids)
        return inputs
    }

    /// A control request; with CURVE, on behalf of the partner its key belongs to only.
    private func parseRequest(_ item: Received) -> Result<PartnerRequest, ControlError> {
        guard keys.isCurve else { return PartnerRequest.parse(item.message.frames, totalSize: item.message.totalSize) }
        let (frames, size) = (item.message.frames, item.message.totalSize)
        guard keys.admits(userID: item.peer) else {
            return .failure(PartnerRequest.refusal(
                ControlError(.unauthorized, "this key is no longer configured (a reload revoked it)"), of: frames, totalSize: size))
        }
        guard let partner = item.peer.flatMap(Principal.init(userID:))?.partnerID else {
            return .failure(PartnerRequest.refusal(
                ControlError(.unauthorized, "only partners' keys may act on leads"), of: frames, totalSize: size))
        }
        return PartnerRequest.parse(frames, totalSize: size, authenticated: partner)
    }

    /// Fires the due deadlines and carries out the requests, into `prepared`.
    func addCaseWork(_ inputs: CaseInputs, to prepared: inout PreparedBatch) {
        guard !inputs.isEmpty else { return }
        var work = CaseWork(records: inputs.records, routedLeads: prepared.offeredLeads, now: clock.wallMilliseconds)
        // Leads with an action in this batch received before their deadline: the action is
        // carried out first (a deadline still passed after it fires at the next turn).
        var actedInTime: [String: Int64] = [:]
        for (item, parsed) in inputs.requests {
            if case .success(let request) = parsed {
                actedInTime[request.leadID] = min(actedInTime[request.leadID] ?? .max, item.receivedAt)
            }
        }
        for leadID in inputs.due {
            guard var lead = offers[leadID], let deadline = lead.deadline, deadline <= work.now else { continue }
            if let receivedAt = actedInTime[leadID], receivedAt < deadline { continue }
            guard let bytes = work.leadBytes(leadID), case .success(let parsed) = LeadParser.parse(bytes) else {
                // Pruned past retention while it waited: nothing can be offered or published.
                logger.warning("an open offer's lead is no longer stored; its deadline is dropped", metadata: ["lead_id": "\(leadID)"])
                lead.deadline = nil
                record(lead, [], bytes: [], work: &work, into: &prepared)
                continue
            }
            var events: [CaseEvent] = []
            pipeline.withOfferRouting(for: parsed.facts) { routing in
                OfferMachine.deadlinePassed(&lead, now: work.now, routing: &routing, events: &events)
            }
            record(lead, events, bytes: bytes, work: &work, into: &prepared)
        }
        for (item, parsed) in inputs.requests {
            let body: [UInt8]
            switch parsed {
            case .failure(let error):
                body = ControlReply.error(error)
                duties.logControlRefusal(error, now: clock.now)
            case .success(let request):
                body = act(request, receivedAt: item.receivedAt, work: &work, into: &prepared)
            }
            prepared.replies.append(Reply(channel: .control, route: item.replyRoute, body: body))
        }
        // Those not fired (left to an action received in time, or not yet due) keep their place.
        offers.reschedule(inputs.due)
    }

    /// One partner action: its reply, with what it changed recorded in `prepared`.
    private func act(_ request: PartnerRequest, receivedAt: Int64, work: inout CaseWork, into prepared: inout PreparedBatch) -> [UInt8] {
        let leadID = request.leadID
        let notFound = ControlError(.notFound, "no lead \(leadID) for partner \(request.partnerID)",
                                    requestID: request.requestID, leadID: leadID)
        guard let bytes = work.leadBytes(leadID),
              var lead = work.touched[leadID] ?? offers[leadID] ?? work.stored(leadID, engagement: { pipeline.router.partner($0)?.engagement }),
              case .success(let parsed) = LeadParser.parse(bytes) else {
            return ControlReply.error(notFound)
        }
        let before = lead
        var events: [CaseEvent] = []
        let result = pipeline.withOfferRouting(for: parsed.facts) { routing in
            OfferMachine.act(request, on: &lead, now: work.now, receivedAt: receivedAt, routing: &routing, events: &events)
        }
        if lead != before || !events.isEmpty { record(lead, events, bytes: bytes, work: &work, into: &prepared) }
        switch result {
        case .ok(let view):
            return ControlReply.ok(request, view, lead: bytes, withhold: pipeline.offerPolicy(for: request.partnerID).withhold)
        case .failed(let code, let message):
            let error = ControlError(code, message, requestID: request.requestID, leadID: leadID)
            duties.logControlRefusal(error, now: clock.now)
            return ControlReply.error(error)
        }
    }

    /// Publishes and stores what changed a case, and keeps it in the book while it waits on a deadline.
    private func record(_ lead: LeadCase, _ events: [CaseEvent], bytes: [UInt8], work: inout CaseWork, into prepared: inout PreparedBatch) {
        var history: [UInt8] = []
        for event in events {
            history += event.historyLine(at: work.now)
            for message in pipeline.caseEnvelopes(for: event, of: lead, lead: bytes, now: work.now) {
                prepared.storeBatch.envelopes.append(message)
                prepared.storeBatch.envelopeLeadIDs.append(lead.leadID)
                prepared.counts.published += 1
            }
            prepared.counts.offerEvents[event.name, default: 0] += 1
        }
        prepared.storeBatch.cases.append(CaseWrite(lead: lead, history: history, updatedAt: work.now))
        offers.put(lead, generation: prepared.generation)
        work.touched[lead.leadID] = lead
    }

    /// The store could not be read or written: control clients are told, and nothing changed.
    func failControl(_ control: [Received], error: StoreError) {
        guard let socket = sockets.control else { return }
        for item in control {
            // Parsed as the batch parsed it (with CURVE, for the key's partner), so that the
            // reply echoes the request_id and lead_id even of a request without partner_id.
            let (requestID, leadID): (String?, String?) = switch parseRequest(item) {
            case .success(let request): (request.requestID, request.leadID)
            case .failure(let refusal): (refusal.requestID, refusal.leadID)
            }
            let refusal = ControlError(
                .storageUnavailable, "the action could not be stored (\(error.description)); nothing changed: retry later",
                requestID: requestID, leadID: leadID)
            socket.reply(item.replyRoute, ControlReply.error(refusal))
        }
    }
}

/// The cases a batch has touched so far, and where each lead's bytes come from.
struct CaseWork {
    let records: [String: CaseRecord]
    /// Leads offered in this batch (not in the store yet).
    let routedLeads: [String: [UInt8]]
    let now: Int64
    /// Cases changed earlier in this batch, newest first.
    var touched: [String: LeadCase] = [:]

    init(records: [String: CaseRecord], routedLeads: [String: [UInt8]], now: Int64) {
        self.records = records
        self.routedLeads = routedLeads
        self.now = now
    }

    func leadBytes(_ leadID: String) -> [UInt8]? { records[leadID]?.lead ?? routedLeads[leadID] }

    /// The stored case, or for a lead assigned without an offer, an accepted one.
    func stored(_ leadID: String, engagement: (String) -> EngagementModel?) -> LeadCase? {
        guard let record = records[leadID] else { return nil }
        if let stored = record.stored { return stored }
        guard let partner = record.partnerID else { return nil }
        // As it was published: the partner's engagement may have changed since.
        return LeadCase.assigned(leadID: leadID, assignmentID: record.assignmentID, partnerID: partner,
                                 engagement: record.engagement ?? engagement(partner) ?? .leadsOnly)
    }
}

extension CaseEvent {
    /// A short name for counting: `offered`, `accepted`, `declined`, …
    var name: String {
        switch self {
        case .offered: "offered"
        case .assigned: "assigned"
        case .accepted(_, _, let claimed): claimed ? "claimed" : "accepted"
        case .declined: "declined"
        case .expired: "expired"
        case .withdrawn: "withdrawn"
        case .vendorReleased: "vendor_released"
        case .claimOpen: "claim_open"
        case .vendorRequest: "vendor_request"
        case .handedBack: "handed_back"
        case .outcome: "outcome"
        case .toVendorSales: "vendor_sales"
        case .toNurture: "nurture"
        }
    }
}
