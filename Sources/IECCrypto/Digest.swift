internal import COpenSSL

/// SHA-256 (FIPS 180-4).
public enum SHA256 {
    public static let byteCount = 32

    public static func hash(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: byteCount)
        let ok = withNonNullBytes(data) { pointer, count in
            digest.withUnsafeMutableBufferPointer { iec_sha256(pointer, count, $0.baseAddress) }
        }
        precondition(ok == 1, "SHA-256 failed")
        return digest
    }

    public static func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }
}

/// HMAC-SHA256 (RFC 2104, RFC 4231).
public enum HMACSHA256 {
    public static let byteCount = 32

    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: byteCount)
        let ok = withNonNullBytes(key) { keyPointer, keyCount in
            withNonNullBytes(message) { messagePointer, messageCount in
                mac.withUnsafeMutableBufferPointer {
                    iec_hmac_sha256(keyPointer, keyCount, messagePointer, messageCount, $0.baseAddress)
                }
            }
        }
        precondition(ok == 1, "HMAC-SHA256 failed")
        return mac
    }

    /// Whether `mac` is the code for `message` under `key`, compared in constant time.
    /// A truncated `mac` (at least 16 bytes, RFC 4231 §4.6) is compared against the same prefix.
    public static func isValidAuthenticationCode(_ mac: [UInt8], for message: [UInt8], key: [UInt8]) -> Bool {
        guard mac.count >= 16, mac.count <= byteCount else { return false }
        let expected = authenticationCode(for: message, key: key)
        return ConstantTime.equals(Array(expected.prefix(mac.count)), mac)
    }
}

/// Comparisons whose time does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when `a` and `b` are equal. Lengths are not secret: unequal lengths
    /// return false at once.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0 }
        }
    }

    public static func equals(_ a: String, _ b: String) -> Bool { equals(Array(a.utf8), Array(b.utf8)) }
}
