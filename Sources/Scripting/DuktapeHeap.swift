internal import CDuktape
import IECJSON

/// One Duktape heap: the sandbox a single run happens in.
///
/// Owns the C heap and frees it in `deinit`. Used by one thread at a time;
/// ``ScriptEngine`` makes a fresh one per run.
final class DuktapeHeap {
    private let raw: OpaquePointer
    private let limits: ScriptLimits
    /// Kept alive here because the C heap holds an unretained pointer to it.
    private var host: HostFunctionTable?

    init(limits: ScriptLimits) throws {
        guard let raw = iec_duk_heap_create(limits.memoryBytes) else {
            throw ScriptError(
                kind: .memoryLimit,
                message: "the memory limit of \(limits.memoryBytes) bytes is too small for an empty heap")
        }
        self.raw = raw
        self.limits = limits
    }

    deinit {
        iec_duk_heap_destroy(raw)
    }

    /// Starts the clock: the rest of the run must finish within `timeout`.
    func armDeadline(_ timeout: Duration) {
        iec_duk_heap_arm_deadline(raw, timeout.clampedNanoseconds)
    }

    /// Makes each member of `values` a global variable.
    func setGlobals(_ values: [String: JSONValue]) throws {
        try Self.withBytes(JSONValue.object(values).duktapeJSON) { bytes, count in
            try check(iec_duk_set_globals_json(raw, bytes, count))
        }
    }

    /// Makes each of `functions` a global function of its name.
    func registerFunctions(_ functions: [(name: String, body: HostFunction)]) throws {
        let table = HostFunctionTable(functions: functions, limits: limits)
        host = table
        iec_duk_heap_set_host(
            raw,
            { context, index, arguments, count, reply in
                guard let context, let arguments else { return Int32(IEC_DUK_HOST_THROW) }
                let table = Unmanaged<HostFunctionTable>.fromOpaque(context).takeUnretainedValue()
                return table.call(
                    index: Int(index), arguments: UnsafeRawBufferPointer(start: arguments, count: count), reply: reply)
            },
            Unmanaged.passUnretained(table).toOpaque(),
            limits.maxOutputBytes)
        let names = JSONValue.array(functions.map { .string($0.name) })
        try Self.withBytes(names.duktapeJSON) { bytes, count in
            try check(iec_duk_register_functions(raw, bytes, count))
        }
    }

    /// Compiles and runs `source` as a global program.
    func evaluate(_ source: String, name: String) throws {
        try Self.withBytes(source) { sourceBytes, sourceCount in
            try Self.withBytes(name) { nameBytes, nameCount in
                try check(iec_duk_eval(raw, sourceBytes, sourceCount, nameBytes, nameCount))
            }
        }
    }

    /// The global `name` as JSON, or nil when it is undefined. `maxBytes` bounds
    /// its JSON text; `used` receives that text's length.
    func global(_ name: String, maxBytes: Int, used: inout Int) throws -> JSONValue? {
        var text: UnsafePointer<CChar>?
        var length = 0
        let status = Self.withBytes(name) { bytes, count in
            iec_duk_get_global_json(raw, bytes, count, maxBytes, &text, &length)
        }
        switch Int(status) {
        case Int(IEC_DUK_OK):
            used = length
            let buffer = UnsafeRawBufferPointer(start: text, count: length)
            do {
                return try JSONValue.parse(buffer, limits: JSONParseLimits(maxBytes: maxBytes, maxDepth: 64))
            } catch {
                throw ScriptError(kind: .invalidOutput, message: "output '\(name)' has no JSON form: \(error)")
            }
        case Int(IEC_DUK_ABSENT):
            return nil
        case Int(IEC_DUK_NOT_JSON):
            throw ScriptError(kind: .invalidOutput, message: "output '\(name)' has no JSON form: \(lastMessage)")
        case Int(IEC_DUK_TOO_LARGE):
            throw ScriptError(
                kind: .outputTooLarge,
                message: "output '\(name)' makes the outputs longer than \(limits.maxOutputBytes) bytes of JSON")
        default:
            try check(status)
            return nil
        }
    }

    /// Bytes the heap holds now.
    var memoryUsed: Int { iec_duk_heap_memory_used(raw) }

    /// For tests: drives Duktape into its fatal handler. Throws the resulting
    /// error; the heap refuses all work afterwards.
    func triggerFatalForTesting() throws {
        try check(iec_duk_debug_trigger_fatal(raw))
    }

    private var lastMessage: String { String(cString: iec_duk_heap_error_message(raw)) }

    /// Maps a C status to a `ScriptError` (the one place that does).
    private func check(_ status: Int32) throws {
        let line = Int(iec_duk_heap_error_line(raw))
        let lineOrNil = line > 0 ? line : nil
        switch Int(status) {
        case Int(IEC_DUK_OK):
            return
        case Int(IEC_DUK_SYNTAX_ERROR):
            throw ScriptError(kind: .syntaxError, message: lastMessage, line: lineOrNil)
        case Int(IEC_DUK_RUNTIME_ERROR):
            throw ScriptError(kind: .runtimeError, message: lastMessage, line: lineOrNil)
        case Int(IEC_DUK_TIMEOUT):
            throw ScriptError(kind: .timeout, message: "the script ran longer than \(limits.timeout)", line: lineOrNil)
        case Int(IEC_DUK_MEMORY_LIMIT):
            throw ScriptError(
                kind: .memoryLimit, message: "the script needed more than \(limits.memoryBytes) bytes (\(lastMessage))",
                line: lineOrNil)
        case Int(IEC_DUK_ABORTED):
            throw ScriptError(kind: .hostFunctionFailed, message: lastMessage)
        case Int(IEC_DUK_FATAL):
            throw ScriptError(kind: .runtimeError, message: "the script engine failed: \(lastMessage)")
        default:
            throw ScriptError(kind: .runtimeError, message: "the script engine refused the call: \(lastMessage)")
        }
    }

    private static func withBytes<R>(
        _ string: String, _ body: (UnsafePointer<CChar>, Int) throws -> R
    ) rethrows -> R {
        var string = string
        return try string.withUTF8 { utf8 in
            try utf8.withMemoryRebound(to: CChar.self) { chars in
                guard let base = chars.baseAddress else {
                    // An empty string's buffer may have no address; C wants one anyway.
                    let zero: CChar = 0
                    return try withUnsafePointer(to: zero) { try body($0, 0) }
                }
                return try body(base, chars.count)
            }
        }
    }
}

/// The host functions of one run, reached from C through an unretained pointer.
final class HostFunctionTable {
    private let functions: [(name: String, body: HostFunction)]
    private let limits: ScriptLimits

    init(functions: [(name: String, body: HostFunction)], limits: ScriptLimits) {
        self.functions = functions
        self.limits = limits
    }

    /// Runs function `index` on the JSON `arguments` and answers through
    /// `reply`. Never throws: C is the caller.
    func call(index: Int, arguments: UnsafeRawBufferPointer, reply: OpaquePointer?) -> Int32 {
        guard functions.indices.contains(index) else {
            return answer(IEC_DUK_HOST_THROW, "no such host function", reply)
        }
        let function = functions[index]
        let values: [JSONValue]
        do {
            let parsed = try JSONValue.parse(arguments, limits: JSONParseLimits(maxBytes: limits.maxOutputBytes, maxDepth: 64))
            guard case .array(let list) = parsed else {
                return answer(IEC_DUK_HOST_THROW, "\(function.name): arguments are not a list", reply)
            }
            values = list
        } catch {
            return answer(IEC_DUK_HOST_THROW, "\(function.name): the arguments have no JSON form: \(error)", reply)
        }
        do {
            let result = try function.body(values).duktapeJSON
            guard result.utf8.count <= limits.maxOutputBytes else {
                return answer(
                    IEC_DUK_HOST_ABORT,
                    "\(function.name) returned more than \(limits.maxOutputBytes) bytes of JSON", reply)
            }
            return answer(IEC_DUK_HOST_RETURN, result, reply)
        } catch let error as ScriptError where error.kind == .hostFunctionFailed {
            return answer(IEC_DUK_HOST_ABORT, "\(function.name): \(error.message)", reply)
        } catch {
            return answer(IEC_DUK_HOST_THROW, String(describing: error), reply)
        }
    }

    private func answer(_ code: Int, _ text: String, _ reply: OpaquePointer?) -> Int32 {
        var text = text
        let stored = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                iec_duk_host_reply_set(reply, chars.baseAddress, chars.count)  // NULL is fine when empty
            }
        }
        // Out of memory for the reply: fail the call (with an empty message).
        return stored == 0 ? Int32(code) : Int32(IEC_DUK_HOST_THROW)
    }
}

extension Duration {
    /// Nanoseconds, clamped to `0...Int64.max`.
    var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : total
    }
}
