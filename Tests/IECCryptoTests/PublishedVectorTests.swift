import IECCrypto
import IECJSON
import IECTestSupport
import XCTest

/// Published vectors: every case gives its expected result, invalid ones included.
final class PublishedVectorTests: XCTestCase {
    func testRFC4231HMACSHA256() throws {
        let vectors = try TestVectors.repository("rfc4231-hmac-sha256.json")
        let cases = vectors["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.count, 7)
        for vector in cases {
            let expected = vector.hex("hmacSha256")
            let mac = HMACSHA256.authenticationCode(for: vector.hex("data"), key: vector.hex("key"))
            XCTAssertEqual(Array(mac.prefix(expected.count)), expected, vector.caseID)
            XCTAssertTrue(HMACSHA256.isValidAuthenticationCode(expected, for: vector.hex("data"), key: vector.hex("key")), vector.caseID)
        }
    }

    func testWycheproofHMACSHA256() throws {
        let file = try TestVectors.wycheproof("hmac_sha256_test.json")
        let cases = TestVectors.wycheproofCases(file)
        XCTAssertEqual(cases.count, Int(file["numberOfTests"]?.int64Value ?? -1))
        for (group, test) in cases {
            let tagBytes = Int(group["tagSize"]?.int64Value ?? 256) / 8
            let mac = HMACSHA256.authenticationCode(for: test.hex("msg"), key: test.hex("key"))
            let matches = ConstantTime.equals(Array(mac.prefix(tagBytes)), test.hex("tag"))
            XCTAssertEqual(matches, test.string("result") == "valid", test.caseID)
            XCTAssertEqual(
                HMACSHA256.isValidAuthenticationCode(test.hex("tag"), for: test.hex("msg"), key: test.hex("key")),
                test.string("result") == "valid", test.caseID)
        }
    }

    func testWycheproofECDSAP256SHA256P1363() throws {
        let file = try TestVectors.wycheproof("ecdsa_secp256r1_sha256_p1363_test.json")
        let cases = TestVectors.wycheproofCases(file)
        XCTAssertEqual(cases.count, Int(file["numberOfTests"]?.int64Value ?? -1))
        var valid = 0
        var invalid = 0
        for (group, test) in cases {
            let key = try P256.PublicKey(derRepresentation: group.hex("publicKeyDer"))
            // The uncompressed point in the same group must give the same key.
            XCTAssertEqual(try P256.PublicKey(x963Representation: group["publicKey"]!.hex("uncompressed")), key)
            let verified = key.isValidSignature(test.hex("sig"), for: test.hex("msg"))
            let expected = test.string("result") == "valid"
            XCTAssertEqual(verified, expected, "\(test.caseID): \(test.string("comment"))")
            if expected { valid += 1 } else { invalid += 1 }
        }
        XCTAssertGreaterThan(valid, 0)
        XCTAssertGreaterThan(invalid, 0)
    }

    func testWycheproofX25519() throws {
        let file = try TestVectors.wycheproof("x25519_test.json")
        let cases = TestVectors.wycheproofCases(file)
        XCTAssertEqual(cases.count, Int(file["numberOfTests"]?.int64Value ?? -1))
        let basePoint: [UInt8] = [9] + [UInt8](repeating: 0, count: 31)
        for (_, test) in cases {
            let expected = test.hex("shared")
            let result = test.string("result")
            let computed = try? X25519.sharedSecret(secretKey: test.hex("private"), publicKey: test.hex("public"))
            switch result {
            case "valid":
                XCTAssertEqual(computed, expected, test.caseID)
            case "acceptable":
                // Low-order public keys give an all-zero secret, which we refuse; anything else must match.
                if expected.allSatisfy({ $0 == 0 }) {
                    XCTAssertNil(computed, "\(test.caseID): an all-zero shared secret must be refused")
                } else if let computed {
                    XCTAssertEqual(computed, expected, test.caseID)
                }
            default:
                XCTAssertNil(computed, test.caseID)
            }
            // CURVE key derivation: the public key is the private key times the base point.
            let derived = try X25519.publicKey(forSecretKey: test.hex("private"))
            XCTAssertEqual(derived, try X25519.sharedSecret(secretKey: test.hex("private"), publicKey: basePoint), test.caseID)
        }
    }

    func testWycheproofXChaCha20Poly1305() throws {
        let file = try TestVectors.wycheproof("xchacha20_poly1305_test.json")
        let cases = TestVectors.wycheproofCases(file)
        XCTAssertEqual(cases.count, Int(file["numberOfTests"]?.int64Value ?? -1))
        for (_, test) in cases {
            let valid = test.string("result") == "valid"
            let sealed = test.hex("ct") + test.hex("tag")
            let opened = try? SecretBox.decrypt(sealed, key: test.hex("key"), nonce: test.hex("iv"), associatedData: test.hex("aad"))
            if valid {
                XCTAssertEqual(opened, test.hex("msg"), test.caseID)
                XCTAssertEqual(
                    try SecretBox.encrypt(test.hex("msg"), key: test.hex("key"), nonce: test.hex("iv"), associatedData: test.hex("aad")),
                    sealed, test.caseID)
            } else {
                XCTAssertNil(opened, "\(test.caseID): \(test.string("comment"))")
            }
        }
    }

    func testZ85RFC32Example() throws {
        let vectors = try TestVectors.repository("zmq-rfc32-z85.json")
        for vector in vectors["cases"]?.arrayValue ?? [] {
            XCTAssertEqual(try Z85.encode(vector.hex("bytes")), vector.string("z85"), vector.caseID)
            XCTAssertEqual(try Z85.decode(vector.string("z85")), vector.hex("bytes"), vector.caseID)
        }
    }
}
