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
    public static let openOffers = "leadrouter_open_offers"
    public static let batchMessages = "leadrouter_batch_messages"
    public static let heldMessages = "leadrouter_held_messages"
    public static let batchesAwaitingSync = "leadrouter_batches_awaiting_sync"
    public static let storeSizeBytes = "leadrouter_store_size_bytes"
    public static let partners = "leadrouter_partners"
    public static let storageFailing = "leadrouter_storage_failing"
    public static let buildInfo = "leadrouter_build_info"
    public static let startTimeSeconds = "leadrouter_start_time_seconds"

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
    /// One commit or one log sync: from 50 µs to 5 s.
    static let store: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]
}
