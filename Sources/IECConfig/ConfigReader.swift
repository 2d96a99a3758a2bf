public import IECJSON

/// A configuration value that is wrong, named by its full key path
/// (`server.tls.certificate_file`), with what was expected.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file or source, e.g. `am.json`.
    public let source: String
    /// Dotted key path; empty for the whole document.
    public let path: String
    public let message: String

    public init(source: String, path: String, message: String) {
        self.source = source
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? "\(source): \(message)" : "\(source): \(path): \(message)" }
}

/// Reads one JSON object of a configuration file, tracking which keys were
/// read so that `finish()` can reject the ones nobody knows (STYLE habit 8):
/// a typo must be an error, never a silently ignored setting.
public final class ConfigObject {
    public let source: String
    public let path: String
    private let members: [String: JSONValue]
    private var known: Set<String> = []

    public init(source: String, path: String = "", members: [String: JSONValue]) {
        self.source = source
        self.path = path
        self.members = members
    }

    /// Parses a whole document, which must be an object.
    public static func parse(_ bytes: [UInt8], source: String) throws -> ConfigObject {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes, limits: .init(maxBytes: 4 << 20, maxDepth: 32))
        } catch let error as JSONParseError {
            throw ConfigError(source: source, path: "", message: "\(error)")
        }
        guard case .object(let members) = json else {
            throw ConfigError(source: source, path: "", message: "expected a JSON object, got \(json.typeName)")
        }
        return ConfigObject(source: source, members: members)
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(source: source, path: keyPath(key), message: message)
    }

    public func has(_ key: String) -> Bool { members[key] != nil && members[key] != .null }

    /// The raw value, marking the key as known.
    public func value(_ key: String) -> JSONValue? {
        known.insert(key)
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    public func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else { throw error(key, "expected a string, got \(value.typeName)") }
        return text
    }

    public func string(_ key: String, default fallback: String) throws -> String { try string(key) ?? fallback }

    public func requiredString(_ key: String) throws -> String {
        guard let text = try string(key) else { throw error(key, "is required (a string)") }
        return text
    }

    /// A string that must not be empty.
    public func nonEmptyString(_ key: String) throws -> String? {
        guard let text = try string(key) else { return nil }
        guard !text.isEmpty else { throw error(key, "must not be empty") }
        return text
    }

    public func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let integer = value.int64Value, let number = Int(exactly: integer) else {
            throw error(key, "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(value.typeName)")
        }
        guard range.contains(number) else {
            throw error(key, "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(number)")
        }
        return number
    }

    public func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        try int(key, in: range) ?? fallback
    }

    public func double(_ key: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let value = value(key) else { return fallback }
        guard let number = value.doubleValue, range.contains(number) else {
            throw error(key, "expected a number from \(range.lowerBound) to \(range.upperBound), got \(value.serialized().prefix(40))")
        }
        return number
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolValue else { throw error(key, "expected true or false, got \(value.typeName)") }
        return flag
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool { try bool(key) ?? fallback }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw error(key, "expected an array of strings, got \(value.typeName)") }
        return try array.enumerated().map { index, element in
            guard let text = element.stringValue else {
                throw ConfigError(source: source, path: "\(keyPath(key))[\(index)]", message: "expected a string, got \(element.typeName)")
            }
            return text
        }
    }

    /// A nested object; call `finish()` on it too.
    public func object(_ key: String) throws -> ConfigObject? {
        guard let value = value(key) else { return nil }
        guard case .object(let nested) = value else { throw error(key, "expected an object, got \(value.typeName)") }
        return ConfigObject(source: source, path: keyPath(key), members: nested)
    }

    /// One of a fixed set of strings.
    public func choice(_ key: String, of choices: [String], default fallback: String) throws -> String {
        guard let text = try string(key) else { return fallback }
        guard choices.contains(text) else { throw error(key, "expected one of \(choices.joined(separator: ", ")), got \"\(text)\"") }
        return text
    }

    /// Rejects every key that was never read, naming it (and the closest known key, when there is one).
    public func finish() throws {
        let unknown = members.keys.filter { !known.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        var message = "unknown key"
        if let suggestion = known.min(by: { editDistance($0, first) < editDistance($1, first) }), editDistance(suggestion, first) <= 3 {
            message += " (did you mean \"\(suggestion)\"?)"
        }
        if unknown.count > 1 { message += "; also unknown: " + unknown.dropFirst().map { keyPath($0) }.joined(separator: ", ") }
        throw error(first, message)
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
