public import LeadRouting
import LeadStore
import Logging

/// A config read and validated off the routing thread (SIGHUP), for the loop to apply
/// between batches: the whole file, and the CURVE keys its certificates hold.
public struct ConfigUpdate: Sendable {
    public var config: RouterConfig
    public var keyRing: KeyRing

    public init(config: RouterConfig, keyRing: KeyRing = KeyRing()) {
        self.config = config
        self.keyRing = keyRing
    }
}

/// What a reload asks of the loop.
enum ReloadRequest: Sendable {
    /// A valid config: apply what changed, unless a change needs a restart.
    case apply(ConfigUpdate)
    /// An invalid one: each problem, as `--check` prints it. Nothing changes.
    case invalid([String])
}

/// SIGHUP on the routing thread: a new config applies between two batches, all of it or
/// none. Partners, weights, territories, pauses, capacities, offers, registrations, clients
/// and keys change; rotation and capacity state carry over for partners that remain; a
/// removed partner's open offers move on at once; revoked keys stop working at once.
extension RoutingEngine {
    func applyReload(_ request: ReloadRequest) {
        defer { notifier.notify("READY=1\nSTATUS=routing leads") }
        switch request {
        case .invalid(let problems):
            for problem in problems { logger.error("config reload: \(problem)") }
            refuseReload("the config is not valid (\(problems.count) problem\(problems.count == 1 ? "" : "s") above)")
        case .apply(let update):
            var restart = update.config.restartRequired(comparedTo: config)
            // The sockets keep the secret key they were made with: a new one in the same file
            // (a rotated or leaked server certificate) takes a restart too, and must not be
            // reported as applied.
            if update.keyRing.serverSecretKey != keys.current.serverSecretKey && !restart.contains(where: { $0.hasPrefix("security") }) {
                restart.append("security.server_key (the key in its certificate)")
            }
            guard restart.isEmpty else {
                refuseReload("\(restart.joined(separator: ", ")) changed, which only a restart applies (systemctl restart leadrouterd); restore the running value to reload the rest")
                return
            }
            apply(update)
        }
    }

    private func refuseReload(_ why: String) {
        recordConfigReload(success: false)
        logger.error("config not reloaded: \(why); the daemon goes on with the config it has")
    }

    private func apply(_ update: ConfigUpdate) {
        let change = RulesChange(from: config.rules, to: update.config.rules)
        guard !change.isEmpty || update.keyRing != keys.current else {
            recordConfigReload(success: true)
            logger.notice("config reloaded: nothing changed")
            return
        }
        // Between batches: the batch committing now was routed by the old rules, and a
        // failed commit restores the pipeline as it was before that batch.
        collectCommit(waiting: true)
        let old = pipeline.router
        config.rules = update.config.rules
        pipeline.reload(rules: config.rules)
        if pipeline.router.partnerIDs != old.partnerIDs || pipeline.router.candidateLists != old.candidateLists {
            upkeep.partnerList = RoutingEngine.partnerListID(of: pipeline.router, in: store, logger: logger, new: true)
        }
        serveNewTopics()
        let revoked = replaceKeys(update.keyRing)
        let movedOn = offers.expedite(offeredTo: Set(change.partnersRemoved), now: clock.wallMilliseconds,
                                      generation: pipeline.generation)
        recordConfigReload(success: true)
        logger.notice("config reloaded", metadata: [
            "partners": "\(config.partners.count)",
            "partners_added": "\(change.partnersAdded.isEmpty ? "-" : change.partnersAdded.joined(separator: " "))",
            "partners_removed": "\(change.partnersRemoved.isEmpty ? "-" : change.partnersRemoved.joined(separator: " "))",
            "partners_changed": "\(change.changedText)",
            "sections_changed": "\(change.sections.isEmpty ? "-" : change.sections.joined(separator: " "))",
            "keys_revoked": "\(revoked.count)",
            "offers_moved_on": "\(movedOn.count)",
        ])
        if !movedOn.isEmpty {
            logger.notice("open offers of removed partners move on", metadata: ["lead_ids": "\(movedOn.prefix(20).joined(separator: " "))\(movedOn.count > 20 ? " …" : "")"])
        }
    }

    /// The store's id for `router`'s partner list and candidate lists; `nil` (decision
    /// records then name partners in full) when the store cannot take them now.
    static func partnerListID(of router: Router, in store: any RoutingStore, logger: Logger, new: Bool) -> Int64? {
        do {
            return try store.partnerListID(for: router)
        } catch {
            logger.warning("could not record the \(new ? "new " : "")partner list; decision records name partners in full",
                           metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Heartbeats and replay for the topics of partners added (and `outcomes/`, when
    /// offers were turned on).
    private func serveNewTopics() {
        let added = RecoveredState.configuredTopics(config).filter { !feed.serves($0) }
        for topic in added { feed.add(topic) }
        watermarks.serve(added)
    }

    /// Puts the new keys in force. Connections made with a revoked key are refused message
    /// by message from now on; the feed, whose subscriptions were applied at subscription
    /// time, is rebuilt so every subscriber reconnects and is judged by the new keys.
    private func replaceKeys(_ newer: KeyRing) -> [String] {
        let revoked = keys.replace(with: newer)
        guard !revoked.isEmpty else { return [] }
        logger.warning("CURVE keys revoked by the reload: their connections are refused from now on", metadata: [
            "keys": "\(revoked.joined(separator: " "))",
        ])
        if sockets.feed.manual {
            sockets.feed.rebuild(because: "keys were revoked: every subscriber reconnects and is judged by the keys now configured")
            socketsChanged = true
        }
        return revoked
    }

    /// Drops leads whose connection's key a reload revoked (with CURVE, once any was):
    /// logged, at most a few lines a second, and counted in `leadrouter_auth_failures_total`
    /// by endpoint. (Control requests are answered `unauthorized` instead.)
    func dropRevoked(_ batch: inout [Received]) {
        let before = batch.count
        batch.removeAll { item in
            guard item.channel != .control, !keys.admits(userID: item.peer) else { return false }
            metrics?.recordAuthFailure(endpoint: item.channel.rawValue)
            return true
        }
        guard batch.count < before else { return }
        duties.logRevokedMessages(before - batch.count, now: clock.now)
    }
}
