internal import COpenSSL

/// A source of random bytes. Code that makes nonces, codes and keys takes one,
/// so that tests can inject a deterministic source.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's CSPRNG, through OpenSSL's DRBG.
public struct SystemRandom: RandomSource {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] { SecureRandom.bytes(count) }
}

/// Cryptographically secure random bytes.
public enum SecureRandom {
    /// `count` random bytes. Traps if the system cannot produce randomness:
    /// carrying on without it would make every key and nonce guessable.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0)
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(status == 1, "the system random number generator failed")
        return output
    }

    /// A uniformly distributed integer in `0..<upperBound`, without modulo bias.
    public static func uniform(_ upperBound: UInt32, using source: any RandomSource = SystemRandom()) -> UInt32 {
        precondition(upperBound > 0)
        let limit = UInt32.max - UInt32.max % upperBound
        while true {
            let raw = source.bytes(4)
            let value = raw.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if value < limit { return value % upperBound }
        }
    }
}
