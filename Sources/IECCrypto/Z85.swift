/// Z85, the ZeroMQ base-85 encoding (ZeroMQ RFC 32), in which CURVE keys are
/// written in configuration files: 4 bytes become 5 printable characters.
public enum Z85 {
    private static let alphabet = Array(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    private static let table: [Int16] = {
        var table = [Int16](repeating: -1, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = Int16(index) }
        return table
    }()

    /// Encodes bytes whose count is a multiple of 4.
    public static func encode(_ bytes: [UInt8]) throws -> String {
        guard bytes.count % 4 == 0 else {
            throw CryptoError.invalidEncoding("Z85 encodes a multiple of 4 bytes, not \(bytes.count)")
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 4 * 5)
        var index = 0
        while index < bytes.count {
            var value = UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
                | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
            var chunk = [UInt8](repeating: 0, count: 5)
            for position in stride(from: 4, through: 0, by: -1) {
                chunk[position] = alphabet[Int(value % 85)]
                value /= 85
            }
            output.append(contentsOf: chunk)
            index += 4
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes a text whose length is a multiple of 5.
    public static func decode(_ text: String) throws -> [UInt8] {
        let characters = Array(text.utf8)
        guard characters.count % 5 == 0 else {
            throw CryptoError.invalidEncoding("Z85 text is a multiple of 5 characters, not \(characters.count)")
        }
        var output: [UInt8] = []
        output.reserveCapacity(characters.count / 5 * 4)
        var index = 0
        while index < characters.count {
            var value: UInt64 = 0
            for character in characters[index..<index + 5] {
                let digit = table[Int(character)]
                guard digit >= 0 else { throw CryptoError.invalidEncoding("invalid character in Z85 text") }
                value = value * 85 + UInt64(digit)
            }
            guard value <= UInt64(UInt32.max) else { throw CryptoError.invalidEncoding("Z85 group out of range") }
            output.append(contentsOf: [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
            index += 5
        }
        return output
    }
}
