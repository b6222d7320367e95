import LeadRouting
import LeadStore
import Logging

/// One batch on its way through: validated and routed, waiting for or in its commit.
struct PreparedBatch {
    var items: [Received]
    var accepted: [Result<ParsedLead, LeadRejection>]
    /// Control requests, and the ids of cases whose deadline fired, in this batch.
    var control: [Received] = []
    var due: [String] = []
    /// The leads offered in this batch, for actions on them in the same batch: kept only
    /// when the batch has actions or deadlines (``keepsOfferedLeads``), since a copy of each
    /// offered lead's bytes, and a dictionary entry, cost every offer otherwise.
    var offeredLeads: [String: [UInt8]] = [:]
    var keepsOfferedLeads = false
    var storeBatch: StoreBatch
    var replies: [Reply]
    var rejections: [RejectedInput]
    /// What releasing it adds to the counters.
    var counts: PipelineCounters
    /// The pipeline before this batch was routed: restored if its commit fails (undoing
    /// any batch routed on top of it as well).
    var before: LeadPipeline
    var generation: Int
    /// The published watermarks committed with it.
    var published: [String: Int]
    /// When it was prepared, if it saves a share of the rotation counters.
    var rotationSave: ContinuousClock.Instant?
    /// What it adds to the metrics beyond ``counts``.
    var tally = BatchTally()
}

/// What a committed batch answers and publishes once it is durable.
struct CommittedBatch {
    var replies: [Reply]
    var rejections: [RejectedInput]
    var envelopes: [OutgoingMessage]
    /// The leads in it that came by SUB: no one can be answered about them, so a failed
    /// sync lists them by id.
    var ingestLeadIDs: [String]
    var counts: PipelineCounters
    var tally = BatchTally()

    /// The last `seq` per topic among its envelopes.
    var lastSeqs: [String: Int] {
        var last: [String: Int] = [:]
        for envelope in envelopes { last[envelope.topic] = envelope.seq }
        return last
    }
}

/// The store could not be asked about a batch's leads.
struct LookUpFailure: Error {
    var error: StoreError
    var accepted: [Result<ParsedLead, LeadRejection>]
}

/// A batch taken off the sockets: leads, control requests, and the due deadlines that join it.
struct BatchInput {
    var leads: [Received]
    var control: [Received]
    var due: [String]

    init(_ batch: [Received], due: [String]) {
        // Most batches hold no control request: their array is taken as it is, not copied a
        // message at a time (a reference count for each of a message's parts, and its
        // release when the batch's array went).
        if batch.contains(where: { $0.channel == .control }) {
            leads = batch.filter { $0.channel != .control }
            control = batch.filter { $0.channel == .control }
        } else {
            leads = batch
            control = []
        }
        self.due = due
    }
}

/// A batch's way in: taken off the sockets, validated and routed, then committed on the
/// routing thread or, under a backlog, by the committer while the next batch is routed.
extension RoutingEngine {
    /// The messages held for a log sync, then what waits on the sockets (all inbound ones,
    /// or `endpoints`), up to a batch, taking one message from each socket in turn.
    func takeBatch(from endpoints: [InboundEndpoint]? = nil) -> [Received] {
        var batch = held
        held.removeAll()
        let copyLimit = max(config.ingest.maxMessageBytes, LeadPipeline.quotedInputBytes)
        var open = endpoints ?? sockets.inbound
        var control = batch.count { $0.channel == .control }
        let takenAt = metrics == nil ? nil : clock.now
        while batch.count < RoutingLoop.batchLimit && !open.isEmpty {
            open.removeAll { endpoint in
                if endpoint.channel == .control {
                    guard control < RoutingEngine.controlPerBatch else { return true }
                    control += 1
                }
                // A control request may be up to PartnerRequest.maxBytes, whatever ingest's limit.
                let limit = endpoint.channel == .control ? max(copyLimit, PartnerRequest.maxBytes) : copyLimit
                guard batch.count < RoutingLoop.batchLimit,
                      var received = endpoint.receive(copyLimit: limit, now: clock.wallMilliseconds) else { return true }
                received.takenAt = takenAt
                let channel = received.channel
                batch.append(received)
                if channel == .control { counters.controlRequests += 1 } else { counters.received += 1 }
                if channel == .intake { metricsFold?.intakeReceived += 1 }
                return false
            }
        }
        return batch
    }

    /// Validates, routes and commits one batch; it is answered and published once durable.
    ///
    /// A batch of ``pipelineBatch`` or more (a backlog) commits on the committer's thread
    /// while the routing thread goes on with the next one. At most one commit is in flight,
    /// and batches are committed, answered and published in the order they were routed.
    func process(_ batch: [Received], due: [String] = []) {
        let input = BatchInput(batch, due: due)
        // Partner actions and deadlines read cases from the store: it must hold every batch
        // routed before this one.
        if (!input.control.isEmpty || !input.due.isEmpty) && committing != nil { collectCommit(waiting: true) }
        var started = ContinuousClock.now
        var prepared = prepare(input)
        pauses.add(.route, since: started)
        if committing != nil, !collectCommit(waiting: true) {
            // The batch in flight failed and the pipeline went back to before it, which this
            // batch was routed on top of: route it again from there.
            started = ContinuousClock.now
            prepared = prepare(input)
            pauses.add(.route, since: started)
        }
        let ready: PreparedBatch
        switch prepared {
        case .failure(let failure):
            settleSyncs()
            failBatch(input.leads, failure.accepted, error: failure.error)
            failControl(input.control, error: failure.error)
            offers.reschedule(input.due)
            return
        case .success(let value):
            ready = value
        }
        let store = self.store, timer = metrics?.storeCommitSeconds
        let storeBatch = ready.storeBatch, published = ready.published
        if batch.count >= pipelineBatch {
            committer.start { Result { () throws(StoreError) in try store.commit(storeBatch, published: published, timer: timer) } }
            committing = ready
            return
        }
        started = ContinuousClock.now
        let result = Result { () throws(StoreError) in try store.commit(storeBatch, published: published, timer: timer) }
        pauses.add(.commit, since: started)
        committed(ready, result)
    }

    /// Runs `body` on ``pipeline`` in place. Reading the property inside a closure (`keys.map
    /// { pipeline.recentOwner($0) }`) copied the whole pipeline, a reference count for each of
    /// its fields and their release after: a few hundred atomic operations for every lead.
    @inline(__always)
    func withPipeline<R>(_ body: (inout LeadPipeline) -> R) -> R { body(&pipeline) }

    /// Validates, de-duplicates and routes a batch, and builds what its commit writes. Fails
    /// when the store could not be asked about its leads.
    func prepare(_ input: BatchInput) -> Result<PreparedBatch, LookUpFailure> {
        let batch = input.leads
        // Validate everything first, so one store look-up covers the batch's lead ids.
        let accepted = withPipeline { pipeline in batch.map { pipeline.accept($0.message, from: $0.channel) } }
        let caseInputs: CaseInputs
        do {
            caseInputs = try readCaseInputs(control: input.control, due: input.due)
        } catch {
            return .failure(LookUpFailure(error: error, accepted: accepted))
        }
        var ids: [String] = []
        // Each key once (a table, not a `Set`: two look-ups a lead on the routing thread).
        var accountKeys = StringTable<Bool>(minimumCapacity: batch.count * 2)
        // By index: iterating the arrays (or zipping them) copies each lead, a reference
        // count for each of its fields.
        withPipeline { pipeline in
            for i in accepted.indices {
                guard case .success(let lead) = accepted[i] else { continue }
                if !pipeline.hasRecentlyRouted(leadID: lead.facts.leadID) { ids.append(lead.facts.leadID) }
                // A key a lead not yet forgotten routed is the pipeline's to answer for the
                // whole batch (nothing is forgotten before it is routed): the store's owner of
                // it would go unread (LeadPipeline.route, and `isSame` in add(_:of:found:…)).
                pipeline.forEachKeyToLookUp(of: lead.facts.account) { key in _ = accountKeys.position(ofUTF8: key, default: true) }
            }
        }
        let found: (known: Set<String>, owners: StringTable<AccountOwner>)
        do {
            // Beside a commit in flight, a reader sees the store without that batch, whose
            // ids and owners the pipeline still remembers.
            found = try store.lookUp(leadIDs: ids, accountKeys: accountKeys.entries.map(\.key), besideCommit: committing != nil)
        } catch {
            return .failure(LookUpFailure(error: error, accepted: accepted))
        }

        let inStore = FoundInStore(found)
        let before = pipeline.savedForUndo()
        let generation = pipeline.beginBatch()
        var prepared = PreparedBatch(
            items: batch, accepted: accepted, storeBatch: StoreBatch(reservingFor: batch.count), replies: [], rejections: [],
            counts: PipelineCounters(), before: before, generation: generation, published: [:])
        prepared.control = input.control
        prepared.due = input.due
        prepared.keepsOfferedLeads = !caseInputs.isEmpty
        prepared.tally.perPartner = metrics?.perPartner ?? false
        prepared.storeBatch.createdAt = clock.wallMilliseconds
        // One decision serves the batch's leads in turn (LeadPipeline.route).
        var decision = RoutingDecision()
        for i in batch.indices {
            switch accepted[i] {
            case .failure(let rejection):
                add(rejection, of: batch[i], to: &prepared)
            case .success(let lead):
                add(lead, of: batch[i], found: inStore, decision: &decision, to: &prepared)
            }
        }
        addCaseWork(caseInputs, to: &prepared)
        addUpkeep(to: &prepared)
        return .success(prepared)
    }

    private func add(_ rejection: LeadRejection, of item: Received, to prepared: inout PreparedBatch) {
        let envelope = pipeline.reject(rejection, item.message, from: item.channel, now: item.receivedAt)
        let rejected = RejectedInput(rejection, of: item.message, from: item.channel)
        prepared.storeBatch.envelopes.append(envelope)
        // Stored with the envelope (not in it), so `leadctl explain` finds a rejected lead.
        prepared.storeBatch.envelopeLeadIDs.append(rejected.leadID)
        prepared.rejections.append(rejected)
        prepared.tally.arrived(item.takenAt)
        prepared.counts.rejected[rejection.code, default: 0] += 1
        prepared.counts.published += 1
        if item.channel == .intake {
            prepared.replies.append(Reply(channel: .intake, route: item.replyRoute, body: IntakeReply.rejected(rejection, leadID: rejected.leadID)))
        }
    }

    private func add(_ lead: ParsedLead, of item: Received, found: FoundInStore, decision: inout RoutingDecision,
                     to prepared: inout PreparedBatch) {
        let leadID = lead.facts.leadID
        var previousOwner: String?
        lead.facts.account.forEachKey { _, key in
            if previousOwner == nil { previousOwner = found.owners[utf8: key]?.partnerID }
        }
        // Its envelopes go straight into the batch's list.
        let outcome: LeadPipeline.AppendedOutcome
        if found.isKnown(leadID) {
            _ = pipeline.duplicate(leadID)
            outcome = .duplicate(leadID: leadID)
        } else {
            outcome = pipeline.route(lead, now: item.receivedAt, previousOwner: previousOwner,
                                     appendingTo: &prepared.storeBatch.envelopes, decision: &decision)
        }
        switch outcome {
        case .routed(_, let envelopes):
            if let partnerID = decision.partnerID {
                // Only owners that change what is stored: most leads of a returning account
                // go to its owner again, and writing that cost a look-up apiece.
                // Who leads not yet stored routed each account to before this one, as the
                // pipeline found while recording the new owner; else what the store holds.
                // The keys as the pipeline keeps them: no `String` made for a change.
                withPipeline { pipeline in
                    pipeline.forEachOwnerKey(of: lead.facts.account, as: decision.recentOwners) { k, key in
                        let unchanged = decision.recentOwners.isSame(at: k)
                            ?? found.owners[key]?.isCurrent(for: partnerID, at: prepared.storeBatch.createdAt) ?? false
                        if !unchanged { prepared.storeBatch.accountOwners.append(OwnerChange(key, partnerID)) }
                    }
                }
                prepared.counts.routedToPartner += 1
            } else {
                prepared.counts.unmatched += 1
            }
            prepared.counts.routed += 1
            prepared.tally.routed(decision, takenAt: item.takenAt)
            prepared.counts.published += envelopes.count
            prepared.storeBatch.add(routed: lead, channel: item.channel, receivedAt: item.receivedAt, decision: decision,
                                    envelopes: envelopes, partnerList: upkeep.partnerList)
            if let offered = decision.offered { addOffer(offered, lead: lead.raw.array, at: item.receivedAt, to: &prepared) }
            if !pipeline.followUpPolicies.isEmpty, let held = pipeline.takeHeldCase() {
                addHeld(held, lead: lead.raw.array, at: item.receivedAt, to: &prepared)
            }
            if item.channel == .intake {
                prepared.replies.append(Reply(channel: .intake, route: item.replyRoute, body: IntakeReply.accepted(leadID, decision: decision)))
            }
        case .duplicate:
            prepared.counts.duplicates += 1
            logger.debug("duplicate lead ignored", metadata: ["lead_id": "\(leadID)", "channel": "\(item.channel.rawValue)"])
            if item.channel == .intake {
                prepared.replies.append(Reply(channel: .intake, route: item.replyRoute, body: IntakeReply.duplicate(leadID)))
            }
        }
    }

    /// A lead offered rather than assigned: its case, stored and kept until its deadline.
    private func addOffer(_ offered: LeadCase, lead: @autoclosure () -> [UInt8], at now: Int64, to prepared: inout PreparedBatch) {
        guard let partner = offered.partnerID, let engagement = offered.engagement, let acceptBy = offered.deadline else { return }
        let event = CaseEvent.offered(partner: partner, engagement: engagement, acceptBy: acceptBy, attempt: offered.offers)
        prepared.storeBatch.cases.append(CaseWrite(lead: offered, history: event.historyLine(at: now), updatedAt: now))
        prepared.counts.offerEvents["offered", default: 0] += 1
        if prepared.keepsOfferedLeads { prepared.offeredLeads[offered.leadID] = lead() }
        offers.put(offered, generation: prepared.generation)
    }

    /// A lead assigned outright to a partner that follows its leads up: its case, stored and
    /// kept until its follow-up deadline.
    private func addHeld(_ held: LeadCase, lead: @autoclosure () -> [UInt8], at now: Int64, to prepared: inout PreparedBatch) {
        guard let partner = held.partnerID, let engagement = held.engagement else { return }
        let event = CaseEvent.assigned(partner: partner, engagement: engagement, attempt: held.offers)
        prepared.storeBatch.cases.append(CaseWrite(lead: held, history: event.historyLine(at: now), updatedAt: now))
        if prepared.keepsOfferedLeads { prepared.offeredLeads[held.leadID] = lead() }
        offers.put(held, generation: prepared.generation)
    }

    /// Capacity windows are saved with the decisions that filled them; rotation counters go
    /// a share per commit, oldest change first (and all at shutdown): losing the latest in a
    /// crash only nudges fairness, and saving them all with every commit would cost more
    /// than routing. Published watermarks ride along at most once a second (and at
    /// shutdown): after a crash, at most that much of the feed is published again, with the
    /// same `seq`s.
    private func addUpkeep(to prepared: inout PreparedBatch) {
        let now = clock.now
        let rotationLimit = upkeep.rotationShare(pending: pipeline.pendingRotationStates, now: now)
        prepared.storeBatch.partnerStates = pipeline.takeChangedPartnerStates(rotationLimit: rotationLimit)
        if rotationLimit > 0 { prepared.rotationSave = now }
        if now - upkeep.lastPublishedSave >= StoreUpkeep.publishedSaveInterval {
            // A share a commit, until a commit's share is all that was left.
            prepared.published = feed.unsaved(limit: StoreUpkeep.publishedPerSave)
            if feed.unsavedCount <= StoreUpkeep.publishedPerSave { upkeep.lastPublishedSave = now }
        }
    }

    /// After a batch's commit: releases it once durable, or undoes and fails it.
    func committed(_ batch: PreparedBatch, _ result: Result<Void, StoreError>) {
        if case .failure(let error) = result {
            // Back to before the batch (and any batch routed on top of it since).
            pipeline.restore(batch.before)
            offers.rollBack(from: batch.generation)
            // Batches committed before this one are answered first.
            settleSyncs()
            failBatch(batch.items, batch.accepted, error: error)
            failControl(batch.control, error: error)
            return
        }
        feed.saved(batch.published)
        pipeline.forgetRecent(through: batch.generation)
        offers.forget(through: batch.generation)
        if let rotationSave = batch.rotationSave { upkeep.lastRotationSave = rotationSave }
        if storageFailing {
            storageFailing = false
            notifier.notify("STATUS=routing leads")
            logger.notice("the store accepts writes again; routing resumed")
        }
        let done = CommittedBatch(
            replies: batch.replies, rejections: batch.rejections, envelopes: batch.storeBatch.envelopes,
            ingestLeadIDs: batch.storeBatch.leads.compactMap { $0.channel == InboundChannel.ingest.rawValue ? $0.leadID : nil },
            counts: batch.counts, tally: batch.tally)
        perform(durability.committed(done, now: clock.now))
        finishCheckpointIfLogIsLong(.heavy, now: clock.now)
    }

    /// The store cannot take the batch: nothing in it is acknowledged or published. Intake
    /// clients are told `rejected` with `storage_unavailable` (their retries are safe), and
    /// leads that came by SUB are reported in the log, since no one can be answered.
    func failBatch(_ batch: [Received], _ accepted: [Result<ParsedLead, LeadRejection>], error: StoreError) {
        storageFailures += batch.count
        if !storageFailing {
            storageFailing = true
            notifier.notify("STATUS=store failing: \(error.description.prefix(200))")
        }
        let now = clock.now
        let lost = zip(batch, accepted).compactMap { item, result -> String? in
            guard item.channel == .ingest, let lead = try? result.get() else { return nil }
            return lead.facts.leadID
        }
        duties.logStorageFailure(error: error, ingestLeadIDs: lost, intakeCount: batch.count { $0.channel == .intake }, now: now)
        for (item, result) in zip(batch, accepted) {
            if case .failure(let rejection) = result { duties.logRejection(RejectedInput(rejection, of: item.message, from: item.channel), now: now) }
        }
        guard let intake = sockets.intake else { return }
        for (item, result) in zip(batch, accepted) where item.channel == .intake {
            switch result {
            case .success(let lead):
                let rejection = LeadRejection(.storageUnavailable, "the lead could not be stored (\(error.description)); it was not accepted: retry later")
                intake.reply(item.replyRoute, IntakeReply.rejected(rejection, leadID: lead.facts.leadID))
            case .failure(let rejection):
                let leadID = LeadParser.rejectedLeadID(item.message, from: item.channel, code: rejection.code)
                intake.reply(item.replyRoute, IntakeReply.rejected(rejection, leadID: leadID))
            }
        }
    }
}

/// What the store knows of a batch's leads and accounts (``RoutingStore/lookUp(leadIDs:accountKeys:besideCommit:)``),
/// in the form the routing thread asks it several times a lead: owners in a ``StringTable``.
struct FoundInStore {
    let known: Set<String>
    let owners: StringTable<AccountOwner>

    init(_ found: (known: Set<String>, owners: StringTable<AccountOwner>)) {
        known = found.known
        owners = found.owners
    }

    /// Whether the store holds `leadID` (no hashing when it holds none of the batch's, as usual).
    func isKnown(_ leadID: String) -> Bool { !known.isEmpty && known.contains(leadID) }
}
