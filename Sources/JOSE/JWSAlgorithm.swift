/// The JWS algorithms OpenIEC accepts. Everything else — `none`, RS*, PS*,
/// ES384/512, HS384/512, EdDSA — is refused: fewer algorithms, fewer confusions.
public enum JWSAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4), signature R || S.
    case es256 = "ES256"
    /// HMAC with SHA-256 (RFC 7518 §3.2).
    case hs256 = "HS256"

    /// The algorithm named `name`, or a typed error naming it.
    public static func named(_ name: String) throws -> JWSAlgorithm {
        guard let algorithm = JWSAlgorithm(rawValue: name) else {
            throw JOSEError(.unsupportedAlgorithm, "algorithm \"\(name.prefix(32))\" is not accepted (only ES256 and HS256)")
        }
        return algorithm
    }
}
