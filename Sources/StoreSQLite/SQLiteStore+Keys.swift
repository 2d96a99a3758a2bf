internal import SQLiteKit
public import Store

// Signing keys.
extension SQLiteStore {
    private static let keyColumns = "realm, key_id, purpose, private_jwk, status, created_at"

    private static func key(_ row: Statement) throws -> SigningKeyRecord {
        let statusText = try row.text(4)
        guard let status = SigningKeyRecord.Status(rawValue: statusText) else {
            throw StoreError(.internalFailure, "stored signing key status is unknown")
        }
        return SigningKeyRecord(
            realm: try row.text(0), keyID: try row.text(1), purpose: try row.text(2),
            privateJWK: try JSONColumn.value(try row.text(3), column: "signing_keys.private_jwk"), status: status,
            createdAt: try row.real(5))
    }

    public func putSigningKey(_ key: SigningKeyRecord) throws {
        let values: [SQLValue] = [
            .text(key.realm), .text(key.keyID), .text(key.purpose),
            .text(try JSONColumn.text(key.privateJWK, field: "private JWK", maxBytes: maxJSONBytes)), .text(key.status.rawValue),
            .real(key.createdAt),
        ]
        try writers.durable {
            try $0.run(
                """
                INSERT INTO signing_keys (\(Self.keyColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                ON CONFLICT (realm, key_id) DO UPDATE SET purpose = excluded.purpose, private_jwk = excluded.private_jwk,
                    status = excluded.status, created_at = excluded.created_at
                """, values)
        }
    }

    /// Oldest first; keys made in the same instant in key id order.
    public func signingKeys(realm: String, purpose: String) throws -> [SigningKeyRecord] {
        try readers.with {
            try $0.query(
                "SELECT \(Self.keyColumns) FROM signing_keys WHERE realm = ?1 AND purpose = ?2 ORDER BY created_at, key_id",
                [.text(realm), .text(purpose)], Self.key)
        }
    }
}
