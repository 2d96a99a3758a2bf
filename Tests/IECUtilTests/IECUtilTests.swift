import Foundation
import IECCrypto
import IECJSON
import IECTestSupport
import IECCLI
import IECUtilCommands
import JOSE
import XCTest

/// iecutil's commands, in process (fast) and as the real binary (what a user runs).
final class IECUtilTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("iecutil-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func run(_ arguments: [String], input: String = "") -> (code: Int32, output: String, error: String) {
        let console = MemoryConsole(input: Array(input.utf8))
        let code = IECUtil.run(arguments, console: console)
        return (code, console.output, console.errorOutput)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testKeygenCurvePrintsAValidPair() throws {
        let result = run(["keygen", "curve"])
        XCTAssertEqual(result.code, 0, result.error)
        let json = try JSONValue.parse(result.output)
        let pair = try CurveKeyPair(secretKeyZ85: json["secret_key"]!.stringValue!)
        XCTAssertEqual(pair.publicKeyZ85, json["public_key"]?.stringValue)
    }

    func testKeygenP256WritesA0600KeyAndRefusesToOverwrite() throws {
        let keyPath = path("gateway.pem")
        let result = run(["keygen", "p256", "--private-key-out", keyPath])
        XCTAssertEqual(result.code, 0, result.error)
        let json = try JSONValue.parse(result.output)
        XCTAssertNil(json["private_key_pem"], "the private key went to the file only")
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let key = try P256.PrivateKey(pemRepresentation: String(contentsOfFile: keyPath, encoding: .utf8))
        let jwk = try JWK(json: json["jwk"]!)
        XCTAssertEqual(try jwk.publicKey(), key.publicKey)
        XCTAssertEqual(jwk.keyID, jwk.thumbprint())

        let again = run(["keygen", "p256", "--private-key-out", keyPath])
        XCTAssertEqual(again.code, 1)
        XCTAssertTrue(again.error.contains("refusing to overwrite"), again.error)
        XCTAssertEqual(run(["keygen", "p256", "--private-key-out", keyPath, "--force"]).code, 0)
        XCTAssertNotEqual(try P256.PrivateKey(pemRepresentation: String(contentsOfFile: keyPath, encoding: .utf8)).publicKey, key.publicKey)
    }

    func testSignVerifyDecodeRoundTrip() throws {
        let keyPath = path("k.pem")
        XCTAssertEqual(run(["keygen", "p256", "--private-key-out", keyPath]).code, 0)
        let jwks = run(["jwks", keyPath])
        XCTAssertEqual(jwks.code, 0, jwks.error)
        try jwks.output.write(toFile: path("jwks.json"), atomically: true, encoding: .utf8)
        let exp = Int(Date().timeIntervalSince1970) + 300
        let signed = run(["token", "sign", "--key", keyPath, "--claims", #"{"iss":"edge-device","aud":["am.iec.com"],"exp":\#(exp)}"#])
        XCTAssertEqual(signed.code, 0, signed.error)
        let token = signed.output.trimmingCharacters(in: .whitespacesAndNewlines)

        let verified = run(["token", "verify", token, "--jwks", path("jwks.json"), "--issuer", "edge-device", "--audience", "am.iec.com"])
        XCTAssertEqual(verified.code, 0, verified.error)
        XCTAssertEqual(try JSONValue.parse(verified.output)["iss"], "edge-device")

        let fromStdin = run(["token", "verify", "--jwks", path("jwks.json")], input: token + "\n")
        XCTAssertEqual(fromStdin.code, 0, fromStdin.error)

        let wrongAudience = run(["token", "verify", token, "--jwks", path("jwks.json"), "--audience", "elsewhere"])
        XCTAssertEqual(wrongAudience.code, 1)
        XCTAssertTrue(wrongAudience.error.contains("token rejected: "), wrongAudience.error)

        let decoded = run(["token", "decode", token])
        XCTAssertEqual(decoded.code, 0)
        XCTAssertEqual(try JSONValue.parse(decoded.output)["header"]?["alg"], "ES256")
        XCTAssertTrue(decoded.error.contains("NOT verified"))
    }

    func testHS256WithSecretFile() throws {
        try "a vendor secret of decent length\n".write(toFile: path("secret"), atomically: true, encoding: .utf8)
        let signed = run(["token", "sign", "--alg", "HS256", "--hmac-secret-file", path("secret"), "--claims", #"{"exp":4000000000}"#])
        XCTAssertEqual(signed.code, 0, signed.error)
        let token = signed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(run(["token", "verify", token, "--hmac-secret-file", path("secret")]).code, 0)
        try "another secret".write(toFile: path("other"), atomically: true, encoding: .utf8)
        XCTAssertEqual(run(["token", "verify", token, "--hmac-secret-file", path("other")]).code, 1)
    }

    func testUsageErrorsExitTwoAndHelpExitsZero() {
        for arguments in [[], ["frobnicate"], ["keygen"], ["keygen", "rsa"], ["keygen", "curve", "--bogus"],
                          ["token"], ["token", "verify", "x"], ["token", "sign", "--claims", "{}"],
                          ["token", "sign", "--alg", "none", "--claims", "{}"], ["jwks"], ["keygen", "p256", "--private-key-out"]] {
            let result = run(arguments)
            XCTAssertEqual(result.code, 2, "\(arguments): \(result.error)")
            XCTAssertFalse(result.error.isEmpty)
        }
        for arguments in [["--help"], ["-h"], ["keygen", "--help"], ["keygen", "curve", "--help"], ["keygen", "p256", "-h"],
                          ["jwks", "--help"], ["token", "--help"], ["token", "sign", "--help"], ["token", "verify", "--help"],
                          ["token", "decode", "--help"]] {
            let result = run(arguments)
            XCTAssertEqual(result.code, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains("Usage"), "\(arguments)")
        }
    }

    func testBadFilesAndTokensAreClearFailures() throws {
        try "garbage".write(toFile: path("bad.pem"), atomically: true, encoding: .utf8)
        XCTAssertTrue(run(["jwks", path("bad.pem")]).error.contains("holds no P-256 key"))
        XCTAssertTrue(run(["jwks", path("missing.pem")]).error.contains("cannot read"))
        try "{".write(toFile: path("bad.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(run(["token", "verify", "a.b.c", "--jwks", path("bad.json")]).code, 1)
        XCTAssertEqual(run(["token", "decode", "not-a-token"]).code, 1)
        XCTAssertEqual(run(["token", "decode"], input: String(repeating: "a", count: 100_000)).code, 1)
    }

    /// The real binary, as a user runs it.
    func testBinaryRuns() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("iecutil")
        let candidates = [binary, TestVectors.repositoryRoot.appendingPathComponent(".build/debug/iecutil")]
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            return XCTFail("iecutil is not built next to the tests (run `swift build` first)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["keygen", "curve"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertNotNil(try JSONValue.parse(Array(output))["public_key"])

        let bad = Process()
        bad.executableURL = executable
        bad.arguments = ["nope"]
        bad.standardError = Pipe()
        try bad.run()
        bad.waitUntilExit()
        XCTAssertEqual(bad.terminationStatus, 2)
    }
}
