/// Why a token or key was refused.
///
/// `kind` is for code (compare it against the static members); `reason` is for
/// people and may be shown to the token's sender: it never holds key material.
public struct JOSEError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; extensible, so match with `==` rather than `switch`.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Not three base64url parts, bad JSON in the header or payload, and the like.
        public static let malformed = Kind("malformed")
        /// Longer than the configured limit.
        public static let tooLarge = Kind("tooLarge")
        /// An algorithm other than ES256 and HS256, `none` included.
        public static let unsupportedAlgorithm = Kind("unsupportedAlgorithm")
        /// The header's algorithm does not fit the key's type (e.g. HS256 with an EC key).
        public static let algorithmKeyMismatch = Kind("algorithmKeyMismatch")
        /// No key in the set matches the token's `kid` and algorithm.
        public static let unknownKey = Kind("unknownKey")
        public static let invalidSignature = Kind("invalidSignature")
        public static let invalidKey = Kind("invalidKey")
        public static let expired = Kind("expired")
        public static let notYetValid = Kind("notYetValid")
        public static let issuedInFuture = Kind("issuedInFuture")
        /// `iat` older than the allowed age, or `exp - iat` longer than allowed.
        public static let tooOld = Kind("tooOld")
        public static let missingClaim = Kind("missingClaim")
        /// A claim present but not what was expected (issuer, audience, nonce, subject, type).
        public static let invalidClaim = Kind("invalidClaim")
        /// A `jti` seen before.
        public static let replayed = Kind("replayed")
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}
