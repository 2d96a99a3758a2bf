import Foundation
import IECJSON
import Scripting
import XCTest

/// Values in, values out, host functions, errors.
final class ScriptEngineTests: XCTestCase {
    let engine = ScriptEngine()

    func testOutputsOfEachJSONType() throws {
        let source = """
            var n = null, t = true, f = false, i = 42, neg = -7, d = 1.5, big = 1e21, s = "héllo",
                json = '{"a":1}', a = [1, "two", [3]], o = {x: {y: [null]}}, u = undefined, nan = NaN;
            """
        let names = ["n", "t", "f", "i", "neg", "d", "big", "s", "json", "a", "o", "u", "nan", "missing"]
        let result = try engine.run(source: source, name: "types.js", outputs: names)
        XCTAssertEqual(result["n"], .null)
        XCTAssertEqual(result["t"], .bool(true))
        XCTAssertEqual(result["f"], .bool(false))
        XCTAssertEqual(result["i"], .int(42))
        XCTAssertEqual(result["neg"], .int(-7))
        XCTAssertEqual(result["d"], .double(1.5))
        XCTAssertEqual(result["big"]?.doubleValue, 1e21)
        XCTAssertEqual(result["s"], .string("héllo"))
        XCTAssertEqual(result["json"], .string(#"{"a":1}"#), "a string output stays a string")
        XCTAssertEqual(result["a"], [1, "two", [3]])
        XCTAssertEqual(result["o"], ["x": ["y": [nil]]])
        XCTAssertNil(result["u"], "undefined is absent")
        XCTAssertEqual(result["nan"], .null, "JSON.stringify semantics")
        XCTAssertNil(result["missing"])
        XCTAssertEqual(result.count, 12)
    }

    func testInputsAreVisibleAsGlobals() throws {
        let inputs: [String: JSONValue] = [
            "params": ["name": "lamp", "level": 3, "tags": ["a", "b"], "ratio": 0.25, "on": true, "none": nil],
            "count": 7,
            "text": "plain",
        ]
        let source = """
            var echo = params;
            var summary = params.name + ":" + (params.level + count) + ":" + params.tags.join("|") + ":" + typeof params.none;
            var kinds = [typeof params.ratio, typeof params.on, typeof text];
            """
        let result = try engine.run(source: source, name: "inputs.js", inputs: inputs, outputs: ["echo", "summary", "kinds"])
        XCTAssertEqual(result["echo"], inputs["params"])
        XCTAssertEqual(result["summary"], "lamp:10:a|b:object")
        XCTAssertEqual(result["kinds"], ["number", "boolean", "string"])

        // Inputs are defined, not assigned: no setter runs, not even __proto__'s.
        let odd = try engine.run(
            source: "var r = [typeof evil, __proto__.evil];", name: "proto.js",
            inputs: ["__proto__": ["evil": true]], outputs: ["r"])
        XCTAssertEqual(odd["r"], ["undefined", true])
    }

    func testStringsOutsideTheBMPRoundTripAsUTF16() throws {
        let result = try engine.run(
            source: """
                var back = s, length = s.length, unit = s.charCodeAt(0), made = "\\ud83d\\ude00", literal = "😀",
                    lone = "a\\ud800b";
                """,
            name: "unicode.js", inputs: ["s": "😀"], outputs: ["back", "length", "unit", "made", "literal", "lone"])
        XCTAssertEqual(result["back"], "😀")
        XCTAssertEqual(result["length"], 2, "scripts see standard UTF-16 strings")
        XCTAssertEqual(result["unit"], 0xD83D)
        XCTAssertEqual(result["made"], "😀")
        XCTAssertEqual(result["literal"], "😀")
        XCTAssertEqual(result["lone"], "a\u{FFFD}b", "a lone surrogate cannot leave as UTF-8")
    }

    func testPreludeRunsFirstInTheSameGlobalScope() throws {
        let result = try engine.run(
            source: "var r = greet('gateway');", name: "main.js",
            prelude: "function greet(who) { return 'hello ' + who; }", outputs: ["r"])
        XCTAssertEqual(result["r"], "hello gateway")

        XCTAssertThrowsError(try engine.run(source: "var r = 1;", name: "main.js", prelude: "function (")) { error in
            XCTAssertEqual((error as? ScriptError)?.kind, .syntaxError)
        }
    }

    func testHostFunctionGetsArgumentsAndItsResultIsUsed() throws {
        let calls = Locked<[[JSONValue]]>([])
        let functions: [String: HostFunction] = [
            "add": { args in
                calls.withLock { $0.append(args) }
                return .int((args.first?.int64Value ?? 0) + (args.dropFirst().first?.int64Value ?? 0))
            },
            "lookup": { args in ["key": args.first ?? nil, "found": true] },
        ]
        let result = try engine.run(
            source: """
                var sum = add(2, 3) * 10;
                var found = lookup("k").found;
                add({a: [1]}, undefined, function () {}, "😀");
                var none = typeof add();
                """,
            name: "host.js", functions: functions, outputs: ["sum", "found", "none"])
        XCTAssertEqual(result["sum"], 50)
        XCTAssertEqual(result["found"], true)
        XCTAssertEqual(result["none"], "number")
        XCTAssertEqual(calls.withLock { $0 }, [[2, 3], [["a": [1]], nil, nil, "😀"], []])
    }

    struct Refusal: Error, CustomStringConvertible {
        var description: String { "store unavailable" }
    }

    func testThrowingHostFunctionIsCatchableInTheScript() throws {
        let functions: [String: HostFunction] = ["save": { _ in throw Refusal() }]
        let result = try engine.run(
            source: """
                var r;
                try { save(1); r = "not thrown"; } catch (e) { r = [e instanceof Error, e.message]; }
                """,
            name: "catch.js", functions: functions, outputs: ["r"])
        XCTAssertEqual(result["r"], [true, "store unavailable"])

        XCTAssertThrowsError(try engine.run(source: "\nsave(1);", name: "uncaught.js", functions: functions)) { error in
            let error = error as? ScriptError
            XCTAssertEqual(error?.kind, .runtimeError)
            XCTAssertEqual(error?.message, "Error: store unavailable")
            XCTAssertEqual(error?.line, 2)
        }
    }

    func testHostFunctionThrowingScriptErrorStopsTheScriptUncatchably() throws {
        let afterwards = Locked(0)
        let functions: [String: HostFunction] = [
            "fail": { _ in throw ScriptError(kind: .hostFunctionFailed, message: "identity store down") },
            "record": { _ in
                afterwards.withLock { $0 += 1 }
                return nil
            },
        ]
        let source = """
            try { fail(); } catch (e) { record(); }
            for (var i = 0; i < 1e9; i++) {}
            record();
            """
        // The loop would run for a minute: the timeout would end it, not the abort.
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .seconds(10)))
        XCTAssertThrowsError(try engine.run(source: source, name: "abort.js", functions: functions)) { error in
            let error = error as? ScriptError
            XCTAssertEqual(error?.kind, .hostFunctionFailed)
            XCTAssertEqual(error?.message, "fail: identity store down")
        }
        XCTAssertEqual(afterwards.withLock { $0 }, 0, "no host function runs once the script is stopped")
    }

    func testHostFunctionResultOverTheOutputLimitStopsTheScript() throws {
        let engine = ScriptEngine(limits: ScriptLimits(maxOutputBytes: 1000))
        let functions: [String: HostFunction] = ["big": { _ in .string(String(repeating: "x", count: 2000)) }]
        XCTAssertThrowsError(try engine.run(source: "try { big() } catch (e) {}", name: "big.js", functions: functions)) {
            XCTAssertEqual(($0 as? ScriptError)?.kind, .hostFunctionFailed)
        }
    }

    func testHostFunctionArgumentsOverTheOutputLimitThrowInTheScript() throws {
        let engine = ScriptEngine(limits: ScriptLimits(maxOutputBytes: 1000))
        let functions: [String: HostFunction] = ["take": { _ in true }]
        let result = try engine.run(
            source: "var r; try { take('x'.repeat(2000)); } catch (e) { r = e.name; } var ok = take('small');",
            name: "args.js", functions: functions, outputs: ["r", "ok"])
        XCTAssertEqual(result, ["r": "RangeError", "ok": true])
    }

    func testHostFunctionMayRunAnotherScript() throws {
        let inner = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(50)))
        let functions: [String: HostFunction] = [
            "evaluate": { args in
                let result = try inner.run(
                    source: "var r = (" + (args.first?.stringValue ?? "") + ");", name: "inner.js", outputs: ["r"])
                return result["r"] ?? nil
            }
        ]
        let result = try engine.run(
            source: """
                var r = evaluate("6 * 7");
                var stopped; try { evaluate("(function () { for (;;) {} })()"); } catch (e) { stopped = e.message; }
                var h = 'a'.repeat(1e5), found = h.indexOf('a'.repeat(10) + 'b');
                """,
            name: "outer.js", functions: functions, outputs: ["r", "stopped", "found"])
        XCTAssertEqual(result["r"], 42)
        XCTAssertEqual(result["stopped"], "timeout at line 1: the script ran longer than 0.05 seconds")
        XCTAssertEqual(result["found"], -1)
    }

    func testSyntaxErrorHasALine() throws {
        XCTAssertThrowsError(try engine.run(source: "var a = 1;\nvar b = ;\n", name: "syntax.js")) { error in
            let error = error as? ScriptError
            XCTAssertEqual(error?.kind, .syntaxError)
            XCTAssertEqual(error?.line, 2)
            XCTAssertTrue(error?.message.hasPrefix("SyntaxError") ?? false, error?.message ?? "")
        }
    }

    func testThrownErrorIsARuntimeErrorWithItsMessage() throws {
        XCTAssertThrowsError(try engine.run(source: "var a = 1;\n\nthrow new Error(\"x\");", name: "throw.js")) { error in
            let error = error as? ScriptError
            XCTAssertEqual(error?.kind, .runtimeError)
            XCTAssertEqual(error?.message, "Error: x")
            XCTAssertEqual(error?.line, 3)
            XCTAssertEqual(error?.description, "runtime error at line 3: Error: x")
        }
        XCTAssertThrowsError(try engine.run(source: "throw {code: 7};", name: "object.js")) { error in
            XCTAssertEqual((error as? ScriptError)?.message, #"{"code":7}"#)
        }
        XCTAssertThrowsError(try engine.run(source: "undefinedFunction();", name: "ref.js")) { error in
            XCTAssertEqual((error as? ScriptError)?.kind, .runtimeError)
            XCTAssertTrue((error as? ScriptError)?.message.hasPrefix("ReferenceError") ?? false)
        }
    }

    func testOutputsWithoutAJSONFormAreInvalid() throws {
        for (source, what) in [
            ("var r = function () {};", "function"),
            ("var r = Symbol('s');", "symbol"),
            ("var r = {}; r.self = r;", "cycle"),
            ("var r = {toJSON: function () { throw new Error('no'); }};", "throwing toJSON"),
            ("var r = []; for (var i = 0, x = r; i < 100; i++) { x[0] = []; x = x[0]; }", "deeper than 64"),
        ] {
            XCTAssertThrowsError(try engine.run(source: source, name: "invalid.js", outputs: ["r"]), what) { error in
                XCTAssertEqual((error as? ScriptError)?.kind, .invalidOutput, "\(what): \(error)")
            }
        }
        // Functions inside objects are dropped, as JSON.stringify does.
        let result = try engine.run(source: "var r = {a: 1, f: function () {}};", name: "nested.js", outputs: ["r"])
        XCTAssertEqual(result["r"], ["a": 1])
    }
}
