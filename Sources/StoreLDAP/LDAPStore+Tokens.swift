import IECJSON
import LDAPKit
public import Store

// Refresh tokens, device codes, access-token revocations and sessions.
extension LDAPStore {
    // MARK: Refresh tokens

    private func refreshAttributes(_ token: RefreshTokenRecord) throws -> [(String, [[UInt8]])] {
        var data = Fields(what: "refresh token")
        data[string: "tokenHash"] = token.tokenHash
        data[string: "realm"] = token.realm
        data[string: "clientID"] = token.clientID
        data[string: "subject"] = token.subject
        data[string: "scope"] = token.scope
        data[string: "familyID"] = token.familyID
        data.set("expiresAt", double: token.expiresAt)
        data.set("createdAt", double: token.createdAt)
        try data.set("attributes", json: token.attributes, maxBytes: maxJSONBytes)
        let dn = dn(.refreshTokens, "refresh", token.tokenHash)
        return newRecord(
            dn, key: Self.key(of: dn),
            try recordAttributes(realm: token.realm, name: token.tokenHash, data: data) + [
                Encoding.value("iecFamily", token.familyID), Encoding.value("iecStatus", token.status.rawValue),
                Encoding.value("iecExpiry", Encoding.expiry(token.expiresAt)),
            ])
    }

    /// The status lives in `iecStatus` (changed by compare-and-swap), the rest in `iecData`.
    private static func refreshToken(_ entry: LDAPEntry) throws -> RefreshTokenRecord {
        let data = try Fields(entry, what: "refresh token")
        guard let status = entry.string("iecStatus").flatMap(RefreshTokenRecord.Status.init(rawValue:)) else {
            throw StoreError(.internalFailure, "stored refresh token status is unknown")
        }
        return RefreshTokenRecord(
            tokenHash: try data.string("tokenHash"), realm: try data.string("realm"), clientID: try data.string("clientID"),
            subject: try data.string("subject"), scope: try data.string("scope"), familyID: try data.string("familyID"), status: status,
            expiresAt: try data.double("expiresAt"), createdAt: try data.double("createdAt"), attributes: try data.json("attributes"))
    }

    public func createRefreshToken(_ token: RefreshTokenRecord) throws {
        let dn = dn(.refreshTokens, "refresh", token.tokenHash)
        let attributes = try refreshAttributes(token)
        guard try perform(retry: false, { try $0.addIfAbsent(dn, attributes) }) else {
            throw StoreError(.conflict, "createRefreshToken: a token with this hash exists")
        }
    }

    public func refreshToken(hash: String) throws -> RefreshTokenRecord? {
        try perform { try $0.read(dn(.refreshTokens, "refresh", hash)) }.map(Self.refreshToken)
    }

    /// The old token's status goes active → rotated by compare-and-swap (one
    /// caller wins), then the successor is added; if its hash is taken, the swap
    /// is undone and `conflict` thrown.
    public func rotateRefreshToken(oldHash: String, successor: RefreshTokenRecord) throws -> Bool {
        let oldDN = dn(.refreshTokens, "refresh", oldHash)
        let newDN = dn(.refreshTokens, "refresh", successor.tokenHash)
        let attributes = try refreshAttributes(successor)
        return try perform(retry: false) { connection in
            if try connection.read(newDN, attributes: ["1.1"]) != nil {
                throw StoreError(.conflict, "rotateRefreshToken: the successor's hash exists")
            }
            let swapped = try connection.swap(oldDN, [.delete("iecStatus", "active"), .add("iecStatus", "rotated")])
            guard swapped == .done else { return false }
            guard try connection.addIfAbsent(newDN, attributes) else {
                _ = try connection.swap(oldDN, [.delete("iecStatus", "rotated"), .add("iecStatus", "active")])
                throw StoreError(.conflict, "rotateRefreshToken: the successor's hash exists")
            }
            return true
        }
    }

    @discardableResult
    public func revokeRefreshTokenFamily(familyID: String) throws -> Int {
        try perform { connection in
            var changed = 0
            let entries = try all(
                .refreshTokens, conditions: [Filter.record, Filter.equal("iecFamily", familyID), "(!(iecStatus=revoked))"],
                attributes: ["iecStatus"], on: connection)
            for entry in entries {
                var status = entry.string("iecStatus")
                var attempt = 0
                while let current = status, current != "revoked", attempt < Self.maxSwapAttempts {
                    attempt += 1
                    switch try connection.swap(entry.dn, [.delete("iecStatus", current), .add("iecStatus", "revoked")]) {
                    case .done:
                        changed += 1
                        status = nil
                    case .lost:
                        status = try connection.read(entry.dn, attributes: ["iecStatus"])?.string("iecStatus")
                    case .gone:
                        status = nil
                    }
                }
            }
            return changed
        }
    }

    // MARK: Device codes

    private func deviceFields(_ code: DeviceCodeRecord) throws -> String {
        var data = Fields(what: "device code")
        data[string: "deviceCodeHash"] = code.deviceCodeHash
        data[string: "userCode"] = code.userCode
        data[string: "realm"] = code.realm
        data[string: "clientID"] = code.clientID
        data[string: "scope"] = code.scope
        data[string: "status"] = code.status.rawValue
        data[string: "subject"] = code.subject
        data.set("interval", double: code.interval)
        data.set("lastPolledAt", optionalDouble: code.lastPolledAt)
        data.set("expiresAt", double: code.expiresAt)
        data.set("createdAt", double: code.createdAt)
        try data.set("attributes", json: code.attributes, maxBytes: maxJSONBytes)
        return try data.text(maxBytes: maxJSONBytes)
    }

    private static func deviceCode(_ entry: LDAPEntry) throws -> DeviceCodeRecord {
        let data = try Fields(entry, what: "device code")
        guard let status = DeviceCodeRecord.Status(rawValue: try data.string("status")) else {
            throw StoreError(.internalFailure, "stored device code status is unknown")
        }
        guard let version = entry.string("iecVersion").flatMap({ Int($0) }) else {
            throw StoreError(.internalFailure, "stored device code lacks its version")
        }
        return DeviceCodeRecord(
            deviceCodeHash: try data.string("deviceCodeHash"), userCode: try data.string("userCode"), realm: try data.string("realm"),
            clientID: try data.string("clientID"), scope: try data.string("scope"), status: status, subject: data.optionalString("subject"),
            interval: try data.double("interval"), lastPolledAt: try data.optionalDouble("lastPolledAt"),
            expiresAt: try data.double("expiresAt"), createdAt: try data.double("createdAt"), version: version,
            attributes: try data.json("attributes"))
    }

    /// The user code is claimed first (an entry of `ou=userCodes` naming the
    /// code's hash), then the code added; a taken hash releases the claim.
    public func createDeviceCode(_ code: DeviceCodeRecord) throws {
        let codeDN = dn(.deviceCodes, "device", code.deviceCodeHash)
        let claimDN = dn(.userCodes, "userCode", code.realm, code.userCode)
        let data = try deviceFields(code)
        let attributes = newRecord(
            codeDN, key: Self.key(of: codeDN),
            [
                Encoding.value("iecName", code.deviceCodeHash), Encoding.value("iecRealm", code.realm), Encoding.value("iecData", data),
                Encoding.value("iecVersion", "\(code.version)"), Encoding.value("iecExpiry", Encoding.expiry(code.expiresAt)),
            ])
        let claim = newRecord(
            claimDN, key: Self.key(of: claimDN),
            [
                Encoding.value("iecName", code.deviceCodeHash), Encoding.value("iecRealm", code.realm),
                Encoding.value("iecExpiry", Encoding.expiry(code.expiresAt)),
            ])
        try perform(retry: false) { connection in
            guard try connection.addIfAbsent(claimDN, claim) else {
                throw StoreError(.conflict, "createDeviceCode: the user code is taken in the realm")
            }
            guard try connection.addIfAbsent(codeDN, attributes) else {
                _ = try connection.deleteIfPresent(claimDN)
                throw StoreError(.conflict, "createDeviceCode: a device code with this hash exists")
            }
        }
    }

    public func deviceCode(hash: String) throws -> DeviceCodeRecord? {
        try perform { try $0.read(dn(.deviceCodes, "device", hash)) }.map(Self.deviceCode)
    }

    public func deviceCode(realm: String, userCode: String) throws -> DeviceCodeRecord? {
        let claimDN = dn(.userCodes, "userCode", realm, userCode)
        guard let hash = try perform({ try $0.read(claimDN, attributes: ["iecName"]) })?.string("iecName") else { return nil }
        guard let code = try deviceCode(hash: hash), Array(code.realm.utf8) == Array(realm.utf8), Array(code.userCode.utf8) == Array(userCode.utf8)
        else { return nil }
        return code
    }

    /// Compare-and-swap of `iecVersion` with the new fields, in one modify.
    /// The user code is fixed at creation (its claim entry does not move).
    public func updateDeviceCode(_ code: DeviceCodeRecord) throws -> Bool {
        let dn = dn(.deviceCodes, "device", code.deviceCodeHash)
        let data = try deviceFields(code)
        return try perform(retry: false) { connection in
            try connection.swap(
                dn,
                [
                    .delete("iecVersion", "\(Int64(code.version) &- 1)"), .add("iecVersion", "\(code.version)"), .replace("iecData", data),
                    .replace("iecExpiry", Encoding.expiry(code.expiresAt)),
                ]) == .done
        }
    }

    // MARK: Access-token revocation

    /// Revoking again keeps the later expiry (compare-and-swap on `iecData`).
    public func revokeAccessToken(jwtID: String, realm: String, expiresAt: Timestamp) throws {
        let dn = dn(.revocations, "revoked", jwtID)
        let text = Encoding.text(expiresAt)
        try perform { connection in
            let attributes = newRecord(
                dn, key: Self.key(of: dn),
                [
                    Encoding.value("iecName", jwtID), Encoding.value("iecRealm", realm), Encoding.value("iecData", text),
                    Encoding.value("iecExpiry", Encoding.expiry(expiresAt)),
                ])
            for attempt in 1...Self.maxSwapAttempts {
                if try connection.addIfAbsent(dn, attributes) { return }
                guard let stored = try connection.read(dn, attributes: ["iecData"])?.string("iecData") else { continue }
                guard try Encoding.double(stored, "revocation expiry") < expiresAt else { return }
                let result = try connection.swap(
                    dn, [.delete("iecData", stored), .add("iecData", text), .replace("iecExpiry", Encoding.expiry(expiresAt))])
                if result == .done { return }
                backOff(attempt)
            }
            throw StoreError(.unavailable, "revokeAccessToken: the revocation entry kept changing")
        }
    }

    public func isAccessTokenRevoked(jwtID: String) throws -> Bool {
        try perform { try $0.read(dn(.revocations, "revoked", jwtID), attributes: ["1.1"]) } != nil
    }

    // MARK: Sessions

    private func sessionAttributes(_ session: SessionRecord) throws -> [(String, [[UInt8]])] {
        var data = Fields(what: "session")
        data[string: "idHash"] = session.idHash
        data[string: "realm"] = session.realm
        data[string: "subject"] = session.subject
        data[string: "kind"] = session.kind
        data.set("createdAt", double: session.createdAt)
        data.set("lastUsedAt", double: session.lastUsedAt)
        data.set("expiresAt", double: session.expiresAt)
        data.set("idleTimeout", double: session.idleTimeout)
        try data.set("attributes", json: session.attributes, maxBytes: maxJSONBytes)
        return [
            Encoding.value("iecName", session.idHash), Encoding.value("iecRealm", session.realm), Encoding.value("iecSubject", session.subject),
            Encoding.value("iecData", try data.text(maxBytes: maxJSONBytes)),
            Encoding.value("iecExpiry", Encoding.expiry(Self.sessionEnd(session))),
        ]
    }

    /// The moment a session ends, by hard expiry or by idleness.
    static func sessionEnd(_ session: SessionRecord) -> Double { min(session.expiresAt, session.lastUsedAt + session.idleTimeout) }

    static func session(_ entry: LDAPEntry) throws -> SessionRecord {
        let data = try Fields(entry, what: "session")
        return SessionRecord(
            idHash: try data.string("idHash"), realm: try data.string("realm"), subject: try data.string("subject"),
            kind: try data.string("kind"), createdAt: try data.double("createdAt"), lastUsedAt: try data.double("lastUsedAt"),
            expiresAt: try data.double("expiresAt"), idleTimeout: try data.double("idleTimeout"), attributes: try data.json("attributes"))
    }

    public func createSession(_ session: SessionRecord) throws {
        let dn = dn(.sessions, "session", session.idHash)
        let attributes = newRecord(dn, key: Self.key(of: dn), try sessionAttributes(session))
        guard try perform(retry: false, { try $0.addIfAbsent(dn, attributes) }) else {
            throw StoreError(.conflict, "createSession: a session with this hash exists")
        }
    }

    public func session(idHash: String) throws -> SessionRecord? {
        try perform { try $0.read(dn(.sessions, "session", idHash)) }.map(Self.session)
    }

    /// Read, then replace: concurrent touches of one session keep one of their times.
    public func touchSession(idHash: String, at time: Timestamp) throws -> Bool {
        let dn = dn(.sessions, "session", idHash)
        return try perform { connection in
            guard let entry = try connection.read(dn) else { return false }
            var session = try Self.session(entry)
            session.lastUsedAt = time
            let attributes = try sessionAttributes(session)
            return try connection.swap(dn, attributes.map { LDAPModification(.replace, $0.0, $0.1) }) == .done
        }
    }

    public func deleteSession(idHash: String) throws -> Bool {
        try perform { try $0.deleteIfPresent(dn(.sessions, "session", idHash)) }
    }

    @discardableResult
    public func deleteSessions(realm: String, subject: String) throws -> Int {
        try perform { connection in
            let entries = try all(
                .sessions, conditions: [Filter.record, Filter.equal("iecRealm", realm), Filter.equal("iecSubject", subject)],
                attributes: ["1.1"], on: connection)
            var deleted = 0
            for entry in entries where try connection.deleteIfPresent(entry.dn) { deleted += 1 }
            return deleted
        }
    }
}
