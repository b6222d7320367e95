import LeadRouting
import LeadStore
import Logging

/// When the routing thread last saw to the store's upkeep: published watermarks, rotation
/// counters, finished checkpoints and run-time registrations.
struct StoreUpkeep {
    var lastPublishedSave: ContinuousClock.Instant
    var publishedSaveFailing = false
    var lastRotationSave: ContinuousClock.Instant
    /// The current rotation-save window: when it began, and how many changes were waiting then.
    var rotationWindowStart: ContinuousClock.Instant
    var rotationWindowPending = 0
    var lastCheckpointFinish: ContinuousClock.Instant
    /// The traffic's current window (``loadWindow``): when it began and the messages taken
    /// since; and the rate of the window before, in messages a second (none yet: infinite).
    var loadWindowStart: ContinuousClock.Instant
    var loadWindowMessages = 0
    var lastWindowRate = Double.infinity
    /// The store's completed checkpoints when the loop last finished one.
    var checkpointsSeen = 0
    /// Since when the background checkpoints have left less than ``lightFinishBacklog`` of the
    /// log uncopied (`nil`: the last one left more).
    var smallBacklogSince: ContinuousClock.Instant?
    var registrationsVersion: Int64
    /// The store's id for the configured partner list, which decision records index into.
    var partnerList: Int64?

    /// Changed rotation counters are saved within about this long (and all at shutdown),
    /// a share with each commit, so no commit stalls to write every partner's at once.
    static let rotationSaveInterval = Duration.seconds(5)
    /// How often the published watermarks (what start-up publishes again) are saved.
    static let publishedSaveInterval = Duration.seconds(1)
    /// At most this many topics' watermarks are saved at once (a commit that carries them,
    /// or the timer between commits), those unsaved longest first, until every one is: with
    /// 1,000 partner topics, saving all in one commit made that commit write a row of
    /// `topics` for each, a pause of a millisecond or more on the routing thread once a
    /// second (docs/benchmarks.md).
    static let publishedPerSave = 128
    /// How often run-time registrations (`leadctl register`) are looked for.
    static let registrationsCheckEvery = Duration.seconds(1)
    /// When the write-ahead log holds more than this many pages (16 MB of 4 KB pages) and no
    /// lead is waiting, the routing thread finishes a checkpoint itself, so the next commit
    /// starts the log afresh (see ``LeadStore/finishCheckpoint()``).
    static let walFinishPagesWhenIdle = 4_096
    /// How long without a message before the loop counts as idle: a loop pass that finds
    /// nothing between two leads of a steady stream is not.
    static let quietBeforeFinish = Duration.milliseconds(250)
    /// Under light traffic (``lightMessagesPerSecond``), past this many pages (64 MB) the
    /// routing thread finishes a checkpoint between batches too, once the background one has
    /// left less than ``lightFinishBacklog`` uncopied: a few milliseconds at 1,000 leads/s,
    /// which hold the few leads that arrive meanwhile. A log left long (after a burst, say)
    /// is otherwise written on into blocks its file never had, which makes each commit and
    /// each sync dearer once the traffic grows again (docs/benchmarks.md, "A log started
    /// afresh under light traffic").
    static let walFinishPagesWhenLight = 16_384
    static let lightFinishBacklog = 4_096
    /// …and only once the background checkpoints have left less than that for this long.
    /// Right after a burst they have just copied the burst's log into the database file, and
    /// the sync that ends the finish made the disk write all of it out: 170-290 ms on the
    /// routing thread in half the runs after the bench's 200,000-lead burst, against 3-6 ms
    /// when the finish came two seconds later (docs/benchmarks.md, "A log started afresh
    /// under light traffic").
    static let lightFinishSettle = Duration.seconds(3)
    /// Light traffic: fewer messages a second than this, over the last ``loadWindow`` and so
    /// far in the current one.
    static let lightMessagesPerSecond = 2_000.0
    static let loadWindow = Duration.milliseconds(200)
    /// Past this many pages (1 GB), it does so between commits even under load: finishing
    /// makes that commit wait for the rest of the log to be copied and synced (tens of
    /// milliseconds), so it is kept for when the log would otherwise grow without bound.
    static let walFinishPagesUnderLoad = 262_144

    init(now: ContinuousClock.Instant, registrationsVersion: Int64, partnerList: Int64?) {
        lastPublishedSave = now
        lastRotationSave = now
        rotationWindowStart = now - .seconds(3600)
        lastCheckpointFinish = now
        loadWindowStart = now
        self.registrationsVersion = registrationsVersion
        self.partnerList = partnerList
    }

    /// Counts `messages` newly taken at `now`, and says whether the traffic is light: under
    /// ``lightMessagesPerSecond`` in the last whole window and so far in this one (counted
    /// over at least 20 ms, so that a burst that has just begun is not light).
    mutating func isLight(after messages: Int, now: ContinuousClock.Instant) -> Bool {
        loadWindowMessages += messages
        let elapsed = (now - loadWindowStart) / .seconds(1)
        if elapsed >= StoreUpkeep.loadWindow / .seconds(1) {
            lastWindowRate = Double(loadWindowMessages) / elapsed
            loadWindowStart = now
            loadWindowMessages = 0
            return lastWindowRate < StoreUpkeep.lightMessagesPerSecond
        }
        return lastWindowRate < StoreUpkeep.lightMessagesPerSecond
            && Double(loadWindowMessages) / max(elapsed, 0.02) < StoreUpkeep.lightMessagesPerSecond
    }

    /// Rotation counters are saved at most this often: a commit that saves even one writes a
    /// page of `partner_state`, and at light traffic, with a commit a lead, one saved in each
    /// commit was a ninth of the pages the log took.
    static let rotationSaveSpacing = Duration.milliseconds(100)

    /// How many changed rotation counters a commit at `now` saves: each window of
    /// ``rotationSaveInterval`` saves, spread over its commits at least
    /// ``rotationSaveSpacing`` apart, as many as were waiting when it began, so a change
    /// waits at most about two windows.
    mutating func rotationShare(pending: Int, now: ContinuousClock.Instant) -> Int {
        if now - rotationWindowStart >= StoreUpkeep.rotationSaveInterval {
            rotationWindowStart = now
            rotationWindowPending = pending
        }
        guard now - lastRotationSave >= StoreUpkeep.rotationSaveSpacing else { return 0 }
        let share = min(1, (now - lastRotationSave) / StoreUpkeep.rotationSaveInterval)
        return Int((Double(rotationWindowPending) * share).rounded(.up))
    }
}

extension RoutingEngine {
    /// Records the published watermarks not yet saved.
    func persistPublished(now: ContinuousClock.Instant) {
        let unsaved = feed.unsaved
        guard !unsaved.isEmpty else { return }
        if recordPublished(unsaved) { feed.savedAll() }
        upkeep.lastPublishedSave = now
    }

    /// Between commits: saves a share of the watermarks (``StoreUpkeep/publishedPerSave``),
    /// and says whether some are left to save now (the interval having passed since every one
    /// was last saved).
    func persistPublishedShare(now: ContinuousClock.Instant) -> Bool {
        let share = feed.unsaved(limit: StoreUpkeep.publishedPerSave)
        guard !share.isEmpty, recordPublished(share) else {
            upkeep.lastPublishedSave = now
            return false
        }
        feed.saved(share)
        if feed.unsavedCount == 0 { upkeep.lastPublishedSave = now }
        return feed.unsavedCount > 0
    }

    /// Saves every changed rotation counter once no commit has saved any for
    /// ``StoreUpkeep/rotationSaveInterval``: commits save them a share at a time, and without
    /// more commits (a lead, then quiet) those left waiting were lost in a crash however long
    /// ago their leads were acknowledged; a daemon killed again and again then gave every lead
    /// to the same partner. Only between commits, so the counters saved are those of
    /// batches already stored.
    func persistRotationWhenQuiet(now: ContinuousClock.Instant) {
        guard committing == nil, pipeline.pendingRotationStates > 0,
              now - upkeep.lastRotationSave >= StoreUpkeep.rotationSaveInterval else { return }
        upkeep.lastRotationSave = now
        saveChangedRotation()
    }

    /// Commits every changed rotation counter on its own (when quiet, and at a clean stop).
    func saveChangedRotation() {
        let rotation = pipeline.takeChangedPartnerStates()
        guard !rotation.isEmpty else { return }
        var upkeepBatch = StoreBatch()
        upkeepBatch.partnerStates = rotation
        do {
            try store.commit(upkeepBatch, published: [:])
        } catch {
            logger.warning("could not save rotation state; fairness resumes from the last save", metadata: ["error": "\(error)"])
        }
    }

    /// Writes `watermarks` to the store; a failure is logged once, until a save succeeds.
    private func recordPublished(_ watermarks: [String: Int]) -> Bool {
        do {
            try store.markPublished(watermarks)
            upkeep.publishedSaveFailing = false
            return true
        } catch {
            if !upkeep.publishedSaveFailing {
                logger.warning("could not record published envelopes; they will be published again after a restart", metadata: ["error": "\(error)"])
            }
            upkeep.publishedSaveFailing = true
            return false
        }
    }

    /// Picks up deal registrations added at run time (`leadctl register`).
    func reloadRegistrationsIfChanged() {
        // A refused commit in flight restores the pipeline as it was before its batch.
        if committing != nil { collectCommit(waiting: true) }
        do {
            let version = try store.registrationsVersion()
            guard version != upkeep.registrationsVersion else { return }
            let added = try store.registrations()
            pipeline.setRegistrations(added, config: config)
            upkeep.registrationsVersion = version
            logger.notice("deal registrations reloaded", metadata: ["run_time_registrations": "\(added.count)"])
        } catch {
            logger.warning("could not reload registrations; keeping the current ones", metadata: ["error": "\(error)"])
        }
    }

    /// How busy the loop is when it considers finishing a checkpoint.
    enum Traffic {
        /// No message for ``StoreUpkeep/quietBeforeFinish``.
        case idle
        /// Under ``StoreUpkeep/lightMessagesPerSecond``, right after a batch.
        case light
        /// After any commit.
        case heavy
    }

    /// Bounds the write-ahead log under a steady stream of commits (see
    /// ``LeadStore/finishCheckpoint()``): the background checkpoint copies most of it, and this
    /// copies the rest with no commit racing it, so the next commit starts the log afresh.
    /// Right after a background checkpoint completed, so little is left to copy; when idle,
    /// under light traffic once the log is long and the background checkpoints have left
    /// little behind for ``StoreUpkeep/lightFinishSettle``, or under load once the log is very
    /// long; at most once a second.
    func finishCheckpointIfLogIsLong(_ traffic: Traffic, now: ContinuousClock.Instant) {
        if store.lastKnownWALBacklog >= StoreUpkeep.lightFinishBacklog {
            upkeep.smallBacklogSince = nil
        } else if upkeep.smallBacklogSince == nil {
            upkeep.smallBacklogSince = now
        }
        // It needs the writer's connection, which a commit in flight holds.
        guard committing == nil else { return }
        let completed = store.completedCheckpoints
        let limit = switch traffic {
        case .idle: StoreUpkeep.walFinishPagesWhenIdle
        case .light: StoreUpkeep.walFinishPagesWhenLight
        case .heavy: StoreUpkeep.walFinishPagesUnderLoad
        }
        guard completed != upkeep.checkpointsSeen, store.lastKnownWALPages > limit,
              now - upkeep.lastCheckpointFinish >= .seconds(1),
              traffic != .light || upkeep.smallBacklogSince.map({ now - $0 >= StoreUpkeep.lightFinishSettle }) == true else { return }
        upkeep.checkpointsSeen = completed
        upkeep.lastCheckpointFinish = now
        do {
            let started = clock.now, pauseStarted = ContinuousClock.now
            defer { pauses.add(.checkpoint, since: pauseStarted) }
            if let result = try store.finishCheckpoint() {
                logger.debug("finished a checkpoint between commits", metadata: [
                    "wal_pages": "\(result.walPages)", "checkpointed": "\(result.checkpointed)",
                    "traffic": "\(traffic)", "took": "\(clock.now - started)",
                ])
            }
        } catch {
            logger.warning("could not checkpoint between commits; will retry", metadata: ["error": "\(error)"])
        }
    }
}
