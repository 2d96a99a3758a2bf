public import IECJSON

/// JSON laid out as the original SDK returned it to C apps (see simpleclient's
/// output in the installation guide): one member per line, indented by one
/// space per level, `"key": value`, and `{  }` for an empty object. The C
/// library returns every JSON text this way; Swift apps printing results can
/// use it to look the same.
public enum OriginalLayout {
    /// `value` laid out; members of the top-level object in `order` first, the rest by name.
    public static func text(_ value: JSONValue, order: [String] = []) -> String {
        var output = ""
        write(value, order: order, indent: 0, to: &output)
        return output
    }

    private static func write(_ value: JSONValue, order: [String], indent: Int, to output: inout String) {
        switch value {
        case .object(let members):
            if members.isEmpty {
                output += "{  }"
                return
            }
            let first = order.filter { members[$0] != nil }
            let keys = first + members.keys.filter { !first.contains($0) }.sorted()
            output += "{\n"
            for (position, key) in keys.enumerated() {
                output += String(repeating: " ", count: indent + 1)
                output += JSONValue.string(key).serialized() + ": "
                write(members[key]!, order: [], indent: indent + 1, to: &output)
                output += position == keys.count - 1 ? "\n" : ",\n"
            }
            output += String(repeating: " ", count: indent) + "}"
        case .array(let elements):
            if elements.isEmpty {
                output += "[]"
                return
            }
            output += "[\n"
            for (position, element) in elements.enumerated() {
                output += String(repeating: " ", count: indent + 1)
                write(element, order: [], indent: indent + 1, to: &output)
                output += position == elements.count - 1 ? "\n" : ",\n"
            }
            output += String(repeating: " ", count: indent) + "]"
        default:
            output += value.serialized()
        }
    }
}
