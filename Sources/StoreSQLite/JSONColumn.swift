internal import SQLiteKit
import IECJSON
import Store

/// JSON values as column text: `StoredJSON.text` in (which rejects what would
/// not read back equal), `JSONValue.parse` out.
enum JSONColumn {
    static var maxDepth: Int { StoredJSON.maxDepth }

    static func text(_ value: JSONValue, field: String, maxBytes: Int) throws -> String {
        try StoredJSON.text(value, field: field, maxBytes: maxBytes)
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

}
