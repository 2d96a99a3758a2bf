public import IECJSON

/// An OAuth2 error response (RFC 6749 §5.2, RFC 8628 §3.5, RFC 7009, RFC 7662).
///
/// This is the one place OAuth2 failures become wire values: `error` and
/// `error_description` go to the client; `hint` is for the log only and may
/// name internal details (fosite's habit), never secrets.
public struct OAuth2Error: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let description: String
    public let status: Int
    /// True for client authentication failures: 401 with `WWW-Authenticate`.
    public let challengesClient: Bool
    public let hint: String?

    public init(code: String, description: String, status: Int = 400, challengesClient: Bool = false, hint: String? = nil) {
        self.code = code
        self.description = description
        self.status = status
        self.challengesClient = challengesClient
        self.hint = hint
    }

    public static func invalidRequest(_ description: String) -> OAuth2Error { OAuth2Error(code: "invalid_request", description: description) }
    public static func invalidClient(_ description: String, hint: String? = nil) -> OAuth2Error {
        OAuth2Error(code: "invalid_client", description: description, status: 401, challengesClient: true, hint: hint)
    }
    public static func invalidGrant(_ description: String, hint: String? = nil) -> OAuth2Error {
        OAuth2Error(code: "invalid_grant", description: description, hint: hint)
    }
    public static func unauthorizedClient(_ description: String) -> OAuth2Error { OAuth2Error(code: "unauthorized_client", description: description) }
    public static func unsupportedGrantType(_ description: String) -> OAuth2Error { OAuth2Error(code: "unsupported_grant_type", description: description) }
    public static func invalidScope(_ description: String) -> OAuth2Error { OAuth2Error(code: "invalid_scope", description: description) }
    public static func unsupportedTokenType(_ description: String) -> OAuth2Error { OAuth2Error(code: "unsupported_token_type", description: description) }
    public static func invalidToken(_ description: String) -> OAuth2Error {
        OAuth2Error(code: "invalid_token", description: description, status: 401, challengesClient: true)
    }
    public static func serverError(hint: String) -> OAuth2Error {
        OAuth2Error(code: "server_error", description: "the server could not complete the request", status: 500, hint: hint)
    }
    public static func temporarilyUnavailable(hint: String) -> OAuth2Error {
        OAuth2Error(code: "temporarily_unavailable", description: "the server is temporarily unavailable; try again", status: 503, hint: hint)
    }
    public static func slowDown() -> OAuth2Error { OAuth2Error(code: "slow_down", description: "polling too fast; wait longer between requests") }
    public static func authorizationPending() -> OAuth2Error {
        OAuth2Error(code: "authorization_pending", description: "the user has not yet approved or denied the request")
    }
    public static func accessDenied(_ description: String = "the user denied the request") -> OAuth2Error {
        OAuth2Error(code: "access_denied", description: description)
    }
    public static func expiredToken() -> OAuth2Error { OAuth2Error(code: "expired_token", description: "the device code has expired") }

    /// The JSON body of the error response.
    public var body: JSONValue { ["error": .string(code), "error_description": .string(description)] }

    /// Headers the response must carry: `WWW-Authenticate` for client failures (RFC 6749 §5.2).
    public func headers(scheme: String = "Basic", realm: String) -> [(String, String)] {
        guard challengesClient else { return [] }
        let quoted = description.replacingDoubleQuotes()
        return [("WWW-Authenticate", "\(scheme) realm=\"\(realm)\", error=\"\(code)\", error_description=\"\(quoted)\"")]
    }
}

extension String {
    func replacingDoubleQuotes() -> String {
        String(unicodeScalars.map { $0 == "\"" ? "'" : Character($0) })
    }
}
