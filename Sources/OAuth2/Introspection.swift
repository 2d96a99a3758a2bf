public import IECJSON
public import JOSE
public import Store

extension OAuth2Provider {
    /// Verifies one of this realm's access tokens: signature, issuer, expiry,
    /// and that it was not revoked. Nil when it is not an active access token.
    ///
    /// A resource server introspects the same token on every call it gets, and the
    /// ES256 check is most of the cost, so a token whose signature, `typ` and
    /// issuer passed is remembered for a minute (bounded, see
    /// `verifiedAccessTokens`) under its exact text, its realm and the realm's
    /// published key ids: a key taken out of the JWKS changes the cache key, so the
    /// token is checked afresh. Expiry, revocation and the client's state are
    /// checked every time.
    public func activeAccessToken(realm: RealmContext, token: String) throws -> JWTClaims? {
        let now = clock.now
        let cacheKey = realm.name + "\n" + realm.verificationKeys.keys.map { $0.keyID ?? "" }.joined(separator: ",") + "\n" + token
        let claims: JWTClaims
        do {
            let known = verifiedAccessTokens.cached(cacheKey, now: now)
            if let known {
                claims = known
            } else {
                let verified = try JWS.verify(token, keys: .set(realm.verificationKeys), maxBytes: 16 * 1024)
                guard verified.header["typ"]?.stringValue == "at+jwt" else { return nil }
                claims = try verified.claims()
            }
            try JWTValidationPolicy(issuer: issuer(realm: realm.name), leeway: 0).validate(claims, now: now)
            if known == nil { verifiedAccessTokens.store(cacheKey, claims, now: now) }
        } catch is JOSEError {
            return nil
        }
        guard let jwtID = claims.jwtID else { return nil }
        if try storeCall({ try store.isAccessTokenRevoked(jwtID: jwtID) }) { return nil }
        // A token of a client that has since been disabled or deleted is no longer active.
        if let clientID = claims["client_id"]?.stringValue {
            guard let client = try storeCall({ try store.client(realm: realm.name, clientID: clientID) }), !client.disabled else { return nil }
            if let notBefore = client.attributes["tokens_not_before"]?.doubleValue, (claims.issuedAt ?? 0) < notBefore { return nil }
        }
        return claims
    }

    /// Token introspection (RFC 7662); the caller must be an authenticated client.
    public func introspect(realm realmName: String, request: OAuth2Request) throws -> JSONValue {
        let realm = try requireRealm(realmName)
        guard try authenticateClient(realm: realm, request: request) != nil else {
            throw OAuth2Error.invalidClient("client authentication is required")
        }
        let token = try request.required("token")
        return try introspect(realm: realm, token: token, hint: try request.parameter("token_type_hint"))
    }

    /// Introspection without client authentication, for callers that already
    /// authenticated by other means (the IEC command endpoint).
    public func introspect(realm: RealmContext, token: String, hint: String?) throws -> JSONValue {
        let inactive: JSONValue = ["active": false]
        guard token.utf8.count <= 16 * 1024 else { return inactive }
        if hint != "refresh_token", let claims = try activeAccessToken(realm: realm, token: token) {
            var members = claims.values
            members["active"] = true
            members["token_type"] = "Bearer"
            return .object(members)
        }
        guard let record = try storeCall({ try store.refreshToken(hash: Self.hashSecret(token)) }), record.realm == realm.name,
            record.status == .active, record.expiresAt > clock.now,
            let client = try storeCall({ try store.client(realm: realm.name, clientID: record.clientID) }), !client.disabled
        else { return inactive }
        return [
            "active": true, "token_type": "refresh_token", "client_id": .string(record.clientID), "sub": .string(record.subject),
            "scope": .string(record.scope), "exp": .int(Int64(record.expiresAt)), "iat": .int(Int64(record.createdAt)),
            "iss": .string(issuer(realm: realm.name)),
        ]
    }

    /// Token revocation (RFC 7009): the caller must own the token; unknown
    /// tokens are not an error (§2.2), so nothing is learnt from the answer.
    public func revoke(realm realmName: String, request: OAuth2Request) throws {
        let realm = try requireRealm(realmName)
        guard let client = try authenticateClient(realm: realm, request: request) else {
            throw OAuth2Error.invalidClient("client authentication is required")
        }
        let token = try request.required("token")
        let hint = try request.parameter("token_type_hint")
        if let hint, !["access_token", "refresh_token"].contains(hint) {
            throw OAuth2Error.unsupportedTokenType("token_type_hint \"\(hint.prefix(40))\" is not supported")
        }
        if let record = try storeCall({ try store.refreshToken(hash: Self.hashSecret(token)) }), record.realm == realm.name {
            guard record.clientID == client.record.clientID else { return }
            try storeCall { try store.revokeRefreshTokenFamily(familyID: record.familyID) }
            return
        }
        if let claims = try activeAccessToken(realm: realm, token: token), let jwtID = claims.jwtID,
            claims["client_id"]?.stringValue == client.record.clientID
        {
            try storeCall { try store.revokeAccessToken(jwtID: jwtID, realm: realm.name, expiresAt: claims.expiration ?? clock.now + 3600) }
        }
    }

    /// Revokes every token issued to a client so far (an administrator's "revoke
    /// its tokens"): access tokens issued before now stop being active, and its
    /// refresh tokens stop working.
    public func revokeAllTokens(realm: String, clientID: String) throws {
        guard var client = try storeCall({ try store.client(realm: realm, clientID: clientID) }) else { return }
        var attributes = client.attributes.objectValue ?? [:]
        // Whole seconds: tokens carry whole-second iat, and one issued in this second is revoked too.
        attributes["tokens_not_before"] = .double((clock.now + 1).rounded(.down))
        client.attributes = .object(attributes)
        client.updatedAt = clock.now
        try storeCall { try store.updateClient(client) }
    }

    /// Revokes an access token by its claims, for administrators (no client check).
    public func revokeAccessToken(realm: RealmContext, claims: JWTClaims) throws {
        guard let jwtID = claims.jwtID else { return }
        try storeCall { try store.revokeAccessToken(jwtID: jwtID, realm: realm.name, expiresAt: claims.expiration ?? clock.now + 3600) }
    }

    /// OIDC userinfo: the bearer token must be active and carry `openid`.
    public func userinfo(realm realmName: String, authorization: String?) throws -> JSONValue {
        let realm = try requireRealm(realmName)
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw OAuth2Error(code: "invalid_token", description: "a Bearer access token is required", status: 401, challengesClient: true)
        }
        let token = String(authorization.dropFirst(7))
        guard let claims = try activeAccessToken(realm: realm, token: token) else {
            throw OAuth2Error(code: "invalid_token", description: "the access token is not active", status: 401, challengesClient: true)
        }
        let scopes = (claims["scope"]?.stringValue ?? "").split(separator: " ")
        guard scopes.contains("openid") else {
            throw OAuth2Error(code: "insufficient_scope", description: "the openid scope is required", status: 403, challengesClient: true)
        }
        var info: [String: JSONValue] = ["sub": .string(claims.subject ?? "")]
        if let subject = claims.subject, let user = try storeCall({ try store.user(realm: realm.name, username: subject) }) {
            info["preferred_username"] = .string(user.username)
            if case .object(let attributes) = user.attributes {
                for (key, value) in attributes where ["name", "email", "given_name", "family_name"].contains(key) { info[key] = value }
            }
        }
        return .object(info)
    }
}
