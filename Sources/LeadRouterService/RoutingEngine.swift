import LeadRouting
import LeadStore
import Logging
import ZeroMQ

/// The routing thread's state, in parts that each own theirs, and what the thread does with
/// them each turn. Created and used on that thread only (see ``RoutingLoop``).
///
/// - ``pipeline``: validation, de-duplication and routing (pure, from LeadRouting);
/// - ``durability``: when committed batches may be released (a pure state machine);
/// - ``feed``: published `seq`s and heartbeats (pure);
/// - ``deadlines``: every timed duty, which sets the poll timeout;
/// - ``upkeep``: when watermarks, rotation counters and checkpoints were last seen to;
/// - the sockets' handlers, the committer and syncer threads, and the counters.
final class RoutingEngine {
    /// The config in force: its rules change on a reload (``applyReload(_:)``).
    var config: RouterConfig
    let store: any RoutingStore
    let logger: Logger
    let notifier: SystemdNotifier
    let clock: any LoopClock
    let pipelineBatch: Int
    let sockets: DaemonSockets
    /// With CURVE: who each key belongs to (control requests act for their key's partner),
    /// shared with the ZAP handler and replay; a reload replaces them.
    let keys: LiveKeys

    var pipeline: LeadPipeline
    /// Cases waiting on a deadline: open offers, pools and follow-ups.
    var offers: OfferBook
    var durability: Durability<CommittedBatch>
    var feed: Feed
    /// What replay may serve: the feed's watermarks, shared with the replay thread.
    let watermarks: FeedWatermarks
    var deadlines = Deadlines<LoopTimer, ContinuousClock.Instant>()
    var upkeep: StoreUpkeep
    var duties: LoopDuties
    /// What the loop has received and released, for the stats line. Kept outside
    /// ``pipeline``, so a batch undone after a failed commit does not take back what was seen.
    var counters = PipelineCounters()
    /// With metrics on: what the loop counted and has not yet folded into the instruments.
    /// Changed in place only (`metricsFold?.…`): reading it whole copies every array in it.
    var metricsFold: MetricsFold?
    /// With metrics on, the instruments (as in ``metricsFold``, read without copying it).
    let metrics: RouterMetrics?
    /// How long the routing thread's blocking steps took (``LoopPauses``).
    var pauses: LoopPauses

    /// Commits a batch of ``pipelineBatch`` or more while the next is routed; `committing`
    /// is the batch whose commit is in flight.
    let committer: WorkerThread
    var committing: PreparedBatch?
    /// Syncs the store's log (`durability: full`), when the store leaves that to the loop.
    let syncer: WorkerThread?
    /// Messages received while a sync was in flight, waiting for it to end.
    var held: [Received] = []
    var storageFailing = false
    /// A socket was replaced (the feed rebuilt): the loop polls the new one.
    var socketsChanged = false
    var storageFailures = 0

    init(loop: RoutingLoop, sockets: DaemonSockets, recovered: inout RecoveredState, watermarks: FeedWatermarks) {
        self.watermarks = watermarks
        config = loop.config
        store = loop.store
        logger = loop.logger
        notifier = loop.notifier
        clock = loop.clock
        pipelineBatch = loop.pipelineBatch
        keys = loop.liveKeys
        self.sockets = sockets
        let now = clock.now
        pipeline = LeadPipeline(
            config: config, lastSeq: recovered.topicStates.mapValues(\.lastSeq), seed: UInt64.random(in: .min ... .max),
            partnerStates: recovered.partnerStates, registrations: recovered.registrations)
        let building = ContinuousClock.now
        offers = OfferBook(open: recovered.takeOpenCases())
        // Offers to partners no longer configured (removed while the daemon was down) move on now.
        let configured = Set(config.partners.map(\.id))
        let gone = offers.partnerIDs.subtracting(configured)
        let movedOn = offers.expedite(offeredTo: gone, now: clock.wallMilliseconds, generation: 0)
        if !movedOn.isEmpty {
            loop.logger.notice("open offers of partners no longer configured move on", metadata: ["count": "\(movedOn.count)"])
        }
        if offers.count > 0 {
            loop.logger.notice("open offers scheduled", metadata: [
                "count": "\(offers.count)", "ms": "\((ContinuousClock.now - building) / .milliseconds(1))",
            ])
        }
        durability = Durability(syncsLog: store.syncsLogOnRequest)
        feed = Feed(published: recovered.topicStates.mapValues(\.publishedSeq), topics: recovered.feedTopics(config),
                    heartbeatEvery: .milliseconds(config.publish.heartbeatMilliseconds))
        // A store that cannot take the partner list now (a full disk) does not stop start-up:
        // decision records then name the partners.
        upkeep = StoreUpkeep(now: now, registrationsVersion: recovered.registrationsVersion,
                             partnerList: RoutingEngine.partnerListID(of: pipeline.router, in: store, logger: logger, new: false))
        duties = LoopDuties(notifier: notifier, logger: logger, now: now)
        metricsFold = loop.metrics.map { MetricsFold(metrics: $0, now: now) }
        metrics = loop.metrics
        pauses = LoopPauses(keepsForMetrics: loop.metrics != nil)
        let wakeup = loop.wakeup
        committer = WorkerThread(label: "lr-commit") { wakeup.signal() }
        syncer = store.syncsLogOnRequest ? WorkerThread(label: "lr-log-sync") { wakeup.signal() } : nil
        scheduleTimers(now: now)
    }

    /// Whether a log sync failed: the loop stops.
    var hasFailed: Bool { durability.failure != nil }

    /// One turn, after the poll returned: collect what the store's threads finished, answer
    /// requests, take and process a batch, then do what is due.
    func turn() {
        collectCommit(waiting: false)
        collectSync()
        if hasFailed { return }
        if sockets.feed.takeSubscriptions() { socketsChanged = true }
        let waiting = held.count
        var batch = takeBatch()
        let light = upkeep.isLight(after: batch.count - waiting, now: clock.now)
        if keys.hasRevoked { dropRevoked(&batch) }
        if durability.shouldHold(batchOf: batch.count) {
            // A batch committed now would wait for the next sync all the same: hold it until
            // this one ends, and commit what arrived meanwhile with it. Under a backlog,
            // commit beside the sync instead.
            held = batch
        } else {
            // Deadlines that passed (while the daemon was down, too) fire with the batch.
            let due = takeDueCases()
            if !batch.isEmpty || !due.isEmpty { process(batch, due: due) }
            // Under light traffic a long log is finished between batches too (StoreUpkeep).
            if light && !batch.isEmpty { finishCheckpointIfLogIsLong(.light, now: clock.now) }
        }
        if !batch.isEmpty || !held.isEmpty {
            // Finishing a checkpoint when idle waits until the traffic pauses.
            deadlines.schedule(.idleCheckpoint, at: clock.now + StoreUpkeep.quietBeforeFinish)
        }
        fireDueTimers()
        foldMetrics(batchSize: batch.count)
    }

    /// Ends the committer and syncer threads once their jobs are done.
    func stopWorkers() {
        committer.stop()
        syncer?.stop()
    }

    // MARK: - Timers

    /// Everything the loop does at a time rather than on a message.
    enum LoopTimer: Hashable {
        case heartbeats, watchdog, stats, suppressedLogs, savePublished, saveRotation, registrations, idleCheckpoint, hungSync
    }

    private func scheduleTimers(now: ContinuousClock.Instant) {
        deadlines.schedule(.heartbeats, at: now)
        if let every = duties.watchdogEvery { deadlines.schedule(.watchdog, at: now + every) }
        deadlines.schedule(.stats, at: now + LoopDuties.statsEvery)
        deadlines.schedule(.suppressedLogs, at: now + .seconds(1))
        deadlines.schedule(.savePublished, at: now + StoreUpkeep.publishedSaveInterval)
        deadlines.schedule(.saveRotation, at: now + StoreUpkeep.rotationSaveInterval)
        deadlines.schedule(.registrations, at: now + StoreUpkeep.registrationsCheckEvery)
        deadlines.schedule(.idleCheckpoint, at: now + StoreUpkeep.quietBeforeFinish)
    }

    /// How long the poll may wait: until the next deadline, at most a second.
    func pollTimeoutMilliseconds() -> Int {
        if let hang = durability.hangDeadline, deadlines.deadline(of: .hungSync) != hang {
            deadlines.schedule(.hungSync, at: hang)
        }
        var waitMilliseconds = 1000
        if let next = deadlines.next {
            let wait = next - clock.now
            if wait <= .zero { return 0 }
            waitMilliseconds = min(waitMilliseconds, Int((wait / .milliseconds(1)).rounded(.up)))
        }
        if let offerDeadline = offers.nextDeadline {
            let wait = offerDeadline - clock.wallMilliseconds
            if wait <= 0 { return 0 }
            waitMilliseconds = min(waitMilliseconds, Int(wait))
        }
        return waitMilliseconds
    }

    func fireDueTimers() {
        let now = clock.now
        for timer in deadlines.takeDue(now: now) {
            // Finishing a checkpoint counts as a pause of its own (`checkpoint`).
            let started = ContinuousClock.now
            defer { if timer != .idleCheckpoint { pauses.add(.timers, since: started) } }
            switch timer {
            case .heartbeats:
                sendHeartbeats(now: now)
                deadlines.schedule(.heartbeats, at: feed.nextHeartbeatPass(after: now))
            case .watchdog:
                duties.pingWatchdog(healthy: syncIsHealthy(now: now))
                if let every = duties.watchdogEvery { deadlines.schedule(.watchdog, at: now + every) }
            case .stats:
                duties.logStats(counters)
                deadlines.schedule(.stats, at: now + LoopDuties.statsEvery)
            case .suppressedLogs:
                duties.reportSuppressed()
                deadlines.schedule(.suppressedLogs, at: now + .seconds(1))
            case .savePublished:
                // A share at a time, the rest at the next pass, so leads get in between.
                let more = committing == nil && now - upkeep.lastPublishedSave >= StoreUpkeep.publishedSaveInterval
                    && persistPublishedShare(now: now)
                deadlines.schedule(.savePublished, at: more ? now : max(now, upkeep.lastPublishedSave) + StoreUpkeep.publishedSaveInterval)
            case .saveRotation:
                persistRotationWhenQuiet(now: now)
                deadlines.schedule(.saveRotation, at: max(now, upkeep.lastRotationSave) + StoreUpkeep.rotationSaveInterval)
            case .registrations:
                reloadRegistrationsIfChanged()
                deadlines.schedule(.registrations, at: now + StoreUpkeep.registrationsCheckEvery)
            case .idleCheckpoint:
                finishCheckpointIfLogIsLong(.idle, now: now)
                deadlines.schedule(.idleCheckpoint, at: now + .seconds(1))
            case .hungSync:
                _ = syncIsHealthy(now: now)
            }
        }
    }

    // MARK: - Publishing

    /// Publishes on the feed. Replay's watermarks are recorded by the caller, once per batch
    /// (``release(_:)`` before the replies, ``republishUnpublished(_:)`` at start-up).
    func publish(_ messages: [OutgoingMessage]) {
        let now = clock.now
        for message in messages {
            feed.didPublish(message, at: now)
            sockets.feed.publish(message)
        }
    }

    private func sendHeartbeats(now: ContinuousClock.Instant) {
        let sentAt = Timestamp.rfc3339(millisecondsSince1970: clock.wallMilliseconds)
        for heartbeat in feed.heartbeats(now: now, sentAt: sentAt) {
            sockets.feed.heartbeat(topic: heartbeat.topic, body: heartbeat.body)
        }
    }

    /// Publishes what was committed but not yet published before the last stop or crash.
    func republishUnpublished(_ states: [String: TopicState]) throws {
        var republished = 0
        for (topic, topicState) in states.sorted(by: { $0.key < $1.key }) where topicState.lastSeq > topicState.publishedSeq {
            var next = topicState.publishedSeq + 1
            while next <= topicState.lastSeq {
                let messages: [OutgoingMessage]
                do { messages = try store.envelopes(topic: topic, fromSeq: next, limit: 10_000, throughSeq: .max) } catch {
                    throw StartupError("\(error)")
                }
                guard let last = messages.last else { break }
                watermarks.record([topic: last.seq])
                publish(messages)
                republished += messages.count
                next = last.seq + 1
            }
        }
        if republished > 0 {
            logger.notice("published envelopes committed before the last stop", metadata: ["count": "\(republished)"])
            persistPublished(now: clock.now)
        }
    }
}
