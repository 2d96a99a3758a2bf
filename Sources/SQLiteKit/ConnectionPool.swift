import Synchronization

/// The two writer connections, behind one mutex.
///
/// SQLite lets one connection write at a time. Were each writer behind its own
/// mutex, a write waiting for the other would poll in SQLite's busy handler
/// (sleeps of 1, 2, 5, 10 ms...); one mutex hands the turn over at once. The busy
/// timeout still applies to other processes holding the database.
public final class Writers: Sendable {
    private struct Connections {
        /// `synchronous=FULL`: every commit is fsynced.
        let durable: Connection
        /// `synchronous=NORMAL` (unless configured otherwise): for short-lived protection state.
        let protection: Connection
    }

    private let connections: Mutex<Connections>

    public init(durable: consuming sending Connection, protection: consuming sending Connection) {
        connections = Mutex(Connections(durable: durable, protection: protection))
    }

    /// Runs `body` on the durable writer.
    @discardableResult
    public func durable<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try connections.withLock { connections in try body(connections.durable) }
    }

    /// Runs `body` on the protection-state writer.
    @discardableResult
    public func protection<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try connections.withLock { connections in try body(connections.protection) }
    }
}

/// A connection behind a mutex: one thread at a time uses it.
public final class LockedConnection: Sendable {
    private let connection: Mutex<Connection>
    /// Set while some thread holds or waits for the connection; a hint for the
    /// reader pool to pick an idle one.
    fileprivate let busy = Atomic<Bool>(false)

    public init(_ connection: consuming sending Connection) {
        self.connection = Mutex(connection)
    }

    @discardableResult
    public func with<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try connection.withLock { connection in try body(connection) }
    }
}

/// A few reader connections used round-robin, preferring an idle one.
///
/// In WAL mode readers never block the writer nor each other, so a pool of
/// them lets HTTP worker threads read in parallel while one writes.
public final class ReaderPool: Sendable {
    private let readers: [LockedConnection]
    private let next = Atomic<Int>(0)

    public init(_ readers: [LockedConnection]) {
        precondition(!readers.isEmpty)
        self.readers = readers
    }

    @discardableResult
    public func with<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        let start = next.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        for offset in 0..<readers.count {
            let reader = readers[(start + offset) % readers.count]
            if reader.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
                defer { reader.busy.store(false, ordering: .releasing) }
                return try reader.with(body)
            }
        }
        // All busy: queue on one of them.
        return try readers[start % readers.count].with(body)
    }
}
