/// A failure in a cryptographic operation or in decoding key material.
///
/// The message names what was wrong with the input; it never contains key bytes.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidKey
        case invalidEncoding
        case authenticationFailure
        case libraryFailure
    }

    private let code: Code
    /// What went wrong, for people.
    public let reason: String

    private init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// Key material that is malformed, of the wrong type or not on the curve.
    public static func invalidKey(_ reason: String) -> CryptoError { CryptoError(.invalidKey, reason) }
    /// Text or bytes that do not decode (Z85, PEM, lengths).
    public static func invalidEncoding(_ reason: String) -> CryptoError { CryptoError(.invalidEncoding, reason) }
    /// A ciphertext or password that does not authenticate.
    public static func authenticationFailure(_ reason: String) -> CryptoError { CryptoError(.authenticationFailure, reason) }
    /// The C library failed where it should not (out of memory, say).
    public static func libraryFailure(_ reason: String) -> CryptoError { CryptoError(.libraryFailure, reason) }

    /// True when both errors are of the same kind, whatever their reasons.
    public func isSameKind(as other: CryptoError) -> Bool { code == other.code }

    public var isInvalidKey: Bool { code == .invalidKey }
    public var isInvalidEncoding: Bool { code == .invalidEncoding }
    public var isAuthenticationFailure: Bool { code == .authenticationFailure }

    public var description: String { reason }
}
