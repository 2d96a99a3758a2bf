public import IECCrypto
public import IECJSON
public import Store

/// User codes (RFC 8628 §6.1): eight characters from twenty consonants, no
/// vowels (no words), no look-alikes (no 0/O, 1/I). 20^8 ≈ 2^34.6 guesses,
/// with wrong guesses rate-limited.
public enum UserCode {
    public static let alphabet = Array("BCDFGHJKLMNPQRSTVWXZ")
    public static let length = 8

    public static func make(using random: any RandomSource) -> String {
        String((0..<length).map { _ in alphabet[Int(SecureRandom.uniform(UInt32(alphabet.count), using: random))] })
    }

    /// `bcdf-ghjk` → `BCDFGHJK`; nil when it cannot be a user code.
    public static func normalise(_ input: String) -> String? {
        let cleaned = input.uppercased().filter { $0 != "-" && $0 != " " }
        guard cleaned.count == length, cleaned.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return cleaned
    }

    /// `BCDFGHJK` → `BCDF-GHJK`, as shown to people.
    public static func display(_ code: String) -> String {
        guard code.count == length else { return code }
        return String(code.prefix(4)) + "-" + String(code.suffix(4))
    }
}

extension OAuth2Provider {
    /// The device authorization endpoint (RFC 8628 §3.1–3.2).
    public func deviceAuthorization(realm realmName: String, request: OAuth2Request) throws -> JSONValue {
        let realm = try requireRealm(realmName)
        guard let client = try authenticateClient(realm: realm, request: request) else {
            throw OAuth2Error.invalidClient("client authentication is required")
        }
        try requireGrant(GrantType.deviceCode, for: client.record)
        let scopes = try Scope.grant(requested: try Scope.parse(try request.parameter("scope")), allowed: allowedScopes(client.record, realm: realm))
        return try startDeviceAuthorization(realm: realm, client: client.record, scopes: scopes)
    }

    /// Creates a pending device code for `client`; also used by the IEC GET_USER_CODE command.
    public func startDeviceAuthorization(realm: RealmContext, client: OAuth2ClientRecord, scopes: [String], attributes: JSONValue = .object([:])) throws -> JSONValue {
        let now = clock.now
        let settings = realm.settings
        let deviceCode = makeOpaqueToken()
        // A user-code collision is possible, if unlikely: try a few fresh codes.
        for _ in 0..<5 {
            let userCode = UserCode.make(using: random)
            let record = DeviceCodeRecord(
                deviceCodeHash: deviceCode.hash, userCode: userCode, realm: realm.name, clientID: client.clientID,
                scope: scopes.joined(separator: " "), interval: settings.deviceCodeInterval, expiresAt: now + settings.deviceCodeLifetime,
                createdAt: now, version: 0, attributes: attributes)
            do {
                try store.createDeviceCode(record)
            } catch let error as StoreError where error.kind == .conflict {
                continue
            } catch {
                throw OAuth2Error.serverError(hint: "\(error)")
            }
            let page = settings.verificationURL.isEmpty ? verificationPage(realm: realm.name) : settings.verificationURL
            let separator = page.contains("?") ? "&" : "?"
            return [
                "device_code": .string(deviceCode.value),
                "user_code": .string(UserCode.display(userCode)),
                "verification_uri": .string(page),
                "verification_url": .string(page),
                "verification_uri_complete": .string(page + separator + "user_code=" + UserCode.display(userCode)),
                "expires_in": .int(Int64(settings.deviceCodeLifetime)),
                "interval": .int(Int64(settings.deviceCodeInterval)),
            ]
        }
        throw OAuth2Error.serverError(hint: "could not find a free user code")
    }

    /// The device_code grant (RFC 8628 §3.4–3.5).
    func deviceCodeGrant(realm: RealmContext, request: OAuth2Request) throws -> JSONValue {
        guard let client = try authenticateClient(realm: realm, request: request) else {
            throw OAuth2Error.invalidClient("client authentication is required")
        }
        try requireGrant(GrantType.deviceCode, for: client.record)
        let code = try request.required("device_code")
        return try pollDeviceCode(realm: realm, client: client.record, deviceCode: code)
    }

    /// One poll of a device code: pending, slow_down, denied, expired, or the tokens (once).
    public func pollDeviceCode(realm: RealmContext, client: OAuth2ClientRecord, deviceCode: String) throws -> JSONValue {
        let now = clock.now
        guard var record = try storeCall({ try store.deviceCode(hash: Self.hashSecret(deviceCode)) }), record.realm == realm.name,
            record.clientID == client.clientID
        else { throw OAuth2Error.invalidGrant("the device code is invalid") }
        guard record.expiresAt > now else { throw OAuth2Error.expiredToken() }
        switch record.status {
        case .consumed: throw OAuth2Error.invalidGrant("the device code was already exchanged")
        case .denied: throw OAuth2Error.accessDenied()
        case .pending:
            let tooSoon = record.lastPolledAt.map { now - $0 < record.interval } ?? false
            record.lastPolledAt = now
            if tooSoon { record.interval += 5 }  // RFC 8628 §3.5: slow_down adds 5 seconds
            record.version += 1
            _ = try storeCall { try store.updateDeviceCode(record) }
            throw tooSoon ? OAuth2Error.slowDown() : OAuth2Error.authorizationPending()
        case .approved:
            record.status = .consumed
            record.version += 1
            guard try storeCall({ try store.updateDeviceCode(record) }) else {
                throw OAuth2Error.invalidGrant("the device code was already exchanged")
            }
            let scopes = record.scope.split(separator: " ").map(String.init)
            let subject = record.subject ?? client.clientID
            let refresh = client.grantTypes.contains(GrantType.refreshToken)
            return try mintTokens(
                realm: realm,
                grant: TokenGrant(client: client, subject: subject, scopes: scopes, authTime: record.attributes["auth_time"]?.doubleValue, refresh: refresh))
        }
    }

    /// A pending, unexpired device code by its user code, with its client — what
    /// the verification page shows before the user decides. Nil for anything else.
    public func pendingDeviceCode(realm: String, userCode input: String) throws -> (code: DeviceCodeRecord, client: OAuth2ClientRecord)? {
        guard let userCode = UserCode.normalise(input) else { return nil }
        guard let record = try storeCall({ try store.deviceCode(realm: realm, userCode: userCode) }), record.status == .pending,
            record.expiresAt > clock.now,
            let client = try storeCall({ try store.client(realm: realm, clientID: record.clientID) }), !client.disabled
        else { return nil }
        return (record, client)
    }

    /// Records the user's decision; false when the code is no longer pending.
    public func decideDeviceCode(realm: String, userCode: String, subject: String, approve: Bool) throws -> Bool {
        guard var (record, _) = try pendingDeviceCode(realm: realm, userCode: userCode) else { return false }
        record.status = approve ? .approved : .denied
        record.subject = subject
        record.version += 1
        if case .object(var attributes) = record.attributes {
            attributes["auth_time"] = .double(clock.now)
            record.attributes = .object(attributes)
        }
        return try storeCall { try store.updateDeviceCode(record) }
    }
}
