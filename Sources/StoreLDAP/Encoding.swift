import IECCrypto
import IECJSON
import LDAPKit
import Store

/// How values become attribute text and back.
enum Encoding {
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    static func unhex(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        func value(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x61...0x66: byte - 0x61 + 10
            default: nil
            }
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 2)
        var index = 0
        while index < bytes.count {
            guard let high = value(bytes[index]), let low = value(bytes[index + 1]) else { return nil }
            output.append(high << 4 | low)
            index += 2
        }
        return output
    }

    /// `text` with A-Z turned to a-z and every other byte kept.
    static func asciiFolded(_ text: String) -> [UInt8] {
        text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
    }

    /// The RDN value of a record: SHA-256 of its kind and key parts, each
    /// length-prefixed so that no two keys share a hash input.
    static func recordKey(_ kind: String, _ parts: [String]) -> String {
        var input = Array(kind.utf8)
        for part in parts {
            input += Array("|\(part.utf8.count):".utf8)
            input += Array(part.utf8)
        }
        return hex(SHA256.hash(input))
    }

    /// Exact decimal text of a double (Swift prints the shortest text that reads back to the same value).
    static func text(_ value: Double) -> String { "\(value)" }

    static func double(_ text: String?, _ what: String) throws -> Double {
        guard let text, let value = Double(text) else { throw StoreError(.internalFailure, "stored \(what) is not a number") }
        return value
    }

    /// Whole seconds rounded down, clamped to Int64, for the ordered `iecExpiry`.
    static func expiry(_ value: Double) -> String {
        guard value.isFinite else { return value > 0 ? "\(Int64.max)" : "\(Int64.min)" }
        let floored = value.rounded(.down)
        if floored >= 9.2e18 { return "\(Int64.max)" }
        if floored <= -9.2e18 { return "\(Int64.min)" }
        return "\(Int64(floored))"
    }

    static func value(_ attribute: String, _ text: String) -> (String, [[UInt8]]) { (attribute, [Array(text.utf8)]) }
}

/// JSON values as attribute text: `StoredJSON.text` in (which rejects what
/// would not read back equal), `JSONValue.parse` out.
enum JSONText {
    static var maxDepth: Int { StoredJSON.maxDepth }

    static func text(_ value: JSONValue, field: String, maxBytes: Int) throws -> String {
        try StoredJSON.text(value, field: field, maxBytes: maxBytes)
    }

    static func parse(_ bytes: [UInt8]?, _ what: String) throws -> JSONValue {
        guard let bytes else { throw StoreError(.internalFailure, "stored \(what) is missing") }
        do {
            return try JSONValue.parse(bytes, limits: JSONParseLimits(maxBytes: Int.max, maxDepth: maxDepth + 2))
        } catch let error as JSONParseError {
            throw StoreError(.internalFailure, "stored \(what) is unreadable JSON at byte \(error.offset)")
        }
    }
}

/// The members of a record kept as one JSON document (`iecData`), read with
/// errors that name the record kind, never its contents.
struct Fields {
    var members: [String: JSONValue]
    let what: String

    init(what: String) {
        members = [:]
        self.what = what
    }

    init(_ entry: LDAPEntry, what: String) throws {
        guard case .object(let members) = try JSONText.parse(entry.attributes["iecdata"]?.first, "\(what) data") else {
            throw StoreError(.internalFailure, "stored \(what) data is not a JSON object")
        }
        self.members = members
        self.what = what
    }

    func text(maxBytes: Int) throws -> String {
        // Each member was size-checked on the way in; the document is bounded by their sum.
        JSONValue.object(members).serialized()
    }

    subscript(string key: String) -> String? {
        get { members[key]?.stringValue }
        set { members[key] = newValue.map(JSONValue.string) }
    }

    mutating func set(_ key: String, double value: Double) { members[key] = .string(Encoding.text(value)) }
    mutating func set(_ key: String, optionalDouble value: Double?) { members[key] = value.map { .string(Encoding.text($0)) } }
    mutating func set(_ key: String, strings: [String]) { members[key] = .array(strings.map(JSONValue.string)) }
    mutating func set(_ key: String, json value: JSONValue, maxBytes: Int) throws {
        _ = try JSONText.text(value, field: "\(what) \(key)", maxBytes: maxBytes)
        members[key] = value
    }

    func string(_ key: String) throws -> String {
        guard let value = members[key]?.stringValue else { throw missing(key) }
        return value
    }

    func optionalString(_ key: String) -> String? { members[key]?.stringValue }

    func double(_ key: String) throws -> Double {
        guard let text = members[key]?.stringValue, let value = Double(text) else { throw missing(key) }
        return value
    }

    func optionalDouble(_ key: String) throws -> Double? {
        guard let member = members[key], member != .null else { return nil }
        return try double(key)
    }

    func bool(_ key: String) throws -> Bool {
        guard let value = members[key]?.boolValue else { throw missing(key) }
        return value
    }

    func strings(_ key: String) throws -> [String] {
        guard case .array(let elements) = members[key] else { throw missing(key) }
        return try elements.map {
            guard case .string(let value) = $0 else { throw missing(key) }
            return value
        }
    }

    func json(_ key: String) throws -> JSONValue {
        guard let value = members[key] else { throw missing(key) }
        return value
    }

    func optionalJSON(_ key: String) -> JSONValue? { members[key] }

    private func missing(_ key: String) -> StoreError {
        StoreError(.internalFailure, "stored \(what) lacks a valid \(key)")
    }
}

/// Keyset paging cursors, as the SQLite store's: base64url of a format byte
/// and the last key returned.
enum PageCursor {
    private static let format: UInt8 = 1
    static let maxLimit = 1000

    static func clampedLimit(_ limit: Int) -> Int { min(max(limit, 1), maxLimit) }

    static func encode(lastKey: [UInt8]) -> String { "l" + Encoding.hex([format] + lastKey) }

    /// The key bytes after which the page starts, or nil for the first page.
    static func decode(_ cursor: String?) throws -> [UInt8]? {
        guard let cursor else { return nil }
        guard cursor.hasPrefix("l"), let bytes = Encoding.unhex(String(cursor.dropFirst())), bytes.first == format else {
            throw StoreError(.invalidValue, "the page cursor is not one this store issued")
        }
        return Array(bytes.dropFirst())
    }
}
