import CoreMetrics
import HashIdx
import HashIdxService
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The server's metrics, through swift-metrics into a registry of its own (not the
/// process-wide `MetricsSystem`, so that several servers, or tests, can run in one process),
/// written in Prometheus's text format by `GET /metrics`:
///
/// - `hashidx_http_requests_total{route, method, status}`: requests answered;
/// - `hashidx_http_request_duration_seconds{route, method}`: latency histogram;
/// - `hashidx_index_items`, `hashidx_index_rows`, `hashidx_index_generation`,
///   `hashidx_index_bytes`, `hashidx_index_attribute_bytes`: the snapshot searches use.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// The counter and timer of each (route, method, status), made once: creating them looks
    /// them up in the registry under its lock and builds their label strings.
    private let handles = NIOLockedValueBox<[Key: (counter: CoreMetrics.Counter, timer: CoreMetrics.Timer)]>([:])

    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.factory = factory
    }

    /// Counts one answered request and records its latency.
    func record(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = Key(route: route, method: method, status: status)
        let handle = handles.withLockedValue { cache in
            if let h = cache[key] { return h }
            let h = (CoreMetrics.Counter(label: "hashidx_http_requests_total",
                             dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory),
                     CoreMetrics.Timer(label: "hashidx_http_request_duration_seconds",
                                   dimensions: [("route", route), ("method", method)], factory: factory))
            cache[key] = h
            return h
        }
        handle.counter.increment()
        handle.timer.recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text of every metric, with the index gauges read from `index` now.
    func exposition(index: Index) -> [UInt8] {
        Gauge(label: "hashidx_index_items", factory: factory).record(index.count)
        Gauge(label: "hashidx_index_rows", factory: factory).record(index.rowCount)
        Gauge(label: "hashidx_index_generation", factory: factory).record(Double(index.generation))
        Gauge(label: "hashidx_index_bytes", factory: factory).record(index.bytesOnDisk)
        Gauge(label: "hashidx_index_attribute_bytes", factory: factory).record(index.attributeBytes)
        return registry.emitToBuffer()
    }
}
