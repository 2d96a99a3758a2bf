import Foundation
import IECJSON
@testable import Scripting
import XCTest

/// What a script can reach, isolation between runs, and throughput.
final class ScriptEngineSandboxTests: XCTestCase {
    let engine = ScriptEngine()

    func testNoModuleLoaderNoIONoEngineInternals() throws {
        let probes = [
            "require", "print", "alert", "module", "exports", "process", "console", "setTimeout", "XMLHttpRequest",
            "fetch", "Duktape.modSearch", "Duktape.fin", "Duktape.act", "Duktape.gc", "Duktape.Thread",
            "Duktape.errCreate", "Duktape.errThrow", "Duktape.info", "Duktape.compact",
        ]
        let source = """
            Duktape.errCreate = function (e) { return 'hijacked'; };
            var types = {};
            \(probes.map { "types['\($0)'] = typeof \($0);" }.joined(separator: "\n"))
            var frozen = Object.isFrozen(Duktape);
            var duktape = Object.getOwnPropertyNames(Duktape).sort();
            var globals = Object.getOwnPropertyNames(this).sort();
            var base64 = new TextDecoder().decode(Duktape.dec('base64', 'aGVsbG8='));
            var error; try { null.x } catch (e) { error = String(e) }
            """
        let result = try engine.run(
            source: source, name: "sandbox.js", outputs: ["types", "frozen", "duktape", "globals", "base64", "error"])
        XCTAssertEqual(result["types"], .object(Dictionary(uniqueKeysWithValues: probes.map { ($0, "undefined") })))
        XCTAssertEqual(result["frozen"], true)
        XCTAssertEqual(result["duktape"], ["dec", "enc", "env", "version"])
        XCTAssertEqual(result["base64"], "hello")
        XCTAssertEqual(result["error"], "TypeError: cannot read property 'x' of null", "errCreate cannot be installed")
        // The documented global scope (ScriptEngine's doc comment); a change here is a change to the sandbox.
        let expected: [JSONValue] = [
            "Array", "ArrayBuffer", "Boolean", "Buffer", "CBOR", "DataView", "Date", "Duktape", "Error", "EvalError",
            "Float32Array", "Float64Array", "Function", "Infinity", "Int16Array", "Int32Array", "Int8Array", "JSON",
            "Math", "NaN", "Number", "Object", "Proxy", "RangeError", "ReferenceError", "Reflect", "RegExp", "String",
            "Symbol", "SyntaxError", "TextDecoder", "TextEncoder", "TypeError", "URIError", "Uint16Array",
            "Uint32Array", "Uint8Array", "Uint8ClampedArray", "decodeURI", "decodeURIComponent", "base64", "duktape",
            "encodeURI", "encodeURIComponent", "error", "escape", "eval", "frozen", "globalThis", "globals",
            "isFinite", "isNaN", "parseFloat", "parseInt", "performance", "types", "undefined", "unescape",
        ]
        XCTAssertEqual(
            Set(result["globals"]?.arrayValue ?? []), Set(expected),
            "globals: \(result["globals"].map(String.init(describing:)) ?? "none")")
    }

    func testMathRandomAndDateWork() throws {
        let result = try engine.run(
            source: "var r = Math.random(), now = Date.now(), iso = new Date(0).toISOString();", name: "impure.js",
            outputs: ["r", "now", "iso"])
        let random = try XCTUnwrap(result["r"]?.doubleValue)
        XCTAssertTrue((0..<1).contains(random))
        XCTAssertEqual(
            try XCTUnwrap(result["now"]?.doubleValue) / 1000, Date().timeIntervalSince1970, accuracy: 5)
        XCTAssertEqual(result["iso"], "1970-01-01T00:00:00.000Z")
    }

    func testRunsDoNotShareState() throws {
        _ = try engine.run(
            source: "var leaked = 1; Object.prototype.polluted = true; Array.prototype.push = null;", name: "a.js")
        let result = try engine.run(
            source: "var r = [typeof leaked, typeof ({}).polluted, typeof [].push];", name: "b.js", outputs: ["r"])
        XCTAssertEqual(result["r"], ["undefined", "undefined", "function"])
    }

    func testFatalErrorInsideDuktapeIsReportedNotAborted() throws {
        let heap = try DuktapeHeap(limits: ScriptLimits())
        try heap.evaluate("var x = [1, 2, 3];", name: "before.js")
        XCTAssertGreaterThan(heap.memoryUsed, 0)
        XCTAssertThrowsError(try heap.triggerFatalForTesting()) { error in
            XCTAssertEqual((error as? ScriptError)?.kind, .runtimeError)
            XCTAssertTrue((error as? ScriptError)?.message.contains("fatal") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try heap.evaluate("var y = 1;", name: "after.js"), "a poisoned heap refuses work")
        // deinit frees the poisoned heap block by block (valgrind/ASan would see a leak otherwise).
    }

    func testEightThreadsTimesAHundredRuns() throws {
        // A generous clock: 8 threads share 2 cores here, and this test is about
        // isolation, not time.
        let engine = ScriptEngine(limits: ScriptLimits(timeout: .seconds(5)))
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for thread in 0..<8 {
            group.enter()
            Thread {
                defer { group.leave() }
                let functions: [String: HostFunction] = ["twice": { args in .int((args[0].int64Value ?? 0) * 2) }]
                for run in 0..<100 {
                    let id = Int64(thread * 1000 + run)
                    do {
                        if run % 10 == 9 {
                            // Failing runs in between must not disturb the others.
                            _ = try? engine.run(source: "throw new Error('run \(id)')", name: "fail.js")
                            _ = try? engine.run(source: "var a=[]; for(;;) a.push('x'.repeat(1e5) + a.length)", name: "oom.js")
                        }
                        let result = try engine.run(
                            source: "var r = {id: params.id, doubled: twice(params.id), s: 'n' + params.id};",
                            name: "worker.js", inputs: ["params": ["id": .int(id)]], functions: functions,
                            outputs: ["r"])
                        let expected: JSONValue = ["id": .int(id), "doubled": .int(id * 2), "s": .string("n\(id)")]
                        if result["r"] != expected { failures.withLock { $0.append("\(id): \(result)") } }
                    } catch {
                        failures.withLock { $0.append("\(id): \(error)") }
                    }
                }
            }.start()
        }
        group.wait()
        XCTAssertEqual(failures.withLock { $0 }, [])
    }

    func testRunsPerSecondOfATrivialScript() throws {
        let iterations = 2000
        // Heap creation alone (what a pool would save).
        var start = ContinuousClock.now
        for _ in 0..<iterations { _ = try DuktapeHeap(limits: ScriptLimits()) }
        let heapOnly = (ContinuousClock.now - start) / iterations

        start = ContinuousClock.now
        for i in 0..<iterations {
            let result = try engine.run(source: "var r = n + 1;", name: "trivial.js", inputs: ["n": .int(Int64(i))], outputs: ["r"])
            XCTAssertEqual(result["r"], .int(Int64(i) + 1))
        }
        let perRun = (ContinuousClock.now - start) / iterations
        let microseconds = { (d: Duration) in Double(d.components.attoseconds) / 1e12 + Double(d.components.seconds) * 1e6 }
        print(
            String(
                format: "scripting: heap create+destroy %.0f µs, trivial run %.0f µs, %.0f runs/s on one thread",
                microseconds(heapOnly), microseconds(perRun), 1e6 / microseconds(perRun)))
    }
}
