/// Which config changes a running daemon cannot apply: what SIGHUP reload checks before it
/// swaps in new ``RoutingRules``.
extension RouterConfig {
    /// The keys, as written in the config file (`state_dir`, `ingest.bind`,
    /// `store.durability`), whose values differ between `other` and this config and that only
    /// a restart applies, in the order of the file. Empty: a reload can apply every change.
    ///
    /// Changes to ``rules`` are never listed: a reload applies them.
    public func restartRequired(comparedTo other: RouterConfig) -> [String] {
        daemon.changedKeys(comparedTo: other.daemon)
    }
}

extension DaemonSettings {
    /// The keys whose values differ between `other` and these settings, as written in the
    /// config file, in its order. A section that differs only in a value not named here (one
    /// added later) is listed by its own name, such as `store`, so no change goes unseen.
    public func changedKeys(comparedTo other: DaemonSettings) -> [String] {
        var keys = stateDir == other.stateDir ? [] : ["state_dir"]

        keys += SectionChanges("ingest", ingest, other.ingest)
            .compare("bind", \.bind).compare("connect", \.connect).compare("topics", \.topics)
            .compare("max_message_bytes", \.maxMessageBytes).compare("receive_hwm", \.receiveHighWaterMark)
            .keys
        keys += SectionChanges("intake", intake, other.intake)
            .compare("bind", \.bind)
            .keys
        keys += SectionChanges("publish", publish, other.publish)
            .compare("bind", \.bind).compare("send_hwm", \.sendHighWaterMark)
            .compare("heartbeat_ms", \.heartbeatMilliseconds)
            .keys
        keys += SectionChanges("replay", replay, other.replay)
            .compare("bind", \.bind).compare("max_limit", \.maxLimit)
            .keys
        keys += SectionChanges("control", control, other.control)
            .compare("bind", \.bind)
            .keys
        keys += SectionChanges("store", store, other.store)
            .compare("durability", \.durability).compare("retention_days", \.retentionDays)
            .compare("pipeline_batch", \.pipelineBatch)
            .keys
        keys += SectionChanges("security", security.asWritten, other.security.asWritten)
            .compare("mode", \.mode).compare("server_key", \.serverKey).compare("allow_plaintext_network", \.allowPlaintextNetwork)
            .keys
        keys += SectionChanges("metrics", metrics, other.metrics)
            .compare("bind", \.bind).compare("per_partner", \.perPartner)
            .keys
        return keys
    }
}

extension SecurityConfig {
    /// These settings without where the server key was written (its key path and line), so
    /// that moving it in the file is no change.
    fileprivate var asWritten: SecurityConfig {
        var settings = self
        settings.serverKey = serverKey.map { KeySource($0.kind, path: "security.server_key") }
        return settings
    }
}

/// The keys of one config section whose values differ between two versions of it.
private struct SectionChanges<Section: Equatable> {
    let name: String
    let old: Section
    let new: Section
    private var changed: [String] = []

    init(_ name: String, _ old: Section, _ new: Section) {
        self.name = name
        self.old = old
        self.new = new
    }

    /// These changes, and `section.key` when the value at `path` differs.
    func compare<Value: Equatable>(_ key: String, _ path: KeyPath<Section, Value>) -> SectionChanges {
        var next = self
        if old[keyPath: path] != new[keyPath: path] { next.changed.append("\(name).\(key)") }
        return next
    }

    /// The changed keys; the section's own name when it differs in a value not compared.
    var keys: [String] {
        changed.isEmpty && old != new ? [name] : changed
    }
}
