public import IECJSON

/// The OAuth2 provider settings of a realm, read from the realm's settings
/// document (`oauth2` member). Defaults follow the seed's AM defaults.
public struct OAuth2Settings: Sendable, Hashable {
    public var accessTokenLifetime: Double = 3600
    public var refreshTokenLifetime: Double = 604_800
    public var idTokenLifetime: Double = 3600
    /// RFC 8628 device code lifetime (the seed: 300 s) and poll interval (5 s).
    public var deviceCodeLifetime: Double = 300
    public var deviceCodeInterval: Double = 5
    /// Where users go to enter a user code; empty means this server's own page.
    public var verificationURL: String = ""
    /// Longest lifetime accepted for client and grant assertions (exp - iat). An hour,
    /// as common client libraries (Authlib) sign them; their jti is remembered that long.
    public var maxAssertionLifetime: Double = 3600
    /// Dynamic profile creation: registration creates the identity (seed §1.1.4 step 4).
    public var dynamicProfileCreation: Bool = true
    /// Scopes offered when a client has none of its own.
    public var defaultScopes: [String] = ["openid"]

    public init() {}

    public init(json: JSONValue?) {
        guard let json else { return }
        accessTokenLifetime = json["access_token_lifetime"]?.doubleValue ?? accessTokenLifetime
        refreshTokenLifetime = json["refresh_token_lifetime"]?.doubleValue ?? refreshTokenLifetime
        idTokenLifetime = json["id_token_lifetime"]?.doubleValue ?? idTokenLifetime
        deviceCodeLifetime = json["device_code_lifetime"]?.doubleValue ?? deviceCodeLifetime
        deviceCodeInterval = json["device_code_interval"]?.doubleValue ?? deviceCodeInterval
        verificationURL = json["verification_url"]?.stringValue ?? verificationURL
        maxAssertionLifetime = json["max_assertion_lifetime"]?.doubleValue ?? maxAssertionLifetime
        dynamicProfileCreation = json["dynamic_profile_creation"]?.boolValue ?? dynamicProfileCreation
        defaultScopes = json["default_scopes"]?.arrayValue?.compactMap(\.stringValue) ?? defaultScopes
    }

    public var json: JSONValue {
        [
            "access_token_lifetime": .double(accessTokenLifetime), "refresh_token_lifetime": .double(refreshTokenLifetime),
            "id_token_lifetime": .double(idTokenLifetime), "device_code_lifetime": .double(deviceCodeLifetime),
            "device_code_interval": .double(deviceCodeInterval), "verification_url": .string(verificationURL),
            "max_assertion_lifetime": .double(maxAssertionLifetime), "dynamic_profile_creation": .bool(dynamicProfileCreation),
            "default_scopes": .array(defaultScopes.map(JSONValue.string)),
        ]
    }
}

/// OAuth2 grant type names.
public enum GrantType {
    public static let clientCredentials = "client_credentials"
    public static let jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    public static let refreshToken = "refresh_token"
    public static let deviceCode = "urn:ietf:params:oauth:grant-type:device_code"
    public static let all = [clientCredentials, jwtBearer, refreshToken, deviceCode]
}

/// Client authentication method names (RFC 8414 / OIDC registry).
public enum ClientAuthMethod {
    public static let secretBasic = "client_secret_basic"
    public static let secretPost = "client_secret_post"
    public static let privateKeyJWT = "private_key_jwt"
    public static let none = "none"
    public static let all = [secretBasic, secretPost, privateKeyJWT, none]
    public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
}
