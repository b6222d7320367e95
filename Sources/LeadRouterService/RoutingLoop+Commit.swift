import Foundation
import LeadRouting
import LeadStore
import Logging
import ZeroMQ

/// A batch's way from routing to its commit: validated and routed on the routing thread,
/// committed there or, under a backlog, by the committer while the next batch is routed,
/// then released once durable (see RoutingLoop+Durability.swift), or refused as a whole.
extension RoutingLoop {
    /// One batch on its way through: validated and routed, waiting for or in its commit.
    struct PreparedBatch {
        var items: [Received]
        var accepted: [Result<ParsedLead, LeadRejection>]
        var storeBatch: StoreBatch
        var replies: [(route: [[UInt8]], body: [UInt8])]
        var rejections: [LeadRejection]
        /// The pipeline before this batch was routed: restored if its commit fails (undoing
        /// any batch routed on top of it as well).
        var before: LeadPipeline
        var generation: Int
        /// The published watermarks committed with it.
        var published: [String: Int]
        /// When it was prepared, if it saves a share of the rotation counters.
        var rotationSave: ContinuousClock.Instant?
    }

    /// The store could not be asked about a batch's leads.
    struct LookUpFailure: Error {
        var error: StoreError
        var accepted: [Result<ParsedLead, LeadRejection>]
    }

    /// Validates, routes and commits one batch; it is answered and published once durable.
    ///
    /// A batch of ``pipelineBatch`` or more (a backlog) commits on the committer's thread
    /// while the routing thread goes on with the next one. At most one commit is in flight,
    /// and batches are committed, answered and published in the order they were routed.
    func process(_ batch: [Received], sockets: Sockets, state: inout LoopState) {
        var prepared = prepare(batch, state: &state)
        if state.committing != nil, !collectCommit(waiting: true, sockets: sockets, state: &state) {
            // The batch in flight failed and the pipeline went back to before it, which this
            // batch was routed on top of: route it again from there.
            prepared = prepare(batch, state: &state)
        }
        let ready: PreparedBatch
        switch prepared {
        case .failure(let failure):
            settleSyncs(sockets: sockets, state: &state)
            failBatch(batch, failure.accepted, error: failure.error, sockets: sockets, state: &state)
            return
        case .success(let value):
            ready = value
        }
        if let committer = state.committer, batch.count >= pipelineBatch {
            let store = self.store
            let storeBatch = ready.storeBatch, published = ready.published
            committer.start { () throws(StoreError) in try store.commit(storeBatch, published: published) }
            state.committing = ready
            return
        }
        let result = Result { () throws(StoreError) in try store.commit(ready.storeBatch, published: ready.published) }
        committed(ready, result, sockets: sockets, state: &state)
    }

    /// Handles the outcome of the commit in flight once it has ended, first waiting for it
    /// when `waiting`; false when it failed.
    @discardableResult
    func collectCommit(waiting: Bool, sockets: Sockets, state: inout LoopState) -> Bool {
        guard let inFlight = state.committing, let committer = state.committer,
              let result = waiting ? committer.waitForResult() : committer.result() else { return true }
        state.committing = nil
        committed(inFlight, result, sockets: sockets, state: &state)
        return (try? result.get()) != nil
    }

    /// Validates, de-duplicates and routes a batch, and builds what its commit writes. Fails
    /// when the store could not be asked about its leads.
    func prepare(_ batch: [Received], state: inout LoopState) -> Result<PreparedBatch, LookUpFailure> {
        state.pipeline.countReceived(batch.count)
        // Validate everything first, so one store look-up covers the batch's lead ids.
        let accepted = batch.map { state.pipeline.accept($0.message, from: $0.channel) }
        var ids: [String] = []
        var accountKeys = Set<String>()
        for case .success(let lead) in accepted {
            if !state.pipeline.hasRecentlyRouted(leadID: lead.facts.leadID) { ids.append(lead.facts.leadID) }
            accountKeys.formUnion(lead.facts.account.all)
        }
        let known: Set<String>
        let owners: [String: AccountOwner]
        do {
            // Beside a commit in flight, a reader sees the store without that batch, whose
            // ids and owners the pipeline still remembers.
            (known, owners) = try store.lookUp(leadIDs: ids, accountKeys: Array(accountKeys), besideCommit: state.committing != nil)
        } catch {
            return .failure(LookUpFailure(error: error, accepted: accepted))
        }

        let before = state.pipeline
        let generation = state.pipeline.beginBatch()
        var storeBatch = StoreBatch()
        storeBatch.createdAt = RoutingLoop.nowMilliseconds()
        var replies: [(route: [[UInt8]], body: [UInt8])] = []
        var rejections: [LeadRejection] = []
        for (item, result) in zip(batch, accepted) {
            switch result {
            case .failure(let rejection):
                let envelope = state.pipeline.reject(rejection, item.message, from: item.channel, now: item.receivedAt)
                storeBatch.envelopes.append(envelope)
                storeBatch.envelopeLeadIDs.append(nil)
                rejections.append(rejection)
                if item.channel == .intake {
                    let leadID = item.message.frames.count == 1 ? LeadParser.readableLeadID(item.message.frames[0]) : nil
                    replies.append((item.replyRoute, IntakeReply.rejected(rejection, leadID: leadID)))
                }
            case .success(let lead):
                let leadID = lead.facts.leadID
                let keys = lead.facts.account.all
                let previousOwner = keys.lazy.compactMap { owners[$0]?.partnerID }.first
                // Who leads not yet stored routed each account to, before this one.
                let recent = keys.map { state.pipeline.recentOwner($0) }
                let outcome = known.contains(leadID)
                    ? state.pipeline.duplicate(leadID)
                    : state.pipeline.route(lead, now: item.receivedAt, previousOwner: previousOwner)
                switch outcome {
                case .routed(_, let decision, let messages):
                    if let partnerID = decision.partnerID {
                        // Only owners that change what is stored: most leads of a returning
                        // account go to its owner again, and writing that cost a look-up apiece.
                        for (key, recent) in zip(keys, recent) {
                            let unchanged = recent.map { $0 == partnerID }
                                ?? owners[key]?.isCurrent(for: partnerID, at: storeBatch.createdAt) ?? false
                            if !unchanged { storeBatch.accountOwners.append((key, partnerID)) }
                        }
                    }
                    storeBatch.add(routed: lead, channel: item.channel, receivedAt: item.receivedAt, decision: decision,
                                   messages: messages, partnerList: state.partnerList)
                    if item.channel == .intake { replies.append((item.replyRoute, IntakeReply.accepted(leadID, decision: decision))) }
                case .duplicate:
                    logger.debug("duplicate lead ignored", metadata: ["lead_id": "\(leadID)", "channel": "\(item.channel.rawValue)"])
                    if item.channel == .intake { replies.append((item.replyRoute, IntakeReply.duplicate(leadID))) }
                case .rejected:
                    break  // accept() already vetted the lead
                }
            }
        }

        // Capacity windows are saved with the decisions that filled them. Rotation counters go
        // a share per commit, oldest change first (and all at shutdown): each window of
        // `rotationSaveInterval` saves, spread over its commits, as many as were waiting when it
        // began, so a change waits at most about two windows. Losing the latest in a crash only
        // nudges fairness, and saving them all with every commit would cost more than routing.
        let now = ContinuousClock.now
        if now - state.rotationWindowStart >= RoutingLoop.rotationSaveInterval {
            state.rotationWindowStart = now
            state.rotationWindowPending = state.pipeline.pendingRotationStates
        }
        let share = min(1, (now - state.lastRotationSave) / RoutingLoop.rotationSaveInterval)
        let rotationLimit = Int((Double(state.rotationWindowPending) * share).rounded(.up))
        storeBatch.partnerStates = state.pipeline.takeChangedPartnerStates(rotationLimit: rotationLimit)
        // Published watermarks ride along at most once a second (and at shutdown): after a
        // crash, at most that much of the feed is published again, with the same `seq`s.
        var published: [String: Int] = [:]
        if now - state.lastPublishedSave >= RoutingLoop.publishedSaveInterval {
            published = state.unsavedPublished
            state.lastPublishedSave = now
        }
        return .success(PreparedBatch(
            items: batch, accepted: accepted, storeBatch: storeBatch, replies: replies, rejections: rejections,
            before: before, generation: generation, published: published, rotationSave: rotationLimit > 0 ? now : nil))
    }

    /// After a batch's commit: releases it once durable, or undoes and fails it.
    func committed(_ batch: PreparedBatch, _ result: Result<Void, StoreError>, sockets: Sockets, state: inout LoopState) {
        if case .failure(let error) = result {
            // Back to before the batch (and any batch routed on top of it since).
            state.pipeline = batch.before
            // Batches committed before this one are answered first.
            settleSyncs(sockets: sockets, state: &state)
            failBatch(batch.items, batch.accepted, error: error, sockets: sockets, state: &state)
            return
        }
        // Watermarks published since were newer: those stay to be saved.
        for (topic, seq) in batch.published where state.unsavedPublished[topic] == seq {
            state.unsavedPublished[topic] = nil
        }
        state.pipeline.forgetRecent(through: batch.generation)
        if let rotationSave = batch.rotationSave { state.lastRotationSave = rotationSave }
        if state.storageFailing {
            state.storageFailing = false
            notifier.notify("STATUS=routing leads")
            logger.notice("the store accepts writes again; routing resumed")
        }
        let committed = CommittedBatch(
            replies: batch.replies, rejections: batch.rejections, envelopes: batch.storeBatch.envelopes,
            ingestLeadIDs: batch.storeBatch.leads.compactMap { $0.channel == InboundChannel.ingest.rawValue ? $0.leadID : nil })
        if state.syncer != nil {
            state.unsynced.append(committed)
            // Releases what an ended sync covered (finishing a checkpoint below may take
            // milliseconds) and starts the next, for this batch.
            collectSync(sockets: sockets, state: &state)
        } else {
            release(committed, sockets: sockets, state: &state)
        }
        finishCheckpointIfLogIsLong(idle: false, state: &state)
    }

    /// The store cannot take the batch: nothing in it is acknowledged or published. Intake
    /// clients are told `rejected` with `storage_unavailable` (their retries are safe), and
    /// leads that came by SUB are reported in the log, since no one can be answered.
    func failBatch(_ batch: [Received], _ accepted: [Result<ParsedLead, LeadRejection>], error: StoreError, sockets: Sockets, state: inout LoopState) {
        state.storageFailures += batch.count
        if !state.storageFailing {
            state.storageFailing = true
            notifier.notify("STATUS=store failing: \(error.description.prefix(200))")
        }
        let lost = zip(batch, accepted).compactMap { item, result -> String? in
            guard item.channel == .ingest, let lead = try? result.get() else { return nil }
            return lead.facts.leadID
        }
        state.duties.logStorageFailure(error: error, ingestLeadIDs: lost, intakeCount: batch.count { $0.channel == .intake })
        for case .failure(let rejection) in accepted { state.duties.logRejection(rejection) }
        guard let intake = sockets.intake else { return }
        for (item, result) in zip(batch, accepted) where item.channel == .intake {
            switch result {
            case .success(let lead):
                let rejection = LeadRejection(.storageUnavailable, "the lead could not be stored (\(error.description)); it was not accepted: retry later")
                sendReply(item.replyRoute, [IntakeReply.rejected(rejection, leadID: lead.facts.leadID)], on: intake)
            case .failure(let rejection):
                let leadID = item.message.frames.count == 1 ? LeadParser.readableLeadID(item.message.frames[0]) : nil
                sendReply(item.replyRoute, [IntakeReply.rejected(rejection, leadID: leadID)], on: intake)
            }
        }
    }
}
