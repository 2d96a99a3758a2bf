/// Keeps repeated warnings from flooding the log: the first occurrence of a
/// key is logged, repeats within `window` are only counted, and the next line
/// logged for that key says how many were left out.
///
/// A refused or misconfigured client reconnects every 100 ms or so (libzmq's
/// default reconnect interval), so without this one bad client would write
/// thousands of lines an hour. The time is a parameter (STYLE habit 5).
struct LogThrottle: Sendable {
    enum Admission: Sendable, Hashable {
        /// Log it; `suppressed` repeats were left out since the last line for this key.
        case log(suppressed: Int)
        case suppress
    }

    private struct Entry: Sendable {
        var since: ContinuousClock.Instant
        var suppressed: Int
    }

    let window: Duration
    let capacity: Int
    private var entries: [String: Entry] = [:]

    init(window: Duration, capacity: Int = 1024) {
        self.window = window
        self.capacity = capacity
    }

    mutating func admit(_ key: String, now: ContinuousClock.Instant) -> Admission {
        if var entry = entries[key], now - entry.since < window {
            entry.suppressed += 1
            entries[key] = entry
            return .suppress
        }
        let suppressed = entries[key]?.suppressed ?? 0
        if entries[key] == nil && entries.count >= capacity {
            entries = entries.filter { now - $0.value.since < window }
            if entries.count >= capacity { entries.removeAll() }
        }
        entries[key] = Entry(since: now, suppressed: 0)
        return .log(suppressed: suppressed)
    }
}
