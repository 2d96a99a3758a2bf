internal import SQLiteKit
import IECJSON
import Store

/// JSON values as column text: `JSONValue.serialized()` in, `JSONValue.parse` out.
///
/// What goes in must come out equal, so values the text form cannot carry
/// (NaN and infinite numbers, which serialise as `null`) and values the parser
/// would refuse (too deep, too long) are rejected on the way in with
/// `invalidValue`, never silently changed.
enum JSONColumn {
    /// Nesting the parser accepts; checked on write so that every stored value reads back.
    static let maxDepth = 64

    static func text(_ value: JSONValue, field: String, maxBytes: Int) throws -> String {
        try check(value, field: field, depth: 0)
        let text = value.serialized()
        guard text.utf8.count <= maxBytes else {
            throw StoreError(.invalidValue, "\(field) is \(text.utf8.count) bytes of JSON, over the limit of \(maxBytes)")
        }
        return text
    }

    static func optionalText(_ value: JSONValue?, field: String, maxBytes: Int) throws -> SQLValue {
        guard let value else { return .null }
        return .text(try text(value, field: field, maxBytes: maxBytes))
    }

    static func strings(_ values: [String]) -> String {
        JSONValue.array(values.map(JSONValue.string)).serialized()
    }

    static func value(_ text: String, column: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(text, limits: JSONParseLimits(maxBytes: Int.max, maxDepth: maxDepth))
        } catch let error as JSONParseError {
            throw StoreError(.internalFailure, "stored JSON in \(column) is unreadable at byte \(error.offset)")
        }
    }

    static func stringArray(_ text: String, column: String) throws -> [String] {
        guard case .array(let elements) = try value(text, column: column) else {
            throw StoreError(.internalFailure, "stored \(column) is not a JSON array")
        }
        return try elements.map {
            guard case .string(let string) = $0 else { throw StoreError(.internalFailure, "stored \(column) holds a non-string") }
            return string
        }
    }

    private static func check(_ value: JSONValue, field: String, depth: Int) throws {
        switch value {
        case .double(let number) where !number.isFinite:
            throw StoreError(.invalidValue, "\(field) holds a number that is not finite")
        case .array(let elements):
            guard depth < maxDepth else { throw StoreError(.invalidValue, "\(field) is nested deeper than \(maxDepth)") }
            for element in elements { try check(element, field: field, depth: depth + 1) }
        case .object(let members):
            guard depth < maxDepth else { throw StoreError(.invalidValue, "\(field) is nested deeper than \(maxDepth)") }
            for member in members.values { try check(member, field: field, depth: depth + 1) }
        default:
            break
        }
    }
}
