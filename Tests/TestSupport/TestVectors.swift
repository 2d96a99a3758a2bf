public import Foundation
public import IECJSON
import XCTest

/// The one loader of test vectors (STYLE habit 11): published vectors kept as
/// JSON data files, each case with an id.
///
/// Vectors written down in this repository live in `Tests/Vectors/`. Vectors
/// that belong to `../shared/testvectors/` are read from there and never
/// copied here; where that folder is absent, the tests that need it skip.
public enum TestVectors {
    /// The repository root: the folder above `Tests/` holding Package.swift.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `../shared` beside the repository, or `IEC_SHARED_DIR`.
    public static var sharedFolder: URL {
        if let override = ProcessInfo.processInfo.environment["IEC_SHARED_DIR"] { return URL(fileURLWithPath: override) }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// A vector file from `Tests/Vectors/`.
    public static func repository(_ name: String) throws -> JSONValue {
        try load(repositoryRoot.appendingPathComponent("Tests/Vectors").appendingPathComponent(name))
    }

    /// A Wycheproof file from `../shared/testvectors/wycheproof/`; skips the test where it is absent.
    public static func wycheproof(_ name: String) throws -> JSONValue {
        let url = sharedFolder.appendingPathComponent("testvectors/wycheproof").appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is absent: the Wycheproof vectors are read from ../shared only")
        }
        return try load(url)
    }

    /// A file from `../shared/`; skips the test where it is absent.
    public static func sharedFile(_ relativePath: String) throws -> URL {
        let url = sharedFolder.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("\(url.path) is absent") }
        return url
    }

    /// Every Wycheproof test case with its group, in file order.
    public static func wycheproofCases(_ file: JSONValue) -> [(group: JSONValue, test: JSONValue)] {
        var cases: [(JSONValue, JSONValue)] = []
        for group in file["testGroups"]?.arrayValue ?? [] {
            for test in group["tests"]?.arrayValue ?? [] { cases.append((group, test)) }
        }
        return cases
    }

    private static func load(_ url: URL) throws -> JSONValue {
        let data = try Data(contentsOf: url)
        return try JSONValue.parse(Array(data), limits: .init(maxBytes: 64 << 20, maxDepth: 64))
    }
}

extension JSONValue {
    /// A hex member as bytes; fails the test when absent or not hex.
    public func hex(_ key: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
        guard let text = self[key]?.stringValue, let bytes = Self.decodeHex(text) else {
            XCTFail("vector member \(key) is not hex", file: file, line: line)
            return []
        }
        return bytes
    }

    public func string(_ key: String) -> String { self[key]?.stringValue ?? "" }

    /// Wycheproof's `tcId` (or a vector's `id`), for failure messages.
    public var caseID: String {
        if let id = self["tcId"]?.int64Value { return "tcId \(id)" }
        return self["id"]?.stringValue ?? "?"
    }

    static func decodeHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard let byte = UInt8(String(decoding: utf8[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            output.append(byte)
            index += 2
        }
        return output
    }
}
