public import IECJSON

/// OAuth2 tokens of a device (or of its paired user), in the original SDK's shape.
public struct Tokens: Sendable, Hashable {
    public var accessToken: String
    /// The OpenID Connect ID token, when one was issued ("" otherwise).
    public var idToken: String
    /// `Bearer`.
    public var tokenType: String
    /// Seconds until the access token expires, as a string ("3599"), as the original returned it.
    public var expiresIn: String

    public init(accessToken: String, idToken: String, tokenType: String, expiresIn: String) {
        self.accessToken = accessToken
        self.idToken = idToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
    }

    /// Reads the gateway's `result`; `expires_in` may be a string or a number.
    public init(json: JSONValue) throws(IECClientError) {
        guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
            throw IECClientError(.protocolError, "the gateway's tokens lack access_token")
        }
        accessToken = access
        idToken = json["id_token"]?.stringValue ?? ""
        tokenType = json["token_type"]?.stringValue ?? "Bearer"
        switch json["expires_in"] {
        case .string(let text): expiresIn = text
        case .some(let value) where value.int64Value != nil: expiresIn = String(value.int64Value!)
        default: expiresIn = ""
        }
    }

    /// `{"access_token", "id_token", "token_type", "expires_in"}`, `expires_in` a string.
    public var json: JSONValue {
        ["access_token": .string(accessToken), "id_token": .string(idToken), "token_type": .string(tokenType), "expires_in": .string(expiresIn)]
    }

    /// The member names in the original's order, for laying the JSON out as it did.
    public static let memberOrder = ["access_token", "id_token", "token_type", "expires_in"]
}

/// What a user needs to pair with a device (RFC 8628 device authorisation).
public struct UserCode: Sendable, Hashable {
    /// The code the user types, e.g. `CLHN-DVDJ`.
    public var userCode: String
    /// The page where the user types it.
    public var verificationURL: String
    /// The same page with the code filled in, when the gateway gave one.
    public var verificationURLComplete: String?
    /// The code the SDK polls with (`userTokens`); not for the user.
    public var deviceCode: String
    /// Seconds until the codes expire.
    public var expiresIn: Int
    /// Seconds between two polls.
    public var interval: Int
    /// The gateway's whole answer (what `iec_user_code` returns).
    public var json: JSONValue

    public init(json: JSONValue) throws(IECClientError) {
        guard let user = json["user_code"]?.stringValue, let device = json["device_code"]?.stringValue else {
            throw IECClientError(.protocolError, "the gateway's user code lacks user_code or device_code")
        }
        userCode = user
        deviceCode = device
        verificationURL = json["verification_url"]?.stringValue ?? json["verification_uri"]?.stringValue ?? ""
        verificationURLComplete = json["verification_uri_complete"]?.stringValue
        func integer(_ name: String, _ fallback: Int) -> Int {
            if let value = json[name]?.int64Value { return Int(value) }
            if let text = json[name]?.stringValue, let value = Int(text) { return value }
            return fallback
        }
        expiresIn = integer("expires_in", 300)
        interval = max(1, integer("interval", 5))
        self.json = json
    }
}
