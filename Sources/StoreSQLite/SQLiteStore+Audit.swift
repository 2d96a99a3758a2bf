internal import SQLiteKit
public import Store

// The audit trail.
extension SQLiteStore {
    private static let auditColumns = "sequence, realm, time, actor, action, target, outcome, details"

    private static func event(_ row: Statement) throws -> AuditEvent {
        AuditEvent(
            sequence: try row.integer(0), realm: try row.text(1), time: try row.real(2), actor: try row.text(3),
            action: try row.text(4), target: try row.text(5), outcome: try row.text(6),
            details: try JSONColumn.value(try row.text(7), column: "audit_events.details"))
    }

    /// Sequence numbers increase across all realms and are never reused.
    @discardableResult
    public func appendAudit(_ event: AuditEvent) throws -> AuditEvent {
        let values: [SQLValue] = [
            .text(event.realm), .real(event.time), .text(event.actor), .text(event.action), .text(event.target), .text(event.outcome),
            .text(try JSONColumn.text(event.details, field: "audit details", maxBytes: maxJSONBytes)),
        ]
        let sequence = try writers.durable { connection in
            try connection.run(
                "INSERT INTO audit_events (realm, time, actor, action, target, outcome, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                values)
            return connection.lastInsertRowID
        }
        var stored = event
        stored.sequence = sequence
        return stored
    }

    /// `limit` is clamped to 1...1000.
    public func recentAudit(realm: String, limit: Int, before: Int64?) throws -> [AuditEvent] {
        let limit = SQLValue.int(PageCursor.clampedLimit(limit))
        return try readers.with { connection in
            if let before {
                return try connection.query(
                    "SELECT \(Self.auditColumns) FROM audit_events WHERE realm = ?1 AND sequence < ?2 ORDER BY sequence DESC LIMIT ?3",
                    [.text(realm), .integer(before), limit], Self.event)
            }
            return try connection.query(
                "SELECT \(Self.auditColumns) FROM audit_events WHERE realm = ?1 ORDER BY sequence DESC LIMIT ?2", [.text(realm), limit],
                Self.event)
        }
    }
}
