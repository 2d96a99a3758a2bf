public import IECCrypto
public import IECJSON
public import JOSE
public import Store

/// How a request authenticated its client.
public struct AuthenticatedClient: Sendable {
    public let record: OAuth2ClientRecord
    /// The method actually used (`client_secret_basic`, `client_secret_post`, `private_key_jwt`, `none`).
    public let method: String
}

extension OAuth2Provider {
    /// Authenticates the client of a token, device, introspection or revocation
    /// request (RFC 6749 §2.3, RFC 7523 §2.2). Exactly one method may be used.
    /// With `allowAbsent`, a request with no client credentials at all returns nil
    /// (the JWT-bearer grant, whose assertion authenticates the client itself).
    public func authenticateClient(realm: RealmContext, request: OAuth2Request, allowAbsent: Bool = false) throws -> AuthenticatedClient? {
        let basic = try basicCredentials(request.authorization)
        let postedID = try request.parameter("client_id")
        let postedSecret = try request.parameter("client_secret")
        let assertion = try request.parameter("client_assertion")
        let assertionType = try request.parameter("client_assertion_type")
        let methods = [basic != nil, postedSecret != nil, assertion != nil].filter { $0 }.count
        guard methods <= 1 else { throw OAuth2Error.invalidRequest("use exactly one client authentication method") }

        if let (id, secret) = basic {
            if let postedID, postedID != id { throw OAuth2Error.invalidRequest("client_id does not match the Authorization header") }
            return try authenticateWithSecret(realm: realm, clientID: id, secret: secret, method: ClientAuthMethod.secretBasic)
        }
        if let postedSecret {
            guard let postedID else { throw OAuth2Error.invalidRequest("client_secret needs client_id") }
            return try authenticateWithSecret(realm: realm, clientID: postedID, secret: postedSecret, method: ClientAuthMethod.secretPost)
        }
        if let assertion {
            guard assertionType == ClientAuthMethod.assertionType else {
                throw OAuth2Error.invalidRequest("client_assertion_type must be \(ClientAuthMethod.assertionType)")
            }
            return try authenticateWithAssertion(realm: realm, assertion: assertion, claimedID: postedID, endpoint: request.endpointURL)
        }
        if let postedID {
            let client = try loadClient(realm: realm, clientID: postedID)
            guard client.tokenEndpointAuthMethod == ClientAuthMethod.none else {
                throw OAuth2Error.invalidClient("client authentication failed", hint: "confidential client \(postedID) sent no credentials")
            }
            return AuthenticatedClient(record: client, method: ClientAuthMethod.none)
        }
        if allowAbsent { return nil }
        throw OAuth2Error.invalidClient("client authentication is required")
    }

    private func basicCredentials(_ header: String?) throws -> (String, String)? {
        guard let header else { return nil }
        guard header.count > 6, header.prefix(6).lowercased() == "basic " else {
            if header.lowercased().hasPrefix("bearer ") { return nil }
            throw OAuth2Error.invalidClient("unsupported Authorization scheme")
        }
        guard let decoded = Base64.decode(header.dropFirst(6).trimmingSpaces()),
            let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":"),
            let id = formDecode(text[..<colon]), let secret = formDecode(text[text.index(after: colon)...])
        else { throw OAuth2Error.invalidClient("malformed Basic credentials") }
        return (id, secret)
    }

    func loadClient(realm: RealmContext, clientID: String) throws -> OAuth2ClientRecord {
        guard clientID.utf8.count <= 256, let client = try storeCall({ try store.client(realm: realm.name, clientID: clientID) }) else {
            throw OAuth2Error.invalidClient("client authentication failed", hint: "unknown client")
        }
        guard !client.disabled else { throw OAuth2Error.invalidClient("client authentication failed", hint: "client \(clientID) is disabled") }
        return client
    }

    private func authenticateWithSecret(realm: RealmContext, clientID: String, secret: String, method: String) throws -> AuthenticatedClient {
        let client = try loadClient(realm: realm, clientID: clientID)
        guard [ClientAuthMethod.secretBasic, ClientAuthMethod.secretPost].contains(client.tokenEndpointAuthMethod),
            let hash = client.secretHash, Self.secretMatches(secret, hash: hash)
        else { throw OAuth2Error.invalidClient("client authentication failed", hint: "bad secret for \(clientID)") }
        return AuthenticatedClient(record: client, method: method)
    }

    /// `private_key_jwt`: an assertion with iss = sub = client_id, our endpoint as
    /// audience, a short life and a jti used once.
    private func authenticateWithAssertion(realm: RealmContext, assertion: String, claimedID: String?, endpoint: String) throws -> AuthenticatedClient {
        let unverified: JWTClaims
        do {
            unverified = try JWTClaims(payload: JWS.decode(assertion).payload)
        } catch let error as JOSEError {
            throw OAuth2Error.invalidClient("the client assertion is malformed: \(error.reason)")
        }
        guard let clientID = unverified.issuer else { throw OAuth2Error.invalidClient("the client assertion has no iss") }
        if let claimedID, claimedID != clientID { throw OAuth2Error.invalidClient("client_id does not match the assertion's iss") }
        let client = try loadClient(realm: realm, clientID: clientID)
        guard client.tokenEndpointAuthMethod == ClientAuthMethod.privateKeyJWT else {
            throw OAuth2Error.invalidClient("client authentication failed", hint: "\(clientID) is not a private_key_jwt client")
        }
        _ = try verifyAssertion(
            assertion, client: client, realm: realm, expectedSubject: clientID, endpoint: endpoint,
            failure: { OAuth2Error.invalidClient("the client assertion was refused: \($0)") })
        return AuthenticatedClient(record: client, method: ClientAuthMethod.privateKeyJWT)
    }

    /// Verifies an assertion signed by `client`'s keys (RFC 7523 §3): signature,
    /// iss = client, sub, an audience naming this server, exp within the allowed
    /// lifetime, iat not in the future, and a jti never seen before.
    func verifyAssertion(
        _ assertion: String, client: OAuth2ClientRecord, realm: RealmContext, expectedSubject: String?, endpoint: String,
        failure: (String) -> OAuth2Error
    ) throws -> JWTClaims {
        guard let jwksJSON = client.jwks, let keys = try? JWKS(json: jwksJSON), !keys.keys.isEmpty else {
            throw failure("the client has no registered keys")
        }
        let now = clock.now
        let claims: JWTClaims
        do {
            let verified = try JWS.verify(assertion, keys: .set(keys))
            claims = try verified.claims()
            let policy = JWTValidationPolicy(
                issuer: client.clientID, subject: expectedSubject, leeway: 30, requireExpiration: true,
                maxLifetime: realm.settings.maxAssertionLifetime)
            try policy.validate(claims, now: now)
        } catch let error as JOSEError {
            throw failure(error.reason)
        }
        let audiences = Set([issuer(realm: realm.name), tokenEndpoint(realm: realm.name), endpoint].filter { !$0.isEmpty })
        guard claims.audience.contains(where: { audiences.contains($0) }) else {
            throw failure("the assertion's audience is not this server (expected \(tokenEndpoint(realm: realm.name)))")
        }
        guard let jwtID = claims.jwtID, !jwtID.isEmpty, jwtID.utf8.count <= 256 else { throw failure("the assertion has no jti") }
        let expiresAt = (claims.expiration ?? now) + 30
        let fresh = try storeCall {
            try store.consumeOnce(namespace: "jti", key: "\(realm.name)/\(client.clientID)/\(jwtID)", expiresAt: expiresAt, now: now)
        }
        guard fresh else { throw failure("the assertion was used before (jti replay)") }
        return claims
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
