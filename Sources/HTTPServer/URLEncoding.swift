/// Percent-decoding and `application/x-www-form-urlencoded` parsing, on bytes.
enum URLEncoding {
    /// Decodes `%HH` escapes (and, for form data, `+` as a space). A `%` not
    /// followed by two hex digits is kept as it is; invalid UTF-8 becomes U+FFFD.
    static func decode(_ text: Substring, plusAsSpace: Bool) -> String {
        let utf8 = text.utf8
        let needsWork = utf8.contains { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }
        guard needsWork else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                if first != utf8.endIndex {
                    let second = utf8.index(after: first)
                    if second != utf8.endIndex, let high = hexValue(utf8[first]), let low = hexValue(utf8[second]) {
                        bytes.append(high << 4 | low)
                        index = utf8.index(after: second)
                        continue
                    }
                }
                bytes.append(byte)
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Splits `name=value&name=value` form data into decoded pairs, in order.
    /// Empty pieces (`a=1&&b=2`) are skipped; a piece without `=` has an empty value.
    static func formPairs(_ text: Substring) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        for piece in splitASCII(text, UInt8(ascii: "&")) where !piece.isEmpty {
            if let equals = piece.utf8.firstIndex(of: UInt8(ascii: "=")) {
                let name = decode(piece[..<equals], plusAsSpace: true)
                let value = decode(piece[piece.index(after: equals)...], plusAsSpace: true)
                pairs.append((name: name, value: value))
            } else {
                pairs.append((name: decode(piece, plusAsSpace: true), value: ""))
            }
        }
        return pairs
    }

    /// The first value of each name.
    static func firstValues(_ pairs: [(name: String, value: String)]) -> [String: String] {
        var result: [String: String] = [:]
        result.reserveCapacity(pairs.count)
        for pair in pairs where result[pair.name] == nil {
            result[pair.name] = pair.value
        }
        return result
    }

    /// Every value of each name, in order.
    static func allValues(_ pairs: [(name: String, value: String)]) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for pair in pairs {
            result[pair.name, default: []].append(pair.value)
        }
        return result
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// `text` split at every `separator` byte (an ASCII character), keeping empty
/// pieces: `a//b` → `[a, "", b]`. Works on UTF-8 bytes, not Characters (fast).
func splitASCII(_ text: Substring, _ separator: UInt8) -> [Substring] {
    var pieces: [Substring] = []
    let utf8 = text.utf8
    var start = utf8.startIndex
    var index = start
    while index != utf8.endIndex {
        if utf8[index] == separator {
            pieces.append(text[start..<index])
            start = utf8.index(after: index)
        }
        index = utf8.index(after: index)
    }
    pieces.append(text[start..<utf8.endIndex])
    return pieces
}

/// ASCII case-insensitive comparison (header names, media types).
func asciiCaseInsensitiveEquals(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
    let left = lhs.utf8
    let right = rhs.utf8
    guard left.count == right.count else { return false }
    return zip(left, right).allSatisfy { asciiLower($0) == asciiLower($1) }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

/// `bytes` as a string with ASCII letters lower-cased (header names).
func asciiLowercasedString(_ bytes: UnsafeRawBufferPointer) -> String {
    if !bytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
        return String(decoding: bytes, as: UTF8.self)
    }
    return String(unsafeUninitializedCapacity: bytes.count) { buffer in
        for (offset, byte) in bytes.enumerated() {
            buffer[offset] = asciiLower(byte)
        }
        return bytes.count
    }
}

func asciiLowercased(_ text: String) -> String {
    var copy = text
    return copy.withUTF8 { asciiLowercasedString(UnsafeRawBufferPointer($0)) }
}

/// RFC 9110 §5.6.2 token: one or more tchar.
func isHTTPToken(_ text: some StringProtocol) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
}

@inline(__always)
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
        UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
        UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

/// A header field value that can be sent on one line: no CR, LF or NUL.
func isHeaderValue(_ text: String) -> Bool {
    !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
}

/// The media type of a `Content-Type` value as written (compare it case-insensitively), without parameters.
func mediaType(of contentType: String) -> Substring {
    let end = contentType.firstIndex(of: ";") ?? contentType.endIndex
    var type = contentType[..<end]
    while let first = type.first, first == " " || first == "\t" { type = type.dropFirst() }
    while let last = type.last, last == " " || last == "\t" { type = type.dropLast() }
    return type
}
