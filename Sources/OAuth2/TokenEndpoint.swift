public import IECJSON
public import JOSE
public import Store

extension OAuth2Provider {
    /// The token endpoint (RFC 6749 §3.2): dispatches on `grant_type`.
    public func token(realm realmName: String, request: OAuth2Request) throws -> JSONValue {
        let realm = try requireRealm(realmName)
        let grantType = try request.required("grant_type")
        guard GrantType.all.contains(grantType) else {
            throw OAuth2Error.unsupportedGrantType("grant type \"\(grantType.prefix(80))\" is not supported")
        }
        switch grantType {
        case GrantType.clientCredentials: return try clientCredentials(realm: realm, request: request)
        case GrantType.jwtBearer: return try jwtBearer(realm: realm, request: request)
        case GrantType.refreshToken: return try refresh(realm: realm, request: request)
        default: return try deviceCodeGrant(realm: realm, request: request)
        }
    }

    func requireGrant(_ grant: String, for client: OAuth2ClientRecord) throws {
        guard client.grantTypes.contains(grant) else {
            throw OAuth2Error.unauthorizedClient("the client may not use the \(grant) grant")
        }
    }

    func allowedScopes(_ client: OAuth2ClientRecord, realm: RealmContext) -> [String] {
        client.scopes.isEmpty ? realm.settings.defaultScopes : client.scopes
    }

    /// RFC 6749 §4.4: a confidential client, for itself. No refresh token (§4.4.3).
    private func clientCredentials(realm: RealmContext, request: OAuth2Request) throws -> JSONValue {
        guard let client = try authenticateClient(realm: realm, request: request), client.method != ClientAuthMethod.none else {
            throw OAuth2Error.invalidClient("client_credentials needs an authenticated confidential client")
        }
        try requireGrant(GrantType.clientCredentials, for: client.record)
        let scopes = try Scope.grant(requested: try Scope.parse(try request.parameter("scope")), allowed: allowedScopes(client.record, realm: realm))
        return try mintTokens(realm: realm, grant: TokenGrant(client: client.record, subject: client.record.clientID, scopes: scopes))
    }

    /// RFC 7523 §2.1: the assertion, signed by the client's key, names the
    /// subject; here a client acts for itself (sub = iss), as IEC nodes do.
    private func jwtBearer(realm: RealmContext, request: OAuth2Request) throws -> JSONValue {
        let assertion = try request.required("assertion")
        let authenticated = try authenticateClient(realm: realm, request: request, allowAbsent: true)
        let unverified: JWTClaims
        do {
            unverified = try JWTClaims(payload: JWS.decode(assertion).payload)
        } catch let error as JOSEError {
            throw OAuth2Error.invalidGrant("the assertion is malformed: \(error.reason)")
        }
        guard let issuerID = unverified.issuer else { throw OAuth2Error.invalidGrant("the assertion has no iss") }
        if let authenticated, authenticated.record.clientID != issuerID {
            throw OAuth2Error.invalidGrant("the assertion was issued by another client")
        }
        let client: OAuth2ClientRecord
        if let authenticated {
            client = authenticated.record
        } else {
            do {
                client = try loadClient(realm: realm, clientID: issuerID)
            } catch {
                throw OAuth2Error.invalidGrant("the assertion's issuer is not a known client")
            }
        }
        try requireGrant(GrantType.jwtBearer, for: client)
        let claims = try verifyAssertion(
            assertion, client: client, realm: realm, expectedSubject: client.clientID, endpoint: request.endpointURL,
            failure: { OAuth2Error.invalidGrant("the assertion was refused: \($0)") })
        let scopes = try Scope.grant(requested: try Scope.parse(try request.parameter("scope")), allowed: allowedScopes(client, realm: realm))
        return try mintTokens(realm: realm, grant: TokenGrant(client: client, subject: claims.subject ?? client.clientID, scopes: scopes))
    }

    /// RFC 6749 §6 with rotation: each refresh token works once; presenting a
    /// rotated one again revokes its whole family (it was stolen, or the client is broken).
    private func refresh(realm: RealmContext, request: OAuth2Request) throws -> JSONValue {
        guard let client = try authenticateClient(realm: realm, request: request) else {
            throw OAuth2Error.invalidClient("client authentication is required")
        }
        try requireGrant(GrantType.refreshToken, for: client.record)
        let value = try request.required("refresh_token")
        let now = clock.now
        guard let record = try storeCall({ try store.refreshToken(hash: Self.hashSecret(value)) }), record.realm == realm.name,
            record.clientID == client.record.clientID
        else { throw OAuth2Error.invalidGrant("the refresh token is invalid") }
        switch record.status {
        case .revoked: throw OAuth2Error.invalidGrant("the refresh token was revoked")
        case .rotated:
            try storeCall { try store.revokeRefreshTokenFamily(familyID: record.familyID) }
            throw OAuth2Error.invalidGrant("the refresh token was already used; its family is revoked", hint: "refresh token reuse")
        case .active: break
        }
        guard record.expiresAt > now else { throw OAuth2Error.invalidGrant("the refresh token has expired") }
        if let notBefore = client.record.attributes["tokens_not_before"]?.doubleValue, record.createdAt < notBefore {
            throw OAuth2Error.invalidGrant("the refresh token was revoked")
        }
        let granted = record.scope.split(separator: " ").map(String.init)
        let scopes = try Scope.grant(requested: try Scope.parse(try request.parameter("scope")), allowed: granted)

        // The successor is stored by the same atomic step that retires the old token.
        let successor = makeOpaqueToken()
        let successorRecord = RefreshTokenRecord(
            tokenHash: successor.hash, realm: realm.name, clientID: record.clientID, subject: record.subject, scope: record.scope,
            familyID: record.familyID, expiresAt: now + realm.settings.refreshTokenLifetime, createdAt: now, attributes: record.attributes)
        guard try storeCall({ try store.rotateRefreshToken(oldHash: record.tokenHash, successor: successorRecord) }) else {
            try storeCall { try store.revokeRefreshTokenFamily(familyID: record.familyID) }
            throw OAuth2Error.invalidGrant("the refresh token was already used; its family is revoked", hint: "concurrent refresh")
        }
        var response = try mintTokens(
            realm: realm,
            grant: TokenGrant(client: client.record, subject: record.subject, scopes: scopes, authTime: record.attributes["auth_time"]?.doubleValue))
        if case .object(var members) = response {
            members["refresh_token"] = .string(successor.value)
            response = .object(members)
        }
        return response
    }
}
