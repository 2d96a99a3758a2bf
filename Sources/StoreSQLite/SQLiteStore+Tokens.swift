internal import SQLiteKit
public import Store

// Refresh tokens, device codes and access-token revocations.
extension SQLiteStore {
    // MARK: Refresh tokens

    private static let refreshColumns =
        "token_hash, realm, client_id, subject, scope, family_id, status, expires_at, created_at, attributes"
    private static let insertRefresh =
        "INSERT INTO refresh_tokens (\(refreshColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

    private static func refreshToken(_ row: Statement) throws -> RefreshTokenRecord {
        guard let status = RefreshTokenRecord.Status(rawValue: try row.text(6)) else {
            throw StoreError(.internalFailure, "stored refresh token status is unknown")
        }
        return RefreshTokenRecord(
            tokenHash: try row.text(0), realm: try row.text(1), clientID: try row.text(2), subject: try row.text(3),
            scope: try row.text(4), familyID: try row.text(5), status: status, expiresAt: try row.real(7),
            createdAt: try row.real(8), attributes: try JSONColumn.value(try row.text(9), column: "refresh_tokens.attributes"))
    }

    private func values(of token: RefreshTokenRecord) throws -> [SQLValue] {
        [
            .text(token.tokenHash), .text(token.realm), .text(token.clientID), .text(token.subject), .text(token.scope),
            .text(token.familyID), .text(token.status.rawValue), .real(token.expiresAt), .real(token.createdAt),
            .text(try JSONColumn.text(token.attributes, field: "refresh token attributes", maxBytes: maxJSONBytes)),
        ]
    }

    /// Throws `conflict` when a token with the same hash exists.
    public func createRefreshToken(_ token: RefreshTokenRecord) throws {
        let values = try values(of: token)
        try writers.durable { try $0.run(Self.insertRefresh, values) }
    }

    public func refreshToken(hash: String) throws -> RefreshTokenRecord? {
        try readers.with {
            try $0.queryOne("SELECT \(Self.refreshColumns) FROM refresh_tokens WHERE token_hash = ?1", [.text(hash)], Self.refreshToken)
        }
    }

    /// Throws `conflict` (and changes nothing) when the successor's hash exists.
    public func rotateRefreshToken(oldHash: String, successor: RefreshTokenRecord) throws -> Bool {
        let values = try values(of: successor)
        return try writers.durable { connection in
            try connection.writeTransaction {
                let rotated = try connection.run(
                    "UPDATE refresh_tokens SET status = 'rotated' WHERE token_hash = ?1 AND status = 'active'", [.text(oldHash)])
                guard rotated == 1 else { return false }
                try connection.run(Self.insertRefresh, values)
                return true
            }
        }
    }

    @discardableResult
    public func revokeRefreshTokenFamily(familyID: String) throws -> Int {
        try writers.durable {
            try $0.run(
                "UPDATE refresh_tokens SET status = 'revoked' WHERE family_id = ?1 AND status <> 'revoked'", [.text(familyID)])
        }
    }

    // MARK: Device codes

    private static let deviceColumns = """
        device_code_hash, user_code, realm, client_id, scope, status, subject, interval, last_polled_at, expires_at, created_at, \
        version, attributes
        """

    private static func deviceCode(_ row: Statement) throws -> DeviceCodeRecord {
        guard let status = DeviceCodeRecord.Status(rawValue: try row.text(5)) else {
            throw StoreError(.internalFailure, "stored device code status is unknown")
        }
        return DeviceCodeRecord(
            deviceCodeHash: try row.text(0), userCode: try row.text(1), realm: try row.text(2), clientID: try row.text(3),
            scope: try row.text(4), status: status, subject: row.optionalText(6), interval: try row.real(7),
            lastPolledAt: row.optionalReal(8), expiresAt: try row.real(9), createdAt: try row.real(10),
            version: Int(try row.integer(11)),
            attributes: try JSONColumn.value(try row.text(12), column: "device_codes.attributes"))
    }

    private func values(of code: DeviceCodeRecord) throws -> [SQLValue] {
        [
            .text(code.deviceCodeHash), .text(code.userCode), .text(code.realm), .text(code.clientID), .text(code.scope),
            .text(code.status.rawValue), .optionalText(code.subject), .real(code.interval), .optionalReal(code.lastPolledAt),
            .real(code.expiresAt), .real(code.createdAt), .int(code.version),
            .text(try JSONColumn.text(code.attributes, field: "device code attributes", maxBytes: maxJSONBytes)),
        ]
    }

    public func createDeviceCode(_ code: DeviceCodeRecord) throws {
        let values = try values(of: code)
        try writers.durable {
            try $0.run(
                "INSERT INTO device_codes (\(Self.deviceColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                values)
        }
    }

    public func deviceCode(hash: String) throws -> DeviceCodeRecord? {
        try readers.with {
            try $0.queryOne(
                "SELECT \(Self.deviceColumns) FROM device_codes WHERE device_code_hash = ?1", [.text(hash)], Self.deviceCode)
        }
    }

    public func deviceCode(realm: String, userCode: String) throws -> DeviceCodeRecord? {
        try readers.with {
            try $0.queryOne(
                "SELECT \(Self.deviceColumns) FROM device_codes WHERE realm = ?1 AND user_code = ?2", [.text(realm), .text(userCode)],
                Self.deviceCode)
        }
    }

    /// False also when the code no longer exists (purged).
    public func updateDeviceCode(_ code: DeviceCodeRecord) throws -> Bool {
        var values = try values(of: code)
        values.append(.integer(Int64(code.version) &- 1))
        return try writers.durable {
            try $0.run(
                """
                UPDATE device_codes SET user_code = ?2, realm = ?3, client_id = ?4, scope = ?5, status = ?6, subject = ?7,
                    interval = ?8, last_polled_at = ?9, expires_at = ?10, created_at = ?11, version = ?12, attributes = ?13
                WHERE device_code_hash = ?1 AND version = ?14
                """, values) == 1
        }
    }

    // MARK: Access-token revocation

    /// Revoking again keeps the later of the two expiry times.
    public func revokeAccessToken(jwtID: String, realm: String, expiresAt: Timestamp) throws {
        try writers.durable {
            try $0.run(
                """
                INSERT INTO revoked_access_tokens (jwt_id, realm, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (jwt_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)
                """, [.text(jwtID), .text(realm), .real(expiresAt)])
        }
    }

    public func isAccessTokenRevoked(jwtID: String) throws -> Bool {
        try readers.with {
            try $0.queryOne("SELECT 1 FROM revoked_access_tokens WHERE jwt_id = ?1", [.text(jwtID)]) { _ in true } ?? false
        }
    }
}
