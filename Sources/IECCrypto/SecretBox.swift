internal import CSodium

/// Authenticated encryption for secrets at rest: XChaCha20-Poly1305 (IETF
/// construction), with a random 192-bit nonce per message — large enough that
/// random nonces never collide in practice.
///
/// A sealed box is `nonce (24) || ciphertext || tag (16)`. The associated data
/// binds a ciphertext to where it belongs (a node id, say), so a box cannot be
/// moved to another record undetected.
public enum SecretBox {
    public static let keyByteCount = 32
    public static let nonceByteCount = 24
    public static let tagByteCount = 16

    /// A fresh random key.
    public static func generateKey() -> [UInt8] { SecureRandom.bytes(keyByteCount) }

    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        let nonce = SecureRandom.bytes(nonceByteCount)
        return nonce + (try encrypt(plaintext, key: key, nonce: nonce, associatedData: associatedData))
    }

    public static func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard box.count >= nonceByteCount + tagByteCount else {
            throw CryptoError.authenticationFailure("the sealed box is too short")
        }
        return try decrypt(Array(box[nonceByteCount...]), key: key, nonce: Array(box[..<nonceByteCount]), associatedData: associatedData)
    }

    /// Encryption with a caller-chosen nonce; returns ciphertext || tag. For test vectors:
    /// production code uses `seal`, which picks the nonce.
    public static func encrypt(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        requireSodium()
        try checkSizes(key: key, nonce: nonce)
        var output = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var outputLength: UInt64 = 0
        let status = output.withUnsafeMutableBufferPointer { out in
            withNonNullBytes(plaintext) { message, messageCount in
                withNonNullBytes(associatedData) { ad, adCount in
                    crypto_aead_xchacha20poly1305_ietf_encrypt(
                        out.baseAddress!, &outputLength, message, UInt64(messageCount), ad, UInt64(adCount), nil, nonce, key)
                }
            }
        }
        guard status == 0 else { throw CryptoError.libraryFailure("encryption failed") }
        return Array(output.prefix(Int(outputLength)))
    }

    /// Decryption of ciphertext || tag with a given nonce.
    public static func decrypt(_ ciphertext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        requireSodium()
        try checkSizes(key: key, nonce: nonce)
        guard ciphertext.count >= tagByteCount else { throw CryptoError.authenticationFailure("the ciphertext is too short") }
        // At least one byte, so the output pointer is valid even for an empty plaintext.
        var output = [UInt8](repeating: 0, count: max(1, ciphertext.count - tagByteCount))
        var outputLength: UInt64 = 0
        let status = withNonNullBytes(ciphertext) { cipher, cipherCount in
            withNonNullBytes(associatedData) { ad, adCount in
                output.withUnsafeMutableBufferPointer { out in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out.baseAddress!, &outputLength, nil, cipher, UInt64(cipherCount), ad, UInt64(adCount), nonce, key)
                }
            }
        }
        guard status == 0 else {
            sodium_memzero(&output, output.count)
            throw CryptoError.authenticationFailure("the ciphertext does not authenticate (wrong key, tampered data or wrong record)")
        }
        return Array(output.prefix(Int(outputLength)))
    }

    private static func checkSizes(key: [UInt8], nonce: [UInt8]) throws {
        guard key.count == keyByteCount else { throw CryptoError.invalidKey("the encryption key is \(keyByteCount) bytes, not \(key.count)") }
        guard nonce.count == nonceByteCount else { throw CryptoError.invalidKey("the nonce is \(nonceByteCount) bytes, not \(nonce.count)") }
    }
}
