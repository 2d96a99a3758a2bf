public import IECJSON

/// A function a script may call. It gets the script's arguments as JSON
/// (`undefined` and functions become `null`) and returns a JSON value.
///
/// An error it throws becomes a JavaScript `Error` whose message is the
/// error's description: the script may catch it, and if it does not, the run
/// fails with ``ScriptError/Kind/runtimeError``. A thrown ``ScriptError`` of
/// kind ``ScriptError/Kind/hostFunctionFailed`` instead stops the script on
/// the spot (it cannot catch it, and no host function runs after it) and the
/// run fails with that kind: for failures a script must not paper over.
///
/// Host functions run on the thread that called ``ScriptEngine/run``, and may
/// themselves run scripts. The time they take counts against the timeout,
/// but the clock cannot stop them: keep them short. Like any Swift code they
/// must not trap; the sandbox contains the script, not its host functions.
public typealias HostFunction = @Sendable ([JSONValue]) throws -> JSONValue

/// Runs JavaScript in a sandbox: Duktape 2.7 with no I/O, a time limit and a
/// memory limit, in a fresh heap for every run so that one script can never
/// affect another.
///
/// What a script sees: the ECMAScript 5.1 library plus Duktape's parts of
/// ES2015+ (`Proxy`, `Reflect`, `Symbol`, typed arrays, `TextEncoder`,
/// `TextDecoder`), a Node.js-style `Buffer` (memory only), `CBOR`,
/// `performance.now()`, `Math.random()` and `Date`, a
/// reduced frozen `Duktape` object (`version`, `env`, `enc`, `dec` for
/// hex/base64), the inputs and the host functions. There is no `require`,
/// `print`, `alert`, module loader, file, process or network access.
///
/// Thread-safe: runs on different threads use different heaps.
public struct ScriptEngine: Sendable {
    public let limits: ScriptLimits

    public init(limits: ScriptLimits = .init()) {
        self.limits = limits
    }

    /// Runs `source` (after `prelude`, if any) in a fresh heap.
    ///
    /// - Parameters:
    ///   - source: the script; at most ``ScriptLimits/maxSourceBytes``.
    ///   - name: the file name errors and stack traces show.
    ///   - prelude: host-supplied code run first in the same global scope
    ///     (helpers for the script); its errors are reported like the script's.
    ///   - inputs: global variables, decoded from JSON (`JSON.parse`
    ///     semantics: integers beyond 2^53 lose precision).
    ///   - functions: global functions that call back into Swift; they
    ///     override inputs of the same name.
    ///   - outputs: globals read back after the run, through `JSON.stringify`
    ///     semantics. An undefined one is absent from the result; a string
    ///     stays a string; one with no JSON form (a function, a symbol, a
    ///     cycle) is ``ScriptError/Kind/invalidOutput``; `NaN` and infinities
    ///     become `null`.
    /// - Returns: the outputs that were defined.
    public func run(
        source: String,
        name: String,
        prelude: String? = nil,
        inputs: [String: JSONValue] = [:],
        functions: [String: HostFunction] = [:],
        outputs: [String] = []
    ) throws -> [String: JSONValue] {
        let sourceBytes = source.utf8.count
        guard sourceBytes <= limits.maxSourceBytes else {
            throw ScriptError(
                kind: .sourceTooLarge,
                message: "the script is \(sourceBytes) bytes, over the limit of \(limits.maxSourceBytes)")
        }
        let heap = try DuktapeHeap(limits: limits)
        heap.armDeadline(limits.timeout)
        if !inputs.isEmpty {
            try heap.setGlobals(inputs)
        }
        if !functions.isEmpty {
            try heap.registerFunctions(functions.keys.sorted().map { (name: $0, body: functions[$0]!) })
        }
        if let prelude {
            try heap.evaluate(prelude, name: "\(name) (prelude)")
        }
        try heap.evaluate(source, name: name)

        var results: [String: JSONValue] = [:]
        var budget = limits.maxOutputBytes
        for output in outputs where results[output] == nil {
            var used = 0
            if let value = try heap.global(output, maxBytes: budget, used: &used) {
                results[output] = value
                budget -= used
            }
        }
        return results
    }
}
