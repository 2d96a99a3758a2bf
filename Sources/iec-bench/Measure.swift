internal import Glibc
internal import IECJSON
internal import Synchronization

/// Monotonic nanoseconds.
func nowNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// This process's user + system CPU seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Latency percentiles in microseconds, from nanosecond samples.
func percentiles(_ samples: [UInt64]) -> JSONValue {
    guard !samples.isEmpty else { return .object([:]) }
    let sorted = samples.sorted()
    func at(_ q: Double) -> JSONValue {
        let index = min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)
        return .double((Double(sorted[max(0, index)]) / 1000 * 10).rounded() / 10)
    }
    return ["p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p999": at(0.999), "max": at(1.0)]
}

/// Starts a detached-style pthread running `body`; `join` waits for it.
final class BenchThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let rc = pthread_create(&thread, &attributes, { raw in
            let me = Unmanaged<BenchThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
        pthread_attr_destroy(&attributes)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() {
        pthread_join(thread, nil)
    }
}

/// Samples gathered by many threads.
final class SampleSink: Sendable {
    private let samples = Mutex<[UInt64]>([])
    private let errors = Mutex<[String: Int]>([:])

    func add(_ batch: [UInt64]) {
        samples.withLock { $0.append(contentsOf: batch) }
    }

    func fail(_ reason: String) {
        errors.withLock { $0[String(reason.prefix(160)), default: 0] += 1 }
    }

    var all: [UInt64] { samples.withLock { $0 } }
    var failures: [String: Int] { errors.withLock { $0 } }
}
