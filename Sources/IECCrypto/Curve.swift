internal import CSodium

/// X25519 (RFC 7748), the Diffie-Hellman function under ZeroMQ's CURVE security.
public enum X25519 {
    public static let keyByteCount = 32

    /// The public key for a 32-byte secret key.
    public static func publicKey(forSecretKey secret: [UInt8]) throws -> [UInt8] {
        requireSodium()
        guard secret.count == keyByteCount else { throw CryptoError.invalidKey("an X25519 secret key is 32 bytes, not \(secret.count)") }
        var output = [UInt8](repeating: 0, count: keyByteCount)
        let status = output.withUnsafeMutableBufferPointer { out in
            secret.withUnsafeBufferPointer { crypto_scalarmult_base(out.baseAddress!, $0.baseAddress!) }
        }
        guard status == 0 else { throw CryptoError.libraryFailure("X25519 base-point multiplication failed") }
        return output
    }

    /// The shared secret of `secretKey` and `publicKey`. Public keys of small
    /// order, which would give an all-zero secret, are refused.
    public static func sharedSecret(secretKey: [UInt8], publicKey: [UInt8]) throws -> [UInt8] {
        requireSodium()
        guard secretKey.count == keyByteCount, publicKey.count == keyByteCount else {
            throw CryptoError.invalidKey("X25519 keys are 32 bytes")
        }
        var output = [UInt8](repeating: 0, count: keyByteCount)
        let status = output.withUnsafeMutableBufferPointer { out in
            secretKey.withUnsafeBufferPointer { secret in
                publicKey.withUnsafeBufferPointer { crypto_scalarmult(out.baseAddress!, secret.baseAddress!, $0.baseAddress!) }
            }
        }
        guard status == 0 else { throw CryptoError.invalidKey("the X25519 public key has small order") }
        return output
    }
}

/// A CURVE key pair as ZeroMQ configuration files hold it: two 40-character Z85 texts.
public struct CurveKeyPair: Sendable, Hashable {
    public let publicKey: [UInt8]
    public let secretKey: [UInt8]

    /// A fresh key pair from libsodium's CSPRNG.
    public init() {
        requireSodium()
        var publicKey = [UInt8](repeating: 0, count: X25519.keyByteCount)
        var secretKey = [UInt8](repeating: 0, count: X25519.keyByteCount)
        let status = publicKey.withUnsafeMutableBufferPointer { pk in
            secretKey.withUnsafeMutableBufferPointer { crypto_box_keypair(pk.baseAddress!, $0.baseAddress!) }
        }
        precondition(status == 0, "CURVE key generation failed")
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The key pair whose secret key is `secretKey`.
    public init(secretKey: [UInt8]) throws {
        self.publicKey = try X25519.publicKey(forSecretKey: secretKey)
        self.secretKey = secretKey
    }

    /// The key pair whose secret key is the Z85 text `secretKeyZ85`.
    public init(secretKeyZ85: String) throws {
        let secret = try Z85.decode(secretKeyZ85)
        guard secret.count == X25519.keyByteCount else {
            throw CryptoError.invalidKey("a CURVE secret key is 40 Z85 characters")
        }
        try self.init(secretKey: secret)
    }

    public var publicKeyZ85: String { try! Z85.encode(publicKey) }
    public var secretKeyZ85: String { try! Z85.encode(secretKey) }

    /// Whether `text` is a well-formed CURVE key in Z85 (40 characters, 32 bytes).
    public static func isValidZ85Key(_ text: String) -> Bool {
        guard text.utf8.count == 40, let bytes = try? Z85.decode(text) else { return false }
        return bytes.count == X25519.keyByteCount
    }
}
