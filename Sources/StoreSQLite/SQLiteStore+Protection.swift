internal import SQLiteKit
public import Store

// Single-use values, counters and the purge of everything that expires.
//
// A record counts as expired once `now >= expiresAt`.
extension SQLiteStore {
    /// Goes through the protection writer: see ``SQLiteStore`` on durability.
    public func consumeOnce(namespace: String, key: String, expiresAt: Timestamp, now: Timestamp) throws -> Bool {
        // Inserts, or takes over an expired entry; an entry still valid is left alone (0 rows changed).
        try writers.protection {
            try $0.run(
                """
                INSERT INTO single_use (namespace, key, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (namespace, key) DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= ?4
                """, [.text(namespace), .text(key), .real(expiresAt), .real(now)]) == 1
        }
    }

    /// Goes through the protection writer: see ``SQLiteStore`` on durability.
    public func incrementCounter(key: String, windowStart: Timestamp, expiresAt: Timestamp) throws -> Int {
        let count = try writers.protection {
            try $0.queryOne(
                """
                INSERT INTO counters (key, window_start, count, expires_at) VALUES (?1, ?2, 1, ?3)
                ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1, expires_at = max(expires_at, excluded.expires_at)
                RETURNING count
                """, [.text(key), .real(windowStart), .real(expiresAt)]
            ) { try $0.integer(0) }
        }
        guard let count else { throw StoreError(.internalFailure, "incrementCounter: no count returned") }
        return Int(count)
    }

    /// Sessions go when their hard expiry or their idle timeout has passed.
    /// One transaction on the durable writer.
    @discardableResult
    public func purgeExpired(now: Timestamp) throws -> Int {
        try writers.durable { connection in
            try connection.writeTransaction {
                let time: [SQLValue] = [.real(now)]
                var removed = 0
                removed += try connection.run("DELETE FROM single_use WHERE expires_at <= ?1", time)
                removed += try connection.run("DELETE FROM counters WHERE expires_at <= ?1", time)
                removed += try connection.run(
                    "DELETE FROM sessions WHERE min(expires_at, last_used_at + idle_timeout) <= ?1", time)
                removed += try connection.run("DELETE FROM device_codes WHERE expires_at <= ?1", time)
                removed += try connection.run("DELETE FROM revoked_access_tokens WHERE expires_at <= ?1", time)
                removed += try connection.run("DELETE FROM refresh_tokens WHERE expires_at <= ?1", time)
                return removed
            }
        }
    }
}
