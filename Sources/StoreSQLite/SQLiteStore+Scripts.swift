internal import SQLiteKit
public import Store

// Command and attestation scripts.
extension SQLiteStore {
    private static let scriptColumns = "realm, name, kind, source, description, created_at, updated_at"

    private static func script(_ row: Statement) throws -> ScriptRecord {
        ScriptRecord(
            realm: try row.text(0), name: try row.text(1), kind: try row.text(2), source: try row.text(3),
            description: try row.text(4), createdAt: try row.real(5), updatedAt: try row.real(6))
    }

    /// Replacing stores every field as given, `createdAt` included.
    public func putScript(_ script: ScriptRecord) throws {
        let values: [SQLValue] = [
            .text(script.realm), .text(script.name), .text(script.kind), .text(script.source), .text(script.description),
            .real(script.createdAt), .real(script.updatedAt),
        ]
        try writers.durable {
            try $0.run(
                """
                INSERT INTO scripts (\(Self.scriptColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                ON CONFLICT (realm, name) DO UPDATE SET kind = excluded.kind, source = excluded.source,
                    description = excluded.description, created_at = excluded.created_at, updated_at = excluded.updated_at
                """, values)
        }
    }

    public func script(realm: String, name: String) throws -> ScriptRecord? {
        try readers.with {
            try $0.queryOne(
                "SELECT \(Self.scriptColumns) FROM scripts WHERE realm = ?1 AND name = ?2", [.text(realm), .text(name)], Self.script)
        }
    }

    public func listScripts(realm: String) throws -> [ScriptRecord] {
        try readers.with {
            try $0.query("SELECT \(Self.scriptColumns) FROM scripts WHERE realm = ?1 ORDER BY name", [.text(realm)], Self.script)
        }
    }

    public func deleteScript(realm: String, name: String) throws -> Bool {
        try writers.durable { try $0.run("DELETE FROM scripts WHERE realm = ?1 AND name = ?2", [.text(realm), .text(name)]) == 1 }
    }
}
