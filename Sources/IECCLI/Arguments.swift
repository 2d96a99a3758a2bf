/// A usage error: the command line is wrong. Exit code 2.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A failure while doing what the command line asked. Exit code 1.
public struct CommandFailure: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A parsed command line: options by name and the positional arguments.
///
/// Options are spelled `--name value`, `--name=value` or, as the original
/// iecutil did, `-name value`. Every option a command accepts is declared;
/// anything else is a usage error naming it.
public struct ParsedArguments {
    public private(set) var values: [String: [String]] = [:]
    public private(set) var flags: Set<String> = []
    public private(set) var positionals: [String] = []
    public private(set) var wantsHelp = false

    /// - Parameters:
    ///   - valued: options that take a value.
    ///   - flags: options that take none.
    public init(_ arguments: some Sequence<String>, valued: Set<String>, flags knownFlags: Set<String> = []) throws {
        var iterator = arguments.makeIterator()
        var onlyPositionals = false
        while let argument = iterator.next() {
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(argument.drop(while: { $0 == "-" }))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if name == "help" || name == "h" {
                wantsHelp = true
                continue
            }
            if valued.contains(name) {
                guard let value = inlineValue ?? iterator.next() else { throw UsageError("option --\(name) needs a value") }
                values[name, default: []].append(value)
            } else if knownFlags.contains(name) {
                guard inlineValue == nil else { throw UsageError("option --\(name) takes no value") }
                flags.insert(name)
            } else {
                throw UsageError("unknown option \(argument)")
            }
        }
    }

    public func value(_ name: String) throws -> String? {
        guard let all = values[name] else { return nil }
        guard all.count == 1 else { throw UsageError("option --\(name) is given more than once") }
        return all[0]
    }

    public func required(_ name: String) throws -> String {
        guard let value = try value(name) else { throw UsageError("option --\(name) is required") }
        return value
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }
}
