internal import COpenSSL

/// NIST P-256 (secp256r1) keys and ECDSA with SHA-256, as JWS ES256 uses them.
public enum P256 {
    /// Length of a JWS ES256 signature: R || S, 32 bytes each.
    public static let signatureByteCount = 64

    /// DER prefix of a P-256 SubjectPublicKeyInfo, up to the 65-byte point.
    fileprivate static let spkiPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
        0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    /// The group order n, big-endian.
    fileprivate static let order: [UInt8] = bytes(
        fromHex: "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")!

    /// A P-256 private key. Signing from many threads at once is safe.
    public struct PrivateKey: Sendable {
        fileprivate let key: EVPKey

        /// A fresh key pair from the system's CSPRNG.
        public init() throws {
            guard let pointer = iec_p256_generate() else { throw CryptoError.libraryFailure("P-256 key generation failed") }
            key = EVPKey(pointer)
        }

        /// From PKCS#8 or SEC1 (RFC 5915) DER.
        public init(derRepresentation der: [UInt8]) throws {
            let pointer = withNonNullBytes(der) { iec_pkey_from_private_der($0, $1) }
            key = try EVPKey.p256(pointer, "not a P-256 private key in PKCS#8 or SEC1 DER")
        }

        /// From PEM: `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1). Encrypted PEM is refused.
        public init(pemRepresentation pem: String) throws {
            let pointer = pem.withCString { iec_pkey_from_pem($0, strlen($0), 1) }
            key = try EVPKey.p256(pointer, "not a P-256 private key in PEM")
        }

        /// From the 32-byte big-endian private scalar d (as in a JWK's `d`).
        public init(rawRepresentation scalar: [UInt8]) throws {
            guard scalar.count == 32 else { throw CryptoError.invalidKey("a P-256 private scalar is 32 bytes, not \(scalar.count)") }
            guard scalar.contains(where: { $0 != 0 }), scalar.lexicographicallyPrecedes(P256.order) else {
                throw CryptoError.invalidKey("the P-256 private scalar is out of range")
            }
            // SEC1 ECPrivateKey { version 1, privateKey, [0] prime256v1 }; OpenSSL derives the public point.
            let der: [UInt8] = [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20] + scalar
                + [0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
            try self.init(derRepresentation: der)
        }

        public var publicKey: PublicKey { PublicKey(key: key) }

        /// PKCS#8 DER.
        public var derRepresentation: [UInt8] { key.der(privatePart: true) }

        /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
        public var pemRepresentation: String { PEM.encode(derRepresentation, label: "PRIVATE KEY") }

        /// The 32-byte private scalar d.
        public var rawRepresentation: [UInt8] {
            var scalar = [UInt8](repeating: 0, count: 32)
            let ok = scalar.withUnsafeMutableBufferPointer { iec_p256_private_scalar(key.pointer, $0.baseAddress) }
            precondition(ok == 1, "reading a P-256 private scalar failed")
            return scalar
        }

        /// ECDSA over SHA-256(message), as R || S (64 bytes).
        public func signature(for message: [UInt8]) throws -> [UInt8] {
            var signature = [UInt8](repeating: 0, count: P256.signatureByteCount)
            let ok = withNonNullBytes(message) { pointer, count in
                signature.withUnsafeMutableBufferPointer { iec_es256_sign(key.pointer, pointer, count, $0.baseAddress) }
            }
            guard ok == 1 else { throw CryptoError.libraryFailure("ES256 signing failed") }
            return signature
        }
    }

    /// A P-256 public key.
    public struct PublicKey: Sendable {
        fileprivate let key: EVPKey

        fileprivate init(key: EVPKey) { self.key = key }

        /// From a SubjectPublicKeyInfo (DER), as in `am_public_key` once base64-decoded.
        public init(derRepresentation der: [UInt8]) throws {
            let pointer = withNonNullBytes(der) { iec_pkey_from_spki_der($0, $1) }
            key = try EVPKey.p256(pointer, "not a P-256 public key in SubjectPublicKeyInfo DER")
        }

        /// From PEM (`-----BEGIN PUBLIC KEY-----`).
        public init(pemRepresentation pem: String) throws {
            let pointer = pem.withCString { iec_pkey_from_pem($0, strlen($0), 0) }
            key = try EVPKey.p256(pointer, "not a P-256 public key in PEM")
        }

        /// From the uncompressed point 0x04 || X || Y (65 bytes). Points not on the curve are refused.
        public init(x963Representation point: [UInt8]) throws {
            guard point.count == 65, point[0] == 0x04 else {
                throw CryptoError.invalidKey("an uncompressed P-256 point is 65 bytes starting with 0x04")
            }
            do {
                try self.init(derRepresentation: P256.spkiPrefix + point)
            } catch {
                throw CryptoError.invalidKey("the point is not on the P-256 curve")
            }
        }

        /// From the affine coordinates (32 bytes each, as in a JWK's `x` and `y`).
        public init(x: [UInt8], y: [UInt8]) throws {
            guard x.count == 32, y.count == 32 else {
                throw CryptoError.invalidKey("P-256 coordinates are 32 bytes each")
            }
            try self.init(x963Representation: [0x04] + x + y)
        }

        /// The uncompressed point 0x04 || X || Y.
        public var x963Representation: [UInt8] {
            var point = [UInt8](repeating: 0, count: 65)
            let ok = point.withUnsafeMutableBufferPointer { iec_p256_public_point(key.pointer, $0.baseAddress) }
            precondition(ok == 1, "reading a P-256 public point failed")
            return point
        }

        /// The affine coordinates, 32 bytes each.
        public var rawCoordinates: (x: [UInt8], y: [UInt8]) {
            let point = x963Representation
            return (Array(point[1..<33]), Array(point[33..<65]))
        }

        /// SubjectPublicKeyInfo DER.
        public var derRepresentation: [UInt8] { key.der(privatePart: false) }

        /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
        public var pemRepresentation: String { PEM.encode(derRepresentation, label: "PUBLIC KEY") }

        /// Whether `signature` (R || S, 64 bytes) is a valid ES256 signature of `message`.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == P256.signatureByteCount else { return false }
            return withNonNullBytes(message) { pointer, count in
                signature.withUnsafeBufferPointer { iec_es256_verify(key.pointer, pointer, count, $0.baseAddress) }
            } == 1
        }
    }
}

extension P256.PublicKey: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.x963Representation == rhs.x963Representation }
}

/// Owns an `EVP_PKEY`. OpenSSL 3 keys are safe to use from many threads for
/// signing and verifying once built, since each operation makes its own context.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// Takes ownership of `pointer` when it is a P-256 key; throws otherwise.
    static func p256(_ pointer: OpaquePointer?, _ failure: String) throws -> EVPKey {
        ERR_clear_error()
        guard let pointer else { throw CryptoError.invalidKey(failure) }
        let key = EVPKey(pointer)
        guard iec_p256_is_p256(pointer) == 1 else { throw CryptoError.invalidKey(failure) }
        return key
    }

    func der(privatePart: Bool) -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        let length = iec_pkey_to_der(pointer, privatePart ? 1 : 0, &buffer)
        precondition(length > 0, "DER encoding of a key failed")
        defer { iec_free(buffer, Int(length)) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
    }
}

/// PEM armour (RFC 7468).
public enum PEM {
    public static func encode(_ der: [UInt8], label: String) -> String {
        let body = Array(Base64.encode(der))
        var lines: [String] = ["-----BEGIN \(label)-----"]
        var index = 0
        while index < body.count {
            lines.append(String(body[index..<min(index + 64, body.count)]))
            index += 64
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }
}
