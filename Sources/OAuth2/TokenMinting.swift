public import IECCrypto
public import IECJSON
public import JOSE
public import Store

/// What a grant decided to issue.
public struct TokenGrant: Sendable {
    public var client: OAuth2ClientRecord
    public var subject: String
    public var scopes: [String]
    /// When the user authenticated, for tokens on a user's behalf.
    public var authTime: Double?
    /// Issue a refresh token, in this family (a new family when nil).
    public var refresh: Bool
    public var refreshFamily: String?
    /// Extra claims for the access token (e.g. the IEC node type).
    public var extraClaims: [String: JSONValue]

    public init(client: OAuth2ClientRecord, subject: String, scopes: [String], authTime: Double? = nil,
                refresh: Bool = false, refreshFamily: String? = nil, extraClaims: [String: JSONValue] = [:]) {
        self.client = client
        self.subject = subject
        self.scopes = scopes
        self.authTime = authTime
        self.refresh = refresh
        self.refreshFamily = refreshFamily
        self.extraClaims = extraClaims
    }
}

extension OAuth2Provider {
    /// Signs the access token (RFC 9068 JWT profile), the ID token when `openid`
    /// was granted, and stores a refresh token when asked. Returns the token response.
    public func mintTokens(realm: RealmContext, grant: TokenGrant) throws -> JSONValue {
        let now = clock.now.rounded(.down)
        let settings = realm.settings
        let issuer = issuer(realm: realm.name)
        let key = JWSSigningKey.es256(realm.signingKey, keyID: realm.signingKeyID)
        let scope = grant.scopes.joined(separator: " ")

        var access = JWTClaims(grant.extraClaims)
        access.issuer = issuer
        access.subject = grant.subject
        access.setAudience([grant.client.clientID])
        access.issuedAt = now
        access.expiration = now + settings.accessTokenLifetime
        access.jwtID = Base64.urlEncode(random.bytes(16))
        access["client_id"] = .string(grant.client.clientID)
        access["scope"] = .string(scope)
        access["realm"] = .string("/" + realm.name)
        if let authTime = grant.authTime { access["auth_time"] = .int(Int64(authTime)) }
        var response: [String: JSONValue] = [
            "access_token": .string(try signed(access, key: key, type: "at+jwt")),
            "token_type": "Bearer",
            "expires_in": .int(Int64(settings.accessTokenLifetime)),
            "scope": .string(scope),
        ]

        if grant.scopes.contains("openid") {
            var id = JWTClaims()
            id.issuer = issuer
            id.subject = grant.subject
            id.setAudience([grant.client.clientID])
            id.issuedAt = now
            id.expiration = now + settings.idTokenLifetime
            id["azp"] = .string(grant.client.clientID)
            id["realm"] = .string("/" + realm.name)
            id["auth_time"] = .int(Int64(grant.authTime ?? now))
            response["id_token"] = .string(try signed(id, key: key, type: "JWT"))
        }

        if grant.refresh {
            let token = makeOpaqueToken()
            let record = RefreshTokenRecord(
                tokenHash: token.hash, realm: realm.name, clientID: grant.client.clientID, subject: grant.subject, scope: scope,
                familyID: grant.refreshFamily ?? Base64.urlEncode(random.bytes(16)), expiresAt: now + settings.refreshTokenLifetime,
                createdAt: now, attributes: grant.authTime.map { ["auth_time": .double($0)] } ?? .object([:]))
            try storeCall { try store.createRefreshToken(record) }
            response["refresh_token"] = .string(token.value)
        }
        return .object(response)
    }

    private func signed(_ claims: JWTClaims, key: JWSSigningKey, type: String) throws -> String {
        do {
            return try JWS.sign(claims: claims, key: key, type: type)
        } catch {
            throw OAuth2Error.serverError(hint: "token signing failed: \(error)")
        }
    }
}
