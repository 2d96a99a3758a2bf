public import IECJSON

/// JSON values as a store keeps them, as text: what goes in must come out
/// equal, so values the text cannot carry (NaN and infinite numbers, which
/// serialise as `null`) and values the parser would refuse (too deep, too long)
/// are rejected on the way in with `invalidValue`, never silently changed.
/// Every adapter writes its JSON through here, so they accept the same values.
public enum StoredJSON {
    /// Nesting the parser accepts; checked on write so that every stored value reads back.
    public static let maxDepth = 64

    /// The value's text, or `invalidValue` naming `field`.
    public static func text(_ value: JSONValue, field: String, maxBytes: Int) throws -> String {
        try check(value, field: field, depth: 0)
        let text = value.serialized()
        guard text.utf8.count <= maxBytes else {
            throw StoreError(.invalidValue, "\(field) is \(text.utf8.count) bytes of JSON, over the limit of \(maxBytes)")
        }
        return text
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
