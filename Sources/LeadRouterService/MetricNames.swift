/// The metric names the daemon exposes: part of the operations contract, so the dashboard and
/// the alerting rules in `Config/monitoring/` name them too (a test checks they all exist in a
/// real scrape). docs/operations.md describes each.
public enum MetricName {
    public static let leadsReceived = "leadrouter_leads_received_total"
    public static let controlRequests = "leadrouter_control_requests_total"
    public static let leadsRouted = "leadrouter_leads_routed_total"
    public static let leadsDuplicate = "leadrouter_leads_duplicate_total"
    public static let leadsRejected = "leadrouter_leads_rejected_total"
    public static let storageFailures = "leadrouter_storage_failures_total"
    public static let envelopesPublished = "leadrouter_envelopes_published_total"
    public static let offers = "leadrouter_offers_total"
    public static let configReloads = "leadrouter_config_reloads_total"
    public static let authFailures = "leadrouter_auth_failures_total"
    public static let subscriptionsRefused = "leadrouter_feed_subscriptions_refused_total"
    public static let partnerLeads = "leadrouter_partner_leads_total"
    public static let routeSeconds = "leadrouter_route_seconds"
    public static let storeCommitSeconds = "leadrouter_store_commit_seconds"
    public static let storeSyncSeconds = "leadrouter_store_sync_seconds"
    public static let loopPauseSeconds = "leadrouter_loop_pause_seconds"
    public static let openOffers = "leadrouter_open_offers"
    public static let batchMessages = "leadrouter_batch_messages"
    public static let heldMessages = "leadrouter_held_messages"
    public static let batchesAwaitingSync = "leadrouter_batches_awaiting_sync"
    public static let storeSizeBytes = "leadrouter_store_size_bytes"
    public static let partners = "leadrouter_partners"
    public static let storageFailing = "leadrouter_storage_failing"
    public static let buildInfo = "leadrouter_build_info"
    public static let startTimeSeconds = "leadrouter_start_time_seconds"

    /// One line of help per metric, served as `# HELP` (swift-metrics has no help text).
    static let help: [String: String] = [
        leadsReceived: "Leads taken off a socket, by channel (ingest, intake).",
        controlRequests: "Partners' requests taken off the control endpoint.",
        leadsRouted: "Leads routed, by the rule that chose their destination.",
        leadsDuplicate: "Leads whose lead_id was routed before: not routed again.",
        leadsRejected: "Input rejected, by error code (also published on rejected/).",
        storageFailures: "Messages refused because the store could not commit them.",
        envelopesPublished: "Envelopes published on the feed, by destination (partner, vendor_sales, nurture, rejected, outcomes).",
        offers: "Steps of offered leads' lives, by result (offered, accepted, declined, expired, ...).",
        configReloads: "SIGHUP config reloads, by result (success: applied; failure: refused, nothing changed).",
        authFailures: "CURVE handshakes refused, by endpoint (unknown key, a role the endpoint does not serve, no CURVE offered, or another server key).",
        subscriptionsRefused: "Feed subscriptions refused: outside the subscriber's grants.",
        partnerLeads: "Leads routed to each partner, assigned or offered (metrics.per_partner only).",
        routeSeconds: "Seconds from a lead being taken off its socket to its envelopes being published.",
        storeCommitSeconds: "Seconds one batch's commit to the store took.",
        storeSyncSeconds: "Seconds one sync of the store's log to disk took.",
        loopPauseSeconds: "Seconds the routing thread spent in one step that messages waiting on its sockets sit out, by part (route, commit, wait_commit, wait_sync, checkpoint, timers, publish).",
        openOffers: "Cases waiting on a deadline: open offers, pools and follow-ups.",
        batchMessages: "Messages in the last batch taken off the sockets (2048, the most, means a backlog).",
        heldMessages: "Messages held while a sync of the store's log runs.",
        batchesAwaitingSync: "Committed batches waiting for a sync of the store's log before release.",
        storeSizeBytes: "Bytes of the store's files on disk (database, log, shared memory).",
        partners: "Partners by state: active, paused, inactive, at_capacity (each in the first that applies).",
        storageFailing: "1 while the store refuses writes, else 0.",
        buildInfo: "Always 1; the version label names the running release.",
        startTimeSeconds: "When the daemon started, in seconds since 1970.",
    ]

    /// The `result` values of `leadrouter_offers_total`: each step of an offered lead's life.
    static let offerResults = [
        "offered", "assigned", "accepted", "claimed", "declined", "expired", "withdrawn", "vendor_released", "claim_open",
        "vendor_request", "handed_back", "outcome", "vendor_sales", "nurture",
    ]
}

/// Histogram buckets (upper bounds).
enum MetricBuckets {
    /// Lead received to envelope published: from 0.25 ms (the disk's own sync takes about
    /// 0.2 ms) to 10 s (a store that stalls).
    static let route: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(10),
    ]
    /// One step of the routing thread: from 50 µs to 5 s, with 1 ms (a stall) a bound.
    static let pause: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]
    /// One commit or one log sync: from 50 µs to 5 s.
    static let store: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]
}
