internal import SQLiteKit
import Store

/// Keyset paging cursors: base64url (no padding) of a format byte and the last
/// key returned. Opaque to callers; stable under inserts because the next page
/// starts strictly after that key.
enum PageCursor {
    private static let format: UInt8 = 1
    /// The largest page; smaller requests are honoured, `limit < 1` means 1.
    static let maxLimit = 1000

    static func clampedLimit(_ limit: Int) -> Int { min(max(limit, 1), maxLimit) }

    static func encode(lastKey: String) -> String {
        base64URL([format] + Array(lastKey.utf8))
    }

    /// The key after which the page starts, or nil for the first page.
    static func decode(_ cursor: String?) throws -> String? {
        guard let cursor else { return nil }
        guard let bytes = decodeBase64URL(cursor), bytes.first == format,
            let key = String(validating: bytes.dropFirst(), as: UTF8.self)
        else { throw StoreError(.invalidValue, "the page cursor is not one this store issued") }
        return key
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static func base64URL(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var chunk = UInt32(bytes[index]) << 16
            if count > 1 { chunk |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { chunk |= UInt32(bytes[index + 2]) }
            for position in 0...count { output.append(alphabet[Int((chunk >> (18 - 6 * UInt32(position))) & 0x3F)]) }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func decodeBase64URL(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < values.count {
            let count = min(4, values.count - index)
            var chunk: UInt32 = 0
            for position in 0..<4 {
                chunk <<= 6
                if position < count { chunk |= UInt32(values[index + position]) }
            }
            for position in 0..<(count - 1) { output.append(UInt8((chunk >> (16 - 8 * UInt32(position))) & 0xFF)) }
            index += 4
        }
        // Refuse non-canonical encodings (stray low bits), so one key has one cursor.
        guard base64URL(output) == text else { return nil }
        return output
    }
}
