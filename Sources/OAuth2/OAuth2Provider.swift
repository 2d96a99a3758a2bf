public import IECCrypto
public import IECJSON
public import JOSE
public import Store

/// The OAuth2 / OpenID Connect provider of every realm: the token endpoint and
/// its grants, device authorization, introspection, revocation, userinfo,
/// discovery and the JWKS.
///
/// It reads and writes only through the `Store`, takes the clock and the
/// random source from its caller, and returns JSON values or throws
/// `OAuth2Error`: the HTTP layer only moves bytes.
public final class OAuth2Provider: Sendable {
    public let store: any Store
    public let clock: any WallClock
    public let random: any RandomSource
    /// This server's public base URL, e.g. `http://127.0.0.1:8080`; issuers derive from it.
    public let publicURL: String
    let realms = ExpiringCache<RealmContext?>(lifetime: 5)
    /// Access tokens whose signature, type and issuer were checked, by realm, key set
    /// and token text (see `activeAccessToken`); only successes are kept.
    let verifiedAccessTokens = ExpiringCache<JWTClaims>(lifetime: 60, capacity: 10_000)

    public init(store: any Store, publicURL: String, clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom()) {
        self.store = store
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.clock = clock
        self.random = random
    }

    // MARK: URLs

    public func realmPath(_ realm: String) -> String { "/oauth2/realms/root/realms/\(realm)" }
    public func issuer(realm: String) -> String { publicURL + realmPath(realm) }
    public func tokenEndpoint(realm: String) -> String { issuer(realm: realm) + "/access_token" }
    public func deviceAuthorizationEndpoint(realm: String) -> String { issuer(realm: realm) + "/device/code" }
    public func verificationPage(realm: String) -> String { issuer(realm: realm) + "/device/user" }
    public func introspectionEndpoint(realm: String) -> String { issuer(realm: realm) + "/introspect" }
    public func revocationEndpoint(realm: String) -> String { issuer(realm: realm) + "/token/revoke" }
    public func userinfoEndpoint(realm: String) -> String { issuer(realm: realm) + "/userinfo" }
    public func jwksURI(realm: String) -> String { issuer(realm: realm) + "/connect/jwk_uri" }

    // MARK: Discovery and keys

    /// OpenID Connect Discovery 1.0 and RFC 8414 metadata (one document serves both).
    public func discovery(realm: String) throws -> JSONValue {
        _ = try requireRealm(realm)
        let strings = { (values: [String]) in JSONValue.array(values.map(JSONValue.string)) }
        return [
            "issuer": .string(issuer(realm: realm)),
            "token_endpoint": .string(tokenEndpoint(realm: realm)),
            "device_authorization_endpoint": .string(deviceAuthorizationEndpoint(realm: realm)),
            "introspection_endpoint": .string(introspectionEndpoint(realm: realm)),
            "revocation_endpoint": .string(revocationEndpoint(realm: realm)),
            "userinfo_endpoint": .string(userinfoEndpoint(realm: realm)),
            "jwks_uri": .string(jwksURI(realm: realm)),
            "grant_types_supported": strings(GrantType.all),
            "response_types_supported": strings(["token"]),
            "token_endpoint_auth_methods_supported": strings(ClientAuthMethod.all),
            "token_endpoint_auth_signing_alg_values_supported": strings(["ES256"]),
            "introspection_endpoint_auth_methods_supported": strings(ClientAuthMethod.all),
            "revocation_endpoint_auth_methods_supported": strings(ClientAuthMethod.all),
            "id_token_signing_alg_values_supported": strings(["ES256"]),
            "subject_types_supported": strings(["public"]),
            "scopes_supported": strings(["openid", "profile", "offline_access"]),
            "claims_supported": strings(["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "realm"]),
        ]
    }

    /// The realm's public token keys.
    public func jwks(realm: String) throws -> JSONValue { try requireRealm(realm).verificationKeys.json }

    // MARK: Secrets

    /// A new client secret: 32 random bytes, base64url. Shown once; only its hash is kept.
    public func makeClientSecret() -> String { Base64.urlEncode(random.bytes(32)) }

    /// The stored form of a high-entropy secret. SHA-256, not Argon2: our secrets
    /// have 256 bits of entropy, so a slow hash would buy nothing and cost every request.
    public static func hashSecret(_ secret: String) -> String { "sha256:" + Base64.urlEncode(SHA256.hash(secret)) }

    public static func secretMatches(_ secret: String, hash: String) -> Bool {
        ConstantTime.equals(hashSecret(secret), hash)
    }

    /// A token value to store by hash.
    func makeOpaqueToken() -> (value: String, hash: String) {
        let value = Base64.urlEncode(random.bytes(32))
        return (value, Self.hashSecret(value))
    }

    /// Runs a store call, turning store failures into OAuth2 server errors.
    func storeCall<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as OAuth2Error {
            throw error
        } catch let error as StoreError where error.kind == .unavailable {
            throw OAuth2Error.temporarilyUnavailable(hint: error.reason)
        } catch {
            throw OAuth2Error.serverError(hint: "\(error)")
        }
    }
}
