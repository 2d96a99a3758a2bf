import Foundation
import IECJSON
import Scripting
import XCTest

/// The sandbox holds against scripts that try to take more than their share.
final class ScriptEngineLimitsTests: XCTestCase {
    /// Runs `source`, expects it to fail, returns the error and the seconds it took.
    private func failure(
        _ engine: ScriptEngine, _ source: String, functions: [String: HostFunction] = [:], outputs: [String] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) -> (error: ScriptError?, seconds: Double) {
        let start = ContinuousClock.now
        do {
            _ = try engine.run(source: source, name: "hostile.js", functions: functions, outputs: outputs)
            XCTFail("the script succeeded", file: file, line: line)
            return (nil, 0)
        } catch {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            XCTAssertTrue(error is ScriptError, "\(error)", file: file, line: line)
            return (error as? ScriptError, seconds)
        }
    }

    private func assertNextRunSucceeds(_ engine: ScriptEngine, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(
            try engine.run(source: "var r = 6 * 7;", name: "next.js", outputs: ["r"]), ["r": 42], file: file, line: line)
    }

    func testEndlessLoopTimesOutAndTheNextRunSucceeds() {
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(200)))
        let (error, seconds) = failure(engine, "while (true) {}")
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertGreaterThanOrEqual(seconds, 0.2)
        XCTAssertLessThan(seconds, 0.4, "within twice the limit")
        assertNextRunSucceeds(engine)
    }

    func testTimeoutCannotBeCaught() {
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(100)))
        let caught = Locked(0)
        let functions: [String: HostFunction] = ["caught": { _ in caught.withLock { $0 += 1 }; return nil }]
        let source = """
            for (;;) { try { for (;;) {} } catch (e) { caught(); } finally { caught(); } }
            """
        let (error, seconds) = failure(engine, source, functions: functions)
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertLessThan(seconds, 0.2)
        XCTAssertEqual(caught.withLock { $0 }, 0)
    }

    func testTimeoutCoversReadingTheOutputs() {
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(100)))
        let (error, seconds) = failure(
            engine, "var r = {toJSON: function () { for (;;) {} }};", outputs: ["r"])
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertLessThan(seconds, 0.2)
    }

    func testCatastrophicRegExpTimesOut() {
        // Exponential backtracking runs inside one native call, no bytecode:
        // the native-recursion hook looks at the clock.
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(100)))
        let (error, seconds) = failure(engine, "var r = /^(a+)+$/.test(new Array(40).join('a') + 'b');")
        XCTAssertEqual(error?.kind, .timeout)
        XCTAssertLessThan(seconds, 0.2)
        assertNextRunSucceeds(engine)
    }

    func testUnboundedAllocationHitsTheMemoryLimitAndTheNextRunSucceeds() {
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .seconds(5)))
        // Distinct strings: Duktape interns strings, so pushing the same one
        // again costs only an array slot.
        let (error, seconds) = failure(engine, "var a = []; while (true) a.push('x'.repeat(1e5) + a.length);")
        XCTAssertEqual(error?.kind, .memoryLimit)
        XCTAssertLessThan(seconds, 1)
        assertNextRunSucceeds(engine)

        for source in [
            "var s = 'x'; while (true) s = s + s;",
            "var o = {}; for (var i = 0; ; i++) o['k' + i] = i;",
            "var b = new ArrayBuffer(1e9);",
            "var r = 'x'.repeat(1e7).split('');",
            "var f = []; for (;;) f.push(function () {});",
        ] {
            XCTAssertEqual(failure(engine, source).error?.kind, .memoryLimit, source)
        }
        assertNextRunSucceeds(engine)
    }

    func testTheIssuesAllocationAttackIsStoppedByALimit() {
        // The script of the issue pushes one interned 100 kB string: it grows
        // by 8 bytes a turn, each turn costing ~10 ms of join. With the default
        // limits the clock stops it first.
        let engine = ScriptEngine()
        let (error, seconds) = failure(engine, "var a=[]; while(true) a.push(new Array(1e5).join('x'))")
        XCTAssertTrue(error?.kind == .timeout || error?.kind == .memoryLimit, "\(String(describing: error))")
        XCTAssertLessThan(seconds, 0.5)
        assertNextRunSucceeds(engine)
    }

    func testLongLoopsInsideBuiltInsTimeOut() {
        // Single native calls that run for minutes without executing bytecode:
        // stopped by the allocator's and memcmp's looks at the clock.
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(100)))
        for source in [
            // Quadratic string search over 6 MB: ~8e12 byte comparisons.
            "var h = 'a'.repeat(4e6), n = 'a'.repeat(2e6) + 'b'; h.indexOf(n);",
            "var h = 'a'.repeat(4e6), n = 'a'.repeat(2e6) + 'b'; h.split(n);",
            // Sparse arrays: 4e9 holes visited one by one.
            "new Array(4294967295).join('');",
            "Array.prototype.join.call({length: 4294967295}, '');",
            "new Array(4294967295).forEach(function () {});",
            "new Array(4294967295).reverse();",
            "new Array(4294967294).unshift(1);",
            "[].concat(new Array(4294967295));",
        ] {
            let (error, seconds) = failure(engine, source)
            XCTAssertEqual(error?.kind, .timeout, source)
            XCTAssertLessThan(seconds, 0.2, source)
        }
        assertNextRunSucceeds(engine)
    }

    func testAllocationFailuresThatAreCaughtStillEndTheRun() {
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .milliseconds(300)))
        let (error, _) = failure(engine, "var a = []; for (;;) { try { a.push(new Array(1e5).join('x')); } catch (e) {} }")
        XCTAssertTrue(error?.kind == .timeout || error?.kind == .memoryLimit, "\(String(describing: error))")
        assertNextRunSucceeds(engine)
    }

    func testTooSmallAMemoryLimitFailsCleanly() {
        let engine = ScriptEngine(limits: ScriptLimits(memoryBytes: 10_000))
        XCTAssertEqual(failure(engine, "var r = 1;").error?.kind, .memoryLimit)
    }

    func testDeepRecursionIsAnErrorNotACrash() {
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .seconds(5)))
        for source in [
            "function f(n) { return 1 + f(n + 1); } f(0);",  // script calls: Duktape's call stack limit
            "function g() { [0].forEach(g); } g();",  // native calls: C recursion limit / stack check
            "function h() { return JSON.parse('{\"a\":1}', function (k, v) { return h(); }); } h();",
            "JSON.parse(new Array(100001).join('['));",
            "var x = []; for (var i = 0; i < 100000; i++) x = [x]; JSON.stringify(x);",
            "eval(new Array(100000).join('(') + '1' + new Array(100000).join(')'));",
            "var p = new Proxy({}, {get: function (t, k, r) { return r[k]; }}); p.x;",
        ] {
            let error = failure(engine, source).error
            XCTAssertEqual(error?.kind, .runtimeError, "\(source): \(String(describing: error))")
        }
        assertNextRunSucceeds(engine)
    }

    func testDeepRecursionOnASmallThreadStack() {
        // Threads of HTTP servers and pools may have far less than 8 MiB; the
        // limits follow the stack actually left (Duktape's compiler alone
        // needs ~1 MiB at its default nesting limit).
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .seconds(5)))
        let nested = { (open: String, middle: String, close: String) in
            String(repeating: open, count: 2400) + middle + String(repeating: close, count: 2400)
        }
        let cases: [(String, ScriptError.Kind)] = [
            ("function g() { [0].forEach(g); } g();", .runtimeError),
            ("function h() { return JSON.parse('[1]', function (k, v) { return h(); }); } h();", .runtimeError),
            ("var x = []; for (var i = 0; i < 100000; i++) x = [x]; JSON.stringify(x);", .runtimeError),
            ("var x = []; for (var i = 0; i < 100000; i++) x = [x]; String(x);", .runtimeError),
            ("function f(n) { return 1 + f(n + 1); } f(0);", .runtimeError),
            (nested("(", "1", ")"), .syntaxError),
            ("var r = " + nested("[", "", "]"), .syntaxError),
            (nested("function f() {", "", "}"), .syntaxError),
            (nested("try {", "", "} finally {}"), .syntaxError),
            ("eval(" + String(reflecting: nested("{", "", "}")) + ")", .runtimeError),
            ("var r = /" + nested("(", "a", ")") + "/", .syntaxError),
        ]
        let results = Locked<[String]>([])
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for (source, _) in cases {
                do {
                    _ = try engine.run(source: source, name: "deep.js")
                    results.withLock { $0.append("succeeded") }
                } catch {
                    results.withLock { $0.append((error as? ScriptError)?.kind.description ?? "\(error)") }
                }
            }
            done.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
        done.wait()
        XCTAssertEqual(results.withLock { $0 }, cases.map { $0.1.description })
        // The same nesting compiles on an ordinary 8 MiB stack.
        XCTAssertNoThrow(try engine.run(source: nested("(", "1", ")"), name: "deep.js"))
    }

    func testSourceOverTheLimitIsRefusedUnrun() {
        let engine = ScriptEngine(limits: ScriptLimits(maxSourceBytes: 1000))
        let source = "var r = 1; //" + String(repeating: "x", count: 1000)
        XCTAssertEqual(failure(engine, source).error?.kind, .sourceTooLarge)
        XCTAssertNoThrow(try engine.run(source: String(repeating: " ", count: 1000), name: "edge.js"))
    }

    func testOutputOverTheLimitIsRefused() {
        let engine = ScriptEngine(limits: ScriptLimits(maxOutputBytes: 1000))
        XCTAssertEqual(failure(engine, "var r = new Array(1000).join('x');", outputs: ["r"]).error?.kind, .outputTooLarge)
        // The limit is for all outputs together.
        XCTAssertEqual(
            failure(engine, "var a = new Array(600).join('x'), b = a;", outputs: ["a", "b"]).error?.kind,
            .outputTooLarge)
        XCTAssertEqual(
            try engine.run(source: "var a = new Array(400).join('x'), b = a;", name: "ok.js", outputs: ["a", "b"]).count, 2)
    }
}
