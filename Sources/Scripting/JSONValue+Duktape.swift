import IECJSON

extension JSONValue {
    /// The JSON text to hand to Duktape.
    ///
    /// Characters outside the BMP become `\u` escapes of their UTF-16
    /// surrogates: Duktape decodes those into the standard two-unit string a
    /// script expects, while raw 4-byte UTF-8 would become one non-standard
    /// "character". (The way back, surrogates to UTF-8, is done in C.)
    var duktapeJSON: String {
        let text = serialized()
        guard text.utf8.contains(where: { $0 >= 0xF0 }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if scalar.value > 0xFFFF {
                let value = scalar.value - 0x10000
                escaped += "\\u" + Self.hex4(0xD800 + (value >> 10)) + "\\u" + Self.hex4(0xDC00 + (value & 0x3FF))
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
