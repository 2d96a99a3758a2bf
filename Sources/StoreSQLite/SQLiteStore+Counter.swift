internal import IECJSON
public import Store

extension SQLiteStore {
    /// Read on the protection writer, so that a count always sees the increments before it.
    public func counter(key: String, windowStart: Timestamp) throws -> Int {
        let count = try protectionWriter.with {
            try $0.queryOne("SELECT count FROM counters WHERE key = ?1 AND window_start = ?2", [.text(key), .real(windowStart)]) {
                try $0.integer(0)
            }
        }
        return Int(count ?? 0)
    }
}
