import IECJSON
import XCTest

final class JSONTests: XCTestCase {
    func testParsesEveryKind() throws {
        let value = try JSONValue.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null, "x\u00e9\ud83d\ude00\n\/"], "b": {}} "#)
        XCTAssertEqual(value["a"]?.arrayValue?.count, 8)
        XCTAssertEqual(value["a"]?.arrayValue?[0], .int(1))
        XCTAssertEqual(value["a"]?.arrayValue?[1], .int(-2))
        XCTAssertEqual(value["a"]?.arrayValue?[2], .double(3.5))
        XCTAssertEqual(value["a"]?.arrayValue?[3], .double(1000))
        XCTAssertEqual(value["a"]?.arrayValue?[7], .string("xé😀\n/"))
        XCTAssertEqual(value["b"], .object([:]))
        XCTAssertEqual(try JSONValue.parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try JSONValue.parse("9223372036854775808"), .double(9223372036854775808))
    }

    func testRefusesWhatIsNotStrictJSON() {
        let bad = [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{'a':1}", "01", "-", "1.", ".5", "1e", "+1",
            "NaN", "Infinity", "1e999", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
            "\"a\u{01}b\"", "[1] [2]", "{\"a\":1,\"a\":2}", "/* c */ 1",
        ]
        for text in bad {
            XCTAssertThrowsError(try JSONValue.parse(text), "accepted \(text.debugDescription)")
        }
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]), "invalid UTF-8")
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xED, 0xA0, 0x80, 0x22]), "UTF-8 encoded surrogate")
    }

    func testLimits() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertThrowsError(try JSONValue.parse(deep))
        XCTAssertNoThrow(try JSONValue.parse(deep, limits: .init(maxDepth: 70)))
        XCTAssertThrowsError(try JSONValue.parse("[1,2,3]", limits: .init(maxBytes: 3)))
        let veryDeep = String(repeating: "[", count: 100_000)
        XCTAssertThrowsError(try JSONValue.parse(veryDeep, limits: .init(maxBytes: 1 << 20, maxDepth: 64)), "no stack overflow")
    }

    func testSerialisationIsCanonicalAndRoundTrips() throws {
        let value: JSONValue = ["b": [1, 2.5, "s/\"\\\u{01}"], "a": nil, "c": ["z": true, "y": false]]
        XCTAssertEqual(value.serialized(), #"{"a":null,"b":[1,2.5,"s/\"\\\u0001"],"c":{"y":false,"z":true}}"#)
        XCTAssertEqual(try JSONValue.parse(value.serialized()), value)
        XCTAssertEqual(try JSONValue.parse(value.serialized(pretty: true)), value)
        XCTAssertEqual(JSONValue.double(.nan).serialized(), "null")
        XCTAssertEqual(JSONValue.double(2).serialized(), "2.0")
    }

    /// Strings are serialised and parsed as UTF-8 byte runs between escapes: every
    /// escape, at the start, middle and end, next to non-ASCII text, round-trips.
    func testStringsWithEscapesAndNonASCIIRoundTrip() throws {
        let texts = [
            "", "plain", "\"", "\\", "\"lead", "trail\\", "a\"b\\c/d", "\n\r\t\u{08}\u{0C}", "\u{00}\u{1F}\u{7F}",
            "é\"é", "😀\n😀", "日本語\\\"", "\u{301}\"\u{301}", String(repeating: "x\"", count: 300),
        ]
        for text in texts {
            let json = JSONValue.string(text).serialized()
            XCTAssertEqual(try JSONValue.parse(json), .string(text), json)
            XCTAssertEqual(JSONValue.string(text).serializedBytes(), Array(json.utf8))
        }
        XCTAssertEqual(JSONValue.string("a\u{01}\u{7F}\"").serialized(), #""a\u0001\u007f\"""#)
        XCTAssertEqual(try JSONValue.parse(#""\u00e9\ud83d\ude00x\"y""#), .string("é😀x\"y"))
        XCTAssertEqual(try JSONValue.parse(#""né""#), .string("né"))
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0x5C, 0x6E, 0xC3, 0x28, 0x22]), "invalid UTF-8 after an escape")
    }

    func testRandomBytesNeverCrashTheParser() {
        var state: UInt64 = 42
        let pieces = Array("{}[]\",:0123456789.eE+-truefalsenull\\u \n".utf8)
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(state % 24) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(state >> 60 == 0 ? UInt8(truncatingIfNeeded: state >> 33) : pieces[Int(state >> 33) % pieces.count])
            }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            _ = try? JSONValue.parse(bytes)
        }
    }
}
