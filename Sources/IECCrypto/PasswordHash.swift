internal import CSodium

/// Argon2id password hashing (RFC 9106) in the PHC string format, for human
/// passwords only: machine secrets we generate are high-entropy and are
/// hashed with SHA-256/HMAC instead, which costs microseconds, not milliseconds.
public enum PasswordHash {
    /// Work factors. `interactive` is libsodium's interactive level (~64 MiB, 2 passes).
    public struct Cost: Sendable, Hashable {
        public var operations: UInt64
        public var memoryBytes: Int

        public init(operations: UInt64, memoryBytes: Int) {
            self.operations = operations
            self.memoryBytes = memoryBytes
        }

        public static let interactive = Cost(
            operations: UInt64(crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE),
            memoryBytes: Int(crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE))
        /// The smallest cost libsodium allows; for tests only.
        public static let minimum = Cost(
            operations: UInt64(crypto_pwhash_argon2id_OPSLIMIT_MIN), memoryBytes: Int(crypto_pwhash_argon2id_MEMLIMIT_MIN))
    }

    /// Longest password accepted, to bound the work an attacker can ask for.
    public static let maxPasswordBytes = 4096

    /// A PHC string such as `$argon2id$v=19$m=65536,t=2,p=1$…`.
    public static func hash(_ password: String, cost: Cost = .interactive) throws -> String {
        requireSodium()
        let bytes = Array(password.utf8)
        guard bytes.count <= maxPasswordBytes else { throw CryptoError.invalidEncoding("the password is longer than \(maxPasswordBytes) bytes") }
        var output = [CChar](repeating: 0, count: Int(crypto_pwhash_argon2id_STRBYTES))
        let status = withNonNullBytes(bytes) { pointer, count in
            pointer.withMemoryRebound(to: CChar.self, capacity: max(count, 1)) { chars in
                crypto_pwhash_argon2id_str(&output, chars, UInt64(count), cost.operations, cost.memoryBytes)
            }
        }
        guard status == 0 else { throw CryptoError.libraryFailure("password hashing failed (out of memory?)") }
        return String(decoding: output.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `password` matches `encodedHash`. Malformed hashes do not match.
    public static func verify(_ password: String, against encodedHash: String) -> Bool {
        requireSodium()
        let bytes = Array(password.utf8)
        guard bytes.count <= maxPasswordBytes, encodedHash.hasPrefix("$argon2id$"),
            encodedHash.utf8.count < Int(crypto_pwhash_argon2id_STRBYTES)
        else { return false }
        return withNonNullBytes(bytes) { pointer, count in
            pointer.withMemoryRebound(to: CChar.self, capacity: max(count, 1)) { chars in
                crypto_pwhash_argon2id_str_verify(encodedHash, chars, UInt64(count))
            }
        } == 0
    }

    /// Whether a stored hash was made with other work factors than `cost` and
    /// should be replaced at the next successful sign-in.
    public static func needsRehash(_ encodedHash: String, cost: Cost = .interactive) -> Bool {
        requireSodium()
        return crypto_pwhash_argon2id_str_needs_rehash(encodedHash, cost.operations, cost.memoryBytes) != 0
    }
}
