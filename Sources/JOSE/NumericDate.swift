internal import Glibc

/// Seconds since the Unix epoch, as JWT's NumericDate (RFC 7519 §2); may have a fraction.
public typealias NumericDate = Double

/// The wall clock, injected wherever expiries are checked or made so that tests
/// can fix the time.
public protocol WallClock: Sendable {
    var now: NumericDate { get }
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    public init() {}

    public var now: NumericDate {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return NumericDate(spec.tv_sec) + NumericDate(spec.tv_nsec) / 1e9
    }
}

/// A clock that says what it is told; for tests.
public struct FixedClock: WallClock {
    public var now: NumericDate
    public init(_ now: NumericDate) { self.now = now }
}
