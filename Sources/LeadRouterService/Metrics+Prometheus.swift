public import Prometheus

extension RouterMetrics {
    /// A Prometheus factory over `registry`, with the histogram buckets the daemon's timings
    /// need. `leadrouterd` bootstraps the metrics system with one, over the registry its
    /// HTTP endpoint serves; tests make their own registry and pass the factory in.
    public static func prometheusFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.routeSeconds] = MetricBuckets.route
        factory.durationHistogramBuckets[MetricName.storeCommitSeconds] = MetricBuckets.store
        factory.durationHistogramBuckets[MetricName.storeSyncSeconds] = MetricBuckets.store
        factory.durationHistogramBuckets[MetricName.loopPauseSeconds] = MetricBuckets.pause
        return factory
    }
}
