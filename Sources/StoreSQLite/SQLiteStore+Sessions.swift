internal import SQLiteKit
public import Store

// Sessions.
extension SQLiteStore {
    private static let sessionColumns =
        "id_hash, realm, subject, kind, created_at, last_used_at, expires_at, idle_timeout, attributes"

    private static func session(_ row: Statement) throws -> SessionRecord {
        SessionRecord(
            idHash: try row.text(0), realm: try row.text(1), subject: try row.text(2), kind: try row.text(3),
            createdAt: try row.real(4), lastUsedAt: try row.real(5), expiresAt: try row.real(6), idleTimeout: try row.real(7),
            attributes: try JSONColumn.value(try row.text(8), column: "sessions.attributes"))
    }

    /// Throws `conflict` when a session with the same id hash exists.
    public func createSession(_ session: SessionRecord) throws {
        let values: [SQLValue] = [
            .text(session.idHash), .text(session.realm), .text(session.subject), .text(session.kind), .real(session.createdAt),
            .real(session.lastUsedAt), .real(session.expiresAt), .real(session.idleTimeout),
            .text(try JSONColumn.text(session.attributes, field: "session attributes", maxBytes: maxJSONBytes)),
        ]
        try writers.durable {
            try $0.run("INSERT INTO sessions (\(Self.sessionColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", values)
        }
    }

    public func session(idHash: String) throws -> SessionRecord? {
        try readers.with {
            try $0.queryOne("SELECT \(Self.sessionColumns) FROM sessions WHERE id_hash = ?1", [.text(idHash)], Self.session)
        }
    }

    /// Goes through the protection writer: see ``SQLiteStore`` on durability.
    public func touchSession(idHash: String, at time: Timestamp) throws -> Bool {
        try writers.protection {
            try $0.run("UPDATE sessions SET last_used_at = ?2 WHERE id_hash = ?1", [.text(idHash), .real(time)]) == 1
        }
    }

    public func deleteSession(idHash: String) throws -> Bool {
        try writers.durable { try $0.run("DELETE FROM sessions WHERE id_hash = ?1", [.text(idHash)]) == 1 }
    }

    @discardableResult
    public func deleteSessions(realm: String, subject: String) throws -> Int {
        try writers.durable { try $0.run("DELETE FROM sessions WHERE realm = ?1 AND subject = ?2", [.text(realm), .text(subject)]) }
    }
}
