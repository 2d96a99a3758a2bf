internal import SQLiteKit
/// Settings of a ``SQLiteStore``, with defaults that suit a gateway or a small server.
public struct SQLiteStoreOptions: Sendable, Hashable {
    /// Reader connections used in parallel by worker threads. Default 4.
    public var readerCount: Int
    /// Seconds a call waits for a lock held by another connection or process
    /// before it fails with `unavailable`; 0...3600. Default 5.
    public var busyTimeout: Double
    /// The longest JSON value (settings, attributes, keys, details) the store
    /// accepts, in bytes of its serialised text; longer ones are refused with
    /// `invalidValue`. Default 1 MiB.
    public var maxJSONBytes: Int
    /// When true, `consumeOnce`, `incrementCounter` and `touchSession` are
    /// committed with `synchronous=FULL` like every other write, at the price of
    /// one fsync each. Default false: see ``SQLiteStore`` for what that risks.
    public var durableProtectionState: Bool
    /// A listing or count with `idContains` takes its candidates from the trigram
    /// index when that finds at most this many, and scans an index otherwise
    /// (see `SQLiteStore+Identities.swift`). Tests force either way with it.
    var trigramCandidateLimit = 2000

    public init(readerCount: Int = 4, busyTimeout: Double = 5, maxJSONBytes: Int = 1 << 20, durableProtectionState: Bool = false) {
        self.readerCount = readerCount
        self.busyTimeout = busyTimeout
        self.maxJSONBytes = maxJSONBytes
        self.durableProtectionState = durableProtectionState
    }
}
