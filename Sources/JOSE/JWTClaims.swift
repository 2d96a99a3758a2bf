public import IECJSON
internal import Synchronization

/// The claims of a JWT (RFC 7519): the registered ones typed, all of them in `values`.
public struct JWTClaims: Sendable, Hashable {
    public var values: [String: JSONValue]

    public init(_ values: [String: JSONValue] = [:]) { self.values = values }

    /// Parses a JWS payload as a claims set; registered claims must have their registered types.
    public init(payload: [UInt8]) throws {
        let json: JSONValue
        do {
            json = try JSONValue.parse(payload, limits: .init(maxBytes: JWS.defaultMaxBytes, maxDepth: 32))
        } catch let error as JSONParseError {
            throw JOSEError(.malformed, "the JWT payload is not valid JSON: \(error)")
        }
        guard case .object(let values) = json else { throw JOSEError(.malformed, "the JWT payload is not a JSON object") }
        self.values = values
        for name in ["iss", "sub", "jti"] where values[name] != nil && values[name]?.stringValue == nil {
            throw JOSEError(.malformed, "the \"\(name)\" claim must be a string")
        }
        // OIDC nonces are strings; the IEC command protocol's are increasing integers.
        if let nonce = values["nonce"], nonce.stringValue == nil, nonce.int64Value == nil {
            throw JOSEError(.malformed, "the \"nonce\" claim must be a string or an integer")
        }
        for name in ["exp", "nbf", "iat"] where values[name] != nil && values[name]?.doubleValue == nil {
            throw JOSEError(.malformed, "the \"\(name)\" claim must be a NumericDate")
        }
        if let aud = values["aud"] {
            let valid = aud.stringValue != nil || (aud.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false)
            guard valid else { throw JOSEError(.malformed, "the \"aud\" claim must be a string or an array of strings") }
        }
    }

    public var json: JSONValue { .object(values) }

    public subscript(name: String) -> JSONValue? {
        get { values[name] }
        set { values[name] = newValue }
    }

    public var issuer: String? {
        get { values["iss"]?.stringValue }
        set { values["iss"] = newValue.map(JSONValue.string) }
    }
    public var subject: String? {
        get { values["sub"]?.stringValue }
        set { values["sub"] = newValue.map(JSONValue.string) }
    }
    /// `aud`, which RFC 7519 §4.1.3 allows as one string or an array of strings.
    public var audience: [String] {
        switch values["aud"] {
        case .string(let single): return [single]
        case .array(let many): return many.compactMap(\.stringValue)
        default: return []
        }
    }
    public var expiration: NumericDate? {
        get { values["exp"]?.doubleValue }
        set { values["exp"] = newValue.map(Self.numericDate) }
    }
    public var notBefore: NumericDate? {
        get { values["nbf"]?.doubleValue }
        set { values["nbf"] = newValue.map(Self.numericDate) }
    }
    public var issuedAt: NumericDate? {
        get { values["iat"]?.doubleValue }
        set { values["iat"] = newValue.map(Self.numericDate) }
    }
    public var jwtID: String? {
        get { values["jti"]?.stringValue }
        set { values["jti"] = newValue.map(JSONValue.string) }
    }
    public var nonce: String? {
        get { values["nonce"]?.stringValue }
        set { values["nonce"] = newValue.map(JSONValue.string) }
    }

    public mutating func setAudience(_ audience: [String]) {
        values["aud"] = audience.count == 1 ? .string(audience[0]) : .array(audience.map(JSONValue.string))
    }

    /// Whole seconds stay integers on the wire, as most consumers expect.
    private static func numericDate(_ value: NumericDate) -> JSONValue {
        if let whole = Int64(exactly: value) { return .int(whole) }
        return .double(value)
    }
}

/// Remembers `jti` values until their token expires, so that each is accepted once.
/// Implementations shared by several servers (a store) make replay protection hold across them.
public protocol JWTReplayGuard: Sendable {
    /// Records `jwtID` as used until `expiresAt`; false when it was already recorded.
    func consume(_ jwtID: String, expiresAt: NumericDate, now: NumericDate) -> Bool
}

/// An in-process replay guard, bounded in size: when full, it refuses new
/// identifiers rather than forgetting unexpired ones (forgetting would reopen replay).
public final class InMemoryReplayGuard: JWTReplayGuard {
    private let seen = Mutex<[String: NumericDate]>([:])
    private let capacity: Int

    public init(capacity: Int = 100_000) { self.capacity = capacity }

    public func consume(_ jwtID: String, expiresAt: NumericDate, now: NumericDate) -> Bool {
        seen.withLock { seen in
            if let until = seen[jwtID], until >= now { return false }
            if seen.count >= capacity { seen = seen.filter { $0.value >= now } }
            guard seen.count < capacity else { return false }
            seen[jwtID] = expiresAt
            return true
        }
    }
}

/// What a JWT's claims must satisfy. Times are checked against the clock the
/// caller passes; `leeway` absorbs clock skew between issuer and verifier.
public struct JWTValidationPolicy: Sendable {
    /// `iss` must equal this, when set.
    public var issuer: String?
    /// `aud` must contain this, when set.
    public var audience: String?
    /// `sub` must equal this, when set.
    public var subject: String?
    /// `nonce` must equal this, when set (compared in constant time).
    public var nonce: String?
    public var leeway: Double = 60
    public var requireExpiration = true
    public var requireIssuedAt = false
    public var requireJWTID = false
    /// Tokens issued longer ago than this are refused, when set.
    public var maxAge: Double?
    /// Tokens whose `exp - iat` (or `exp - now` without `iat`) exceeds this are refused, when set.
    public var maxLifetime: Double?
    /// Consulted for `jti` after every other check passes, when set.
    public var replayGuard: (any JWTReplayGuard)?

    public init(
        issuer: String? = nil, audience: String? = nil, subject: String? = nil, nonce: String? = nil,
        leeway: Double = 60, requireExpiration: Bool = true, requireIssuedAt: Bool = false,
        requireJWTID: Bool = false, maxAge: Double? = nil, maxLifetime: Double? = nil,
        replayGuard: (any JWTReplayGuard)? = nil
    ) {
        self.issuer = issuer
        self.audience = audience
        self.subject = subject
        self.nonce = nonce
        self.leeway = leeway
        self.requireExpiration = requireExpiration
        self.requireIssuedAt = requireIssuedAt
        self.requireJWTID = requireJWTID
        self.maxAge = maxAge
        self.maxLifetime = maxLifetime
        self.replayGuard = replayGuard
    }

    /// Throws the first claim that fails, as a typed `JOSEError`.
    public func validate(_ claims: JWTClaims, now: NumericDate) throws {
        if let exp = claims.expiration {
            // RFC 7519 §4.1.4: the current time must be before exp.
            guard now < exp + leeway else { throw JOSEError(.expired, "the token expired") }
        } else if requireExpiration {
            throw JOSEError(.missingClaim, "the token has no \"exp\" claim")
        }
        if let nbf = claims.notBefore {
            guard now + leeway >= nbf else { throw JOSEError(.notYetValid, "the token is not valid yet (nbf)") }
        }
        if let iat = claims.issuedAt {
            guard iat <= now + leeway else { throw JOSEError(.issuedInFuture, "the token was issued in the future (iat)") }
            if let maxAge, now - iat > maxAge + leeway { throw JOSEError(.tooOld, "the token was issued too long ago") }
        } else if requireIssuedAt {
            throw JOSEError(.missingClaim, "the token has no \"iat\" claim")
        }
        if let maxLifetime, let exp = claims.expiration {
            let start = claims.issuedAt ?? now
            guard exp - start <= maxLifetime + leeway else {
                throw JOSEError(.tooOld, "the token's lifetime is longer than the allowed \(Int(maxLifetime)) s")
            }
        }
        if let issuer {
            guard let iss = claims.issuer else { throw JOSEError(.missingClaim, "the token has no \"iss\" claim") }
            guard iss == issuer else { throw JOSEError(.invalidClaim, "the token's issuer is not the expected one") }
        }
        if let audience {
            let audiences = claims.audience
            guard !audiences.isEmpty else { throw JOSEError(.missingClaim, "the token has no \"aud\" claim") }
            guard audiences.contains(audience) else { throw JOSEError(.invalidClaim, "the token is not meant for this audience") }
        }
        if let subject {
            guard let sub = claims.subject else { throw JOSEError(.missingClaim, "the token has no \"sub\" claim") }
            guard sub == subject else { throw JOSEError(.invalidClaim, "the token's subject is not the expected one") }
        }
        if let nonce {
            guard let tokenNonce = claims.nonce else { throw JOSEError(.missingClaim, "the token has no \"nonce\" claim") }
            guard constantTimeEquals(tokenNonce, nonce) else { throw JOSEError(.invalidClaim, "the token's nonce does not match") }
        }
        let jwtID = claims.jwtID
        if jwtID == nil, requireJWTID || replayGuard != nil {
            throw JOSEError(.missingClaim, "the token has no \"jti\" claim")
        }
        if let replayGuard, let jwtID {
            guard !jwtID.isEmpty, jwtID.utf8.count <= 256 else { throw JOSEError(.invalidClaim, "the \"jti\" claim must be 1 to 256 bytes") }
            let until = (claims.expiration ?? now + (maxLifetime ?? 3600)) + leeway
            guard replayGuard.consume(jwtID, expiresAt: until, now: now) else {
                throw JOSEError(.replayed, "the token's jti was used before")
            }
        }
    }
}

/// Verifies a compact JWT's signature, then its claims.
public func verifyJWT(
    _ token: String, keys: JWSVerificationKeys, policy: JWTValidationPolicy, clock: any WallClock,
    maxBytes: Int = JWS.defaultMaxBytes
) throws -> (jws: VerifiedJWS, claims: JWTClaims) {
    let jws = try JWS.verify(token, keys: keys, maxBytes: maxBytes)
    let claims = try jws.claims()
    try policy.validate(claims, now: clock.now)
    return (jws, claims)
}
