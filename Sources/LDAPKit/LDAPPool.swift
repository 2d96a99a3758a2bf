import Dispatch
import Synchronization

/// A bounded, thread-safe pool of bound connections to one directory.
///
/// At most `size` connections exist; a caller waits for a free one up to the
/// timeout (then `poolExhausted`). Connections are made when needed. An idle
/// connection whose socket shows the server closed it (a restart) is dropped
/// before use, and so is one that broke during an operation: the next call
/// gets a fresh connection, so the pool recovers by itself once the directory
/// is back. A call that broke its connection is retried once on a fresh one
/// when the caller says it is safe to repeat (``with(retry:_:)``).
public final class LDAPPool: Sendable {
    public let options: LDAPConnectionOptions
    public let size: Int
    private let idle = Mutex<[LDAPConnection]>([])
    private let slots: DispatchSemaphore

    public init(_ options: LDAPConnectionOptions, size: Int) {
        precondition(size >= 1)
        self.options = options
        self.size = size
        slots = DispatchSemaphore(value: size)
    }

    /// Runs `body` with a connection of its own. `retry`: the operation can be
    /// repeated without harm (reads, compare-and-swap writes whose second
    /// attempt fails cleanly), so a broken connection is replaced and `body` runs once more.
    public func with<T>(retry: Bool = true, _ body: (LDAPConnection) throws -> T) throws -> T {
        guard slots.wait(timeout: .now() + .milliseconds(Int(options.timeout * 1000))) == .success else {
            throw LDAPError(.poolExhausted, code: LDAPResultCode.busy, "all \(size) connections to \(options.url) stayed busy for \(options.timeout)s")
        }
        defer { slots.signal() }
        var attempts = 0
        while true {
            attempts += 1
            let connection = try checkOut()
            do {
                let result = try body(connection)
                checkIn(connection)
                return result
            } catch let error as LDAPError where connection.isBroken || error.brokeConnection {
                // The directory went away: every idle connection is as dead as this one.
                idle.withLock { $0.removeAll() }
                guard retry, attempts < 2 else { throw error }
            } catch {
                checkIn(connection)
                throw error
            }
        }
    }

    private func checkOut() throws -> LDAPConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            if !connection.looksStale { return connection }
        }
        return try LDAPConnection(options)
    }

    private func checkIn(_ connection: LDAPConnection) {
        guard !connection.isBroken else { return }
        idle.withLock { $0.append(connection) }
    }

    /// Drops every idle connection (they close as they are freed).
    public func drain() {
        idle.withLock { $0.removeAll() }
    }
}
