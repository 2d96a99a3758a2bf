internal import Glibc
internal import Synchronization

/// Request counters, a latency histogram per route and an in-flight gauge, in
/// the Prometheus text format.
///
/// Recording takes one uncontended lock: the counts are kept in shards picked by
/// the recording thread, and merged only when rendered.
public final class HTTPMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    public static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private static let bucketLabels = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"]
    /// Methods that get their own label value; any other is counted as `OTHER`.
    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]

    private static let shardCount = 16
    private let shards: [Shard]
    private let inFlight = Atomic<Int>(0)

    init() {
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    /// Requests whose request line has arrived and that are not over yet
    /// (being received, handled or sent).
    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    func requestStarted() { inFlight.wrappingAdd(1, ordering: .relaxed) }
    func requestFinished() { inFlight.wrappingSubtract(1, ordering: .relaxed) }

    /// Counts one answered request.
    func record(route: String, method: String, status: Int, seconds: Double) {
        let methodLabel = Self.knownMethods.contains(method) ? method : "OTHER"
        var bucket = Self.latencyBuckets.count
        for (index, bound) in Self.latencyBuckets.enumerated() where seconds <= bound {
            bucket = index
            break
        }
        let shard = shards[Self.shardIndex()]
        shard.routes.withLock { routes in
            routes[route, default: RouteStats()].record(method: methodLabel, status: status, bucket: bucket, seconds: seconds)
        }
    }

    /// The metrics in the Prometheus text exposition format 0.0.4
    /// (`Content-Type: text/plain; version=0.0.4`).
    public func renderPrometheus() -> String {
        var merged: [String: RouteStats] = [:]
        for shard in shards {
            let routes = shard.routes.withLock { $0 }
            for (route, stats) in routes {
                merged[route, default: RouteStats()].merge(stats)
            }
        }
        let routes = merged.keys.sorted()
        var text = "# HELP iec_http_requests_total HTTP requests answered, by route pattern, method and status.\n"
        text += "# TYPE iec_http_requests_total counter\n"
        for route in routes {
            let stats = merged[route]!
            let label = Self.escape(route)
            for key in stats.counts.keys.sorted(by: { ($0.method, $0.status) < ($1.method, $1.status) }) {
                text += "iec_http_requests_total{route=\"\(label)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(stats.counts[key]!)\n"
            }
        }
        text += "# HELP iec_http_request_duration_seconds Time from the request's headers to its response, by route pattern.\n"
        text += "# TYPE iec_http_request_duration_seconds histogram\n"
        for route in routes {
            let stats = merged[route]!
            let label = Self.escape(route)
            var cumulative: UInt64 = 0
            for (index, bound) in Self.bucketLabels.enumerated() {
                cumulative += stats.buckets[index]
                text += "iec_http_request_duration_seconds_bucket{route=\"\(label)\",le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "iec_http_request_duration_seconds_bucket{route=\"\(label)\",le=\"+Inf\"} \(stats.count)\n"
            text += "iec_http_request_duration_seconds_sum{route=\"\(label)\"} \(stats.sum)\n"
            text += "iec_http_request_duration_seconds_count{route=\"\(label)\"} \(stats.count)\n"
        }
        text += "# HELP iec_http_requests_in_flight Requests being received, handled or sent.\n"
        text += "# TYPE iec_http_requests_in_flight gauge\n"
        text += "iec_http_requests_in_flight \(max(0, requestsInFlight))\n"
        return text
    }

    /// A label value with `\`, `"` and newlines escaped.
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 0x0A }) else {
            return value
        }
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A shard for the calling thread, so that threads rarely share a lock.
    private static func shardIndex() -> Int {
        let thread = UInt64(UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))))
        return Int(truncatingIfNeeded: (thread &* 0x9E37_79B9_7F4A_7C15) >> 60) & (shardCount - 1)
    }

    private final class Shard: Sendable {
        let routes = Mutex<[String: RouteStats]>([:])
    }

    private struct CountKey: Hashable {
        var method: String
        var status: Int
    }

    private struct RouteStats {
        var counts: [CountKey: UInt64] = [:]
        var buckets = [UInt64](repeating: 0, count: HTTPMetrics.latencyBuckets.count + 1)
        var sum: Double = 0
        var count: UInt64 = 0

        mutating func record(method: String, status: Int, bucket: Int, seconds: Double) {
            counts[CountKey(method: method, status: status), default: 0] += 1
            buckets[bucket] += 1
            sum += seconds
            count += 1
        }

        mutating func merge(_ other: RouteStats) {
            counts.merge(other.counts, uniquingKeysWith: +)
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            sum += other.sum
            count += other.count
        }
    }
}
