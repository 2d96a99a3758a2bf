internal import SQLiteKit
public import Store

extension SQLiteStore {
    /// Read on a reader connection: every increment is committed before
    /// `incrementCounter` returns, and each read starts a fresh WAL snapshot,
    /// so a count always sees the increments before it without taking the writers' turn.
    public func counter(key: String, windowStart: Timestamp) throws -> Int {
        let count = try readers.with {
            try $0.queryOne("SELECT count FROM counters WHERE key = ?1 AND window_start = ?2", [.text(key), .real(windowStart)]) {
                try $0.integer(0)
            }
        }
        return Int(count ?? 0)
    }
}
