public import IECCrypto
public import IECJSON

/// A key that signs JWS: the algorithm follows from the key's type.
public enum JWSSigningKey: Sendable {
    case es256(P256.PrivateKey, keyID: String?)
    case hs256([UInt8], keyID: String?)

    public var algorithm: JWSAlgorithm {
        switch self {
        case .es256: return .es256
        case .hs256: return .hs256
        }
    }

    public var keyID: String? {
        switch self {
        case .es256(_, let keyID), .hs256(_, let keyID): return keyID
        }
    }
}

/// Where verification finds its keys. The token's header never chooses the
/// key type: a key is only used with the algorithm that fits it.
public enum JWSVerificationKeys: Sendable {
    case es256(P256.PublicKey)
    case hs256([UInt8])
    case set(JWKS)
}

/// A JWS whose signature has been checked.
public struct VerifiedJWS: Sendable {
    public let header: [String: JSONValue]
    public let algorithm: JWSAlgorithm
    public let payload: [UInt8]

    /// The payload parsed as a JSON object of JWT claims.
    public func claims() throws -> JWTClaims { try JWTClaims(payload: payload) }
}

/// A JWS split into its parts, signature not checked.
public struct UnverifiedJWS: Sendable {
    public let header: [String: JSONValue]
    public let payload: [UInt8]
    public let signature: [UInt8]
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    public let signingInput: [UInt8]

    /// The `alg` header member, checked against the accepted algorithms.
    public func algorithm() throws -> JWSAlgorithm {
        guard let name = header["alg"]?.stringValue else { throw JOSEError(.malformed, "the JWS header has no \"alg\"") }
        return try JWSAlgorithm.named(name)
    }
}

/// JWS compact serialisation (RFC 7515 §7.1) for ES256 and HS256.
public enum JWS {
    /// Tokens longer than this are refused before any decoding.
    public static let defaultMaxBytes = 64 * 1024

    /// Signs `payload` and returns the compact serialisation. `extraHeader`
    /// members are added to the protected header (`alg` and `kid` come from the key).
    public static func sign(
        payload: [UInt8], key: JWSSigningKey, type: String? = "JWT", extraHeader: [String: JSONValue] = [:]
    ) throws -> String {
        var header = extraHeader
        header["alg"] = .string(key.algorithm.rawValue)
        if let keyID = key.keyID { header["kid"] = .string(keyID) }
        if let type { header["typ"] = .string(type) }
        let signingInput = Base64.urlEncode(JSONValue.object(header).serializedBytes()) + "." + Base64.urlEncode(payload)
        let signature: [UInt8]
        switch key {
        case .es256(let privateKey, _):
            do {
                signature = try privateKey.signature(for: Array(signingInput.utf8))
            } catch {
                throw JOSEError(.invalidKey, "ES256 signing failed")
            }
        case .hs256(let secret, _):
            signature = HMACSHA256.authenticationCode(for: Array(signingInput.utf8), key: secret)
        }
        return signingInput + "." + Base64.urlEncode(signature)
    }

    /// Signs a set of JWT claims.
    public static func sign(claims: JWTClaims, key: JWSSigningKey, type: String? = "JWT", extraHeader: [String: JSONValue] = [:]) throws -> String {
        try sign(payload: claims.json.serializedBytes(), key: key, type: type, extraHeader: extraHeader)
    }

    /// Splits a compact JWS into its parts, strictly, without checking the signature.
    public static func decode(_ token: String, maxBytes: Int = defaultMaxBytes) throws -> UnverifiedJWS {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxBytes else { throw JOSEError(.tooLarge, "the token is \(bytes.count) bytes, over the limit of \(maxBytes)") }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw JOSEError(.malformed, "a compact JWS has three dot-separated parts, this has \(parts.count)")
        }
        guard let headerBytes = Base64.urlDecode(String(decoding: parts[0], as: UTF8.self)), !headerBytes.isEmpty else {
            throw JOSEError(.malformed, "the JWS header is not base64url")
        }
        guard let payload = Base64.urlDecode(String(decoding: parts[1], as: UTF8.self)) else {
            throw JOSEError(.malformed, "the JWS payload is not base64url")
        }
        guard let signature = Base64.urlDecode(String(decoding: parts[2], as: UTF8.self)) else {
            throw JOSEError(.malformed, "the JWS signature is not base64url")
        }
        let header: [String: JSONValue]
        do {
            guard case .object(let members) = try JSONValue.parse(headerBytes, limits: .init(maxBytes: maxBytes, maxDepth: 8)) else {
                throw JOSEError(.malformed, "the JWS header is not a JSON object")
            }
            header = members
        } catch let error as JSONParseError {
            throw JOSEError(.malformed, "the JWS header is not valid JSON: \(error)")
        }
        // RFC 7515 §4.1.11: extensions we do not understand must be refused; we understand none.
        if header["crit"] != nil { throw JOSEError(.malformed, "the JWS header lists critical extensions, none of which is supported") }
        let signingInput = Array(bytes[..<(parts[0].count + 1 + parts[1].count)])
        return UnverifiedJWS(header: header, payload: payload, signature: signature, signingInput: signingInput)
    }

    /// Checks a compact JWS against `keys` and returns its header and payload.
    public static func verify(_ token: String, keys: JWSVerificationKeys, maxBytes: Int = defaultMaxBytes) throws -> VerifiedJWS {
        let jws = try decode(token, maxBytes: maxBytes)
        let algorithm = try jws.algorithm()
        guard !jws.signature.isEmpty else { throw JOSEError(.malformed, "the JWS has no signature") }
        let keyID = jws.header["kid"]?.stringValue
        let valid: Bool
        switch (algorithm, keys) {
        case (.es256, .es256(let publicKey)):
            valid = verifyES256(jws, publicKey)
        case (.hs256, .hs256(let secret)):
            valid = verifyHS256(jws, secret)
        case (_, .set(let set)):
            let candidates = set.candidates(for: algorithm, keyID: keyID)
            guard !candidates.isEmpty else {
                if set.keys.contains(where: { keyID == nil || $0.keyID == keyID }) {
                    throw JOSEError(.algorithmKeyMismatch, "no key of the set may be used with \(algorithm.rawValue)")
                }
                throw JOSEError(.unknownKey, keyID.map { "no key with kid \"\($0.prefix(64))\" in the key set" } ?? "no key in the key set fits the token")
            }
            valid = candidates.contains { candidate in
                switch algorithm {
                case .es256: return (try? candidate.publicKey()).map { verifyES256(jws, $0) } ?? false
                case .hs256: return (try? candidate.symmetricKey()).map { verifyHS256(jws, $0) } ?? false
                }
            }
        case (.es256, .hs256), (.hs256, .es256):
            throw JOSEError(.algorithmKeyMismatch, "the token says \(algorithm.rawValue), which the key cannot verify")
        }
        guard valid else { throw JOSEError(.invalidSignature, "the signature does not verify") }
        return VerifiedJWS(header: jws.header, algorithm: algorithm, payload: jws.payload)
    }

    private static func verifyES256(_ jws: UnverifiedJWS, _ key: P256.PublicKey) -> Bool {
        jws.signature.count == P256.signatureByteCount && key.isValidSignature(jws.signature, for: jws.signingInput)
    }

    private static func verifyHS256(_ jws: UnverifiedJWS, _ secret: [UInt8]) -> Bool {
        // Full-length tags only: a truncated HS256 tag is not a JWS signature.
        jws.signature.count == HMACSHA256.byteCount
            && HMACSHA256.isValidAuthenticationCode(jws.signature, for: jws.signingInput, key: secret)
    }
}
